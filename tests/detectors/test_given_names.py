"""GivenNameRecognizer: a given name and a surname where spaCy sees no person."""

from __future__ import annotations

import pytest

from proxy.detectors.recognizers.given import SCORE, GivenNameRecognizer


@pytest.fixture(scope="module")
def recognizer() -> GivenNameRecognizer:
    return GivenNameRecognizer()


def names(recognizer: GivenNameRecognizer, text: str) -> list[str]:
    results = [r for r in recognizer.analyze(text, ["PERSON"]) if r.score == SCORE]
    assert all(r.entity_type == "PERSON" for r in results)
    return [text[r.start : r.end] for r in results]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("4 - Peter Nicol ( Scotland ) beat 7 - Chris Walker ( England )",
         ["Peter Nicol", "Chris Walker"]),
        ("John F. Kennedy spoke", ["John F. Kennedy"]),
        ("replaced by Les Ferdinand .", ["Les Ferdinand"]),
        ("a card for Priya Raghunathan", []),  # not a given name in the shipped lists
        ("Rose Garden At Night", []),  # a run of title case
        ("the Golden Gate Bridge and the Charles River", []),  # places
        ("Cashier: MARIA LOPEZ", ["MARIA LOPEZ"]),  # in capitals too
        ("SOCCER - SHEARER NAMED AS ENGLAND CAPTAIN", []),  # a headline: a run of capitals
        ("john smith", []),  # lower case: not read here
        ("New York", []),
    ],
)  # fmt: skip
def test_given_name_and_surname(
    recognizer: GivenNameRecognizer, text: str, found: list[str]
) -> None:
    assert names(recognizer, text) == found
