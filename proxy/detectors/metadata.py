"""Personal data in an image's metadata: EXIF, XMP, IPTC, PNG text chunks and comments."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol, TypeVar

from proxy.detectors.image_base import ImageDetector
from proxy.detectors.text_pii import TextHit
from proxy.images.containers import raw_profile, readable_texts
from proxy.images.decode import load_exif
from proxy.images.model import DecodedImage
from proxy.model import Finding, Source

GPS_LOCATION, DEVICE_ID, OWNER, CAPTURE_TIME = (
    "GPS_LOCATION",
    "DEVICE_ID",
    "METADATA_OWNER",
    "CAPTURE_TIME",
)
_T = TypeVar("_T")
_SCORES = {GPS_LOCATION: 1.0, DEVICE_ID: 0.9, OWNER: 0.8, CAPTURE_TIME: 0.5}

_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_GPS_LATITUDE, _GPS_LONGITUDE, _DATE_TIME_ORIGINAL, _USER_COMMENT = 2, 4, 0x9003, 0x9286
_EXIF_SERIALS = {0xA431: "BodySerialNumber", 0xA435: "LensSerialNumber", 0xA420: "ImageUniqueID"}
_EXIF_TEXT = {
    0x010E: "ImageDescription",
    0x013B: "Artist",
    0x8298: "Copyright",
    0x9286: "UserComment",
    0xA430: "CameraOwnerName",
    0x9C9B: "XPTitle",
    0x9C9C: "XPComment",
    0x9C9D: "XPAuthor",
    0x9C9E: "XPKeywords",
    0x9C9F: "XPSubject",
}
_EXIF_OWNERS = {"Artist", "Copyright", "CameraOwnerName", "XPAuthor"}

# XMP properties are matched by local name under any prefix (a writer may bind the EXIF
# namespace to "foo:", or put GPSLatitude in a namespace of its own); the prefix named here
# only labels the finding.
_XMP_GPS = ("exif:GPSLatitude", "exif:GPSLongitude")
_XMP_SERIALS = ("aux:SerialNumber", "aux:LensSerialNumber", "exifEX:BodySerialNumber",
                "exifEX:LensSerialNumber", "exif:ImageUniqueID")  # fmt: skip
_XMP_CAPTURE = ("exif:DateTimeOriginal", "photoshop:DateCreated")
_XMP_OWNERS = ("dc:creator", "dc:rights", "xmpRights:Owner", "tiff:Artist", "tiff:Copyright",
               "exifEX:CameraOwnerName", "aux:OwnerName")  # fmt: skip
_XMP_TEXT = _XMP_OWNERS + (
    "dc:description", "dc:title", "dc:subject", "tiff:ImageDescription", "exif:UserComment",
    "photoshop:AuthorsPosition", "photoshop:CaptionWriter", "photoshop:Credit",
    "photoshop:Source", "photoshop:Instructions", "photoshop:Headline", "photoshop:City",
    "photoshop:State", "photoshop:Country", "Iptc4xmpCore:Location", "Iptc4xmpCore:CiEmailWork",
    "Iptc4xmpCore:CiTelWork", "Iptc4xmpCore:CiUrlWork", "Iptc4xmpCore:CiAdrExtadr",
    "Iptc4xmpCore:CiAdrCity", "Iptc4xmpCore:CiAdrPcode", "Iptc4xmpCore:CiAdrRegion",
    "Iptc4xmpCore:CiAdrCtry", "Iptc4xmpExt:PersonInImage",
)  # fmt: skip

# IPTC-IIM record 2 datasets that hold free text; by-line and copyright name an owner.
_IPTC_TEXT = {5: "ObjectName", 25: "Keywords", 40: "SpecialInstructions", 80: "By-line",
              85: "By-lineTitle", 90: "City", 92: "Sublocation", 95: "Province-State",
              101: "Country", 105: "Headline", 110: "Credit", 115: "Source",
              116: "CopyrightNotice", 118: "Contact", 120: "Caption-Abstract",
              122: "Writer-Editor"}  # fmt: skip
_IPTC_OWNERS = {"By-line", "CopyrightNotice"}
_PNG_OWNERS = {"author", "artist", "copyright", "owner"}
_RAW_PROFILE = "text:Raw profile type"


class TextFinder(Protocol):
    def find(self, text: str) -> Sequence[TextHit]: ...


# What one metadata block yields: direct findings (entity, where) and texts (where, text, owner).
_Direct = tuple[str, str]
_Text = tuple[str, str, bool]


class MetadataDetector(ImageDetector):
    """Personal data that travels in an image's metadata rather than its pixels.

    Positions, device serials and capture times are reported from the fields that hold
    them; free-text fields go through the text analyzer, and an owner field that is filled
    in is reported even when the analyzer sees no name in it. A field that does not decode
    is skipped. Findings name the field (in `recognizer`), never its value.
    """

    name = "metadata"

    def __init__(self, analyzer: TextFinder) -> None:
        self.analyzer = analyzer

    def detect_image(self, image: DecodedImage) -> list[Finding]:
        direct: list[_Direct] = []
        texts: list[_Text] = []
        for key, value in image.metadata.items():
            if key == "exif" and isinstance(value, bytes):
                _read_exif(value, direct, texts)
            elif key == "xmp" or key.startswith("xmp:"):  # GIF's, JPEG's extended XMP too
                _read_xmp(_as_text(value), direct, texts)
            elif key == "icc" and isinstance(value, bytes):
                # Kept by redaction (it is colour, not a person), so its description and
                # copyright tags reach the upstream: read as text, with no finding of its own.
                texts.extend(("icc", text, False) for text in readable_texts(value))
            elif key == "iptc" and isinstance(value, bytes):
                texts.extend(_read_iptc(value))
            elif key == "comment":
                texts.append(("comment", _as_text(value), False))
            elif key.startswith(_RAW_PROFILE):
                # ImageMagick's hex dumps of EXIF, XMP, IPTC or anything else.
                raw = raw_profile(_as_text(value))
                if raw is None:
                    _read_unread("png:raw-profile", _as_text(value).encode(), direct, texts)
                else:
                    _read_blob("png:raw-profile", raw, direct, texts)
            elif key.startswith("text:"):
                name = key[len("text:") :]
                texts.append((f"png:{name}", _as_text(value), name.lower() in _PNG_OWNERS))
            elif key not in ("exif", "iptc", "icc"):
                # A block the decoder kept without understanding it (a private chunk, an
                # unknown APPn segment, bytes after the image): see `_read_unread`.
                raw = value if isinstance(value, bytes) else value.encode()
                _read_unread(key, raw, direct, texts)
        findings = [
            self._finding(entity, _SCORES[entity], where, image) for entity, where in direct
        ]
        for where, text, owner in texts:
            if not text.strip():
                continue
            if owner:
                findings.append(self._finding(OWNER, _SCORES[OWNER], where, image))
            for hit in self.analyzer.find(text):
                findings.append(self._finding(hit.entity, hit.score, where, image, hit.recognizer))
        return list(dict.fromkeys(findings))  # the same field read twice is one finding

    def _finding(
        self, entity: str, score: float, where: str, image: DecodedImage, by: str = ""
    ) -> Finding:
        recognizer = f"{by}@{where}" if by else where
        return Finding(entity, Source.METADATA, score, part=image.index, recognizer=recognizer)


def _read_unread(key: str, raw: bytes, direct: list[_Direct], texts: list[_Text]) -> None:
    """A block nobody documents may hold anything (compressed, encrypted, a whole second
    picture): it is a finding of its own (METADATA_OWNER, which the bundled policies redact,
    and redaction drops it), and it is read every way it may hold text, XMP or EXIF."""
    direct.append((OWNER, f"unread:{key}"))
    _read_blob(f"unread:{key}", raw, direct, texts)


def _read_blob(where: str, raw: bytes, direct: list[_Direct], texts: list[_Text]) -> None:
    """Bytes of unknown layout: EXIF if they start like it, XMP anywhere in them, and every
    text decoding of them (and of their inflated form) through the text analyzer."""
    start = raw.find(b"Exif\x00\x00")
    if start >= 0 or raw[:4] in (b"II*\x00", b"MM\x00*"):
        _read_exif(raw[max(start, 0) :], direct, texts)
    iptc = raw.find(b"\x1c\x02")
    if iptc >= 0:
        texts.extend(_read_iptc(raw[iptc:]))
    for text in readable_texts(raw):
        _read_xmp(text, direct, texts)
        texts.append((where, text, False))


def _read_exif(raw: bytes, direct: list[_Direct], texts: list[_Text]) -> None:
    try:
        exif = load_exif(raw)
    except Exception:
        return  # decode_image refuses unreadable EXIF; this is a caller that skipped it
    gps = _safe(exif.get_ifd, _GPS_IFD) or {}
    if any(_is_position(gps.get(tag)) for tag in (_GPS_LATITUDE, _GPS_LONGITUDE)):
        direct.append((GPS_LOCATION, "exif:GPSInfo"))
    # Sloppy writers put Exif-IFD tags in IFD0, so both directories are searched.
    dirs: list[Mapping[int, object]] = [exif, _safe(exif.get_ifd, _EXIF_IFD) or {}]
    big_endian = getattr(exif, "endian", "<") == ">"
    for tag, name in _EXIF_SERIALS.items():
        if _safe(_serial_text, dirs, tag):
            direct.append((DEVICE_ID, f"exif:{name}"))
    if _lookup(dirs, _DATE_TIME_ORIGINAL) is not None:
        direct.append((CAPTURE_TIME, "exif:DateTimeOriginal"))
    for tag, name in _EXIF_TEXT.items():
        text = _safe(_exif_text, tag, _lookup(dirs, tag), big_endian)
        if text:
            texts.append((f"exif:{name}", text, name in _EXIF_OWNERS))


def _exif_text(tag: int, value: object, big_endian: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):  # BYTE arrays can arrive as tuples of ints
        value = bytes(value)
    if 0x9C9B <= tag <= 0x9C9F and isinstance(value, bytes):
        return value.decode("utf-16-le", "replace").rstrip("\x00")  # Windows' XP* tags
    if tag == _USER_COMMENT and isinstance(value, bytes):
        # An 8-byte character-code header, then the text (EXIF 2.32 §4.6.5).
        header, body = value[:8], value[8:]
        if header.startswith(b"UNICODE"):
            return body.decode("utf-16-be" if big_endian else "utf-16-le", "replace")
        if header.startswith(b"JIS"):
            return body.decode("shift_jis", "replace")
        return _as_text(body).rstrip("\x00")
    return _as_text(value).rstrip("\x00")


def _serial_text(dirs: Sequence[Mapping[int, object]], tag: int) -> str:
    return _as_text(_lookup(dirs, tag)).strip("\x00 ")


def _lookup(dirs: Sequence[Mapping[int, object]], tag: int) -> object:
    for directory in dirs:
        if tag in directory:
            return directory[tag]
    return None


def _is_position(value: object) -> bool:
    if value is None:
        return False
    parts = value if isinstance(value, tuple | list) else (value,)
    for part in parts:
        try:
            number = float(part)
        except (TypeError, ValueError):
            return bool(part)  # an unexpected type that is filled in: assume a position
        # 0/0 and all-zero coordinates are what cameras without a fix write.
        if math.isfinite(number) and number != 0:
            return True
    return False


def _read_xmp(xmp: str, direct: list[_Direct], texts: list[_Text]) -> None:
    for entity, names in ((GPS_LOCATION, _XMP_GPS), (DEVICE_ID, _XMP_SERIALS),
                          (CAPTURE_TIME, _XMP_CAPTURE)):  # fmt: skip
        for name in names:
            if any(_xmp_values(xmp, name)):
                direct.append((entity, f"xmp:{name}"))
    for name in _XMP_TEXT:
        for value in _xmp_values(xmp, name):
            texts.append((f"xmp:{name}", value, name in _XMP_OWNERS))


def _xmp_values(xmp: str, name: str) -> Iterator[str]:
    """A property's values, written as an attribute or as an element (rdf:Alt/Seq/Bag too).

    Regular expressions rather than an XML parser: no entity expansion, nothing to exploit.
    """
    qname = r"(?:[\w.-]+:)?" + re.escape(name.rpartition(":")[2])
    for match in re.finditer(rf"\b{qname}\s*=\s*(\"([^\"]*)\"|'([^']*)')", xmp):
        yield html.unescape(match.group(2) or match.group(3) or "").strip()
    for _, body in re.findall(rf"<({qname})\b[^>]*>(.*?)</\1\s*>", xmp, re.DOTALL):
        yield html.unescape(re.sub(r"<[^>]*>", " ", body)).strip()


def _read_iptc(raw: bytes) -> Iterator[_Text]:
    """IPTC-IIM datasets: 0x1C, record, dataset, 2-byte length, value (IIM 4.2 §1.5)."""
    at = 0
    while at + 5 <= len(raw) and raw[at] == 0x1C:
        record, dataset = raw[at + 1], raw[at + 2]
        size = int.from_bytes(raw[at + 3 : at + 5], "big")
        if size & 0x8000:
            return  # an extended-length dataset: only used for binary data, stop here
        value = raw[at + 5 : at + 5 + size]
        at += 5 + size
        name = _IPTC_TEXT.get(dataset) if record == 2 else None
        if name:
            yield f"iptc:{name}", _as_text(value), name in _IPTC_OWNERS


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")  # never fails: every byte is a character
    return ""


def _safe(read: Callable[..., _T], *args: object) -> _T | None:
    """One field's read: a field that does not decode is skipped, not fatal."""
    try:
        return read(*args)
    except Exception:
        return None
