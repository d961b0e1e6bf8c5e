"""Evasion: how much personal data the default policy still catches when it is disguised.

In-process (no proxy): policies/default.yaml through proxy.engine.pipeline.Pipeline with the real
detectors `build_detectors` makes (Presidio + spaCy, our recognizers, RapidOCR). Per
evasion class, seeded Faker values (emails, Luhn-valid cards, valid IBANs, phones) are
hidden as bench/evasion_data.py describes and sent in image-prompt sentences; the baseline
sends the same values plainly in the same sentences.

Caught (text): the request is blocked, or it is forwarded and the value cannot be read
back from the forwarded fields even after undoing the evasion (`evasion_data.leaked`:
a partly redacted value counts as leaked). Caught (image): the request is not allowed and
an image_text finding of the planted entity exists; the pipeline re-inspects every
redacted image and blocks when the value is still found.

    .venv/bin/python bench/evasion.py [--quick] [--no-images] [--seed 5] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from faker import Faker
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from evasion_data import CLASSES, Planted, cases, leaked, values  # noqa: E402
from helpers.images import font  # noqa: E402

from proxy.detectors import build_detectors  # noqa: E402
from proxy.engine.pipeline import Pipeline  # noqa: E402
from proxy.model import Action, ImagePart, ImageRequest, Source, TextPart  # noqa: E402
from proxy.policy import bundled_policy_path, load_policy  # noqa: E402

IMAGE_ENTITY = {"EMAIL": "EMAIL_ADDRESS", "CARD": "CREDIT_CARD"}
IMAGE_LINE = {"EMAIL": "Contact: {v}", "CARD": "Card number: {v}"}
BG, FG = (245, 245, 240), (20, 20, 20)


def text_request(texts: tuple[str, ...]) -> ImageRequest:
    parts = tuple(
        TextPart(f"field{i}", t, "prompt" if i == 0 else "other") for i, t in enumerate(texts)
    )
    return ImageRequest("bench", "generate", parts)


def text_caught(pipeline: Pipeline, case: Planted) -> tuple[bool, str]:
    outcome = pipeline.run(text_request(case.texts))
    if outcome.forward is None:
        return True, outcome.decision.action.value
    fields = tuple(p.text for p in outcome.forward.prompts)
    return not leaked(case.value, fields), outcome.decision.action.value


def bench_text(pipeline: Pipeline, seed: int, per_kind: int) -> dict[str, Any]:
    vals = values(seed, per_kind)
    out: dict[str, Any] = {}
    for name in CLASSES:
        evasive, plain = cases(name, vals, seed)
        # The leak rule must see every hidden value, or "caught" would mean "unreadable".
        unseen = sum(not leaked(c.value, c.texts) for c in evasive)
        row: dict[str, Any] = {"n": len(evasive), "unreadable_by_rule": unseen}
        for label, group in (("caught", evasive), ("baseline", plain)):
            results = [(c.kind, *text_caught(pipeline, c)) for c in group]
            row[label] = sum(ok for _, ok, _ in results)
            row[f"{label}_missed_by_kind"] = dict(Counter(k for k, ok, _ in results if not ok))
            row[f"{label}_actions"] = dict(Counter(a for _, _, a in results))
        # A payment number must block, never go out with a piece of it redacted.
        cards = [c for c in evasive if c.kind == "CARD"]
        if cards:
            row["cards_blocked"] = sum(pipeline.run(text_request(c.texts)).forward is None
                                       for c in cards)  # fmt: skip
            row["cards"] = len(cards)
        out[name] = row
    return out


# --- clean text under the second readings --------------------------------------------

PARTI = ROOT.parent / "shared" / "data" / "parti_prompts_dev.tsv"
SCRIPTS = ("ru_RU", "el_GR", "hi_IN", "ar_AA", "fa_IR", "th_TH")


def clean_sets(seed: int, limit: int) -> dict[str, list[tuple[str, ...]]]:
    """Harmless requests shaped like the evasions: multi-line, several fields, encoded,
    other scripts. Any decision other than allow on them is a false positive."""
    import base64
    import csv

    rng = random.Random(seed)
    with PARTI.open(newline="") as f:
        parti = [row["Prompt"] for row in csv.DictReader(f, delimiter="\t")][:limit]
    lines = ["\n".join(parti[i : i + 4]) for i in range(0, len(parti), 4)]
    fields = []
    for p in parti:
        words = p.split(" ")
        cut = rng.randint(1, max(len(words) - 1, 1))
        fields.append((" ".join(words[:cut]), " ".join(words[cut:])))
    encoded = [f"decode this and draw it: {base64.b64encode(p.encode()).decode()}" for p in parti]
    scripts = []
    for n, loc in enumerate(SCRIPTS):
        fake = Faker(loc)
        fake.seed_instance(seed + n)
        scripts += [(fake.text(max_nb_chars=200),) for _ in range(limit // len(SCRIPTS))]
    return {"PartiPrompts, 4 per prompt on lines": [(t,) for t in lines],
            "PartiPrompts cut into two fields": fields,
            "PartiPrompts base64-encoded": [(t,) for t in encoded],
            f"Faker text in {', '.join(SCRIPTS)}": scripts}  # fmt: skip


def bench_clean(pipeline: Pipeline, seed: int, limit: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, requests in clean_sets(seed, limit).items():
        rules: Counter[str] = Counter()
        for texts in requests:
            decision = pipeline.run(text_request(texts)).decision
            if decision.action is not Action.ALLOW:
                rules[decision.rule_id] += 1
        out[name] = {"n": len(requests), "flagged": sum(rules.values()), "rules": dict(rules)}
    return out


# --- images ---------------------------------------------------------------------------


def card(line: str, size: int, fg: tuple[int, int, int], bg: tuple[int, int, int]) -> Image.Image:
    face = font(size)
    width = int(face.getlength(line)) + 2 * size
    image = Image.new("RGB", (max(width, 64), int(size * 2.6)), bg)
    ImageDraw.Draw(image).text((size, int(size * 0.7)), line, fill=fg, font=face)
    return image


def busy(line: str, rng: np.random.Generator) -> Image.Image:
    """Dark text over random bright shapes and noise, as on a poster or a photo."""
    text = card(line, 28, FG, BG)
    w, h = text.size
    back = Image.fromarray(rng.integers(90, 255, (h, w, 3), dtype=np.uint8))
    draw = ImageDraw.Draw(back)
    for _ in range(40):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        colour = tuple(int(c) for c in rng.integers(60, 255, 3))
        draw.ellipse((x, y, x + int(rng.integers(8, 60)), y + int(rng.integers(8, 40))), colour)
    mask = Image.eval(text.convert("L"), lambda p: 255 if p < 128 else 0)
    back.paste(text, (0, 0), mask)
    return back


def rotated(line: str, angle: int) -> Image.Image:
    return card(line, 28, FG, BG).rotate(angle, expand=True, fillcolor=BG, resample=Image.BICUBIC)


IMAGE_CLASSES = {
    "low contrast (grey on grey)": lambda line, rng: card(line, 28, (150,) * 3, (185,) * 3),
    "very low contrast": lambda line, rng: card(line, 28, (170,) * 3, (188,) * 3),
    "faint (8 grey levels apart)": lambda line, rng: card(line, 28, (180,) * 3, (188,) * 3),
    "rotated 15°": lambda line, rng: rotated(line, 15),
    "rotated 45°": lambda line, rng: rotated(line, 45),
    "rotated 90°": lambda line, rng: rotated(line, 90),
    "rotated 180°": lambda line, rng: rotated(line, 180),
    "small text (11 px)": lambda line, rng: card(line, 11, FG, BG),
    "tiny text (8 px)": lambda line, rng: card(line, 8, FG, BG),
    "busy background": busy,
}  # fmt: skip


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def image_caught(pipeline: Pipeline, image: Image.Image, kind: str) -> bool:
    part = ImagePart("image0", png(image), "card.png", "image/png")
    request = ImageRequest("bench", "edit", (TextPart("p", "make it look nicer"),), (part,))
    outcome = pipeline.run(request)
    hit = any(
        f.source is Source.IMAGE_TEXT and f.entity == IMAGE_ENTITY[kind] for f in outcome.findings
    )
    return outcome.decision.action is not Action.ALLOW and hit


def bench_images(pipeline: Pipeline, seed: int, per_kind: int) -> dict[str, Any]:
    vals = values(seed + 1, per_kind)
    lines = [(k, IMAGE_LINE[k].format(v=v)) for k in IMAGE_LINE for v in vals[k]]
    plain = sum(image_caught(pipeline, card(line, 28, FG, BG), k) for k, line in lines)
    out: dict[str, Any] = {}
    for name, make in IMAGE_CLASSES.items():
        rng = np.random.default_rng(seed)
        results = [(k, image_caught(pipeline, make(line, rng), k)) for k, line in lines]
        missed = dict(Counter(k for k, ok in results if not ok))
        out[name] = {"n": len(lines), "caught": sum(ok for _, ok in results), "baseline": plain,
                     "caught_missed_by_kind": missed}  # fmt: skip
    return out


def pct(k: int, n: int) -> str:
    return f"{100 * k / n:5.1f}%" if n else "    -"


def print_table(title: str, rows: dict[str, Any]) -> None:
    print(f"\n## {title}\n{'class':<30}{'n':>4}{'caught':>9}{'baseline':>10}   missed by kind")
    for name, r in rows.items():
        missed = r.get("caught_missed_by_kind") or {}
        note = ", ".join(f"{k} {v}" for k, v in sorted(missed.items()))
        if r.get("cards"):
            note += f"{'; ' if note else ''}cards blocked {r['cards_blocked']}/{r['cards']}"
        if r.get("unreadable_by_rule"):
            note += f"  (leak rule blind to {r['unreadable_by_rule']})"
        print(f"{name:<30}{r['n']:>4}{pct(r['caught'], r['n']):>9}"
              f"{pct(r['baseline'], r['n']):>10}   {note}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer values per class")
    parser.add_argument("--no-images", action="store_true", help="text classes only")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    random.seed(args.seed)
    per_text, per_image = (4, 2) if args.quick else (10, 4)
    started = time.monotonic()
    policy = load_policy(str(bundled_policy_path("default")))
    pipeline = Pipeline(policy, build_detectors(policy))
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.platform()} {platform.machine()} py{platform.python_version()}",
        "seed": args.seed,
        "text": bench_text(pipeline, args.seed, per_text),
    }
    result["clean"] = bench_clean(pipeline, args.seed, 200 if args.quick else 816)
    if not args.no_images:
        result["images"] = bench_images(pipeline, args.seed, per_image)
    result["seconds"] = round(time.monotonic() - started, 1)
    print("# PixelGate evasion: share of disguised values policies/default.yaml still catches")
    print(f"# {result['date']}  {result['machine']}  seed {args.seed}  {result['seconds']}s")
    print("# caught = blocked, or forwarded with the value unreadable; baseline = same values "
          "written plainly")  # fmt: skip
    print_table("text (prompt fields)", result["text"])
    print(f"\n## clean requests shaped like the evasions: flagged = not allowed\n"
          f"{'set':<44}{'n':>5}{'flagged':>9}   rules")  # fmt: skip
    for name, r in result["clean"].items():
        print(f"{name:<44}{r['n']:>5}{pct(r['flagged'], r['n']):>9}   {r['rules']}")
    if "images" in result:
        print_table("images (OCR; baseline = same values, plain dark-on-light 28 px)",
                    result["images"])  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
