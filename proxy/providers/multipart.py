"""A strict multipart/form-data reader that writes a body back byte-for-byte.

Our own rather than `email` or python-multipart: the proxy must rewrite one part and leave
every other byte as the client sent it, and must refuse any body that another parser could
read differently, where general-purpose parsers normalise or tolerate. Every error message
is content-free: it never quotes body bytes, field names or values.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from proxy.errors import MalformedRequest, RequestTooLarge

# No image API form comes near 1,000 parts (a prompt, a few images and parameters); every
# part is read and its text inspected, so a form of more is refused, before it is parsed.
MAX_PARTS = 1000
MAX_HEADER_BYTES = 16 * 1024

# RFC 2046 section 5.1.1: 1 to 70 characters, not ending in a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PARAM = re.compile(r';[ \t]*([^=; \t"]+)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|[^;" \t]*)[ \t]*')
_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# RFC 7578 deprecates Content-Transfer-Encoding; an encoded part would hide its real bytes.
_IDENTITY_ENCODINGS = frozenset({"7bit", "8bit", "binary"})


@dataclass(frozen=True)
class Part:
    """One part. `headers` is its raw header block without the blank line that ends it."""

    headers: bytes
    body: bytes
    name: str
    filename: str | None
    content_type: str | None
    charset: str = "utf-8"


@dataclass(frozen=True)
class Multipart:
    """A parsed body. `serialize()` returns exactly the bytes it was parsed from; bodies
    replaced through `with_bodies` are the only bytes that can differ."""

    boundary: bytes
    preamble: bytes
    parts: tuple[Part, ...]
    epilogue: bytes

    def serialize(self) -> bytes:
        dash = b"--" + self.boundary
        out = [self.preamble]
        for part in self.parts:
            out += [dash, b"\r\n", part.headers, b"\r\n\r\n", part.body, b"\r\n"]
        out += [dash, b"--", self.epilogue]
        return b"".join(out)

    def write(self, changed: Mapping[str, str | bytes]) -> bytes:
        """The body with the parts named by `ref_of` refs replaced (text as UTF-8): what an
        adapter's `apply` returns for a form, as `JsonBody.write` does for JSON."""
        bodies: dict[int, bytes] = {}
        for ref, value in changed.items():
            index = int(ref.removeprefix("part:"))
            part = self.parts[index]
            bodies[index] = value if isinstance(value, bytes) else _encoded(part, value)
        return self.with_bodies(bodies).serialize()

    def with_bodies(self, bodies: Mapping[int, bytes]) -> Multipart:
        delimiter = b"\r\n--" + self.boundary
        parts = list(self.parts)
        for index, body in bodies.items():
            # A new body that contains the delimiter (even across its own end) would split.
            if (body + delimiter).find(delimiter) != len(body):
                raise MalformedRequest("a rewritten multipart part would contain the boundary")
            parts[index] = replace(parts[index], body=body)
        return replace(self, parts=tuple(parts))


def text_of(part: Part) -> str:
    """A text field's value, decoded in the charset its Content-Type names (UTF-8 if none):
    a field in UTF-16 read as UTF-8 would hide its text from the detectors."""
    try:
        codecs.lookup(part.charset)
        return part.body.decode(part.charset)
    except LookupError:
        raise MalformedRequest("form text field has a charset that cannot be read") from None
    except UnicodeDecodeError:
        if part.charset in ("utf-8", "utf8"):
            raise MalformedRequest("form text field is not UTF-8") from None
        raise MalformedRequest("form text field is not text in its charset") from None


def _encoded(part: Part, text: str) -> bytes:
    try:
        return text.encode(part.charset)
    except (LookupError, UnicodeEncodeError):
        raise MalformedRequest("a rewritten form field cannot be written in its charset") from None


def ref_of(index: int) -> str:
    """The ref of part `index` in an `ImageRequest` read from a form."""
    return f"part:{index}"


