"""Public figures and artists pass the names rule; private people's names and dates of birth
do not (policies/strict.yaml on the real detectors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.detectors import build_detectors
from proxy.detectors.name_weight import WEAK_SCORE, given_names, weigh
from proxy.detectors.public_names import cited_for_style, is_public, public_names
from proxy.engine.pipeline import Pipeline
from proxy.model import Action, ImageRequest, TextPart
from proxy.policy import bundled_policy_path, load_policy, load_policy_text

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_lists_are_real_and_sizeable() -> None:
    names = public_names()
    assert len(names) > 15_000 and all(" " in n for n in names)  # no single words
    assert {"abraham lincoln", "greg rutkowski", "alphonse mucha"} <= names
    assert len(given_names()) > 5_000 and "priya" not in public_names()


@pytest.mark.parametrize(
    ("text", "public"),
    [
        ("Abraham Lincoln", True),
        ("greg rutkowski", True),
        ("Greg Rutkowski's", True),
        ("Greg Rutkowski and Alphonse Mucha", True),
        ("A. A. Milne", True),
        ("donald trump suit", True),  # a prompt's word caught in a lower-case span
        ("Jane Abraham Lincoln", False),  # ... but not in a capitalised one
        ("john smith abraham lincoln", False),  # more than one word besides the name
        ("Lincoln", False),  # one word is never taken for a famous person
        ("Priya Raghunathan", False),
        ("Greg Rutkowski and Priya Raghunathan", False),  # every name of a list, or none
        ("x" * 500, False),
    ],
)
def test_public_names_are_whole_listed_names(text: str, public: bool) -> None:
    assert is_public(text) is public


@pytest.mark.parametrize(
    ("text", "name", "cited"),
    [
        ("a castle at dusk, art by mario testino", "mario testino", True),
        ("portrait, trending on artstation, by kim jung gi and josh kirby", "josh kirby", True),
        ("in the style of Tristan Eaton, Stanley Lau and Tom Bagshaw", "Tom Bagshaw", True),
        ("a letter signed by Jane Carter", "Jane Carter", False),
        ("a card for my mum by Jane Carter", "Jane Carter", False),  # no art in the prompt
        ("art by Tim", "Tim", False),  # one word
        ("art by Ann Lee. Then a card for Bob Stone", "Bob Stone", False),  # another sentence
    ],
)
def test_artists_cited_for_a_style(text: str, name: str, cited: bool) -> None:
    start = text.index(name)
    assert cited_for_style(text, start, start + len(name)) is cited


def test_lower_case_words_that_are_hardly_names_weigh_less() -> None:
    texts = ["octane render, koala, daniel gerhartz, Priya"]

    def weight(word: str) -> tuple[float, bool]:
        start = texts[0].index(word)
        return weigh(texts, 0, start, start + len(word), 0.85)

    assert weight("octane render") == (WEAK_SCORE, False)
    assert weight("koala") == (WEAK_SCORE, False)
    assert weight("daniel gerhartz") == (0.85, False)  # a given name first: a name
    assert weight("Priya") == (0.85, False)  # capitalised: as spaCy said
    assert weigh(texts, 0, 0, 6, 0.85, "LOCATION") == (0.85, False)  # only PERSON changes


@pytest.fixture(scope="module")
def strict() -> Pipeline:
    policy = load_policy(bundled_policy_path("strict"))
    return Pipeline(policy, build_detectors(policy))


def run(pipeline: Pipeline, text: str) -> tuple[Action, str]:
    request = ImageRequest("t", "t", (TextPart("prompt", text),), ())
    outcome = pipeline.run(request, fallback_ready=True)
    forwarded = outcome.forward.prompts[0].text if outcome.forward is not None else text
    return outcome.decision.action, forwarded


@pytest.mark.parametrize(
    "prompt",
    [
        "a portrait of Abraham Lincoln, oil painting",
        "a castle at dusk, art by greg rutkowski and alphonse mucha, trending on artstation",
        "a street in Paris at night",
        "The Statue of Liberty in Minecraft",
        "octane render of a koala eating biryani, 8k",
    ],
)
def test_strict_lets_public_figures_artists_and_places_through(
    strict: Pipeline, prompt: str
) -> None:
    assert run(strict, prompt) == (Action.ALLOW, prompt)


def test_strict_still_finds_public_figures_and_reports_them_public(strict: Pipeline) -> None:
    text = "a portrait of Abraham Lincoln"
    request = ImageRequest("t", "t", (TextPart("prompt", text),), ())
    (person,) = [f for f in strict.run(request).findings if f.entity == "PERSON"]
    assert person.public and text[person.start : person.end] == "Abraham Lincoln"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("prompt", "kept_out"),
    [
        ("a birthday card for my colleague Priya Raghunathan", "Raghunathan"),
        ("a birthday card for Emma, with balloons", "Emma"),
        ("a poster for Tom, born 12 March 1985, retiring this year", "1985"),
        ("ID badge, DOB: 1985-03-12, blue background", "1985-03-12"),
    ],
)
def test_strict_redacts_private_names_and_dates_of_birth(
    strict: Pipeline, prompt: str, kept_out: str
) -> None:
    action, forwarded = run(strict, prompt)
    assert action is Action.REDACT and kept_out not in forwarded


def test_a_rule_with_public_figures_true_acts_on_them_too() -> None:
    policy = load_policy_text(
        "version: 1\nrules:\n  - {id: all-names, entities: [PERSON], public_figures: true, "
        "action: redact}\n",
        "t.yaml",
    )
    pipeline = Pipeline(policy, build_detectors(policy))
    action, forwarded = run(pipeline, "a portrait of Abraham Lincoln")
    assert action is Action.REDACT and "Lincoln" not in forwarded


def test_a_date_alone_is_no_date_of_birth(strict: Pipeline) -> None:
    assert run(strict, "a concert poster dated 2026-03-12")[0] is Action.ALLOW
