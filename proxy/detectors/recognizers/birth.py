"""Dates of birth: a date that a birth cue introduces ("born 12 March 1985", "DOB:
1985-03-12", "date of birth 03/12/85", "Geburtsdatum 12.03.1985").

A date alone is no personal data (a poster for a concert on 12 March); with a birth cue a few
words before it, it is one of the identifiers that single a person out. The cue is matched
by a look-behind of bounded length, so the finding covers the date alone, and each start
position reads at most `_GAP` characters back: linear in the text.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern

from proxy.detectors.recognizers.base import ClassPatternRecognizer

_CUES = (
    r"born|birth|birthday|birthdate|birth date|date of birth|d\.?o\.?b\.?|b\.|"
    r"geboren|geburtsdatum|geb\.|n[ée]e?|date de naissance|nacid[oa]|fecha de nacimiento|"
    r"nato|nata|data di nascita|nascid[oa]|data de nascimento"
)
_GAP = 24  # characters between the cue and the date: "born on the", "DOB (dd/mm/yyyy):"
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_NUMERIC = r"\d{1,4}[./-]\d{1,2}[./-]\d{2,4}"
_DAY_MONTH = rf"\d{{1,2}}(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?(?:{_MONTHS})\.?,?[ \t]+\d{{2,4}}"
_MONTH_DAY = rf"(?:{_MONTHS})\.?[ \t]+\d{{1,2}}(?:st|nd|rd|th)?,?[ \t]+\d{{2,4}}"
_BEHIND = rf"(?<=(?i:\b(?:{_CUES}))[^\d\n]{{0,{_GAP}}})"


class DateOfBirthRecognizer(ClassPatternRecognizer):
    """A date a few characters after a birth cue."""

    ENTITY = "DATE_OF_BIRTH"
    FLAGS = re.MULTILINE

    PATTERNS = [
        Pattern("dob_numeric", rf"(?=\d){_BEHIND}(?:{_NUMERIC})\b", 0.85),
        Pattern("dob_day_month", rf"(?=\d){_BEHIND}(?i:{_DAY_MONTH})\b", 0.85),
        Pattern("dob_month_day", rf"(?=\p{{L}}){_BEHIND}(?i:{_MONTH_DAY})\b", 0.85),
    ]
    # No CONTEXT words: the cue is part of every pattern, so no context boost.
