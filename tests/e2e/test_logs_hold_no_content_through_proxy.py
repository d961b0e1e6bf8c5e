"""Bytes that mitmproxy, h2 and asyncio cannot parse, sent through the real proxy at info and
debug verbosity: their error messages quote them, and no log line the process writes may.

Each case plants its own marker (an email naming the case) and a card number in bytes no
client library would send; afterwards stdout, stderr and every file under the proxy's
working directory are searched for them, and the upstream must not have received them.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import h2.config
import h2.connection
import h2.events
import pytest
from helpers.e2e import Proxy, Upstream, connect_tunnel, policy_text, start_proxy, stop_proxy

pytestmark = pytest.mark.e2e

CARD = "4539148803436467"
POLICY = """mode: enforce
on_error: block
rules:
  - {id: no-payment-data, entities: [CREDIT_CARD], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS], action: redact}
"""


def marker(case: str) -> str:
    return f"{case}.wrzesniewska@example.net"


def tunnel(proxy: Proxy, target: str) -> socket.socket:
    """A connection to the proxy that has CONNECTed to `target`."""
    return connect_tunnel(proxy.port, target, timeout=10)


def connect(proxy: Proxy, upstream: Upstream, alpn: str = "http/1.1") -> ssl.SSLSocket:
    """TLS to the upstream through the proxy, trusting the proxy's CA."""
    context = ssl.create_default_context(cafile=str(proxy.ca))
    context.set_alpn_protocols([alpn])
    raw = tunnel(proxy, f"localhost:{upstream.port}")
    return context.wrap_socket(raw, server_hostname="localhost")


def send_raw(proxy: Proxy, upstream: Upstream, data: bytes, hang_up: bool = False) -> None:
    """Write `data` over one connection; read what comes back (or hang up at once)."""
    with connect(proxy, upstream) as tls:
        tls.sendall(data)
        if hang_up:
            return
        try:
            while tls.recv(65536):
                pass
        except (OSError, ssl.SSLError):
            pass  # the proxy may reset a connection it could not parse


def head(upstream: Upstream, case: str, extra: str = "") -> str:
    """A request head with the case's marker in the query and in an Authorization header."""
    return (
        f"POST /v1/images/generations?user={marker(case)} HTTP/1.1\r\n"
        f"Host: localhost:{upstream.port}\r\n"
        f"Authorization: Bearer sk-{case}-{CARD}\r\nConnection: close\r\n{extra}"
    )


def mid_headers(proxy: Proxy, upstream: Upstream) -> None:
    data = head(upstream, "midheaders", f"X-Note: card {CARD} for {marker('midheaders')}\r\n")
    send_raw(proxy, upstream, data.encode(), hang_up=True)


def four_word_request_line(proxy: Proxy, upstream: Upstream) -> None:
    data = head(upstream, "fourwords").replace(" HTTP/1.1", f" HTTP/1.1 {CARD}", 1) + "\r\n"
    send_raw(proxy, upstream, data.encode())


def header_without_colon(proxy: Proxy, upstream: Upstream) -> None:
    data = head(upstream, "nocolon", f"{marker('nocolon')} {CARD}\r\n") + "\r\n"
    send_raw(proxy, upstream, data.encode())


def control_characters_in_header(proxy: Proxy, upstream: Upstream) -> None:
    value = f"\x01{marker('control')}\x7f{CARD}\x00"
    data = head(upstream, "control", f"X-Note: {value}\r\nContent-Length: 2\r\n") + "\r\n{}"
    send_raw(proxy, upstream, data.encode())


def bad_chunked_body(proxy: Proxy, upstream: Upstream) -> None:
    data = (
        head(upstream, "chunked", "Transfer-Encoding: chunked\r\n")
        + f"\r\nzz-{marker('chunked')}-{CARD}\r\n{{}}\r\n0\r\n\r\n"
    )
    send_raw(proxy, upstream, data.encode())


H2_ENDS = (h2.events.StreamEnded, h2.events.StreamReset, h2.events.ConnectionTerminated)


