"""fal.ai model endpoints, synchronous (fal.run) and queued (queue.fal.run), and the storage
CDN its client uploads images to (v3.fal.media), as an adapter.

Refs: `json:<JSON pointer>` into the model's JSON input, `body` for an uploaded image. Every
fal model takes its own JSON input; what they share is read: `prompt`, and images given under
keys ending in `_url` or `_urls` (a data URI or a link). Every other string is other text.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import uuid
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from proxy.errors import MalformedRequest, UnsupportedEndpoint
from proxy.model import ImagePart, ImageRequest
from proxy.providers.b64body import Base64Body
from proxy.providers.base import ProviderAdapter, Publish, WireRequest, WireResponse, changes
from proxy.providers.jsonbody import MAX_DEPTH, JsonBody, child
from proxy.providers.multipart import header_params

HOSTS = (
    "fal.run",
    "queue.fal.run",
    "*.fal.run",
    # fal-client's backup domains, tried when fal.run cannot be reached.
    "falrun.com",
    "*.falrun.com",
    # Storage: the CDN that fal_client.upload*() sends files to before a model is called
    # (v3.fal.media now, fal.media before), and the REST API that hands out its tokens.
    "fal.media",
    "*.fal.media",
    "rest.fal.ai",
    "rest.alpha.fal.ai",
)
_RAW_REF = "body"
_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._~-]*"
# owner/alias, optionally under a namespace, then an optional subpath.
_APP = re.compile(rf"/((?:(?:workflows|comfy)/)?{_SEGMENT}/{_SEGMENT})((?:/{_SEGMENT})*)/?")
_CANCEL = re.compile(rf"/(?:(?:workflows|comfy)/)?{_SEGMENT}/{_SEGMENT}/requests/[\w-]+/cancel")
# fal's image_size presets.
_PRESETS = {
    "square_hd": "1024x1024", "square": "512x512", "portrait_4_3": "768x1024",
    "portrait_16_9": "576x1024", "landscape_4_3": "1024x768", "landscape_16_9": "1024x576",
}  # fmt: skip
_RATIOS = {
    "1:1": "1024x1024", "16:9": "1344x768", "9:16": "768x1344", "4:3": "1152x896",
    "3:4": "896x1152", "3:2": "1216x832", "2:3": "832x1216", "21:9": "1536x640",
    "9:21": "640x1536",
}  # fmt: skip


class FalAdapter(ProviderAdapter):
    """Reads POST https://fal.run/{app}[/{path}] and https://queue.fal.run/{app}[/{path}]
    completely, or refuses it.

    `prompt` is the prompt; every `*_url` / `*_urls` value is an image (data URI inline, a
    link for the gate to fetch or refuse); every other string anywhere is other text. A
    queued request is told apart by its host (`queue.` first label). A rerouted queued
    request gets a job whose status and result the proxy serves from memory at the paths
    fal's clients poll.

    On fal's storage hosts, an image uploaded whole (POST /files/upload, what fal_client's
    upload_image sends first) is returned as an image, and an upload token request as a
    request with nothing but its strings; other storage endpoints are refused.
    """

    name = "fal"
    default_hosts = HOSTS

    def parse(self, request: WireRequest) -> ImageRequest:
        return _read(request)[0]

    def apply(self, request: WireRequest, edited: ImageRequest) -> bytes:
        parsed, body = _read(request)
        changed = changes(parsed, edited)
        if not changed:
            return request.body
        if body is None:  # an uploaded file: the body is the image
            value = changed[_RAW_REF]
            return value if isinstance(value, bytes) else value.encode()
        return body.write(changed)

    def can_render(self, request: ImageRequest) -> bool:
        # A webhook would never be called by a forged job.
        return request.operation in ("run", "submit") and not request.params.get("webhook")

    def render_images(
        self, request: ImageRequest, images: Sequence[bytes], publish: Publish
    ) -> WireResponse:
        inline = bool(request.params.get("sync_mode"))
        items = [
            {
                "url": _data_uri(png) if inline else publish(png),
                "width": _png_size(png)[0],
                "height": _png_size(png)[1],
                "content_type": "image/png",
            }
            for png in images
        ]
        result: dict[str, object] = {
            "images": items,
            "timings": {"inference": 0.0},
            "seed": 0,
            "has_nsfw_concepts": [False] * len(items),
        }
        prompt = next((p.text for p in request.prompts if p.role == "prompt"), None)
        if prompt is not None:
            result["prompt"] = prompt
        if request.operation == "run":
            return _json(200, result)
        job = uuid.uuid4()
        base = f"/{request.params['app']}/requests/{job}"
        response_url = publish(json.dumps(result).encode(), "application/json", base)
        urls = {
            "request_id": str(job),
            "response_url": response_url,
            "status_url": response_url + "/status",
            "cancel_url": response_url + "/cancel",
        }
        status: dict[str, object] = {"status": "COMPLETED", **urls, "logs": None, "metrics": {}}
        publish(json.dumps(status).encode(), "application/json", base + "/status")
        return _json(200, {"status": "IN_QUEUE", **urls, "queue_position": 0})

    def render_error(self, status: int, message: str, code: str, kind: str) -> WireResponse:
        # fal_client raises FalClientHTTPError with the body's `detail` as its message.
        return _json(status, {"detail": message, "code": code, "type": kind})


def _read(request: WireRequest) -> tuple[ImageRequest, JsonBody | None]:
    path, _, query = request.path.partition("?")
    if path.startswith(("/files/", "/storage/")):
        return _storage(request, path)
    host = request.headers.get("host", request.host).split(":")[0].lower()
    queued = host.startswith("queue.")
    if queued and request.method == "PUT" and not request.body and _CANCEL.fullmatch(path):
        return ImageRequest("fal", "queue.cancel"), None
    match = _APP.fullmatch(path)
    if request.method != "POST" or match is None or "/requests/" in path + "/":
        raise UnsupportedEndpoint(
            "not a fal endpoint PixelGate inspects (POST https://fal.run/{app} or "
            "https://queue.fal.run/{app}, with an optional subpath)"
        )
    params: dict[str, object] = {"n": 1, "model": match.group(1) + match.group(2)}
    params["app"] = match.group(1)
    if "fal_webhook=" in query:
        params["webhook"] = True
    body = Base64Body(request.body, request.content_type)
    doc = body.doc
    if "prompt" in doc:
        if not isinstance(doc["prompt"], str):
            raise MalformedRequest("prompt must be a string")
        body.text(doc, "prompt", "/prompt", "prompt")
    _walk(body, doc, "", skip=frozenset({"prompt"}))
    if not body.images and not any(p.role == "prompt" for p in body.prompts):
        raise MalformedRequest("missing prompt")
    _neutral(doc, params)
    operation = "submit" if queued else "run"
    parsed = ImageRequest(
        "fal", operation, tuple(body.prompts), tuple(body.images), MappingProxyType(params)
    )
    return parsed, body


def _storage(request: WireRequest, path: str) -> tuple[ImageRequest, JsonBody | None]:
    """fal's storage API: an upload of one whole file to the CDN (POST /files/upload, the
    body is the file), or a request for an upload token. A multipart upload sends a file in
    pieces that cannot be inspected whole, and a Cloud Storage upload is sent to a signed
    URL on a host that is not fal's: both refused here, where they start."""
    if request.method == "POST" and path == "/files/upload":
        media, _ = header_params(request.content_type) if request.content_type else ("", {})
        if not media.startswith("image/"):
            raise UnsupportedEndpoint("an upload to fal that is not an image cannot be inspected")
        if not request.body:
            raise MalformedRequest("an upload to fal has no file")
        image = ImagePart(_RAW_REF, request.body, None, media)
        return ImageRequest("fal", "storage.upload", (), (image,)), None
    if request.method == "POST" and path == "/storage/auth/token":
        body = Base64Body(request.body or b"{}", request.content_type or "application/json")
        _walk(body, body.doc, "")
        if body.images:
            raise MalformedRequest("an upload token request carries no images")
        return ImageRequest("fal", "storage.token", tuple(body.prompts)), body
    raise UnsupportedEndpoint(
        "not a fal storage endpoint PixelGate inspects (POST /files/upload of one image, "
        "POST /storage/auth/token; multipart and Cloud Storage uploads cannot be inspected)"
    )


