"""The provider adapter contract, in the manner of httpx transports.

An adapter converts one provider's wire format to the neutral `ImageRequest` and back.
It is pure: no I/O, no logging, no mitmproxy objects, so the proxy, `pixelgate scan` and
offline replay share it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

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


class Publish(Protocol):
    """Stores a body in the proxy's memory and returns the https URL the proxy serves it at,
    on the host the client called: at `path` when given, else at a fresh unguessable path."""

    def __call__(
        self, body: bytes, content_type: str = "image/png", path: str | None = None
    ) -> str: ...


def changes(original: ImageRequest, edited: ImageRequest) -> dict[str, str | bytes]:
    """The parts of `edited` that differ from `original`, by ref: what `apply` writes back.

    Raises ValueError for a ref that `original` does not have.
    """
    before: dict[str, str | bytes] = {p.ref: p.text for p in original.prompts}
    before.update((i.ref, i.data) for i in original.images)
    changed: dict[str, str | bytes] = {}
    after = [(p.ref, p.text) for p in edited.prompts] + [(i.ref, i.data) for i in edited.images]
    for ref, value in after:
        if ref not in before:
            raise ValueError(f"ref {ref!r} is not part of this request")
        if before[ref] != value:
            changed[ref] = value
    return changed


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
        Of a JSON or multipart body, what is not returned as a prompt or an image (keys,
        numbers, params, form framing) is read as unrewritable text by the gate
        (`jsonrest`, `formrest`), from the refs returned here (`json:<pointer>`, `part:<i>`).
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
        self, request: ImageRequest, images: Sequence[bytes], publish: Publish
    ) -> WireResponse:
        """A success response carrying locally generated PNG `images`, in the format this
        provider would have answered `request` with (the local fallback's answer).
        `publish` serves a body from the proxy's memory: image links, and the job documents
        a polling API fetches next."""

    def can_render(self, request: ImageRequest) -> bool:
        """Whether `render_images` can answer this request (e.g. not a streamed one)."""
        return True

    def unrewritable(self, request: WireRequest) -> str | None:
        """Why this request's body cannot be rewritten (e.g. a signature covers it), or None.
        A redaction of such a request becomes a reroute or a block."""
        return None
