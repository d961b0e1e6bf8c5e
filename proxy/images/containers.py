"""Metadata an image file carries outside what Pillow reads: private chunks, APPn segments,
GIF extensions, bytes after the end of the image, and ImageMagick's hex "Raw profile" text.

`unread_blocks` walks the container itself (PNG chunks, JPEG segments, GIF blocks, RIFF
chunks) and returns every block that is neither pixels nor a kind the decoder already keeps.
Keys name the block in our own words ("png:private-chunk", "jpeg:APP15", "trailing-data"),
never with a name the file chose, because they reach the audit log.
"""

from __future__ import annotations

import binascii
import re
import struct
import zlib

# Chunks that hold pixels, layout or colour, or text Pillow already reads (tEXt/zTXt/iTXt,
# eXIf, iCCP): none of them can carry free text past the decoder.
_PNG_KNOWN = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP",
              b"sBIT", b"sRGB", b"cICP", b"mDCV", b"cLLI", b"bKGD", b"hIST", b"pHYs",
              b"sPLT", b"tIME", b"acTL", b"fcTL", b"fdAT", b"eXIf", b"tEXt", b"zTXt",
              b"iTXt"}  # fmt: skip
# Private chunks that tools write into ordinary files, with a fixed binary layout of this
# size that has no room for text: Apple's iDOT (every macOS screenshot), ImageMagick's vpAg.
_PNG_FIXED = {b"iDOT": 28, b"vpAg": 9}
# APPn identifiers the decoder reads (JFIF, EXIF, XMP, ICC, Photoshop/IPTC, Adobe colour
# transform, the multi-picture index of an MPO).
_JPEG_KNOWN = ((0xE0, b"JFIF\x00"), (0xE0, b"JFXX\x00"), (0xE1, b"Exif\x00"),
               (0xE1, b"http://ns.adobe.com/xap/1.0/\x00"), (0xE2, b"ICC_PROFILE\x00"),
               (0xE2, b"MPF\x00"), (0xED, b"Photoshop 3.0\x00"), (0xEE, b"Adobe"))  # fmt: skip
_JPEG_XMP_EXTENSION = b"http://ns.adobe.com/xmp/extension/\x00"
_GIF_XMP = b"XMP DataXMP"
_GIF_KNOWN_APPS = {b"NETSCAPE2.0", b"ANIMEXTS1.0"}
_WEBP_KNOWN = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP", b"EXIF", b"XMP "}
_RAW_PROFILE = re.compile(r"^\s*\S*\s*(\d+)\s*([0-9a-fA-F\s]*)$", re.DOTALL)


def unread_blocks(data: bytes, kind: str) -> dict[str, bytes]:
    """Blocks of `data` that the decoder does not read, by our name for their kind.

    A block of the same kind seen twice is joined with a newline. GIF XMP comes back as
    "xmp" (Pillow does not read it), extended JPEG XMP as "xmp:extended".
    """
    found: dict[str, list[bytes]] = {}
    walk = {"PNG": _png, "JPEG": _jpeg, "GIF": _gif, "WEBP": _webp}.get(kind)
    if walk is not None:
        try:
            walk(data, found)
        except (IndexError, struct.error):
            # A container we cannot walk to its end: the rest is kept as trailing data, so
            # it is still read as text and still counts as something we did not understand.
            found.setdefault("unparsed-data", []).append(data)
    return {key: b"\n".join(parts) for key, parts in found.items() if any(parts)}


def _png(data: bytes, found: dict[str, list[bytes]]) -> None:
    at = 8
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + size]
        at += 12 + size
        if kind not in _PNG_KNOWN and _PNG_FIXED.get(kind) != size:
            found.setdefault("png:private-chunk", []).append(body)
        if kind == b"IEND":
            break
    _trailing(data, at, found)


def _jpeg(data: bytes, found: dict[str, list[bytes]]) -> None:
    at = 0
    while at < len(data) and data[at : at + 2] == b"\xff\xd8":  # one JPEG, then MPO's others
        at = _jpeg_one(data, at + 2, found)
    _trailing(data, at, found)


