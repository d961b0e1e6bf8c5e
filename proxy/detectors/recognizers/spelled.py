"""Email addresses written out to slip past pattern matching: "jane dot doe at example dot
com", "jane(at)example(dot)com", "jane [at] example [dot] com".

A bracketed "at", or a spelled "dot" in the domain, is a deliberate disguise and counts on
its own. A plain " at " between a word and a dotted domain ("jane at example.com") is also
how people write "look at example.com", so it counts only with a context word nearby
("email", "mail", "contact", ...). The domain must end in a public suffix.
"""

from __future__ import annotations

from presidio_analyzer import Pattern

from proxy.detectors.recognizers.base import ClassPatternRecognizer
from proxy.detectors.spelled import (
    AT_BRACKETED,
    AT_PLAIN,
    DOT_SPELLED,
    has_public_suffix,
    spelled_out,
)

_WORD = r"[A-Za-z0-9](?:[A-Za-z0-9_%+-]{0,62}[A-Za-z0-9])?"
_DOT = rf"(?:{DOT_SPELLED}|\.)"
_LOCAL = rf"(?<![\w.@]){_WORD}(?:{_DOT}{_WORD}){{0,4}}"
_DOMAIN = rf"{_WORD}(?:{_DOT}{_WORD}){{1,4}}(?![\w@]|\.\w)"
_DOMAIN_SPELLED = rf"{_WORD}(?:{_DOT}{_WORD}){{0,3}}{DOT_SPELLED}{_WORD}(?:{_DOT}{_WORD}){{0,3}}"


class SpelledEmailRecognizer(ClassPatternRecognizer):
    """An email address with its "at" or a "dot" spelled out or in brackets."""

    ENTITY = "EMAIL_ADDRESS"
    FLAGS = 0  # case matters for nothing here but "at"/"dot", set inline

    PATTERNS = [
        Pattern("at_bracketed", rf"{_LOCAL}{AT_BRACKETED}{_DOMAIN}", 0.6),
        Pattern("dot_spelled", rf"{_LOCAL}(?:{AT_PLAIN}|@){_DOMAIN_SPELLED}(?![\w@]|\.\w)", 0.6),
        Pattern("at_plain", rf"{_LOCAL}{AT_PLAIN}{_DOMAIN}", 0.3),
    ]
    CONTEXT = ["email", "e-mail", "mail", "contact", "write", "reach", "address", "send", "message"]

    def validate_result(self, pattern_text: str) -> bool | None:
        # None keeps the pattern's score (True would make it 1.0).
        return None if has_public_suffix(spelled_out(pattern_text)) else False
