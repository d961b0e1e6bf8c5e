from __future__ import annotations

import io
from typing import Any

import numpy as np
import pillow_heif
import pytest
import zxingcpp
from PIL import Image, ImageSequence
from PIL.PngImagePlugin import PngInfo
from skimage import data as skdata

from proxy.errors import CannotRedact
from proxy.images.model import DecodedImage
from proxy.images.redact import redact_image
from proxy.model import Finding, Source

pillow_heif.register_heif_opener()

# The astronaut's face (skin, forehead to chin) in skimage's 512x512 photo, checked by eye.
FACE_BOX = (170, 50, 110, 135)
# The same box grown by 15% each side, as the redactor pads it.
FACE_PADDED = (153, 29, 297, 206)  # x0, y0, x1, y1
# The name tag on the suit.
TAG_BOX = (282, 340, 46, 34)
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>Alice Example</dc:creator></x:xmpmeta>'


def _face(box: tuple[int, int, int, int] = FACE_BOX) -> Finding:
    return Finding("FACE", Source.FACE, 0.99, box=box)


def _astronaut(size: int = 512) -> Image.Image:
    img = Image.fromarray(skdata.astronaut())
    return img if size == 512 else img.resize((size, size))


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x013B] = "Alice Example"  # Artist
    exif[0xA431] = "SN-0042"  # BodySerialNumber
    exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)})
    return exif


def _decoded(data: bytes) -> DecodedImage:
    img = Image.open(io.BytesIO(data))
    frames = tuple(f.convert("RGB") for f in ImageSequence.Iterator(img))
    return DecodedImage(0, img.format or "", *frames[0].size, frames)


def _encode(img: Image.Image, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def _redact(data: bytes, *findings: Finding) -> bytes:
    return redact_image(data, _decoded(data), findings)


def _with_metadata(fmt: str) -> bytes:
    img = _astronaut(256)
    if fmt == "PNG":
        info = PngInfo()
        info.add_text("Author", "Alice Example")
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        return _encode(img, fmt, pnginfo=info, exif=_exif())
    if fmt == "GIF":
        frames = [img, img.rotate(90), img.rotate(180)]
        return _encode(
            img, fmt, save_all=True, append_images=frames[1:], duration=[70, 80, 90], loop=3,
            comment=b"taken by Alice Example",
        )  # fmt: skip
    extra = {"comment": b"taken by Alice Example"} if fmt == "JPEG" else {}
    return _encode(img, fmt, exif=_exif(), xmp=XMP, **extra)


def _metadata_keys(img: Image.Image) -> set[str]:
    # HEIF: "metadata" holds IPTC and other boxes, "thumbnails" a small unredacted copy.
    personal = {"exif", "xmp", "XML:com.adobe.xmp", "comment", "Author", "metadata", "thumbnails"}
    return {key for key in personal if img.info.get(key)}  # pillow-heif lists empty keys


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "AVIF", "HEIF"])
def test_output_keeps_format_and_size_and_drops_metadata(fmt: str) -> None:
    data = _with_metadata(fmt)
    before = Image.open(io.BytesIO(data))
    assert _metadata_keys(before)  # the input really carries metadata
    out = Image.open(io.BytesIO(_redact(data, _face((85, 25, 55, 68)))))
    assert (out.format, out.size) == (fmt, (256, 256))
    assert _metadata_keys(out) == set()
    assert len(out.getexif()) == 0
    if fmt == "PNG":
        assert out.text == {}  # type: ignore[attr-defined]


def test_gif_keeps_every_frame_its_duration_and_loop() -> None:
    out = Image.open(io.BytesIO(_redact(_with_metadata("GIF"), _face((85, 25, 55, 68)))))
    durations = [f.info["duration"] for f in ImageSequence.Iterator(out)]
    assert (out.n_frames, durations, out.info["loop"]) == (3, [70, 80, 90], 3)


def test_metadata_is_stripped_even_without_boxes() -> None:
    data = _with_metadata("JPEG")
    finding = Finding("GPS_LOCATION", Source.METADATA, 1.0)
    out = Image.open(io.BytesIO(_redact(data, finding)))
    assert _metadata_keys(out) == set() and len(out.getexif()) == 0


def test_icc_profile_is_kept() -> None:
    icc = b"\x00" * 128  # Pillow carries the profile bytes without parsing them
    data = _encode(_astronaut(64), "JPEG", icc_profile=icc)
    assert Image.open(io.BytesIO(_redact(data))).info.get("icc_profile") == icc


