"""What image inspection costs and how much it finds: speed, face recall, text-PII recall.

In-process (no proxy), with the detectors `policies/default.yaml` builds, on images made here
from scikit-image's sample data and matplotlib's DejaVu fonts; seeded, so every run inspects
the same pictures.

1. Speed: a 1024x1024 photo with a face and a caption band holding an email address and a
   phone number. Per run a few pixels change, so no cache can answer: decode, each image
   detector (`detect_image` on the decoded image), the decision, and their total; the whole
   `Pipeline.run` (inspection, redaction, verification of the redacted image); the same
   request again (cache hit); `redact_image` for PNG and JPEG.
2. Face recall: composite "group photos" of LFW faces (skimage.data.lfw_subset: the first
   100 images are faces, the last 100 non-faces) pasted at known boxes, 24-120 px, on noise,
   gradients and photos without people, with non-face LFW patches as distractors; plus the
   astronaut. Found = a FACE finding with IoU >= 0.3; a false positive = a finding that
   matches no pasted face.
3. Text-PII recall: emails, phone numbers, Luhn-valid card numbers and valid IBANs rendered
   in DejaVu fonts at 14-48 px, dark-on-light, light-on-dark and low contrast, rotated 0, 5
   and 15 degrees, on plain backgrounds and over photos. Found = an image_text finding of
   the right entity whose box overlaps where the value was drawn. False positives: clean
   photos and rendered harmless sentences; flagged = image_text findings the default policy
   acts on (any decision other than allow).

    .venv/bin/python bench/images.py [--quick] [--json OUT.json] [--seed 11]
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import platform
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proxy.detectors import build_detectors  # noqa: E402
from proxy.detectors.image_base import ImageDetector  # noqa: E402
from proxy.detectors.images import ImageDetectorStage  # noqa: E402
from proxy.engine.pipeline import Pipeline  # noqa: E402
from proxy.images.decode import decode_image  # noqa: E402
from proxy.images.model import DecodedImage  # noqa: E402
from proxy.images.redact import redact_image  # noqa: E402
from proxy.model import Action, Finding, ImagePart, ImageRequest, Source, TextPart  # noqa: E402
from proxy.policy import Policy, decide, load_policy  # noqa: E402

Box = tuple[int, int, int, int]  # x, y, width, height
POLICY = ROOT / "policies" / "default.yaml"
STAGES = ("metadata", "codes", "faces", "ocr")


@dataclass(frozen=True)
class Settings:
    speed_runs: int
    pipeline_runs: int
    face_photos: int
    text_cards: int
    clean_sentences: int


DEFAULT = Settings(
    speed_runs=20, pipeline_runs=6, face_photos=48, text_cards=180, clean_sentences=24
)
QUICK = Settings(speed_runs=6, pipeline_runs=2, face_photos=6, text_cards=20, clean_sentences=8)


# --- helpers ------------------------------------------------------------------------------


def ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def stats(values: Sequence[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    return {
        "p50": round(float(np.percentile(a, 50)), 2),
        "p99": round(float(np.percentile(a, 99)), 2),
        "n": len(a),
    }


def encode(image: Image.Image, fmt: str = "PNG", **kwargs: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def decoded(image: Image.Image) -> DecodedImage:
    rgb = image.convert("RGB")
    return DecodedImage(0, "PNG", rgb.width, rgb.height, (rgb,))


def iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    union = aw * ah + bw * bh - w * h
    return w * h / union if union else 0.0


def overlaps(a: Box, b: Box) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return min(ax + aw, bx + bw) > max(ax, bx) and min(ay + ah, by + bh) > max(ay, by)


def natural(item: tuple[str, Any]) -> list[Any]:
    """Sort key: "5 deg" before "15 deg"."""
    return [(0, int(t)) if t.isdigit() else (1, t) for t in re.split(r"(\d+)", item[0])]


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def table(head: Sequence[str], rows: Sequence[Sequence[object]], left: int = 1) -> str:
    """Fixed-width columns: the first `left` ones left-aligned, the others right-aligned."""
    cells = [[str(c) for c in head]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]

    def line(r: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    import matplotlib

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf" / name), size)


def photo(name: str) -> Image.Image:
    from skimage import data

    pixels = getattr(data, name)()
    pixels = pixels[0] if isinstance(pixels, tuple) else pixels
    return Image.fromarray(pixels).convert("RGB")


class Detectors:
    """The image detectors default.yaml builds, by name, and a pipeline around all of them."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        detectors = build_detectors(policy)
        self.pipeline = Pipeline(policy, detectors)
        self.image: dict[str, ImageDetector] = {
            d.name: d.inner for d in detectors if isinstance(d, ImageDetectorStage)
        }


