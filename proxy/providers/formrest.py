"""What a multipart/form-data body says beyond the fields its adapter reads: the framing
(boundary, field names, filenames, every part header and Content-Disposition parameter), the
fields an adapter kept as parameters, and text fields in another charset than UTF-8, decoded
in that charset. The provider receives all of them, so all of them are read as text.

They come back as text parts (role "other") whose refs no adapter writes back, so a redaction
that would have to change them becomes a reroute or a block (see proxy/envelope.py). What
cannot be read is refused: a preamble or epilogue with content (readers disagree on whether
it is seen at all), a charset Python does not know, a parameter field that is not text.
"""

from __future__ import annotations

import codecs
from urllib.parse import unquote

from proxy.errors import MalformedRequest
from proxy.model import ImageRequest, TextPart
from proxy.providers import multipart
from proxy.providers.base import WireRequest
from proxy.providers.jsonrest import joined, neutral_number

FRAMING, PARAMS, CHARSETS = "form-framing", "form-params", "form-charsets"
_UTF8 = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_BLANK = b" \t\r\n"


def unread_form_parts(wire: WireRequest, parsed: ImageRequest) -> tuple[TextPart, ...]:
    """The framing, unread fields and re-decoded fields of a form body as text parts (none
    for other bodies). `parsed` is the adapter's reading, with `part:<index>` refs."""
    if not wire.body or not wire.content_type:
        return ()
    if multipart.header_params(wire.content_type)[0] != "multipart/form-data":
        return ()
    form = multipart.parse(wire.body, wire.content_type)
    if form.preamble.strip(_BLANK) or form.epilogue.strip(_BLANK):
        raise MalformedRequest("multipart preamble or epilogue carries content")
    prompts = {p.ref for p in parsed.prompts}
    images = {i.ref for i in parsed.images}
    framing = [form.boundary.decode("ascii")]
    params: list[str] = []
    recoded: list[str] = []
    for index, part in enumerate(form.parts):
        ref = multipart.ref_of(index)
        headers = part.headers.decode("utf-8")  # multipart.parse refused anything else
        framing.append(headers)
        if "%" in headers:  # RFC 7578 lets a client percent-encode a name or filename
            framing.append(unquote(headers))
        if ref in images or (part.filename is not None and not part.body):
            continue
        charset = _charset(part)
        if ref in prompts:
            if charset not in _UTF8:  # the adapter read it as UTF-8
                recoded.append(_decoded(part.body, charset))
            continue
        text = _decoded(part.body, charset)
        if not neutral_number(part.name, text):
            params.append(text)
    return tuple(
        TextPart(f"@envelope:{name}", joined(texts), role="other")
        for name, texts in ((FRAMING, framing), (PARAMS, params), (CHARSETS, recoded))
        if texts
    )


def _charset(part: multipart.Part) -> str:
    header = _content_type_header(part.headers)
    if header is None:
        return "utf-8"
    return multipart.header_params(header)[1].get("charset", "utf-8").lower()


def _content_type_header(headers: bytes) -> str | None:
    for line in headers.decode("utf-8").split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "content-type":
            return value.strip(" \t")
    return None


def _decoded(body: bytes, charset: str) -> str:
    try:
        codecs.lookup(charset)
        return body.decode(charset)
    except LookupError:
        raise MalformedRequest("a form field has a charset that cannot be read") from None
    except UnicodeDecodeError:
        raise MalformedRequest("a form field is not text in its charset") from None