def _detail(a: np.ndarray[Any, Any]) -> float:
    """Share of pixels with a non-zero Laplacian: where any fine detail is left.

    Not the Laplacian's variance: the edges between blocks are strong and keep that at about
    half the original's, while saying nothing about the face.
    """
    g = a[..., :3].astype(np.int64).sum(axis=2)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float(np.count_nonzero(lap)) / lap.size


def test_face_is_pixelated_to_a_coarse_grid() -> None:
    data = _encode(_astronaut(), "PNG")
    out = np.array(Image.open(io.BytesIO(_redact(data, _face()))))
    x0, y0, x1, y1 = FACE_PADDED
    face = out[y0:y1, x0:x1]
    assert len(np.unique(face.reshape(-1, 3), axis=0)) <= 64
    original = np.array(_astronaut())[y0:y1, x0:x1]
    assert _detail(original) > 0.9
    assert _detail(face) < 0.25  # only the grid lines between blocks
    Image.fromarray(np.hstack([np.array(_astronaut()), out])).save("/tmp/redact_check.png")


def test_pixels_outside_the_padded_face_are_unchanged() -> None:
    data = _encode(_astronaut(), "PNG")
    before = np.array(_astronaut())
    after = np.array(Image.open(io.BytesIO(_redact(data, _face()))))
    x0, y0, x1, y1 = FACE_PADDED
    before[y0:y1, x0:x1] = after[y0:y1, x0:x1] = 0
    assert np.array_equal(before, after)


def test_text_is_covered_by_a_black_box_and_nothing_else_changes() -> None:
    data = _encode(_astronaut(), "PNG")
    after = np.array(
        Image.open(
            io.BytesIO(_redact(data, Finding("PERSON", Source.IMAGE_TEXT, 0.9, box=TAG_BOX)))
        )
    )
    x, y, w, h = TAG_BOX
    region = (slice(y - 3, y + h + 3), slice(x - 3, x + w + 3))
    assert not after[region].any()
    before = np.array(_astronaut())
    before[region] = 0
    assert np.array_equal(before, after)


def test_qr_code_no_longer_decodes() -> None:
    code = zxingcpp.create_barcode("https://example.com/?u=alice@example.com", zxingcpp.QRCode)
    photo = _astronaut()
    photo.paste(Image.fromarray(np.asarray(code.to_image(scale=3))).convert("RGB"), (20, 330))
    data = _encode(photo, "JPEG", quality=90)
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))
    p = found.position
    xs, ys = [p.top_left.x, p.bottom_right.x], [p.top_left.y, p.bottom_right.y]
    box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    out = _redact(data, Finding("QR_CODE", Source.CODE, 1.0, box=box))
    assert zxingcpp.read_barcodes(Image.open(io.BytesIO(out))) == []


