"""The client side of remote mode: a proxy's generator that is another machine's service.

`load_remote(url)` checks the service's `/healthz` and returns a `RemoteGenerator`, which has
`Generator`'s interface: `generate(GenerationRequest) -> list[bytes]` (PNGs), `model`,
`device` ("remote:<their device>") and `dtype`. Failures are translated like the local
generator's: ValueError for a request the service rejects (HTTP 400), `FallbackBusy` (with
`retry_after`) when it answers 503 with Retry-After, and `FallbackUnavailable` otherwise.
Reasons name the URL and the HTTP status, never a prompt, an image or the service's text.
"""

from __future__ import annotations

import base64
import binascii
import re
import ssl
from typing import Any
from urllib.parse import urlsplit

import httpx

from local_fallback.generator import GenerationRequest
from proxy.errors import FallbackBusy, FallbackUnavailable

_PNG = b"\x89PNG\r\n\x1a\n"
_CODE = re.compile(r"[a-z0-9_]{1,64}")
# A 400's message is shown to the proxy's client: only our service's plain, short words.
_MESSAGE = re.compile(r"[A-Za-z0-9 ,.:;()'/\[\]_=+-]{1,200}")


class RemoteGenerator:
    """A fallback service reached over HTTP(S). Thread-safe; `close()` when done."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 120.0,
        verify: bool | str | ssl.SSLContext = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model = url
        self.device = "remote"
        self.dtype = "unknown"
        self._base = _base_url(url)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if isinstance(verify, str):
            verify = ssl.create_default_context(cafile=verify)  # a private CA's bundle
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            verify=verify,
            transport=transport,
            follow_redirects=False,
            trust_env=False,  # an internal service: no HTTP(S)_PROXY detour for its traffic
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RemoteGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def health(self) -> dict[str, Any]:
        """The service's /healthz answer; FallbackUnavailable if it is not a healthy service."""
        response = self._send("GET", "/healthz")
        payload = self._json(response)
        if payload.get("status") != "ok":
            raise FallbackUnavailable(f"remote fallback {self.model}: not healthy")
        device, dtype = payload.get("device"), payload.get("dtype")
        self.device = f"remote:{device}" if isinstance(device, str) else "remote"
        self.dtype = dtype if isinstance(dtype, str) else "unknown"
        return payload

    def generate(self, request: GenerationRequest) -> list[bytes]:
        fields: dict[str, Any] = {
            "prompt": request.prompt,
            "n": request.n,
            "size": f"{request.width}x{request.height}",
            "response_format": "b64_json",
        }
        if request.seed is not None:
            fields["seed"] = request.seed
        if request.init_image is None:
            response = self._send("POST", "/v1/images/generations", json=fields)
        else:
            fields["strength"] = request.strength
            response = self._send(
                "POST",
                "/v1/images/edits",
                data={key: str(value) for key, value in fields.items()},
                files={"image": ("image", request.init_image, "application/octet-stream")},
            )
        return self._images(self._json(response), request.n)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, self._base + path, **kwargs)
        except httpx.TimeoutException as e:
            raise FallbackUnavailable(
                f"remote fallback {self.model}: timed out ({type(e).__name__})"
            ) from None
        except httpx.HTTPError as e:
            raise FallbackUnavailable(
                f"remote fallback {self.model}: unreachable ({type(e).__name__})"
            ) from None
        if response.is_success:
            return response
        status = response.status_code
        code = _error_field(response, "code", _CODE)
        reason = f"remote fallback {self.model}: HTTP {status}" + (f" ({code})" if code else "")
        if status == 400:
            message = _error_field(response, "message", _MESSAGE)
            raise ValueError(f"rejected by the remote fallback: {message or 'invalid request'}")
        if status == 503:
            retry_after = response.headers.get("retry-after", "").strip()
            if retry_after.isdigit():
                raise FallbackBusy(int(retry_after), reason)
        if status == 401 or status == 403:
            reason += ": the service refused our token"
        raise FallbackUnavailable(reason)

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise FallbackUnavailable(f"remote fallback {self.model}: answer is not a JSON object")
        return payload

    def _images(self, payload: dict[str, Any], n: int) -> list[bytes]:
        data = payload.get("data")
        bad = FallbackUnavailable(f"remote fallback {self.model}: malformed image answer")
        if not isinstance(data, list) or len(data) != n:
            raise bad
        images = []
        for item in data:
            encoded = item.get("b64_json") if isinstance(item, dict) else None
            if not isinstance(encoded, str):
                raise bad
            try:
                png = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise bad from None
            if not png.startswith(_PNG):
                raise bad
            images.append(png)
        return images


def load_remote(
    url: str,
    *,
    token: str | None = None,
    timeout: float = 120.0,
    verify: bool | str | ssl.SSLContext = True,
) -> RemoteGenerator:
    """A RemoteGenerator for the service at `url` (http(s)://host:port, with or without /v1),
    checked through its /healthz. Raises FallbackUnavailable naming `url` when it is unusable."""
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    _base_url(url)
    remote = RemoteGenerator(url, token=token, timeout=timeout, verify=verify)
    try:
        remote.health()
    except BaseException:
        remote.close()
        raise
    return remote


def _base_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a malformed port
    except ValueError:
        raise FallbackUnavailable(f"remote fallback {url}: not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FallbackUnavailable(f"remote fallback {url}: not an http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        # Named without the URL itself: it holds a secret. The token goes in `token`.
        raise FallbackUnavailable(
            f"remote fallback on {parts.hostname}: the URL must not carry credentials"
        )
    if parts.query or parts.fragment:
        raise FallbackUnavailable(f"remote fallback {url}: URL must not have a query or fragment")
    path = parts.path.rstrip("/")
    path = path.removesuffix("/v1")
    return f"{parts.scheme}://{parts.netloc}{path}"


def _error_field(response: httpx.Response, key: str, allowed: re.Pattern[str]) -> str | None:
    """A field of an OpenAI-format error, only when it is plainly one of our own words."""
    try:
        payload = response.json()
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    value = error.get(key) if isinstance(error, dict) else None
    return value if isinstance(value, str) and allowed.fullmatch(value) else None