def _jpeg_one(data: bytes, at: int, found: dict[str, list[bytes]]) -> int:
    """Walk one JPEG's segments from after SOI; the offset after its EOI."""
    while at < len(data):
        while data[at] == 0xFF and data[at + 1] == 0xFF:
            at += 1  # fill bytes before a marker
        if data[at] != 0xFF:
            raise IndexError("not a marker")
        marker = data[at + 1]
        if marker == 0xD9:
            return at + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            at += 2
            continue
        size = struct.unpack(">H", data[at + 2 : at + 4])[0]
        body = data[at + 4 : at + 2 + size]
        at += 2 + size
        if 0xE0 <= marker <= 0xEF and not any(
            marker == m and body.startswith(ident) for m, ident in _JPEG_KNOWN
        ):
            if marker == 0xE1 and body.startswith(_JPEG_XMP_EXTENSION):
                # GUID (32) + full length (4) + offset (4), then a slice of the XMP.
                found.setdefault("xmp:extended", []).append(body[len(_JPEG_XMP_EXTENSION) + 40 :])
            else:
                found.setdefault(f"jpeg:APP{marker - 0xE0}", []).append(body)
        if marker == 0xDA:
            at = _after_scan(data, at)
    raise IndexError("no end of image")


def _after_scan(data: bytes, at: int) -> int:
    """The offset of the first marker after entropy-coded data (stuffed 00 and RSTn skipped)."""
    while True:
        at = data.index(b"\xff", at)
        following = data[at + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            at += 1 if following == 0xFF else 2
            continue
        return at


def _gif(data: bytes, found: dict[str, list[bytes]]) -> None:
    flags = data[10]
    at = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while at < len(data):
        block = data[at]
        if block == 0x3B:  # trailer
            at += 1
            break
        if block == 0x2C:  # image descriptor, optional local table, LZW size, sub-blocks
            flags = data[at + 9]
            at += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
            at = _sub_blocks(data, at)[1]
        elif block == 0x21:
            label, start = data[at + 1], at + 2
            body, at = _sub_blocks(data, start)
            if label == 0xFF:
                ident = body[:11]
                if ident == _GIF_XMP:
                    # XMP is stored raw, its bytes standing in for sub-block lengths: the
                    # span after the 11-byte identifier is the packet (plus a magic trailer).
                    found.setdefault("xmp", []).append(data[start + 12 : at - 1])
                elif ident not in _GIF_KNOWN_APPS:
                    found.setdefault("gif:application-extension", []).append(body)
            elif label not in (0xF9, 0xFE):  # graphic control and comments are read already
                found.setdefault("gif:extension", []).append(body)  # plain text, or unknown
        else:
            raise IndexError("unknown block")
    _trailing(data, at, found)


def _sub_blocks(data: bytes, at: int) -> tuple[bytes, int]:
    parts = []
    while (size := data[at]) != 0:
        parts.append(data[at + 1 : at + 1 + size])
        at += 1 + size
    return b"".join(parts), at + 1


def _webp(data: bytes, found: dict[str, list[bytes]]) -> None:
    end = min(8 + struct.unpack("<I", data[4:8])[0], len(data))
    at = 12
    while at + 8 <= end:
        kind, size = struct.unpack("<4sI", data[at : at + 8])
        body = data[at + 8 : at + 8 + size]
        at += 8 + size + (size & 1)
        if kind == b"ANMF":
            # A frame holds its own sub-chunks after a 16-byte header.
            inner: dict[str, list[bytes]] = {}
            _webp(b"RIFF" + struct.pack("<I", len(body) - 12) + b"WEBP" + body[16:], inner)
            for key, parts in inner.items():
                found.setdefault(key, []).extend(parts)
        elif kind not in _WEBP_KNOWN:
            found.setdefault("webp:private-chunk", []).append(body)
    _trailing(data, max(at, end), found)


def _trailing(data: bytes, at: int, found: dict[str, list[bytes]]) -> None:
    if at < len(data):
        found.setdefault("trailing-data", []).append(data[at:])


def raw_profile(text: str) -> bytes | None:
    """The bytes of ImageMagick's "Raw profile type NAME" text: a name line, a length, hex."""
    match = _RAW_PROFILE.match(text)
    if match is None:
        return None
    digits = re.sub(r"\s+", "", match.group(2))
    try:
        return binascii.unhexlify(digits[: 2 * int(match.group(1))])
    except (binascii.Error, ValueError):
        return None


def readable_texts(raw: bytes) -> list[str]:
    """Every way a block of unknown bytes may hold text: as UTF-8 (or Latin-1), as UTF-16
    in either order, and the same for its zlib-inflated form when it inflates."""
    candidates = [raw]
    try:
        inflated = zlib.decompressobj().decompress(raw, 16 << 20)
        if inflated:
            candidates.append(inflated)
    except zlib.error:
        pass
    texts = []
    for blob in candidates:
        try:
            texts.append(blob.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(blob.decode("latin-1"))
        if len(blob) >= 4 and blob.count(0) * 4 >= len(blob):  # many zeros: maybe UTF-16
            texts.extend(blob.decode(codec, "replace") for codec in ("utf-16-le", "utf-16-be"))
    # Control bytes (binary noise) become spaces, so words around them stay words.
    return [re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+", " ", t) for t in texts]
