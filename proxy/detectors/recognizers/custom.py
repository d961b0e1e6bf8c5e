"""A policy's own recognizers (`recognizers:` in its YAML), as Presidio recognizers.

Unlike ours, these are data, not classes: each is built from the policy's patterns,
deny-list and context words when the text analyzer is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from presidio_analyzer import Pattern, PatternRecognizer

if TYPE_CHECKING:
    from proxy.policy import CustomRecognizer


def custom_recognizer(spec: CustomRecognizer, language: str, index: int) -> PatternRecognizer:
    """The policy's `index`-th recognizer, named "policy:<ENTITY>:<index>"."""
    patterns = [
        Pattern(name=f"{spec.entity.lower()}_{n}", regex=p.regex, score=p.score)
        for n, p in enumerate(spec.patterns)
    ]
    # Presidio tells "no patterns" from "empty patterns" by None; its annotations do not.
    optional: dict[str, Any] = {
        "patterns": patterns or None,
        "deny_list": list(spec.deny_list) or None,
        "context": list(spec.context) or None,
    }
    return PatternRecognizer(
        supported_entity=spec.entity,
        name=f"policy:{spec.entity}:{index}",
        supported_language=language,
        deny_list_score=spec.deny_list_score,
        **optional,
    )