# --- 1. speed -----------------------------------------------------------------------------


def speed_photo() -> Image.Image:
    """The astronaut at 1024x1024 with a caption band: a face, an email and a phone number."""
    base = photo("astronaut").resize((1024, 1024), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(base)
    draw.rectangle((0, 904, 1024, 1024), fill=(245, 245, 240))
    caption = "Contact jane.doe@example.com or +1 415 555 0132"
    draw.text((24, 940), caption, fill=(20, 20, 20), font=font("DejaVuSans.ttf", 36))
    return base


def variant(image: Image.Image, run: int) -> Image.Image:
    """A few pixels changed: new bytes, so the content-hash caches miss."""
    out = image.copy()
    for k in range(3):
        out.putpixel(((run * 7 + k) % 1024, (run * 13) % 900), (run % 256, k * 80, 255 - run % 256))
    return out


def request_for(data: bytes, content_type: str = "image/png") -> ImageRequest:
    prompt = (TextPart("prompt", "make it look like a watercolour"),)
    return ImageRequest("openai", "edit", prompt, (ImagePart("image", data, "p", content_type),))


def bench_speed(det: Detectors, s: Settings) -> dict[str, Any]:
    policy, base = det.policy, speed_photo()
    limits = policy.limits
    times: dict[str, list[float]] = defaultdict(list)
    findings: list[Finding] = []
    decision = None
    # Warm-up: loads the ONNX nets and the OCR engine (not part of the figures).
    warm = decoded(base)
    for d in det.image.values():
        d.detect_image(warm)
    for run in range(s.speed_runs):
        data = encode(variant(base, run + 1))
        started = time.perf_counter()
        t = time.perf_counter()
        image = decode_image(data, 0, max_pixels=limits.max_image_pixels, declared_type="image/png")
        times["decode"].append(ms(t))
        findings = []
        for name in STAGES:
            t = time.perf_counter()
            found = det.image[name].detect_image(image)
            times[name].append(ms(t))
            findings += [f for f in found if f.score >= policy.detection.min_score]
        t = time.perf_counter()
        decision = decide(policy, findings)
        times["decision"].append(ms(t))
        times["total"].append(ms(started))
    assert decision is not None
    found = Counter(f"{f.entity}/{f.source.value}" for f in findings)

    # The whole pipeline, fresh bytes each time: inspection, redaction, re-inspection.
    runs: list[float] = []
    stage_ms: dict[str, list[float]] = defaultdict(list)
    action = ""
    for run in range(s.pipeline_runs):
        request = request_for(encode(variant(base, 1000 + run)))
        t = time.perf_counter()
        outcome = det.pipeline.run(request)
        runs.append(ms(t))
        action = outcome.decision.action.value
        for name, value in outcome.timings_ms.items():
            stage_ms[name].append(value)
    # The same request again: inspection is answered by the caches; a redacting decision
    # still redacts and re-inspects the (new, randomly pixelated) result.
    hit_detect: list[float] = []
    hit_run: list[float] = []
    request = request_for(encode(variant(base, 5000)))
    det.pipeline.run(request)
    for _ in range(s.speed_runs):
        t = time.perf_counter()
        decide(policy, det.pipeline.detect(request, {}, until_blocked=True))
        hit_detect.append(ms(t))
    for _ in range(s.pipeline_runs):
        t = time.perf_counter()
        det.pipeline.run(request)
        hit_run.append(ms(t))

    # Redaction of what inspection found, PNG and JPEG.
    targets = [f for f in decision.targets if f.box is not None]
    redact: dict[str, dict[str, float]] = {}
    for fmt, kwargs in (("PNG", {}), ("JPEG", {"quality": 90})):
        data = encode(base, fmt, **kwargs)
        image = decode_image(data, 0, max_pixels=limits.max_image_pixels)
        took = []
        for _ in range(max(3, s.speed_runs // 2)):
            t = time.perf_counter()
            redact_image(data, image, targets)
            took.append(ms(t))
        redact[fmt.lower()] = stats(took)
    return {
        "image": "astronaut 1024x1024 PNG + caption band (email, phone)",
        "runs": s.speed_runs,
        "findings": dict(found),
        "decision": decision.action.value,
        "inspect_ms": {k: stats(v) for k, v in times.items()},
        "pipeline_run_ms": stats(runs),
        "pipeline_action": action,
        "pipeline_stage_ms": {k: stats(v) for k, v in stage_ms.items()},
        "cache_hit_detect_ms": stats(hit_detect),
        "cache_hit_run_ms": stats(hit_run),
        "redact_ms": redact,
        "redact_targets": len(targets),
    }


def print_speed(r: dict[str, Any]) -> None:
    print(f"\n## 1. Speed: {r['image']}, {r['runs']} runs, cache defeated (pixels changed)")
    found = ", ".join(f"{k} x{v}" for k, v in sorted(r["findings"].items()))
    print(f"# findings: {found}; decision: {r['decision']}")
    insp = r["inspect_ms"]
    rows = [(k, f"{insp[k]['p50']:.2f}", f"{insp[k]['p99']:.2f}")
            for k in ("decode", *STAGES, "decision", "total")]  # fmt: skip
    print(table(("inspection step (ms)", "p50", "p99"), rows))
    p = r["pipeline_run_ms"]
    hd, hr = r["cache_hit_detect_ms"], r["cache_hit_run_ms"]
    rows = [
        (f"Pipeline.run, new image ({r['pipeline_action']}: inspect+redact+verify)",
         p["n"], f"{p['p50']:.1f}", f"{p['p99']:.1f}"),
        ("same request again: inspection + decision (cache hit)",
         hd["n"], f"{hd['p50']:.2f}", f"{hd['p99']:.2f}"),
        ("same request again: Pipeline.run (redact+verify not cached)",
         hr["n"], f"{hr['p50']:.1f}", f"{hr['p99']:.1f}"),
    ]  # fmt: skip
    for fmt, st in r["redact_ms"].items():
        rows.append(
            (f"redact_image, {fmt.upper()} ({r['redact_targets']} boxes)", st["n"],
             f"{st['p50']:.1f}", f"{st['p99']:.1f}")
        )  # fmt: skip
    print()
    print(table(("whole request (ms)", "runs", "p50", "p99"), rows))
    stage = r["pipeline_stage_ms"]
    inner = ", ".join(f"{k} {v['p50']:.0f}" for k, v in stage.items())
    print(
        f"# Pipeline.run timings_ms p50 (all passes; decode inside the first image stage): {inner}"
    )
    print("# p99 of so few runs is close to the slowest run.")


# --- 2. face recall -----------------------------------------------------------------------

FACE_BUCKETS = ((24, 35), (36, 59), (60, 89), (90, 120))
BACKGROUNDS = ("noise", "gradient", "coffee", "rocket", "chelsea", "hubble_deep_field")
CANVAS = (960, 720)
# Her face, forehead to chin, in the 512x512 image (as tests/detectors/test_faces.py).
ASTRONAUT_FACE: Box = (180, 58, 90, 120)


def background(kind: str, rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    w, h = size
    if kind == "noise":
        mean = rng.uniform(60, 200, 3)
        return Image.fromarray(rng.normal(mean, 18, (h, w, 3)).clip(0, 255).astype(np.uint8))
    if kind == "gradient":
        y, x = np.mgrid[0:h, 0:w] / max(w, h)
        a, b = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)
        t = (x * rng.uniform(0.2, 1) + y * rng.uniform(0.2, 1))[..., None]
        t = t / t.max()
        return Image.fromarray((a + (b - a) * t).clip(0, 255).astype(np.uint8))
    src = photo(kind)
    # A random crop of at least half the photo, scaled to the canvas.
    cw, ch = int(src.width * rng.uniform(0.5, 1)), int(src.height * rng.uniform(0.5, 1))
    x0, y0 = int(rng.integers(0, src.width - cw + 1)), int(rng.integers(0, src.height - ch + 1))
    return src.crop((x0, y0, x0 + cw, y0 + ch)).resize(size, Image.Resampling.BICUBIC)


def place(rng: np.random.Generator, taken: list[Box], side: int, size: tuple[int, int]) -> Box:
    w, h = size
    for _ in range(500):
        x, y = int(rng.integers(4, w - side - 4)), int(rng.integers(4, h - side - 4))
        box = (x, y, side, side)
        margin = (x - 8, y - 8, side + 16, side + 16)
        if not any(overlaps(margin, t) for t in taken):
            return box
    raise RuntimeError("no room left on the canvas")


def group_photos(n: int, seed: int) -> list[tuple[str, Image.Image, list[Box], list[Box]]]:
    """(background, photo, face boxes, distractor boxes); 8 faces and 3 non-faces each."""
    from skimage import data

    # 200 x 25 x 25 grey floats in [0, 1] (its docstring says uint8): faces 0-99, non-faces 100-199
    lfw = (data.lfw_subset() * 255).round().astype(np.uint8)
    rng = np.random.default_rng(seed)
    faces_order = rng.permutation(100)
    out = []
    k = 0
    for i in range(n):
        kind = BACKGROUNDS[i % len(BACKGROUNDS)]
        canvas = background(kind, rng, CANVAS)
        taken: list[Box] = []
        faces: list[Box] = []
        for j in range(8):
            lo, hi = FACE_BUCKETS[(i + j) % len(FACE_BUCKETS)]
            side = int(rng.integers(lo, hi + 1))
            box = place(rng, taken, side, CANVAS)
            patch = Image.fromarray(lfw[faces_order[k % 100]]).resize((side, side))
            k += 1
            canvas.paste(patch.convert("RGB"), box[:2])
            taken.append(box)
            faces.append(box)
        distractors = []
        for _ in range(3):
            side = int(rng.integers(30, 101))
            box = place(rng, taken, side, CANVAS)
            patch = Image.fromarray(lfw[100 + int(rng.integers(0, 100))]).resize((side, side))
            canvas.paste(patch.convert("RGB"), box[:2])
            taken.append(box)
            distractors.append(box)
        out.append((kind, canvas, faces, distractors))
    return out


def bucket_of(side: int) -> str:
    for lo, hi in FACE_BUCKETS:
        if lo <= side <= hi:
            return f"{lo}-{hi} px"
    return "other"


def bench_faces(det: Detectors, s: Settings, seed: int) -> dict[str, Any]:
    faces_det = det.image["faces"]
    photos = group_photos(s.face_photos, seed)
    photos.append(("astronaut", photo("astronaut"), [ASTRONAUT_FACE], []))
    by_size: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_background: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # faces, found, FPs
    fp_total = fp_on_distractor = 0
    took = []
    for kind, image, faces, distractors in photos:
        t = time.perf_counter()
        boxes = [f.box for f in faces_det.detect_image(decoded(image)) if f.box is not None]
        took.append(ms(t))
        for face in faces:
            hit = any(iou(face, b) >= 0.3 for b in boxes)
            key = "astronaut (photo)" if kind == "astronaut" else bucket_of(face[2])
            by_size[key][0] += 1
            by_size[key][1] += hit
            by_background[kind][0] += 1
            by_background[kind][1] += hit
        false = [b for b in boxes if all(iou(face, b) < 0.3 for face in faces)]
        fp_total += len(false)
        fp_on_distractor += sum(any(overlaps(b, d) for d in distractors) for b in false)
        by_background[kind][2] += len(false)
    n_faces = sum(v[0] for v in by_size.values())
    n_found = sum(v[1] for v in by_size.values())
    return {
        "annotation": "LFW faces (skimage.data.lfw_subset) pasted at known boxes + astronaut",
        "images": len(photos),
        "faces": n_faces,
        "found": n_found,
        "recall": round(n_found / n_faces, 4),
        "false_positives": fp_total,
        "false_positives_on_distractors": fp_on_distractor,
        "fp_per_image": round(fp_total / len(photos), 3),
        "by_size": {k: {"faces": v[0], "found": v[1]} for k, v in sorted(by_size.items())},
        "by_background": {
            k: {"faces": v[0], "found": v[1], "false_positives": v[2]}
            for k, v in by_background.items()
        },
        "ms_per_image": stats(took),
    }


def print_faces(r: dict[str, Any]) -> None:
    print(f"\n## 2. Face recall: {r['images']} images, {r['faces']} faces")
    print("# Annotation source: LFW faces (skimage.data.lfw_subset, first 100 = faces) pasted")
    print("# by us at known boxes, 24-120 px, 8 per 960x720 photo with 3 LFW non-face patches")
    print("# as distractors; plus skimage's astronaut (her face boxed by eye). Found = a FACE")
    print("# finding with IoU >= 0.3 with the pasted box.")
    rows = [
        (k, v["faces"], v["found"], pct(v["found"], v["faces"])) for k, v in r["by_size"].items()
    ]
    rows.append(("all", r["faces"], r["found"], pct(r["found"], r["faces"])))
    print(table(("face size", "faces", "found", "recall"), rows))
    print()
    rows = [(k, v["faces"], pct(v["found"], v["faces"]), v["false_positives"])
            for k, v in r["by_background"].items()]  # fmt: skip
    print(table(("background", "faces", "recall", "false pos."), rows))
    st = r["ms_per_image"]
    print(
        f"# false positives: {r['false_positives']} in {r['images']} images "
        f"({r['fp_per_image']:.2f} per image), {r['false_positives_on_distractors']} of them "
        f"on a non-face LFW patch; faces detector {st['p50']:.0f} ms p50 per image"
    )


# --- 3. text PII in images ----------------------------------------------------------------

FONTS = {
    "Sans": "DejaVuSans.ttf",
    "Serif": "DejaVuSerif.ttf",
    "Mono": "DejaVuSansMono.ttf",
    "Bold": "DejaVuSans-Bold.ttf",
    "Oblique": "DejaVuSans-Oblique.ttf",
}
SIZES = (14, 16, 18, 20, 24, 28, 32, 40, 48)
SIZE_BUCKETS = ((14, 18), (20, 28), (32, 48))
CONTRASTS = ("dark-on-light", "light-on-dark", "low contrast")
ROTATIONS = (0, 5, 15)
GROUNDS = ("plain", "photo")
PHOTOS = ("coffee", "rocket", "chelsea", "hubble_deep_field", "immunohistochemistry")
ENTITY = {"email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER", "card": "CREDIT_CARD",
          "iban": "IBAN_CODE"}  # fmt: skip
LABELS = {"email": "Email:", "phone": "Phone:", "card": "Card:", "iban": "IBAN:"}
FIRST = ("jane", "omar", "li", "maria", "tom", "aiko", "pierre", "sara", "ravi", "anna")
LAST = ("doe", "haddad", "wei", "garcia", "baker", "tanaka", "martin", "olsen", "patel", "novak")
DOMAINS = ("example.com", "mail.org", "acme.io", "post.de", "uni-leeds.ac.uk", "gmail.com")
CLEAN = (
    "A red fox in the snow", "Sunset over the harbour, 1998", "Grandma's apple pie recipe",
    "Welcome to the lake house", "Chapter 3: The long winter", "Open daily 9 to 5",
    "Fresh bread and coffee", "The quick brown fox jumps over the lazy dog",
    "Team photo, spring tournament", "Mount Rainier from the trail", "Happy birthday, little one",
    "Vintage bicycles for sale", "Please keep the door closed", "Route 66 road trip",
    "Save the date: June 14", "Our garden in bloom", "Lot 42 of 120", "Exit 12B",
    "Menu: soup, salad, pasta", "Winter sale up to 40% off", "Platform 9 and 3/4",
    "Size 38 EU, colour navy", "Version 2.1 release notes", "Room 204, second floor",
)  # fmt: skip


def luhn_complete(prefix: str, length: int, rng: np.random.Generator) -> str:
    digits = prefix + "".join(str(int(d)) for d in rng.integers(0, 10, length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(digits)):  # the check digit will sit to the right
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return digits + str((10 - total % 10) % 10)


def iban(country: str, bban: str) -> str:
    moved = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in moved))
    full = f"{country}{98 - number % 97:02d}{bban}"
    return " ".join(full[i : i + 4] for i in range(0, len(full), 4))


def pii_values(rng: np.random.Generator) -> dict[str, str]:
    def digits(n: int) -> str:
        return "".join(str(int(d)) for d in rng.integers(0, 10, n))

    first, last = FIRST[int(rng.integers(len(FIRST)))], LAST[int(rng.integers(len(LAST)))]
    sep = ("." if rng.random() < 0.5 else "_") if rng.random() < 0.8 else ""
    email = f"{first}{sep}{last}{int(rng.integers(1, 99)) if rng.random() < 0.4 else ''}"
    email += "@" + DOMAINS[int(rng.integers(len(DOMAINS)))]
    area = ("212", "415", "312", "617", "206")[int(rng.integers(5))]
    line = f"01{int(rng.integers(0, 100)):02d}"
    phone = (
        f"+1 {area} 555 {line}", f"({area}) 555-{line}", f"+44 20 7946 0{digits(3)}",
        f"+1-{area}-555-{line}", f"+49 30 {digits(8)}",
    )[int(rng.integers(5))]  # fmt: skip
    card = luhn_complete(("4", "51", "53", "55")[int(rng.integers(4))], 16, rng)
    card = " ".join(card[i : i + 4] for i in range(0, 16, 4))
    country = ("DE", "GB", "FR", "NL")[int(rng.integers(4))]
    bban = {
        "DE": lambda: digits(18),
        "GB": lambda: "NWBK" + digits(14),
        "FR": lambda: digits(23),
        "NL": lambda: "ABNA" + digits(10),
    }[country]()
    return {"email": email, "phone": phone, "card": card, "iban": iban(country, bban)}


@dataclass(frozen=True)
class Condition:
    font: str
    size: int
    contrast: str
    rotation: int
    ground: str
    labels: bool

    def size_bucket(self) -> str:
        return next(f"{lo}-{hi} px" for lo, hi in SIZE_BUCKETS if lo <= self.size <= hi)


def colours(contrast: str) -> tuple[tuple[int, int, int], tuple[int, int, int], float]:
    """Text colour, background colour, and how far a photo is blended towards that colour."""
    if contrast == "dark-on-light":
        return (20, 20, 20), (245, 245, 240), 0.65
    if contrast == "light-on-dark":
        return (235, 235, 235), (28, 30, 36), 0.65
    return (120, 120, 120), (170, 170, 170), 0.75


def render(
    lines: Sequence[tuple[str, str]], cond: Condition, rng: np.random.Generator
) -> tuple[Image.Image, list[Box]]:
    """Each (label, value) on its own line; returns the image and each value's box."""
    face = font(FONTS[cond.font], cond.size)
    gap, step, margin = cond.size // 2, int(cond.size * 1.7), max(24, cond.size)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    widths = []
    for label, value in lines:
        lw = probe.textlength(label + " ", font=face) if label else 0
        widths.append(lw + probe.textlength(value, font=face))
    w, h = int(max(widths)) + 2 * margin, margin * 2 + step * len(lines)
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    ink, paper, blend = colours(cond.contrast)
    corners: list[list[tuple[float, float]]] = []
    for i, (label, value) in enumerate(lines):
        x, y = margin, margin + i * step
        if label:
            draw.text((x, y), label, fill=(*ink, 255), font=face)
            x += int(draw.textlength(label + " ", font=face)) + gap // 4
        x0, y0, x1, y1 = draw.textbbox((x, y), value, font=face)
        draw.text((x, y), value, fill=(*ink, 255), font=face)
        corners.append([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
    if cond.rotation:
        angle = cond.rotation if rng.random() < 0.5 else -cond.rotation
        layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
        # PIL rotates counter-clockwise about the centre; expand re-centres on the new size.
        rad = np.deg2rad(angle)
        cx, cy, ncx, ncy = w / 2, h / 2, layer.width / 2, layer.height / 2
        cos, sin = np.cos(rad), np.sin(rad)
        corners = [
            [(ncx + (px - cx) * cos + (py - cy) * sin, ncy - (px - cx) * sin + (py - cy) * cos)
             for px, py in quad]
            for quad in corners
        ]  # fmt: skip
    size = layer.size
    if cond.ground == "plain":
        base = Image.new("RGB", size, paper)
    else:
        src = photo(PHOTOS[int(rng.integers(len(PHOTOS)))])
        base = src.resize(size, Image.Resampling.BICUBIC)
        base = Image.blend(base, Image.new("RGB", size, paper), blend)
    base.paste(layer, (0, 0), layer)
    boxes = []
    for quad in corners:
        xs, ys = [p[0] for p in quad], [p[1] for p in quad]
        boxes.append((int(min(xs)), int(min(ys)), int(max(xs) - min(xs)) + 1,
                      int(max(ys) - min(ys)) + 1))  # fmt: skip
    return base, boxes


def conditions(n: int, rng: np.random.Generator) -> list[Condition]:
    """A balanced design: font x contrast x rotation x ground (90 cells) in a shuffled order,
    repeated as needed; sizes cycle through a shuffled list; labels on every other card."""
    cells = list(itertools.product(FONTS, CONTRASTS, ROTATIONS, GROUNDS))
    order = [cells[int(i)] for i in rng.permutation(len(cells))]
    sizes = [SIZES[int(i)] for i in rng.permutation(len(SIZES))]
    return [
        Condition(f, sizes[i % len(sizes)], c, r, g, labels=i % 2 == 0)
        for i, (f, c, r, g) in enumerate(itertools.islice(itertools.cycle(order), n))
    ]


def acted(policy: Policy, findings: Sequence[Finding]) -> list[Finding]:
    text = [f for f in findings if f.source is Source.IMAGE_TEXT]
    return text if decide(policy, text).action is not Action.ALLOW else []


def bench_text(det: Detectors, s: Settings, seed: int) -> dict[str, Any]:
    ocr = det.image["ocr"]
    floor = det.policy.detection.min_score
    rng = np.random.default_rng(seed)
    tally: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    other_entity = 0
    missed_as: Counter[str] = Counter()  # "kind as ENTITY": what was found on a missed value
    took = []
    cards = conditions(s.text_cards, rng)
    for cond in cards:
        values = pii_values(rng)
        kinds = list(values)
        lines = [(LABELS[k] if cond.labels else "", values[k]) for k in kinds]
        image, boxes = render(lines, cond, rng)
        t = time.perf_counter()
        findings = [f for f in ocr.detect_image(decoded(image)) if f.score >= floor]
        took.append(ms(t))
        for kind, box in zip(kinds, boxes, strict=True):
            near = [f for f in findings if f.box is not None and overlaps(f.box, box)]
            hit = any(f.entity == ENTITY[kind] for f in near)
            other_entity += bool(near) and not hit
            if not hit:
                missed_as.update(f"{kind} as {e}" for e in {f.entity for f in near})
            keys = {
                "value": kind,
                "font": cond.font,
                "size": cond.size_bucket(),
                "contrast": cond.contrast,
                "rotation": f"{cond.rotation} deg",
                "background": cond.ground,
                "label": "with label" if cond.labels else "value alone",
            }
            for dim, key in keys.items():
                tally[dim][key][0] += 1
                tally[dim][key][1] += hit
            tally["all"]["all"][0] += 1
            tally["all"]["all"][1] += hit

    # False positives: clean photos and harmless sentences rendered like the values above.
    flagged: Counter[str] = Counter()
    clean_items: list[tuple[str, Image.Image]] = [
        (name, photo(name))
        for name in ("coffee", "rocket", "chelsea", "astronaut", "hubble_deep_field",
                     "immunohistochemistry", "stereo_motorcycle", "colorwheel")
    ]  # fmt: skip
    for i, cond in enumerate(conditions(s.clean_sentences, rng)):
        a, b = CLEAN[i % len(CLEAN)], CLEAN[(i * 7 + 3) % len(CLEAN)]
        image, _ = render([("", a), ("", b)], cond, rng)
        clean_items.append((f"sentences ({cond.font}, {cond.contrast})", image))
    n_flagged = 0
    for _, image in clean_items:
        hits = acted(det.policy, [f for f in ocr.detect_image(decoded(image)) if f.score >= floor])
        n_flagged += bool(hits)
        flagged.update(f.entity for f in hits)
    total = tally["all"]["all"]
    return {
        "values": total[0],
        "found": total[1],
        "recall": round(total[1] / total[0], 4),
        "cards": len(cards),
        "other_entity_only": other_entity,
        "missed_found_as": dict(missed_as.most_common()),
        "by": {
            dim: {k: {"values": v[0], "found": v[1]} for k, v in sorted(keys.items(), key=natural)}
            for dim, keys in tally.items()
            if dim != "all"
        },  # fmt: skip
        "false_positives": {
            "images": len(clean_items),
            "photos": 8,
            "sentence_cards": len(clean_items) - 8,
            "flagged": n_flagged,
            "rate": round(n_flagged / len(clean_items), 4),
            "entities": dict(flagged),
        },
        "ms_per_card": stats(took),
    }


def print_text(r: dict[str, Any]) -> None:
    print(
        f"\n## 3. PII recall in rendered text: {r['values']} values on {r['cards']} cards "
        "(email, phone, card, IBAN: one of each per card)"
    )
    print("# Found = an image_text finding of the right entity overlapping where the value was")
    print("# drawn. Fonts: matplotlib's DejaVu. Conditions are a balanced design (each font x")
    print("# contrast x rotation x background cell once per 90 cards); sizes cycle 14-48 px.")
    rows: list[tuple[object, ...]] = []
    for dim, keys in r["by"].items():
        for key, v in keys.items():
            rows.append((dim, key, v["values"], v["found"], pct(v["found"], v["values"])))
    rows.append(("all", "", r["values"], r["found"], pct(r["found"], r["values"])))
    print(table(("condition", "", "values", "found", "recall"), rows, left=2))
    fp = r["false_positives"]
    ents = ", ".join(f"{k} x{v}" for k, v in sorted(fp["entities"].items())) or "none"
    print(
        f"# missed values that had another entity's finding on them: {r['other_entity_only']};"
        f" OCR detector {r['ms_per_card']['p50']:.0f} ms p50 per card"
    )
    missed = ", ".join(f"{k} x{v}" for k, v in r["missed_found_as"].items()) or "none"
    print(f"# other findings overlapping a missed value (often the next line's): {missed}")
    print(
        f"# false positives: {fp['flagged']} of {fp['images']} clean images flagged "
        f"({fp['photos']} skimage photos, {fp['sentence_cards']} rendered harmless sentences), "
        f"entities: {ents}"
    )


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and images (~40 s)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    s = QUICK if args.quick else DEFAULT
    started = time.perf_counter()
    result: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.platform()} {platform.machine()} py{platform.python_version()}",
        "quick": args.quick,
        "seed": args.seed,
        "policy": "policies/default.yaml",
    }
    det = Detectors(load_policy(POLICY))
    steps: tuple[tuple[str, Callable[[], dict[str, Any]]], ...] = (
        ("speed", lambda: bench_speed(det, s)),
        ("faces", lambda: bench_faces(det, s, args.seed)),
        ("text", lambda: bench_text(det, s, args.seed)),
    )
    for name, step in steps:
        t = time.perf_counter()
        result[name] = step()
        print(f"# {name}: {ms(t) / 1000:.0f} s", file=sys.stderr)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print("# PixelGate image inspection: speed, face recall, PII recall in rendered text")
    print(f"# {result['date']}  {result['machine']}  {platform.node() or ''}".rstrip())
    print(f"# policies/default.yaml, seed {args.seed}{' (--quick)' if args.quick else ''}, "
          f"{result['seconds']} s; in-process, no proxy")  # fmt: skip
    print_speed(result["speed"])
    print_faces(result["faces"])
    print_text(result["text"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
