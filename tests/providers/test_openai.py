import base64
import json
from dataclasses import replace
from pathlib import Path

import httpx
import openai
import pytest

from proxy.errors import MalformedRequest, RequestRejected, UnsupportedEndpoint
from proxy.model import ImageRequest, TextPart
from proxy.providers import ADAPTERS
from proxy.providers.base import WireRequest
from proxy.providers.openai import OpenAIAdapter
from proxy.providers.routing import Router

DATA = Path(__file__).parent.parent / "data" / "openai"
PLANT = "jane.doe@example.com"
B = "xYz-123"
FORM_CT = f"multipart/form-data; boundary={B}"
adapter = OpenAIAdapter()


def fixture(name: str) -> WireRequest:
    meta = json.loads((DATA / f"{name}.json").read_text())
    body = (DATA / f"{name}.http").read_bytes()
    return WireRequest(meta["method"], "api.openai.com", 443, meta["path"], meta["headers"], body)


def post(path: str, body: bytes, content_type: str = "application/json") -> WireRequest:
    return WireRequest("POST", "api.openai.com", 443, path, {"content-type": content_type}, body)


def gen(doc: object, path: str = "/v1/images/generations") -> WireRequest:
    return post(path, json.dumps(doc).encode())


def form(*fields: tuple[str, bytes | str], filename: str = "a.png") -> bytes:
    out = b""
    for name, value in fields:
        head = f'Content-Disposition: form-data; name="{name}"'
        if isinstance(value, bytes):
            head += f'; filename="{filename}"\r\nContent-Type: image/png'
        data = value if isinstance(value, bytes) else value.encode()
        out += f"--{B}\r\n{head}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{B}--\r\n".encode()


def edit(*fields: tuple[str, bytes | str]) -> WireRequest:
    return post("/v1/images/edits", form(*fields), FORM_CT)


def with_text(parsed: ImageRequest, ref: str, text: str) -> ImageRequest:
    prompts = tuple(replace(p, text=text) if p.ref == ref else p for p in parsed.prompts)
    return parsed.with_prompts(prompts)


def test_sdk_generate_reads_prompt_and_neutral_params() -> None:
    parsed = adapter.parse(fixture("generate"))
    assert parsed.operation == "images.generate"
    assert parsed.prompts == (TextPart("json:/prompt", "A watercolour fox in the snow", "prompt"),)
    assert dict(parsed.params) == {"n": 1, "model": "gpt-image-1", "size": "1024x1024"}


def test_api_reference_generation_example_parses() -> None:
    parsed = adapter.parse(fixture("generate_reference"))
    assert [p.text for p in parsed.prompts] == ["A cute baby sea otter"]
    assert parsed.params["model"] == "gpt-image-1.5"


def test_n_defaults_to_one() -> None:
    assert adapter.parse(gen({"prompt": "a fox"})).params["n"] == 1


def test_sdk_edit_reads_prompt_user_and_image() -> None:
    parsed = adapter.parse(fixture("edit_single"))
    assert parsed.operation == "images.edit"
    assert [(p.text, p.role) for p in parsed.prompts] == [
        ("Give the square a hat", "prompt"),
        ("user-1234", "other"),
    ]
    (image,) = parsed.images
    assert (image.filename, image.content_type, image.role) == ("red.png", "image/png", "image")
    assert image.data.startswith(b"\x89PNG\r\n\x1a\n")


def test_sdk_edit_with_several_images_keeps_request_order() -> None:
    parsed = adapter.parse(fixture("edit_multi"))
    assert [i.filename for i in parsed.images] == ["red.png", "blue.png"]
    assert all(i.role == "image" for i in parsed.images)


def test_sdk_edit_mask_has_role_mask_and_params_are_neutral() -> None:
    parsed = adapter.parse(fixture("edit_mask"))
    assert [(i.filename, i.role) for i in parsed.images] == [
        ("red.png", "image"),
        ("mask.png", "mask"),
    ]
    assert dict(parsed.params) == {
        "n": 2,
        "model": "dall-e-2",
        "size": "256x256",
        "response_format": "b64_json",
    }


