"""Personal data written inside images: OCR, then the same text analyzer as prompts.

The OCR engine is a seam (like presidio-image-redactor's `OcrEngine`): `RapidOcrEngine`
runs the PP-OCR ONNX models that the `rapidocr` wheel ships, so nothing is downloaded.
What the OCR reads lives only in local variables: it is never logged, stored or returned.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from proxy.detectors.image_base import ImageDetector, placed
from proxy.detectors.ocr_tiles import reading_plan
from proxy.detectors.quiet import silence_content_loggers
from proxy.images.model import DecodedImage
from proxy.model import Finding, Source

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from PIL import Image

    from proxy.detectors.text_pii import TextAnalyzer

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]  # top-left, top-right, bottom-right, bottom-left

# A frame whose brightness spans fewer levels than this (between its 1st and 99th
# percentiles) is read contrast-stretched: text 8 grey levels off its background is
# invisible to the detector as drawn, plain once stretched. Photos span far more.
NARROW_RANGE = 48
# Characters at which an email or URL is commonly cut into two boxes or wrapped to a new line.
_GLUE = frozenset("@._-/:")


@dataclass(frozen=True)
class OcrLine:
    """One run of text the engine read, its quadrilateral in pixels and its confidence."""

    text: str
    box: Quad
    score: float


class OcrEngine(ABC):
    """Reads text from one RGB image (height x width x 3, uint8)."""

    @abstractmethod
    def read(self, rgb: NDArray[np.uint8]) -> list[OcrLine]: ...


class RapidOcrEngine(OcrEngine):
    """PP-OCR through rapidocr and onnxruntime. The engine is built on first use, once, and
    calls are serialised, because rapidocr keeps per-call state on the engine object."""

    LOGGER = "RapidOCR"

    def __init__(self, det_side: int = 960, params: Mapping[str, Any] | None = None) -> None:
        self._det_side = det_side
        self._params = dict(params or {})
        self._engine: Any = None
        self._lock = threading.Lock()

    def _build(self) -> Any:
        from importlib.resources import files

        from rapidocr import RapidOCR

        models = Path(str(files("rapidocr") / "models"))
        params: dict[str, Any] = {
            "Global.log_level": "critical",
            # Explicit model files: with none, rapidocr resolves a URL and may download.
            "Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
            "Cls.model_path": str(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
            "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx"),
            # Detection at most det_side on the long side (the default scales a 1024 photo
            # up, not down); recognition still crops from the full-resolution image.
            "Det.limit_type": "max",
            "Det.limit_side_len": self._det_side,
            **self._params,
        }
        engine = RapidOCR(params=params)
        # RapidOCR() resets its logger's level from the config; silence it after that.
        silence_content_loggers()  # building the engine reset its logger
        return engine

    def read(self, rgb: NDArray[np.uint8]) -> list[OcrLine]:
        with self._lock:
            if self._engine is None:
                self._engine = self._build()
            result = self._engine(np.ascontiguousarray(rgb[:, :, ::-1]))  # rapidocr wants BGR
        if result.boxes is None or not result.txts:
            return []
        return [
            OcrLine(text, _quad(quad), float(score))
            for quad, text, score in zip(result.boxes, result.txts, result.scores, strict=True)
        ]


def stretched(frame: Image.Image) -> Image.Image:
    """`frame` with its brightness stretched to the full range when the range is narrow
    (faint text on a flat background); otherwise `frame` itself. Same size, same boxes."""
    from PIL import ImageOps

    low, high = np.percentile(np.asarray(frame.convert("L")), (1, 99))
    if high - low >= NARROW_RANGE:
        return frame
    return ImageOps.autocontrast(frame, cutoff=1)


def _quad(points: Any) -> Quad:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = (tuple(map(float, p)) for p in points[:4])
    return (x0, y0), (x1, y1), (x2, y2), (x3, y3)


def _lerp(p: Point, q: Point, t: float) -> Point:
    return p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t


def _centre_y(line: OcrLine) -> float:
    return sum(y for _, y in line.box) / 4


def _height(line: OcrLine) -> float:
    (_, y0), _, _, (_, y3) = line.box
    return max(abs(y3 - y0), 1.0)


def reading_order(lines: Sequence[OcrLine]) -> list[list[OcrLine]]:
    """Group boxes into visual lines (centres closer than half a box height), top to bottom,
    each left to right."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=_centre_y):
        row = rows[-1] if rows else None
        if row and abs(_centre_y(line) - _centre_y(row[-1])) < 0.5 * _height(row[-1]):
            row.append(line)
        else:
            rows.append([line])
    return [sorted(row, key=lambda ln: min(x for x, _ in ln.box)) for row in rows]


def _separator(left: str, right: str, same_row: bool, glue_digit_rows: bool) -> str:
    # Glue what one entity split: "john.smith@" + "acme.com", or a card's digit groups
    # wrapped onto the next line ("\n" would end the card and phone patterns there).
    if left[-1:] in _GLUE or right[:1] in _GLUE:
        return ""
    if glue_digit_rows and left[-1:].isdigit() and right[:1].isdigit():
        return " "
    return " " if same_row else "\n"


