"""Planted values and the evasions bench/evasion.py hides them with, and the leak rule.

Values come from a seeded Faker (card numbers are Luhn-valid, IBANs carry a valid mod-97
check). Each evasion class turns one value into the text a client would send; `leaked`
undoes every evasion this file knows on what was forwarded and looks for the value there,
so a value redacted only in part (the local part of an email, three of four card groups)
still counts as leaked.
"""

from __future__ import annotations

import base64
import random
import re
import unicodedata
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from evasion_disguises import (
    CARD_SEPARATORS,
    DASHES,
    addresses,
    bracketed_at,
    card_separated,
    cjk_punctuation,
    entity_at,
    fullwidth_digits,
    han_digits,
    letter_digits,
    letter_spaced,
    markup_at,
    reversed_text,
    spaced_at,
    spelled_at_sign,
    spelled_digits,
    undo,
)
from faker import Faker

# Latin letters and the Cyrillic or Greek letters that render the same (Unicode's
# confusables.txt lists these pairs); the bench keeps its own table, independent of proxy/.
LOOKALIKES = {
    "a": "\u0430", "c": "\u0441", "e": "\u0435", "o": "\u043e\u03bf", "p": "\u0440",
    "x": "\u0445", "y": "\u0443", "i": "\u0456", "j": "\u0458", "s": "\u0455",
    "v": "\u03bd", "A": "\u0410\u0391", "B": "\u0412\u0392", "C": "\u0421", "E": "\u0415\u0395",
    "H": "\u041d\u0397", "K": "\u041a\u039a", "M": "\u041c\u039c", "O": "\u041e\u039f",
    "P": "\u0420\u03a1", "T": "\u0422\u03a4", "X": "\u0425\u03a7", "Z": "\u0396", "N": "\u039d",
    "I": "\u0406\u0399", "Y": "\u03a5",
}  # fmt: skip
UNFOLD = {g: latin for latin, glyphs in LOOKALIKES.items() for g in glyphs}
# Zero of each decimal digit script used: Arabic-Indic, Extended Arabic-Indic (Persian),
# Devanagari, Bengali, Thai, mathematical bold (the last one NFKC folds).
DIGIT_ZEROS = (0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0x1D7CE)
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
BIDI_MARKS = ("\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u2066", "\u2067", "\u2069")
RLO, PDF = "\u202e", "\u202c"

TEMPLATES = {
    "EMAIL": (
        "A birthday card for my colleague, send the proof to {v} please",
        "Poster for a bake sale; contact {v} for orders",
        "a watercolour fox, and write {v} in the corner",
    ),
    "CARD": (
        "Draw a receipt showing the card number {v} at the bottom",
        "a vintage ad, my card {v} expires soon, in art deco style",
        "pay with {v} and paint a sunset over the sea",
    ),
    "IBAN": (
        "an invoice with IBAN {v} printed on it, minimal style",
        "Please wire the artist fee to {v} and draw a cat",
        "letterhead mockup, bank account {v}",
    ),
    "PHONE": (
        "A flyer for a plumber, phone {v}, bold letters",
        "business card: call me on {v}, blue background",
        "a neon sign with my mobile number {v}",
    ),
}
ADDRESS_KINDS = ("ADDR_JA", "ADDR_ZH", "ADDR_RU", "ADDR_AR")
for _kind in ADDRESS_KINDS:
    TEMPLATES[_kind] = (
        "a postcard addressed to {v}, in watercolour",
        "Draw the house at {v} in winter, snow on the roof",
        "my home address is {v}, paint it as a fairy-tale castle",
    )


@dataclass(frozen=True)
class Planted:
    """One evasion case: the texts to send (one per field) and the value hidden in them."""

    kind: str  # EMAIL, CARD, IBAN, PHONE or one of ADDRESS_KINDS
    value: str
    texts: tuple[str, ...]


