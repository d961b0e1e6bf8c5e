"""Google Gemini (generateContent) and Imagen (predict), on the Gemini API and on Vertex AI.

Refs are `json:<JSON pointer>` (RFC 6901) into the JSON body.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl

from proxy.errors import MalformedRequest, UnsupportedEndpoint
from proxy.model import ImageRequest, TextPart
from proxy.providers import google_render
from proxy.providers.b64body import Base64Body
from proxy.providers.base import ProviderAdapter, Publish, WireRequest, WireResponse, changes
from proxy.providers.google_read import Walker, spellings
from proxy.providers.google_read import field as get
from proxy.providers.jsonbody import JsonBody, child, media_type_of
from proxy.providers.sizes import aspect_size

HOSTS = (
    "generativelanguage.googleapis.com",
    "aiplatform.googleapis.com",
    "aiplatform.eu.rep.googleapis.com",
    "aiplatform.us.rep.googleapis.com",
    "*-aiplatform.googleapis.com",  # every region's Vertex endpoint
    # The mTLS endpoints google-genai switches to when a client certificate is configured
    # (its to_mtls_url: "x.googleapis.com" -> "x.mtls.googleapis.com"; no ".rep" ones).
    "generativelanguage.mtls.googleapis.com",
    "aiplatform.mtls.googleapis.com",
    "*-aiplatform.mtls.googleapis.com",
)
_PATH = re.compile(
    r"/(?:v1|v1beta|v1beta1|v1alpha)/(?:projects/[^/]+/locations/[^/]+/)?"
    r"(?:(?:publishers/[^/]+/)?models|tunedModels|endpoints)/(?P<model>[^/:]+):(?P<method>\w+)"
)
_OPERATIONS = {
    "generateContent": "gemini.generate_content",
    "streamGenerateContent": "gemini.stream_generate_content",
    "countTokens": "gemini.count_tokens",
    "predict": "imagen.generate",
}
_MODEL = re.compile(r"[\w.@-]{1,128}")
_RATIO = re.compile(r"(\d{1,3}):(\d{1,3})")


@dataclass
class _Reading:
    operation: str
    body: JsonBody
    walker: Walker
    prompt_refs: list[str] = field(default_factory=list)
    params: dict[str, object] = field(default_factory=dict)


class GoogleAdapter(ProviderAdapter):
    """Reads POST .../models/{model}:generateContent, :streamGenerateContent, :countTokens and
    :predict (Imagen) on the Gemini API and Vertex AI completely, or refuses it.

    Every string in the body is returned as text, except enumerations in generationConfig and
    Imagen parameters; the text of the last user turn (or the Imagen prompt) comes first, as
    the prompt. Every image is returned wherever it sits (inlineData, bytesBase64Encoded);
    images by http(s) link (fileData) are returned for the gate to fetch, other file
    references and non-image media are refused as uninspectable.
    """

    name = "google"
    default_hosts = HOSTS

    def parse(self, request: WireRequest) -> ImageRequest:
        return _request(self.name, _read(request))

    def apply(self, request: WireRequest, edited: ImageRequest) -> bytes:
        reading = _read(request)
        changed = changes(_request(self.name, reading), edited)
        if not changed:
            return request.body
        for ref in [r for r in changed if r in reading.walker.files]:
            # A fileUri cannot carry bytes: the redacted image goes on inline in its place.
            part, key = reading.walker.files[ref]
            data = changed.pop(ref)
            assert isinstance(data, bytes)
            inline = {"mimeType": media_type_of(data), "data": base64.b64encode(data).decode()}
            items = list(part.items())
            part.clear()
            part.update((("inlineData", inline) if k == key else (k, v)) for k, v in items)
        return reading.body.write(changed)

    def render_images(
        self, request: ImageRequest, images: Sequence[bytes], publish: Publish
    ) -> WireResponse:
        return google_render.render_images(request, images)

    def can_render(self, request: ImageRequest) -> bool:
        return google_render.can_render(request)

    def render_error(self, status: int, message: str, code: str, kind: str) -> WireResponse:
        return google_render.render_error(status, message, code, kind)


def _read(request: WireRequest) -> _Reading:
    path, _, query = request.path.partition("?")
    match = _PATH.fullmatch(path)
    if match is None or request.method != "POST" or match["method"] not in _OPERATIONS:
        # Neither method nor path is quoted: the reason goes to the audit.
        raise UnsupportedEndpoint(
            "this method or path is not a Google endpoint PixelGate inspects "
            "(POST .../models/{model}:generateContent, :streamGenerateContent, :countTokens "
            "or :predict)"
        )
    if not _MODEL.fullmatch(match["model"]):
        raise MalformedRequest("the model name in the path is malformed")
    body = Base64Body(request.body, request.content_type)
    reading = _Reading(_OPERATIONS[match["method"]], body, Walker(body))
    reading.params.update(model=match["model"], format=_format(match["method"], query))
    if match["method"] == "predict":
        _predict(reading)
        return reading
    inner, pointer = body.doc, ""
    if match["method"] == "countTokens" and "contents" not in body.doc:
        inner = get(body.doc, "generateContentRequest")  # the Gemini API's other form
        if not isinstance(inner, dict):
            raise MalformedRequest("missing contents")
        pointer = child("", spellings(body.doc)["generateContentRequest"])
    _generate(reading, inner, pointer)
    reading.walker.walk_all()
    return reading


def _format(method: str, query: str) -> str:
    """How the answer is framed: "json", "sse", "json_array", or "other" (not renderable)."""
    alts = [v for k, v in parse_qsl(query, keep_blank_values=True) if k in ("alt", "$alt")]
    alt = alts[-1].partition(";")[0].lower() if alts else "json"
    if alt not in ("json", "sse") or len(alts) > 1:
        return "other"
    if method == "streamGenerateContent":
        return "sse" if alt == "sse" else "json_array"
    return alt if alt == "json" else "other"


def _generate(reading: _Reading, doc: dict[str, Any], pointer: str) -> None:
    contents = get(doc, "contents")
    if not isinstance(contents, list) or not contents:
        raise MalformedRequest("missing contents")
    for content in contents:
        if not isinstance(content, dict) or not isinstance(get(content, "parts"), list):
            raise MalformedRequest("each of contents must be an object with a parts array")
        role = get(content, "role")
        if role is not None and not isinstance(role, str):
            raise MalformedRequest("a content role must be a string")
        for part in get(content, "parts"):
            if not isinstance(part, dict):
                raise MalformedRequest("each part must be an object")
            if "text" in part and not isinstance(part["text"], str):
                raise MalformedRequest("a part's text must be a string")
    user = [i for i, c in enumerate(contents) if get(c, "role") in (None, "", "user")]
    if user:  # the last user turn is what the model is asked to draw now
        parts_key = spellings(contents[user[-1]])["parts"]
        turn = child(child(child(pointer, "contents"), user[-1]), parts_key)
        for index, part in enumerate(contents[user[-1]][parts_key]):
            if "text" in part:
                reading.prompt_refs.append("json:" + child(child(turn, index), "text"))
    config = get(doc, "generationConfig")
    if config is not None and not isinstance(config, dict):
        raise MalformedRequest("generationConfig must be an object")
    if config is not None:
        reading.walker.config.add(child(pointer, spellings(doc)["generationConfig"]))
    _generation_params(reading, config or {})


def _generation_params(reading: _Reading, config: dict[str, Any]) -> None:
    reading.params["n"] = _count(get(config, "candidateCount"), "candidateCount")
    image = get(config, "imageConfig")
    if image is not None and not isinstance(image, dict):
        raise MalformedRequest("imageConfig must be an object")
    _size(reading, get(image or {}, "aspectRatio"))
    modalities = get(config, "responseModalities")
    if modalities is not None and not (
        isinstance(modalities, list) and all(isinstance(m, str) for m in modalities)
    ):
        raise MalformedRequest("responseModalities must be an array of strings")
    model = str(reading.params["model"]).lower()
    reading.params["image_output"] = (
        any(m.upper() == "IMAGE" for m in modalities) if modalities else "image" in model
    )


def _predict(reading: _Reading) -> None:
    doc = reading.body.doc
    instances, parameters = get(doc, "instances"), get(doc, "parameters")
    if not isinstance(instances, list) or not instances:
        raise MalformedRequest("predict needs a non-empty instances array")
    if parameters is not None and not isinstance(parameters, dict):
        raise MalformedRequest("parameters must be an object")
    for index, instance in enumerate(instances):
        if not isinstance(instance, dict):
            raise MalformedRequest("each instance must be an object")
        key = spellings(instance).get("prompt")
        if key is not None and not isinstance(instance[key], str):
            raise MalformedRequest("prompt must be a string")
        if key is not None:
            reading.prompt_refs.append("json:" + child(child("/instances", index), key))
    if parameters is not None:
        reading.walker.config.add(child("", spellings(doc)["parameters"]))
    reading.walker.walk_all()
    if not reading.prompt_refs and not reading.body.images:
        raise UnsupportedEndpoint(
            "a predict request without prompt or image is not an Imagen request PixelGate inspects"
        )
    if reading.body.images:
        reading.operation = "imagen.edit"
    parameters = parameters or {}
    reading.params["n"] = _count(get(parameters, "sampleCount"), "sampleCount")
    _size(reading, get(parameters, "aspectRatio"))
    reading.params["stored"] = get(parameters, "storageUri") is not None


def _count(value: object, name: str) -> int:
    if value is None:
        return 1
    if type(value) is not int or value < 1:  # bool is an int in Python
        raise MalformedRequest(f"{name} must be a positive integer")
    return value


def _size(reading: _Reading, ratio: object) -> None:
    """An aspect ratio as the size nearest one megapixel, in multiples of 64."""
    if ratio is None:
        return
    size = aspect_size(ratio) if isinstance(ratio, str) and _RATIO.fullmatch(ratio) else None
    if size is None:
        raise MalformedRequest("aspectRatio must be a ratio such as 16:9")
    reading.params["size"] = size


def _request(provider: str, reading: _Reading) -> ImageRequest:
    prompts: list[TextPart] = []
    others: list[TextPart] = []
    wanted = set(reading.prompt_refs)
    for part in reading.body.prompts:
        if part.ref in wanted:
            prompts.append(TextPart(part.ref, part.text, "prompt"))
        else:
            others.append(part)
    return ImageRequest(
        provider,
        reading.operation,
        (*prompts, *others),
        tuple(reading.body.images),
        MappingProxyType(dict(reading.params)),
    )
