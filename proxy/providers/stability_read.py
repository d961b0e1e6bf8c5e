"""Reading Stability AI request bodies: v2beta multipart forms, v1 multipart and v1 JSON.

Refs: `part:<index>` into a multipart body, `json:<JSON pointer>` into a v1 JSON body.
Field names follow Stability's REST API reference (platform.stability.ai/docs/api-reference,
the OpenAPI documents served at api.stability.ai/v1 and /v2beta).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from proxy.errors import MalformedRequest
from proxy.model import ImagePart, TextPart
from proxy.providers import multipart
from proxy.providers.jsonbody import JsonBody, child

# Every file field the v1 and v2beta image endpoints take, and its role.
IMAGE_FIELDS = {
    "image": "image",
    "init_image": "image",
    "subject_image": "image",
    "style_image": "image",
    "background_reference": "image",
    "light_reference": "image",
    "mask": "mask",
    "mask_image": "mask",
}
# What the model is asked to draw. Everything else written as text is "other" text.
PROMPT_FIELDS = frozenset({"prompt", "background_prompt"})
# Numbers the API validates: kept out of text only when they read as numbers.
NUMBER_FIELDS = frozenset(
    {
        "seed", "strength", "cfg_scale", "grow_mask", "left", "right", "up", "down",
        "creativity", "control_strength", "fidelity", "style_strength",
        "composition_fidelity", "change_strength", "light_source_strength",
        "preserve_original_subject", "original_background_depth",
        "samples", "steps", "width", "height", "image_strength",
        "step_schedule_start", "step_schedule_end",
    }
)  # fmt: skip
INTEGER_FIELDS = frozenset({"samples", "steps", "width", "height", "seed"})
ASPECT_RATIOS = {
    "1:1": "1024x1024",
    "16:9": "1344x768",
    "9:16": "768x1344",
    "21:9": "1536x640",
    "9:21": "640x1536",
    "3:2": "1216x832",
    "2:3": "832x1216",
    "5:4": "1152x896",
    "4:5": "896x1152",
}
OUTPUT_FORMATS = frozenset({"png", "jpeg", "webp"})
_NUMBER = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,12})?")
_MODEL = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_V1_PROMPT = re.compile(r"text_prompts\[([0-9]{1,4})\]\[(text|weight)\]")


@dataclass
class Reading:
    """What a body holds, by ref, before the endpoint's own rules are checked."""

    operation: str
    prompts: list[TextPart] = field(default_factory=list)
    images: list[ImagePart] = field(default_factory=list)
    image_fields: list[str] = field(default_factory=list)
    values: dict[str, object] = field(default_factory=dict)
    form: multipart.Multipart | None = None
    json: JsonBody | None = None


def read_form(reading: Reading, form: multipart.Multipart, v1: bool) -> None:
    """Every part of a form: images by field name, text as text, numbers and enumerations
    the API validates as values. An unknown file part with content is refused."""
    seen: set[str] = set()
    weighted: dict[str, dict[str, tuple[str, str]]] = {}
    for index, part in enumerate(form.parts):
        ref = multipart.ref_of(index)
        if part.name in seen:  # upstream might read the other copy
            raise MalformedRequest(
                f"duplicate {'prompt' if part.name == 'prompt' else 'form'} field"
            )
        seen.add(part.name)
        role = IMAGE_FIELDS.get(part.name)
        if role is not None:
            if not part.body:
                raise MalformedRequest("an image field is empty")
            reading.images.append(ImagePart(ref, part.body, part.filename, part.content_type, role))
            reading.image_fields.append(part.name)
            continue
        if part.filename is not None:
            if part.body:
                raise MalformedRequest("form has a file part that is not an image or a mask")
            continue  # `files={"none": ""}` in Stability's samples: forces multipart, holds nothing
        text = multipart.text_of(part)
        match = _V1_PROMPT.fullmatch(part.name) if v1 else None
        if match is not None:
            weighted.setdefault(match.group(1), {})[match.group(2)] = (ref, text)
        elif part.name in NUMBER_FIELDS:
            reading.values[part.name] = form_number(part.name, text)
        elif part.name in ("output_format", "aspect_ratio", "model"):
            reading.values[part.name] = text
        else:
            role = "prompt" if part.name in PROMPT_FIELDS else "other"
            reading.prompts.append(TextPart(ref, text, role))
    for entry in weighted.values():
        if "text" not in entry:
            raise MalformedRequest("a text_prompts entry has no text")
        weight = form_number("weight", entry["weight"][1]) if "weight" in entry else 1.0
        ref, text = entry["text"]
        reading.prompts.append(TextPart(ref, text, "other" if weight < 0 else "prompt"))
    reading.prompts.sort(key=lambda p: int(p.ref[5:]))


def form_number(name: str, text: str) -> float | int:
    if not _NUMBER.fullmatch(text):
        raise MalformedRequest(f"{name} must be a number")
    if name in INTEGER_FIELDS:
        if "." in text or text.startswith("-"):
            raise MalformedRequest(f"{name} must be a non-negative integer")
        return int(text)
    return float(text)


def read_v1_json(reading: Reading, body: JsonBody) -> None:
    """A v1 text-to-image body: `text_prompts` by weight, numbers as values, every other
    string anywhere (style_preset, sampler, extras, ...) as "other" text."""
    doc = body.doc
    for key, value in doc.items():
        pointer = child("", key)
        if key == "text_prompts":
            if not isinstance(value, list) or not value:
                raise MalformedRequest("text_prompts must be a non-empty array")
            for index, item in enumerate(value):
                _json_prompt(body, item, child(pointer, index))
        elif key in NUMBER_FIELDS:
            reading.values[key] = json_number(key, value)
        else:
            body.text(doc, key, pointer, "other")
    reading.prompts = body.prompts


def json_number(name: str, value: object) -> float | int:
    # bool is an int in Python, but `"samples": true` is not a count.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedRequest(f"{name} must be a number")
    if name in INTEGER_FIELDS and (not isinstance(value, int) or value < 0):
        raise MalformedRequest(f"{name} must be a non-negative integer")
    return value


def _json_prompt(body: JsonBody, item: object, pointer: str) -> None:
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise MalformedRequest("each text_prompts entry must be an object with a string text")
    weight = json_number("weight", item["weight"]) if "weight" in item else 1.0
    body.text(item, "text", child(pointer, "text"), "other" if weight < 0 else "prompt")
    for key in item:
        if key not in ("text", "weight"):
            body.text(item, key, child(pointer, key), "other")


def check_values(values: dict[str, object]) -> None:
    """Enumerations the renderer relies on must hold one of their documented values."""
    if values.get("output_format", "png") not in OUTPUT_FORMATS:
        raise MalformedRequest("output_format must be one of png, jpeg, webp")
    if "aspect_ratio" in values and values["aspect_ratio"] not in ASPECT_RATIOS:
        raise MalformedRequest("aspect_ratio is not one of the documented ratios")
    model = values.get("model")
    if model is not None and not (isinstance(model, str) and _MODEL.fullmatch(model)):
        raise MalformedRequest("model is not a model name")
