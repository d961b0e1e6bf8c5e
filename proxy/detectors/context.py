"""Presidio's context enhancement at a cost linear in the number of findings.

Presidio's `LemmaContextAwareEnhancer` looks up each finding's token by scanning the token
list from the start, then walks outwards token by token, testing each lemma against a list,
until it has collected its context words, to the end of the text if it must: a text holding
many findings (an 8 KiB prompt of `1:2:3:4:5:6:7:8 ` holds 512) cost tokens x findings x
keywords, 20 s there. This subclass answers the same questions from indexes built once per
analysis: token ends for a bisection, and the positions of the keyword tokens.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

_INDEX = "_pixelgate_context_index"  # kept on the NlpArtifacts of one analysis


class LinearContextEnhancer(LemmaContextAwareEnhancer):
    """Same context words and scores as Presidio's enhancer; O(log n) per finding."""

    def _extract_surrounding_words(self, nlp_artifacts: Any, word: str, start: int) -> list[str]:
        if not nlp_artifacts.tokens:
            return [""]  # as Presidio: no tokens, an empty but valid context
        index = getattr(nlp_artifacts, _INDEX, None)
        if index is None:
            index = _Index(nlp_artifacts)
            setattr(nlp_artifacts, _INDEX, index)
        at = index.token_at(start)
        # Presidio counts the finding's own token too, hence + 1 (see _add_n_words).
        back = index.keywords_backward(at, self.context_prefix_count + 1)
        forward = index.keywords_forward(at, self.context_suffix_count + 1)
        return list(set(back + forward))


class _Index:
    """Where tokens end, and which tokens' lemmas are keywords, for one text."""

    def __init__(self, artifacts: Any) -> None:
        self.ends = [
            i + len(t) for i, t in zip(artifacts.tokens_indices, artifacts.tokens, strict=True)
        ]
        keywords = set(artifacts.keywords)
        self.lemmas = [lemma.lower() for lemma in artifacts.lemmas]
        self.hits = [i for i, lemma in enumerate(self.lemmas) if lemma in keywords]

    def token_at(self, start: int) -> int:
        # Presidio: the first token with idx == start or start < idx + len (the same test,
        # as no token is empty), i.e. the first whose end lies beyond `start`.
        at = bisect_right(self.ends, start)
        if at == len(self.ends):
            raise ValueError("a finding lies outside the tokens")  # Presidio raises too
        return at

    def keywords_backward(self, at: int, n: int) -> list[str]:
        stop = bisect_right(self.hits, at)
        return [self.lemmas[i] for i in reversed(self.hits[max(0, stop - n) : stop])]

    def keywords_forward(self, at: int, n: int) -> list[str]:
        first = bisect_left(self.hits, at)
        return [self.lemmas[i] for i in self.hits[first : first + n]]