def join_lines(
    rows: Sequence[Sequence[OcrLine]], glue_digit_rows: bool = True
) -> tuple[str, list[tuple[int, int] | None]]:
    """One text for the analyzer, and for each character its (box index, offset in box),
    or None for a separator. Box indices count boxes in reading order. With
    `glue_digit_rows`, a row ending in a digit runs on into a row starting with one."""
    parts: list[str] = []
    owner: list[tuple[int, int] | None] = []
    flat = [(line, r) for r, row in enumerate(rows) for line in row]
    for i, (line, r) in enumerate(flat):
        if i:
            prev, prev_r = flat[i - 1]
            sep = _separator(prev.text, line.text, prev_r == r, glue_digit_rows)
            parts.append(sep)
            owner.extend([None] * len(sep))
        parts.append(line.text)
        owner.extend((i, k) for k in range(len(line.text)))
    return "".join(parts), owner


def sub_box(line: OcrLine, first: int, last: int) -> Quad:
    """The part of a box holding characters [first, last], assuming equal-width characters;
    padded by half a character because real fonts are proportional."""
    n = max(len(line.text), 1)
    a = max(first - 0.5, 0) / n
    b = min(last + 1.5, n) / n
    tl, tr, br, bl = line.box
    return _lerp(tl, tr, a), _lerp(tl, tr, b), _lerp(bl, br, b), _lerp(bl, br, a)


def to_rect(quad: Quad, scale: float, width: int, height: int) -> tuple[int, int, int, int]:
    """Axis-aligned (x, y, w, h) around a quad in original pixels, clipped to the image."""
    xs = [p[0] / scale for p in quad]
    ys = [p[1] / scale for p in quad]
    x0, y0 = max(int(min(xs)), 0), max(int(min(ys)), 0)
    x1, y1 = min(int(np.ceil(max(xs))), width), min(int(np.ceil(max(ys))), height)
    return x0, y0, max(x1 - x0, 0), max(y1 - y0, 0)


class OcrDetector(ImageDetector):
    """Finds personal data in text drawn anywhere in an image: every region of
    `DecodedImage.regions` (every frame's changes, the alpha channel), and in a region larger
    than MAX_SIDE, every overlapping tile as well as the whole. Each finding's box covers the
    characters of the entity in one OCR box; an entity split over several boxes or lines
    yields one finding per box, all with the same entity and score."""

    name = "ocr"

    def __init__(self, analyzer: TextAnalyzer, engine: OcrEngine | None = None) -> None:
        self._analyzer = analyzer
        self._engine = engine or RapidOcrEngine()

    def detect_image(self, image: DecodedImage) -> Sequence[Finding]:
        found: dict[tuple[str, tuple[int, int, int, int] | None], Finding] = {}
        for region in image.regions:
            for part, scale, x, y in reading_plan(region.pixels):
                for f in self._read(image, part, scale, region.left + x, region.top + y):
                    known = found.get((f.entity, f.box))
                    if known is None or known.score < f.score:
                        found[(f.entity, f.box)] = f
        return list(found.values())

    def _read(
        self, image: DecodedImage, source: Image.Image, scale: float, left: int, top: int
    ) -> list[Finding]:
        """Findings for the text in `source` read at `scale`, whose top-left corner is at
        (`left`, `top`) of the image."""
        frame = stretched(source.convert("RGB"))
        width, height = frame.size
        if scale < 1.0:
            frame = frame.resize((max(round(width * scale), 1), max(round(height * scale), 1)))
        lines = self._engine.read(np.asarray(frame, dtype=np.uint8))
        if not lines:
            return []
        rows = reading_order(lines)
        boxes = [line for row in rows for line in row]
        findings: dict[tuple[str, tuple[int, int, int, int]], Finding] = {}
        # Gluing digit rows finds a card wrapped over two lines but can hide a phone number
        # on a line of its own under a card: read both ways, keep both sets of findings.
        glued, apart = join_lines(rows, True), join_lines(rows, False)
        for text, owner in (glued, apart) if glued[0] != apart[0] else (glued,):
            self._map_hits(text, owner, boxes, scale, (width, height), findings)
        return [placed(f, image, left, top) for f in findings.values()]

    def _map_hits(
        self,
        text: str,
        owner: Sequence[tuple[int, int] | None],
        boxes: Sequence[OcrLine],
        scale: float,
        size: tuple[int, int],
        findings: dict[tuple[str, tuple[int, int, int, int]], Finding],
    ) -> None:
        for hit in self._analyzer.find(text):
            spans: dict[int, tuple[int, int]] = {}  # box index -> first, last character
            for slot in owner[hit.start : hit.end]:
                if slot is not None:
                    i, k = slot
                    first, last = spans.get(i, (k, k))
                    spans[i] = (min(first, k), max(last, k))
            for i, (first, last) in sorted(spans.items()):
                rect = to_rect(sub_box(boxes[i], first, last), scale, *size)
                known = findings.get((hit.entity, rect))
                if known is None or known.score < hit.score:
                    findings[(hit.entity, rect)] = Finding(
                        hit.entity,
                        Source.IMAGE_TEXT,
                        hit.score,
                        box=rect,
                        recognizer=hit.recognizer,
                    )
