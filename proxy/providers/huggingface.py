"""Hugging Face Inference (HF Inference API and the router's hf-inference route) as an adapter.

Refs: `json:<JSON pointer>` into a JSON body, `body` for a raw image body. The path names only
the model, not the task: the body's shape says whether it is text-to-image (`inputs` is the
prompt) or image-to-image (`inputs` is a base64 image, or the whole body is the image).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from proxy.errors import MalformedRequest, UnsupportedEndpoint
from proxy.model import ImagePart, ImageRequest
from proxy.providers import b64
from proxy.providers.b64body import Base64Body
from proxy.providers.base import ProviderAdapter, Publish, WireRequest, WireResponse, changes
from proxy.providers.jsonbody import (
    JsonBody,
    child,
    is_link,
    media_type_of,
)
from proxy.providers.multipart import header_params

# /models/{model} on api-inference, /hf-inference/models/{model} on the router; a model id
# is "name" or "owner/name".
_MODEL_PATH = re.compile(r"(?:/hf-inference)?/models/[^/?#]+(?:/[^/?#]+)?/?")
_RAW_REF = "body"
_JSON_MEDIA = ("application/json",)


class HuggingFaceAdapter(ProviderAdapter):
    """Reads POST /models/{model} (and the router's /hf-inference/models/{model}) completely,
    or refuses it.

    text-to-image: `inputs` is the prompt; image-to-image: `inputs` is a base64 image (or a
    link) and `parameters.prompt` the prompt, or the body is the image itself. Every other
    string in the body is returned as other text. Routes to third-party providers through
    the router, chat routes and non-string `inputs` (other tasks) are refused.
    """

    name = "huggingface"
    default_hosts = ("router.huggingface.co", "api-inference.huggingface.co")

    def parse(self, request: WireRequest) -> ImageRequest:
        return _read(request)[0]

    def apply(self, request: WireRequest, edited: ImageRequest) -> bytes:
        parsed, body = _read(request)
        changed = changes(parsed, edited)
        if not changed:
            return request.body
        if body is None:
            value = changed[_RAW_REF]
            return value if isinstance(value, bytes) else value.encode()
        return body.write(changed)

    def can_render(self, request: ImageRequest) -> bool:
        accept = request.params.get("accept")
        return accept in (None, "*/*") or (isinstance(accept, str) and accept.startswith("image/"))

    def render_images(
        self, request: ImageRequest, images: Sequence[bytes], publish: Publish
    ) -> WireResponse:
        # The API answers one image as its raw bytes; huggingface_hub decodes them with PIL.
        return WireResponse(200, (("content-type", "image/png"),), images[0])

    def render_error(self, status: int, message: str, code: str, kind: str) -> WireResponse:
        # huggingface_hub's hf_raise_for_status puts the body's `error` into its message.
        body = json.dumps({"error": message, "error_type": kind, "code": code}).encode()
        return WireResponse(status, (("content-type", "application/json"),), body)


def _read(request: WireRequest) -> tuple[ImageRequest, JsonBody | None]:
    path = request.path.partition("?")[0]
    if request.method != "POST" or not _MODEL_PATH.fullmatch(path):
        raise UnsupportedEndpoint(
            "not a Hugging Face endpoint PixelGate inspects (POST /models/{model} or "
            "/hf-inference/models/{model}; other router providers are not inspected)"
        )
    model = path.rstrip("/").split("/models/", 1)[1]
    params: dict[str, object] = {"n": 1, "model": model}
    accept = request.headers.get("accept")
    if accept is not None:
        params["accept"] = accept.split(",")[0].split(";")[0].strip().lower()
    media, _ = header_params(request.content_type) if request.content_type else ("", {})
    if media.startswith("image/") or (
        media in ("", "application/octet-stream") and not request.body.lstrip().startswith(b"{")
    ):
        if not request.body:
            raise MalformedRequest("missing image for image-to-image")
        image = ImagePart(_RAW_REF, request.body, None, media or media_type_of(request.body))
        parsed = ImageRequest(
            "huggingface", "image-to-image", (), (image,), MappingProxyType(params)
        )
        return parsed, None
    if media and media not in _JSON_MEDIA and "json" not in media:
        raise MalformedRequest("expected a JSON or an image body")
    body = Base64Body(request.body, request.content_type or "application/json")
    operation = _from_json(body, params)
    prompts = tuple(body.prompts)
    parsed = ImageRequest(
        "huggingface", operation, prompts, tuple(body.images), MappingProxyType(params)
    )
    return parsed, body


def _from_json(body: JsonBody, params: dict[str, object]) -> str:
    doc = body.doc
    inputs, parameters = doc.get("inputs"), doc.get("parameters", {})
    if not isinstance(inputs, str):
        raise UnsupportedEndpoint(
            "only text-to-image and image-to-image requests (string inputs) are inspected"
        )
    if not isinstance(parameters, dict):
        raise MalformedRequest("parameters must be an object")
    if "prompt" in parameters and not isinstance(parameters["prompt"], str):
        raise MalformedRequest("parameters.prompt must be a string")
    if "prompt" in parameters or _looks_like_image(inputs):
        operation = "image-to-image"
        if "prompt" in parameters:
            body.text(parameters, "prompt", "/parameters/prompt", "prompt")
        body.image(doc, "inputs", "/inputs", "url" if is_link(inputs) else "base64")
    else:
        operation = "text-to-image"
        if not inputs:
            raise MalformedRequest("missing prompt for text-to-image")
        body.text(doc, "inputs", "/inputs", "prompt")
    for key in parameters:
        if key != "prompt":
            body.text(parameters, key, child("/parameters", key))
    body.texts_except(doc, "", {"inputs", "parameters"})
    size = parameters.get("target_size")
    width, height = (
        (size.get("width"), size.get("height"))
        if isinstance(size, dict)
        else (
            parameters.get("width"),
            parameters.get("height"),
        )
    )
    if _positive_int(width) and _positive_int(height):
        params["size"] = f"{width}x{height}"
    return operation


def _looks_like_image(value: str) -> bool:
    """A base64 string whose bytes start like an image, or a link: image-to-image input."""
    if is_link(value):
        return True
    if len(value) < 16:
        return False
    start = b64.head(value)
    return start is not None and media_type_of(start) != "application/octet-stream"


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
