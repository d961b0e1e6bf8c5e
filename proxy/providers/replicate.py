"""Replicate predictions as an adapter.

Refs: `json:<JSON pointer>` (RFC 6901) into the JSON body. A forged answer is a finished
prediction; the proxy also serves it at `/v1/predictions/<id>`, where the SDK polls.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from types import MappingProxyType
from typing import Any

from proxy.errors import MalformedRequest, UnsupportedEndpoint
from proxy.model import ImagePart, ImageRequest, TextPart
from proxy.providers import multipart
from proxy.providers.b64body import Base64Body
from proxy.providers.base import ProviderAdapter, Publish, WireRequest, WireResponse, changes
from proxy.providers.jsonbody import JsonBody, child, is_link
from proxy.providers.sizes import size_of

_SEGMENT = r"([A-Za-z0-9][A-Za-z0-9._-]{0,127})"
_CREATE = (
    (re.compile(r"/v1/predictions"), "predictions.create"),
    (re.compile(rf"/v1/models/{_SEGMENT}/{_SEGMENT}/predictions"), "models.predictions.create"),
    (
        re.compile(rf"/v1/deployments/{_SEGMENT}/{_SEGMENT}/predictions"),
        "deployments.predictions.create",
    ),
)
_CANCEL = re.compile(rf"/v1/predictions/{_SEGMENT}/cancel")
_FILES = "/v1/files"
# A version id, or "owner/name:version" as the HTTP API also accepts.
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,200}(:[A-Za-z0-9]{1,128})?")
# An input whose name says it holds an image: a link in it is an image to fetch.
_IMAGE_KEY = re.compile(r"image|img|mask|photo|picture", re.IGNORECASE)
_COUNT_KEYS = ("num_outputs", "num_images", "number_of_images")
# Official models whose output is an array even when no count is asked for.
_LIST_MODELS = frozenset({"black-forest-labs/flux-schnell", "black-forest-labs/flux-dev"})
_JSON = (("content-type", "application/json"),)


class ReplicateAdapter(ProviderAdapter):
    """Reads POST /v1/predictions, /v1/models/{o}/{n}/predictions and
    /v1/deployments/{o}/{n}/predictions completely, or refuses them.

    Every string in `input` is returned: `prompt` as the prompt, any data URI (and any link
    under an input named like an image) as an image, everything else as other text, and so
    is every other top-level string (`webhook`, unknown fields). A file upload (POST
    /v1/files, how the SDK sends file inputs by default) is read as one image; cancelling
    a prediction (an empty POST) as a request with no content.
    """

    name = "replicate"
    default_hosts = ("api.replicate.com",)

    def parse(self, request: WireRequest) -> ImageRequest:
        return _read(request)[0]

    def apply(self, request: WireRequest, edited: ImageRequest) -> bytes:
        parsed, body = _read(request)
        changed = changes(parsed, edited)
        if not changed or body is None:
            return request.body
        return body.write(changed)  # a JsonBody or a Multipart: both write refs back

    def can_render(self, request: ImageRequest) -> bool:
        # Only a prediction has images to answer with; an upload or a cancel has none.
        return request.operation not in ("predictions.cancel", "files.create")

    def render_images(
        self, request: ImageRequest, images: Sequence[bytes], publish: Publish
    ) -> WireResponse:
        prediction_id = "pg" + secrets.token_hex(12)
        path = f"/v1/predictions/{prediction_id}"
        # Learn the URL the proxy serves this path at (the doc names it), then store the doc.
        get_url = publish(b"{}", "application/json", path)
        links = [publish(png) for png in images]
        urls = {"get": get_url, "cancel": f"{get_url}/cancel", "web": get_url}
        params = request.params
        output: object = links if params.get("output_list") or len(links) != 1 else links[0]
        if params.get("stream"):
            urls["stream"] = publish(_events(links), "text/event-stream")
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        prediction = {
            "id": prediction_id,
            "model": params.get("model", ""),
            "version": params.get("version", "hidden"),
            # The input is not echoed: the proxy keeps no user content in memory.
            "input": {},
            "logs": "",
            "output": output,
            "data_removed": False,
            "error": None,
            "status": "succeeded",
            "source": "api",
            "created_at": now,
            "started_at": now,
            "completed_at": now,
            "urls": urls,
            "metrics": {"predict_time": 0.0, "total_time": 0.0, "image_count": len(links)},
        }
        body = json.dumps(prediction).encode()
        publish(body, "application/json", path)
        return WireResponse(201, _JSON, body)

    def render_error(self, status: int, message: str, code: str, kind: str) -> WireResponse:
        # RFC 7807 problem details: the SDK's ReplicateError.from_response reads title,
        # detail, status, type and instance; `code` is an extension member for other clients.
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = "Error"
        problem = {"title": title, "detail": message, "status": status, "code": code}
        headers = (("content-type", "application/problem+json"),)
        return WireResponse(status, headers, json.dumps(problem).encode())


def _events(links: list[str]) -> bytes:
    """The server-sent events a streamed prediction gives: each output, then done."""
    lines = [f"event: output\nid: {i}\ndata: {link}\n\n" for i, link in enumerate(links)]
    lines.append(f"event: done\nid: {len(links)}\ndata: {{}}\n\n")
    return "".join(lines).encode()


def _route(request: WireRequest) -> tuple[str, str | None]:
    path = request.path.partition("?")[0]
    path = path[:-1] if path.endswith("/") and len(path) > 1 else path
    if request.method == "POST":
        for pattern, operation in _CREATE:
            match = pattern.fullmatch(path)
            if match:
                model = "/".join(match.groups()) if match.groups() else None
                return operation, model
        if _CANCEL.fullmatch(path):
            return "predictions.cancel", None
        if path == _FILES:
            return "files.create", None
    # Neither method nor path is quoted: the reason goes to the audit.
    raise UnsupportedEndpoint(
        "this method or path is not a Replicate endpoint PixelGate inspects (POST "
        "/v1/predictions, /v1/models/{owner}/{name}/predictions, "
        "/v1/deployments/{owner}/{name}/predictions or /v1/files)"
    )


def _read(request: WireRequest) -> tuple[ImageRequest, JsonBody | multipart.Multipart | None]:
    operation, model = _route(request)
    if operation == "predictions.cancel":
        if request.body.strip() not in (b"", b"{}"):
            raise MalformedRequest("a cancel request takes no body")
        return ImageRequest("replicate", operation), None
    if operation == "files.create":
        return _read_upload(request)
    body = Base64Body(request.body, request.content_type or "application/json")
    doc = body.doc
    params: dict[str, object] = {"n": 1}
    if model is not None:
        params["model"] = model
    for key in doc:
        pointer = child("", key)
        if key == "input":
            if not isinstance(doc[key], dict):
                raise MalformedRequest("input must be an object")
            _read_input(body, doc[key], pointer, params)
        elif key == "version":
            version = doc[key]
            if not isinstance(version, str) or not _VERSION.fullmatch(version):
                raise MalformedRequest("version must be a model version id")
            params["version"] = version
        elif key == "stream":
            if not isinstance(doc[key], bool):
                raise MalformedRequest("stream must be a boolean")
            params["stream"] = doc[key]
        else:
            body.text(doc, key, pointer, "other")
    if "input" not in doc:
        raise MalformedRequest(f"missing input for {operation}")
    if operation == "predictions.create" and "version" not in params:
        raise MalformedRequest("missing version for predictions.create")
    if "version" in params and "model" not in params:
        params["output_list"] = True  # community models (cog) mostly answer with a list
    elif model in _LIST_MODELS:
        params["output_list"] = True
    request_ = ImageRequest(
        "replicate",
        operation,
        tuple(body.prompts),
        tuple(body.images),
        MappingProxyType(params),
    )
    return request_, body


def _read_upload(request: WireRequest) -> tuple[ImageRequest, multipart.Multipart]:
    """POST /v1/files: one `content` file (an input a prediction names by its URL later)."""
    if multipart.header_params(request.content_type)[0] != "multipart/form-data":
        raise MalformedRequest("expected a multipart/form-data body for files.create")
    form = multipart.parse(request.body, request.content_type)
    prompts: list[TextPart] = []
    images: list[ImagePart] = []
    if len({part.name for part in form.parts}) != len(form.parts):
        raise MalformedRequest("duplicate form field")
    for index, part in enumerate(form.parts):
        ref = multipart.ref_of(index)
        if part.name == "content":
            images.append(ImagePart(ref, part.body, part.filename, part.content_type))
        elif part.filename is not None:
            raise MalformedRequest("form has a file part other than content")
        else:
            prompts.append(TextPart(ref, multipart.text_of(part), "other"))
    if len(images) != 1:
        raise MalformedRequest("missing content for files.create")
    upload = ImageRequest("replicate", "files.create", tuple(prompts), tuple(images))
    return upload, form


def _read_input(
    body: JsonBody, inputs: dict[str, Any], pointer: str, params: dict[str, object]
) -> None:
    for key, value in inputs.items():
        at = child(pointer, key)
        if key == "prompt":
            if not isinstance(value, str):
                raise MalformedRequest("prompt must be a string")
            # The main prompt goes first among prompts, wherever it sits in the body.
            body.text(inputs, key, at, "prompt")
            body.prompts.insert(0, body.prompts.pop())
        else:
            _value(body, inputs, key, at, _image_role(key))
    count = next((inputs[k] for k in _COUNT_KEYS if k in inputs), 1)
    if type(count) is not int:
        raise MalformedRequest("num_outputs must be an integer")
    params["n"] = count
    if any(k in inputs for k in _COUNT_KEYS):
        params["output_list"] = True
    size = size_of(inputs)
    if size:
        params["size"] = size


def _value(body: JsonBody, container: Any, key: Any, pointer: str, role: str | None) -> None:
    """Strings as text, except data URIs anywhere and links under image-named inputs."""
    value = container[key]
    if isinstance(value, str):
        if value[:5].lower() == "data:" or (role is not None and is_link(value)):
            body.image(container, key, pointer, "url", role or "image")
        else:
            body.text(container, key, pointer, "other")
    elif isinstance(value, list):
        for index in range(len(value)):
            _value(body, value, index, child(pointer, index), role)
    elif isinstance(value, dict):
        for name in value:
            _value(body, value, name, child(pointer, name), role or _image_role(name))


def _image_role(key: str) -> str | None:
    if not _IMAGE_KEY.search(key):
        return None
    return "mask" if "mask" in key.lower() else "image"
