"""The shapes our recognizers share: Presidio's `PatternRecognizer` with its entity,
patterns, context words and regex flags as class attributes, and a `LocalRecognizer` with its
own `analyze()`, its entities as a class attribute."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import LocalRecognizer, Pattern, PatternRecognizer, RecognizerResult

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


class ClassLocalRecognizer(LocalRecognizer):
    ENTITIES: ClassVar[list[str]]
    name: str  # set by EntityRecognizer; declared for mypy

    def __init__(
        self, supported_language: str = "en", supported_entities: list[str] | None = None
    ) -> None:
        entities = self.ENTITIES if supported_entities is None else supported_entities
        super().__init__(supported_entities=list(entities), supported_language=supported_language)

    def load(self) -> None:
        pass

    def metadata(self) -> dict[str, str]:
        """A result's recognition metadata: a new dict for each result, as Presidio's
        context enhancement writes into it."""
        return {
            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
        }
