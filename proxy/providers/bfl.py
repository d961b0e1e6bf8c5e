"""Black Forest Labs' FLUX API (api.bfl.ai) as an adapter.

Refs: `json:<JSON pointer>` (RFC 6901) into the JSON body. The API answers a task with an id
and a `polling_url`; a forged answer points that URL at a finished result the proxy serves,
whose `result.sample` is an image the proxy serves too.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from proxy.errors import MalformedRequest, UnsupportedEndpoint
from proxy.model import ImageRequest
from proxy.providers import b64
from proxy.providers.b64body import Base64Body
from proxy.providers.base import ProviderAdapter, Publish, WireRequest, WireResponse, changes
from proxy.providers.jsonbody import JsonBody, child, is_link, media_type_of
from proxy.providers.sizes import size_of

# Every model endpoint is POST /v1/flux-...: flux-pro-1.1, flux-kontext-max, flux-2-pro, ...
_MODEL_PATH = re.compile(r"/v1/(flux-[a-z0-9][a-z0-9.-]{0,63})")
# The documented image inputs (Kontext, FLUX.2, Fill, Expand, Canny/Depth, Ultra).
_IMAGE_FIELDS = re.compile(
    r"input_image(_[0-9]{1,2})?|image|control_image|preprocessed_image|image_prompt"
)
_MASK_FIELDS = frozenset({"mask"})
# Any other input named like an image is one if its value reads as one.
_IMAGE_KEY = re.compile(r"image|mask", re.IGNORECASE)
_COUNT_KEYS = ("num_images", "num_outputs")
_JSON = (("content-type", "application/json"),)


class BflAdapter(ProviderAdapter):
    """Reads POST /v1/flux-* generation and edit tasks completely, or refuses them.

    `prompt` is the prompt; every image input (raw base64, a data URL, or an http(s) link
    for the gate to fetch) is an image, `mask` a mask; every other string (webhook URL and
    secret, finetune ids, unknown fields) is other text. A task with neither a prompt nor
    an image is refused. Polling (GET /v1/get_result) has no body and passes as such.
    """

    name = "bfl"
    default_hosts = ("api.bfl.ai", "*.bfl.ai", "api.bfl.ml", "*.bfl.ml")

    def parse(self, request: WireRequest) -> ImageRequest:
        return _read(request)[0]

    def apply(self, request: WireRequest, edited: ImageRequest) -> bytes:
        parsed, body = _read(request)
        changed = changes(parsed, edited)
        if not changed:
            return request.body
        links = {i.ref for i in parsed.images if i.url is not None}
        for ref, value in changed.items():
            if ref in links and isinstance(value, bytes):
                # A fetched and redacted link goes on inline, as the raw base64 BFL takes.
                changed[ref] = base64.b64encode(value).decode("ascii")
        return body.write(changed)

    def can_render(self, request: ImageRequest) -> bool:
        # A task with a webhook is answered by a POST to the client's server: not forgeable.
        return not request.params.get("webhook")

    def render_images(
        self, request: ImageRequest, images: Sequence[bytes], publish: Publish
    ) -> WireResponse:
        task_id = str(uuid.uuid4())
        now = time.time()
        samples = [publish(png) for png in images]
        result = {
            "id": task_id,
            "status": "Ready",
            "result": {
                "sample": samples[0] if samples else None,
                "start_time": now,
                "end_time": now,
                "duration": 0.0,
            },
            "progress": 1.0,
            "details": None,
            "preview": None,
        }
        # The store ignores the query string: the id is there only to look like the API's.
        polling_url = publish(json.dumps(result).encode(), "application/json")
        answer = {"id": task_id, "polling_url": f"{polling_url}?id={task_id}"}
        return WireResponse(200, _JSON, json.dumps(answer).encode())

    def render_error(self, status: int, message: str, code: str, kind: str) -> WireResponse:
        # FastAPI's HTTPException shape, which the BFL API answers with outside validation.
        return WireResponse(status, _JSON, json.dumps({"detail": message}).encode())


def _read(request: WireRequest) -> tuple[ImageRequest, JsonBody]:
    path = request.path.partition("?")[0]
    path = path[:-1] if path.endswith("/") else path
    match = _MODEL_PATH.fullmatch(path)
    if match is None or request.method != "POST":
        # Neither method nor path is quoted: the reason goes to the audit.
        raise UnsupportedEndpoint(
            "this method or path is not a FLUX endpoint PixelGate inspects (POST /v1/flux-...)"
        )
    body = Base64Body(request.body, request.content_type or "application/json")
    doc = body.doc
    params: dict[str, object] = {"n": 1, "model": match.group(1)}
    for key, value in doc.items():
        pointer = child("", key)
        if key == "prompt":
            if value is None:
                continue
            if not isinstance(value, str):
                raise MalformedRequest("prompt must be a string")
            body.text(doc, key, pointer, "prompt")
            body.prompts.insert(0, body.prompts.pop())  # the main prompt goes first
        elif value is None:
            continue
        elif key.endswith("_blob_path"):
            raise UnsupportedEndpoint("images by blob path cannot be inspected")
        elif _IMAGE_FIELDS.fullmatch(key) or key in _MASK_FIELDS:
            _image(body, doc, key, pointer, "mask" if key in _MASK_FIELDS else "image")
        elif isinstance(value, str) and _IMAGE_KEY.search(key) and _looks_like_image(value):
            _image(body, doc, key, pointer, "mask" if "mask" in key.lower() else "image")
        else:
            body.text(doc, key, pointer, "other")
    if not body.images and not any(p.role == "prompt" for p in body.prompts):
        raise MalformedRequest("missing prompt (a task needs a prompt or an image)")
    count = next((doc[k] for k in _COUNT_KEYS if k in doc), 1)
    if type(count) is not int:
        raise MalformedRequest("num_images must be an integer")
    params["n"] = count
    size = size_of(doc)
    if size:
        params["size"] = size
    if isinstance(doc.get("output_format"), str):
        params["output_format"] = doc["output_format"]
    if doc.get("webhook_url") is not None:
        params["webhook"] = True
    parsed = ImageRequest(
        "bfl",
        "images.generate" if not body.images else "images.edit",
        tuple(body.prompts),
        tuple(body.images),
        MappingProxyType(params),
    )
    return parsed, body


def _image(body: JsonBody, doc: dict[str, Any], key: str, pointer: str, role: str) -> None:
    """An image as a data URL, a link, or (anything else) raw base64."""
    value = doc[key]
    if not isinstance(value, str):
        raise MalformedRequest("an image field must be a string")
    inline = value[:5].lower() == "data:" or is_link(value)
    body.image(doc, key, pointer, "url" if inline else "base64", role)
    media = media_type_of(body.images[-1].data)
    if not inline and media != "application/octet-stream":  # as a data URL would say
        body.images[-1] = replace(body.images[-1], content_type=media)


def _looks_like_image(value: str) -> bool:
    if value[:5].lower() == "data:" or is_link(value):
        return True
    start = b64.head(value)
    return start is not None and media_type_of(start) != "application/octet-stream"
