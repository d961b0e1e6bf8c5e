"""fal.ai's documented HTTP API, spoken by httpx through the real proxy to a TLS upstream.

fal-client is not a dependency, so the client is httpx doing what fal's docs (and
fal-client's queue handle) do: POST the input, then follow status_url and response_url.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from helpers.e2e import (
    Proxy,
    Received,
    Upstream,
    four_actions_policy,
    policy_text,
    proxy_fixture,
    start_proxy,
    stop_proxy,
    upstream_fixture,
)
from helpers.images import astronaut, encode, landscape
from httpx import Response
from PIL import Image

pytestmark = pytest.mark.e2e

EMAIL = "jane.doe@example.org"
CARD = "4111 1111 1111 1111"
PHONE = "+1 415 555 0100"
APP = "fal-ai/flux/dev"


def fal_answer(request: Received) -> tuple[int, dict[str, str], bytes]:
    payload: dict[str, object]
    if request.path == "/files/upload":  # fal's CDN: where the upload can be fetched
        payload = {"access_url": "https://v3.fal.media/files/rabbit/abc.png"}
        return 200, {"content-type": "application/json"}, json.dumps(payload).encode()
    if request.path.startswith("/storage/auth/token"):
        payload = {"token": "t", "token_type": "Bearer", "base_url": "https://v3.fal.media",
                   "expires_at": "2030-01-01T00:00:00+00:00"}  # fmt: skip
        return 200, {"content-type": "application/json"}, json.dumps(payload).encode()
    payload = {
        "images": [{"url": "https://fal.media/x.png", "width": 1, "height": 1}],
        "seed": 1,
        "has_nsfw_concepts": [False],
    }
    return 200, {"content-type": "application/json"}, json.dumps(payload).encode()


upstream = upstream_fixture(fal_answer)


def policy() -> str:
    faces = "  - {id: faces, entities: [FACE], sources: [face], action: redact}\n"
    return four_actions_policy().replace("rules:\n", "rules:\n" + faces, 1)


proxy = proxy_fixture("fal", policy)


def test_clean_input_arrives_byte_for_byte(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    content = json.dumps({"prompt": "A lighthouse at dawn", "image_size": "square_hd"}).encode()
    with proxy.http_client() as http:
        response = http.post(
            f"https://localhost:{upstream.port}/{APP}",
            content=content,
            headers={"content-type": "application/json", "authorization": "Key test"},
        )
    assert response.status_code == 200 and response.headers["x-pixelgate-decision"] == "allow"
    assert [r.body for r in upstream.received] == [content]


def test_email_is_redacted_before_upstream(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    with proxy.http_client() as http:
        response = http.post(
            f"https://localhost:{upstream.port}/{APP}/image-to-image",
            json={"prompt": f"A poster for {EMAIL}", "strength": 0.9},
        )
    assert response.headers["x-pixelgate-decision"] == "redact"
    (received,) = upstream.received
    assert json.loads(received.body) == {"prompt": "A poster for an email address", "strength": 0.9}


def test_card_number_is_blocked_with_a_detail(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    with proxy.http_client() as http:
        response = http.post(
            f"https://localhost:{upstream.port}/{APP}", json={"prompt": f"Receipt for {CARD}"}
        )
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "no-payment-data" in detail and "4111" not in response.text
    assert upstream.received == []


@pytest.fixture(scope="module")
def queue_proxy(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Proxy]:
    """The proxy as a client of queue.fal.run meets it: connections are opened lazily and no
    upstream certificate is fetched, so a rerouted job and its polls, all answered by the
    proxy itself, need no route to fal's real hosts."""
    text = policy_text(upstream, policy(), "fal")
    lazy = ("--set", "connection_strategy=lazy", "--set", "upstream_cert=false")
    handle = start_proxy(tmp_path_factory.mktemp("fal-queue"), text, upstream, *lazy)
    yield handle
    stop_proxy(handle)


