"""Remote mode: the generator as an HTTP service (real server threads, tiny SD pipeline), called
by the official openai SDK and by the proxy's RemoteGenerator."""

from __future__ import annotations

import base64
import io
import logging
import threading
from collections.abc import Iterator

import httpx
import openai
import pytest
from helpers.e2e import free_port
from helpers.images import astronaut, encode
from helpers.tiny_sd import tiny_pipeline_dir
from PIL import Image

from local_fallback import FallbackUnavailable, GenerationRequest, Generator, load_generator
from local_fallback.remote import RemoteGenerator, load_remote
from local_fallback.server import ImageServer, make_server, serve
from proxy.errors import FallbackBusy

TOKEN = "s3cret-token"
# The house number cannot be part of a port (above 65535) or a clock time in a log line.
SECRET_PROMPT = "portrait of Jane Q. Doe at 97531 Elm Street"


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.load()
    return image


def png_of(size: tuple[int, int] = (96, 64)) -> bytes:
    return encode(astronaut().resize(size))


def start(server: ImageServer) -> str:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def generator() -> Generator:
    return load_generator(str(tiny_pipeline_dir()), native_size=64)


@pytest.fixture(scope="module")
def url(generator: Generator) -> Iterator[str]:
    server = make_server(generator, port=0)
    yield start(server)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def token_url(generator: Generator) -> Iterator[str]:
    server = make_server(generator, port=0, token=TOKEN)
    yield start(server)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)


# -- the openai SDK against the service ------------------------------------------------------


def test_sdk_generate_returns_n_pngs_of_the_requested_size(sdk: openai.OpenAI) -> None:
    result = sdk.images.generate(prompt="a lighthouse", n=2, size="1024x1024")
    assert result.data is not None and len(result.data) == 2
    for item in result.data:
        assert item.b64_json is not None
        assert decode(base64.b64decode(item.b64_json)).size == (1024, 1024)
    assert result.created > 0


def test_sdk_edit_returns_one_png(sdk: openai.OpenAI) -> None:
    result = sdk.images.edit(
        image=("photo.png", png_of(), "image/png"), prompt="make it night", size="1536x1024"
    )
    assert result.data is not None and len(result.data) == 1
    assert result.data[0].b64_json is not None
    assert decode(base64.b64decode(result.data[0].b64_json)).size == (1536, 1024)


