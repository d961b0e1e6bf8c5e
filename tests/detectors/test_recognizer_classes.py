"""Our recognizers are module-level classes in Presidio's style, named as the prefilter's
gates expect, and importing the detectors does not import them (nor Presidio)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from presidio_analyzer import EntityRecognizer, PatternRecognizer

from proxy.detectors import recognizers
from proxy.detectors.prefilter import REQUIRES
from proxy.detectors.recognizers import custom_recognizer
from proxy.detectors.text_pii import extra_recognizers
from proxy.policy import CustomRecognizer, Pattern

CLASSES = [getattr(recognizers, name) for name in recognizers.__all__ if name[0].isupper()]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_a_recognizer_is_built_from_its_class_attributes(cls: type[EntityRecognizer]) -> None:
    recognizer = cls(supported_language="de")
    assert recognizer.name == cls.__name__
    assert recognizer.supported_language == "de"
    if isinstance(recognizer, PatternRecognizer):
        assert [p.regex for p in recognizer.patterns] == [p.regex for p in cls.PATTERNS]
        assert recognizer.context == list(cls.CONTEXT)


def test_the_registry_gets_one_of_each_of_ours_in_a_fixed_order() -> None:
    names = [r.name for r in extra_recognizers("en")]
    assert names == [
        "StreetAddressRecognizer", "PersonCueRecognizer", "PersonRoleRecognizer",
        "LuhnCardRecognizer", "SeparatedCardRecognizer", "SeparatedIbanRecognizer",
        "ContextPhoneRecognizer", "SpelledEmailRecognizer", "DateOfBirthRecognizer",
        "GivenNameRecognizer",
    ]  # fmt: skip
    assert set(names) <= set(REQUIRES)  # every one of ours is gated


def test_a_policy_recognizer_is_named_by_its_entity_and_place() -> None:
    spec = CustomRecognizer("EMPLOYEE_ID", (Pattern("emp", r"EMP-\d{6}", 0.9),))
    recognizer = custom_recognizer(spec, "en", 2)
    assert isinstance(recognizer, PatternRecognizer)
    assert recognizer.name == "policy:EMPLOYEE_ID:2"
    assert [p.name for p in recognizer.patterns] == ["employee_id_0"]
    assert recognizer.context is None  # no context words: no boost


def test_importing_the_detectors_imports_no_recognizer() -> None:
    code = (
        "import sys, proxy.detectors; "
        "print(any(m.startswith(('presidio_analyzer', 'proxy.detectors.recognizers')) "
        "for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
