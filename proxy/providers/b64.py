"""Base64 as the image APIs accept it: the standard or the URL-safe alphabet (RFC 4648 §4 and
§5), with or without `=` padding.

Google's JSON parsers take every one of those forms for a `bytes` field (the proto3 JSON
mapping), and the google-genai SDK sends URL-safe base64. The two alphabets differ only in
`+/` versus `-_`, so a string that mixes them is refused: no two readers agree on it. Line
breaks, spaces and any other character are refused too, so every form accepted here decodes
to the same bytes in every decoder that accepts it at all.

A `Form` remembers how a client wrote a value, so that a redacted image goes back in the
alphabet and padding the client used.
"""

from __future__ import annotations

import binascii
import re
from typing import NamedTuple

from proxy.errors import MalformedRequest

_STANDARD = re.compile(r"[A-Za-z0-9+/]*")
_URLSAFE = re.compile(r"[A-Za-z0-9_-]*")
_TO_STANDARD = str.maketrans("-_", "+/")
_TO_URLSAFE = str.maketrans("+/", "-_")


class Form(NamedTuple):
    """How a base64 value is written: its alphabet, and whether it ends in `=` padding."""

    urlsafe: bool = False
    padded: bool = True


STANDARD = Form()


def decode(value: str) -> tuple[bytes, Form]:
    """The bytes of `value` and the form it is written in; MalformedRequest if it is not
    base64 in one of the accepted forms. The message never quotes the value."""
    body = value.rstrip("=")
    padding = len(value) - len(body)
    if _STANDARD.fullmatch(body):
        urlsafe = False
    elif _URLSAFE.fullmatch(body):
        urlsafe = True
    else:
        raise MalformedRequest("an image is not valid base64")
    # Padding, when given, must be exactly what completes the last group of four.
    if len(body) % 4 == 1 or padding > 2 or (padding and (len(body) + padding) % 4):
        raise MalformedRequest("an image is not valid base64")
    standard = body.translate(_TO_STANDARD) if urlsafe else body
    try:
        data = binascii.a2b_base64(standard + "=" * (-len(body) % 4), strict_mode=True)
    except binascii.Error:
        raise MalformedRequest("an image is not valid base64") from None
    # Without padding to tell, a value of whole groups of four is taken as padded: that is
    # how the standard encoding writes it.
    return data, Form(urlsafe, padding > 0 or len(body) % 4 == 0)


def encode(data: bytes, form: Form = STANDARD) -> str:
    """`data` as base64 in `form`."""
    text = binascii.b2a_base64(data, newline=False).decode("ascii")
    if form.urlsafe:
        text = text.translate(_TO_URLSAFE)
    return text if form.padded else text.rstrip("=")


def head(value: str, size: int = 48) -> bytes | None:
    """About the first `size` bytes that `value` decodes to (for sniffing an image's type),
    or None when its start is not base64 in an accepted form."""
    chars = -(-size // 3) * 4
    if len(value) > chars:
        value = value[:chars]
    try:
        return decode(value)[0]
    except MalformedRequest:
        return None
