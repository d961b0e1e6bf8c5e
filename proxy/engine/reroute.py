"""A rerouted request answered by the local model, in the provider's own success format.

The model gets the original prompt and image: they never leave the building, and the client
asked for an edit of its own image, not of a redaction. Any failure becomes an error answer
in the provider's format; nothing here ever forwards a request.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from local_fallback.generator import GenerationRequest
from proxy.engine.served import ImageStore, url_for
from proxy.errors import FallbackBusy
from proxy.model import ImageRequest
from proxy.providers.base import ProviderAdapter, WireRequest, WireResponse

MAX_LOCAL_IMAGES = 10
DEFAULT_SIZE = (1024, 1024)


class ImageModel(Protocol):
    """What the gate needs of a local model: a Generator, its queue, or a remote service."""

    @property
    def model(self) -> str: ...

    @property
    def device(self) -> str: ...

    def generate(self, request: GenerationRequest) -> list[bytes]: ...


def answer_locally(
    model: ImageModel,
    adapter: ProviderAdapter,
    wire: WireRequest,
    request: ImageRequest,
    served: ImageStore,
) -> WireResponse:
    """Generate for `request` and render the answer; links are served from `served`."""
    prompt = next((p.text for p in request.prompts if p.role == "prompt"), "")
    init = next((i.data for i in request.images if i.role == "image" and i.data), None)
    width, height = size_of(request.params.get("size"))
    n = request.params.get("n")
    images = model.generate(
        GenerationRequest(
            prompt,
            n=n if isinstance(n, int) and 1 <= n <= MAX_LOCAL_IMAGES else 1,
            width=width,
            height=height,
            init_image=init,
        )
    )

    def publish(body: bytes, content_type: str = "image/png", path: str | None = None) -> str:
        return url_for(wire.host, wire.port, served.put(body, content_type, path))

    return adapter.render_images(request, images, publish)


def failure_answer(adapter: ProviderAdapter, error: Exception) -> tuple[str, WireResponse]:
    """(error code, the client's answer) for a local model that could not answer."""
    if isinstance(error, FallbackBusy):
        code, status, message = "pixelgate_fallback_busy", 503, "the local image model is busy"
    elif isinstance(error, ValueError):
        code, status, message = (
            "pixelgate_malformed_request",
            400,
            "the local image model cannot use this request",
        )
    else:
        code, status, message = "pixelgate_fallback_failed", 502, "the local image model failed"
    answer = adapter.render_error(status, f"PixelGate: {message}", code, "server_error")
    if isinstance(error, FallbackBusy):
        answer = replace(answer, headers=(*answer.headers, ("retry-after", str(error.retry_after))))
    return code, answer


def size_of(value: object) -> tuple[int, int]:
    """'1536x1024' -> (1536, 1024); 'auto', missing or odd values -> 1024x1024."""
    if isinstance(value, str):
        width, _, height = value.lower().partition("x")
        if width.isdigit() and height.isdigit() and 64 <= int(width) <= 4096 >= int(height) >= 64:
            return int(width), int(height)
    return DEFAULT_SIZE
