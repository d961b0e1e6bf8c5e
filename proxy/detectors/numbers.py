"""Card and phone numbers that Presidio's own recognizers miss.

Cards: any 13–19 digit number that passes the Luhn check, grouped or not (Presidio's
pattern knows only some issuer prefixes; Mastercard's 2-series is missing), groups parted by
spaces, line breaks, dashes, dots or slashes. IBANs: Presidio's pattern allows only a space
or a dash between groups; ours allows what cards allow, and checks country format and
mod-97 as Presidio does. Phones: a
phone-shaped number scores below any sensible threshold on its own and counts only with
a context word nearby ("phone", "call", "mobile", ...), which Presidio's context
enhancement adds; the phone-number library misses many national formats.
"""

from __future__ import annotations

import re
from typing import Any

CARD = r"(?<![\d.,-])\d(?:[ -]?\d){12,18}(?![\d.,-]?\d)"
# Between digit groups: a dash, dot or slash with optional spaces, or up to two spaces or
# line breaks. Only between groups of 3–6 digits: "3.14159265358979" is not a card.
SEPARATOR = r"(?:[ \t]*[-./][ \t]*|\s{1,2})"
CARD_GROUPED = rf"(?<![\d.,/-])\d{{4}}(?:{SEPARATOR}\d{{3,6}}){{2,4}}(?!\d|[.,/-]\d)"
IBAN_RUN = rf"(?<![A-Za-z0-9])[A-Z]{{2}}(?:{SEPARATOR}?\d){{2}}(?:{SEPARATOR}?[A-Z0-9]){{11,32}}"
PHONE = r"(?<![\w+])\+?(?:\(?\d{1,4}\)?[ .\-/]?){2,6}\d{2,4}(?![\w])"
PHONE_CONTEXT = (
    "phone", "telephone", "tel", "mobile", "cell", "call", "fax", "whatsapp", "sms", "text",
    "number", "reach", "contact", "landline",
)  # fmt: skip
# "call" is a spaCy stop word, and Presidio never takes a stop word as context: "call me on
# +1 456 864 1849" would stay at the pattern's 0.1. The cue is therefore part of a pattern.
# What a number can start with, looked for before the look-behind, which then runs only
# there; "[ \t]*(?::[ \t]*)?" splits a run of blanks one way only ("[ \t]*:?[ \t]*" has a
# square number of ways, all tried from every blank of a long run).
PHONE_AFTER_CALL = (
    r"(?=[+(\d])(?<=\b(?i:call|ring)(?:[ \t]+(?i:me|us|him|her|them))?(?:[ \t]+(?i:on|at))?"
    r"[ \t]*(?::[ \t]*)?)" + PHONE
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_recognizer(language: str) -> Any:
    from presidio_analyzer import Pattern, PatternRecognizer

    class LuhnCardRecognizer(PatternRecognizer):
        def validate_result(self, pattern_text: str) -> bool | None:
            # None keeps the pattern's score; True would make it 1.0 (Presidio's convention).
            digits = re.sub(r"\D", "", pattern_text)
            valid = 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits)
            return None if valid else False

    return LuhnCardRecognizer(
        supported_entity="CREDIT_CARD",
        name="LuhnCardRecognizer",
        supported_language=language,
        patterns=[Pattern("luhn_13_19", CARD, 0.6), Pattern("luhn_grouped", CARD_GROUPED, 0.6)],
        context=["card", "credit", "debit", "visa", "mastercard", "amex", "cc"],
    )


def phone_recognizer(language: str) -> Any:
    from presidio_analyzer import Pattern, PatternRecognizer

    class ContextPhoneRecognizer(PatternRecognizer):
        def validate_result(self, pattern_text: str) -> bool | None:
            return None if 7 <= len(re.sub(r"\D", "", pattern_text)) <= 15 else False

    return ContextPhoneRecognizer(
        supported_entity="PHONE_NUMBER",
        name="ContextPhoneRecognizer",
        supported_language=language,
        patterns=[
            Pattern("phone_shaped", PHONE, 0.1),
            Pattern("after_call", PHONE_AFTER_CALL, 0.45),
        ],
        context=list(PHONE_CONTEXT),
    )


IBAN_NAME = "SeparatedIbanRecognizer"


def iban_candidates(run: str) -> list[tuple[int, int]]:
    """Spans in `run` (an IBAN_RUN match) that are IBANs: the longest prefix, ending at a
    character, whose letters and digits fit the country's format and pass mod-97."""
    from presidio_analyzer.predefined_recognizers.generic.iban_patterns import regex_per_country

    where = [i for i, ch in enumerate(run) if ch.isalnum()]
    compact = "".join(run[i] for i in where)
    country = regex_per_country.get(compact[:2])
    if country is None:
        return []
    for n in range(min(len(compact), 34), 14, -1):
        code = compact[:n]
        moved = code[4:] + code[:4]
        if re.fullmatch(country, code) and int("".join(str(int(c, 36)) for c in moved)) % 97 == 1:
            return [(0, where[n - 1] + 1)]
    return []


def iban_recognizer(language: str) -> Any:
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    class SeparatedIbanRecognizer(EntityRecognizer):
        def load(self) -> None:
            self._run = re.compile(IBAN_RUN)

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            results = []
            for m in self._run.finditer(text):
                for start, end in iban_candidates(m[0]):
                    meta = {RecognizerResult.RECOGNIZER_NAME_KEY: IBAN_NAME,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}  # fmt: skip
                    # 1.0: a verified checksum, as Presidio scores its own IBAN matches.
                    found = RecognizerResult("IBAN_CODE", m.start() + start, m.start() + end, 1.0,
                                             recognition_metadata=meta)  # fmt: skip
                    results.append(found)
            return results

    return SeparatedIbanRecognizer(
        supported_entities=["IBAN_CODE"],
        name=IBAN_NAME,
        supported_language=language,
    )
