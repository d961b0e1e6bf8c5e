import base64
import io
import json
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ClientError

from proxy.errors import MalformedRequest, RequestRejected, UnsupportedEndpoint
from proxy.model import ImageRequest, TextPart
from proxy.providers.base import WireRequest, WireResponse
from proxy.providers.bedrock import BedrockAdapter
from proxy.providers.routing import HostPattern

DATA = Path(__file__).parent.parent / "data" / "bedrock"
PLANT = "jane.doe@example.com"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
B64 = base64.b64encode(PNG).decode()
HOST = "bedrock-runtime.us-east-1.amazonaws.com"
adapter = BedrockAdapter()


def fixture(name: str) -> WireRequest:
    meta = json.loads((DATA / f"{name}.json").read_text())
    body = (DATA / f"{name}.http").read_bytes()
    return WireRequest(meta["method"], HOST, 443, meta["path"], meta["headers"], body)


def invoke(
    doc: object, model: str = "amazon.titan-image-generator-v2%3A0", **headers: str
) -> WireRequest:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    head = {"content-type": "application/json", **headers}
    return WireRequest("POST", HOST, 443, f"/model/{model}/invoke", head, body)


def titan(**params: object) -> dict[str, object]:
    return {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a fox", **params}}


def with_text(parsed: ImageRequest, ref: str, text: str) -> ImageRequest:
    prompts = tuple(replace(p, text=text) if p.ref == ref else p for p in parsed.prompts)
    return parsed.with_prompts(prompts)


def test_default_hosts_are_regional_runtime_hosts_only() -> None:
    patterns = [HostPattern.parse(h) for h in adapter.default_hosts]
    assert any(p.matches(HOST, 443) for p in patterns)
    assert any(p.matches("bedrock-runtime-fips.us-gov-west-1.amazonaws.com", 443) for p in patterns)
    assert not any(p.matches("s3.us-east-1.amazonaws.com", 443) for p in patterns)
    assert not any(p.host.startswith("*") for p in patterns)


def test_titan_text_image_reads_prompt_negative_text_and_size() -> None:
    parsed = adapter.parse(fixture("titan_text_image"))
    assert parsed.operation == "text_image"
    assert [(p.ref, p.text, p.role) for p in parsed.prompts] == [
        ("json:/textToImageParams/text", "A lighthouse at dawn", "prompt"),
        ("json:/textToImageParams/negativeText", "fog", "other"),
    ]
    assert parsed.params["n"] == 2 and parsed.params["size"] == "1280x768"
    assert parsed.params["model"] == "amazon.titan-image-generator-v2:0"


def test_titan_inpainting_reads_image_and_mask_prompt() -> None:
    parsed = adapter.parse(fixture("titan_inpainting"))
    assert parsed.prompts[0] == TextPart("json:/inPaintingParams/text", "A red balloon", "prompt")
    assert {p.text for p in parsed.prompts[1:]} == {"people", "the window"}
    assert [(i.ref, i.data, i.role) for i in parsed.images] == [
        ("json:/inPaintingParams/image", PNG, "image")
    ]


def test_nova_variation_reads_every_image() -> None:
    parsed = adapter.parse(fixture("nova_variation"))
    assert [i.ref for i in parsed.images] == [
        "json:/imageVariationParams/images/0",
        "json:/imageVariationParams/images/1",
    ]
    assert parsed.prompts[0].text == "In autumn colours"


def test_titan_mask_image_has_role_mask() -> None:
    doc = {"taskType": "INPAINTING", "inPaintingParams": {"image": B64, "maskImage": B64}}
    assert [i.role for i in adapter.parse(invoke(doc)).images] == ["image", "mask"]


def test_nova_virtual_try_on_nested_mask_is_found() -> None:
    doc = {
        "taskType": "VIRTUAL_TRY_ON",
        "virtualTryOnParams": {
            "sourceImage": B64,
            "referenceImage": B64,
            "maskType": "IMAGE",
            "imageBasedMask": {"maskImage": B64},
        },
    }
    parsed = adapter.parse(invoke(doc, "amazon.nova-canvas-v1%3A0"))
    assert [i.role for i in parsed.images] == ["image", "image", "mask"]


def test_stability_reads_prompt_negative_prompt_and_aspect_ratio() -> None:
    parsed = adapter.parse(fixture("stability_sd35"))
    assert [(p.text, p.role) for p in parsed.prompts[:2]] == [
        ("A fox in the snow", "prompt"),
        ("blurry", "other"),
    ]
    assert parsed.params["size"] == "1344x768" and parsed.params["family"] == "stability"


def test_stability_image_to_image_reads_the_image() -> None:
    doc = {"prompt": "p", "mode": "image-to-image", "image": B64, "strength": 0.5}
    parsed = adapter.parse(invoke(doc, "stability.sd3-5-large-v1%3A0"))
    assert parsed.operation == "image-to-image" and parsed.images[0].data == PNG


def test_sdxl_text_prompts_by_weight() -> None:
    parsed = adapter.parse(fixture("sdxl"))
    assert [(p.text, p.role) for p in parsed.prompts[:2]] == [
        ("A castle", "prompt"),
        ("ugly", "other"),
    ]
    assert parsed.params["size"] == "1024x1024" and parsed.params["family"] == "sdxl"


def test_unknown_strings_anywhere_are_inspected() -> None:
    doc = {**titan(), "imageGenerationConfig": {"x": [PLANT]}, "extra": {"y": PLANT}}
    texts = [p.text for p in adapter.parse(invoke(doc)).prompts]
    assert texts.count(PLANT) == 2


def test_application_inference_profile_is_read_by_body_shape() -> None:
    model = (
        "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc123"
    )
    assert adapter.parse(invoke(titan(), model)).params["family"] == "titan"


def test_prompt_redaction_changes_only_the_prompt() -> None:
    request = fixture("titan_text_image")
    parsed = adapter.parse(request)
    body = adapter.apply(request, with_text(parsed, "json:/textToImageParams/text", "<X>"))
    assert json.loads(body) == json.loads(request.body.replace(b"A lighthouse at dawn", b"<X>"))


def test_image_redaction_writes_base64_back() -> None:
    request = fixture("titan_inpainting")
    parsed = adapter.parse(request)
    images = (replace(parsed.images[0], data=b"new"),)
    body = adapter.apply(request, replace(parsed, images=images))
    assert json.loads(body)["inPaintingParams"]["image"] == "bmV3"


def test_unchanged_request_is_returned_as_sent() -> None:
    request = fixture("sdxl")
    assert adapter.apply(request, adapter.parse(request)) is request.body


def test_signed_request_is_unrewritable_and_says_why() -> None:
    assert adapter.unrewritable(fixture("titan_text_image")) == "the request body is SigV4-signed"
    sha = invoke(titan(), **{"x-amz-content-sha256": "abc"})
    assert adapter.unrewritable(sha) is not None
    bearer = invoke(titan(), authorization="Bearer bedrock-api-key")
    assert adapter.unrewritable(bearer) is None


@pytest.mark.parametrize(
    "path",
    [
        "/model/amazon.titan-image-generator-v2%3A0/invoke-with-response-stream",
        "/model/amazon.titan-image-generator-v2%3A0/converse",
        "/async-invoke",
        "/model/a/b/invoke",
    ],
)
def test_other_operations_are_unsupported(path: str) -> None:
    request = WireRequest("POST", HOST, 443, path, {}, json.dumps(titan()).encode())
    with pytest.raises(UnsupportedEndpoint):
        adapter.parse(request)


def test_get_is_unsupported() -> None:
    with pytest.raises(UnsupportedEndpoint):
        adapter.parse(WireRequest("GET", HOST, 443, "/model/x/invoke"))


def test_text_models_are_unsupported() -> None:
    with pytest.raises(UnsupportedEndpoint, match="not an image model"):
        adapter.parse(invoke({"prompt": "hi"}, "meta.llama3-8b-instruct-v1%3A0"))


@pytest.mark.parametrize(
    "doc",
    [
        {"taskType": "TEXT_IMAGE"},
        {"taskType": "NOPE", "textToImageParams": {"text": "a"}},
        {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": ["a"]}},
        {"taskType": "TEXT_IMAGE", "textToImageParams": "a"},
        {"taskType": "INPAINTING", "inPaintingParams": {"text": "a"}},
        {**titan(), "imageGenerationConfig": {"numberOfImages": True}},
        {"taskType": "IMAGE_VARIATION", "imageVariationParams": {"images": ["%%%"]}},
    ],
)
def test_malformed_titan_bodies_are_rejected(doc: object) -> None:
    with pytest.raises(MalformedRequest):
        adapter.parse(invoke(doc))


@pytest.mark.parametrize(
    "doc",
    [
        {"negative_prompt": "x"},
        {"prompt": 3},
    ],
)
def test_malformed_stability_bodies_are_rejected(doc: object) -> None:
    with pytest.raises(MalformedRequest):
        adapter.parse(invoke(doc, "stability.stable-image-ultra-v1%3A1"))


@pytest.mark.parametrize(
    "doc", [{"text_prompts": []}, {"text_prompts": [{"text": "a", "weight": "1"}]}]
)
def test_malformed_sdxl_bodies_are_rejected(doc: object) -> None:
    with pytest.raises(MalformedRequest):
        adapter.parse(invoke(doc, "stability.stable-diffusion-xl-v1"))


def test_repeated_key_is_rejected() -> None:
    body = b'{"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a", "text": "b"}}'
    with pytest.raises(MalformedRequest, match="repeats a key"):
        adapter.parse(invoke(body))


PLANTED = [
    invoke({"taskType": PLANT, "textToImageParams": {"text": PLANT}}),
    invoke({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": 1, PLANT: PLANT}}),
    invoke({"prompt": PLANT}, f"meta.{PLANT}"),
    invoke({"prompt": PLANT, "image": PLANT}, "stability.sd3-5-large-v1%3A0"),
    invoke(f'{{"prompt": "{PLANT}", "prompt": 1}}'.encode(), "stability.x"),
    invoke({"text_prompts": [{"text": PLANT, "weight": PLANT}]}, "stability.stable-diffusion-xl"),
    WireRequest("POST", HOST, 443, f"/model/{PLANT}/converse", {}, b"{}"),
]


@pytest.mark.parametrize("request_", PLANTED)
def test_no_error_message_contains_a_planted_value(request_: WireRequest) -> None:
    with pytest.raises(RequestRejected) as caught:
        adapter.parse(request_)
    assert PLANT not in str(caught.value) and "jane.doe" not in str(caught.value)


def client_answering(response: WireResponse) -> object:
    def answer(request: AWSPreparedRequest, **_: object) -> AWSResponse:
        raw = io.BytesIO(response.body)
        raw.stream = lambda **_: iter([response.body])  # type: ignore[attr-defined]
        return AWSResponse(request.url, response.status, dict(response.headers), raw)  # type: ignore[arg-type]

    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="x",
        config=__import__("botocore.config").config.Config(retries={"max_attempts": 1}),
    )
    client.meta.events.register("before-send.bedrock-runtime.InvokeModel", answer)
    return client


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (403, "AccessDeniedException"),
        (400, "ValidationException"),
        (503, "ServiceUnavailableException"),
        (429, "ThrottlingException"),
        (502, "InternalServerException"),
    ],
)
def test_render_error_is_a_botocore_client_error(status: int, code: str) -> None:
    client = client_answering(adapter.render_error(status, "blocked by rule r", "pii_blocked", "k"))
    with pytest.raises(ClientError) as caught:
        client.invoke_model(modelId="amazon.nova-canvas-v1:0", body=b"{}")  # type: ignore[attr-defined]
    assert caught.value.response["Error"] == {"Code": code, "Message": "blocked by rule r"}
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


@pytest.mark.parametrize(
    ("name", "key"), [("titan_text_image", "images"), ("stability_sd35", "images")]
)
def test_render_images_is_the_model_family_answer(name: str, key: str) -> None:
    parsed = adapter.parse(fixture(name))
    client = client_answering(adapter.render_images(parsed, [PNG, PNG], lambda *a, **k: ""))
    result = client.invoke_model(modelId="amazon.nova-canvas-v1:0", body=b"{}")  # type: ignore[attr-defined]
    payload = json.loads(result["body"].read())
    assert [base64.b64decode(b) for b in payload[key]] == [PNG, PNG]
    assert result["contentType"] == "application/json"


def test_render_images_for_sdxl_has_artifacts() -> None:
    parsed = adapter.parse(fixture("sdxl"))
    payload = json.loads(adapter.render_images(parsed, [PNG], lambda *a, **k: "").body)
    assert base64.b64decode(payload["artifacts"][0]["base64"]) == PNG
    assert payload["artifacts"][0]["finishReason"] == "SUCCESS"


def test_can_render_only_json_answers() -> None:
    assert adapter.can_render(adapter.parse(fixture("titan_text_image")))
    parsed = adapter.parse(invoke(titan(), accept="image/png"))
    assert not adapter.can_render(parsed)


@pytest.mark.parametrize(
    "host",
    [
        "bedrock-runtime.us-east-1.api.aws",  # botocore's use_dualstack_endpoint
        "bedrock-runtime-fips.us-gov-west-1.api.aws",
        "bedrock-runtime.eu-west-1.amazonaws.com",
    ],
)
def test_dual_stack_and_fips_hosts_belong_to_this_adapter(host: str) -> None:
    assert any(HostPattern.parse(h).matches(host, 443) for h in adapter.default_hosts)


@pytest.mark.parametrize(
    "path",
    [
        "/model/amazon.nova-pro-v1%3A0/converse",  # images as bytes in a conversation
        "/model/amazon.nova-pro-v1%3A0/converse-stream",
        "/model/amazon.titan-image-generator-v2%3A0/invoke-with-response-stream",
        "/async-invoke",  # StartAsyncInvoke: modelInput can hold images
    ],
)
def test_other_bedrock_runtime_operations_are_unsupported(path: str) -> None:
    body = json.dumps({"messages": [], "modelInput": {}}).encode()
    request = WireRequest(
        "POST",
        "bedrock-runtime.us-east-1.amazonaws.com",
        443,
        path,
        {"content-type": "application/json"},
        body,
    )
    with pytest.raises(UnsupportedEndpoint):
        adapter.parse(request)
