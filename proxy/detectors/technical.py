"""Which technical texts (a URL, a header line, a JSON key, number or parameter) can hold no
personal data at all, so the text detectors need not read them.

Every request carries such texts (`/v1/images/generations`, `x-stainless-runtime-version:
3.11.7`, `size: 1024x1024`), and most hold a digit, which alone makes Presidio run its
recognizers (proxy.detectors.prefilter): milliseconds per request, for nothing. A line is
skipped only when it is plain ASCII and holds none of what any entity needs: no "@" or
percent or HTML escape, no five digits within 24 characters once software versions and image
sizes are set aside (the shortest phone, card, SSN, IBAN, bank, passport or licence number
has more), no IPv4 or IPv6 shape, no digit before a
word (a house number), no two capitalised words in a row (a name), no spelled "at"/"dot" or
run of number words, no token of 20 or more letters and digits (base64, a crypto address).
Anything else is read in full, with the rest of its text part.
"""

from __future__ import annotations

import re

_WINDOW = 24
_DIGITS_IN_WINDOW = 5
_ASCII_PLAIN = re.compile(r"[\x20-\x7e\t]*")
_ESCAPES = re.compile(r"[@%]|&#|&[a-z]+;")
_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_IPV6 = re.compile(r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:")
_NUMBER_THEN_WORD = re.compile(r"(?<!\S)\d+[A-Za-z]?[ \t]+[A-Za-z]")
# Shapes that are never personal data and would otherwise count as dense digits: a software
# version of at most two digits a group ("2.54.0", "3.11.7") and an image size ("1024x1024").
_NEUTRAL = re.compile(r"(?<![\d.])\d{1,2}(?:\.\d{1,2}){1,2}(?![\d.])|(?<!\d)\d{2,4}x\d{2,4}(?!\d)")
_TWO_CAPITALISED = re.compile(r"\b[A-Z][a-z]+[ \t]+[A-Z][a-z]+")
_SPELLED = re.compile(
    r"\b(?:at|dot|zero|oh|one|two|three|four|five|six|seven|eight|nine|ten)\b", re.IGNORECASE
)
_LONG_TOKEN = re.compile(r"[A-Za-z0-9+/=_]{20,}")


def worth_reading(text: str) -> bool:
    """Whether any line of `text` could hold personal data (see the module's docstring)."""
    return any(_could_hold(line) for line in text.splitlines() or [""])


def _could_hold(line: str) -> bool:
    if not _ASCII_PLAIN.fullmatch(line):
        return True
    if _ESCAPES.search(line) or _IPV4.search(line) or _IPV6.search(line):
        return True
    if _NUMBER_THEN_WORD.search(line) or _TWO_CAPITALISED.search(line):
        return True
    if _LONG_TOKEN.search(line) or len(_SPELLED.findall(line)) >= 1:
        return True
    return _dense_digits(_NEUTRAL.sub(" ", line))


def _dense_digits(line: str) -> bool:
    """Five digits within any 24 characters (one linear pass over the digit positions)."""
    positions = [i for i, c in enumerate(line) if c.isdigit()]
    return any(
        positions[i + _DIGITS_IN_WINDOW - 1] - positions[i] < _WINDOW
        for i in range(len(positions) - _DIGITS_IN_WINDOW + 1)
    )
