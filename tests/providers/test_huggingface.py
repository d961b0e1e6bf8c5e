import base64
import io
import json
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import set_client_factory
from huggingface_hub.utils._http import default_client_factory

from proxy.errors import MalformedRequest, RequestRejected, UnsupportedEndpoint
from proxy.model import ImageRequest, TextPart
from proxy.providers.base import WireRequest, WireResponse
from proxy.providers.huggingface import HuggingFaceAdapter

DATA = Path(__file__).parent.parent / "data" / "huggingface"
PLANT = "jane.doe@example.com"
PNG = (DATA / "image_to_image_raw.http").read_bytes()
B64 = base64.b64encode(PNG).decode()
ROUTER = "/hf-inference/models/black-forest-labs/FLUX.1-schnell"
adapter = HuggingFaceAdapter()


def fixture(name: str) -> WireRequest:
    meta = json.loads((DATA / f"{name}.json").read_text())
    body = (DATA / f"{name}.http").read_bytes()
    host = "router.huggingface.co"
    return WireRequest(meta["method"], host, 443, meta["path"], meta["headers"], body)


def post(doc: object, path: str = ROUTER, content_type: str = "application/json") -> WireRequest:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    host = "router.huggingface.co"
    return WireRequest("POST", host, 443, path, {"content-type": content_type}, body)


def with_text(parsed: ImageRequest, ref: str, text: str) -> ImageRequest:
    prompts = tuple(replace(p, text=text) if p.ref == ref else p for p in parsed.prompts)
    return parsed.with_prompts(prompts)


def test_sdk_text_to_image_reads_prompt_negative_prompt_and_size() -> None:
    parsed = adapter.parse(fixture("text_to_image"))
    assert parsed.operation == "text-to-image"
    assert parsed.prompts[:2] == (
        TextPart("json:/inputs", "An astronaut riding a horse", "prompt"),
        TextPart("json:/parameters/negative_prompt", "blurry", "other"),
    )
    assert dict(parsed.params) == {
        "n": 1,
        "model": "black-forest-labs/FLUX.1-schnell",
        "accept": "image/png",
        "size": "768x512",
    }


def test_sdk_image_to_image_reads_base64_image_and_prompt() -> None:
    parsed = adapter.parse(fixture("image_to_image"))
    assert parsed.operation == "image-to-image"
    assert parsed.prompts[0] == TextPart(
        "json:/parameters/prompt", "Turn it into a watercolour", "prompt"
    )
    assert [(i.ref, i.data) for i in parsed.images] == [("json:/inputs", PNG)]
    assert parsed.params["size"] == "512x512"


def test_sdk_raw_image_body_is_one_image() -> None:
    parsed = adapter.parse(fixture("image_to_image_raw"))
    assert (parsed.operation, parsed.prompts) == ("image-to-image", ())
    assert [(i.ref, i.data, i.content_type) for i in parsed.images] == [("body", PNG, "image/png")]


def test_api_inference_path_is_read_too() -> None:
    assert adapter.parse(post({"inputs": "a fox"}, "/models/stabilityai/sdxl")).prompts


def test_image_input_by_link_is_returned_for_the_gate() -> None:
    doc = {"inputs": "https://example.com/a.png", "parameters": {"prompt": "p"}}
    (image,) = adapter.parse(post(doc)).images
    assert (image.data, image.url) == (b"", "https://example.com/a.png")


def test_every_other_string_is_inspected() -> None:
    doc = {"inputs": "p", "parameters": {"scheduler": PLANT}, "options": {"x": [PLANT]}}
    assert [p.text for p in adapter.parse(post(doc)).prompts].count(PLANT) == 2


def test_prompt_redaction_rewrites_only_the_prompt() -> None:
    request = fixture("text_to_image")
    parsed = adapter.parse(request)
    body = adapter.apply(request, with_text(parsed, "json:/inputs", "<X>"))
    assert body == request.body.replace(b"An astronaut riding a horse", b"<X>")


def test_raw_image_redaction_replaces_the_body() -> None:
    request = fixture("image_to_image_raw")
    parsed = adapter.parse(request)
    edited = replace(parsed, images=(replace(parsed.images[0], data=b"blurred"),))
    assert adapter.apply(request, edited) == b"blurred"


