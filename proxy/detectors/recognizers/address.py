"""Street addresses, which Presidio does not recognise.

Patterns for the common shapes: number first ("221B Baker Street", "12 rue de la Paix"),
street type first ("Avenida Noruega 42", "Via Roma 5"), compound street names
("Hauptstraße 5", "Kerkstraat 12", "Storgatan 3") and post boxes ("P.O. Box 255").
Street words are capitalised in the first shape, so "2 dogs on the road" is not an address.
Weaker shapes (a street line of its own, a street part alone) count with a context word or
in policies that redact everything; patterns for other scripts are in address_intl.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern

from proxy.detectors.recognizers.address_intl import PATTERNS as OTHER_SCRIPTS
from proxy.detectors.recognizers.base import ClassPatternRecognizer

_SUFFIX = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Square|Sq|"
    r"Terrace|Ter|Way|Parkway|Pkwy|Circle|Cir|Highway|Hwy|Trail|Crescent|Close|Grove|Gardens|"
    r"Row|Mews|Walk|Alley|Loop|Pike|Plaza|Ridge|Crossing|Expressway|Esplanade|Quay|Wharf"
)
_NAME_WORD = r"[A-Z][\w'’.-]*"
_UNIT = r"(?:,?\s*(?i:apt|apartment|suite|ste|unit|flat|#)\.?\s*[\w-]{1,6})?"
_NUMBER = r"\d{1,6}[A-Za-z]?(?:[-/]\d{1,4})?"

# Street words that end a compound name: German, Dutch, Nordic, Baltic, Finnish, Icelandic.
_STREET_ENDINGS = (
    r"straße|strasse|str\.|weg|gasse|platz|allee|damm|ufer|"
    r"straat|laan|plein|gracht|kade|singel|wei|"
    r"gatan|vägen|gata|gade|vej|veien|gaten|vegen|stig|stígur|vegur|braut|stræti|"
    r"tie|katu|kuja|polku|raitti|iela|gatve|utca"
)
_COMPOUND = rf"[A-ZÄÖÜÅÆØÞ][\wäöüßåæøþðáéíóú-]*(?:{_STREET_ENDINGS})"

# An address block's street line: a line of its own holding a house number and one to
# three capitalised words, in either order. Weak alone (a line "Apollo 11" is not an
# address); the context words below, or a policy that redacts everything, make it count.
_STREET_LINE = (
    # The first character looked for first: the look-behind then runs only where a street
    # line can start, not from every blank of a long run back over all of it (quadratic).
    r"(?=[\d\p{Lu}])(?<=^[ \t]*(?:>[ \t]*)?)"
    r"(?:\d{1,5}[A-Za-z]?,?[ \t]+\p{Lu}[\p{L}.'’-]+(?:[ \t]+\p{Lu}[\p{L}.'’-]+){0,2}"
    r"|\p{Lu}[\p{L}.'’-]+(?:[ \t]+\p{Lu}[\p{L}.'’-]+){0,2}[ \t]+\d{1,5}[A-Za-z]?)"
    r"(?=[ \t]*,?[ \t]*$)"
)
# A street part in any script: a house number and capitalised words (with short lower-case
# particles: "Trg revolucije", "Berings gate"), before or after each other.
_CAP = r"\p{Lu}[\p{L}'’.-]*"
_STREET_PART = (
    rf"(?:\b\d{{1,5}}[A-Za-z]?,?[ \t]+(?:C/[ \t]*)?{_CAP}(?:[ \t]+[\p{{L}}'’.-]+){{0,3}}"
    rf"|(?<![\p{{L}}'’.-]){_CAP}(?:[ \t]+[\p{{L}}'’./-]+){{0,3}}?[ \t]+\d{{1,5}}[A-Za-z]?\b)"
)
# What follows a street part in a postal address: an apartment or suite, a postcode and a
# town, or a town, a state code and a ZIP code. Together they are strong evidence.
_UNIT_PART = r"\s*(?i:apt|apartment|suite|ste|unit|flat)\.?[ \t]*#?[\w-]{1,6}\b"
_TOWN_PART = (
    r"(?:,[ \t]*|[ \t]*\n\s*)(?:\d{3,6}[ \t]+\p{Lu}"
    r"|\p{Lu}[\p{L}'’ .-]*,[ \t]*\p{Lu}{2}[ \t]+\d{3,6}\b)"
)


class StreetAddressRecognizer(ClassPatternRecognizer):
    """A street address: the Latin-script shapes first, then those of other scripts."""

    ENTITY = "STREET_ADDRESS"
    FLAGS = re.DOTALL | re.MULTILINE

    # No IGNORECASE (Presidio's default): capitalisation is part of the evidence.
    PATTERNS = [
        Pattern(
            "number_name_suffix",
            rf"\b{_NUMBER},?\s+(?:{_NAME_WORD}\s+){{1,4}}(?:{_SUFFIX})\b\.?{_UNIT}",
            0.6,
        ),
        Pattern(
            "number_french_type",
            r"\b\d{1,5}(?:\s?(?:bis|ter))?,?\s+(?i:rue|avenue|boulevard|bd|place|chemin|allée|allee|"
            r"impasse|quai|route|cours)\s+(?:(?:de|du|des|la|le|l'|d')\s*)*[A-ZÀ-Ý][\w'’-]*",
            0.6,
        ),
        Pattern(
            "type_name_number",
            r"\b(?:Calle|C/|Avenida|Avda\.|Av\.|Rua|R\.?|Travessa|Largo|Via|Viale|Piazza|Corso|"
            r"Strada|Carrer|Paseo|Plaza|Ulica|ul\.|Ulice|Rruga|Odos|Odós)\s+"
            r"(?:[\w'’.-]+\s+){0,4}?\d{1,5}[a-z]?\b",
            0.6,
        ),
        Pattern("compound_name_number", rf"\b{_COMPOUND}\s+\d{{1,5}}[a-z]?\b", 0.6),
        Pattern("number_compound_name", rf"\b\d{{1,5}}[a-z]?,?\s+{_COMPOUND}\b", 0.6),
        Pattern(
            "post_box",
            r"\b(?:P\.?\s?O\.?\s?Box|(?i:post\s+office\s+box|postbox)|Postfach|Apartado|"
            r"Caixa\s+Postal|Boîte\s+postale|BP)\s+\d{1,7}\b|\b\d{1,7}\s+(?i:postbox|po\s+box)\b",
            0.7,
        ),
        Pattern("street_line", _STREET_LINE, 0.3),
        Pattern("street_then_unit", rf"{_STREET_PART}(?={_UNIT_PART})", 0.6),
        Pattern("street_then_town", rf"{_STREET_PART}(?={_TOWN_PART})", 0.6),
        # Alone, the shape is weak ("Apollo 11", "3 Little Pigs."): policies that redact
        # everything, or a context word ("address", "located") near it, make it count.
        Pattern("street_part", rf"{_STREET_PART}(?=[ \t]*(?:[,;.?!)]|$))", 0.35),
        *OTHER_SCRIPTS,
    ]
    CONTEXT = [
        "address", "street", "live", "lives", "living", "deliver", "ship", "mail", "post",
        "home", "located", "office",
    ]  # fmt: skip
