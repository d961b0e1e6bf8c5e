"""Images by link: fetched within limits, never from internal addresses unless allowed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers.e2e import PNG_1x1

from proxy.engine.linked_images import fetch_image
from proxy.errors import RemoteImageRefused, RequestTooLarge
from proxy.policy.schema import RemoteImageSettings

SECRET = "jane.doe@example.com"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            self.send_response(200)
            self.send_header("content-length", "1000")
            self.end_headers()
            for _ in range(20):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
            return
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("location", self.path.partition("?to=")[2])
            self.send_header("content-length", "0")
            self.end_headers()
            return
        if self.path.startswith("/missing"):
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        body = PNG_1x1 * (100 if self.path.startswith("/big") else 1)
        self.send_response(200)
        self.send_header("content-type", "image/png")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()


def allowing(*hosts: str, **kwargs: object) -> RemoteImageSettings:
    return RemoteImageSettings("fetch", allow_hosts=hosts, **kwargs)  # type: ignore[arg-type]


def test_an_allowed_host_is_fetched(port: int) -> None:
    assert fetch_image(f"http://127.0.0.1:{port}/a.png", allowing("127.0.0.1")) == PNG_1x1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/a.png",
        "http://localhost:{port}/a.png",
        "http://[::1]:{port}/a.png",
        "http://10.0.0.1/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.1.1/a.png",
        "http://100.64.0.1/a.png",
        "http://0.0.0.0:{port}/a.png",
        "http://[::ffff:127.0.0.1]:{port}/a.png",
    ],
)
def test_internal_addresses_are_refused_without_a_listing(url: str, port: int) -> None:
    with pytest.raises(RemoteImageRefused, match="non-public address"):
        fetch_image(url.format(port=port) + f"?u={SECRET}", allowing())


def test_a_redirect_is_checked_like_the_first_link(port: int) -> None:
    url = f"http://127.0.0.1:{port}/redirect?to=http://localhost:{port}/a.png"
    with pytest.raises(RemoteImageRefused, match="non-public"):
        fetch_image(url, allowing("127.0.0.1"))
    both = allowing("127.0.0.1", "localhost")
    assert fetch_image(url, both) == PNG_1x1


@pytest.mark.parametrize("url", ["ftp://example.com/a.png", "file:///etc/passwd", "data:,x"])
def test_only_http_links_are_fetched(url: str) -> None:
    with pytest.raises(RemoteImageRefused, match="not an http"):
        fetch_image(url, allowing())


def test_a_body_over_the_limit_is_refused(port: int) -> None:
    settings = allowing("127.0.0.1", max_bytes=len(PNG_1x1) * 10)
    with pytest.raises(RequestTooLarge, match="limit"):
        fetch_image(f"http://127.0.0.1:{port}/big.png", settings)


def test_a_trickling_server_is_cut_off_at_the_deadline(port: int) -> None:
    started = time.monotonic()
    with pytest.raises(RemoteImageRefused, match="longer than"):
        fetch_image(f"http://127.0.0.1:{port}/slow", allowing("127.0.0.1", timeout_s=0.5))
    assert time.monotonic() - started < 1.5


def test_an_error_status_is_refused_and_no_message_quotes_the_link_or_status(port: int) -> None:
    with pytest.raises(RemoteImageRefused) as caught:
        fetch_image(f"http://127.0.0.1:{port}/missing/{SECRET}", allowing("127.0.0.1"))
    assert "404" not in str(caught.value) and SECRET not in str(caught.value)
    assert "did not answer 200 OK" in str(caught.value)
    with pytest.raises(RemoteImageRefused) as caught:
        fetch_image(f"http://{SECRET.replace('@', '.')}.invalid/a.png", allowing())
    assert "example" not in str(caught.value)
