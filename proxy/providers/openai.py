"""OpenAI Images (and Azure OpenAI, and OpenAI-compatible servers) as an adapter.

Refs: `json:<JSON pointer>` (RFC 6901) into a JSON body, `part:<index>` into a multipart body.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote_to_bytes

from proxy.errors import MalformedRequest, UnsupportedEndpoint
from proxy.model import ImagePart, ImageRequest, TextPart
from proxy.providers import multipart
from proxy.providers.base import ProviderAdapter, WireRequest, WireResponse

_OPERATIONS = {
    "/images/generations": "images.generate",
    "/images/edits": "images.edit",
    "/images/variations": "images.variation",
}
_PARAMS = ("model", "n", "size", "response_format", "output_format", "quality", "stream")
_TYPES: dict[str, type] = {"n": int, "stream": bool}
# Enumerations and numbers that the API validates: not free text, so not inspected as text.
_NEUTRAL = frozenset(
    _PARAMS + ("background", "input_fidelity", "moderation", "output_compression", "style")
) | {"partial_images"}
_MAX_DEPTH = 32
_IMAGE_FIELDS = {"image": "image", "image[]": "image", "mask": "mask"}


@dataclass
class _Reading:
    operation: str
    prompts: list[TextPart] = field(default_factory=list)
    images: list[ImagePart] = field(default_factory=list)
    raw: dict[str, object] = field(default_factory=dict)
    form: multipart.Multipart | None = None
    doc: dict[str, Any] | None = None
    # JSON ref -> (container, key), so apply writes back without walking pointers again.
    slots: dict[str, tuple[Any, Any]] = field(default_factory=dict)


class OpenAIAdapter(ProviderAdapter):
    """Reads POST .../images/{generations,edits,variations} completely, or refuses it.

    Every prompt, every other client-written string (`user`, unknown fields) and every
    uploaded image is returned. A body that two readers could read differently (repeated keys
    or fields, odd multipart framing) is refused, and so are images sent by URL or file id,
    which cannot be inspected here.
    """

    name = "openai"
    default_hosts = ("api.openai.com", "*.openai.azure.com")

    def parse(self, request: WireRequest) -> ImageRequest:
        return _request(_read(request))

    def apply(self, request: WireRequest, edited: ImageRequest) -> bytes:
        reading = _read(request)
        originals: dict[str, str | bytes] = {p.ref: p.text for p in reading.prompts}
        originals.update((i.ref, i.data) for i in reading.images)
        changed: dict[str, str | bytes] = {}
        for ref, value in [(p.ref, p.text) for p in edited.prompts] + [
            (i.ref, i.data) for i in edited.images
        ]:
            if ref not in originals:
                raise ValueError(f"ref {ref!r} is not part of this request")
            if originals[ref] != value:
                changed[ref] = value
        if not changed:
            return request.body
        if reading.form is not None:
            bodies = {
                int(r[5:]): v if isinstance(v, bytes) else v.encode() for r, v in changed.items()
            }
            return reading.form.with_bodies(bodies).serialize()
        for ref, value in changed.items():
            container, key = reading.slots[ref]
            if isinstance(value, bytes):
                head = container[key].partition(",")[0]
                if not head.lower().endswith(";base64"):
                    head = head.partition(";")[0] + ";base64"
                value = f"{head},{base64.b64encode(value).decode('ascii')}"
            container[key] = value
        return json.dumps(reading.doc, ensure_ascii=False, separators=(",", ":")).encode()

    def render_images(
        self, request: ImageRequest, images: Sequence[bytes], publish: Callable[[bytes], str]
    ) -> WireResponse:
        return _render_images(request, images, publish)

    def can_render(self, request: ImageRequest) -> bool:
        # A streamed answer (partial images as server-sent events) cannot be forged yet:
        # reroute then falls back to the policy's on_unavailable.
        formats = (None, "b64_json", "url")
        return request.params.get("response_format") in formats and not request.params.get("stream")

    def render_error(self, status: int, message: str, code: str, kind: str) -> WireResponse:
        # The openai SDK exposes the `error` object as `e.body`, and its `code` as `e.code`.
        error = {"message": message, "type": kind, "param": None, "code": code}
        body = json.dumps({"error": error}).encode()
        return WireResponse(status, (("content-type", "application/json"),), body)


def _render_images(
    request: ImageRequest, images: Sequence[bytes], publish: Callable[[bytes], str]
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


def _read(request: WireRequest) -> _Reading:
    path = request.path.partition("?")[0]
    trimmed = path[:-1] if path.endswith("/") else path
    suffix = next((s for s in _OPERATIONS if trimmed.endswith(s)), None)
    if suffix is None or request.method != "POST":
        raise UnsupportedEndpoint(
            f"{request.method[:16]} {path[:200]} is not an OpenAI image endpoint PixelGate "
            "inspects (POST .../images/generations, /images/edits or /images/variations)"
        )
    reading = _Reading(_OPERATIONS[suffix])
    media, params = multipart.header_params(request.content_type)
    if media == "multipart/form-data" and reading.operation != "images.generate":
        reading.form = multipart.parse(request.body, request.content_type)
        _from_form(reading, reading.form)
    elif media == "application/json" and reading.operation != "images.variation":
        if params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
            raise MalformedRequest("JSON body must be UTF-8")
        reading.doc = _load_json(request.body)
        _from_json(reading, reading.doc)
    else:
        wanted = "multipart/form-data" if reading.operation != "images.generate" else "JSON"
        raise MalformedRequest(f"expected a {wanted} body for {reading.operation}")
    return reading


def _request(reading: _Reading) -> ImageRequest:
    operation, images = reading.operation, reading.images
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
    prompts = tuple(reading.prompts)
    return ImageRequest("openai", operation, prompts, tuple(images), MappingProxyType(params))


def _from_form(reading: _Reading, form: multipart.Multipart) -> None:
    seen: set[str] = set()
    for index, part in enumerate(form.parts):
        ref, role = f"part:{index}", _IMAGE_FIELDS.get(part.name)
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
        try:
            text = part.body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedRequest("form text field is not UTF-8") from None
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


def _load_json(body: bytes) -> dict[str, Any]:
    def unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
        if len({key for key, _ in pairs}) != len(pairs):
            raise MalformedRequest("JSON body repeats a key")
        return dict(pairs)

    def no_constant(_: str) -> object:
        raise MalformedRequest("JSON body contains NaN or Infinity")

    try:
        doc = json.loads(body.decode("utf-8"), object_pairs_hook=unique, parse_constant=no_constant)
    except UnicodeDecodeError:
        raise MalformedRequest("JSON body is not UTF-8") from None
    except (ValueError, RecursionError):
        raise MalformedRequest("body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise MalformedRequest("JSON body must be an object")
    return doc


def _from_json(reading: _Reading, doc: dict[str, Any]) -> None:
    edit = reading.operation == "images.edit"
    for key, value in doc.items():
        pointer = "/" + _escape(key)
        if key == "prompt":
            if not isinstance(value, str):
                raise MalformedRequest("prompt must be a string")
            _text(reading, doc, key, pointer, "prompt")
        elif key in _NEUTRAL:
            if isinstance(value, dict | list):
                raise MalformedRequest(f"{key} must not be an object or an array")
            reading.raw[key] = value
        elif edit and key == "images" and isinstance(value, list) and value:
            for index, item in enumerate(value):
                _json_image(reading, item, f"{pointer}/{index}", "image")
        elif edit and key == "mask":
            _json_image(reading, value, pointer, "mask")
        elif edit and key in ("images", "image", "image[]"):
            raise MalformedRequest("JSON edits take images as a non-empty images array")
        else:
            _text(reading, doc, key, pointer, "other")


def _text(reading: _Reading, container: Any, key: Any, pointer: str, role: str) -> None:
    """Record every string under container[key] as text, so no nested field goes unread."""
    value = container[key]
    if pointer.count("/") > _MAX_DEPTH:  # keys are escaped, so "/" counts levels
        raise MalformedRequest("JSON body is nested too deeply")
    if isinstance(value, str):
        reading.prompts.append(TextPart("json:" + pointer, value, role))
        reading.slots["json:" + pointer] = (container, key)
    elif isinstance(value, list):
        for index in range(len(value)):
            _text(reading, value, index, f"{pointer}/{index}", role)
    elif isinstance(value, dict):
        for name in value:
            _text(reading, value, name, f"{pointer}/{_escape(name)}", role)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _json_image(reading: _Reading, item: object, pointer: str, role: str) -> None:
    if not isinstance(item, dict) or len(item) != 1 or not item.keys() <= {"image_url", "file_id"}:
        raise MalformedRequest("an image reference must have exactly one of image_url, file_id")
    url = item.get("image_url")
    if not isinstance(url, str) or url[:5].lower() != "data:":
        raise UnsupportedEndpoint("images by reference (URL or file id) cannot be inspected")
    head, comma, payload = url[5:].partition(",")
    media, *flags = head.split(";")
    try:
        if not comma:
            raise ValueError
        if flags and flags[-1].lower() == "base64":
            data = base64.b64decode(payload, validate=True)
        else:
            data = unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise MalformedRequest("an image data URL is malformed") from None
    ref = f"json:{pointer}/image_url"
    reading.images.append(ImagePart(ref, data, None, media.lower() or None, role))
    reading.slots[ref] = (item, "image_url")
