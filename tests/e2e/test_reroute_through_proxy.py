"""Reroute through the real proxy: a local diffusers pipeline answers, nothing goes upstream.

The pipeline is a tiny randomly initialised one the tests build and save (no weights can be
downloaded here), loaded by the same code that loads the SD Turbo folder in production.
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from helpers.e2e import Proxy, Upstream, free_port, policy_text, start_proxy, stop_proxy
from helpers.images import astronaut, encode
from helpers.tiny_sd import tiny_pipeline_dir
from PIL import Image

pytestmark = pytest.mark.e2e

EMAIL = "rosa.lindqvist@example.se"


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Proxy]:
    policy = f"""mode: enforce
on_error: block
rules:
  - {{id: keep-home, entities: [EMAIL_ADDRESS], action: reroute}}
fallback: {{model: "{tiny_pipeline_dir()}", native_size: 64, on_unavailable: block}}
"""
    handle = start_proxy(
        tmp_path_factory.mktemp("reroute"), policy_text(upstream, policy), upstream
    )
    yield handle
    stop_proxy(handle)


def pngs(data: list[object]) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(d.b64_json))) for d in data]  # type: ignore[attr-defined]


def test_a_rerouted_generation_is_answered_locally_in_openai_format(
    client: openai.OpenAI, upstream: Upstream
) -> None:
    raw = client.images.with_raw_response.generate(
        prompt=f"A postcard addressed to {EMAIL}", n=2, size="1536x1024"
    )
    assert raw.headers["x-pixelgate-decision"] == "reroute"
    images = pngs(list(raw.parse().data or []))
    assert [(i.format, i.size) for i in images] == [("PNG", (1536, 1024))] * 2
    assert upstream.received == []


def test_a_rerouted_edit_starts_from_the_uploaded_image(
    client: openai.OpenAI, upstream: Upstream
) -> None:
    result = client.images.edit(
        image=("me.png", encode(astronaut()), "image/png"),
        prompt=f"send it to {EMAIL}",
        size="1024x1024",
    )
    (image,) = pngs(list(result.data or []))
    assert image.size == (1024, 1024)
    assert upstream.received == []


def test_a_rerouted_url_answer_is_served_by_the_proxy_from_memory(
    client: openai.OpenAI, proxy: Proxy, upstream: Upstream
) -> None:
    result = client.images.generate(
        prompt=f"a card for {EMAIL}", response_format="url", size="1024x1024"
    )
    (item,) = result.data or []
    assert item.url and "/pixelgate/fallback/" in item.url
    with proxy.http_client() as http:
        fetched = http.get(item.url)
        expired = http.get(item.url.rsplit("/", 1)[0] + "/not-a-token.png")
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(fetched.content)).size == (1024, 1024)
    assert expired.status_code == 404 and expired.json()["error"]["code"] == "pixelgate_expired"
    assert upstream.received == []


def test_a_reroute_that_cannot_be_rendered_falls_back_to_the_policy(
    proxy: Proxy, upstream: Upstream
) -> None:
    # A streamed answer (partial images as events) cannot be forged: on_unavailable blocks.
    upstream.clear()
    with proxy.http_client() as http:
        response = http.post(
            f"https://localhost:{upstream.port}/v1/images/generations",
            json={"prompt": f"a card for {EMAIL}", "stream": True, "model": "gpt-image-1"},
        )
    assert response.status_code == 403 and "fallback" in response.json()["error"]["message"]
    assert upstream.received == []


def test_reroutes_are_audited_and_served_images_are_not(proxy: Proxy) -> None:
    actions = [e["action"] for e in proxy.events()]
    assert actions.count("reroute") == 3 and actions.count("block") == 1
    assert len(actions) == 4  # fetching a served image is not an inspected request


@pytest.fixture(scope="module")
def fallback_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`pixelgate fallback serve` as its own process, with a bearer token."""
    work = tmp_path_factory.mktemp("service")
    policy = work / "service.yaml"
    policy.write_text(
        f'version: 1\nfallback: {{model: "{tiny_pipeline_dir()}", native_size: 64, '
        "token_env: TEST_FALLBACK_TOKEN}\n"
    )
    port = free_port()
    log = work / "service.log"
    env = {**os.environ, "TEST_FALLBACK_TOKEN": "s3cret-token", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "proxy", "fallback", "serve", "--policy", str(policy),
         "--port", str(port)],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while "serving" not in log.read_text() and time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        time.sleep(0.2)
    yield f"http://127.0.0.1:{port}", log
    process.terminate()
    process.wait(timeout=20)


def test_the_remote_service_answers_a_proxy(
    tmp_path_factory: pytest.TempPathFactory,
    upstream: Upstream,
    fallback_service: tuple[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, service_log = fallback_service
    monkeypatch.setenv("TEST_FALLBACK_TOKEN", "s3cret-token")  # the proxy reads it too
    policy = f"""rules:
  - {{id: keep-home, entities: [EMAIL_ADDRESS], action: reroute}}
fallback: {{url: "{url}", token_env: TEST_FALLBACK_TOKEN, on_unavailable: block}}
"""
    proxy = start_proxy(tmp_path_factory.mktemp("remote"), policy_text(upstream, policy), upstream)
    try:
        upstream.clear()
        with proxy.openai_client(upstream) as client:
            raw = client.images.with_raw_response.generate(
                prompt=f"A postcard addressed to {EMAIL}", size="1024x1024"
            )
        assert raw.headers["x-pixelgate-decision"] == "reroute"
        assert [i.size for i in pngs(list(raw.parse().data or []))] == [(1024, 1024)]
        assert upstream.received == []
    finally:
        stop_proxy(proxy)
    assert "postcard" not in service_log.read_text() and EMAIL not in service_log.read_text()


def test_a_full_queue_answers_503_with_retry_after(
    tmp_path_factory: pytest.TempPathFactory, upstream: Upstream
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    policy = f"""rules:
  - {{id: keep-home, entities: [EMAIL_ADDRESS], action: reroute}}
fallback: {{model: "{tiny_pipeline_dir()}", native_size: 64, max_pending: 1}}
"""
    proxy = start_proxy(tmp_path_factory.mktemp("full"), policy_text(upstream, policy), upstream)

    def one(i: int) -> tuple[int, str | None]:
        with proxy.http_client() as http:
            r = http.post(
                f"https://localhost:{upstream.port}/v1/images/generations",
                json={"prompt": f"card {i} for {EMAIL}", "n": 4, "size": "1536x1024"},
            )
        return r.status_code, r.headers.get("retry-after")

    try:
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(one, range(6)))
    finally:
        stop_proxy(proxy)
    assert {status for status, _ in answers} <= {200, 503}
    assert any(status == 200 for status, _ in answers)
    busy = [retry for status, retry in answers if status == 503]
    assert busy and all(retry and int(retry) >= 1 for retry in busy)