def h2_headers(proxy: Proxy, upstream: Upstream, case: str, header: tuple[str, str]) -> None:
    """An h2 request with `header`, sent without h2's own validation of outgoing headers."""
    with connect(proxy, upstream, alpn="h2") as tls:
        assert tls.selected_alpn_protocol() == "h2"
        config = h2.config.H2Configuration(
            client_side=True, validate_outbound_headers=False, normalize_outbound_headers=False
        )
        conn = h2.connection.H2Connection(config)
        conn.initiate_connection()
        headers = [
            (":method", "POST"),
            (":scheme", "https"),
            (":authority", f"localhost:{upstream.port}"),
            (":path", f"/v1/images/generations?user={marker(case)}"),
            ("authorization", f"Bearer sk-{case}-{CARD}"),
            header,
        ]
        conn.send_headers(1, headers)
        conn.send_data(1, f'{{"prompt": "card {CARD} for {marker(case)}"}}'.encode())
        conn.end_stream(1)
        tls.sendall(conn.data_to_send())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                data = tls.recv(65536)
            except (OSError, ssl.SSLError):
                break
            if not data:
                break
            events = conn.receive_data(data)
            tls.sendall(conn.data_to_send())
            if any(isinstance(e, H2_ENDS) for e in events):
                break


def h2_whitespace_value(proxy: Proxy, upstream: Upstream) -> None:
    h2_headers(proxy, upstream, "h2space", ("x-note", f"  {marker('h2space')} {CARD}  "))


def h2_uppercase_name(proxy: Proxy, upstream: Upstream) -> None:
    h2_headers(proxy, upstream, "h2upper", (f"X-{CARD}-H2UPPER", marker("h2upper")))


def untrusted_sni(proxy: Proxy, upstream: Upstream) -> None:
    """A client that does not trust the proxy's CA: mitmproxy names the SNI in its message."""
    raw = tunnel(proxy, f"localhost:{upstream.port}")
    with pytest.raises(ssl.SSLError):
        ssl.create_default_context().wrap_socket(raw, server_hostname=SNI)
    raw.close()


def unknown_host(proxy: Proxy, upstream: Upstream) -> None:
    """CONNECT to a host that does not resolve: mitmproxy names it when it cannot connect."""
    raw = tunnel(proxy, f"{HOST}:443")
    with pytest.raises((ssl.SSLError, OSError)):
        ssl.create_default_context().wrap_socket(raw, server_hostname=HOST)
    raw.close()


SNI = f"card{CARD}.sni-wrzesniewska.example"
HOST = f"card{CARD}.host-wrzesniewska.example"
CASES: dict[str, Callable[[Proxy, Upstream], None]] = {
    "midheaders": mid_headers,
    "fourwords": four_word_request_line,
    "nocolon": header_without_colon,
    "control": control_characters_in_header,
    "chunked": bad_chunked_body,
    "h2space": h2_whitespace_value,
    "h2upper": h2_uppercase_name,
    "sni": untrusted_sni,
    "host": unknown_host,
}
MARKERS = [marker(case) for case in CASES] + [CARD, SNI, HOST, "wrzesniewska"]


@dataclass
class Run:
    written: dict[str, str]  # what the process wrote: stdout, stderr, every file
    received: list[bytes]  # what the upstream got: each request's path, headers and body


@pytest.fixture(scope="module", params=["info", "debug"])
def run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, upstream: Upstream
) -> Iterator[Run]:
    verbosity = request.param
    text = policy_text(upstream, POLICY)
    # Lazy: mitmproxy offers the client h2 without first asking the (HTTP/1.1) upstream.
    lazy = ("--set", "connection_strategy=lazy")
    workdir = tmp_path_factory.mktemp(f"logs-{verbosity}")
    proxy = start_proxy(workdir, text, upstream, *lazy, verbosity=verbosity)
    upstream.clear()
    try:
        for case in CASES.values():
            case(proxy, upstream)
        time.sleep(1)  # let the proxy log the last connection's end
    finally:
        stop_proxy(proxy)
    written = {str(p): p.read_bytes().decode("utf-8", "replace") for p in proxy.written_files()}
    received = [f"{r.path}\n{r.headers}\n".encode() + r.body for r in upstream.received]
    yield Run(written, received)


def test_no_log_line_or_file_holds_what_the_clients_wrote(run: Run) -> None:
    found = {name: [m for m in MARKERS if m in text] for name, text in run.written.items()}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_the_upstream_received_none_of_it(run: Run) -> None:
    assert [r for r in run.received if any(m.encode() in r for m in MARKERS)] == []


def test_mitmproxy_still_says_what_went_wrong(run: Run) -> None:
    """The cases reached mitmproxy's error paths, and its messages kept their words."""
    log = next(text for name, text in run.written.items() if name.endswith("stdout.log"))
    for message in (
        "Client closed connection before completing request headers",
        "Bad HTTP request line",
        "Invalid header line",
        "protocol error: Received uppercase header name",
        "Client TLS handshake failed. The client does not trust the proxy's certificate",
    ):
        assert message in log
