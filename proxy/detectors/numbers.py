"""Card and phone numbers that Presidio's own recognizers miss.

Cards: any 13–19 digit number that passes the Luhn check, grouped or not (Presidio's
pattern knows only some issuer prefixes; Mastercard's 2-series is missing). Phones: a
phone-shaped number scores below any sensible threshold on its own and counts only with
a context word nearby ("phone", "call", "mobile", ...), which Presidio's context
enhancement adds; the phone-number library misses many national formats.
"""

from __future__ import annotations

import re
from typing import Any

CARD = r"(?<![\d.,-])\d(?:[ -]?\d){12,18}(?![\d.,-]?\d)"
PHONE = r"(?<![\w+])\+?(?:\(?\d{1,4}\)?[ .\-/]?){2,6}\d{2,4}(?![\w])"
PHONE_CONTEXT = (
    "phone", "telephone", "tel", "mobile", "cell", "call", "fax", "whatsapp", "sms", "text",
    "number", "reach", "contact", "landline",
)  # fmt: skip


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
        patterns=[Pattern("luhn_13_19", CARD, 0.6)],
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
        patterns=[Pattern("phone_shaped", PHONE, 0.1)],
        context=list(PHONE_CONTEXT),
    )
