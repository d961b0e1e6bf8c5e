"""Stability AI's REST API (api.stability.ai) as an adapter: v2beta Stable Image and v1 generation.

Reads, per the API reference at platform.stability.ai/docs/api-reference:
- POST /v2beta/stable-image/generate/{ultra,core,sd3}, /edit/*, /control/*, /upscale/*
  (multipart/form-data; `Accept: image/*` answers image bytes, `application/json` base64 JSON);
- POST /v1/generation/{engine_id}/text-to-image (JSON), /image-to-image and
  /image-to-image/masking (multipart with `text_prompts[i][text|weight]` fields).
The async endpoints (upscale/creative, replace-background-and-relight) answer a generation id
that the client polls at GET /v2beta/results/{id}: a reroute forges the id and the proxy
serves the result at that exact path.
"""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from proxy.errors import MalformedRequest, UnsupportedEndpoint
from proxy.model import ImageRequest
from proxy.providers import multipart
from proxy.providers.base import ProviderAdapter, Publish, WireRequest, WireResponse, changes
from proxy.providers.jsonbody import JsonBody
from proxy.providers.stability_read import (
    ASPECT_RATIOS,
    Reading,
    check_values,
    read_form,
    read_v1_json,
)

# v2beta endpoint -> (prompt required, image fields required (the first is the one the local
# model starts from), answers asynchronously with a generation id).
_V2: dict[str, tuple[bool, tuple[str, ...], bool]] = {
    "generate/ultra": (True, (), False),
    "generate/core": (True, (), False),
    "generate/sd3": (True, (), False),
    "edit/inpaint": (True, ("image",), False),
    "edit/outpaint": (False, ("image",), False),
    "edit/erase": (False, ("image",), False),
    "edit/search-and-replace": (True, ("image",), False),
    "edit/search-and-recolor": (True, ("image",), False),
    "edit/remove-background": (False, ("image",), False),
    "edit/replace-background-and-relight": (False, ("subject_image",), True),
    "control/sketch": (True, ("image",), False),
    "control/structure": (True, ("image",), False),
    "control/style": (True, ("image",), False),
    "control/style-transfer": (False, ("init_image", "style_image"), False),
    "upscale/fast": (False, ("image",), False),
    "upscale/conservative": (True, ("image",), False),
    "upscale/creative": (True, ("image",), True),
}
_V2_PREFIX = "/v2beta/stable-image/"
_V1_PATH = re.compile(
    r"/v1/generation/([a-zA-Z0-9][a-zA-Z0-9._-]{0,99})/"
    r"(text-to-image|image-to-image|image-to-image/masking)"
)
_V1_IMAGES = {"text-to-image": (), "image-to-image": ("init_image",)}
_MEDIA = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
RESULTS_PATH = "/v2beta/results/"


class StabilityAdapter(ProviderAdapter):
    """Reads Stability's v2beta Stable Image and v1 generation requests completely, or refuses.

    Every prompt, negative prompt and other written field (search_prompt, select_prompt,
    style_preset, ...) is returned as text, every uploaded image and mask as an image.
    Repeated fields, unknown file parts with content, text where a number belongs and any
    other path on the host are refused. A reroute answers in the form the request asked
    for (Accept and output_format; jpeg and webp are converted with Pillow).
    """

    name = "stability"
    default_hosts: tuple[str, ...] = ("api.stability.ai",)

    def parse(self, request: WireRequest) -> ImageRequest:
        return _request(self.name, _read(request), request.headers)

    def apply(self, request: WireRequest, edited: ImageRequest) -> bytes:
        reading = _read(request)
        changed = changes(_request(self.name, reading, request.headers), edited)
        if not changed:
            return request.body
        if reading.form is not None:
            return reading.form.write(changed)
        assert reading.json is not None
        return reading.json.write(changed)

    def can_render(self, request: ImageRequest) -> bool:
        # v1 refuses more than one sample when it is to answer with bare PNG bytes.
        p = request.params
        return not (p.get("api") == "v1" and p.get("accept") == "image" and p.get("n") != 1)

    def render_images(
        self, request: ImageRequest, images: Sequence[bytes], publish: Publish
    ) -> WireResponse:
        p = request.params
        given = p.get("seed")
        seed = given if isinstance(given, int) and given > 0 else None
        if p.get("api") == "v1":
            return _render_v1(p, images, seed)
        fmt = str(p.get("output_format", "png"))
        data, media = _encode(images[0], fmt), _MEDIA[fmt]
        seed = seed or secrets.randbelow(4294967294) + 1
        if p.get("accept") == "json":
            doc = {"image": _b64(data), "finish_reason": "SUCCESS", "seed": seed}
            body, headers = (
                json.dumps(doc).encode(),
                {"content-type": f"application/json; type={media}"},
            )
        else:
            body = data
            headers = {"content-type": media, "finish-reason": "SUCCESS", "seed": str(seed)}
        if p.get("async"):
            # The id is 64 hex characters (GenerationID); the client polls results/{id}.
            job = secrets.token_hex(32)
            publish(body, headers["content-type"], path=RESULTS_PATH + job)
            return _json(200, {"id": job})
        return WireResponse(200, tuple(headers.items()), body)

    def render_error(self, status: int, message: str, code: str, kind: str) -> WireResponse:
        # v2beta clients read `errors` (a list of messages), v1 clients `message`; one
        # body carries both, since an error is rendered without the request at hand.
        doc = {"id": uuid.uuid4().hex, "name": code, "errors": [message], "message": message}
        return _json(status, doc)


