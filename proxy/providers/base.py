"""The provider adapter contract, in the manner of httpx transports.

An adapter converts one provider's wire format to the neutral `ImageRequest` and back.
It is pure: no I/O, no logging, no mitmproxy objects, so the proxy, `pixelgate scan` and
offline replay share it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from proxy.model import ImageRequest


@dataclass(frozen=True)
class WireRequest:
    """An HTTP request as received. `headers` has lower-case names; `body` is already
    decoded from any Content-Encoding. `path` includes the query string."""

    method: str
    host: str
    port: int
    path: str
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass(frozen=True)
class WireResponse:
    """An HTTP response that PixelGate itself answers with."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class ProviderAdapter(ABC):
    """One provider's API. Subclasses set `name` and `default_hosts`.

    Host patterns are "host", "host:port" or "*.domain" (any subdomain, any port unless given).
    """

    name: str = ""
    default_hosts: tuple[str, ...] = ()

    @abstractmethod
    def parse(self, request: WireRequest) -> ImageRequest:
        """Read prompts, images and neutral params.

        Raises UnsupportedEndpoint for a method/path this adapter does not handle, and
        MalformedRequest (or RequestTooLarge) for a body it cannot read completely.
        Must never return a partial reading: anything it cannot account for is an error.
        """

    @abstractmethod
    def apply(self, request: WireRequest, edited: ImageRequest) -> bytes:
        """Return the body with the prompts and images of `edited` written back.

        `edited` is the result of `parse(request)` with some parts replaced (same refs).
        Everything else in the body stays as it was; multipart parts that did not change
        stay byte-identical.
        """

    @abstractmethod
    def render_error(self, status: int, message: str, code: str, kind: str) -> WireResponse:
        """An error response in this provider's own format, which its SDK parses."""

    @abstractmethod
    def render_images(
        self, request: ImageRequest, images: Sequence[bytes], publish: Callable[[bytes], str]
    ) -> WireResponse:
        """A success response carrying locally generated PNG `images`, in the format this
        provider would have answered `request` with (the local fallback's answer).
        `publish` stores an image in the proxy's memory and returns a URL it serves."""

    def can_render(self, request: ImageRequest) -> bool:
        """Whether `render_images` can answer this request (e.g. not a streamed one)."""
        return True
