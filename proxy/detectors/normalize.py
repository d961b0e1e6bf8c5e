"""Text normalisation that defeats cheap evasion while keeping offsets into the original.

Detectors run on the normalised text; redaction is applied to the original, so a finding
must be mapped back. Zero-width and bidi control characters vanish, compatibility forms
(full-width digits and at-signs, ligatures, non-breaking spaces) become their plain forms,
Cyrillic and Greek letters that look like Latin ones become those Latin letters, digits of
other scripts (Arabic-Indic, Devanagari, ...) become ASCII digits. With `display_order`,
text under a right-to-left override is read as it is displayed (reversed) rather than as
it is stored: a model reads the one, a person the other, so both get read. The folded text
is for detection only: nothing of it is ever forwarded.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Variation selectors and the combining grapheme joiner render as nothing but are not "Cf".
_INVISIBLE_MARKS = frozenset({0x034F, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)})

# Cyrillic, Greek and Armenian letters drawn like a Latin letter (a subset of Unicode's
# confusables.txt, one letter each): "jаne@exаmple.com" with Cyrillic "а" reads as an email.
_LOOKALIKES = {
    "A": "\u0410\u0391", "B": "\u0412\u0392", "C": "\u0421\u03f9", "E": "\u0415\u0395",
    "H": "\u041d\u0397", "I": "\u0406\u0399\u04c0", "J": "\u0408", "K": "\u041a\u039a",
    "M": "\u041c\u039c", "N": "\u039d", "O": "\u041e\u039f\u0555", "P": "\u0420\u03a1",
    "Q": "\u051a", "S": "\u0405", "T": "\u0422\u03a4", "W": "\u051c", "X": "\u0425\u03a7",
    "Y": "\u04ae\u03a5", "Z": "\u0396",
    "a": "\u0430", "c": "\u0441\u03f2", "d": "\u0501", "e": "\u0435", "h": "\u04bb",
    "i": "\u0456", "j": "\u0458\u03f3", "l": "\u04cf", "o": "\u043e\u03bf\u0585", "p": "\u0440",
    "q": "\u051b", "s": "\u0455", "u": "\u057d", "v": "\u03bd", "w": "\u051d", "x": "\u0445",
    "y": "\u0443",
}  # fmt: skip
_FOLD = {glyph: latin for latin, glyphs in _LOOKALIKES.items() for glyph in glyphs}


def folded_class(word: str) -> str:
    """A regex for `word` (Cyrillic, Greek, ...) that also matches it as normalize() folds it:
    "ул" -> "[уy]л". For patterns of other scripts that run on normalised text."""
    return "".join(f"[{ch}{_FOLD[ch]}]" if ch in _FOLD else ("\\" + ch if ch in ".-" else ch)
                   for ch in word)  # fmt: skip


_RLO, _PDF = "\u202e", "\u202c"  # right-to-left override and its terminator
_PARAGRAPH_ENDS = frozenset("\n\r\u2029")  # an override never outlives its paragraph


@dataclass(frozen=True)
class NormalizedText:
    """`text` is what detectors see; `origin[i]` is the index in the original of `text[i]`.

    `ends[i]`, when given, is where the original of `text[i]` ends (exclusive): a character
    decoded from an escaped run stands for the whole run. Without `ends`, each character
    stands for one original character.
    """

    text: str
    origin: tuple[int, ...]
    original_length: int
    ends: tuple[int, ...] | None = None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The smallest original span covering normalised [start, end)."""
        if start >= end:
            at = self.origin[start] if start < len(self.origin) else self.original_length
            return at, at
        # min/max, not first/last: text read right to left maps back in reverse order.
        first = min(self.origin[start:end])
        if self.ends is None:
            return first, max(self.origin[start:end]) + 1
        return first, max(self.ends[start:end])


def _is_invisible(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf" or ord(ch) in _INVISIBLE_MARKS


def _plain(piece: str) -> str:
    """One NFKC-folded character as detectors should see it."""
    if piece in _FOLD:
        return _FOLD[piece]
    if not piece.isascii() and piece.isdecimal():
        return str(unicodedata.decimal(piece))  # Arabic-Indic, Devanagari, Thai, ... digits
    return piece


def has_override(text: str) -> bool:
    return _RLO in text


def normalize(text: str, *, display_order: bool = False) -> NormalizedText:
    if text.isascii():
        # ASCII has no format characters and is NFKC-stable: the fast path for most prompts.
        return NormalizedText(text, tuple(range(len(text))), len(text))
    out: list[str] = []
    origin: list[int] = []
    reversed_from: int | None = None  # where in `out` the open right-to-left override began

    def close_override() -> None:
        nonlocal reversed_from
        if reversed_from is not None:
            out[reversed_from:] = out[reversed_from:][::-1]
            origin[reversed_from:] = origin[reversed_from:][::-1]
            reversed_from = None

    for i, ch in enumerate(text):
        if display_order and ch == _RLO:
            close_override()
            reversed_from = len(out)
        elif display_order and (ch == _PDF or ch in _PARAGRAPH_ENDS):
            close_override()
        if _is_invisible(ch):
            continue
        # Per character, so that every output character maps back to exactly one input.
        folded = unicodedata.normalize("NFKC", ch)
        for piece in folded:
            if not _is_invisible(piece):
                out.append(_plain(piece))
                origin.append(i)
    close_override()
    return NormalizedText("".join(out), tuple(origin), len(text))
