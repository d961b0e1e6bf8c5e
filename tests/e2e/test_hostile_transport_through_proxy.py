"""Raw sockets against the real proxy: every way a client can frame a request to a provider
host, and every way it can name its destination, ends in inspection or a refusal.

Each request carries a card number and an email. What counts is what the loopback upstream
received (never the card), what the client got (a provider-format answer with
X-PixelGate-Decision, or a refusal), one audit event per request mitmproxy could read, and
no "crashed" in the proxy's output.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator

import h2.config
import h2.connection
import h2.events
import pytest
from helpers.e2e import Proxy, Upstream, policy_text, start_proxy, stop_proxy, tls_tunnel

pytestmark = pytest.mark.e2e

CARD = "4539148803436467"
EMAIL = "jane.doe@example.org"
POLICY = """mode: enforce
on_error: block
rules:
  - {id: no-payment-data, entities: [CREDIT_CARD], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS], action: redact}
"""
PATH = "/v1/images/generations"
BODY = json.dumps({"prompt": f"A poster for {EMAIL}, card {CARD}", "model": "dall-e-3"}).encode()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Proxy]:
    # ignore_hosts names the provider too: PixelGate must inspect it all the same. Lazy
    # connections and no upstream certificate look-up: a CONNECT to a name that does not
    # resolve is answered, and ALPN is negotiated with the client alone (h2), so every
    # layer is reached.
    options = ("ignore_hosts=^localhost", "connection_strategy=lazy", "upstream_cert=false")
    handle = start_proxy(
        tmp_path_factory.mktemp("transport"),
        policy_text(upstream, POLICY),
        upstream,
        *(arg for option in options for arg in ("--set", option)),
        verbosity="info",
    )
    yield handle
    stop_proxy(handle)
    output = handle.stdout.read_bytes() + handle.stderr.read_bytes()
    assert b"crashed" not in output


@pytest.fixture(autouse=True)
def fresh(upstream: Upstream) -> None:
    upstream.clear()


def tunnel(
    proxy: Proxy, target: str, sni: str | None = "localhost", alpn: list[str] | None = None
) -> ssl.SSLSocket:
    return tls_tunnel(proxy.port, target, proxy.ca, sni, alpn)


def http1(host: str, body: bytes = BODY, sep: bytes = b" ") -> bytes:
    head = sep.join([b"POST", PATH.encode(), b"HTTP/1.1"]) + b"\r\n"
    return (
        head
        + (
            f"Host: {host}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer sk-test\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
    )


def read_response(sock: ssl.SSLSocket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1 response; (0, {}, b"") when the proxy closed without answering."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return 0, {}, b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    headers = {k.lower(): v for k, v in headers.items()}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split(" ")[1]), headers, body[:length]


def events_after(proxy: Proxy, before: int, expected: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 10
    while len(proxy.events()) < before + expected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # and no more than expected
    return proxy.events()[before:]


def assert_nothing_left(upstream: Upstream) -> None:
    assert all(CARD.encode() not in r.body for r in upstream.received)
    assert all(EMAIL.encode() not in r.body for r in upstream.received)


def test_a_request_line_split_over_two_writes_is_inspected(
    proxy: Proxy, upstream: Upstream
) -> None:
    before = len(proxy.events())
    host = f"localhost:{upstream.port}"
    with tunnel(proxy, host) as tls:
        raw = http1(host)
        tls.sendall(raw[:2])
        time.sleep(0.3)
        tls.sendall(raw[2:])
        status, headers, _ = read_response(tls)
    assert (status, headers["x-pixelgate-decision"]) == (403, "block")
    assert upstream.received == []
    (event,) = events_after(proxy, before, 1)
    assert event["action"] == "block"


def test_a_request_line_with_tabs_never_reaches_the_provider(
    proxy: Proxy, upstream: Upstream
) -> None:
    host = f"localhost:{upstream.port}"
    with tunnel(proxy, host) as tls:
        tls.sendall(http1(host, sep=b"\t"))
        status, _, _ = read_response(tls)
    # mitmproxy reads it (and PixelGate blocks the card) or refuses it: never relayed.
    assert status in (0, 400, 403)
    assert upstream.received == []


@pytest.mark.parametrize("first", [b"\x00\x01garbage\r\n\r\n", b"SSH-2.0-OpenSSH\r\n", b"PO"])
def test_bytes_that_do_not_look_like_http_are_not_relayed(
    proxy: Proxy, upstream: Upstream, first: bytes
) -> None:
    host = f"localhost:{upstream.port}"
    with tunnel(proxy, host) as tls:
        tls.sendall(first)
        time.sleep(0.3)
        tls.sendall(f" {CARD} {EMAIL}\r\n\r\n".encode())
        tls.settimeout(10)
        try:
            read_response(tls)
        except (TimeoutError, ConnectionError, ssl.SSLError):
            pass
    assert_nothing_left(upstream)


def test_a_clean_request_without_alpn_is_forwarded(proxy: Proxy, upstream: Upstream) -> None:
    host = f"localhost:{upstream.port}"
    with tunnel(proxy, host) as tls:
        tls.sendall(http1(host, json.dumps({"prompt": "a lighthouse at dawn"}).encode()))
        status, headers, _ = read_response(tls)
    assert (status, headers["x-pixelgate-decision"]) == (200, "allow")
    assert len(upstream.received) == 1


@pytest.mark.parametrize(
    ("target", "sni", "host"),
    [
        # CONNECT somewhere else, but SNI and Host name the provider.
        ("elsewhere.invalid:{port}", "localhost", "localhost:{port}"),
        # The provider everywhere but the Host header.
        ("localhost:{port}", "localhost", "elsewhere.invalid"),
        # The SNI names another host.
        ("localhost:{port}", "elsewhere.invalid", "localhost:{port}"),
        # Connected by address, no SNI, Host names the provider on another port.
        ("127.0.0.1:{port}", None, "localhost:1"),
    ],
)
def test_names_that_disagree_are_refused_and_audited(
    proxy: Proxy, upstream: Upstream, target: str, sni: str | None, host: str
) -> None:
    before = len(proxy.events())
    port = upstream.port
    with tunnel(proxy, target.format(port=port), sni) as tls:
        tls.sendall(http1(host.format(port=port)))
        status, headers, body = read_response(tls)
    assert (status, headers["x-pixelgate-decision"]) == (421, "block")
    assert json.loads(body)["error"]["code"] == "pixelgate_destination_mismatch"
    assert upstream.received == []
    (event,) = events_after(proxy, before, 1)
    assert (event["action"], event["error"]) == ("block", "pixelgate_destination_mismatch")


def test_a_keep_alive_connection_cannot_switch_host(proxy: Proxy, upstream: Upstream) -> None:
    host = f"localhost:{upstream.port}"
    clean = json.dumps({"prompt": "a lighthouse at dawn"}).encode()
    with tunnel(proxy, host) as tls:
        tls.sendall(http1(host, clean))
        assert read_response(tls)[0] == 200
        tls.sendall(http1("elsewhere.invalid"))
        status, headers, _ = read_response(tls)
    assert (status, headers["x-pixelgate-decision"]) == (421, "block")
    assert len(upstream.received) == 1


def test_a_chunked_request_with_trailers_is_answered(proxy: Proxy, upstream: Upstream) -> None:
    host = f"localhost:{upstream.port}"
    body = json.dumps({"prompt": f"A poster for {EMAIL}"}).encode()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nTrailer: X-Note\r\n\r\n"
    ).encode()
    chunked = f"{len(body):x}\r\n".encode() + body + f"\r\n0\r\nX-Note: {CARD}\r\n\r\n".encode()
    with tunnel(proxy, host) as tls:
        tls.sendall(head + chunked)
        tls.settimeout(20)
        status, headers, _ = read_response(tls)
    assert (status, headers["x-pixelgate-decision"]) == (200, "redact")
    (received,) = upstream.received
    assert EMAIL.encode() not in received.body
    assert CARD not in json.dumps(received.headers)


def h2_request(
    proxy: Proxy, target: str, sni: str | None, authority: str, extra: list[tuple[str, str]]
) -> tuple[int, dict[str, str]]:
    with tunnel(proxy, target, sni, alpn=["h2"]) as tls:
        assert tls.selected_alpn_protocol() == "h2"
        config = h2.config.H2Configuration(validate_outbound_headers=False)
        conn = h2.connection.H2Connection(config)
        conn.initiate_connection()
        headers = [
            (":method", "POST"),
            (":scheme", "https"),
            (":authority", authority),
            (":path", PATH),
            ("content-type", "application/json"),
            *extra,
        ]
        conn.send_headers(1, headers)
        conn.send_data(1, BODY, end_stream=True)
        tls.sendall(conn.data_to_send())
        status, answer = 0, {}
        while True:
            data = tls.recv(65536)
            if not data:
                return status, answer
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    answer = {k.decode(): v.decode() for k, v in event.headers}
                    status = int(answer[":status"])
                if isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    return status, answer
            tls.sendall(conn.data_to_send())


def test_h2_requests_are_inspected(proxy: Proxy, upstream: Upstream) -> None:
    host = f"localhost:{upstream.port}"
    status, headers = h2_request(proxy, host, "localhost", host, [])
    assert (status, headers["x-pixelgate-decision"]) == (403, "block")
    assert upstream.received == []


@pytest.mark.parametrize(
    ("target", "sni", "authority", "extra"),
    [
        ("elsewhere.invalid:{port}", "localhost", "localhost:{port}", []),
        ("localhost:{port}", "localhost", "elsewhere.invalid", []),
        ("localhost:{port}", "localhost", "localhost:{port}", [("host", "elsewhere.invalid")]),
    ],
)
def test_h2_names_that_disagree_are_refused(
    proxy: Proxy,
    upstream: Upstream,
    target: str,
    sni: str,
    authority: str,
    extra: list[tuple[str, str]],
) -> None:
    port = upstream.port
    status, headers = h2_request(
        proxy, target.format(port=port), sni, authority.format(port=port), extra
    )
    # mitmproxy's HTTP/2 layer resets a stream whose :authority and Host differ (0) itself.
    assert (status, headers.get("x-pixelgate-decision")) in ((421, "block"), (0, None))
    assert upstream.received == []


@pytest.mark.parametrize(
    "framing",
    [
        "Content-Length: {n}\r\nTransfer-Encoding: chunked\r\n",
        "Content-Length: {n}\r\nContent-Length: 5\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
    ],
)
def test_ambiguous_framing_smuggles_no_second_request(
    proxy: Proxy, upstream: Upstream, framing: str
) -> None:
    host = f"localhost:{upstream.port}"
    clean = json.dumps({"prompt": "a lighthouse at dawn"}).encode()
    hidden = http1(host)  # a whole second request, card and all, inside the first's body
    body = f"{len(clean):x}\r\n".encode() + clean + b"\r\n0\r\n\r\n" + hidden
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        + framing.format(n=len(body))
        + "\r\n"
    ).encode()
    with tunnel(proxy, host) as tls:
        tls.sendall(head + body)
        tls.settimeout(10)
        try:
            while tls.recv(65536):
                pass
        except (TimeoutError, ConnectionError, ssl.SSLError):
            pass
    assert_nothing_left(upstream)
    assert len(upstream.received) <= 1
