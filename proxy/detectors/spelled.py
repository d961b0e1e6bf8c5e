"""Email addresses written out to slip past pattern matching: "jane dot doe at example dot
com", "jane(at)example(dot)com", "jane [at] example [dot] com".

A bracketed "at", or a spelled "dot" in the domain, is a deliberate disguise and counts on
its own. A plain " at " between a word and a dotted domain ("jane at example.com") is also
how people write "look at example.com", so it counts only with a context word nearby
("email", "mail", "contact", ...). The domain must end in a public suffix.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

ENTITY = "EMAIL_ADDRESS"

_WORD = r"[A-Za-z0-9](?:[A-Za-z0-9_%+-]{0,62}[A-Za-z0-9])?"
_OPEN, _CLOSE = r"[\[({<]", r"[\])}>]"
_DOT_SPELLED = rf"(?:[ \t]*{_OPEN}[ \t]*(?i:dot)[ \t]*{_CLOSE}[ \t]*|[ \t]+(?i:dot)[ \t]+)"
_DOT = rf"(?:{_DOT_SPELLED}|\.)"
_AT_BRACKETED = rf"[ \t]*{_OPEN}[ \t]*(?i:at)[ \t]*{_CLOSE}[ \t]*"
_AT_PLAIN = r"[ \t]+(?i:at)[ \t]+"
_LOCAL = rf"(?<![\w.@]){_WORD}(?:{_DOT}{_WORD}){{0,4}}"
_DOMAIN = rf"{_WORD}(?:{_DOT}{_WORD}){{1,4}}(?![\w@]|\.\w)"
_DOMAIN_SPELLED = rf"{_WORD}(?:{_DOT}{_WORD}){{0,3}}{_DOT_SPELLED}{_WORD}(?:{_DOT}{_WORD}){{0,3}}"

PATTERNS: tuple[tuple[str, str, float], ...] = (
    ("at_bracketed", rf"{_LOCAL}{_AT_BRACKETED}{_DOMAIN}", 0.6),
    ("dot_spelled", rf"{_LOCAL}(?:{_AT_PLAIN}|@){_DOMAIN_SPELLED}(?![\w@]|\.\w)", 0.6),
    ("at_plain", rf"{_LOCAL}{_AT_PLAIN}{_DOMAIN}", 0.3),
)
CONTEXT = ("email", "e-mail", "mail", "contact", "write", "reach", "address", "send", "message")

_AT = re.compile(rf"{_AT_BRACKETED}|{_AT_PLAIN}")
_DOTS = re.compile(_DOT_SPELLED)


def spelled_out(text: str) -> str:
    """'jane dot doe at example dot com' -> 'jane.doe@example.com'."""
    return _DOTS.sub(".", _AT.sub("@", text, count=1))


@cache
def _suffixes() -> Any:
    import tldextract

    # The suffix list bundled with tldextract: never fetched at run time.
    return tldextract.TLDExtract(suffix_list_urls=())


def has_public_suffix(address: str) -> bool:
    parts = _suffixes()(address.rpartition("@")[2])
    return bool(parts.suffix and parts.domain)


def spelled_email_recognizer(language: str) -> Any:
    from presidio_analyzer import Pattern, PatternRecognizer

    class SpelledEmailRecognizer(PatternRecognizer):
        def validate_result(self, pattern_text: str) -> bool | None:
            # None keeps the pattern's score (True would make it 1.0).
            return None if has_public_suffix(spelled_out(pattern_text)) else False

    return SpelledEmailRecognizer(
        supported_entity=ENTITY,
        name="SpelledEmailRecognizer",
        supported_language=language,
        patterns=[Pattern(n, regex, score) for n, regex, score in PATTERNS],
        context=list(CONTEXT),
        global_regex_flags=0,  # case matters for nothing here but "at"/"dot", set inline
    )
