"""Personal names right after a cue that introduces a person, which spaCy's small model misses.

A capitalised name after "my name is", "Dear", "Mr.", "Name:" and the like, after a greeting
or a thank-you before punctuation, or alone on a line of two or three capitalised words (a
signature, a letterhead). The cue is matched by a look-behind (the `regex` module allows
any length), so the finding covers the name alone and redaction keeps the sentence readable.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern

from proxy.detectors.recognizers.base import ClassPatternRecognizer

_NAME = r"\p{Lu}[\p{Ll}'’-]+(?:[ \t]+\p{Lu}[\p{Ll}'’-]+){0,2}"
# Each pattern first looks ahead for the capital its name starts with: the engine evaluates
# a look-behind at every position it tries, and one that reads back over a run of blanks
# from every blank in it costs the square of the run. Blanks inside a look-behind are
# written so that only one split of a run can match ("[ \t]*(?:\n[ \t]*)?", not
# "[ \t]*\n?[ \t]*").
_STRONG_CUES = (
    r"my name is|my name's|name is|i am called|call me|named|name:|full name:|dear|"
    r"mr\.?|mrs\.?|ms\.?|miss|mx\.?|dr\.?|prof\.?|sincerely,?|regards,?|signed,?|"
    r"attn:?|from:|to:|cc:|directed by:?|written by:?|starring:?|patient:?|employee:?|"
    r"customer:?|contact:?"
)
_WEAK_CUES = r"hi|hello|hey|thanks|thank you|bye|love|yours|with"

# A line holding only two or three capitalised words (a signature, a letterhead, an address
# block's first line) is often a name: weak evidence, for policies that redact broadly.
_NAME_LINE = (
    r"(?<=^[ \t]*(?:>[ \t]*)?)\p{Lu}[\p{Ll}'’-]+(?:[ \t]+(?:\p{Lu}\.|\p{Lu}[\p{Ll}'’-]+)){1,2}"
    r"(?=[ \t]*$)"
)


class PersonCueRecognizer(ClassPatternRecognizer):
    """A name after a cue ("my name is", "Dear", "Mr.", "Name:"), or alone on a line."""

    ENTITY = "PERSON"
    FLAGS = re.MULTILINE  # Not Presidio's default (IGNORECASE): capitalisation is the evidence.

    PATTERNS = [
        Pattern(
            "cue_strong",
            rf"(?=\p{{Lu}})(?<=(?i:\b(?:{_STRONG_CUES}))[ \t]*(?:\n[ \t]*)?){_NAME}",
            0.7,
        ),
        Pattern(
            "cue_weak",
            rf"(?=\p{{Lu}})(?<=(?i:\b(?:{_WEAK_CUES}))[ \t,]+){_NAME}(?=[ \t]*[,!.:\n])",
            0.5,
        ),
        Pattern("name_line", rf"(?=\p{{Lu}}){_NAME_LINE}", 0.35),
    ]
    # No CONTEXT words: the cue is part of every pattern, so no context boost.