def test_sdk_url_response_format_is_a_bad_request(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.images.generate(prompt="a lighthouse", response_format="url")
    assert caught.value.status_code == 400
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == "response_format"


def test_sdk_without_the_token_is_unauthorized(token_url: str) -> None:
    client = openai.OpenAI(base_url=f"{token_url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.images.generate(prompt="a lighthouse", size="256x256")
    client = openai.OpenAI(base_url=f"{token_url}/v1", api_key=TOKEN, max_retries=0)
    result = client.images.generate(prompt="a lighthouse", size="256x256")
    assert result.data is not None and len(result.data) == 1


# -- raw HTTP: errors in OpenAI's format -----------------------------------------------------


def test_healthz_names_model_and_device(url: str, generator: Generator) -> None:
    answer = httpx.get(f"{url}/healthz").json()
    assert answer == {
        "status": "ok",
        "model": generator.model,
        "device": "cpu",
        "dtype": "float32",
    }


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"[]", None),
        (b'{"n": 1}', "prompt"),
        (b'{"prompt": "x", "n": 0}', "n"),
        (b'{"prompt": "x", "n": true}', "n"),
        (b'{"prompt": "x", "size": "big"}', "size"),
        (b'{"prompt": "x", "size": "99999x2"}', "size"),
        (b'{"prompt": "x", "seed": "7"}', "seed"),
    ],
)
def test_invalid_generation_requests_are_400s(url: str, body: bytes, param: str | None) -> None:
    response = httpx.post(
        f"{url}/v1/images/generations",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param


def test_broken_multipart_and_missing_image_are_400s(url: str) -> None:
    broken = httpx.post(
        f"{url}/v1/images/edits",
        content=b"--b\r\nnot a part",
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_multipart"
    no_image = httpx.post(f"{url}/v1/images/edits", data={"prompt": "x"}, files={"x": b"1"})
    assert no_image.status_code == 400 and no_image.json()["error"]["param"] == "image"


def test_undecodable_edit_image_is_a_400(url: str) -> None:
    response = httpx.post(
        f"{url}/v1/images/edits", data={"prompt": "x"}, files={"image": b"not an image"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "init_image is not a decodable image"


def test_unknown_paths_and_methods(url: str) -> None:
    assert httpx.get(f"{url}/v1/models").status_code == 404
    assert httpx.get(f"{url}/v1/images/generations").status_code == 405
    assert httpx.post(f"{url}/healthz").status_code == 405


def test_connection_survives_an_error_before_the_body_is_read(token_url: str) -> None:
    with httpx.Client(base_url=token_url) as client:
        for _ in range(2):
            refused = client.post("/v1/images/generations", json={"prompt": "x"})
            assert refused.status_code == 401
            missing = client.post("/v1/nowhere", json={"prompt": "x"}, headers=bearer())
            assert missing.status_code == 404
            assert client.get("/healthz", headers=bearer()).status_code == 200


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_body_over_the_cap_is_413(generator: Generator) -> None:
    server = make_server(generator, port=0, max_body=1024)
    base = start(server)
    try:
        response = httpx.post(f"{base}/v1/images/generations", json={"prompt": "x" * 2000})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "request_too_large"
    finally:
        server.shutdown()
        server.server_close()


def test_token_is_required_everywhere(token_url: str) -> None:
    assert httpx.get(f"{token_url}/healthz").status_code == 401
    wrong = httpx.get(f"{token_url}/healthz", headers={"authorization": f"Bearer {TOKEN}x"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    right = httpx.get(f"{token_url}/healthz", headers={"authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200


# -- RemoteGenerator against the service -----------------------------------------------------


@pytest.fixture(scope="module")
def remote(url: str) -> Iterator[RemoteGenerator]:
    with load_remote(url) as remote:
        yield remote


def test_remote_has_the_generator_interface(remote: RemoteGenerator, url: str) -> None:
    assert (remote.model, remote.device, remote.dtype) == (url, "remote:cpu", "float32")


def test_remote_text_to_image(remote: RemoteGenerator) -> None:
    pngs = remote.generate(GenerationRequest("a lighthouse", n=3, width=640, height=480))
    assert [decode(png).size for png in pngs] == [(640, 480)] * 3


def test_remote_image_to_image(remote: RemoteGenerator) -> None:
    request = GenerationRequest("at night", width=200, height=300, init_image=png_of())
    [png] = remote.generate(request)
    assert decode(png).size == (200, 300)


def test_remote_seed_is_reproducible_and_matches_local(
    remote: RemoteGenerator, generator: Generator
) -> None:
    request = GenerationRequest("a lighthouse", width=64, height=64, seed=7)
    first = remote.generate(request)
    assert remote.generate(request) == first
    assert generator.generate(request) == first
    other = GenerationRequest("a lighthouse", width=64, height=64, seed=8)
    assert remote.generate(other) != first
    edit = GenerationRequest("x", width=64, height=64, seed=3, init_image=png_of(), strength=0.7)
    assert remote.generate(edit) == generator.generate(edit)


def test_remote_invalid_request_is_a_value_error(remote: RemoteGenerator) -> None:
    with pytest.raises(ValueError, match="n must be"):
        remote.generate(GenerationRequest("x", n=0))
    with pytest.raises(ValueError, match="not a decodable image"):
        remote.generate(GenerationRequest("x", init_image=b"garbage"))


def test_remote_url_may_end_in_v1(url: str) -> None:
    with load_remote(f"{url}/v1/") as remote:
        assert len(remote.generate(GenerationRequest("x", width=32, height=32))) == 1


def test_remote_with_the_right_token(token_url: str) -> None:
    with load_remote(token_url, token=TOKEN) as remote:
        assert len(remote.generate(GenerationRequest("x", width=32, height=32))) == 1


def test_remote_with_a_wrong_token_is_unavailable(token_url: str) -> None:
    with pytest.raises(FallbackUnavailable, match="HTTP 401") as caught:
        load_remote(token_url, token="wrong")
    assert token_url in str(caught.value) and "wrong" not in str(caught.value)
    # Also when the token is refused after loading (rotated on the service).
    with RemoteGenerator(token_url, token="wrong") as remote:
        with pytest.raises(FallbackUnavailable, match="HTTP 401"):
            remote.generate(GenerationRequest("x"))


def test_unreachable_url_is_unavailable_naming_it() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(FallbackUnavailable, match="unreachable") as caught:
        load_remote(url, timeout=5)
    assert url in str(caught.value)


@pytest.mark.parametrize("url", ["ftp://gpu:8600", "gpu-box:8600", "http://gpu:8600/?a=1"])
def test_unusable_urls_are_unavailable(url: str) -> None:
    with pytest.raises(FallbackUnavailable, match="remote fallback"):
        load_remote(url)


def test_credentials_in_the_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(FallbackUnavailable) as caught:
        load_remote("http://user:hunter2@gpu:8600")
    assert "hunter2" not in str(caught.value)


def test_a_server_that_is_not_the_service_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>hello</html>")

    remote = RemoteGenerator("http://gpu:8600", transport=httpx.MockTransport(handler))
    with pytest.raises(FallbackUnavailable, match="not a JSON object"):
        remote.health()
    with pytest.raises(FallbackUnavailable, match="not a JSON object"):
        remote.generate(GenerationRequest("x"))


def test_wrong_image_count_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"created": 1, "data": []})

    remote = RemoteGenerator("http://gpu:8600", transport=httpx.MockTransport(handler))
    with pytest.raises(FallbackUnavailable, match="malformed"):
        remote.generate(GenerationRequest("x"))


# -- busy and unavailable generators behind the service --------------------------------------


class StandIn:
    model = "stand-in"
    device = "cpu"
    dtype = "float32"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def generate(self, request: GenerationRequest) -> list[bytes]:
        raise self.error


@pytest.fixture
def stand_in() -> Iterator[tuple[StandIn, str]]:
    generator = StandIn(FallbackBusy(3))
    server = make_server(generator, port=0)
    yield generator, start(server)
    server.shutdown()
    server.server_close()


def test_busy_generator_is_503_with_retry_after(stand_in: tuple[StandIn, str]) -> None:
    _, base = stand_in
    response = httpx.post(f"{base}/v1/images/generations", json={"prompt": "x"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "3"
    assert response.json()["error"]["code"] == "fallback_busy"


def test_busy_service_is_remote_busy(stand_in: tuple[StandIn, str]) -> None:
    _, base = stand_in
    with load_remote(base) as remote:
        assert remote.device == "remote:cpu"
        with pytest.raises(FallbackBusy) as caught:
            remote.generate(GenerationRequest("x"))
    assert caught.value.retry_after == 3
    assert isinstance(caught.value, FallbackUnavailable)


def test_unavailable_generator_is_503_and_remote_unavailable(
    stand_in: tuple[StandIn, str],
) -> None:
    generator, base = stand_in
    generator.error = FallbackUnavailable("generation with m: out of memory")
    response = httpx.post(f"{base}/v1/images/generations", json={"prompt": "x"})
    assert response.status_code == 503 and "retry-after" not in response.headers
    with load_remote(base) as remote:
        with pytest.raises(FallbackUnavailable, match="HTTP 503") as caught:
            remote.generate(GenerationRequest("x"))
    assert not isinstance(caught.value, FallbackBusy)


def test_unexpected_error_is_a_content_free_500(stand_in: tuple[StandIn, str]) -> None:
    generator, base = stand_in
    generator.error = RuntimeError(f"library said: {SECRET_PROMPT}")
    response = httpx.post(f"{base}/v1/images/generations", json={"prompt": SECRET_PROMPT})
    assert response.status_code == 500
    assert SECRET_PROMPT not in response.text
    assert response.json()["error"]["type"] == "server_error"


# -- privacy of the log ---------------------------------------------------------------------


def test_log_names_method_route_and_status_but_never_the_prompt(
    generator: Generator,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    ready = threading.Event()
    thread = threading.Thread(
        target=serve, args=(generator, "127.0.0.1", port), kwargs={"ready": ready}, daemon=True
    )
    thread.start()
    assert ready.wait(10)
    base = f"http://127.0.0.1:{port}"
    with load_remote(base) as remote:
        remote.generate(GenerationRequest(SECRET_PROMPT, width=32, height=32))
        remote.generate(GenerationRequest(SECRET_PROMPT, width=32, height=32, init_image=png_of()))
        with pytest.raises(ValueError):
            remote.generate(GenerationRequest(SECRET_PROMPT, n=0))
    httpx.get(f"{base}/v1/{SECRET_PROMPT}?q={SECRET_PROMPT}")
    httpx.post(f"{base}/v1/images/generations", content=SECRET_PROMPT.encode())
    out, err = capfd.readouterr()
    # The service's own records (httpx, the client here, logs its request URLs itself).
    server_log = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )
    logged = server_log + out + err
    assert "POST /v1/images/generations 200" in server_log
    assert "POST /v1/images/edits 200" in server_log
    assert "POST /v1/images/generations 400" in server_log
    assert "GET - 404" in server_log
    for word in ("Jane", "Elm", "97531"):
        assert word not in logged


def test_the_request_log_names_no_method_or_path_the_client_made_up(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="local_fallback"):
        httpx.request("JANEDOEEXAMPLEORG", f"{url}/v1/images/jane.doe.example.org?q=4539")
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "JANEDOE" not in logged and "jane.doe" not in logged and "4539" not in logged
    assert "- - 501" in logged