def test_sdk_variation_has_one_image_and_no_prompt() -> None:
    parsed = adapter.parse(fixture("variation"))
    assert (parsed.operation, parsed.prompts, len(parsed.images)) == ("images.variation", (), 1)


def test_official_sdk_requests_parse_through_the_adapter() -> None:
    seen: list[ImageRequest] = []

    def handler(request: httpx.Request) -> httpx.Response:
        wire = WireRequest(
            request.method,
            request.url.host,
            443,
            request.url.raw_path.decode(),
            dict(request.headers),
            request.read(),
        )
        seen.append(adapter.parse(wire))
        return httpx.Response(200, json={"created": 0, "data": []})

    client = openai.OpenAI(
        api_key="sk-test", http_client=httpx.Client(transport=httpx.MockTransport(handler))
    )
    client.images.edit(
        image=[("a.png", b"\x89PNG-a"), ("b.png", b"\x89PNG-b")], prompt="merge", user=PLANT
    )
    assert [p.text for p in seen[0].prompts] == ["merge", PLANT]
    assert [i.data for i in seen[0].images] == [b"\x89PNG-a", b"\x89PNG-b"]


def test_edit_prompt_redaction_keeps_image_bytes_identical() -> None:
    request = fixture("edit_mask")
    parsed = adapter.parse(request)
    body = adapter.apply(request, with_text(parsed, parsed.prompts[0].ref, "Paint a [REDACTED]"))
    assert body == request.body.replace(b"Paint a sun in the masked area", b"Paint a [REDACTED]")


def test_image_replacement_changes_only_that_part() -> None:
    request = fixture("edit_multi")
    parsed = adapter.parse(request)
    images = (parsed.images[0], replace(parsed.images[1], data=b"blurred"))
    body = adapter.apply(request, replace(parsed, images=images))
    assert body == request.body.replace(parsed.images[1].data, b"blurred")


def test_unchanged_request_is_returned_as_sent() -> None:
    request = fixture("generate_reference")
    assert adapter.apply(request, adapter.parse(request)) is request.body


def test_generation_prompt_redaction_rewrites_json_in_key_order() -> None:
    request = fixture("generate")
    parsed = adapter.parse(request)
    body = adapter.apply(request, with_text(parsed, "json:/prompt", "Ein Fuchs für <PERSON>"))
    assert body == request.body.replace(
        b"A watercolour fox in the snow", "Ein Fuchs für <PERSON>".encode()
    )


def test_nested_unknown_json_strings_are_inspected_and_written_back() -> None:
    request = gen({"prompt": "p", "metadata": {"a/b": [PLANT, 3]}, "user": "u"})
    parsed = adapter.parse(request)
    assert [(p.ref, p.role) for p in parsed.prompts] == [
        ("json:/prompt", "prompt"),
        ("json:/metadata/a~1b/0", "other"),
        ("json:/user", "other"),
    ]
    body = adapter.apply(request, with_text(parsed, "json:/metadata/a~1b/0", "<EMAIL>"))
    assert json.loads(body)["metadata"] == {"a/b": ["<EMAIL>", 3]}


def test_unknown_ref_in_apply_is_an_error() -> None:
    request = fixture("generate")
    parsed = adapter.parse(request)
    with pytest.raises(ValueError, match="ref"):
        adapter.apply(request, parsed.with_prompts((TextPart("json:/nope", "x"),)))


def test_duplicate_prompt_field_is_rejected() -> None:
    with pytest.raises(MalformedRequest, match="duplicate prompt"):
        adapter.parse(edit(("image", b"\x89PNG"), ("prompt", "a"), ("prompt", "b")))


def test_repeated_neutral_form_field_is_rejected() -> None:
    with pytest.raises(MalformedRequest, match="duplicate form field"):
        adapter.parse(edit(("image", b"\x89PNG"), ("prompt", "a"), ("n", "1"), ("n", "2")))


