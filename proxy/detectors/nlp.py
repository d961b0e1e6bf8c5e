"""spaCy for Presidio: loaded once per process, used under one lock, with a bounded memory.

spaCy pipelines are not documented as thread-safe, so every analyzer that shares a loaded
model (a policy and its hot-reloaded successor, say) shares its lock too. spaCy also keeps
every new word it has ever seen in its vocabulary: fed with endless novel prompts, that grows
without end. Once a pipeline has learned `LEARNED_STRINGS` words beyond its own, each call
runs in a spaCy memory zone, so words first seen in a request are forgotten after it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from spacy.tokens import Doc

LEARNED_STRINGS = 20_000  # words (~10 MiB) a pipeline keeps for good: the common ones

# spaCy's thinc and Presidio import these eagerly when installed (the `fallback` extra puts
# them there), for features text detection never uses: ~390 MB per proxy process.
_UNUSED_HEAVY_MODULES = ("torch", "transformers")


@dataclass
class Nlp:
    """A Presidio NLP engine over one spaCy pipeline, and the lock its users share."""

    engine: SpacyNlpEngine
    language: str
    lock: threading.Lock
    budget: int = 0

    def __post_init__(self) -> None:
        self.budget = len(self._pipeline().vocab.strings) + LEARNED_STRINGS

    def _pipeline(self) -> Any:
        assert self.engine.nlp is not None
        return self.engine.nlp[self.language]

    @contextlib.contextmanager
    def using(self) -> Iterator[None]:
        """Hold the pipeline for one analysis."""
        pipeline = self._pipeline()
        with self.lock:
            if len(pipeline.vocab.strings) < self.budget:
                yield
            else:
                with pipeline.memory_zone():
                    yield


def import_nlp_libraries() -> None:
    """Import spaCy and Presidio with torch and transformers made unimportable meanwhile
    (documented: a None entry in sys.modules makes `import` raise ImportError), then restore
    them, so the local fallback can still import torch in the same process."""
    hidden = [name for name in _UNUSED_HEAVY_MODULES if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import presidio_analyzer  # noqa: F401
        import spacy  # noqa: F401
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


_loaded: dict[tuple[str, str], Nlp] = {}
_loading = threading.Lock()


def full_nlp(spacy_model: str, language: str) -> Nlp:
    """Load a spaCy model once per process; the load is the expensive part (~1–5 s)."""
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    key = (spacy_model, language)
    with _loading:
        if key not in _loaded:
            require_model(spacy_model)
            engine = SpacyNlpEngine(models=[{"lang_code": language, "model_name": spacy_model}])
            engine.load()
            # Presidio reads entities, tags and lemmas, never the dependency parse: dropping
            # the parser saves ~18% per prompt with identical findings on PartiPrompts.
            assert engine.nlp is not None  # set by load()
            pipeline = engine.nlp[language]
            if "parser" in pipeline.pipe_names:
                pipeline.disable_pipe("parser")
            _loaded[key] = Nlp(engine, language, threading.Lock())
        return _loaded[key]


def require_model(spacy_model: str) -> None:
    import spacy

    if not (spacy.util.is_package(spacy_model) or os.path.isdir(spacy_model)):
        # Presidio would call spacy.cli.download here; we never fetch models at run time.
        raise LookupError(f"spaCy model {spacy_model!r} is not installed")


def light_nlp(language: str) -> Nlp:
    """spaCy's tokenizer alone, with lower-case lemmas for Presidio's context words.

    ~20x cheaper than the full pipeline, and enough for every recognizer but spaCy's NER.
    """
    import spacy
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from spacy.language import Language

    if not Language.has_factory("pixelgate_lower_lemma"):
        Language.component("pixelgate_lower_lemma", func=_lower_lemma)
    pipeline = spacy.blank(language)
    pipeline.add_pipe("pixelgate_lower_lemma")
    engine = SpacyNlpEngine(models=[{"lang_code": language, "model_name": f"blank_{language}"}])
    engine.nlp = {language: pipeline}  # type: ignore[assignment]  # Presidio annotates it None
    return Nlp(engine, language, threading.Lock())


def _lower_lemma(doc: Doc) -> Doc:
    for token in doc:
        token.lemma_ = token.lower_
    return doc