def _read(request: WireRequest) -> Reading:
    path, _, query = request.path.partition("?")
    refused = UnsupportedEndpoint(
        "not a Stability image endpoint PixelGate inspects (POST /v2beta/stable-image/"
        "generate|edit|control|upscale/..., POST /v1/generation/{engine_id}/text-to-image, "
        "/image-to-image or /image-to-image/masking)"
    )
    if request.method != "POST" or query:
        raise refused
    media, _ = multipart.header_params(request.content_type)
    v1 = _V1_PATH.fullmatch(path)
    if path.startswith(_V2_PREFIX) and path[len(_V2_PREFIX) :] in _V2:
        reading = Reading(path[len(_V2_PREFIX) :].replace("/", "."))
    elif v1 is not None:
        reading = Reading("v1." + v1.group(2).replace("image-to-image/", ""))
        reading.values["engine"] = v1.group(1)
    else:
        raise refused
    if reading.operation == "v1.text-to-image":
        if media != "application/json":
            raise MalformedRequest("expected a JSON body for v1.text-to-image")
        reading.json = JsonBody(request.body, request.content_type)
        read_v1_json(reading, reading.json)
    elif media == "multipart/form-data":
        reading.form = multipart.parse(request.body, request.content_type)
        read_form(reading, reading.form, v1=v1 is not None)
    else:
        raise MalformedRequest(f"expected a multipart/form-data body for {reading.operation}")
    check_values(reading.values)
    return reading


def _request(provider: str, reading: Reading, headers: Mapping[str, str]) -> ImageRequest:
    operation, values = reading.operation, reading.values
    v1 = operation.startswith("v1.")
    if v1:
        needs_prompt, required, is_async = (
            True,
            _V1_IMAGES.get(operation[3:], ("init_image",)),
            False,
        )
    else:
        needs_prompt, required, is_async = _V2[operation.replace(".", "/", 1)]
    if needs_prompt and not any(p.role == "prompt" and p.text for p in reading.prompts):
        raise MalformedRequest(f"missing prompt for {operation}")
    for name in required:
        if name not in reading.image_fields:
            raise MalformedRequest(f"missing {name} for {operation}")
    if reading.image_fields.count("mask") + reading.image_fields.count("mask_image") > 1:
        raise MalformedRequest("more than one mask")
    # The image the local model starts from goes first.
    order = sorted(
        range(len(reading.images)), key=lambda i: reading.image_fields[i] != (required or ("",))[0]
    )
    accept = headers.get("accept", "").lower()
    params: dict[str, object] = {"api": "v1" if v1 else "v2beta", "n": 1}
    if v1:
        params["accept"] = "image" if "image/png" in accept and "json" not in accept else "json"
        params["model"] = values["engine"]
        samples = values.get("samples", 1)
        params["n"] = samples if isinstance(samples, int) and samples >= 1 else 1
        width, height = values.get("width"), values.get("height")
        if isinstance(width, int) and isinstance(height, int):
            params["size"] = f"{width}x{height}"
    else:
        params["accept"] = "json" if "application/json" in accept else "image"
        params["output_format"] = values.get("output_format", "png")
        params["async"] = is_async
        ratio = values.get("aspect_ratio")
        if isinstance(ratio, str):
            params["size"] = ASPECT_RATIOS[ratio]
        elif operation.startswith("generate.") and not reading.images:
            params["size"] = ASPECT_RATIOS["1:1"]
        if "model" in values:
            params["model"] = values["model"]
    seed = values.get("seed")
    if isinstance(seed, int) and 0 < seed <= 4294967294:
        params["seed"] = seed
    return ImageRequest(
        provider,
        operation,
        tuple(reading.prompts),
        tuple(reading.images[i] for i in order),
        MappingProxyType(params),
    )


def _render_v1(p: Mapping[str, object], images: Sequence[bytes], seed: int | None) -> WireResponse:
    seeds = [seed + i if seed else secrets.randbelow(4294967294) + 1 for i in range(len(images))]
    if p.get("accept") == "image":
        headers = (
            ("content-type", "image/png"),
            ("finish-reason", "SUCCESS"),
            ("seed", str(seeds[0])),
        )
        return WireResponse(200, headers, images[0])
    artifacts = [
        {"base64": _b64(png), "seed": s, "finishReason": "SUCCESS"}
        for png, s in zip(images, seeds, strict=True)
    ]
    return _json(200, {"artifacts": artifacts})


def _encode(png: bytes, fmt: str) -> bytes:
    """The PNG as the output_format asked; Pillow only when it is not PNG."""
    if fmt == "png":
        return png
    from PIL import Image  # lazily: only a rerouted jpeg/webp request needs it

    with Image.open(io.BytesIO(png)) as image:
        out = io.BytesIO()
        image.convert("RGB").save(out, format=fmt.upper())
    return out.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _json(status: int, doc: object) -> WireResponse:
    return WireResponse(status, (("content-type", "application/json"),), json.dumps(doc).encode())
