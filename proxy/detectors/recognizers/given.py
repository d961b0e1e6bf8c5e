"""A given name followed by a surname, where spaCy's small model sees no person: in tables,
lists and results ("Scott Draper ( Australia ) beat ...", "Lindsay Davenport 6-3"), after
words it does not expect a name after, or in text too short for context.

A capitalised word that is a given name (US Census Bureau 1990 lists, data/given_names.txt),
then, with at most one initial between, one or two capitalised words, in title case or all
in capitals ("Cashier: MARIA LOPEZ"); or a given name alone in title case inside a sentence
("a birthday card for Emma"), at a score just at what the strict policy acts on. A run of more
capitalised words is title case ("Rose Garden At Night"), not a name, and so is a run that
ends like a place or a thing ("Golden Gate Bridge"): both are skipped. The text is read once,
word by word: linear in its length.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import regex  # type: ignore[import-untyped]
from presidio_analyzer import RecognizerResult

from proxy.detectors.name_weight import given_names
from proxy.detectors.recognizers.base import ClassLocalRecognizer

if TYPE_CHECKING:
    from presidio_analyzer.nlp_engine import NlpArtifacts

_WORD = regex.compile(
    r"(?<![\p{L}\p{N}'’.-])(?:(?P<title>\p{Lu}\p{Ll}[\p{Ll}'’]*(?:-\p{Lu}\p{Ll}+)?)"
    r"|(?P<caps>\p{Lu}{2,}(?:['’]\p{Lu}+)?))(?![\p{L}\p{N}])"
)
_POSSESSIVE = regex.compile(r"['’]s$")
_SENTENCE_END = frozenset('.!?\n"“”«»([{-–—:;')
_INITIAL = regex.compile(r"[ \t]+\p{Lu}\.[ \t]+")
_BLANKS = regex.compile(r"[ \t]+")
SCORE = 0.75
# One capitalised given name inside a sentence ("a birthday card for Emma", "Emma's party"):
# the shipped strict policy acts at 0.7. At a sentence's start capitals say nothing.
SINGLE_SCORE = 0.7
# Words that end the name of a place or a thing, not a person's ("Sydney Opera House",
# "Golden Gate Bridge", "Charles River", "Rosetta Stone"): a run holding one is no name.
THING_WORDS = frozenset(
    "academy airport alley avenue bay beach boulevard bridge building canyon castle cathedral "
    "center centre church city college company corporation county court creek district falls "
    "forest fort garden gardens gate hall harbor harbour heights highway hill hills hospital "
    "hotel house institute island islands lake lane library mall manor market memorial "
    "mountain mountains museum ocean palace park parkway pass peak plaza point pond port "
    "quarter range river road school sea square stadium station stone street temple theater "
    "theatre tower towers trail university valley village way woods".split()
)
# Labels for named things that are not people: spaCy's, and Presidio's names for them.
NOT_PEOPLE = frozenset(
    {"GPE", "LOC", "FAC", "ORG", "PRODUCT", "WORK_OF_ART", "EVENT", "NORP", "LAW", "LANGUAGE",
     "LOCATION", "ORGANIZATION"}
)  # fmt: skip
MAX_RUN = 3  # a given name and at most two more capitalised words


class GivenNameRecognizer(ClassLocalRecognizer):
    """A given name and a surname, capitalised, outside a run of title case."""

    ENTITIES = ["PERSON"]

    def load(self) -> None:
        given_names()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        others = _not_people(nlp_artifacts)
        for run, caps in _runs(text):
            first_start, first_end = run[0]
            first = _POSSESSIVE.sub("", text[first_start:first_end].casefold())
            if len(run) > MAX_RUN or first not in given_names():
                continue
            if any(text[a:b].casefold() in THING_WORDS for a, b in run[1:]):
                continue
            score = SCORE
            if len(run) == 1:
                if caps or _starts_sentence(text, first_start):
                    continue
                if any(a < first_end and first_start < b for a, b in others):
                    continue  # spaCy read it as a place, a work, a company: "Statue of Liberty"
                score, run = SINGLE_SCORE, [(first_start, first_start + len(first))]
            span = (first_start, run[-1][1])
            results.append(
                RecognizerResult("PERSON", *span, score, recognition_metadata=self.metadata())
            )
        return results


def _not_people(nlp_artifacts: NlpArtifacts | None) -> list[tuple[int, int]]:
    """Where spaCy's model sees a named thing that is not a person."""
    entities = getattr(nlp_artifacts, "entities", None) or ()
    return [(e.start_char, e.end_char) for e in entities if e.label_ in NOT_PEOPLE]


def _starts_sentence(text: str, start: int) -> bool:
    before = text[max(0, start - 40) : start].rstrip()
    return not before or before[-1] in _SENTENCE_END


def _runs(text: str) -> list[tuple[list[tuple[int, int]], bool]]:
    """Runs of capitalised words joined by blanks (or by an initial: "John F. Kennedy"), each
    all in capitals or all in title case, and which of the two."""
    runs: list[tuple[list[tuple[int, int]], bool]] = []
    for word in _WORD.finditer(text):
        start, end = word.span()
        caps = word.group("caps") is not None
        if runs and runs[-1][1] == caps:
            gap = text[runs[-1][0][-1][1] : start]
            if _BLANKS.fullmatch(gap) or _INITIAL.fullmatch(gap):
                runs[-1][0].append((start, end))
                continue
        runs.append(([(start, end)], caps))
    return runs