def header_params(value: str) -> tuple[str, dict[str, str]]:
    """Split `type; a=1; b="x"` into a lower-cased first item and lower-cased parameter names.

    Repeated parameters are refused: two readers could each pick a different copy.
    """
    head, _, _ = value.partition(";")
    pos, params = len(head), {}
    while pos < len(value):
        match = _PARAM.match(value, pos)
        if match is None:
            raise MalformedRequest("a header has malformed parameters")
        key, raw = match.group(1).lower(), match.group(2)
        if key in params:
            raise MalformedRequest("a header repeats a parameter")
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1], flags=re.S)
        params[key] = raw
        pos = match.end()
    return head.strip(" \t").lower(), params


def boundary_of(content_type: str) -> bytes:
    """The boundary of a multipart/form-data Content-Type, validated against RFC 2046."""
    media, params = header_params(content_type)
    if media != "multipart/form-data":
        raise MalformedRequest("expected a multipart/form-data body")
    boundary = params.get("boundary", "")
    if not _BOUNDARY.fullmatch(boundary):
        raise MalformedRequest("multipart boundary is missing or invalid")
    return boundary.encode("ascii")


def parse(body: bytes, content_type: str, max_parts: int = MAX_PARTS) -> Multipart:
    """Parse a whole body. Raises MalformedRequest for anything not plainly well-formed."""
    boundary = boundary_of(content_type)
    dash = b"--" + boundary
    delimiter = b"\r\n" + dash
    # Counted in C before any part is read: each part ends at a delimiter, and the body's
    # first boundary may lack the leading CRLF.
    if body.count(delimiter) + body.startswith(dash) > max_parts + 1:
        raise RequestTooLarge("multipart body has too many parts")
    if body.startswith(dash):
        pos = 0
    else:
        pos = body.find(delimiter)
        if pos < 0:
            raise MalformedRequest("multipart body has no opening boundary")
        pos += 2
    preamble = body[:pos]
    pos += len(dash)
    parts: list[Part] = []
    while True:
        after = body[pos : pos + 2]
        if after == b"--":
            return Multipart(boundary, preamble, tuple(parts), body[pos + 2 :])
        if after != b"\r\n":
            # Also covers transport padding and `--boundaryX`: refuse rather than guess.
            raise MalformedRequest("multipart boundary line has unexpected bytes")
        if len(parts) >= max_parts:
            raise RequestTooLarge("multipart body has too many parts")
        # Bounded search: a part without a blank line must not make us scan the whole body.
        head_end = body.find(b"\r\n\r\n", pos, pos + MAX_HEADER_BYTES + 4)
        if head_end < 0 or body.find(delimiter, pos, head_end) >= 0:
            raise MalformedRequest("multipart part headers are unterminated or too long")
        start = head_end + 4
        end = body.find(delimiter, start)
        if end < 0:
            raise MalformedRequest("multipart body has no closing boundary")
        parts.append(_part(body[pos + 2 : head_end], body[start:end]))
        pos = end + len(delimiter)


def _part(headers: bytes, body: bytes) -> Part:
    try:
        text = headers.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("multipart part headers are not UTF-8") from None
    fields: dict[str, str] = {}
    for line in text.split("\r\n") if text else ():
        key, sep, value = line.partition(":")
        if not sep or not _TOKEN.fullmatch(key) or _CTL.search(value):
            raise MalformedRequest("multipart part has a malformed header line")
        if key.lower() in fields:
            raise MalformedRequest("multipart part repeats a header")
        fields[key.lower()] = value.strip(" \t")
    encoding = fields.get("content-transfer-encoding")
    if encoding is not None and encoding.lower() not in _IDENTITY_ENCODINGS:
        raise MalformedRequest("multipart part uses an unsupported transfer encoding")
    disposition, params = header_params(fields.get("content-disposition", ""))
    if disposition != "form-data" or not params.get("name"):
        raise MalformedRequest("multipart part lacks a form-data name")
    if "filename*" in params:
        # RFC 7578 section 4.2 forbids it; readers disagree on which filename wins.
        raise MalformedRequest("multipart part uses an unsupported filename* parameter")
    content_type = fields.get("content-type")
    media, type_params = header_params(content_type) if content_type is not None else (None, {})
    charset = type_params.get("charset", "utf-8").lower()
    return Part(headers, body, params["name"], params.get("filename"), media, charset)