def test_rerouted_queue_job_is_polled_like_fal_client(
    queue_proxy: Proxy, upstream: Upstream
) -> None:
    upstream.clear()
    with queue_proxy.http_client() as http:
        submitted = http.post(
            f"https://queue.fal.run/{APP}",
            json={"prompt": f"A poster, call {PHONE}", "image_size": {"width": 128, "height": 64}},
        )
        assert submitted.headers["x-pixelgate-decision"] == "reroute"
        job = submitted.json()
        assert job["status_url"].endswith(f"/fal-ai/flux/requests/{job['request_id']}/status")
        status = http.get(job["status_url"], params={"logs": False}).json()
        assert status["status"] == "COMPLETED" and "logs" in status
        result = http.get(job["response_url"]).json()
        (item,) = result["images"]
        image = Image.open(io.BytesIO(http.get(item["url"]).content))
    assert image.size == (128, 64) == (item["width"], item["height"])
    assert upstream.received == []


def test_unsupported_path_is_refused(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    with proxy.http_client() as http:
        response = http.post(f"https://localhost:{upstream.port}/flux", json={"prompt": "p"})
    assert response.status_code == 403 and response.json()["detail"]
    assert upstream.received == []


# --- uploads, as fal_client.upload_image() sends them before the model call --------------------


def upload(proxy: Proxy, upstream: Upstream, image: bytes, path: str = "/files/upload") -> Response:
    # fal_client: POST {CDN_URL}/files/upload with the CDN token, the file as the body.
    with proxy.http_client() as http:
        return http.post(
            f"https://localhost:{upstream.port}{path}",
            content=image,
            headers={
                "authorization": "Bearer cdn-token",
                "content-type": "image/jpeg",
                "x-fal-file-name": "photo.jpg",
            },
        )


def test_an_uploaded_photo_without_faces_arrives_byte_for_byte(
    proxy: Proxy, upstream: Upstream
) -> None:
    upstream.clear()
    image = encode(landscape(), "JPEG")
    response = upload(proxy, upstream, image)
    assert response.headers["x-pixelgate-decision"] == "allow"
    assert response.json()["access_url"].startswith("https://v3.fal.media/")
    assert [r.body for r in upstream.received] == [image]


def test_a_face_in_an_uploaded_photo_is_redacted_before_fal_stores_it(
    proxy: Proxy, upstream: Upstream
) -> None:
    from proxy.detectors.faces import FaceDetector
    from proxy.images.decode import decode_image

    upstream.clear()
    image = encode(astronaut(), "JPEG")
    response = upload(proxy, upstream, image)
    assert response.headers["x-pixelgate-decision"] == "redact"
    (received,) = upstream.received
    assert received.body != image
    assert int(received.headers["content-length"]) == len(received.body)
    assert FaceDetector().detect_image(decode_image(received.body, 0, max_pixels=10**8)) == []


def test_the_upload_token_request_is_forwarded(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    with proxy.http_client() as http:
        response = http.post(
            f"https://localhost:{upstream.port}/storage/auth/token?storage_type=fal-cdn-v3",
            json={},
            headers={"authorization": "Key test"},
        )
    assert response.headers["x-pixelgate-decision"] == "allow"
    assert response.json()["token_type"] == "Bearer"
    assert [r.body for r in upstream.received] == [b"{}"]


def test_a_cloud_storage_upload_is_refused_where_it_starts(
    proxy: Proxy, upstream: Upstream
) -> None:
    upstream.clear()
    with proxy.http_client() as http:
        response = http.post(
            f"https://localhost:{upstream.port}/storage/upload/initiate?storage_type=gcs",
            json={"file_name": "photo.jpg", "content_type": "image/jpeg"},
        )
    assert response.status_code == 403 and response.json()["detail"]
    assert upstream.received == []


def test_a_piece_of_a_multipart_upload_is_refused(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    with proxy.http_client() as http:
        response = http.put(
            f"https://localhost:{upstream.port}/files/rabbit/abc.jpg/multipart/u1/1",
            content=encode(astronaut(), "JPEG")[:4096],
            headers={"content-type": "image/jpeg"},
        )
    assert response.status_code == 403
    assert upstream.received == []
