"""Downloading images that a client gave by link, so they can be inspected (`remote_images:
fetch`), without becoming a way into the internal network.

Only http(s). The host is resolved once and every address must be public (no loopback,
private, link-local, multicast, reserved or shared ranges) unless the policy lists the host;
the connection goes to the address that was checked, so a DNS answer cannot change in between.
Redirects are followed a few times, each checked the same way. Size and time are bounded.
Messages never quote the URL (it may carry personal data or tokens), nor anything the linked
server answered.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from urllib.parse import urljoin, urlsplit

from proxy.errors import RemoteImageRefused, RequestTooLarge
from proxy.policy.schema import RemoteImageSettings
from proxy.providers.routing import HostPattern

MAX_REDIRECTS = 3
_CHUNK = 64 * 1024


def fetch_image(url: str, settings: RemoteImageSettings) -> bytes:
    """The bytes at `url`, or RemoteImageRefused / RequestTooLarge naming the reason."""
    deadline = time.monotonic() + settings.timeout_s
    allowed = [HostPattern.parse(h) for h in settings.allow_hosts]
    for _ in range(MAX_REDIRECTS + 1):
        response, connection = _get(url, settings, allowed, deadline)
        try:
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("location")
                if not location:
                    raise RemoteImageRefused("an image link redirects nowhere")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                # The status is the linked server's choice (the client's, perhaps): not quoted.
                raise RemoteImageRefused("an image link did not answer 200 OK")
            return _read(response, connection, settings.max_bytes, deadline)
        finally:
            connection.close()
    raise RemoteImageRefused(f"an image link redirects more than {MAX_REDIRECTS} times")


def _get(
    url: str, settings: RemoteImageSettings, allowed: list[HostPattern], deadline: float
) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteImageRefused("an image link is not an http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RemoteImageRefused("an image link has an invalid port") from None
    host = parts.hostname
    address = _checked_address(host, port, any(p.matches(host, port) for p in allowed))
    timeout = max(deadline - time.monotonic(), 0.001)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _PinnedHTTPS(host, address, port, timeout)
    else:
        connection = _PinnedHTTP(host, address, port, timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", target, headers={"accept": "image/*", "user-agent": "PixelGate"})
        return connection.getresponse(), connection
    except (OSError, http.client.HTTPException) as e:
        connection.close()
        raise RemoteImageRefused(
            f"an image link could not be fetched ({type(e).__name__})"
        ) from None


def _checked_address(host: str, port: int, allowed: bool) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise RemoteImageRefused("an image link's host does not resolve") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise RemoteImageRefused("an image link's host does not resolve")
    if not allowed:
        for text in addresses:
            ip = ipaddress.ip_address(text.partition("%")[0])
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
                ip = ip.ipv4_mapped
            if not ip.is_global or ip.is_multicast:
                raise RemoteImageRefused(
                    "an image link points at a non-public address; PixelGate fetches those "
                    "only from hosts listed in remote_images.allow_hosts"
                )
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _read(
    response: http.client.HTTPResponse,
    connection: http.client.HTTPConnection,
    limit: int,
    deadline: float,
) -> bytes:
    declared = response.getheader("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"an image link's body exceeds the policy limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            # Each read waits at most until the deadline: a server trickling bytes is cut off.
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RemoteImageRefused("an image link took longer than the policy allows")
            if connection.sock is not None:
                connection.sock.settimeout(remaining)
            chunk = response.read1(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise RequestTooLarge(
                    f"an image link's body exceeds the policy limit of {limit} bytes"
                )
            chunks.append(chunk)
    except TimeoutError:
        raise RemoteImageRefused("an image link took longer than the policy allows") from None
    except (OSError, http.client.HTTPException) as e:
        raise RemoteImageRefused(f"an image link could not be read ({type(e).__name__})") from None
    return b"".join(chunks)
