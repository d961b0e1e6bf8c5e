import base64
import json
import secrets
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from proxy.errors import MalformedRequest, RequestRejected, UnsupportedEndpoint
from proxy.model import ImageRequest, TextPart
from proxy.providers.base import WireRequest
from proxy.providers.bfl import BflAdapter

DATA = Path(__file__).parent.parent / "data" / "bfl"
PLANT = "jane.doe@example.com"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
PNG64 = base64.b64encode(PNG).decode()
adapter = BflAdapter()


def fixture(name: str) -> WireRequest:
    meta = json.loads((DATA / f"{name}.json").read_text())
    body = (DATA / f"{name}.http").read_bytes()
    return WireRequest(meta["method"], "api.bfl.ai", 443, meta["path"], meta["headers"], body)


def post(
    doc: object, path: str = "/v1/flux-kontext-pro", ct: str = "application/json"
) -> WireRequest:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return WireRequest("POST", "api.bfl.ai", 443, path, {"content-type": ct}, body)


def with_text(parsed: ImageRequest, ref: str, text: str) -> ImageRequest:
    prompts = tuple(replace(p, text=text) if p.ref == ref else p for p in parsed.prompts)
    return parsed.with_prompts(prompts)


def test_generation_reads_prompt_size_and_model() -> None:
    parsed = adapter.parse(fixture("generate"))
    assert parsed.operation == "images.generate"
    assert parsed.prompts == (
        TextPart("json:/prompt", "A lighthouse on a cliff at dawn", "prompt"),
        TextPart("json:/output_format", "jpeg", "other"),
    )
    assert dict(parsed.params) == {
        "n": 1,
        "model": "flux-pro-1.1",
        "size": "1024x768",
        "output_format": "jpeg",
    }


def test_kontext_reads_base64_and_linked_images() -> None:
    parsed = adapter.parse(fixture("kontext"))
    assert parsed.operation == "images.edit" and parsed.params["size"] == "1344x768"
    first, second = parsed.images
    assert (first.ref, first.content_type, first.url) == ("json:/input_image", "image/png", None)
    assert first.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert (second.ref, second.data, second.url) == (
        "json:/input_image_2",
        b"",
        "https://example.com/reference.png",
    )


def test_fill_has_an_image_and_a_mask() -> None:
    parsed = adapter.parse(fixture("fill"))
    assert [(i.ref, i.role) for i in parsed.images] == [
        ("json:/image", "image"),
        ("json:/mask", "mask"),
    ]
    assert parsed.prompts[0] == TextPart("json:/prompt", "A red balloon", "prompt")


def test_ultra_image_prompt_data_url_and_webhook_fields() -> None:
    parsed = adapter.parse(fixture("ultra_webhook"))
    (image,) = parsed.images
    assert (image.ref, image.content_type) == ("json:/image_prompt", "image/png")
    texts = {p.ref: p.role for p in parsed.prompts}
    assert texts["json:/webhook_url"] == texts["json:/webhook_secret"] == "other"
    assert not adapter.can_render(parsed)  # the answer would go to the webhook


def test_docs_curl_example_parses() -> None:
    parsed = adapter.parse(fixture("reference"))
    assert parsed.prompts[0].text.startswith("A cat on its back legs")
    assert parsed.params["size"] == "1024x1024" and adapter.can_render(parsed)


def test_main_prompt_comes_first_and_nested_strings_are_read() -> None:
    doc = {"extra": {"a": [PLANT]}, "prompt": "p", "finetune_id": "my-finetune"}
    parsed = adapter.parse(post(doc, "/v1/flux-pro-1.1-ultra-finetuned"))
    assert [(p.ref, p.role) for p in parsed.prompts] == [
        ("json:/prompt", "prompt"),
        ("json:/extra/a/0", "other"),
        ("json:/finetune_id", "other"),
    ]


def test_flux2_reference_images_and_unknown_image_fields_by_content() -> None:
    doc = {
        "prompt": "p",
        "input_image_8": PNG64,
        "style_image": PNG64,
        "image_description": "a cat",
        "reference_image": "https://example.com/r.png",
    }
    parsed = adapter.parse(post(doc, "/v1/flux-2-pro"))
    assert [i.ref for i in parsed.images] == [
        "json:/input_image_8",
        "json:/style_image",
        "json:/reference_image",
    ]
    assert [p.ref for p in parsed.prompts] == ["json:/prompt", "json:/image_description"]


def test_null_fields_are_skipped() -> None:
    parsed = adapter.parse(post({"prompt": "p", "input_image": None, "seed": None}))
    assert parsed.images == () and parsed.operation == "images.generate"


def test_prompt_is_optional_for_an_edit_with_an_image() -> None:
    parsed = adapter.parse(post({"image": PNG64, "prompt": None}, "/v1/flux-pro-1.0-expand"))
    assert parsed.prompts == () and len(parsed.images) == 1


def test_prompt_redaction_rewrites_only_the_prompt() -> None:
    request = fixture("generate")
    parsed = adapter.parse(request)
    body = adapter.apply(request, with_text(parsed, "json:/prompt", "A <LOCATION>"))
    assert body == request.body.replace(b"A lighthouse on a cliff at dawn", b"A <LOCATION>")


