"""The shape every pattern recognizer of ours shares: Presidio's `PatternRecognizer`, with
its entity, patterns, context words and regex flags as class attributes."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern, PatternRecognizer

PRESIDIO_FLAGS = re.DOTALL | re.MULTILINE | re.IGNORECASE  # PatternRecognizer's default


class ClassPatternRecognizer(PatternRecognizer):
    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[list[Pattern]]
    CONTEXT: ClassVar[list[str]] = []
    FLAGS: ClassVar[int] = PRESIDIO_FLAGS

    def __init__(
        self,
        supported_language: str = "en",
        patterns: list[Pattern] | None = None,
        context: list[str] | None = None,
        supported_entity: str | None = None,
    ) -> None:
        super().__init__(
            supported_entity=supported_entity or self.ENTITY,
            supported_language=supported_language,
            patterns=list(self.PATTERNS if patterns is None else patterns),
            context=list(self.CONTEXT if context is None else context),
            global_regex_flags=self.FLAGS,
        )