@pytest.mark.parametrize(
    "body", [b'{"prompt": "a", "prompt": "b"}', b'{"prompt": "a", "x": {"k": 1, "k": 2}}']
)
def test_duplicate_json_key_anywhere_is_rejected(body: bytes) -> None:
    with pytest.raises(MalformedRequest, match="repeats a key"):
        adapter.parse(post("/v1/images/generations", body))


def test_missing_prompt_is_rejected() -> None:
    with pytest.raises(MalformedRequest, match="missing prompt"):
        adapter.parse(gen({"model": "gpt-image-1"}))


def test_edit_without_image_is_rejected() -> None:
    with pytest.raises(MalformedRequest, match="missing image"):
        adapter.parse(edit(("prompt", "a"), ("mask", b"\x89PNG")))


def test_variation_with_a_mask_is_rejected() -> None:
    with pytest.raises(MalformedRequest, match="exactly one image"):
        adapter.parse(post("/v1/images/variations", form(("image", b"x"), ("mask", b"y")), FORM_CT))


def test_file_part_under_another_name_is_rejected() -> None:
    with pytest.raises(MalformedRequest, match="file part"):
        adapter.parse(edit(("image", b"x"), ("prompt", "a"), ("extra", b"y")))


@pytest.mark.parametrize("doc", [{"prompt": 5}, {"prompt": ["a"]}, {"prompt": None}])
def test_prompt_must_be_a_string(doc: object) -> None:
    with pytest.raises(MalformedRequest, match="prompt must be a string"):
        adapter.parse(gen(doc))


@pytest.mark.parametrize("n", [True, "2", 1.5])
def test_n_must_be_an_integer(n: object) -> None:
    with pytest.raises(MalformedRequest, match="n must be"):
        adapter.parse(gen({"prompt": "a", "n": n}))


@pytest.mark.parametrize("body", [b"[1]", b"not json", b'{"prompt": NaN}', b"[" * 100_000])
def test_non_object_or_invalid_json_is_rejected(body: bytes) -> None:
    with pytest.raises(MalformedRequest):
        adapter.parse(post("/v1/images/generations", body))


def test_deeply_nested_unknown_field_is_rejected() -> None:
    with pytest.raises(MalformedRequest, match="nested too deeply"):
        adapter.parse(
            post(
                "/v1/images/generations", b'{"prompt": "a", "x": ' + b"[" * 500 + b"]" * 500 + b"}"
            )
        )


def test_non_utf8_json_is_rejected() -> None:
    with pytest.raises(MalformedRequest, match="UTF-8"):
        adapter.parse(post("/v1/images/generations", '{"prompt": "café"}'.encode("latin-1")))


def test_non_utf8_form_text_is_rejected() -> None:
    body = form(("image", b"x"), ("prompt", "a")).replace(b"\r\n\r\na\r\n", b"\r\n\r\ncaf\xe9\r\n")
    with pytest.raises(MalformedRequest, match="UTF-8"):
        adapter.parse(post("/v1/images/edits", body, FORM_CT))


def test_json_charset_parameter_is_allowed() -> None:
    request = post("/v1/images/generations", b'{"prompt": "a"}', "application/json; charset=UTF-8")
    assert adapter.parse(request).prompts[0].text == "a"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "", FORM_CT]
)
def test_generation_expects_a_json_body(content_type: str) -> None:
    with pytest.raises(MalformedRequest, match="expected a JSON body"):
        adapter.parse(post("/v1/images/generations", b'{"prompt": "a"}', content_type))


@pytest.mark.parametrize(
    "path",
    [
        "/openai/deployments/my-dalle/images/generations?api-version=2024-02-01",
        "/openai/v1/images/generations",
        "/v1/images/generations/",
        "/api/v1/images/generations",
    ],
)
def test_azure_deployment_path_is_an_image_generation(path: str) -> None:
    assert adapter.parse(gen({"prompt": "a"}, path)).operation == "images.generate"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/embeddings",
        "/v1/audio/speech",
        "/v1/images/generate",
        "/v1/myimages/edits",
        "/v1/images",
    ],
)
def test_unknown_path_is_unsupported(path: str) -> None:
    with pytest.raises(UnsupportedEndpoint, match="not an OpenAI endpoint"):
        adapter.parse(gen({"prompt": "a"}, path))


