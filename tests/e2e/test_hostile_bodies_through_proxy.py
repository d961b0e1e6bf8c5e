"""Compressed, stacked, broken, inflating and chunked request bodies through the real proxy.

Each one is inspected as the policy says (checked at the upstream, decoded there on its own)
or answered with a clear error in OpenAI's format; none reaches the upstream uninspected.
"""

from __future__ import annotations

import bz2
import gzip
import http.client
import json
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import brotli  # type: ignore[import-untyped]
import httpx
import pytest
import zstandard
from helpers.e2e import (
    Proxy,
    Received,
    Upstream,
    openai_answer,
    proxy_fixture,
    serve_upstream,
    tls_tunnel,
)

pytestmark = pytest.mark.e2e

EMAIL = "jane.doe@example.org"
LIMIT = 64 * 1024
POLICY = f"""mode: enforce
on_error: block
rules:
  - {{id: contact-details, entities: [EMAIL_ADDRESS], action: redact}}
redaction: {{EMAIL_ADDRESS: "an email address"}}
limits: {{max_body_bytes: {LIMIT}}}
"""
REDACTED = "A birthday card for an email address with balloons"
PLANTED = json.dumps({"prompt": f"A birthday card for {EMAIL} with balloons"}).encode()
CLEAN = json.dumps({"prompt": "A watercolour lighthouse at dawn"}).encode()

# Reference codecs, independent of the proxy's own decoder, to read what the upstream got.
CODECS: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
    "gzip": (gzip.compress, gzip.decompress),
    "deflate": (zlib.compress, zlib.decompress),
    "br": (brotli.compress, brotli.decompress),
    "zstd": (
        zstandard.ZstdCompressor().compress,
        lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
    ),
}
DECISION = "x-pixelgate-decision"
CODINGS = ["gzip", "deflate", "br", "zstd", "gzip, br", "br, gzip", "zstd, deflate", "GZip"]


def encode(data: bytes, header: str) -> bytes:
    for coding in filter(None, header.split(",")):
        data = CODECS[coding.strip().lower()][0](data)
    return data


def decode(data: bytes, header: str) -> bytes:
    for coding in reversed(header.split(",") if header else []):
        data = CODECS[coding.strip().lower()][1](data)
    return data


def _dechunking_handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    """The helpers' upstream, reading chunked bodies too: mitmproxy forwards them chunked."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            if "chunked" in self.headers.get("transfer-encoding", "").lower():
                body = b""
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    body += self.rfile.read(size)
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b""):
                    pass  # trailer fields
            else:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            received = Received(self.command, self.path, headers, body)
            upstream.received.append(received)
            status, answer_headers, data = openai_answer(received)
            self.send_response(status)
            for name, value in answer_headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    up, server = serve_upstream(tmp_path_factory.mktemp("upstream"))
    server.RequestHandlerClass = _dechunking_handler(up)
    yield up
    server.shutdown()


proxy = proxy_fixture("openai", POLICY)


@pytest.fixture
def post(proxy: Proxy, upstream: Upstream) -> Iterator[Callable[..., httpx.Response]]:
    """POST to the images endpoint through the proxy, with an empty upstream record."""
    upstream.clear()
    with proxy.http_client() as client:

        def send(
            content: bytes | Iterator[bytes], headers: dict[str, str] | None = None
        ) -> httpx.Response:
            return client.post(
                f"https://localhost:{upstream.port}/v1/images/generations",
                content=content,
                headers={"content-type": "application/json", **(headers or {})},
            )

        yield send


def raw_exchange(proxy: Proxy, upstream: Upstream, request: bytes) -> httpx.Response:
    """Bytes no HTTP client library would send, through CONNECT and the proxy's TLS."""
    tls = tls_tunnel(proxy.port, f"localhost:{upstream.port}", proxy.ca)
    tls.sendall(request)
    response = http.client.HTTPResponse(tls)
    response.begin()
    return httpx.Response(response.status, headers=response.getheaders(), content=response.read())


def assert_refused(response: httpx.Response, code: str, upstream: Upstream) -> str:
    """Refused in OpenAI's error format, nothing forwarded; returns the error message."""
    status, decision, body = response.status_code, response.headers.get(DECISION), response.content
    assert decision == "block"
    error = json.loads(body)["error"]
    assert error["code"] == code, error
    assert EMAIL not in error["message"]
    assert status == (413 if code == "pixelgate_request_too_large" else 400)
    assert upstream.received == []
    return str(error["message"])


@pytest.mark.parametrize("coding", CODINGS)
def test_an_encoded_email_arrives_redacted_and_decodable(
    post: Callable[..., httpx.Response], upstream: Upstream, coding: str
) -> None:
    response = post(encode(PLANTED, coding), {"content-encoding": coding})
    assert response.status_code == 200
    assert response.headers["x-pixelgate-decision"] == "redact"
    (received,) = upstream.received
    # One coding is written back as it came; a stack mitmproxy cannot re-encode arrives plain.
    sent = received.headers.get("content-encoding", "")
    assert sent.lower() in (coding.lower(), "") and ("," in coding) == (sent == "")
    assert int(received.headers["content-length"]) == len(received.body)
    assert json.loads(decode(received.body, sent)) == {"prompt": REDACTED}


@pytest.mark.parametrize("coding", CODINGS)
def test_an_encoded_clean_body_arrives_byte_for_byte(
    post: Callable[..., httpx.Response], upstream: Upstream, coding: str
) -> None:
    content = encode(CLEAN, coding)
    response = post(content, {"content-encoding": coding})
    assert response.headers["x-pixelgate-decision"] == "allow"
    (received,) = upstream.received
    assert received.body == content
    assert received.headers["content-encoding"] == coding


