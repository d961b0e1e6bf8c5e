"""The raw metadata blocks of a decoded image, by kind, for the metadata detector to read."""

from __future__ import annotations

import struct

from PIL import Image

from proxy.images.containers import unread_blocks

ORIENTATION = 0x0112


def collect_metadata(img: Image.Image, data: bytes, kind: str) -> dict[str, bytes | str]:
    """What Pillow reads (EXIF, XMP, IPTC, ICC, comments, PNG text) and, from the container
    itself, every block Pillow skips (`unread_blocks`): nothing the file carries is left out."""
    info = img.info
    found: dict[str, bytes | str] = {}
    exif = info.get("exif")
    if not isinstance(exif, bytes) or not exif:
        # PNG's "Raw profile type exif" text chunk (ImageMagick) is only read by getexif().
        parsed = img.getexif()
        exif = parsed.tobytes() if len(parsed) else None
    if exif:
        found["exif"] = exif
    # JPEG's APP13 holds Photoshop resources; 0x0404 is the IPTC-IIM stream.
    iptc = info.get("photoshop", {}).get(0x0404) if img.format in ("JPEG", "MPO") else None
    for key, value in (("xmp", info.get("xmp")), ("iptc", iptc), ("icc", info.get("icc_profile"))):
        if isinstance(value, bytes | str) and value:
            found[key] = value
    applist = getattr(img, "applist", [])
    comments = [body for marker, body in applist if marker == "COM" and body]
    if comments:
        found["comment"] = b"\n".join(comments)
    for key, value in getattr(img, "text", {}).items():
        if key != "XML:com.adobe.xmp":  # already kept as "xmp"
            found[f"text:{key}"] = str(value)
    for key, block in unread_blocks(data, kind).items():
        if key == "xmp" and "xmp" in found:
            key = "xmp:more"
        found[key] = block
    return found


def orientation(img: Image.Image) -> int:
    """The EXIF Orientation (1-8) that a viewer applies, 1 when absent or unreadable."""
    try:
        value = img.getexif().get(ORIENTATION, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def exif_is_readable(raw: bytes) -> bool:
    """Whether an EXIF block has a valid TIFF header and a first directory within the block.

    Damage further in (a bad sub-directory, a tag pointing outside) is common in real
    cameras' files and only loses those fields; a block we cannot start reading might hide
    anything, so it is refused.
    """
    tiff = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw
    if len(tiff) < 8 or tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        return False
    order = "<" if tiff[:2] == b"II" else ">"
    offset = struct.unpack(order + "I", tiff[4:8])[0]
    if not 8 <= offset <= len(tiff) - 2:
        return False
    count = struct.unpack(order + "H", tiff[offset : offset + 2])[0]
    if offset + 2 + 12 * count > len(tiff):  # IFD0's entries must lie inside the block
        return False
    try:
        load_exif(raw)
    except Exception:
        return False
    return True


def load_exif(raw: bytes) -> Image.Exif:
    """Pillow's parse of an EXIF block: IFD0 now, sub-directories when asked (and may fail)."""
    exif = Image.Exif()
    exif.load(raw)
    return exif


# EXIF orientation -> the transpose that turns stored pixels upright (as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def upright(frame: Image.Image, turn: int) -> Image.Image:
    """`frame` as a viewer shows it under EXIF Orientation `turn`."""
    method = _TRANSPOSE.get(turn)
    return frame if method is None else frame.transpose(method)