def test_image_redaction_keeps_each_encoding() -> None:
    request = fixture("kontext")
    parsed = adapter.parse(request)
    images = tuple(replace(i, data=b"new") for i in parsed.images)
    doc = json.loads(adapter.apply(request, replace(parsed, images=images)))
    # raw base64 stays raw; a fetched link goes on inline as the raw base64 BFL takes
    assert doc["input_image"] == doc["input_image_2"] == "bmV3"
    uri = fixture("ultra_webhook")
    parsed = adapter.parse(uri)
    edited = replace(parsed, images=(replace(parsed.images[0], data=b"new"),))
    assert json.loads(adapter.apply(uri, edited))["image_prompt"] == "data:image/png;base64,bmV3"


def test_unchanged_request_is_returned_as_sent() -> None:
    request = fixture("fill")
    assert adapter.apply(request, adapter.parse(request)) is request.body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/finetune"),
        ("POST", "/v1/delete_finetune"),
        ("POST", "/v1/get_result"),
        ("POST", "/v1/flux-pro-1.1/extra"),
        ("POST", "/v2/flux-pro-1.1"),
        ("POST", "/v1/FLUX-PRO"),
        ("PUT", "/v1/flux-pro-1.1"),
    ],
)
def test_unknown_path_or_method_is_unsupported(method: str, path: str) -> None:
    request = WireRequest(method, "api.bfl.ai", 443, path, {}, b'{"prompt": "p"}')
    with pytest.raises(UnsupportedEndpoint, match="not a FLUX endpoint"):
        adapter.parse(request)


def test_image_by_blob_path_cannot_be_inspected() -> None:
    with pytest.raises(UnsupportedEndpoint, match="blob path"):
        adapter.parse(post({"prompt": "p", "input_image_blob_path": "u/1.png"}, "/v1/flux-2-flex"))


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"seed": 1}, "missing prompt"),
        ({"prompt": None}, "missing prompt"),
        ({"prompt": 5}, "prompt must be a string"),
        ({"prompt": "p", "input_image": "not base64!"}, "not valid base64"),
        ({"prompt": "p", "input_image": 5}, "must be a string"),
        ({"prompt": "p", "mask": ["x"]}, "must be a string"),
        ({"prompt": "p", "image": "data:image/png;base64,%%"}, "malformed"),
        ({"prompt": "p", "num_images": True}, "num_images must be"),
    ],
)
def test_malformed_body_is_rejected(doc: object, match: str) -> None:
    with pytest.raises(MalformedRequest, match=match):
        adapter.parse(post(doc))


@pytest.mark.parametrize(
    "body", [b'{"prompt": "a", "prompt": "b"}', b"not json", b"[]", b'{"prompt": "a", "x": NaN}']
)
def test_repeated_keys_and_invalid_json_are_rejected(body: bytes) -> None:
    with pytest.raises(MalformedRequest):
        adapter.parse(post(body))


def test_render_error_is_fastapi_detail() -> None:
    response = adapter.render_error(403, "Blocked by rule no-email", "pii_blocked", "policy")
    assert response.status == 403
    assert json.loads(response.body) == {"detail": "Blocked by rule no-email"}


def test_forged_answer_polls_to_a_ready_result_with_the_image() -> None:
    store: dict[str, tuple[str, bytes]] = {}

    def publish(body: bytes, content_type: str = "image/png", path: str | None = None) -> str:
        path = path or f"/pixelgate/fallback/{secrets.token_urlsafe(8)}"
        store[path] = (content_type, body)
        return f"https://api.bfl.ai{path}"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":  # the store ignores the query string, as the proxy's does
            content_type, body = store[request.url.path]
            return httpx.Response(200, headers={"content-type": content_type}, content=body)
        wire = WireRequest("POST", "api.bfl.ai", 443, request.url.path, {}, request.read())
        answer = adapter.render_images(adapter.parse(wire), [PNG], publish)
        return httpx.Response(answer.status, headers=list(answer.headers), content=answer.body)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        task = client.post("https://api.bfl.ai/v1/flux-pro-1.1", json={"prompt": "p"}).json()
        result = client.get(task["polling_url"]).json()
        sample = client.get(result["result"]["sample"])
    assert set(task) == {"id", "polling_url"} and task["polling_url"].endswith(f"?id={task['id']}")
    assert result["id"] == task["id"] and result["status"] == "Ready"
    assert sample.content == PNG and sample.headers["content-type"] == "image/png"


PLANTED = [
    post({"prompt": "p"}, f"/v1/flux-{PLANT}"),
    post({"prompt": "p"}, f"/v1/{PLANT}"),
    post({"prompt": [PLANT]}),
    post({"seed": PLANT}),
    post({"prompt": "p", "input_image": PLANT}),
    post({"prompt": "p", "image": f"data:{PLANT};base64,{PLANT}"}),
    post({"prompt": "p", "num_images": PLANT}),
    post({"prompt": "p", "input_image_blob_path": PLANT}),
    post(f'{{"prompt": "{PLANT}", "prompt": "x"}}'.encode()),
    post(f'{{"prompt": "{PLANT}'.encode()),
    post(PLANT.encode("utf-16")),
    post({"prompt": "p"}, ct=f"text/{PLANT}"),
]


@pytest.mark.parametrize("request_", PLANTED)
def test_no_error_message_contains_a_planted_value(request_: WireRequest) -> None:
    with pytest.raises(RequestRejected) as caught:
        adapter.parse(request_)
    assert PLANT not in str(caught.value)
    assert PLANT.split("@")[0] not in str(caught.value)
