"""Which entities a text can hold at all, decided by a few cheap scans before Presidio runs.

Most recognizers cannot match a text that lacks a certain character: every pattern of a
card, IBAN, SSN, phone or street-address recognizer holds a decimal digit, every email
pattern an "@". Most prompts hold no digit, no "@", no colon and no free-standing "at", so
for them most recognizers would scan the whole text for nothing. `Prefilter.entities(text)`
names the entities that at least one of their recognizers could find in `text`; an empty
list means Presidio need not run at all (not even spaCy's tokenizer).

A gate never changes a finding: Presidio runs the same recognizers on the same text as
without it, less those that provably find nothing there. A recognizer not named in
`REQUIRES` (a policy's own, Presidio's URL, MAC or UUID recognizer, those of other
languages, spaCy's NER on a real model) is always run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import regex  # type: ignore[import-untyped]  # the engine Presidio compiles its patterns with

# `\d` in Presidio's patterns, in phonenumbers' and in ours is any Unicode decimal digit
# (category Nd), in `re` and `regex` alike: the gate is the same class.
_DIGIT = re.compile(r"\d")
_AT_SIGN = re.compile("@")
_DIGIT_OR_COLON = re.compile(r"[\d:]")
# SpelledEmailRecognizer: an "at" between blanks or brackets (with the patterns' own
# case-folding, hence `regex`), or a real "@" before a spelled "dot".
# Our name recognizers: every pattern ends in a capitalised word (case-sensitive \p{Lu}).
_UPPER = regex.compile(r"\p{Lu}")
_SPELLED_AT = regex.compile(r"(?<=[ \t\[({<])(?i:at)(?=[ \t\])}>])|@")

# Recognizer name -> a pattern found in every text the recognizer finds anything in.
# Checked against each recognizer's patterns (tests/detectors/test_prefilter.py).
REQUIRES: dict[str, Any] = {
    # Presidio's predefined recognizers (en): every alternative of every pattern holds
    # \d or [0-9]; phonenumbers' matcher pattern starts each block with \d.
    "CreditCardRecognizer": _DIGIT,
    "CryptoRecognizer": _DIGIT,  # (bc1|[13])...
    "DateRecognizer": _DIGIT,
    "IbanRecognizer": _DIGIT,
    "MedicalLicenseRecognizer": _DIGIT,
    "NhsRecognizer": _DIGIT,
    "PhoneRecognizer": _DIGIT,
    "UsBankRecognizer": _DIGIT,
    "UsItinRecognizer": _DIGIT,
    "UsLicenseRecognizer": _DIGIT,
    "UsPassportRecognizer": _DIGIT,
    "UsSsnRecognizer": _DIGIT,
    "EmailRecognizer": _AT_SIGN,
    "IpRecognizer": _DIGIT_OR_COLON,  # IPv4 needs digits, every IPv6 form a colon
    # Ours (proxy.detectors.recognizers: .address, .cards, .iban, .phone, .spelled, .names,
    # .people), by class name.
    "StreetAddressRecognizer": _DIGIT,  # a house number or box number in every pattern
    "DateOfBirthRecognizer": _DIGIT,  # every date holds its year in digits
    "GivenNameRecognizer": _UPPER,  # a capitalised given name
    "LuhnCardRecognizer": _DIGIT,
    "SeparatedCardRecognizer": _DIGIT,  # groups of digits
    "SeparatedIbanRecognizer": _DIGIT,
    "ContextPhoneRecognizer": _DIGIT,
    "SpelledEmailRecognizer": _SPELLED_AT,
    "PersonCueRecognizer": _UPPER,
    "PersonRoleRecognizer": _UPPER,
}
_NER = "SpacyRecognizer"  # finds nothing on the tokenizer-only pipeline (no entities)
_NEVER = re.compile(r"(?!)")


class Prefilter:
    """For one analyzer: the entities worth looking for in a given text.

    `recognizers` are those Presidio would run for `entities` (all of them when
    `entities` is None); `light`: the pipeline has no named-entity recognizer."""

    def __init__(
        self, recognizers: Sequence[Any], entities: Iterable[str] | None, light: bool
    ) -> None:
        wanted = (
            sorted({e for r in recognizers for e in r.supported_entities})
            if entities is None
            else list(entities)
        )
        gates: dict[str, list[Any]] = {e: [] for e in wanted}
        for recognizer in recognizers:
            gate = _NEVER if light and recognizer.name == _NER else REQUIRES.get(recognizer.name)
            for entity in recognizer.supported_entities:
                if entity in gates:
                    gates[entity].append(gate)
        # An entity with an ungated recognizer (None) is always looked for.
        self._entities = [(e, None if None in gates[e] else tuple(gates[e])) for e in wanted]
        self._patterns = tuple(
            {id(g): g for _, gs in self._entities for g in gs or () if g is not _NEVER}.values()
        )
        self._lists: dict[frozenset[int], list[str]] = {}

    def entities(self, text: str) -> list[str]:
        """The entities to analyse `text` for, in a stable order; [] when none can be in it.
        The same list object is returned for the same answer: do not change it."""
        passed = frozenset(id(p) for p in self._patterns if p.search(text))
        answer = self._lists.get(passed)
        if answer is None:
            answer = [
                e for e, gs in self._entities if gs is None or any(id(g) in passed for g in gs)
            ]
            self._lists[passed] = answer
        return answer