@pytest.mark.parametrize("coding", ["compress", "bz2", "base64", "x-unknown, gzip"])
def test_an_unknown_encoding_is_refused(
    post: Callable[..., httpx.Response], upstream: Upstream, coding: str
) -> None:
    # bz2 and base64 are codecs Python knows: mitmproxy alone would have decoded them.
    body = {"bz2": bz2.compress(PLANTED)}.get(coding, gzip.compress(PLANTED))
    response = post(body, {"content-encoding": coding})
    assert_refused(response, "pixelgate_malformed_request", upstream)


@pytest.mark.parametrize("damage", ["flip", "truncate", "trailing"])
def test_a_broken_gzip_stream_is_refused(
    post: Callable[..., httpx.Response], upstream: Upstream, damage: str
) -> None:
    data = bytearray(gzip.compress(PLANTED))
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    elif damage == "truncate":
        del data[len(data) // 2 :]
    else:
        data += EMAIL.encode()
    response = post(bytes(data), {"content-encoding": "gzip"})
    assert_refused(response, "pixelgate_malformed_request", upstream)


def _peak_rss(proxy: Proxy) -> int:
    status = Path(f"/proc/{proxy.process.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


BOMBS: dict[str, Callable[[], bytes]] = {
    # A few hundred bytes inflating to 512 and 64 MiB: mitmproxy's decoder would hold it all.
    "br": lambda: brotli.compress(bytes(512 << 20), quality=5),
    "gzip, gzip": lambda: gzip.compress(
        b"".join(gzip.compress(bytes(1 << 20), 1) for _ in range(64))
    ),
}


@pytest.mark.parametrize("coding", sorted(BOMBS))
def test_a_decompression_bomb_is_refused_as_too_large_without_inflating(
    post: Callable[..., httpx.Response], upstream: Upstream, proxy: Proxy, coding: str
) -> None:
    bomb = BOMBS[coding]()
    assert len(bomb) < 4096
    before = _peak_rss(proxy)
    response = post(bomb, {"content-encoding": coding})
    assert_refused(response, "pixelgate_request_too_large", upstream)
    # The peak resident size of the proxy did not grow by the inflated size (KiB).
    assert _peak_rss(proxy) - before < 48 * 1024


def chunks(data: bytes, size: int = 7) -> Iterator[bytes]:
    return (data[start : start + size] for start in range(0, len(data), size))


@pytest.mark.parametrize("coding", ["", "gzip"])
def test_a_chunked_upload_arrives_redacted(
    post: Callable[..., httpx.Response], upstream: Upstream, coding: str
) -> None:
    # A generator: httpx sends it with Transfer-Encoding: chunked.
    response = post(chunks(encode(PLANTED, coding)), {"content-encoding": coding} if coding else {})
    assert response.headers["x-pixelgate-decision"] == "redact"
    (received,) = upstream.received
    assert json.loads(decode(received.body, coding)) == {"prompt": REDACTED}


def test_a_chunked_upload_over_the_limit_is_refused(
    post: Callable[..., httpx.Response], upstream: Upstream
) -> None:
    body = json.dumps({"prompt": f"{EMAIL} " + "x" * LIMIT}).encode()
    response = post(chunks(body, 4096))
    assert_refused(response, "pixelgate_request_too_large", upstream)


def test_a_body_over_the_limit_is_refused(
    post: Callable[..., httpx.Response], upstream: Upstream
) -> None:
    response = post(json.dumps({"prompt": f"{EMAIL} " + "x" * LIMIT}).encode())
    assert_refused(response, "pixelgate_request_too_large", upstream)


def test_a_declared_length_over_the_limit_is_refused(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    body = PLANTED + b" " * (4 * LIMIT)
    head = (
        f"POST /v1/images/generations HTTP/1.1\r\nHost: localhost:{upstream.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    # Answered from the headers (requestheaders), though mitmproxy still reads the body first.
    response = raw_exchange(proxy, upstream, head.encode() + body)
    assert_refused(response, "pixelgate_request_too_large", upstream)


def test_a_body_announced_past_the_buffering_bound_is_answered_without_being_read(
    proxy: Proxy, upstream: Upstream
) -> None:
    # 1 GiB announced, 10 bytes sent: mitmproxy's body_size_limit (which PixelGate sets when
    # the operator has not) answers from the headers instead of waiting to buffer it all.
    upstream.clear()
    head = (
        f"POST /v1/images/generations HTTP/1.1\r\nHost: localhost:{upstream.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {1 << 30}\r\n\r\n"
    )
    started = time.monotonic()
    response = raw_exchange(proxy, upstream, head.encode() + PLANTED[:10])
    assert response.status_code == 413 and time.monotonic() - started < 10
    assert upstream.received == []


def test_a_transfer_coding_other_than_chunked_is_refused(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    data = gzip.compress(PLANTED)
    head = (
        f"POST /v1/images/generations HTTP/1.1\r\nHost: localhost:{upstream.port}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
    )
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)
    response = raw_exchange(proxy, upstream, head.encode() + body)
    assert "transfer coding" in assert_refused(response, "pixelgate_malformed_request", upstream)


def test_no_file_the_proxy_wrote_holds_a_planted_value(proxy: Proxy) -> None:
    # Last in the module: after every hostile body above, in logs (debug level) and audit.
    files = proxy.written_files()
    assert proxy.audit in files
    for path in files:
        assert EMAIL.encode() not in path.read_bytes(), path.name
