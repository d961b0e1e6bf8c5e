"""The MTCNN face detector on real photos: scikit-image's astronaut and LFW faces."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw
from skimage import data

from proxy.detectors.faces import FaceDetector
from proxy.images.model import DecodedImage
from proxy.model import Finding, Source

Box = tuple[int, int, int, int]

# Her face, forehead to chin, read off the 512x512 image by eye.
ASTRONAUT_FACE: Box = (180, 58, 90, 120)


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def decoded(*frames: Image.Image) -> DecodedImage:
    rgb = tuple(f.convert("RGB") for f in frames)
    return DecodedImage(3, "PNG", rgb[0].width, rgb[0].height, rgb)


def iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def group_photo() -> tuple[Image.Image, list[Box]]:
    """Nine LFW faces from 30 to 130 px, the astronaut at half size, and four LFW non-face
    patches as distractors, on grey noise. Returns the photo and every face's box."""
    lfw = data.lfw_subset()  # 100 faces, then 100 non-faces; 25x25 grey in [0, 1]
    rng = np.random.default_rng(7)
    photo = Image.fromarray(rng.normal(140, 14, (720, 1100, 3)).clip(0, 255).astype(np.uint8))
    faces: list[Box] = []
    sizes = (30, 36, 44, 54, 66, 80, 96, 112, 130)
    for k, side in enumerate(sizes):
        x, y = 30 + (k % 5) * 150, 40 + (k // 5) * 220
        patch = Image.fromarray((lfw[k] * 255).astype(np.uint8)).resize((side, side))
        photo.paste(patch.convert("RGB"), (x, y))
        faces.append((x, y, side, side))
    for k, side in enumerate((40, 60, 80, 100)):
        patch = Image.fromarray((lfw[100 + k] * 255).astype(np.uint8)).resize((side, side))
        photo.paste(patch.convert("RGB"), (30 + k * 150, 560))
    astronaut = Image.fromarray(data.astronaut()).resize((256, 256), Image.Resampling.LANCZOS)
    photo.paste(astronaut, (800, 300))
    faces.append((800 + 90, 300 + 29, 45, 60))
    return photo, faces


def test_astronaut_has_one_face_around_her_face(detector: FaceDetector) -> None:
    findings = detector.detect_image(decoded(Image.fromarray(data.astronaut())))
    assert len(findings) == 1
    face = findings[0]
    assert (face.entity, face.source, face.part) == ("FACE", Source.FACE, 3)
    assert face.box is not None and iou(face.box, ASTRONAUT_FACE) >= 0.5
    assert 0.9 <= face.score <= 1.0


def test_group_photo_finds_small_and_large_faces(detector: FaceDetector) -> None:
    photo, faces = group_photo()
    findings = detector.detect_image(decoded(photo))
    boxes = [f.box for f in findings if f.box is not None]
    found = [face for face in faces if any(iou(face, box) >= 0.3 for box in boxes)]
    false = [box for box in boxes if all(iou(face, box) < 0.3 for face in faces)]
    save_check(photo, faces, findings)
    assert len(found) >= 0.9 * len(faces)
    assert len(false) <= 1


def save_check(photo: Image.Image, faces: list[Box], findings: list[Finding]) -> None:
    """Green: pasted faces; red: findings. For a person to look at."""
    check = photo.copy()
    draw = ImageDraw.Draw(check)
    for x, y, w, h in faces:
        draw.rectangle((x, y, x + w, y + h), outline=(0, 255, 0))
    for f in findings:
        assert f.box is not None
        x, y, w, h = f.box
        draw.rectangle((x, y, x + w, y + h), outline=(255, 0, 0), width=2)
    check.save("/tmp/faces_check.png")


# The motorcycle scored 0.83 as a face at O-Net's published 0.7 threshold: the reason for 0.9.
@pytest.mark.parametrize(
    "name", ["coffee", "chelsea", "rocket", "hubble_deep_field", "stereo_motorcycle"]
)
def test_photo_without_people_has_no_face(detector: FaceDetector, name: str) -> None:
    pixels = getattr(data, name)()
    photo = Image.fromarray(pixels[0] if isinstance(pixels, tuple) else pixels)
    assert detector.detect_image(decoded(photo)) == []


def test_greyscale_profile_face_is_found(detector: FaceDetector) -> None:
    findings = detector.detect_image(decoded(Image.fromarray(data.camera())))
    assert len(findings) == 1
    # The cameraman's face, by eye: x 195-255, y 110-200 of the 512x512 image.
    assert findings[0].box is not None and iou(findings[0].box, (195, 110, 60, 90)) >= 0.5


def test_large_image_boxes_are_in_original_pixels(detector: FaceDetector) -> None:
    big = Image.fromarray(data.astronaut()).resize((2048, 2048), Image.Resampling.BICUBIC)
    findings = detector.detect_image(decoded(big))
    assert len(findings) == 1
    x, y, w, h = ASTRONAUT_FACE
    assert findings[0].box is not None
    assert iou(findings[0].box, (4 * x, 4 * y, 4 * w, 4 * h)) >= 0.5


def test_face_in_a_later_animation_frame_is_found(detector: FaceDetector) -> None:
    landscape = Image.fromarray(data.coffee()).resize((512, 512))
    astronaut = Image.fromarray(data.astronaut())
    findings = detector.detect_image(decoded(landscape, landscape, astronaut, astronaut))
    assert len(findings) == 1  # the same face in two frames is one finding
    assert findings[0].box is not None and iou(findings[0].box, ASTRONAUT_FACE) >= 0.5


def test_boxes_are_clipped_to_the_image(detector: FaceDetector) -> None:
    # Her face cut by the top-left corner: the regressed box reaches past the edge.
    crop = Image.fromarray(data.astronaut()).crop((200, 80, 512, 512))
    findings = detector.detect_image(decoded(crop))
    assert findings
    for f in findings:
        assert f.box is not None
        x, y, w, h = f.box
        assert x >= 0 and y >= 0 and w > 0 and h > 0
        assert (x, y) == (0, 0)  # it did reach past the corner, and was clipped
        assert x + w <= crop.width and y + h <= crop.height


def test_tiny_image_has_no_face_and_no_error(detector: FaceDetector) -> None:
    assert detector.detect_image(decoded(Image.new("RGB", (8, 8), (128, 128, 128)))) == []


def test_import_loads_neither_opencv_nor_numpy() -> None:
    code = "import sys, proxy.detectors.faces; print('cv2' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
