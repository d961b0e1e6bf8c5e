"""The default policy against real image prompts (PartiPrompts): they must pass untouched."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from proxy.detectors import build_detectors
from proxy.engine.pipeline import Pipeline
from proxy.model import Action, ImageRequest, TextPart
from proxy.policy import bundled_policy_path, load_policy

PARTI = Path(__file__).resolve().parents[3] / "shared" / "data" / "parti_prompts_dev.tsv"


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    policy = load_policy(str(bundled_policy_path("default")))
    return Pipeline(policy, build_detectors(policy))


def test_default_policy_leaves_at_least_98_percent_of_parti_prompts_untouched(
    pipeline: Pipeline,
) -> None:
    with PARTI.open(newline="") as f:
        prompts = [row["Prompt"] for row in csv.DictReader(f, delimiter="\t")]
    assert len(prompts) > 800
    touched: Counter[str] = Counter()
    for prompt in prompts:
        outcome = pipeline.run(ImageRequest("t", "t", (TextPart("p", prompt),)))
        if outcome.decision.action is not Action.ALLOW:
            touched[outcome.decision.rule_id] += 1
    assert sum(touched.values()) / len(prompts) <= 0.02, touched.most_common(5)


@pytest.mark.parametrize(
    ("prompt", "action"),
    [
        ("A portrait of Abraham Lincoln in front of the Eiffel Tower", Action.ALLOW),
        ("Starry night over Paris in the style of Van Gogh", Action.ALLOW),
        ("a birthday card for maria.garcia@example.com", Action.REDACT),
        ("call me on +1 415 555 0100 and draw a dog", Action.REDACT),
        ("a receipt with card number 4111 1111 1111 1111", Action.BLOCK),
        ("transfer to IBAN GB82 WEST 1234 5698 7654 32", Action.BLOCK),
    ],
)
def test_default_policy_decisions(pipeline: Pipeline, prompt: str, action: Action) -> None:
    outcome = pipeline.run(ImageRequest("t", "t", (TextPart("p", prompt),)))
    assert outcome.decision.action is action