def test_base64_image_redaction_is_written_back() -> None:
    request = fixture("image_to_image")
    parsed = adapter.parse(request)
    edited = replace(parsed, images=(replace(parsed.images[0], data=b"new"),))
    assert json.loads(adapter.apply(request, edited))["inputs"] == "bmV3"


def test_unchanged_request_is_returned_as_sent() -> None:
    request = fixture("image_to_image")
    assert adapter.apply(request, adapter.parse(request)) is request.body


@pytest.mark.parametrize(
    "path",
    [
        "/fal-ai/fal-ai/flux/schnell",
        "/v1/chat/completions",
        "/hf-inference/models/org/model/pipeline/feature-extraction",
        "/together/v1/images/generations",
        "/models",
    ],
)
def test_other_routes_are_unsupported(path: str) -> None:
    with pytest.raises(UnsupportedEndpoint):
        adapter.parse(post({"inputs": "p"}, path))


def test_get_is_unsupported() -> None:
    with pytest.raises(UnsupportedEndpoint):
        adapter.parse(WireRequest("GET", "router.huggingface.co", 443, ROUTER))


@pytest.mark.parametrize("doc", [{"inputs": {"question": "q"}}, {"inputs": ["a"]}, {"x": 1}])
def test_other_tasks_are_unsupported(doc: object) -> None:
    with pytest.raises(UnsupportedEndpoint, match="string inputs"):
        adapter.parse(post(doc))


@pytest.mark.parametrize(
    "doc",
    [
        {"inputs": ""},
        {"inputs": "p", "parameters": []},
        {"inputs": B64, "parameters": {"prompt": 3}},
        {"inputs": "not base64!", "parameters": {"prompt": "p"}},
    ],
)
def test_malformed_bodies_are_rejected(doc: object) -> None:
    with pytest.raises(MalformedRequest):
        adapter.parse(post(doc))


def test_repeated_key_is_rejected() -> None:
    with pytest.raises(MalformedRequest, match="repeats a key"):
        adapter.parse(post(b'{"inputs": "a", "inputs": "b"}'))


def test_text_body_is_rejected() -> None:
    with pytest.raises(MalformedRequest):
        adapter.parse(post(b'{"inputs": "a"}', content_type="text/plain"))


PLANTED = [
    post({"inputs": PLANT, "parameters": PLANT}),
    post({"inputs": {PLANT: PLANT}}),
    post({"inputs": PLANT, "parameters": {"prompt": [PLANT]}}),
    post(f'{{"inputs": "{PLANT}", "inputs": 1}}'.encode()),
    post({"inputs": "p"}, f"/{PLANT}/models/x"),
    post(PLANT.encode(), content_type=f"text/{PLANT}"),
]


@pytest.mark.parametrize("request_", PLANTED)
def test_no_error_message_contains_a_planted_value(request_: WireRequest) -> None:
    with pytest.raises(RequestRejected) as caught:
        adapter.parse(request_)
    assert PLANT not in str(caught.value) and "jane.doe" not in str(caught.value)


@pytest.fixture
def answering() -> object:
    def install(response: WireResponse) -> InferenceClient:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(
                response.status, headers=list(response.headers), content=response.body
            )

        set_client_factory(lambda: httpx.Client(transport=httpx.MockTransport(handler)))
        return InferenceClient(model=f"https://router.huggingface.co{ROUTER}", token="hf_x")

    yield install
    set_client_factory(default_client_factory)


def test_render_error_is_raised_by_huggingface_hub(answering) -> None:  # type: ignore[no-untyped-def]
    client = answering(adapter.render_error(403, "blocked by rule r", "pii_blocked", "policy"))
    with pytest.raises(HfHubHTTPError) as caught:
        client.text_to_image("a fox")
    assert caught.value.response.status_code == 403
    assert "blocked by rule r" in str(caught.value)


def test_render_images_is_decoded_by_huggingface_hub(answering) -> None:  # type: ignore[no-untyped-def]
    parsed = adapter.parse(fixture("text_to_image"))
    client = answering(adapter.render_images(parsed, [PNG], lambda *a, **k: ""))
    image = client.text_to_image("a fox")
    assert image.size == (1, 1)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")


def test_can_render_image_answers_only() -> None:
    assert adapter.can_render(adapter.parse(fixture("text_to_image")))
    request = replace(post({"inputs": "p"}), headers={"accept": "application/json"})
    assert not adapter.can_render(adapter.parse(request))
