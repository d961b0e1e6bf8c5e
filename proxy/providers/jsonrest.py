"""What a JSON body says beyond the strings its adapter reads: every object key, every number
(in its exact source spelling) and every string the adapter kept as a parameter (`model`,
`size`, `quality`, ...). The provider receives all of them, so all of them are read as text:
a card number sent as `"user": 4539148803436467` or as a key is found like one in a prompt.

They come back as three text parts (role "other") whose refs no adapter writes back, so a
redaction that would have to change them becomes a reroute or a block (see
proxy/engine/envelope.py).

A number is left out only when its key is a numeric parameter the image APIs document and
its value lies in that parameter's range (a seed up to 2**32, a step count, a guidance scale):
a random ten-digit seed reads like a phone number, and a number in range says nothing else.
"""

from __future__ import annotations

import json

from proxy.errors import MalformedRequest
from proxy.model import ImageRequest, TextPart
from proxy.providers.base import WireRequest
from proxy.providers.jsonbody import MAX_DEPTH, check_value_count, child
from proxy.providers.multipart import header_params

KEYS, NUMBERS, STRINGS = "json-keys", "json-numbers", "json-params"
# Between values, and before and after them: phone numbers are matched across line breaks
# ("in 1999" and "1024" and "80" read as one), and the text detector also reads across the
# seam between two parts; a semicolon keeps unrelated values apart.
SEPARATOR = " ; "
# Seeds are unsigned 32-bit in every API that documents them (Stability, Imagen, Titan,
# BFL, fal); -1 asks some servers for a random one. Card numbers have 13 to 19 digits.
_SEEDS = frozenset({"seed", "seeds", "noise_seed", "randomSeed"})
_SEED_RANGE = (-1, 2**32 - 1)
# Counts, sizes, steps, scales, strengths, qualities, token limits: small numbers.
_SMALL = frozenset(
    {
        "n", "num_outputs", "num_images", "numberOfImages", "sampleCount", "candidateCount",
        "samples", "batch_size", "num_images_per_prompt", "width", "height",
        "steps", "num_inference_steps", "guidance_scale", "guidance", "cfg_scale", "cfgScale",
        "image_guidance_scale", "prompt_strength", "strength", "image_strength",
        "control_strength", "creativity", "image_prompt_strength", "lora_scale", "scale",
        "weight", "output_quality", "output_compression", "compressionQuality",
        "partial_images", "safety_tolerance", "temperature", "top_p", "topP", "top_k", "topK",
        "maxOutputTokens", "max_tokens", "max_output_tokens", "max_completion_tokens",
        "thinkingBudget", "presence_penalty", "frequency_penalty", "fidelity",
        "style_fidelity", "interval", "sharpness", "duration", "fps", "num_frames",
    }
)  # fmt: skip
_SMALL_RANGE = (-1_000_000, 1_000_000)


class _Number(str):
    """A number as it was spelled in the body."""


def unread_parts(wire: WireRequest, parsed: ImageRequest) -> tuple[TextPart, ...]:
    """The keys, numbers and unread strings of a JSON body as text parts (none for other
    bodies). `parsed` is the adapter's reading: the strings and images it recorded under
    `json:<pointer>` refs are not read again."""
    if not _is_json(wire):
        return ()
    check_value_count(wire.body)
    try:
        doc = json.loads(
            wire.body.decode("utf-8"),
            object_pairs_hook=_Object,
            parse_int=_Number,
            parse_float=_Number,
            parse_constant=_Number,
        )
    except (ValueError, RecursionError):
        raise MalformedRequest("body is not valid JSON") from None
    read = {p.ref for p in parsed.prompts} | {i.ref for i in parsed.images}
    keys: list[str] = []
    numbers: list[str] = []
    strings: list[str] = []
    # Depth first in the body's order: children go on the stack last one first.
    # `owner`: the key a value is under, through arrays ("seeds": [1, 2]).
    stack: list[tuple[object, str, str | None, str]] = [(doc, "", None, "")]
    while stack:
        value, pointer, name, owner = stack.pop()
        if pointer.count("/") > MAX_DEPTH + 1:
            raise MalformedRequest("JSON body is nested too deeply")
        if name is not None:
            keys.append(name)
        if isinstance(value, _Number):
            if not neutral_number(owner, value):
                numbers.append(_spellings(value))
        elif isinstance(value, str):
            if "json:" + pointer not in read:
                strings.append(value)
        elif isinstance(value, _Object):
            stack.extend((item, child(pointer, k), k, k) for k, item in reversed(value))
        elif isinstance(value, list):
            items = list(enumerate(value))
            stack.extend((item, child(pointer, i), None, owner) for i, item in reversed(items))
    return tuple(
        TextPart(f"@envelope:{name}", joined(texts), role="other")
        for name, texts in ((KEYS, keys), (NUMBERS, numbers), (STRINGS, strings))
        if texts
    )


def joined(texts: list[str]) -> str:
    # Each value once: a chat of 3,000 turns repeats "role", "content", "type" and "user"
    # 3,000 times, and a second copy of a value has nothing more to find.
    return SEPARATOR + SEPARATOR.join(dict.fromkeys(texts)) + SEPARATOR


class _Object(list[tuple[str, object]]):
    """An object's members in order (keys are kept as written, even repeated ones)."""


def _is_json(wire: WireRequest) -> bool:
    if not wire.body:
        return False
    if not wire.content_type:
        return wire.body.lstrip()[:1] == b"{"
    media, _ = header_params(wire.content_type)
    return media == "application/json" or (media.startswith("application/") and "json" in media)


def _spellings(number: str) -> str:
    """The number as written, and as digits when an exponent hides them (the provider
    reads 4.539148803436467e15 as the card number it is)."""
    literal = str.__str__(number)
    if "e" not in literal.lower():
        return literal
    try:
        value = float(literal)
    except ValueError:
        return literal
    if value.is_integer() and abs(value) < 1e20:
        return f"{literal} {int(value)}"
    return literal


def neutral_number(key: str, number: str) -> bool:
    """Whether `number` (as written) under `key` is a documented parameter in its range."""
    if key in _SEEDS:
        low, high = _SEED_RANGE
        if not (number.isascii() and number.lstrip("-").isdigit()):
            return False
    elif key in _SMALL:
        low, high = _SMALL_RANGE
    else:
        return False
    if not number.isascii():
        return False
    try:
        return low <= float(number) <= high
    except ValueError:
        return False
