"""Audit reasons are PixelGate's own words: nothing the client wrote reaches an audit event.

Every adapter's wire fixtures (tests/data/<provider>/) go through a gate with a marker
planted, one place at a time: the method, the path and its query, header names and values
(content types and their parameters among them), JSON keys and values (strings, numbers,
data-URL media types, links), multipart field names, filenames and declared part types.
Whatever each request becomes (read, refused, blocked), the event the gate writes must not
contain the marker. Image sizes and frame counts from an image's header, and the status a
fetched link answers, are planted too.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType

import pytest
from helpers.fuzz_wire import FIXTURES
from helpers.images import png_header_claiming

from proxy.detectors.base import Detector
from proxy.detectors.image_base import ImageDetector
from proxy.detectors.images import ImageDecoder, ImageDetectorStage
from proxy.engine.audit import AuditEvent, AuditWriter
from proxy.engine.gate import Gate
from proxy.images.model import DecodedImage
from proxy.model import Finding, ImageRequest
from proxy.policy import Policy, load_policy_text
from proxy.providers import ADAPTERS, multipart
from proxy.providers.base import ProviderAdapter, WireRequest

DIGITS = "4539148803436467"
MARK = "zq" + DIGITS
WORD = "zqxkcdplantqz"  # where only letters would pass (an HTTP method, a media subtype)
TRACES = (DIGITS, WORD, "zq45391")
NUMBER = int(DIGITS)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
PNG_B64 = base64.b64encode(PNG).decode()
POLICY = """version: 1
mode: enforce
on_error: block
rules:
  - {{id: keep-home, entities: [FACE], action: reroute}}
