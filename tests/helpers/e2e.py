"""Real processes for end-to-end tests: a TLS upstream on loopback and `pixelgate run`."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import openai
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_cert(directory: Path, name: str = "localhost") -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Upstream:
    """A TLS server on loopback that records every request and answers like OpenAI Images."""

    port: int
    cert: Path
    received: list[Received] = field(default_factory=list)

    def clear(self) -> None:
        self.received.clear()


# What an upstream answers to a recorded request: status, headers, body.
Answer = Callable[[Received], tuple[int, dict[str, str], bytes]]


def openai_answer(request: Received) -> tuple[int, dict[str, str], bytes]:
    """Like OpenAI Images: one 1x1 PNG as b64_json (and an empty list for /models)."""
    if request.path.endswith("/models"):
        payload: dict[str, object] = {"object": "list", "data": []}
    else:
        payload = {
            "created": 1700000000,
            "data": [{"b64_json": base64.b64encode(PNG_1x1).decode()}],
        }
    return 200, {"content-type": "application/json"}, json.dumps(payload).encode()


def serve_upstream(
    directory: Path, answer: Answer = openai_answer, keypair: tuple[Path, Path] | None = None
) -> tuple[Upstream, ThreadingHTTPServer]:
    """A recording TLS server on 127.0.0.1 (certificate for "localhost", or `keypair`, so
    several upstreams can share one) answering with `answer`."""
    cert, key = keypair or make_cert(directory)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    up = Upstream(server.server_address[1], cert)
    server.RequestHandlerClass = _handler(up, answer)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return up, server


def _handler(upstream: Upstream, answer: Answer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; without this, Nagle + delayed ACK add 40 ms.
        disable_nagle_algorithm = True

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            received = Received(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            upstream.received.append(received)
            status, headers, data = answer(received)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_GET = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@dataclass
class Proxy:
    port: int
    workdir: Path
    confdir: Path
    audit: Path
    stdout: Path
    stderr: Path
    process: subprocess.Popen[bytes]

    @property
    def ca(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    def events(self) -> list[dict[str, object]]:
        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text().splitlines() if line]

    def http_client(self) -> httpx.Client:
        return proxied_http(f"http://127.0.0.1:{self.port}", self.ca)

    def openai_client(self, upstream: Upstream) -> openai.OpenAI:
        return openai_sdk(upstream, self.http_client())

    def written_files(self) -> list[Path]:
        return [p for p in self.workdir.rglob("*") if p.is_file()]


def proxied_http(proxy_url: str | httpx.Proxy, ca: Path) -> httpx.Client:
    """An httpx client through a proxy (credentials may be in the URL) trusting its CA `ca`."""
    return httpx.Client(
        proxy=proxy_url, verify=ssl.create_default_context(cafile=str(ca)), timeout=60
    )


def openai_sdk(upstream: Upstream, http_client: httpx.Client) -> openai.OpenAI:
    """The official OpenAI SDK speaking to `upstream` over `http_client`, without retries."""
    return openai.OpenAI(
        api_key="sk-test-not-a-real-key",
        base_url=f"https://localhost:{upstream.port}/v1",
        http_client=http_client,
        max_retries=0,
    )


def start_proxy(
    workdir: Path,
    policy_yaml: str,
    upstream: Upstream,
    *extra: str,
    verbosity: str = "debug",
    env: dict[str, str] | None = None,
) -> Proxy:
    """`pixelgate run` trusting `upstream`'s certificate; `env` adds to the environment."""
    workdir.mkdir(parents=True, exist_ok=True)
    confdir = workdir / "confdir"
    policy = workdir / "policy.yaml"
    policy.write_text(policy_yaml)
    port = free_port()
    stdout, stderr = workdir / "stdout.log", workdir / "stderr.log"
    command = [
        sys.executable, "-m", "proxy", "run",
        "--policy", str(policy),
        "--listen-host", "127.0.0.1",
        "--listen-port", str(port),
        "--set", f"confdir={confdir}",
        "--set", f"ssl_verify_upstream_trusted_ca={upstream.cert}",
        "--set", f"termlog_verbosity={verbosity}",
        *extra,
    ]  # fmt: skip
    if not any(a.startswith("pixelgate_admin=") for a in extra):
        command += ["--set", "pixelgate_admin="]  # off: proxies side by side share no port
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    process = subprocess.Popen(
        command, cwd=workdir, stdout=stdout.open("wb"), stderr=stderr.open("wb"), env=environment
    )
    proxy = Proxy(port, workdir, confdir, workdir / "audit.jsonl", stdout, stderr, process)
    _wait_until_serving(process, proxy.ca, port, lambda: stderr.read_text() + stdout.read_text())
    return proxy


@dataclass
class Mitmdump:
    """Plain mitmproxy (optionally with scripts) as a baseline; same version as PixelGate's."""

    port: int
    ca: Path
    process: subprocess.Popen[bytes]

    def http_client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(
            proxy=f"http://127.0.0.1:{self.port}",
            verify=ssl.create_default_context(cafile=str(self.ca)),
            timeout=60,
            **kwargs,  # type: ignore[arg-type]
        )

    def stop(self) -> None:
        _stop(self.process)


