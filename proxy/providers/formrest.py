"""What a multipart/form-data body says beyond the fields its adapter reads: the framing
(boundary, field names, filenames, every part header and Content-Disposition parameter) and
the fields an adapter kept as parameters (decoded in their charset, as the adapters decode the
fields they read: `multipart.text_of`). The provider receives all of them, so all of them are
read as text.

They come back as text parts (role "other") whose refs no adapter writes back, so a redaction
that would have to change them becomes a reroute or a block (see proxy/engine/envelope.py). What
cannot be read is refused: a preamble or epilogue with content (readers disagree on whether
it is seen at all), a charset Python does not know, a parameter field that is not text.
"""

from __future__ import annotations

from urllib.parse import unquote

from proxy.errors import MalformedRequest
from proxy.model import ImageRequest, TextPart
from proxy.providers import multipart
from proxy.providers.base import WireRequest
from proxy.providers.jsonrest import joined, neutral_number

FRAMING, PARAMS = "form-framing", "form-params"
_BLANK = b" \t\r\n"


def unread_form_parts(wire: WireRequest, parsed: ImageRequest) -> tuple[TextPart, ...]:
    """The framing and the unread fields of a form body as text parts (none for other
    bodies). `parsed` is the adapter's reading, with `part:<index>` refs."""
    if not wire.body or not wire.content_type:
        return ()
    if multipart.header_params(wire.content_type)[0] != "multipart/form-data":
        return ()
    form = multipart.parse(wire.body, wire.content_type)
    if form.preamble.strip(_BLANK) or form.epilogue.strip(_BLANK):
        raise MalformedRequest("multipart preamble or epilogue carries content")
    read = {p.ref for p in parsed.prompts} | {i.ref for i in parsed.images}
    framing = [form.boundary.decode("ascii")]
    params: list[str] = []
    for index, part in enumerate(form.parts):
        ref = multipart.ref_of(index)
        headers = part.headers.decode("utf-8")  # multipart.parse refused anything else
        framing.append(headers)
        if "%" in headers:  # RFC 7578 lets a client percent-encode a name or filename
            framing.append(unquote(headers))
        if part.filename:
            # A file's extension glues onto a value in its name ("jane@example.org.png" has
            # no valid domain): its stem, and the stem's words, are read alone too.
            stem = unquote(part.filename).rsplit(".", 1)[0]
            framing += [stem, *stem.replace("_", " ").replace("-", " ").split()]
        if ref in read or (part.filename is not None and not part.body):
            continue
        text = multipart.text_of(part)
        if not neutral_number(part.name, text):
            params.append(text)
    return tuple(
        TextPart(f"@envelope:{name}", joined(texts), role="other")
        for name, texts in ((FRAMING, framing), (PARAMS, params))
        if texts
    )