remote_images: {{action: {remote}, allow_hosts: ["127.0.0.1"], timeout_s: 5}}
limits: {{max_images: 4, max_image_pixels: 1000000, max_image_frames: 3}}
"""


class NoText(Detector):
    name = "text_pii"
    cheap = True

    def detect(self, request: ImageRequest) -> Sequence[Finding]:
        return ()


class NoFaces(ImageDetector):
    """Finds nothing, but makes the pipeline decode every image (and check its type)."""

    name = "faces"

    def detect_image(self, image: DecodedImage) -> Sequence[Finding]:
        return ()


def policy(remote: str = "block") -> Policy:
    return load_policy_text(POLICY.format(remote=remote), "audit-vocabulary.yaml")


def audited(adapter: ProviderAdapter, wire: WireRequest, remote: str = "block") -> AuditEvent:
    """The one event a fresh gate writes for `wire` (fresh: no decoded image is remembered)."""
    chosen = policy(remote)
    detectors = (NoText(), ImageDetectorStage(NoFaces(), ImageDecoder(chosen.limits)))
    gate = Gate(chosen, ADAPTERS, detectors, AuditWriter(None))
    seen: list[AuditEvent] = []
    gate.observers.append(seen.append)
    gate.handle(adapter, wire)
    assert len(seen) == 1
    return seen[0]


def assert_no_trace(event: AuditEvent, *traces: str) -> None:
    # Ids, times and timings are ours, and random enough to hold any short number.
    text = replace(event, request_id="", time="", timings_ms={}).to_json().lower()
    for trace in traces or TRACES:
        assert trace not in text, text


# --- where a marker can be planted ----------------------------------------------------------


def with_header(wire: WireRequest, name: str, value: str) -> WireRequest:
    return replace(wire, headers=MappingProxyType({**wire.headers, name: value}))


def request_line_and_headers(wire: WireRequest) -> Iterator[WireRequest]:
    yield replace(wire, method=WORD.upper())
    yield replace(wire, method=MARK)
    yield replace(wire, method=wire.method.lower())
    yield replace(wire, path=wire.path + "/" + MARK)
    yield replace(wire, path="/" + MARK + wire.path)
    yield replace(wire, path=wire.path + ("&" if "?" in wire.path else "?") + f"{MARK}={MARK}")
    content_type = wire.content_type
    media, _, params = content_type.partition(";")
    for value in (
        f"application/{MARK}",
        f"{MARK}/{WORD}",
        f"{content_type}; charset={MARK}",
        f"{content_type}; {MARK}={MARK}",
        f"{media}; boundary={MARK}" if params else f"{media}; charset={WORD}",
        MARK,
    ):
        yield with_header(wire, "content-type", value)
    for name in ("accept", "content-encoding", "upgrade", "host", "x-stainless-lang"):
        yield with_header(wire, name, MARK)
    yield with_header(wire, MARK, MARK)
    yield with_header(wire, "content-length", DIGITS)


JSON_VALUES: tuple[object, ...] = (
    MARK,
    NUMBER,
    -NUMBER,
    NUMBER / 1000,
    {MARK: MARK},
    [MARK, NUMBER],
    f"{DIGITS}x{DIGITS}",
    f"data:image/{MARK};base64,{PNG_B64}",
    f"data:image/{WORD};base64,{PNG_B64}",
    f"data:{MARK}/{MARK};base64,{PNG_B64}",
    f"data:image/png;{MARK}=1;base64,{PNG_B64}",
    f"data:image/png;base64,{MARK}",
    f"https://{MARK}.invalid/{MARK}.png?{MARK}",
    f"gs://{MARK}/{MARK}.png",
)


def _slots(doc: object, path: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*path, key)
            yield from _slots(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc[:3]):
            yield (*path, index)
            yield from _slots(value, (*path, index))


def _set(doc: object, path: tuple[object, ...], value: object, *, rename: bool = False) -> object:
    copy = json.loads(json.dumps(doc))
    container = copy
    for step in path[:-1]:
        container = container[step]  # type: ignore[index]
    last = path[-1]
    if rename and isinstance(container, dict):
        container[MARK] = container.pop(last)
    else:
        container[last] = value  # type: ignore[index]
    return copy


def json_bodies(wire: WireRequest) -> Iterator[WireRequest]:
    try:
        doc = json.loads(wire.body)
    except ValueError:
        return
    if isinstance(doc, dict):
        yield replace(wire, body=json.dumps({**doc, MARK: MARK}).encode())
    for path in _slots(doc):
        if isinstance(path[-1], str):
            yield replace(wire, body=json.dumps(_set(doc, path, None, rename=True)).encode())
        for value in JSON_VALUES:
            yield replace(wire, body=json.dumps(_set(doc, path, value)).encode())


_NAME = re.compile(rb'name="([^"]*)"')
_FILENAME = re.compile(rb'filename="([^"]*)"')
_PART_TYPE = re.compile(rb"(?im)^content-type: *[^\r\n]*")


def multipart_bodies(wire: WireRequest) -> Iterator[WireRequest]:
    if not wire.content_type.lower().startswith("multipart/"):
        return
    boundary = b"--" + multipart.boundary_of(wire.content_type)
    chunks = wire.body.split(boundary)
    mark = MARK.encode()
    for index, chunk in enumerate(chunks):
        head, sep, value = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        changed: list[tuple[bytes, bytes]] = [
            (_NAME.sub(b'name="' + mark + b'"', head, count=1), value),
            (head, DIGITS.encode() + b"\r\n"),
            (head, mark + b"\r\n"),
        ]
        if _FILENAME.search(head):
            changed.append((_FILENAME.sub(b'filename="' + mark + b'.png"', head), value))
        for declared in (f"image/{DIGITS}", f"image/{MARK}", f"image/{WORD}", f"{MARK}/{WORD}"):
            line = b"Content-Type: " + declared.encode()
            if _PART_TYPE.search(head):
                changed.append((_PART_TYPE.sub(line, head), value))
            else:
                changed.append((head + b"\r\n" + line, value))
        changed.append((head + b"\r\n" + mark + b": " + mark, value))
        for new_head, new_value in changed:
            parts = [*chunks[:index], new_head + sep + new_value, *chunks[index + 1 :]]
            yield replace(wire, body=boundary.join(parts))


def planted(wire: WireRequest) -> Iterator[WireRequest]:
    yield from request_line_and_headers(wire)
    yield from json_bodies(wire)
    yield from multipart_bodies(wire)


CASES = [
    pytest.param(adapter, wire, id=f"{adapter.name}-{wire.path.split('?')[0][-40:]}")
    for adapter in ADAPTERS
    for wire in FIXTURES[adapter.name]
]


@pytest.mark.parametrize(("adapter", "fixture"), CASES)
def test_no_value_the_client_wrote_reaches_the_audit_event(
    adapter: ProviderAdapter, fixture: WireRequest
) -> None:
    for wire in planted(fixture):
        assert_no_trace(audited(adapter, wire))


# --- values that live inside images and behind links ----------------------------------------


def edit_with(image: bytes, declared: str = "image/png", count: int = 1) -> WireRequest:
    boundary = "b0undary"
    part = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image[]"; filename="a.png"\r\n'
            f"Content-Type: {declared}\r\n\r\n"
        ).encode()
        + image
        + b"\r\n"
    )
    prompt = f'--{boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhat\r\n'
    body = prompt.encode() + part * count + f"--{boundary}--\r\n".encode()
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    return WireRequest("POST", "api.openai.com", 443, "/v1/images/edits", headers, body)


def test_an_images_header_size_is_not_quoted() -> None:
    event = audited(ADAPTERS[0], edit_with(png_header_claiming(3217, 2903)))
    assert event.error == "pixelgate_request_too_large"
    assert_no_trace(event, "3217", "2903")


def test_an_images_frame_count_is_not_quoted() -> None:
    from helpers.images import encode
    from PIL import Image

    frames = [Image.new("RGB", (2, 2), (i, 0, 0)) for i in range(17)]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    event = audited(ADAPTERS[0], edit_with(gif, "image/gif"))
    assert event.error == "pixelgate_request_too_large"
    assert_no_trace(event, "17")


def test_the_number_of_images_sent_is_not_quoted() -> None:
    event = audited(ADAPTERS[0], edit_with(PNG, count=13))
    assert event.error == "pixelgate_request_too_large"
    assert_no_trace(event, "13")


def test_a_mismatched_declared_type_is_named_in_our_words() -> None:
    for declared in (f"image/{DIGITS}", f"image/{WORD}", "image/jpeg"):
        event = audited(ADAPTERS[0], edit_with(PNG, declared))
        assert event.error == "pixelgate_malformed_request"
        assert_no_trace(event, *TRACES, "image/jpeg")
        assert "declared type does not match its content" in " ".join(event.reasons)


@pytest.fixture(scope="module")
def linked_images() -> Iterator[str]:
    """A loopback server answering an odd status for one path, and not-an-image for others."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            status = 459 if "odd" in self.path else 200
            self.send_response(status)
            self.send_header("content-type", f"image/{WORD}")
            self.end_headers()
            self.wfile.write(MARK.encode())

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("path", [f"/odd/{MARK}.png?{MARK}=1", f"/{MARK}.png"])
def test_a_fetched_links_answer_and_address_are_not_quoted(linked_images: str, path: str) -> None:
    body = {"model": "gpt-image-1", "input": [{"role": "user", "content": [
        {"type": "input_text", "text": "a hat"},
        {"type": "input_image", "image_url": linked_images + path},
    ]}]}  # fmt: skip
    headers = {"content-type": "application/json"}
    wire = WireRequest(
        "POST", "api.openai.com", 443, "/v1/responses", headers, json.dumps(body).encode()
    )
    event = audited(ADAPTERS[0], wire, remote="fetch")
    assert event.action == "block"
    assert_no_trace(event, *TRACES, "459", "127.0.0.1")
