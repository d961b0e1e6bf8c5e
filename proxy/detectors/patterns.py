"""Building our own Presidio pattern recognizers (lazily: importing Presidio is heavy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from proxy.policy import CustomRecognizer


def pattern_recognizer(
    entity: str,
    name: str,
    language: str,
    patterns: Sequence[tuple[str, str, float]],
    context: Sequence[str],
    flags: int,
) -> Any:
    """A PatternRecognizer from (name, regex, score) triples. `flags` replace Presidio's
    default (which includes IGNORECASE): capitalisation is often part of the evidence."""
    from presidio_analyzer import Pattern, PatternRecognizer

    return PatternRecognizer(
        supported_entity=entity,
        name=name,
        supported_language=language,
        patterns=[Pattern(n, regex, score) for n, regex, score in patterns],
        context=list(context),  # empty: no context boost
        global_regex_flags=flags,
    )


def custom_recognizer(spec: CustomRecognizer, language: str, index: int) -> Any:
    """A policy's own recognizer (`recognizers:` in the YAML) as a Presidio recognizer."""
    from presidio_analyzer import Pattern, PatternRecognizer

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
