"""The pipeline: detectors, decision, verified redaction."""

from __future__ import annotations

from collections.abc import Sequence

from proxy.detectors.base import Detector
from proxy.engine.pipeline import Pipeline
from proxy.model import Action, Finding, ImageRequest, Source, TextPart
from proxy.policy import load_policy_text

POLICY = """version: 1
audit: {path: null}
rules:
  - {id: contact, entities: [EMAIL_ADDRESS], action: redact}
"""


class FindsWord(Detector):
    """Finds each listed word as an EMAIL_ADDRESS: a stand-in with exact positions."""

    name = "finds_word"

    def __init__(self, *words: str) -> None:
        self.words = words

    def detect(self, request: ImageRequest) -> Sequence[Finding]:
        out = []
        for i, part in enumerate(request.prompts):
            for word in self.words:
                at = part.text.find(word)
                if at >= 0:
                    out.append(Finding("EMAIL_ADDRESS", Source.PROMPT, 1.0, i, at, at + len(word)))
        return out


class SecondLook(FindsWord):
    """Finds `later` only once `first` is gone: context that changes after a redaction."""

    def __init__(self, first: str, later: str) -> None:
        super().__init__(first, later)
        self.first, self.later = first, later

    def detect(self, request: ImageRequest) -> Sequence[Finding]:
        hits = super().detect(request)
        if any(self.first in p.text for p in request.prompts):
            return [f for f in hits if request.prompts[f.part].text[f.start : f.end] == self.first]
        return hits


def run(detector: Detector, text: str) -> tuple[Action, str | None]:
    pipeline = Pipeline(load_policy_text(POLICY, "p.yaml"), [detector])
    outcome = pipeline.run(ImageRequest("t", "t", (TextPart("p", text),)))
    forward = outcome.forward.prompts[0].text if outcome.forward else None
    return outcome.decision.action, forward


def test_what_a_second_look_finds_is_redacted_too() -> None:
    assert run(SecondLook("a@x", "b@x"), "a@x and b@x") == (
        Action.REDACT,
        "<EMAIL_ADDRESS> and <EMAIL_ADDRESS>",
    )


class Stubborn(FindsWord):
    """Always finds something, even in its own placeholders."""

    def detect(self, request: ImageRequest) -> Sequence[Finding]:
        return [Finding("EMAIL_ADDRESS", Source.PROMPT, 1.0, 0, 0, 3)]


def test_redaction_that_never_converges_blocks() -> None:
    assert run(Stubborn(), "a@x b") == (Action.BLOCK, None)