def test_other_method_on_image_path_is_unsupported() -> None:
    request = WireRequest("GET", "api.openai.com", 443, "/v1/images/generations")
    with pytest.raises(UnsupportedEndpoint, match="other than POST"):
        adapter.parse(request)


def test_json_edit_with_data_urls_yields_image_parts() -> None:
    png = base64.b64encode(b"\x89PNG-a").decode()
    doc = {
        "images": [{"image_url": f"data:image/png;base64,{png}"}],
        "prompt": "p",
        "mask": {"image_url": f"data:image/png;base64,{png}"},
    }
    parsed = adapter.parse(post("/v1/images/edits", json.dumps(doc).encode()))
    assert [(i.ref, i.data, i.content_type, i.role) for i in parsed.images] == [
        ("json:/images/0/image_url", b"\x89PNG-a", "image/png", "image"),
        ("json:/mask/image_url", b"\x89PNG-a", "image/png", "mask"),
    ]


def test_json_edit_image_redaction_writes_a_new_data_url() -> None:
    doc = {"prompt": "p", "images": [{"image_url": "data:image/png;base64,iVBO"}]}
    request = post("/v1/images/edits", json.dumps(doc).encode())
    parsed = adapter.parse(request)
    body = adapter.apply(request, replace(parsed, images=(replace(parsed.images[0], data=b"new"),)))
    assert json.loads(body)["images"] == [{"image_url": "data:image/png;base64,bmV3"}]


def test_json_edit_images_by_link_are_returned_for_the_gate_to_fetch_or_refuse() -> None:
    body = b'{"prompt": "p", "images": [{"image_url": "https://example.com/a.png"}]}'
    parsed = adapter.parse(post("/v1/images/edits", body))
    assert parsed.images and all(i.url and i.url.startswith("http") for i in parsed.images)
    assert all(i.data == b"" for i in parsed.images)


def test_json_edit_image_by_file_id_cannot_be_inspected() -> None:
    with pytest.raises(UnsupportedEndpoint, match="by file id"):
        adapter.parse(fixture("edit_json_reference"))
    with pytest.raises(UnsupportedEndpoint, match="by file id"):
        adapter.parse(
            post("/v1/images/edits", b'{"prompt": "p", "images": [{"file_id": "file-1"}]}')
        )


def test_json_edit_with_singular_image_field_is_rejected() -> None:
    with pytest.raises(MalformedRequest, match="images array"):
        adapter.parse(
            post("/v1/images/edits", b'{"prompt": "p", "image": "data:image/png;base64,AA=="}')
        )