def values(seed: int, per_kind: int) -> dict[str, list[str]]:
    rng = random.Random(seed)
    fakers = [Faker(loc) for loc in ("en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT")]
    for n, f in enumerate(fakers):
        f.seed_instance(seed + n)
    out: dict[str, list[str]] = {"EMAIL": [], "CARD": [], "IBAN": [], "PHONE": []}
    for script, found in addresses(rng, per_kind).items():
        out[f"ADDR_{script.upper()}"] = found
    for i in range(per_kind):
        f = fakers[i % len(fakers)]
        first, last = f.first_name().lower(), f.last_name().lower()
        name = re.sub(r"[^a-z]", "", unicodedata.normalize("NFKD", f"{first}.{last}"[:24]))
        domain = rng.choice(("example.com", "example.org", "mailbox.net", "acme-corp.co.uk"))
        out["EMAIL"].append(f"{name[:8]}.{name[8:] or 'x'}@{domain}".replace("..", "."))
        out["CARD"].append(f.credit_card_number(card_type=rng.choice(("visa16", "mastercard"))))
        out["IBAN"].append(f.iban())
        out["PHONE"].append(f"+1 {rng.randint(201, 989)} {rng.randint(200, 999)} "
                            f"{rng.randint(1000, 9999)}")  # fmt: skip
    return out


def grouped(value: str, sep: str, size: int = 4) -> str:
    return sep.join(value[i : i + size] for i in range(0, len(value), size))


def _every(value: str, marks: tuple[str, ...], rng: random.Random, gap: int = 3) -> str:
    return "".join(ch + (rng.choice(marks) if i % gap == 1 else "") for i, ch in enumerate(value))


def homoglyphs(value: str, rng: random.Random) -> str:
    return "".join(rng.choice(LOOKALIKES[ch]) if ch in LOOKALIKES else ch for ch in value)


def script_digits(value: str, rng: random.Random) -> str:
    zero = rng.choice(DIGIT_ZEROS)
    return "".join(chr(zero + int(ch)) if ch.isdigit() else ch for ch in value)


def fullwidth(value: str, rng: random.Random) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in value)


def spelled_email(value: str, rng: random.Random) -> str:
    at, dot = rng.choice(
        ((" at ", " dot "), ("(at)", "(dot)"), (" [at] ", " [dot] "), (" AT ", " DOT "),
         ("{at}", "{dot}"), (" at ", "."), ("(at)", "."), (" <at> ", " <dot> "))
    )  # fmt: skip
    local, domain = value.split("@")
    return local.replace(".", dot) + at + domain.replace(".", dot)


