"""QR codes and barcodes in uploaded images, and the personal data their payloads carry.

zxing-cpp reads every format it knows. A code is a finding of its own (it may hold anything,
and a policy can act on its mere presence); its decoded text then goes through the same text
analyzer as prompts, and each hit is reported at the code's box. The payload itself is dropped
as soon as it has been analysed: never stored, logged or returned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from proxy.detectors.image_base import ImageDetector, placed
from proxy.detectors.text_pii import TextAnalyzer
from proxy.images.model import DecodedImage
from proxy.model import Finding, Source

if TYPE_CHECKING:
    from PIL import Image

# The retry passes (upscaled, sharpened) run only when the first pass found nothing, and only
# on images this small: they cost ~90 ms at 512 px (the first pass ~10 ms) and grow with the
# area, and codes in large photos are usually printed large enough for the first pass.
RETRY_MAX_SIDE = 512

# URI schemes and vCard/MECARD/MATMSG field names glue a value to their label ("mailto:jane@...",
# "FN:Jane Doe", "TEL;TYPE=CELL:+1..."), and recognisers that want a word boundary or a
# capitalised word miss it. Labels and ';' separators become spaces: offsets stay the same, and
# free text keeps its words (only a known label followed by ':' is blanked).
_LABELS = (
    "mailto|tel|sms|smsto|mms|geo|matmsg|mecard|wifi|begin|end|version|"
    "n|fn|email|adr|org|title|role|note|url|bday|nickname|label|to|sub|body|x-[a-z-]+"
)
_SEPARATORS = re.compile(rf"(?im)(?:^|(?<=[;:\s]))(?:{_LABELS})(?:;[^:;\n]*)*:|;")


def readable_payload(text: str) -> str:
    """The payload with scheme and field separators replaced by spaces, offsets unchanged."""
    return _SEPARATORS.sub(lambda m: " " * len(m.group()), text)


class CodeDetector(ImageDetector):
    """Reports each readable code in every region of the image (every frame's changes, the
    alpha channel) as QR_CODE (QR, Micro QR, rMQR) or BARCODE (any other format) with score
    1.0, plus one finding per piece of personal data in its payload, all at the code's
    bounding box. Stateless apart from the shared text analyzer."""

    name = "codes"

    def __init__(self, analyzer: TextAnalyzer) -> None:
        self._analyzer = analyzer

    def detect_image(self, image: DecodedImage) -> Sequence[Finding]:
        findings: list[Finding] = []
        for region in image.regions:
            for fmt, text, box in _read_codes(region.pixels):
                entity = "QR_CODE" if "QR" in fmt else "BARCODE"
                found = [Finding(entity, Source.CODE, 1.0, box=box)]
                # Every hit shares the code's box, so hits of one entity are indistinguishable
                # downstream: one finding per entity, at its best score.
                best: dict[str, tuple[float, str]] = {}
                for hit in self._analyzer.find(readable_payload(text)):
                    if hit.score > best.get(hit.entity, (-1.0, ""))[0]:
                        best[hit.entity] = (hit.score, hit.recognizer)
                for name, (score, recognizer) in best.items():
                    found.append(Finding(name, Source.CODE, score, box=box, recognizer=recognizer))
                findings.extend(placed(f, image, region.left, region.top) for f in found)
        # The same code in many frames (or in the alpha channel too) is one finding.
        return list(dict.fromkeys(findings))


def _read_codes(frame: Image.Image) -> list[tuple[str, str, tuple[int, int, int, int]]]:
    """(format name, payload, box) for each code, trying the cheap retries on small images."""
    import zxingcpp

    codes = zxingcpp.read_barcodes(frame)
    if codes or max(frame.size) > RETRY_MAX_SIDE:
        return [_describe(code, 1.0) for code in codes]
    from PIL import Image, ImageFilter

    # A code printed a few pixels per module is read better at twice the size; a faint or
    # blurred one, at twice the size and sharpened. (A global-threshold pass on grey, tried
    # too, rescued none of 46 faint or blurred codes that these two left unread.)
    larger = frame.resize((frame.width * 2, frame.height * 2), Image.Resampling.BICUBIC)
    for attempt in (larger, larger.filter(ImageFilter.UnsharpMask(2, 200, 0))):
        codes = zxingcpp.read_barcodes(attempt)
        if codes:
            return [_describe(code, 2.0) for code in codes]
    return []


def _describe(code: Any, scale: float) -> tuple[str, str, tuple[int, int, int, int]]:
    """A code's format name, payload and the bounding rectangle of its four corners."""
    pos = code.position
    corners = (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)
    xs = [p.x / scale for p in corners]
    ys = [p.y / scale for p in corners]
    left, top = int(min(xs)), int(min(ys))
    # zxing's corners are the centres of the outermost modules: +1 covers the last pixel.
    box = (left, top, int(max(xs)) - left + 1, int(max(ys)) - top + 1)
    return str(code.format.name), str(code.text), box
