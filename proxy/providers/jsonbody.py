"""Strict reading of JSON request bodies, shared by the JSON-speaking adapters.

A `JsonBody` records every string and image it is pointed at under a ref `json:<pointer>`
(RFC 6901), remembers where each one sits, and writes changed values back in place, leaving
the rest of the document as parsed. A body that two readers could read differently (repeated
keys, NaN, not UTF-8, not an object) is refused. Messages never quote the body.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_to_bytes

from proxy.errors import MalformedRequest, RequestTooLarge, UnsupportedEndpoint
from proxy.model import ImagePart, TextPart
from proxy.providers.multipart import header_params

MAX_DEPTH = 32
# Every value is read, and every string is inspected as text of its own: a body of millions
# of short strings (36 MB of them took 47 s) would hold a worker, and the GIL, for ever.
# No image API request comes near 100,000 values (a prompt is one; a chat history a few
# hundred), so more are refused before they are parsed.
MAX_VALUES = 100_000
# A value's ref is its whole pointer: long keys on a deep path, repeated for each of many
# values, would make the refs alone cost keys x values.
MAX_POINTER_CHARS = 1024
# Strings, so that commas and brackets inside them are not counted as structure.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
# A `\uD800`-style escape: the only way a JSON text can carry an unpaired surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")

# How an image is written in the body: raw base64, a data URL, or a data URL or a link.
Encoding = Literal["base64", "data_url", "url"]

_MEDIA_BY_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
)


def load_json(body: bytes, content_type: str = "application/json") -> dict[str, Any]:
    """The body as a JSON object. Any other media type than JSON, any charset other than
    UTF-8, a repeated key, NaN/Infinity or a non-object top level is refused."""
    media, params = header_params(content_type) if content_type else ("application/json", {})
    if media != "application/json" and not (media.startswith("application/") and "json" in media):
        raise MalformedRequest("expected a JSON body")
    if params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        raise MalformedRequest("JSON body must be UTF-8")

    def unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
        if len({key for key, _ in pairs}) != len(pairs):
            raise MalformedRequest("JSON body repeats a key")
        return dict(pairs)

    check_value_count(body)

    def no_constant(_: str) -> object:
        raise MalformedRequest("JSON body contains NaN or Infinity")

    def finite(text: str) -> float:
        # 1e400 reads as infinity, which would be written back as the invalid `Infinity`.
        value = float(text)
        if math.isinf(value):
            raise MalformedRequest("JSON body has a number out of range")
        return value

    try:
        doc = json.loads(
            body.decode("utf-8"),
            object_pairs_hook=unique,
            parse_constant=no_constant,
            parse_float=finite,
        )
    except UnicodeDecodeError:
        raise MalformedRequest("JSON body is not UTF-8") from None
    except (ValueError, RecursionError):
        raise MalformedRequest("body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise MalformedRequest("JSON body must be an object")
    if _SURROGATE_ESCAPE.search(body) and not _utf8_safe(doc):
        # A lone surrogate is no Unicode text: readers differ, and it cannot be written back.
        raise MalformedRequest("JSON body contains an unpaired surrogate escape")
    return doc


def _structure(body: bytes) -> tuple[int, int]:
    """(commas, "[" and "{") in `body`: counted in C, without parsing."""
    return body.count(b","), body.count(b"[") + body.count(b"{")


def value_count_bound(body: bytes) -> int:
    """At least as many as the values in `body` (when it is JSON): every value is the top
    one or follows a comma, "[" or "{" (a member's value follows its key, which does).
    Commas and brackets in strings count too, so a large answer is counted again with the
    strings taken out, unless there are so many strings that the body is too large anyway."""
    commas, openers = _structure(body)
    if 1 + commas + openers <= MAX_VALUES and openers <= _deepest(commas):
        return 1 + commas + openers
    # Every string is a value or a key, and every key has a value: values >= strings / 2.
    # An unescaped quote opens or closes a string (`\\"` also counts a quote after an
    # escaped backslash: this errs towards fewer strings).
    strings = (body.count(b'"') - body.count(b'\\"')) // 2
    if strings > 2 * MAX_VALUES:
        return strings // 2
    commas, openers = _structure(_STRING.sub(b"", body))  # at most 2 * MAX_VALUES strings
    if openers > _deepest(commas):
        raise MalformedRequest("JSON body is nested too deeply")
    return 1 + commas + openers


def _deepest(commas: int) -> int:
    # A document has at most commas + 1 leaves, and no more than MAX_DEPTH + 1 containers
    # on the way to each: more containers than that can only be nested too deeply.
    return (MAX_DEPTH + 1) * (commas + 1)


def check_value_count(body: bytes) -> None:
    if value_count_bound(body) > MAX_VALUES:
        raise RequestTooLarge(f"JSON body has more than {MAX_VALUES} values")


def _utf8_safe(doc: object) -> bool:
    # A loop, not recursion: json.loads accepts documents nested deeper than we may recurse.
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):  # json.loads joins pairs, so any left is unpaired
                return False
        elif isinstance(value, dict):
            stack += [*value, *value.values()]
        elif isinstance(value, list):
            stack += value
    return True


def child(pointer: str, key: str | int) -> str:
    """The JSON pointer of `key` under `pointer`."""
    text = str(key)
    return f"{pointer}/{text.replace('~', '~0').replace('/', '~1')}"


def decode_data_url(url: str) -> tuple[str | None, bytes]:
    """(media type or None, bytes) of a `data:` URL; MalformedRequest if it is broken."""
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
    return media.lower() or None, data


def decode_base64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedRequest("an image is not valid base64") from None


def media_type_of(data: bytes) -> str:
    """The media type the leading bytes announce (for writing a data URL back)."""
    for magic, media in _MEDIA_BY_MAGIC:
        if data.startswith(magic):
            return media
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def is_link(value: str) -> bool:
    return value[:8].lower() == "https://" or value[:7].lower() == "http://"


@dataclass
class _Slot:
    container: Any
    key: Any
    encoding: Encoding | None  # None: text


class JsonBody:
    """A parsed JSON object body and what an adapter pointed at in it."""

    def __init__(self, body: bytes, content_type: str = "application/json") -> None:
        self.doc = load_json(body, content_type)
        self.prompts: list[TextPart] = []
        self.images: list[ImagePart] = []
        self._slots: dict[str, _Slot] = {}

    def text(self, container: Any, key: Any, pointer: str, role: str = "other") -> None:
        """Record every string under container[key] as text, so no nested field goes unread."""
        value = container[key]
        if pointer.count("/") > MAX_DEPTH:  # keys are escaped, so "/" counts levels
            raise MalformedRequest("JSON body is nested too deeply")
        if len(pointer) > MAX_POINTER_CHARS:
            raise RequestTooLarge(f"JSON body has a key path over {MAX_POINTER_CHARS} characters")
        if isinstance(value, str):
            self.prompts.append(TextPart("json:" + pointer, value, role))
            self._slots["json:" + pointer] = _Slot(container, key, None)
        elif isinstance(value, list):
            for index in range(len(value)):
                self.text(value, index, child(pointer, index), role)
        elif isinstance(value, dict):
            for name in value:
                self.text(value, name, child(pointer, name), role)

    def texts_except(self, container: dict[str, Any], pointer: str, skip: set[str]) -> None:
        """Every string in `container` outside the keys in `skip`, as "other" text."""
        for key in container:
            if key not in skip:
                self.text(container, key, child(pointer, key))

    def image(
        self,
        container: Any,
        key: Any,
        pointer: str,
        encoding: Encoding,
        role: str = "image",
        media_type: str | None = None,
    ) -> None:
        """Record the image at container[key]. With "url" encoding a link is recorded as an
        image to fetch (empty data); any other scheme is refused."""
        value = container[key]
        if not isinstance(value, str) or not value:
            raise MalformedRequest("an image field must be a non-empty string")
        ref, url = "json:" + pointer, None
        if encoding == "base64":
            data = decode_base64(value)
        elif value[:5].lower() == "data:":
            media_type, data = decode_data_url(value)
        elif encoding == "url" and is_link(value):
            data, url = b"", value
        else:
            raise UnsupportedEndpoint(
                "an image is given in a form PixelGate cannot inspect (expected "
                + ("a data URL or an http(s) link)" if encoding == "url" else "a data URL)")
            )
        self.images.append(ImagePart(ref, data, None, media_type, role, url))
        self._slots[ref] = _Slot(container, key, encoding)

    def write(self, changed: dict[str, str | bytes]) -> bytes:
        """The document with each changed ref replaced, serialised compactly."""
        for ref, value in changed.items():
            slot = self._slots.get(ref)
            if slot is None:
                raise ValueError(f"ref {ref!r} is not part of this request")
            if isinstance(value, bytes):
                value = self._encoded(slot, value)
            slot.container[slot.key] = value
        return json.dumps(self.doc, ensure_ascii=False, separators=(",", ":")).encode()

    @staticmethod
    def _encoded(slot: _Slot, data: bytes) -> str:
        encoded = base64.b64encode(data).decode("ascii")
        if slot.encoding == "base64":
            return encoded
        old = slot.container[slot.key]
        head = old.partition(",")[0] if old[:5].lower() == "data:" else ""
        if not head:  # a link we fetched and redacted: it goes on inline
            head = f"data:{media_type_of(data)};base64"
        elif not head.lower().endswith(";base64"):
            head = head.partition(";")[0] + ";base64"
        return f"{head},{encoded}"
