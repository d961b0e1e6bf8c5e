"""decode_image on real files written by Pillow, pillow_heif, or by hand where Pillow won't."""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

import numpy as np
import pytest
from PIL import Image, ImageCms, PngImagePlugin

from proxy.errors import MalformedRequest, RequestTooLarge
from proxy.images.decode import UnsupportedImage, decode_image

MAX_PIXELS = 40_000_000
RED = (200, 30, 40)


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()  # the writer; decode_image registers the reader itself
    out = BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_by_hand(width: int, height: int, idat: bytes, *, depth: int = 8, colour: int = 2) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def photo(size: tuple[int, int] = (64, 48)) -> Image.Image:
    return Image.new("RGB", size, RED)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("PNG", "PNG"),
        ("JPEG", "JPEG"),
        ("WEBP", "WEBP"),
        ("GIF", "GIF"),
        ("AVIF", "AVIF"),
        ("HEIF", "HEIF"),
    ],
)
def test_every_supported_format_round_trips_to_rgb_frames(fmt: str, expected: str) -> None:
    decoded = decode_image(encode(photo(), fmt), 3, max_pixels=MAX_PIXELS)

    assert (decoded.index, decoded.format, decoded.width, decoded.height) == (3, expected, 64, 48)
    assert len(decoded.frames) == 1
    frame = decoded.frames[0]
    assert (frame.mode, frame.size) == ("RGB", (64, 48))
    pixel = np.asarray(frame)[24, 32].astype(int)
    assert np.abs(pixel - RED).max() < 12  # lossy codecs move a flat colour a little


def test_every_gif_frame_is_decoded() -> None:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = [Image.new("RGB", (32, 24), c) for c in colours]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)

    decoded = decode_image(data, 0, max_pixels=MAX_PIXELS)

    assert [f.getpixel((16, 12)) for f in decoded.frames] == colours
    assert all(f.mode == "RGB" for f in decoded.frames)


def test_palette_with_transparency_becomes_rgb_without_warnings(
    recwarn: pytest.WarningsRecorder,
) -> None:
    image = Image.new("P", (16, 16), 1)
    image.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    decoded = decode_image(encode(image, "PNG", transparency=0), 0, max_pixels=MAX_PIXELS)

    assert decoded.frames[0].getpixel((8, 8)) == (10, 200, 30)
    assert not recwarn.list


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    grey = Image.fromarray(np.full((8, 8), 32768, dtype=np.uint16))
    decoded = decode_image(encode(grey, "PNG"), 0, max_pixels=MAX_PIXELS)

    assert decoded.frames[0].getpixel((4, 4)) == (128, 128, 128)


