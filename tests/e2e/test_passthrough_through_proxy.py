"""Only provider hosts are decrypted: any other TLS connection is tunnelled untouched.

A non-provider TLS server on loopback records the handshake it sees. A client that trusts
only that server's own certificate still connects through the proxy (nothing in between
re-signed it), and the server sees the client's own SNI, ALPN offer and client certificate,
none of which an intercepting proxy could pass on. The control: the same client, the same
certificate, but on a provider's address, fails, because there the proxy does intercept.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers.e2e import (
    Proxy,
    Upstream,
    make_cert,
    policy_text,
    serve_upstream,
    start_proxy,
    stop_proxy,
)

pytestmark = pytest.mark.e2e

PROBE_ALPN = "x-pixelgate-probe/1"  # offered by the client only; a proxy would offer its own
POLICY = "mode: enforce\non_error: block\nrules: []\n"


@dataclass
class Handshake:
    sni: str | None
    alpn: str | None
    client_cert: bytes | None


@dataclass
class Recorder:
    """A TLS server on 127.0.0.1 that asks for a client certificate and records each
    handshake it completes, then answers b"hello" and closes."""

    port: int
    seen: list[Handshake] = field(default_factory=list)


def serve_recorder(cert: Path, key: Path, client_ca: Path) -> tuple[Recorder, socket.socket]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.load_verify_locations(cafile=str(client_ca))
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols([PROBE_ALPN, "h2", "http/1.1"])
    names: list[str | None] = []

    def record_sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        names.append(name)

    context.sni_callback = record_sni
    listener = socket.create_server(("127.0.0.1", 0))
    recorder = Recorder(listener.getsockname()[1])

    def serve() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(raw, server_side=True) as conn:
                    recorder.seen.append(
                        Handshake(names[-1], conn.selected_alpn_protocol(), conn.getpeercert(True))
                    )
                    conn.sendall(b"hello")
            except (ssl.SSLError, OSError):
                continue

    threading.Thread(target=serve, daemon=True).start()
    return recorder, listener


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    directory = tmp_path_factory.mktemp("keys")
    return {"server": make_cert(directory), "client": make_cert(directory, "probe-client")}


@pytest.fixture(scope="module")
def upstream(
    tmp_path_factory: pytest.TempPathFactory, keys: dict[str, tuple[Path, Path]]
) -> Iterator[Upstream]:
    # The provider upstream shares the recorder's certificate: only the address differs.
    up, server = serve_upstream(tmp_path_factory.mktemp("upstream"), keypair=keys["server"])
    yield up
    server.shutdown()


@pytest.fixture(scope="module")
def recorder(keys: dict[str, tuple[Path, Path]]) -> Iterator[Recorder]:
    cert, key = keys["server"]
    handle, listener = serve_recorder(cert, key, client_ca=keys["client"][0])
    yield handle
    listener.close()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Proxy]:
    handle = start_proxy(tmp_path_factory.mktemp("pass"), policy_text(upstream, POLICY), upstream)
    yield handle
    stop_proxy(handle)


def client_context(keys: dict[str, tuple[Path, Path]]) -> ssl.SSLContext:
    """Trusts only the recorder's own certificate (not the proxy CA), shows its own client
    certificate and offers only the probe ALPN."""
    context = ssl.create_default_context(cafile=str(keys["server"][0]))
    context.load_cert_chain(*keys["client"])
    context.set_alpn_protocols([PROBE_ALPN])
    return context


def talk_through_proxy(proxy: Proxy, port: int, context: ssl.SSLContext) -> bytes:
    raw = socket.create_connection(("127.0.0.1", proxy.port), timeout=30)
    with raw:
        raw.sendall(f"CONNECT localhost:{port} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = raw.recv(4096)
            assert chunk, "the proxy closed the connection before answering CONNECT"
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 200"), reply.split(b"\r\n")[0]
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.recv(16)


def test_non_provider_tls_reaches_its_server_with_the_clients_own_handshake(
    proxy: Proxy, recorder: Recorder, keys: dict[str, tuple[Path, Path]]
) -> None:
    recorder.seen.clear()
    assert talk_through_proxy(proxy, recorder.port, client_context(keys)) == b"hello"
    client_cert = ssl.PEM_cert_to_DER_cert(keys["client"][0].read_text())
    assert recorder.seen == [Handshake("localhost", PROBE_ALPN, client_cert)]


def test_same_client_fails_against_a_provider_address_because_it_is_intercepted(
    proxy: Proxy, upstream: Upstream, keys: dict[str, tuple[Path, Path]]
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        talk_through_proxy(proxy, upstream.port, client_context(keys))
    assert upstream.received == []  # nothing got past the failed handshake


def test_provider_address_presents_a_certificate_signed_by_the_proxy_ca(
    proxy: Proxy, upstream: Upstream
) -> None:
    # Trusting the proxy CA instead, the same handshake succeeds: it was the proxy answering.
    context = ssl.create_default_context(cafile=str(proxy.ca))
    raw = socket.create_connection(("127.0.0.1", proxy.port), timeout=30)
    with raw:
        raw.sendall(f"CONNECT localhost:{upstream.port} HTTP/1.1\r\n\r\n".encode())
        assert raw.recv(4096).startswith(b"HTTP/1.1 200")
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            issuer = dict(item[0] for item in tls.getpeercert()["issuer"])  # type: ignore[index]
    assert issuer.get("organizationName") == "mitmproxy"
