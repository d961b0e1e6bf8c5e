"""Amazon Bedrock Runtime InvokeModel for the image models (Titan Image, Nova Canvas, Stability).

Refs: `json:<JSON pointer>` (RFC 6901) into the model's native JSON body. The body is the
model's own format; which one is read from the model id, or for an ARN that does not name the
model (provisioned throughput, application inference profiles) from the body's shape.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

from proxy.errors import MalformedRequest, UnsupportedEndpoint
from proxy.model import ImageRequest
from proxy.providers.b64body import Base64Body
from proxy.providers.base import ProviderAdapter, Publish, WireRequest, WireResponse, changes
from proxy.providers.jsonbody import MAX_DEPTH, JsonBody, child

# Regions where botocore 1.44.5's endpoints.json lists Bedrock (partitions aws, aws-us-gov),
# and the FIPS endpoints it names for bedrock-runtime.
_REGIONS = (
    "af-south-1 ap-east-2 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-south-1 ap-south-2 "
    "ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-southeast-5 ap-southeast-6 "
    "ap-southeast-7 ca-central-1 ca-west-1 eu-central-1 eu-central-2 eu-north-1 eu-south-1 "
    "eu-south-2 eu-west-1 eu-west-2 eu-west-3 il-central-1 me-central-1 me-south-1 "
    "mx-central-1 sa-east-1 us-east-1 us-east-2 us-west-1 us-west-2 us-gov-east-1 us-gov-west-1"
).split()
_FIPS = ("ca-central-1", "us-east-1", "us-east-2", "us-west-2", "us-gov-east-1", "us-gov-west-1")
# Each also on its dual-stack name (botocore's use_dualstack_endpoint: the partition's
# dualStackDnsSuffix, "api.aws" for aws and aws-us-gov).
HOSTS = tuple(
    f"{name}.{r}.{suffix}"
    for suffix in ("amazonaws.com", "api.aws")
    for name, regions in (("bedrock-runtime", _REGIONS), ("bedrock-runtime-fips", _FIPS))
    for r in regions
)

_INVOKE = re.compile(r"/model/([^/]+)/invoke")
_TASKS = frozenset(
    "TEXT_IMAGE INPAINTING OUTPAINTING IMAGE_VARIATION COLOR_GUIDED_GENERATION "
    "BACKGROUND_REMOVAL VIRTUAL_TRY_ON".split()
)
_PROMPT_TASKS = frozenset({"TEXT_IMAGE", "COLOR_GUIDED_GENERATION"})
# Base64 image fields of the Titan/Nova task objects, and of the Stability services.
_TITAN_IMAGES = {
    "image": "image",
    "images": "image",
    "conditionImage": "image",
    "referenceImage": "image",
    "sourceImage": "image",
    "maskImage": "mask",
}
_STABILITY_IMAGES = {
    "image": "image",
    "init_image": "image",
    "style_image": "image",
    "mask": "mask",
}
_SDXL_IMAGES = {"init_image": "image", "mask_image": "mask"}
# Stability's aspect ratios at about one megapixel (its own output sizes).
_ASPECT = {
    "16:9": "1344x768", "1:1": "1024x1024", "21:9": "1536x640", "2:3": "832x1216",
    "3:2": "1216x832", "4:5": "896x1088", "5:4": "1088x896", "9:16": "768x1344",
    "9:21": "640x1536",
}  # fmt: skip
_ERRORS = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    413: "ValidationException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    503: "ServiceUnavailableException",
}
_SIGNED = "the request body is SigV4-signed"


class BedrockAdapter(ProviderAdapter):
    """Reads POST /model/{modelId}/invoke for Bedrock's image models completely, or refuses it.

    Every string of the native body is returned (the task's `text` or `prompt` as the prompt,
    everything else as other text) and every base64 image. Other operations (streaming,
    Converse, async jobs) and other models are refused. A SigV4 signature covers the body, so
    such a request is reported `unrewritable` and a redaction becomes a reroute or a block.
    """

    name = "bedrock"
    default_hosts = HOSTS

    def parse(self, request: WireRequest) -> ImageRequest:
        return _read(request)[0]

    def apply(self, request: WireRequest, edited: ImageRequest) -> bytes:
        parsed, body = _read(request)
        changed = changes(parsed, edited)
        return body.write(changed) if changed else request.body

    def unrewritable(self, request: WireRequest) -> str | None:
        auth = request.headers.get("authorization", "").lstrip().upper()
        query = request.path.partition("?")[2].lower()
        if (
            auth.startswith("AWS4-")
            or "x-amz-content-sha256" in request.headers
            or "x-amz-signature=" in query
        ):
            return _SIGNED
        return None

    def can_render(self, request: ImageRequest) -> bool:
        return request.params.get("accept") in (None, "application/json", "*/*")

    def render_images(
        self, request: ImageRequest, images: Sequence[bytes], publish: Publish
    ) -> WireResponse:
        encoded = [base64.b64encode(png).decode("ascii") for png in images]
        family = request.params.get("family")
        payload: dict[str, object]
        if family == "sdxl":
            artifacts = [
                {"seed": i, "base64": b, "finishReason": "SUCCESS"} for i, b in enumerate(encoded)
            ]
            payload = {"result": "success", "artifacts": artifacts}
        elif family == "stability":
            payload = {
                "seeds": list(range(len(encoded))),
                "finish_reasons": [None] * len(encoded),
                "images": encoded,
            }
        else:
            payload = {"images": encoded, "error": None}
        body = json.dumps(payload).encode()
        return WireResponse(200, (("content-type", "application/json"),), body)

    def render_error(self, status: int, message: str, code: str, kind: str) -> WireResponse:
        # botocore's RestJSONParser takes the error code from x-amzn-errortype (before any
        # ':') and the message from the body's `message`.
        aws_code = _ERRORS.get(status, "InternalServerException")
        headers = (
            ("content-type", "application/json"),
            ("x-amzn-errortype", f"{aws_code}:"),
            ("x-pixelgate-error-code", code),
        )
        return WireResponse(status, headers, json.dumps({"message": message}).encode())


def _read(request: WireRequest) -> tuple[ImageRequest, JsonBody]:
    path = request.path.partition("?")[0]
    match = _INVOKE.fullmatch(path)
    if match is None or request.method != "POST":
        raise UnsupportedEndpoint(
            "not a Bedrock operation PixelGate inspects (POST /model/{modelId}/invoke of an "
            "image model)"
        )
    model = unquote(match.group(1))
    body = Base64Body(request.body, request.content_type)
    family = _family(model.lower(), body.doc)
    params: dict[str, object] = {"n": 1, "model": model, "family": family}
    accept = request.headers.get("accept")
    if accept is not None:
        params["accept"] = accept.split(";")[0].strip().lower()
    if family == "titan":
        operation = _titan(body, params)
    elif family == "sdxl":
        operation = _sdxl(body, params)
    else:
        operation = _stability(body, params)
    parsed = ImageRequest(
        "bedrock",
        operation,
        tuple(body.prompts),
        tuple(body.images),
        MappingProxyType(params),
    )
    return parsed, body


def _family(model: str, doc: dict[str, Any]) -> str:
    if "titan-image" in model or "nova-canvas" in model:
        return "titan"
    if "stability.stable-diffusion-xl" in model:
        return "sdxl"
    if "stability." in model:
        return "stability"
    if model.startswith("arn:") and not re.search(r"foundation-model/|\.[a-z]+\.", model):
        # An ARN that does not name its model: the body's shape says which format it is.
        if "taskType" in doc:
            return "titan"
        if "text_prompts" in doc:
            return "sdxl"
    raise UnsupportedEndpoint("this Bedrock model is not an image model PixelGate inspects")


def _walk(
    body: JsonBody,
    obj: dict[str, Any],
    pointer: str,
    images: dict[str, str],
    skip: frozenset[str] = frozenset(),
) -> None:
    """Every string under `obj` as other text, except the image fields named in `images`
    and the keys in `skip` (read by the caller)."""
    if pointer.count("/") > MAX_DEPTH:
        raise MalformedRequest("JSON body is nested too deeply")
    for key, value in obj.items():
        if key in skip:
            continue
        here = child(pointer, key)
        role = images.get(key)
        if role is not None and isinstance(value, list):
            for index in range(len(value)):
                body.image(value, index, child(here, index), "base64", role)
        elif role is not None:
            body.image(obj, key, here, "base64", role)
        elif isinstance(value, dict):
            _walk(body, value, here, images)
        else:
            body.text(obj, key, here)


def _titan(body: JsonBody, params: dict[str, object]) -> str:
    doc = body.doc
    task = doc.get("taskType")
    if not isinstance(task, str) or task not in _TASKS:
        raise MalformedRequest("taskType must be one of the documented task types")
    # The task's own `text` first: it is what the model is asked to draw.
    for key, value in doc.items():
        if key.endswith("Params") and isinstance(value, dict) and "text" in value:
            if not isinstance(value["text"], str):
                raise MalformedRequest("a task parameters text must be a string")
            body.text(value, "text", child(child("", key), "text"), "prompt")
    for key, value in doc.items():
        if key == "taskType":
            continue
        if key.endswith("Params") or key == "imageGenerationConfig":
            if not isinstance(value, dict):
                raise MalformedRequest("task parameters and imageGenerationConfig must be objects")
            skip = frozenset({"text"} if key.endswith("Params") else ())
            _walk(body, value, child("", key), _TITAN_IMAGES, skip)
        else:
            body.text(doc, key, child("", key))
    config = doc.get("imageGenerationConfig") or {}
    params["n"] = _int(config, "numberOfImages", 1)
    width, height = _int(config, "width", 0), _int(config, "height", 0)
    if width and height:
        params["size"] = f"{width}x{height}"
    if task in _PROMPT_TASKS and not any(p.role == "prompt" for p in body.prompts):
        raise MalformedRequest(f"missing prompt for {task}")
    if task not in _PROMPT_TASKS and not any(i.role == "image" for i in body.images):
        raise MalformedRequest(f"missing image for {task}")
    return task.lower()


def _stability(body: JsonBody, params: dict[str, object]) -> str:
    doc = body.doc
    if "prompt" in doc:
        if not isinstance(doc["prompt"], str):
            raise MalformedRequest("prompt must be a string")
        body.text(doc, "prompt", "/prompt", "prompt")
    _walk(body, doc, "", _STABILITY_IMAGES, frozenset({"prompt"}))
    if not body.images and not any(p.role == "prompt" for p in body.prompts):
        raise MalformedRequest("missing prompt")
    ratio = doc.get("aspect_ratio")
    if isinstance(ratio, str) and ratio in _ASPECT:
        params["size"] = _ASPECT[ratio]
    for key in ("mode", "output_format"):
        if isinstance(doc.get(key), str):
            params[key] = doc[key]
    return "image-to-image" if body.images else "text-to-image"


def _sdxl(body: JsonBody, params: dict[str, object]) -> str:
    doc = body.doc
    prompts = doc.get("text_prompts")
    if not isinstance(prompts, list) or not prompts:
        raise MalformedRequest("text_prompts must be a non-empty array")
    for index, item in enumerate(prompts):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise MalformedRequest("each of text_prompts must be an object with a text string")
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise MalformedRequest("a text_prompts weight must be a number")
        role = "prompt" if weight >= 0 else "other"
        body.text(item, "text", child(child("/text_prompts", index), "text"), role)
    if not any(p.role == "prompt" for p in body.prompts):
        raise MalformedRequest("missing prompt")
    _walk(body, doc, "", _SDXL_IMAGES, frozenset({"text_prompts"}))
    params["n"] = _int(doc, "samples", 1)
    width, height = _int(doc, "width", 0), _int(doc, "height", 0)
    if width and height:
        params["size"] = f"{width}x{height}"
    return "image-to-image" if body.images else "text-to-image"


def _int(container: Any, key: str, default: int) -> int:
    value = container.get(key, default) if isinstance(container, dict) else default
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedRequest(f"{key} must be an integer")
    return value
