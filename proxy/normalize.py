"""Text normalisation that defeats cheap evasion while keeping offsets into the original.

Detectors run on the normalised text; redaction is applied to the original, so a finding
must be mapped back. Zero-width and bidi control characters vanish, compatibility forms
(full-width digits and at-signs, ligatures, non-breaking spaces) become their plain forms.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Variation selectors and the combining grapheme joiner render as nothing but are not "Cf".
_INVISIBLE_MARKS = frozenset({0x034F, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)})


@dataclass(frozen=True)
class NormalizedText:
    """`text` is what detectors see; `origin[i]` is the index in the original of `text[i]`."""

    text: str
    origin: tuple[int, ...]
    original_length: int

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The smallest original span covering normalised [start, end)."""
        if start >= end:
            at = self.origin[start] if start < len(self.origin) else self.original_length
            return at, at
        return self.origin[start], self.origin[end - 1] + 1


def _is_invisible(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf" or ord(ch) in _INVISIBLE_MARKS


def normalize(text: str) -> NormalizedText:
    if text.isascii():
        # ASCII has no format characters and is NFKC-stable: the fast path for most prompts.
        return NormalizedText(text, tuple(range(len(text))), len(text))
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if _is_invisible(ch):
            continue
        # Per character, so that every output character maps back to exactly one input.
        folded = unicodedata.normalize("NFKC", ch)
        for piece in folded:
            if not _is_invisible(piece):
                out.append(piece)
                origin.append(i)
    return NormalizedText("".join(out), tuple(origin), len(text))