def _walk(body: JsonBody, obj: Any, pointer: str, skip: frozenset[str] = frozenset()) -> None:
    """Images under `*_url` / `*_urls` keys at any depth; every other string as text."""
    if pointer.count("/") > MAX_DEPTH:
        raise MalformedRequest("JSON body is nested too deeply")
    items = obj.items() if isinstance(obj, dict) else enumerate(obj)
    for key, value in items:
        if key in skip:
            continue
        here = child(pointer, key)
        name = key.lower() if isinstance(key, str) else ""
        role = "mask" if "mask" in name else "image"
        if name.endswith("_url") and isinstance(value, str):
            body.image(obj, key, here, "url", role)
        elif name.endswith("_urls") and isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, str):
                    body.image(value, index, child(here, index), "url", role)
                elif isinstance(item, dict | list):
                    _walk(body, item, child(here, index))
        elif isinstance(value, dict | list):
            _walk(body, value, here)
        else:
            body.text(obj, key, here)


def _neutral(doc: dict[str, Any], params: dict[str, object]) -> None:
    n = doc.get("num_images", 1)
    if isinstance(n, bool) or not isinstance(n, int):
        raise MalformedRequest("num_images must be an integer")
    params["n"] = n
    for key in ("sync_mode",):
        if isinstance(doc.get(key), bool):
            params[key] = doc[key]
    size = doc.get("image_size")
    if isinstance(size, dict):
        width, height = size.get("width"), size.get("height")
    else:
        width, height = doc.get("width"), doc.get("height")
    if _positive(width) and _positive(height):
        params["size"] = f"{width}x{height}"
    elif isinstance(size, str) and size in _PRESETS:
        params["size"] = _PRESETS[size]
    elif isinstance(doc.get("aspect_ratio"), str) and doc["aspect_ratio"] in _RATIOS:
        params["size"] = _RATIOS[doc["aspect_ratio"]]


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _png_size(png: bytes) -> tuple[int, int]:
    if png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) >= 24:
        width, height = struct.unpack(">II", png[16:24])
        return int(width), int(height)
    return 0, 0


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _json(status: int, payload: object) -> WireResponse:
    body = json.dumps(payload).encode()
    return WireResponse(status, (("content-type", "application/json"),), body)