def test_render_error_is_parsed_by_the_openai_sdk() -> None:
    response = adapter.render_error(
        403, "blocked by rule no-email", "pixelgate_blocked", "invalid_request_error"
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            response.status, headers=list(response.headers), content=response.body
        )

    client = openai.OpenAI(
        api_key="sk-test",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.images.generate(prompt="a")
    assert caught.value.code == "pixelgate_blocked"
    assert caught.value.type == "invalid_request_error"
    assert caught.value.body == {
        "message": "blocked by rule no-email",
        "type": "invalid_request_error",
        "param": None,
        "code": "pixelgate_blocked",
    }


PLANTED = [
    post("/v1/images/generations", json.dumps({"prompt": PLANT, PLANT: 1, "n": PLANT}).encode()),
    post("/v1/images/generations", json.dumps({"prompt": 1, "user": PLANT}).encode()),
    post("/v1/images/generations", f'{{"prompt": "{PLANT}", "prompt": "x"}}'.encode()),
    post("/v1/images/generations", f'{{"prompt": "{PLANT}"'.encode()),
    post("/v1/images/generations", PLANT.encode("utf-16")),
    post(f"/v1/images/generations?q={PLANT}", b"{}", f"text/{PLANT}"),
    post(
        "/v1/images/edits",
        json.dumps({"prompt": PLANT, "images": [{"file_id": f"file-{PLANT}"}]}).encode(),
    ),
    post(
        "/v1/images/edits",
        json.dumps(
            {"prompt": "p", "images": [{"image_url": f"data:{PLANT},%zz", "x": 1}]}
        ).encode(),
    ),
    post(
        "/v1/images/edits",
        json.dumps(
            {"prompt": "p", "images": [{"image_url": f"data:{PLANT};base64,{PLANT}"}]}
        ).encode(),
    ),
    edit(("image", b"x"), ("prompt", PLANT), ("prompt", PLANT)),
    edit(("image", b"x"), ("prompt", PLANT), (PLANT, b"y")),
    edit(("image", b"x"), ("n", PLANT), ("user", PLANT)),
    edit(("user", PLANT)),
    post(
        "/v1/images/edits",
        form(("prompt", PLANT)).replace(b'"prompt"', f'"{PLANT}" {PLANT}'.encode()),
        FORM_CT,
    ),
    post("/v1/images/edits", form(("prompt", PLANT))[:-10], FORM_CT),
    post("/v1/images/edits", form(("prompt", PLANT)), f"multipart/form-data; boundary={PLANT * 5}"),
]


@pytest.mark.parametrize("request_", PLANTED)
def test_no_error_message_contains_a_planted_value(request_: WireRequest) -> None:
    with pytest.raises(RequestRejected) as caught:
        adapter.parse(request_)
    assert PLANT not in str(caught.value)
    assert PLANT.split("@")[0] not in str(caught.value)


# --- Azure OpenAI and Azure AI Foundry ---------------------------------------------------------


def azure_fixture(name: str) -> WireRequest:
    meta = json.loads((DATA / f"{name}.json").read_text())
    body = (DATA / f"{name}.http").read_bytes()
    return WireRequest(meta["method"], meta["host"], 443, meta["path"], meta["headers"], body)


@pytest.mark.parametrize(
    "host",
    [
        "fixture-resource.openai.azure.com",
        "fixture-foundry.cognitiveservices.azure.com",
        "fixture-foundry.services.ai.azure.com",
    ],
)
def test_azure_hosts_are_read_as_openai(host: str) -> None:
    adapter = Router(ADAPTERS, {}).match(host, 443)
    assert adapter is not None and adapter.name == "openai"


def test_azure_sdk_generation_on_a_deployment_path_is_read() -> None:
    parsed = OpenAIAdapter().parse(azure_fixture("azure_generate"))
    assert parsed.operation == "images.generate"
    assert parsed.prompts[0].text == "A watercolour fox in the snow"
    assert parsed.params["model"] == "gpt-image-1-deployment"


def test_azure_foundry_edit_with_a_fixed_deployment_is_read_and_redacted() -> None:
    request = azure_fixture("azure_foundry_edit")
    assert request.path.startswith("/openai/deployments/flux-kontext/images/edits?api-version=")
    adapter = OpenAIAdapter()
    parsed = adapter.parse(request)
    assert parsed.operation == "images.edit" and len(parsed.images) == 1
    redacted = replace(parsed, images=(replace(parsed.images[0], data=b"\x89PNG redacted"),))
    assert b"\x89PNG redacted" in adapter.apply(request, redacted)


def test_azure_responses_without_a_deployment_is_read() -> None:
    parsed = OpenAIAdapter().parse(azure_fixture("azure_responses"))
    assert parsed.operation == "responses.create" and parsed.params["image_tool"] is True


@pytest.mark.parametrize(
    "path",
    [
        "/openai/files?api-version=2025-04-01-preview",
        "/openai/deployments/d/embeddings?api-version=2025-04-01-preview",
        "/openai/v1/uploads",
        "/vision/v3.2/analyze?visualFeatures=Faces",
        "/face/v1.0/detect",
        "/providers/blackforestlabs/v1/flux-2-pro?api-version=preview",
    ],
)
def test_other_azure_endpoints_are_unsupported(path: str) -> None:
    request = WireRequest(
        "POST",
        "fixture-foundry.cognitiveservices.azure.com",
        443,
        path,
        {"content-type": "application/json"},
        b'{"prompt": "a fox"}',
    )
    with pytest.raises(UnsupportedEndpoint):
        OpenAIAdapter().parse(request)