def test_truncated_png_is_malformed() -> None:
    data = encode(Image.effect_noise((256, 256), 64).convert("RGB"), "PNG")

    with pytest.raises(MalformedRequest, match=r"^image 2 is truncated or corrupt$"):
        decode_image(data[: len(data) // 2], 2, max_pixels=MAX_PIXELS)


def test_huge_header_is_refused_before_decoding() -> None:
    # The IDAT is not valid zlib: decoding it would raise MalformedRequest, so a
    # RequestTooLarge proves the size was refused from the header alone.
    data = png_by_hand(50_000, 50_000, b"not zlib")

    with pytest.raises(RequestTooLarge):
        decode_image(data, 0, max_pixels=MAX_PIXELS)


def test_header_over_the_policy_limit_names_the_limit_not_the_claimed_size() -> None:
    data = png_by_hand(5000, 4000, b"not zlib")

    with pytest.raises(RequestTooLarge) as caught:
        decode_image(data, 1, max_pixels=1_000_000)
    assert str(caught.value) == "image 1 has more pixels than the policy limit of 1000000"


def test_decompression_bomb_is_refused() -> None:
    # 20000 x 20000 one-bit pixels of one colour: 400 M pixels in about 60 kB of zlib.
    width = height = 20_000
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + width // 8)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    data = png_by_hand(width, height, idat, depth=1, colour=0)
    assert len(data) < 200_000

    with pytest.raises(RequestTooLarge):
        decode_image(data, 0, max_pixels=10**12)  # Pillow's own bomb guard still applies
    with pytest.raises(RequestTooLarge, match=f"over the policy limit of {MAX_PIXELS} pixels"):
        decode_image(data, 0, max_pixels=MAX_PIXELS)


def test_too_many_frames_is_refused() -> None:
    frames = [Image.new("RGB", (8, 8), (n * 40, 0, 0)) for n in range(3)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])

    with pytest.raises(RequestTooLarge, match="more frames than the policy limit of 2"):
        decode_image(data, 0, max_pixels=MAX_PIXELS, max_frames=2)


def test_declared_type_that_disagrees_is_malformed_and_not_quoted() -> None:
    with pytest.raises(MalformedRequest) as caught:
        decode_image(encode(photo(), "JPEG"), 0, max_pixels=MAX_PIXELS, declared_type="image/png")
    assert str(caught.value) == "image 0's declared type does not match its content (JPEG)"


@pytest.mark.parametrize(
    "declared", [None, "", "application/octet-stream", "image/jpeg", "IMAGE/JPG; q=1"]
)
def test_generic_or_matching_declared_type_is_accepted(declared: str | None) -> None:
    decoded = decode_image(
        encode(photo(), "JPEG"), 0, max_pixels=MAX_PIXELS, declared_type=declared
    )
    assert decoded.format == "JPEG"


def test_text_is_an_unsupported_image() -> None:
    with pytest.raises(UnsupportedImage) as caught:
        decode_image(b"hello, this is a note\n", 4, max_pixels=MAX_PIXELS)
    assert (caught.value.status, caught.value.code) == (415, "pixelgate_unsupported_image")
    assert str(caught.value).startswith("image 4 is text, not one of PNG, JPEG")


def test_other_image_formats_are_unsupported_and_named() -> None:
    with pytest.raises(UnsupportedImage, match="image 0 is a BMP image"):
        decode_image(encode(photo(), "BMP"), 0, max_pixels=MAX_PIXELS, declared_type="image/bmp")


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_corrupt_exif_is_malformed() -> None:
    data = encode(photo(), "JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\xff\xff\xff\xf0")

    with pytest.raises(MalformedRequest, match=r"^image 0 has corrupt EXIF metadata$"):
        decode_image(data, 0, max_pixels=MAX_PIXELS)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_exif_damaged_past_its_first_directory_is_kept() -> None:
    # By hand (Pillow will not write it): IFD0 holds Artist and an Exif sub-directory
    # pointer far outside the block.
    entries = struct.pack(">HHII", 0x013B, 2, 5, 38) + struct.pack(">HHII", 0x8769, 4, 1, 0xFFFF)
    tiff = b"MM\x00*" + struct.pack(">IH", 8, 2) + entries + b"\x00" * 4 + b"Jane\x00"
    decoded = decode_image(
        encode(photo(), "JPEG", exif=b"Exif\x00\x00" + tiff), 0, max_pixels=MAX_PIXELS
    )

    assert "exif" in decoded.metadata


SECRET = b"SECRET-jane.doe@example.org"


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
@pytest.mark.parametrize(
    "data",
    [
        SECRET * 3,
        png_by_hand(64, 64, SECRET),
        b"\xff\xd8\xff\xe0" + SECRET,
        encode(photo(), "JPEG", exif=b"Exif\x00\x00MM\x00*" + SECRET),
        encode(photo(), "PNG")[:60] + SECRET,
    ],
)
def test_errors_never_quote_the_body(data: bytes) -> None:
    with pytest.raises((MalformedRequest, UnsupportedImage)) as caught:
        decode_image(data, 0, max_pixels=MAX_PIXELS)
    assert b"SECRET" not in str(caught.value).encode()
    assert (
        caught.value.__cause__ is None
        and caught.value.__suppress_context__
        or (caught.value.__context__ is None)
    )


def test_jpeg_metadata_blocks_are_kept_raw() -> None:
    exif = Image.Exif()
    exif[0x013B] = "Jane Doe"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(
        photo(), "JPEG", exif=exif.tobytes(), xmp=b"<x:xmpmeta/>", comment=b"hi", icc_profile=icc
    )

    metadata = decode_image(data, 0, max_pixels=MAX_PIXELS).metadata

    assert b"Jane Doe" in as_bytes(metadata["exif"])
    assert metadata["xmp"] == b"<x:xmpmeta/>"
    assert metadata["comment"] == b"hi"
    assert metadata["icc"] == icc


def test_png_text_chunks_and_xmp_are_kept() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Doe")
    info.add_text("Comment", "compressed note", zip=True)
    info.add_itxt("Title", "titre", lang="fr")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta/>")

    metadata = decode_image(encode(photo(), "PNG", pnginfo=info), 0, max_pixels=MAX_PIXELS).metadata

    assert metadata["text:Author"] == "Jane Doe"
    assert metadata["text:Comment"] == "compressed note"
    assert metadata["text:Title"] == "titre"
    assert as_bytes(metadata["xmp"]) == b"<x:xmpmeta/>"
    assert "text:XML:com.adobe.xmp" not in metadata


@pytest.mark.parametrize("fmt", ["WEBP", "AVIF", "HEIF"])
def test_exif_and_xmp_of_modern_formats_are_kept(fmt: str) -> None:
    exif = Image.Exif()
    exif[0x013B] = "Jane Doe"
    data = encode(photo(), fmt, exif=exif.tobytes(), xmp=b"<x:xmpmeta>jd</x:xmpmeta>")

    metadata = decode_image(data, 0, max_pixels=MAX_PIXELS).metadata

    assert b"Jane Doe" in as_bytes(metadata["exif"])
    assert b"jd" in as_bytes(metadata["xmp"])


def test_gif_comment_is_kept() -> None:
    data = encode(photo(), "GIF", comment=b"made by Jane")

    assert decode_image(data, 0, max_pixels=MAX_PIXELS).metadata["comment"] == b"made by Jane"


def test_clean_image_has_no_metadata() -> None:
    assert decode_image(encode(photo(), "PNG"), 0, max_pixels=MAX_PIXELS).metadata == {}