def start_mitmdump(workdir: Path, upstream: Upstream, *scripts: Path) -> Mitmdump:
    workdir.mkdir(parents=True, exist_ok=True)
    confdir = workdir / "confdir"
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "mitmdump"), "-q",
        "--listen-host", "127.0.0.1", "--listen-port", str(port),
        "--set", f"confdir={confdir}",
        "--set", f"ssl_verify_upstream_trusted_ca={upstream.cert}",
    ]  # fmt: skip
    for script in scripts:
        command += ["-s", str(script)]
    log = (workdir / "mitmdump.log").open("wb")
    process = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    handle = Mitmdump(port, confdir / "mitmproxy-ca-cert.pem", process)
    _wait_until_serving(process, handle.ca, port, (workdir / "mitmdump.log").read_text)
    return handle


def _wait_until_serving(
    process: subprocess.Popen[bytes], ca: Path, port: int, output: Callable[[], str]
) -> None:
    """Until the process has written its CA and accepts connections (90 s at most)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited: {output()}")
        if ca.exists() and _accepts(port):
            return
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{process.args[0]} did not start in time")


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def stop_proxy(proxy: Proxy) -> None:
    _stop(proxy.process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def policy_text(upstream: Upstream, body: str, provider: str = "openai") -> str:
    """A policy file: `provider` spoken at the upstream's address, audit to audit.jsonl."""
    return f"""version: 1
providers: {{{provider}: {{hosts: ["localhost:{upstream.port}"]}}}}
audit: {{path: audit.jsonl}}
{body}"""


def multipart_fields(received_body: bytes, content_type: str) -> dict[str, bytes]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + received_body
    )
    return {
        part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
        for part in message.iter_parts()
    }


def upstream_fixture(answer: Answer) -> Callable[..., Iterator[Upstream]]:
    """A module-scoped `upstream` fixture answering like a provider (overrides conftest's)."""

    @pytest.fixture(scope="module")
    def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
        up, server = serve_upstream(tmp_path_factory.mktemp("upstream"), answer)
        yield up
        server.shutdown()

    return upstream


def proxy_fixture(provider: str, policy: str | Callable[[], str]) -> Callable[..., Iterator[Proxy]]:
    """A module-scoped `proxy` fixture: `pixelgate run` with `policy` (a text, or a function
    that makes it), `provider` spoken at the module's `upstream`."""

    @pytest.fixture(scope="module")
    def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Proxy]:
        body = policy() if callable(policy) else policy
        text = policy_text(upstream, body, provider)
        handle = start_proxy(tmp_path_factory.mktemp(provider), text, upstream)
        yield handle
        stop_proxy(handle)

    return proxy


def four_actions_policy() -> str:
    """Card numbers block, emails redact (to "an email address"), phone numbers reroute to
    the tiny local model: one request per action in a provider's e2e tests."""
    from helpers.tiny_sd import tiny_pipeline_dir

    return f"""mode: enforce
on_error: block
rules:
  - {{id: no-payment-data, entities: [CREDIT_CARD], action: block}}
  - {{id: contact-details, entities: [EMAIL_ADDRESS], action: redact}}
  - {{id: keep-home, entities: [PHONE_NUMBER], min_score: 0.4, action: reroute}}
redaction: {{EMAIL_ADDRESS: "an email address"}}
fallback: {{model: "{tiny_pipeline_dir()}", native_size: 64}}
"""


@contextmanager
def several_upstreams(
    factory: pytest.TempPathFactory, answers: dict[str, Answer]
) -> Iterator[dict[str, Upstream]]:
    """One upstream per provider name, all with one certificate (the proxy trusts it as each
    upstream's: pass any of them to start_proxy)."""
    keypair = make_cert(factory.mktemp("certs"))
    servers = {
        name: serve_upstream(factory.mktemp(name), answer, keypair)
        for name, answer in answers.items()
    }
    try:
        yield {name: up for name, (up, _) in servers.items()}
    finally:
        for _, server in servers.values():
            server.shutdown()


def providers_yaml(upstreams: dict[str, Upstream]) -> str:
    """The policy's `providers:` line: each provider spoken at its upstream's address."""
    hosts = ", ".join(f'{n}: {{hosts: ["localhost:{u.port}"]}}' for n, u in upstreams.items())
    return f"providers: {{{hosts}}}"


def connect_tunnel(proxy_port: int, target: str, timeout: float = 30) -> socket.socket:
    """A connection to the proxy on `proxy_port` that has CONNECTed to `target`."""
    raw = socket.create_connection(("127.0.0.1", proxy_port), timeout=timeout)
    raw.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = raw.recv(4096)
        assert chunk, "the proxy closed the connection before answering CONNECT"
        reply += chunk
    assert reply.startswith(b"HTTP/1.1 200"), reply
    return raw


def tls_tunnel(
    proxy_port: int,
    target: str,
    trust: Path,
    sni: str | None = "localhost",
    alpn: list[str] | None = None,
) -> ssl.SSLSocket:
    """TLS through a CONNECT tunnel to `target`, sending `sni`, trusting only `trust`; the
    name is not checked (tests choose names the certificate may not carry)."""
    context = ssl.create_default_context(cafile=str(trust))
    context.check_hostname = False
    if alpn:
        context.set_alpn_protocols(alpn)
    return context.wrap_socket(connect_tunnel(proxy_port, target), server_hostname=sni)


def admin_get(port: int, path: str) -> tuple[int, str]:
    """Status and body of a GET to the admin endpoint on `port` (errors included)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
