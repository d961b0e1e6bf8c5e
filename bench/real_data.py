"""Quality on real, annotated public data that you fetch yourself: person-name recall on
CoNLL-2003-style NER files, and the share of real image prompts a policy changes.

    python bench/real_data.py --conll eng.testa --prompts prompts.txt [--policy strict ...]

Nothing is shipped or downloaded here: the corpora have their own licences (CoNLL-2003 is
built on the Reuters RCV1 corpus, research use only; prompt collections vary), so you point
the bench at your copies. What we measured, on which splits, is in bench/results.md.

- `--conll FILE`: one token per line (`token POS chunk TAG`, CoNLL's own columns) with blank
  lines between sentences, or one sentence per line as `token###TAG` pairs. A PER span counts
  as found when any PERSON finding overlaps it, whatever the policy then does with it (the
  policy's min_score and public-figure handling are reported separately as "acted on").
- `--prompts FILE`: one prompt per line; "changed" means the policy's action is not allow.
Measured in process, on the pipeline the proxy runs (proxy.engine.pipeline, as
`pixelgate scan` does): detection quality, not the proxy's speed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from proxy.detectors import build_detectors  # noqa: E402
from proxy.engine.pipeline import Pipeline  # noqa: E402
from proxy.model import Action, ImageRequest, TextPart  # noqa: E402
from proxy.policy import bundled_policy_path, load_policy  # noqa: E402


def conll_sentences(path: Path) -> Iterator[tuple[str, list[tuple[int, int, bool]]]]:
    """(sentence text, [(start, end, one_word)] of its PER spans)."""
    tokens: list[tuple[str, str]] = []

    def flush() -> Iterator[tuple[str, list[tuple[int, int, bool]]]]:
        if not tokens or tokens[0][0] == "-DOCSTART-":
            return
        text, spans, at, current = "", [], 0, None
        for word, tag in tokens:
            start = at + (1 if text else 0)
            text = f"{text} {word}" if text else word
            at = len(text)
            if tag.endswith("PER") and (tag.startswith("B-") or current is None):
                if current is not None:
                    spans.append(current)
                current = [start, at, 1]
            elif tag.endswith("PER") and current is not None:
                current[1], current[2] = at, current[2] + 1
            elif current is not None:
                spans.append(current)
                current = None
        if current is not None:
            spans.append(current)
        yield text, [(s, e, n == 1) for s, e, n in spans]

    for line in path.read_text(encoding="utf-8").splitlines():
        if "###" in line:
            tokens = [tuple(t.rsplit("###", 1)) for t in line.split(" ") if "###" in t]  # type: ignore[misc]
            yield from flush()
            tokens = []
        elif not line.strip():
            yield from flush()
            tokens = []
        else:
            cols = line.split()
            tokens.append((cols[0], cols[-1]))
    yield from flush()


def pipeline_for(name: str) -> Pipeline:
    path = Path(name) if Path(name).exists() else bundled_policy_path(name)
    policy = load_policy(path)
    return Pipeline(policy, build_detectors(policy))


def names(pipeline: Pipeline, path: Path, limit: int | None) -> dict[str, object]:
    acting = [r for r in pipeline.policy.rules if r.action is not Action.ALLOW]
    total = found = acted = one = one_found = 0
    for n, (text, spans) in enumerate(conll_sentences(path)):
        if limit is not None and n >= limit:
            break
        if not spans:
            continue
        outcome = pipeline.run(ImageRequest("bench", "bench", (TextPart("prompt", text),), ()))
        people = [f for f in outcome.findings if f.entity == "PERSON"]
        for start, end, one_word in spans:
            hits = [f for f in people if (f.start or 0) < end and (f.end or 0) > start]
            total += 1
            one += one_word
            found += bool(hits)
            one_found += bool(hits) and one_word
            acted += any(any(r.matches(f) for r in acting) for f in hits)
    return {
        "per_spans": total,
        "found": round(found / max(total, 1), 4),
        "acted_on": round(acted / max(total, 1), 4),
        "one_word_spans": one,
        "one_word_found": round(one_found / max(one, 1), 4),
    }


def prompts(pipeline: Pipeline, path: Path, limit: int | None) -> dict[str, object]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines = lines[:limit] if limit is not None else lines
    changed: dict[str, int] = {}
    for text in lines:
        request = ImageRequest("bench", "bench", (TextPart("prompt", text),), ())
        decision = pipeline.run(request, fallback_ready=True).decision
        if decision.action is not Action.ALLOW:
            rule = decision.rule_id or "default"
            changed[rule] = changed.get(rule, 0) + 1
    return {
        "prompts": len(lines),
        "changed": round(sum(changed.values()) / max(len(lines), 1), 4),
        "by_rule": changed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conll", type=Path, help="CoNLL-2003-style NER file")
    parser.add_argument("--prompts", type=Path, help="one image prompt per line")
    parser.add_argument("--policy", action="append", default=None, help="name or path")
    parser.add_argument("--limit", type=int, default=None, help="first N sentences/prompts")
    args = parser.parse_args()
    report: dict[str, object] = {}
    for name in args.policy or ["default", "strict"]:
        pipeline = pipeline_for(name)
        entry: dict[str, object] = {}
        if args.conll:
            entry["names"] = names(pipeline, args.conll, args.limit)
        if args.prompts:
            entry["prompts"] = prompts(pipeline, args.prompts, args.limit)
        report[name] = entry
        print(name, json.dumps(entry), flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
