"""OpenAI Images, Responses and chat completions (and Azure OpenAI, and OpenAI-compatible
services: Together, xAI, self-hosted servers) as an adapter.

Refs: `json:<JSON pointer>` (RFC 6901) into a JSON body, `part:<index>` into a multipart body.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from proxy.errors import MalformedRequest, UnsupportedEndpoint
from proxy.model import ImagePart, ImageRequest, TextPart
from proxy.providers import multipart, openai_chat
from proxy.providers.b64body import Base64Body
from proxy.providers.base import ProviderAdapter, Publish, WireRequest, WireResponse, changes
from proxy.providers.jsonbody import JsonBody, child

_OPERATIONS = {
    "/images/generations": "images.generate",
    "/images/edits": "images.edit",
    "/images/variations": "images.variation",
}
_PARAMS = ("model", "n", "size", "response_format", "output_format", "quality", "stream")
_TYPES: dict[str, type] = {"n": int, "stream": bool}
# Enumerations and numbers that the API validates, kept as params rather than prompts. The
# gate still reads them as text (proxy/providers/jsonrest.py, formrest.py): nothing else
# stops a client from writing anything there.
_NEUTRAL = frozenset(
    _PARAMS + ("background", "input_fidelity", "moderation", "output_compression", "style")
) | {"partial_images"}
_IMAGE_FIELDS = {"image": "image", "image[]": "image", "mask": "mask"}
# Azure OpenAI and Azure AI Foundry resources serve the same bodies under
# /openai/deployments/{name}/..., /openai/... and /openai/v1/... (with an api-version query);
# Foundry's model inference API under /models/chat/completions. Endpoints are matched by
# suffix, so every one of those shapes is read as OpenAI's, and any other path on these
# hosts (files, batches, other Azure AI services) is refused as an unsupported endpoint.
AZURE_AND_OPENAI = (
    "api.openai.com",
    "*.openai.azure.com",
    "*.cognitiveservices.azure.com",
    "*.services.ai.azure.com",
)


@dataclass
class _Reading:
    operation: str
    prompts: list[TextPart] = field(default_factory=list)
    images: list[ImagePart] = field(default_factory=list)
    raw: dict[str, object] = field(default_factory=dict)
    form: multipart.Multipart | None = None
    json: JsonBody | None = None


class OpenAIAdapter(ProviderAdapter):
    """Reads POST .../images/{generations,edits,variations} completely, or refuses it.

    Every prompt, every other client-written string (`user`, unknown fields) and every
    uploaded image is returned. A body that two readers could read differently (repeated keys
    or fields, odd multipart framing) is refused, and so are images sent by file id, which
    cannot be inspected here. Images by link are returned for the gate to fetch or refuse.

    OpenAI-compatible services are instances with their own `name` and hosts, not copies.
    """

    def __init__(
        self,
        name: str = "openai",
        hosts: tuple[str, ...] = AZURE_AND_OPENAI,
        *,
        image_keys: tuple[str, ...] = ("images", "mask"),
        base64_formats: tuple[str, ...] = ("b64_json",),
    ) -> None:
        """`image_keys`: top-level JSON keys that hold images (a data URL or link, an object
        with one of image_url/url/file_id, or a list of those). `base64_formats`: the
        response_format values that ask for inline base64 (Together says "base64")."""
        self.name = name
        self.default_hosts = hosts
        self.image_keys = frozenset(image_keys)
        self.base64_formats = base64_formats

    def parse(self, request: WireRequest) -> ImageRequest:
        return _request(self.name, self._read(request))

    def _read(self, request: WireRequest) -> _Reading:
        return _read(request, self.image_keys)

    def apply(self, request: WireRequest, edited: ImageRequest) -> bytes:
        reading = self._read(request)
        changed = changes(_request(self.name, reading), edited)
        if not changed:
            return request.body
        if reading.form is not None:
            return reading.form.write(changed)
        assert reading.json is not None
        return reading.json.write(changed)

    def render_images(
        self, request: ImageRequest, images: Sequence[bytes], publish: Publish
    ) -> WireResponse:
        if not request.operation.startswith("images."):
            return openai_chat.render(request, images)
        return _render_images(request, images, publish)

    def can_render(self, request: ImageRequest) -> bool:
        if not request.operation.startswith("images."):
            return openai_chat.can_render(request)
        # A streamed answer (partial images as server-sent events) cannot be forged yet:
        # reroute then falls back to the policy's on_unavailable.
        formats = (None, "url", *self.base64_formats)
        return request.params.get("response_format") in formats and not request.params.get("stream")

    def render_error(self, status: int, message: str, code: str, kind: str) -> WireResponse:
        # The openai SDK exposes the `error` object as `e.body`, and its `code` as `e.code`.
        error = {"message": message, "type": kind, "param": None, "code": code}
        body = json.dumps({"error": error}).encode()
        return WireResponse(status, (("content-type", "application/json"),), body)


def _render_images(
    request: ImageRequest, images: Sequence[bytes], publish: Publish
) -> WireResponse:
    # The Images API's response shape; the SDK parses `data[].b64_json` or `data[].url`.
    if request.params.get("response_format") == "url":
        data = [{"url": publish(png)} for png in images]
    else:
        data = [{"b64_json": base64.b64encode(png).decode("ascii")} for png in images]
    payload: dict[str, object] = {"created": int(time.time()), "data": data, "output_format": "png"}
    if isinstance(request.params.get("size"), str):
        payload["size"] = request.params["size"]
    return WireResponse(200, (("content-type", "application/json"),), json.dumps(payload).encode())


def _read(request: WireRequest, image_keys: frozenset[str]) -> _Reading:
    path = request.path.partition("?")[0]
    trimmed = path[:-1] if path.endswith("/") else path
    operations = {**_OPERATIONS, **openai_chat.OPERATIONS}
    suffix = next((s for s in operations if trimmed.endswith(s)), None)
    if suffix is None or request.method != "POST":
        # Neither method nor path is quoted: the reason goes to the audit, and the client
        # chose both.
        what = "this path" if suffix is None else "a method other than POST"
        raise UnsupportedEndpoint(
            f"{what} is not an OpenAI endpoint PixelGate inspects (POST "
            ".../images/generations, "
            "/images/edits, /images/variations, /responses or /chat/completions)"
        )
    reading = _Reading(operations[suffix])
    media, _ = multipart.header_params(request.content_type)
    if suffix in openai_chat.OPERATIONS:
        reading.json = Base64Body(request.body, request.content_type)
        reading.raw = openai_chat.read(reading.json, reading.operation)
        reading.prompts, reading.images = reading.json.prompts, reading.json.images
        return reading
    if media == "multipart/form-data" and reading.operation != "images.generate":
        reading.form = multipart.parse(request.body, request.content_type)
        _from_form(reading, reading.form)
    elif media == "application/json" and reading.operation != "images.variation":
        reading.json = Base64Body(request.body, request.content_type)
        _from_json(reading, reading.json, image_keys)
        reading.prompts, reading.images = reading.json.prompts, reading.json.images
    else:
        wanted = "multipart/form-data" if reading.operation != "images.generate" else "JSON"
        raise MalformedRequest(f"expected a {wanted} body for {reading.operation}")
    return reading


def _request(provider: str, reading: _Reading) -> ImageRequest:
    operation, images = reading.operation, reading.images
    if not operation.startswith("images."):
        raw = MappingProxyType(reading.raw)
        return ImageRequest(provider, operation, tuple(reading.prompts), tuple(images), raw)
    if operation != "images.variation" and not any(p.role == "prompt" for p in reading.prompts):
        raise MalformedRequest(f"missing prompt for {operation}")
    if operation != "images.generate" and not any(i.role == "image" for i in images):
        raise MalformedRequest(f"missing image for {operation}")
    if operation == "images.variation" and len(images) != 1:
        raise MalformedRequest("images.variation takes exactly one image and no mask")
    if sum(i.role == "mask" for i in images) > 1:
        raise MalformedRequest("more than one mask")
    params: dict[str, object] = {"n": 1}
    for key in _PARAMS:
        value, wanted = reading.raw.get(key), _TYPES.get(key, str)
        # bool is an int in Python, but `"n": true` is not a count.
        if value is not None and (type(value) is not wanted):
            raise MalformedRequest(f"{key} must be of type {wanted.__name__}")
        if value is not None:
            params[key] = value
    width, height = reading.raw.get("width"), reading.raw.get("height")
    if "size" not in params and isinstance(width, int) and isinstance(height, int):
        params["size"] = f"{width}x{height}"  # OpenAI-compatible services that take pixels
    prompts = tuple(reading.prompts)
    return ImageRequest(provider, operation, prompts, tuple(images), MappingProxyType(params))


def _from_form(reading: _Reading, form: multipart.Multipart) -> None:
    seen: set[str] = set()
    for index, part in enumerate(form.parts):
        ref, role = multipart.ref_of(index), _IMAGE_FIELDS.get(part.name)
        if role is not None:
            reading.images.append(ImagePart(ref, part.body, part.filename, part.content_type, role))
            continue
        if part.filename is not None:
            raise MalformedRequest("form has a file part that is not an image or a mask")
        if part.name in seen:  # upstream might read the other copy
            raise MalformedRequest(
                f"duplicate {'prompt' if part.name == 'prompt' else 'form'} field"
            )
        seen.add(part.name)
        text = multipart.text_of(part)
        if part.name in _NEUTRAL:
            reading.raw[part.name] = _form_value(part.name, text)
        else:
            reading.prompts.append(
                TextPart(ref, text, "prompt" if part.name == "prompt" else "other")
            )


def _form_value(name: str, text: str) -> object:
    if name == "n" and text.isascii() and text.isdigit():
        return int(text)
    if name == "stream" and text in ("true", "false"):
        return text == "true"
    return text  # a wrong type is refused in _request, with the other params


def _from_json(reading: _Reading, body: JsonBody, image_keys: frozenset[str]) -> None:
    edit = reading.operation == "images.edit"
    doc = body.doc
    for key, value in doc.items():
        pointer = child("", key)
        if key == "prompt":
            if not isinstance(value, str):
                raise MalformedRequest("prompt must be a string")
            body.text(doc, key, pointer, "prompt")
        elif key in _NEUTRAL:
            if isinstance(value, dict | list):
                raise MalformedRequest(f"{key} must not be an object or an array")
            reading.raw[key] = value
        elif key in image_keys:
            _json_images(body, doc, key, pointer, "mask" if key == "mask" else "image")
        elif edit and key in ("images", "image", "image[]"):
            raise MalformedRequest("JSON edits take images as a non-empty images array")
        else:
            body.text(doc, key, pointer, "other")
    for key in ("width", "height"):
        if type(doc.get(key)) is int:
            reading.raw[key] = doc[key]


_REFERENCE_KEYS = frozenset({"image_url", "url", "file_id"})


def _json_images(body: JsonBody, container: Any, key: Any, pointer: str, role: str) -> None:
    """An image as a data URL or link, as {image_url|url|file_id: ...}, or a list of those."""
    item = container[key]
    if isinstance(item, str):
        body.image(container, key, pointer, "url", role)
    elif isinstance(item, list) and item and pointer.count("/") == 1:
        for index in range(len(item)):
            _json_images(body, item, index, child(pointer, index), role)
    elif isinstance(item, dict):
        found = item.keys() & _REFERENCE_KEYS
        if len(found) != 1 or not item.keys() - found <= {"type"}:
            raise MalformedRequest("an image reference must have exactly one of image_url, file_id")
        (name,) = found
        if name == "file_id":
            raise UnsupportedEndpoint("images by file id cannot be inspected")
        body.image(item, name, child(pointer, name), "url", role)
    else:
        raise MalformedRequest("JSON edits take images as a non-empty images array")
