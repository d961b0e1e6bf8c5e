"""The generator as its own HTTP service (remote mode): one GPU box answers several proxies.

OpenAI-compatible: `POST /v1/images/generations` (JSON) and `POST /v1/images/edits`
(multipart) answer `{"created": ..., "data": [{"b64_json": ...}]}`; `GET /healthz` says which
model runs on which device. Extensions: `seed` (int) on both, `strength` (0, 1] on edits, and
any `WxH` size up to MAX_SIDE (other providers' aspect ratios). Only `b64_json` is served.

Privacy: prompts and images are never logged; the log line of a request is its method, its
route and its status. Every error message is our own and content-free, in OpenAI's format.
With `token`, every endpoint requires `Authorization: Bearer <token>`. The stdlib server
speaks plain HTTP: bind loopback (the default) or an internal interface, and put TLS in front
of it when the network between proxies and the GPU box is not trusted.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

from local_fallback import api_fields as api
from local_fallback.api_fields import ApiError
from local_fallback.generator import GenerationRequest
from proxy.errors import FallbackBusy, FallbackUnavailable

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024 * 1024

GENERATIONS = "/v1/images/generations"
EDITS = "/v1/images/edits"
HEALTHZ = "/healthz"
_ROUTES = frozenset({GENERATIONS, EDITS, HEALTHZ})
_METHODS = frozenset({"GET", "POST"})


class ImageGenerator(Protocol):
    """What the service runs: `Generator`, a batching queue around one, or a test stand-in.
    Its `model`, `device` and `dtype` attributes, where it has them, are shown by /healthz."""

    def generate(self, request: GenerationRequest) -> list[bytes]: ...


def _describe(generator: ImageGenerator) -> dict[str, str]:
    return {key: str(getattr(generator, key, "unknown")) for key in ("model", "device", "dtype")}


class ImageServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        generator: ImageGenerator,
        *,
        token: str | None,
        max_body: int,
    ) -> None:
        self.generator = generator
        self.token = None if token is None else token.encode("utf-8")
        self.max_body = max_body
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; ours names the kind of failure only.
        error = sys.exc_info()[1]
        log.warning("connection error (%s)", type(error).__name__)


def make_server(
    generator: ImageGenerator,
    host: str = "127.0.0.1",
    port: int = 8600,
    *,
    token: str | None = None,
    max_body: int = MAX_BODY,
) -> ImageServer:
    """A bound server, not yet serving (`serve_forever` it; port 0 picks a free port)."""
    if token is not None and not token:
        raise ValueError("token must not be empty")
    server = ImageServer((host, port), generator, token=token, max_body=max_body)
    if token is None and not _is_loopback(host):
        log.warning(
            "fallback service on %s without a token: anyone who reaches it can use it", host
        )
    return server


def serve(
    generator: ImageGenerator,
    host: str = "127.0.0.1",
    port: int = 8600,
    *,
    token: str | None = None,
    ready: threading.Event | None = None,
) -> None:
    """Serve until interrupted (blocking). `ready` is set once the port accepts connections."""
    with make_server(generator, host, port, token=token) as server:
        bound_host, bound_port = server.server_address[:2]
        about = _describe(generator)
        log.info(
            "fallback service on http://%s:%s (model %s on %s)",
            bound_host,
            bound_port,
            about["model"],
            about["device"],
        )
        if ready is not None:
            ready.set()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    server: ImageServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120  # seconds a client may stall while sending; generation is not bounded by it
    server_version = "pixelgate-fallback"
    sys_version = ""
    _consumed = False

    def do_GET(self) -> None:
        self._dispatch({HEALTHZ: self._healthz})

    def do_POST(self) -> None:
        self._dispatch({GENERATIONS: self._generations, EDITS: self._edits})

    def _dispatch(self, routes: dict[str, Callable[[], dict[str, Any]]]) -> None:
        route = urlsplit(self.path).path
        self._consumed = False
        try:
            self._authorize()
            handler = routes.get(route)
            if handler is None:
                if route in _ROUTES:
                    raise ApiError(405, "method not allowed on this endpoint")
                raise ApiError(404, "no such endpoint")
            self._send_json(200, handler())
        except ApiError as e:
            self._send_error(e)
        except Exception as e:  # never a traceback (locals, messages) in the log or answer
            log.error("request failed (%s)", type(e).__name__)
            self._send_error(ApiError(500, "internal error", "server_error"))

    # -- endpoints -------------------------------------------------------------------------

    def _healthz(self) -> dict[str, Any]:
        return {"status": "ok", **_describe(self.server.generator)}

    def _generations(self) -> dict[str, Any]:
        media = self.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media not in ("application/json", ""):
            raise ApiError(400, "expected a JSON body", code="invalid_content_type")
        try:
            body = json.loads(self._read_body())
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError(400, "the body is not valid JSON", code="invalid_json") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object", code="invalid_json")
        width, height = api.size_of(body.get("size"))
        request = GenerationRequest(
            prompt=api.prompt_of(body.get("prompt")),
            n=api.count(body.get("n")),
            width=width,
            height=height,
            seed=api.seed_of(body.get("seed")),
        )
        api.check_response_format(body.get("response_format"))
        return self._generate(request)

    def _edits(self) -> dict[str, Any]:
        from proxy.errors import RequestRejected
        from proxy.providers.multipart import parse

        content_type = self.headers.get("content-type", "")
        try:
            parts = parse(self._read_body(), content_type).parts
        except RequestRejected:
            raise ApiError(
                400, "the body is not valid multipart/form-data", code="invalid_multipart"
            ) from None
        image: bytes | None = None
        fields: dict[str, str] = {}
        for part in parts:
            if part.name in ("image", "image[]"):
                if image is None:  # the first image is the one edited
                    image = part.body
            elif part.name in ("mask", "mask[]"):
                pass  # image-to-image repaints the whole image: a mask does not apply
            elif part.name in fields:
                raise ApiError(400, "a form field is repeated", param=part.name[:40])
            else:
                try:
                    fields[part.name] = part.body.decode("utf-8")
                except UnicodeDecodeError:
                    raise ApiError(400, "a form field is not UTF-8", param=part.name[:40]) from None
        if image is None:
            raise ApiError(400, "an image is required", param="image")
        width, height = api.size_of(fields.get("size"))
        request = GenerationRequest(
            prompt=api.prompt_of(fields.get("prompt")),
            n=api.count(api.form_int(fields.get("n"), "n")),
            width=width,
            height=height,
            seed=api.seed_of(api.form_int(fields.get("seed"), "seed")),
            init_image=image,
            strength=api.strength_of(fields.get("strength")),
        )
        api.check_response_format(fields.get("response_format"))
        return self._generate(request)

    def _generate(self, request: GenerationRequest) -> dict[str, Any]:
        try:
            pngs = self.server.generator.generate(request)
        except ValueError as e:
            raise ApiError(400, str(e)) from None  # our own validation's words
        except Exception as e:
            if isinstance(e, FallbackBusy):
                raise ApiError(
                    503,
                    "the fallback generator is busy; retry later",
                    "server_error",
                    code="fallback_busy",
                    retry_after=e.retry_after,
                ) from None
            if isinstance(e, FallbackUnavailable):
                # Its messages are ours: the kind of failure, never a prompt or library text.
                raise ApiError(503, str(e), "server_error", code="fallback_unavailable") from None
            raise
        return {
            "created": int(time.time()),
            "data": [{"b64_json": base64.b64encode(png).decode("ascii")} for png in pngs],
        }

    # -- plumbing --------------------------------------------------------------------------

    def _authorize(self) -> None:
        expected = self.server.token
        if expected is None:
            return
        given = self.headers.get("authorization", "")
        scheme, _, credential = given.partition(" ")
        supplied = credential.strip().encode("utf-8", "surrogateescape")
        ok = hmac.compare_digest(supplied, expected)
        if scheme.lower() != "bearer" or not ok:
            self.close_connection = True  # the body is left unread
            raise ApiError(401, "missing or invalid bearer token", code="invalid_api_key")

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding"):
            self.close_connection = True
            raise ApiError(411, "send the body with a Content-Length", code="length_required")
        raw = self.headers.get("content-length")
        if raw is None or not raw.isdigit():
            self.close_connection = True
            raise ApiError(411, "send the body with a Content-Length", code="length_required")
        length = int(raw)
        if length > self.server.max_body:
            self.close_connection = True
            limit = self.server.max_body // (1024 * 1024)
            raise ApiError(413, f"the body exceeds {limit} MiB", code="request_too_large")
        body = self.rfile.read(length)
        self._consumed = True
        if len(body) != length:
            self.close_connection = True
            raise ApiError(400, "the body ended early", code="incomplete_body")
        return body

    def _send_error(self, error: ApiError) -> None:
        if not self._consumed and self.headers.get("content-length", "0") != "0":
            self.close_connection = True  # unread body bytes would be read as the next request
        payload = {
            "error": {
                "message": error.message,
                "type": error.kind,
                "param": error.param,
                "code": error.code,
            }
        }
        extra = {} if error.retry_after is None else {"Retry-After": str(error.retry_after)}
        self._send_json(error.status, payload, extra)

    def _send_json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Method and path as the client wrote them only when they are ones served here.
        route = urlsplit(self.path).path
        method = self.command if self.command in _METHODS else "-"
        log.info("%s %s %s", method, route if route in _ROUTES else "-", code)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the stdlib's lines carry the request line (query strings included)


# -- field validation (messages name the field, never its value) ----------------------------