def percent(value: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return urllib.parse.quote(value, safe="")  # what a URL query would carry
    return "".join(f"%{b:02X}" for b in value.encode())  # every byte escaped


def b64(value: str, rng: random.Random) -> str:
    raw = value.encode()
    return (base64.urlsafe_b64encode if rng.random() < 0.3 else base64.b64encode)(raw).decode()


Hide = Callable[[str, str, random.Random], str]


def _separated(value: str, kind: str, rng: random.Random) -> str:
    compact = value.replace(" ", "")
    sep = rng.choice((" ", "-", ".", "/", " - ", " / ", " . ", "  "))
    return grouped(compact, sep, rng.choice((4, 4, 3)) if kind == "IBAN" else 4)


# class -> (kinds it applies to, how a value is hidden); texts get the template around them.
CLASSES: dict[str, tuple[tuple[str, ...], Hide]] = {
    "zero-width chars": (("EMAIL", "CARD", "IBAN"), lambda v, k, r: _every(v, ZERO_WIDTH, r)),
    "bidi controls": (("EMAIL", "CARD", "IBAN"), lambda v, k, r: _every(v, BIDI_MARKS, r, 4)),
    "bidi override (RLO)": (("EMAIL", "CARD", "IBAN"), lambda v, k, r: RLO + v[::-1] + PDF),
    "homoglyphs (Cyr/Greek)": (("EMAIL", "IBAN"), lambda v, k, r: homoglyphs(v, r)),
    "digits other scripts": (("CARD", "IBAN", "PHONE"), lambda v, k, r: script_digits(v, r)),
    "full-width": (("EMAIL", "CARD", "IBAN"), lambda v, k, r: fullwidth(v, r)),
    "separators . / - space": (("CARD", "IBAN"), lambda v, k, r: _separated(v, k, r)),
    "base64": (("EMAIL", "CARD", "IBAN", "PHONE"), lambda v, k, r: b64(v, r)),
    "percent-encoded": (("EMAIL", "CARD", "IBAN"), lambda v, k, r: percent(v, r)),
    "spelled email (at/dot)": (("EMAIL",), lambda v, k, r: spelled_email(v, r)),
    "split across lines": (("EMAIL", "CARD", "IBAN"), lambda v, k, r: _split(v, r, "\n")),
    "split across fields": (("EMAIL", "CARD", "IBAN"), lambda v, k, r: _split(v, r, "\x00")),
    # Issue #15 item 8 (bench/evasion_disguises.py).
    "spelled-out digits": (("CARD", "PHONE"), lambda v, k, r: spelled_digits(v, r)),
    "card separators _ | , · +": (("CARD",), lambda v, k, r: card_separated(v, r, CARD_SEPARATORS)),
    "card with en/em dashes": (("CARD",), lambda v, k, r: card_separated(v, r, DASHES)),
    "letters O/l for 0/1": (("CARD", "PHONE"), lambda v, k, r: letter_digits(v, r)),
    "Chinese numerals": (("CARD", "PHONE"), lambda v, k, r: han_digits(v, r)),
    "full-width digits": (("CARD", "PHONE"), lambda v, k, r: fullwidth_digits(v, r)),
    "email x @ y (blanks)": (("EMAIL",), lambda v, k, r: spaced_at(v, r)),
    "email [@] (@) {@}": (("EMAIL",), lambda v, k, r: bracketed_at(v, r)),
    "email {at} at-sign period": (("EMAIL",), lambda v, k, r: spelled_at_sign(v, r)),
    "email letter-spaced": (("EMAIL",), lambda v, k, r: letter_spaced(v, r)),
    "email HTML/markdown @": (("EMAIL",), lambda v, k, r: markup_at(v, r)),
    "email &#64; &commat;": (("EMAIL",), lambda v, k, r: entity_at(v, r)),
    "email ＠ ． 。": (("EMAIL",), lambda v, k, r: cjk_punctuation(v, r)),
    "email reversed": (("EMAIL",), lambda v, k, r: reversed_text(v, r)),
    "address Japanese": (("ADDR_JA",), lambda v, k, r: v),
    "address Chinese": (("ADDR_ZH",), lambda v, k, r: v),
    "address Russian/Ukrainian": (("ADDR_RU",), lambda v, k, r: v),
    "address Arabic": (("ADDR_AR",), lambda v, k, r: v),
}
FIELD_BREAK = "\x00"  # marks where a value is cut into two request fields


def _split(value: str, rng: random.Random, mark: str) -> str:
    cut = rng.randint(len(value) // 3, 2 * len(value) // 3)
    return value[:cut] + mark + value[cut:]


def cases(name: str, vals: dict[str, list[str]], seed: int) -> tuple[list[Planted], list[Planted]]:
    """(evasive cases, baseline cases with the same values written plainly)."""
    rng = random.Random(f"{seed}-{name}")
    kinds, hide = CLASSES[name]
    evasive, plain = [], []
    for kind in kinds:
        for i, value in enumerate(vals[kind]):
            template = TEMPLATES[kind][i % len(TEMPLATES[kind])]
            text = template.format(v=hide(value, kind, rng))
            evasive.append(Planted(kind, value, tuple(text.split(FIELD_BREAK))))
            plain.append(Planted(kind, value, (template.format(v=value),)))
    return evasive, plain


_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")
_SPELLED = re.compile(
    r"\s*[\[({<]?\s*\b(at[- ]?sign|at[- ]symbol|at|dot|period|point)\b\s*[\])}>]?\s*",
    re.IGNORECASE,
)


def _unb64(match: re.Match[str]) -> str:
    run = match[0]
    try:
        raw = base64.b64decode(run.replace("-", "+").replace("_", "/") + "==", validate=False)
        text = raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return run
    return text if text.isprintable() else run


def reveal(text: str) -> tuple[str, ...]:
    """Undo every evasion above, as a reader who knows them would: the text with runs that
    look like base64 decoded, and without (a digit run may decode to printable noise)."""
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = unicodedata.normalize("NFKC", text)
    text = "".join(UNFOLD.get(ch, ch) for ch in text)
    text = "".join(str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in text)
    text = undo(urllib.parse.unquote(text))
    text = _SPELLED.sub(lambda m: "@" if m[1].lower().startswith("at") else ".", text)
    return text, _B64_RUN.sub(_unb64, text)


def _skeleton(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())  # any script: addresses


def leaked(value: str, forwarded: tuple[str, ...]) -> bool:
    """True when most of `value` (a run of at least 60% of its letters and digits, and at
    least 6) can still be read from the forwarded fields, forwards or backwards (RLO)."""
    seen = " ".join(_skeleton(t) + " " + _skeleton(t[::-1]) for t in reveal("".join(forwarded)))
    want = _skeleton(reveal(value)[0])  # folded as the forwarded text is (Cyrillic)
    window = max(6, round(0.6 * len(want)))
    return any(want[i : i + window] in seen for i in range(len(want) - window + 1))