def test_rgba_png_keeps_its_alpha() -> None:
    img = _astronaut().convert("RGBA")
    alpha = np.tile(np.arange(512, dtype=np.uint8)[None, :] // 2, (512, 1))
    img.putalpha(Image.fromarray(alpha))
    out = Image.open(io.BytesIO(_redact(_encode(img, "PNG"), _face())))
    assert out.mode == "RGBA"
    assert np.array_equal(np.array(out)[..., 3], alpha)


@pytest.mark.parametrize("mode", ["L", "P"])
def test_grey_and_palette_png_keep_their_mode(mode: str) -> None:
    img = _astronaut(128).convert(mode)
    out = Image.open(io.BytesIO(_redact(_encode(img, "PNG"), _face((40, 12, 30, 35)))))
    assert out.mode == mode


def test_exif_orientation_is_baked_in_and_boxes_are_painted_in_upright_coordinates() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored on its side: shown turned 90 degrees clockwise
    data = _encode(Image.new("RGB", (512, 300), "white"), "JPEG", exif=exif)
    shown = DecodedImage(0, "JPEG", 300, 512, ())  # the decoder turns the pixels upright
    text = Finding("PERSON", Source.IMAGE_TEXT, 0.9, box=(100, 50, 40, 20))
    out = Image.open(io.BytesIO(redact_image(data, shown, [text])))
    assert out.size == (300, 512) and len(out.getexif()) == 0
    # The box is painted where it is in the upright picture, which is what the upstream gets.
    assert np.array(out)[60, 120].max() < 30 and np.array(out)[120, 60].min() > 225


def test_sixteen_bit_grey_png_is_scaled_not_clipped() -> None:
    wide = np.full((64, 64), 20000, dtype=np.uint16)
    data = _encode(Image.fromarray(wide), "PNG")
    out = Image.open(io.BytesIO(_redact(data)))
    assert out.mode == "L" and np.array(out)[0, 0] == 20000 * 255 // 65535


def test_multi_picture_jpeg_keeps_only_the_main_picture() -> None:
    main = _astronaut(128)
    data = _encode(main, "MPO", save_all=True, append_images=[main.resize((64, 64))])
    out = Image.open(io.BytesIO(_redact(data, _face((40, 12, 30, 35)))))
    assert (out.format, getattr(out, "n_frames", 1), out.size) == ("JPEG", 1, (128, 128))


def test_size_mismatch_with_decoded_image_is_refused() -> None:
    data = _encode(_astronaut(64), "PNG")
    with pytest.raises(CannotRedact):
        redact_image(data, DecodedImage(0, "PNG", 32, 32, ()), [_face((1, 1, 5, 5))])


@pytest.mark.parametrize("box", [(10, 10, 0, 5), (900, 900, 10, 10)])
def test_box_that_cannot_be_painted_is_refused(box: tuple[int, int, int, int]) -> None:
    with pytest.raises(CannotRedact):
        _redact(_encode(_astronaut(64), "PNG"), _face(box))


def test_bytes_that_are_not_an_image_are_refused() -> None:
    with pytest.raises(CannotRedact):
        redact_image(b"not an image", DecodedImage(0, "PNG", 1, 1, ()), [])


def test_transparent_gif_pixels_stay_transparent() -> None:
    frame = np.array(_astronaut(128).convert("RGBA"))
    frame[:20, :20, 3] = 0
    first = Image.fromarray(frame)
    data = _encode(first, "GIF", save_all=True, append_images=[first.rotate(90)], duration=50)
    out = Image.open(io.BytesIO(_redact(data, _face((40, 12, 30, 35)))))
    alpha = np.array(out.convert("RGBA"))[..., 3]
    assert not alpha[:20, :20].any() and alpha[20:, 20:].all()


def test_the_same_upload_redacts_to_the_same_bytes() -> None:
    # Repeatable within a process: a repeated upload's re-inspection hits the cache.
    from helpers.images import astronaut, encode

    from proxy.images.decode import decode_image

    data = encode(astronaut())
    image = decode_image(data, 0, max_pixels=10**8)
    face = [Finding("FACE", Source.FACE, 0.99, part=0, box=(182, 60, 87, 115))]
    assert redact_image(data, image, face) == redact_image(data, image, face)


@pytest.mark.parametrize("kind", ["png-chunk", "app15", "trailing", "gif-xmp", "raw-profile"])
def test_redaction_drops_every_block_it_does_not_understand(kind: str) -> None:
    from helpers.images import gif_with_xmp, jpeg_with_segment, png_with_chunk

    from proxy.images.containers import unread_blocks
    from proxy.images.decode import decode_image

    img = _astronaut(128)
    if kind == "png-chunk":
        data = png_with_chunk(_encode(img, "PNG"), b"prVt", b"mara@example.org")
    elif kind == "app15":
        data = jpeg_with_segment(_encode(img, "JPEG"), 0xEF, b"mara@example.org")
    elif kind == "trailing":
        data = _encode(img, "JPEG") + b"mara@example.org"
    elif kind == "gif-xmp":
        data = gif_with_xmp(_encode(img, "GIF"), "<x:xmpmeta>mara@example.org</x:xmpmeta>")
    else:
        info = PngInfo()
        info.add_text("Raw profile type APP1", "\nAPP1\n      4\n6d617261\n")
        data = _encode(img, "PNG", pnginfo=info)
    decoded = decode_image(data, 0, max_pixels=10_000_000)
    assert set(decoded.metadata) - {"icc"}  # the planted block was seen
    out = redact_image(data, decoded, [])
    fmt = Image.open(io.BytesIO(out)).format or ""
    assert unread_blocks(out, fmt) == {}
    assert b"mara" not in out and set(decode_image(out, 0, max_pixels=10**7).metadata) == set()
