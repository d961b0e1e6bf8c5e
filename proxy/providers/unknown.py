"""The adapter for a request whose provider could not be told: it reads nothing and only
answers errors, as a plain JSON `{"error": {...}}` that most SDKs show. Used on the proxy's
failure path, where an answer must be given before the provider is known."""

from __future__ import annotations

import json
from collections.abc import Sequence

from proxy.errors import UnsupportedEndpoint
from proxy.model import ImageRequest
from proxy.providers.base import ProviderAdapter, Publish, WireRequest, WireResponse


class UnknownProvider(ProviderAdapter):
    name = "unknown"

    def parse(self, request: WireRequest) -> ImageRequest:
        raise UnsupportedEndpoint("no provider adapter reads this request")

    def apply(self, request: WireRequest, edited: ImageRequest) -> bytes:
        raise UnsupportedEndpoint("no provider adapter writes this request")

    def render_error(self, status: int, message: str, code: str, kind: str) -> WireResponse:
        body = json.dumps({"error": {"message": message, "type": kind, "code": code}}).encode()
        return WireResponse(status, (("content-type", "application/json"),), body)

    def render_images(
        self, request: ImageRequest, images: Sequence[bytes], publish: Publish
    ) -> WireResponse:
        raise UnsupportedEndpoint("no provider adapter answers this request")


UNKNOWN = UnknownProvider()
