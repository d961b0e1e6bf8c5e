"""Building our own Presidio pattern recognizers (lazily: importing Presidio is heavy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


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
