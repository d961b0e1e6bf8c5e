"""The admin endpoint: Prometheus metrics and health checks on their own small HTTP server.

A mitmproxy addon of its own (the PixelGate addon carries it as a sub-addon), so the proxy's
hooks stay as they are. The server runs in a thread, bound to loopback unless the operator
says otherwise, and answers three GETs: /metrics, /healthz (the process serves) and /readyz
(a policy is in force and the local model, if the policy names one, is loaded and warm; else
503 with the reason, such as a reroute degraded to `fallback.on_unavailable` at start-up).
Nothing it serves or logs comes from a request: the metrics carry counts under closed label
sets (see proxy.mitm.metrics), and requests to the endpoint itself are not logged.
"""

from __future__ import annotations

import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mitmproxy import ctx, exceptions
from mitmproxy.addonmanager import Loader

from proxy.mitm.metrics import Metrics

log = logging.getLogger("pixelgate")

OPTION = "pixelgate_admin"
DEFAULT_ADDRESS = "127.0.0.1:9464"


def parse_address(text: str) -> tuple[str, int]:
    """'host:port' or '[v6 address]:port' -> (host, port); ValueError names what is wrong."""
    host, sep, port = text.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{OPTION} must be HOST:PORT (e.g. {DEFAULT_ADDRESS}), or empty: off")
    return host, int(port)


class AdminServer:
    """A threaded HTTP server for one `Metrics`; `close()` stops it and frees the port."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        handler = _handler(metrics)
        server_class = _V6Server if ":" in host else ThreadingHTTPServer
        self._server = server_class((host, port), handler)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="pixelgate-admin", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class Admin:
    """Declares `pixelgate_admin`, and runs the admin server at that address while the proxy
    runs. `metrics` outlives every gate: the PixelGate addon attaches each new one to it."""

    def __init__(self) -> None:
        self.metrics = Metrics()
        self.server: AdminServer | None = None

    def load(self, loader: Loader) -> None:
        loader.add_option(
            OPTION,
            str,
            DEFAULT_ADDRESS,
            "Address (HOST:PORT) of PixelGate's admin endpoint: /metrics (Prometheus), "
            "/healthz and /readyz. Keep it on loopback or a management network. Empty: off.",
        )

    def configure(self, updated: set[str]) -> None:
        if OPTION not in updated:
            return
        text = getattr(ctx.options, OPTION)
        try:
            address = parse_address(text) if text else None
        except ValueError as e:
            raise exceptions.OptionsError(str(e)) from None  # type: ignore[no-untyped-call]
        self.stop()
        if address is None:
            return
        try:
            self.server = AdminServer(self.metrics, *address)
        except OSError as e:
            # Like a taken proxy port: stop start-up rather than run unmonitored by surprise.
            reason = e.strerror or type(e).__name__
            raise exceptions.OptionsError(  # type: ignore[no-untyped-call]
                f"PixelGate admin endpoint cannot listen on {text} ({reason}): set {OPTION} "
                "to a free HOST:PORT, or to an empty value to turn it off"
            ) from None
        log.info("PixelGate admin endpoint: http://%s/metrics, /healthz, /readyz", text)

    def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    def done(self) -> None:
        self.stop()


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _handler(metrics: Metrics) -> type[BaseHTTPRequestHandler]:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    class Handler(BaseHTTPRequestHandler):
        server_version = "PixelGate-admin"
        sys_version = ""

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.partition("?")[0]
            if path == "/metrics":
                self._send(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._send(200, b"ok\n")
            elif path == "/readyz":
                ready, why = metrics.ready()
                self._send(200 if ready else 503, why.encode() + b"\n")
            else:
                self._send(404, b"not found: /metrics, /healthz and /readyz are served\n")

        def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # a request line is not worth a log line, nor a place for anything to leak

    return Handler
