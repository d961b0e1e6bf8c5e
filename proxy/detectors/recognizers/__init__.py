"""PixelGate's Presidio recognizers: module-level classes in Presidio's own style.

Each class holds its patterns and context words as class attributes (`PATTERNS`,
`CONTEXT`) or its entities (`ENTITIES`), and takes `supported_language` first, as
Presidio's predefined recognizers do; its name is its class name, which the prefilter's
gates (proxy.detectors.prefilter) depend on. One module per entity family: street
addresses, cards, IBANs, phone numbers, people's names, dates of birth, spelled-out emails; `custom`
builds a policy's own recognizers from its YAML.

Some replace Presidio recognizers whose patterns cost more than linear time (email, url,
and phone, whose matcher is bounded instead). Python's regex engines hold the GIL while
they match, so a pattern that backtracks quadratically on a crafted prompt stalls every
thread, the proxy's event loop included. Each of those keeps its Presidio original's
name, entity, patterns, context and validation, so findings, scores and the prefilter's
gates are unchanged, and finds the same spans, but never lets the engine retry a long run
of characters from every position in it.

Importing this package imports Presidio: only the text analyzer's builder does
(proxy.detectors.text_pii), when detectors are built.
"""

from __future__ import annotations

from proxy.detectors.recognizers.address import StreetAddressRecognizer
from proxy.detectors.recognizers.birth import DateOfBirthRecognizer
from proxy.detectors.recognizers.cards import LuhnCardRecognizer, SeparatedCardRecognizer
from proxy.detectors.recognizers.custom import custom_recognizer
from proxy.detectors.recognizers.email import EmailRecognizer
from proxy.detectors.recognizers.given import GivenNameRecognizer
from proxy.detectors.recognizers.iban import SeparatedIbanRecognizer
from proxy.detectors.recognizers.names import PersonCueRecognizer
from proxy.detectors.recognizers.people import PersonRoleRecognizer
from proxy.detectors.recognizers.phone import ContextPhoneRecognizer, PhoneRecognizer
from proxy.detectors.recognizers.spelled import SpelledEmailRecognizer
from proxy.detectors.recognizers.url import UrlRecognizer

__all__ = [
    "ContextPhoneRecognizer",
    "DateOfBirthRecognizer",
    "EmailRecognizer",
    "GivenNameRecognizer",
    "LuhnCardRecognizer",
    "PersonCueRecognizer",
    "PersonRoleRecognizer",
    "PhoneRecognizer",
    "SeparatedCardRecognizer",
    "SeparatedIbanRecognizer",
    "SpelledEmailRecognizer",
    "StreetAddressRecognizer",
    "UrlRecognizer",
    "custom_recognizer",
]
