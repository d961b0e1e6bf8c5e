import base64
import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials

from proxy.errors import MalformedRequest, RequestRejected, UnsupportedEndpoint
from proxy.model import ImageRequest, TextPart
from proxy.providers import ADAPTERS
from proxy.providers.base import WireRequest, WireResponse
from proxy.providers.google import GoogleAdapter
from proxy.providers.routing import Router

DATA = Path(__file__).parent.parent / "data" / "google"
PLANT = "jane.doe@example.com"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
B64 = base64.b64encode(PNG).decode()
GEN = "/v1beta/models/gemini-2.5-flash-image:generateContent"
VERTEX = "/v1/projects/p/locations/us-central1/publishers/google/models/imagen-4.0-generate-001"
adapter = GoogleAdapter()


def fixture(name: str) -> WireRequest:
    meta = json.loads((DATA / f"{name}.json").read_text())
    body = (DATA / f"{name}.http").read_bytes()
    return WireRequest(meta["method"], meta["host"], 443, meta["path"], meta["headers"], body)


def post(
    doc: object, path: str = GEN, host: str = "generativelanguage.googleapis.com"
) -> WireRequest:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return WireRequest("POST", host, 443, path, {"content-type": "application/json"}, body)


def contents(*parts: Mapping[str, object], **extra: object) -> dict[str, object]:
    return {"contents": [{"role": "user", "parts": list(parts)}], **extra}


def _inline() -> dict[str, str]:
    return {"mimeType": "image/png", "data": B64}


def with_text(parsed: ImageRequest, ref: str, text: str) -> ImageRequest:
    prompts = tuple(replace(p, text=text) if p.ref == ref else p for p in parsed.prompts)
    return parsed.with_prompts(prompts)


# --- reading ---------------------------------------------------------------------------------


def test_sdk_generate_content_reads_prompt_system_instruction_and_image() -> None:
    parsed = adapter.parse(fixture("generate_content"))
    assert parsed.operation == "gemini.generate_content"
    assert parsed.prompts[0] == TextPart(
        "json:/contents/0/parts/0/text", "Give the red square a party hat", "prompt"
    )
    others = [p.text for p in parsed.prompts if p.role == "other"]
    assert "Draw in the style of a children's book" in others and "IMAGE" not in others
    (image,) = parsed.images
    assert (image.ref, image.content_type, image.role) == (
        "json:/contents/0/parts/1/inlineData/data",
        "image/png",
        "image",
    )
    assert image.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert dict(parsed.params) == {
        "model": "gemini-2.5-flash-image",
        "format": "json",
        "n": 1,
        "size": "1344x768",
        "image_output": True,
    }


def test_last_user_turn_is_the_prompt_and_earlier_turns_are_other_text() -> None:
    parsed = adapter.parse(fixture("multi_turn"))
    assert [(p.text, p.role) for p in parsed.prompts if "fox" in p.text] == [
        ("Now make the fox wear a scarf", "prompt"),
        ("Draw a fox in the snow", "other"),
    ]
    assert len(parsed.images) == 1  # the model's earlier image, sent back by the client


def test_api_reference_snake_case_inline_data_is_an_image() -> None:
    parsed = adapter.parse(fixture("rest_edit_snake_case"))
    assert parsed.prompts[0].text == "Add a small knitted wizard hat to the cat"
    assert parsed.images[0].ref == "json:/contents/0/parts/1/inline_data/data"
    assert parsed.images[0].data.startswith(b"\x89PNG")


def test_sdk_stream_uses_server_sent_events_framing() -> None:
    parsed = adapter.parse(fixture("stream_generate_content"))
    assert parsed.operation == "gemini.stream_generate_content"
    assert parsed.params["format"] == "sse"


def test_stream_without_alt_sse_is_answered_as_a_json_array() -> None:
    path = GEN.replace(":generateContent", ":streamGenerateContent")
    parsed = adapter.parse(post(contents({"text": "a fox"}), path))
    assert parsed.params["format"] == "json_array"


@pytest.mark.parametrize(
    ("name", "operation", "n", "size"),
    [
        ("rest_imagen_predict", "imagen.generate", 4, None),
        ("rest_vertex_imagen", "imagen.generate", 1, "1344x768"),
        ("vertex_generate_images", "imagen.generate", 2, "896x1152"),
    ],
)
def test_imagen_predict_reads_prompt_count_and_size(
    name: str, operation: str, n: int, size: str | None
) -> None:
    parsed = adapter.parse(fixture(name))
    assert (parsed.operation, parsed.params["n"], parsed.params.get("size")) == (
        operation,
        n,
        size,
    )
    assert parsed.prompts[0].ref == "json:/instances/0/prompt"
    assert parsed.prompts[0].role == "prompt"


def test_imagen_negative_prompt_is_other_text_and_enums_are_not_text() -> None:
    parsed = adapter.parse(fixture("vertex_generate_images"))
    assert [(p.text, p.role) for p in parsed.prompts] == [
        ("A robot holding a red skateboard", "prompt"),
        ("blurry", "other"),
    ]


def test_imagen_edit_reads_reference_image_and_mask() -> None:
    parsed = adapter.parse(fixture("vertex_edit_image"))
    assert parsed.operation == "imagen.edit"
    assert [i.role for i in parsed.images] == ["image", "mask"]
    assert all(i.data.startswith(b"\x89PNG") for i in parsed.images)


def test_vertex_generate_content_reads_like_the_gemini_api() -> None:
    gemini, vertex = (
        adapter.parse(fixture("generate_content")),
        adapter.parse(fixture("vertex_generate_content")),
    )
    assert gemini.prompts == vertex.prompts and gemini.images == vertex.images


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
        return httpx.Response(200, json={})

    client = genai.Client(api_key="k", http_options=_options(handler))
    client.models.generate_content(
        model="gemini-2.5-flash-image",
        contents=types.UserContent(
            parts=[
                types.Part.from_text(text=PLANT),
                types.Part.from_bytes(data=PNG, mime_type="image/png"),
            ]
        ),
        config=types.GenerateContentConfig(candidate_count=2),
    )
    assert seen[0].prompts[0].text == PLANT and seen[0].params["n"] == 2
    assert seen[0].images[0].data == PNG


def test_every_unknown_string_is_read_as_other_text() -> None:
    doc = contents(
        {"text": "a fox"},
        {"functionCall": {"name": "f", "args": {"who": PLANT}}},
        tools=[{"functionDeclarations": [{"name": "g", "description": "about " + PLANT}]}],
        generationConfig={"stopSequences": [PLANT], "responseMimeType": "text/plain"},
    )
    parsed = adapter.parse(post(doc))
    assert [p.ref for p in parsed.prompts if PLANT in p.text] == [
        "json:/contents/0/parts/1/functionCall/args/who",
        "json:/tools/0/functionDeclarations/0/description",
        "json:/generationConfig/stopSequences/0",
    ]
    assert "text/plain" not in [p.text for p in parsed.prompts]


def test_inline_images_are_found_anywhere_in_the_body() -> None:
    nested = {"functionResponse": {"name": "f", "parts": [{"inlineData": _inline()}]}}
    parsed = adapter.parse(post(contents({"text": "a"}, nested)))
    assert [i.ref for i in parsed.images] == [
        "json:/contents/0/parts/1/functionResponse/parts/0/inlineData/data"
    ]


def test_http_file_data_is_an_image_link_for_the_gate() -> None:
    part = {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/a.jpg"}}
    (image,) = adapter.parse(post(contents({"text": "a"}, part))).images
    assert (image.data, image.url, image.content_type) == (
        b"",
        "https://example.com/a.jpg",
        "image/jpeg",
    )


def test_count_tokens_is_read_in_both_of_its_forms() -> None:
    path = GEN.replace(":generateContent", ":countTokens")
    inner = {"generateContentRequest": {"model": "models/x", **contents({"text": PLANT})}}
    for doc in (contents({"text": PLANT}), inner):
        parsed = adapter.parse(post(doc, path))
        assert parsed.operation == "gemini.count_tokens"
        assert parsed.prompts[0].text == PLANT and parsed.prompts[0].role == "prompt"
        assert not adapter.can_render(parsed)


@pytest.mark.parametrize(
    ("config", "size"),
    [("1:1", "1024x1024"), ("9:16", "768x1344"), ("4:3", "1152x896"), ("21:9", "1536x640")],
)
def test_aspect_ratio_becomes_a_size_near_one_megapixel(config: str, size: str) -> None:
    doc = contents({"text": "a"}, generationConfig={"imageConfig": {"aspectRatio": config}})
    assert adapter.parse(post(doc)).params["size"] == size


@pytest.mark.parametrize(
    "path",
    [
        "/v1/models/gemini-2.0-flash:generateContent",
        "/v1beta/tunedModels/my-model:generateContent",
        "/v1beta1/projects/p/locations/europe-west4/publishers/google/models/gemini-2.5-flash-image:generateContent",
        "/v1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        "/v1/projects/p/locations/us-central1/endpoints/1234:generateContent",
        "/v1beta/models/gemini-2.5-flash-image:generateContent?key=abc",
    ],
)
def test_gemini_and_vertex_paths_are_understood(path: str) -> None:
    assert adapter.parse(post(contents({"text": "a"}), path)).prompts[0].text == "a"


def test_default_hosts_route_gemini_and_vertex_to_this_adapter() -> None:
    router = Router(ADAPTERS, {})
    for host in (
        "generativelanguage.googleapis.com",
        "aiplatform.googleapis.com",
        "us-central1-aiplatform.googleapis.com",
        "europe-west4-aiplatform.googleapis.com",
        "aiplatform.eu.rep.googleapis.com",
        # google-genai's mTLS endpoints (to_mtls_url), used with a client certificate.
        "generativelanguage.mtls.googleapis.com",
        "aiplatform.mtls.googleapis.com",
        "us-central1-aiplatform.mtls.googleapis.com",
    ):
        assert router.match(host, 443) is not None
        assert router.match(host, 443).name == "google"  # type: ignore[union-attr]
    assert router.match("storage.googleapis.com", 443) is None
    assert router.match("www.googleapis.com", 443) is None  # Drive, Cloud Storage JSON, ...


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        # files.upload as google-genai sends it: a resumable start, then the bytes.
        ("/upload/v1beta/files", {"x-goog-upload-command": "start"},
         b'{"file": {"mimeType": "image/png", "sizeBytes": 70}}'),
        ("/upload/v1beta/files?upload_id=u1&upload_protocol=resumable",
         {"x-goog-upload-command": "upload, finalize", "x-goog-upload-offset": "0"}, PNG),
        ("/v1beta/cachedContents", {}, json.dumps(contents({"text": "a"})).encode()),
        ("/v1beta/models/gemini-2.5-flash:batchGenerateContent", {}, b"{}"),
        ("/upload/v1beta/fileSearchStores/s1:uploadToFileSearchStore", {}, PNG),
    ],
)  # fmt: skip
def test_file_uploads_caches_and_batches_are_unsupported(
    path: str, headers: dict[str, str], body: bytes
) -> None:
    # Their images could only be inspected whole and in place: refused, never forwarded.
    request = WireRequest(
        "POST", "generativelanguage.googleapis.com", 443, path,
        {"content-type": "application/json", **headers}, body,
    )  # fmt: skip
    with pytest.raises(UnsupportedEndpoint):
        adapter.parse(request)


# --- writing back ----------------------------------------------------------------------------


def test_prompt_redaction_changes_only_the_prompt() -> None:
    request = fixture("generate_content")
    parsed = adapter.parse(request)
    body = adapter.apply(request, with_text(parsed, parsed.prompts[0].ref, "a [REDACTED] hat"))
    before, after = json.loads(request.body), json.loads(body)
    assert after["contents"][0]["parts"][0]["text"] == "a [REDACTED] hat"
    after["contents"][0]["parts"][0]["text"] = before["contents"][0]["parts"][0]["text"]
    assert after == before


def test_image_redaction_keeps_the_snake_case_spelling() -> None:
    request = fixture("rest_edit_snake_case")
    parsed = adapter.parse(request)
    body = adapter.apply(request, replace(parsed, images=(replace(parsed.images[0], data=b"x"),)))
    part = json.loads(body)["contents"][0]["parts"][1]
    assert part == {"inline_data": {"mime_type": "image/png", "data": "eA=="}}


def test_imagen_mask_redaction_writes_base64_in_place() -> None:
    request = fixture("vertex_edit_image")
    parsed = adapter.parse(request)
    images = (parsed.images[0], replace(parsed.images[1], data=b"mask"))
    reference = json.loads(adapter.apply(request, replace(parsed, images=images)))
    ref = reference["instances"][0]["referenceImages"][1]["referenceImage"]
    assert ref == {"bytesBase64Encoded": "bWFzaw=="}


def test_a_redacted_linked_image_goes_on_inline_in_place_of_the_link() -> None:
    part = {"fileData": {"fileUri": "https://example.com/a.png"}, "thought": False}
    request = post(contents({"text": "a"}, part))
    parsed = adapter.parse(request)
    body = adapter.apply(request, replace(parsed, images=(replace(parsed.images[0], data=PNG),)))
    assert json.loads(body)["contents"][0]["parts"][1] == {
        "inlineData": {"mimeType": "image/png", "data": B64},
        "thought": False,
    }


def test_unchanged_request_is_returned_as_sent() -> None:
    request = fixture("vertex_generate_images")
    assert adapter.apply(request, adapter.parse(request)) is request.body


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1beta/models/gemini-2.5-flash:embedContent",
        "/v1beta/models/gemini-2.5-flash:batchGenerateContent",
        "/v1beta/cachedContents",
        "/upload/v1beta/files",
        "/v1beta/models/gemini-2.5-flash:generateContent/x",
        "/v2/models/gemini:generateContent",
    ],
)
def test_other_paths_are_unsupported(path: str) -> None:
    with pytest.raises(UnsupportedEndpoint, match="not a Google endpoint"):
        adapter.parse(post(contents({"text": "a"}), path))


def test_other_method_is_unsupported() -> None:
    with pytest.raises(UnsupportedEndpoint, match="method or path"):
        adapter.parse(WireRequest("GET", "generativelanguage.googleapis.com", 443, GEN))


def test_predict_that_is_not_imagen_is_unsupported() -> None:
    with pytest.raises(UnsupportedEndpoint, match="without prompt or image"):
        adapter.parse(post({"instances": [{"content": "embed me"}]}, VERTEX + ":predict"))


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ({"fileData": {"mimeType": "image/png", "fileUri": "gs://b/a.png"}}, "other than http"),
        ({"fileData": {"mimeType": "video/mp4", "fileUri": "https://y.com/v"}}, "not an image"),
        ({"inlineData": {"mimeType": "application/pdf", "data": B64}}, "not an image"),
        ({"inlineData": {"mimeType": "audio/wav", "data": B64}}, "not an image"),
    ],
)
def test_media_that_cannot_be_inspected_is_unsupported(part: object, message: str) -> None:
    with pytest.raises(UnsupportedEndpoint, match=message):
        adapter.parse(post(contents({"text": "a"}, part)))  # type: ignore[arg-type]


def test_images_by_cloud_storage_uri_are_unsupported() -> None:
    doc = {"instances": [{"prompt": "p", "image": {"gcsUri": "gs://b/a.png"}}]}
    with pytest.raises(UnsupportedEndpoint, match="gcsUri"):
        adapter.parse(post(doc, VERTEX + ":predict"))


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({}, "missing contents"),
        ({"contents": []}, "missing contents"),
        ({"contents": [{"role": "user"}]}, "parts array"),
        ({"contents": [{"parts": [{"text": 5}]}]}, "text must be a string"),
        ({"contents": [{"parts": ["a"]}]}, "part must be an object"),
        ({"contents": [{"role": 1, "parts": []}]}, "role must be a string"),
        (contents({"text": "a"}, generationConfig=[]), "generationConfig must be"),
        (contents({"text": "a"}, generationConfig={"candidateCount": True}), "candidateCount"),
        (contents({"text": "a"}, generationConfig={"candidateCount": "2"}), "candidateCount"),
        (
            contents({"text": "a"}, generationConfig={"imageConfig": {"aspectRatio": "wide"}}),
            "aspectRatio",
        ),
        (
            contents({"text": "a"}, generationConfig={"imageConfig": {"aspectRatio": "100:1"}}),
            "aspectRatio",
        ),
        (  # once a division by zero
            contents({"text": "a"}, generationConfig={"imageConfig": {"aspectRatio": "5:0"}}),
            "aspectRatio",
        ),
        (
            contents({"text": "a"}, generationConfig={"responseModalities": "IMAGE"}),
            "responseModalities",
        ),
        (contents({"text": "a"}, {"inlineData": {"data": B64}}), "mimeType"),
        (contents({"text": "a"}, {"inlineData": {"mimeType": "image/png"}}), "no data"),
        (
            contents({"text": "a"}, {"inlineData": {"mimeType": "image/png", "data": "%%"}}),
            "base64",
        ),
        (contents({"text": "a"}, {"inlineData": "abc"}), "inlineData must be an object"),
        (contents({"text": "a"}, {"fileData": {"mimeType": "image/png"}}), "fileUri"),
        (contents({"inlineData": _inline(), "fileData": {"fileUri": "https://a"}}), "both"),
        (contents({"inline_data": _inline(), "inlineData": _inline()}), "two spellings"),
        (contents({"text": "a"}, generation_config={}, generationConfig={}), "two spellings"),
        ({"instances": []}, "instances"),
        ({"instances": [{"prompt": ["a"]}]}, "prompt must be a string"),
        ({"instances": [{"prompt": "a"}], "parameters": {"sampleCount": 0}}, "sampleCount"),
        ({"instances": [{"prompt": "a"}], "parameters": 3}, "parameters must be"),
    ],
)
def test_malformed_bodies_are_rejected(doc: dict[str, object], message: str) -> None:
    path = VERTEX + ":predict" if "instances" in doc else GEN
    with pytest.raises(MalformedRequest, match=message):
        adapter.parse(post(doc, path))


@pytest.mark.parametrize(
    "body", [b'{"contents": [], "contents": []}', b"[1]", b"not json", b'{"a": NaN}']
)
def test_unreadable_json_is_rejected(body: bytes) -> None:
    with pytest.raises(MalformedRequest):
        adapter.parse(post(body))


def test_deeply_nested_body_is_rejected() -> None:
    body = b'{"contents": [{"parts": [{"text": "a"}]}], "x": ' + b"[" * 60 + b"]" * 60 + b"}"
    with pytest.raises(MalformedRequest, match="nested too deeply"):
        adapter.parse(post(body))


PLANTED = [
    post(contents({"text": PLANT}), f"/v1beta/models/{PLANT}%20x:generateContent"),
    post(contents({"text": PLANT}), f"/v1beta/models/x:{PLANT}"),
    post(contents({"text": PLANT}), f"/v1beta/{PLANT}/x:generateContent?q={PLANT}"),
    post({"contents": [{"parts": [{"text": PLANT, "inlineData": {"mimeType": PLANT}}]}]}),
    post(contents({"inlineData": {"mimeType": f"image/{PLANT}", "data": B64}})),
    post(contents({"inlineData": {"mimeType": "image/png", "data": PLANT}})),
    post(contents({"fileData": {"fileUri": f"gs://{PLANT}"}})),
    post(contents({"text": "a"}, generationConfig={"imageConfig": {"aspectRatio": PLANT}})),
    post(contents({"text": "a"}, generationConfig={"candidateCount": PLANT})),
    post(f'{{"contents": [], "{PLANT}": 1, "{PLANT}": 2}}'.encode()),
    post({"instances": [{"prompt": "a", "image": {"gcsUri": PLANT}}]}, VERTEX + ":predict"),
    post({"instances": [{PLANT: PLANT}]}, VERTEX + ":predict"),
    post(PLANT.encode("utf-16")),
]


@pytest.mark.parametrize("request_", PLANTED)
def test_no_error_message_contains_a_planted_value(request_: WireRequest) -> None:
    with pytest.raises(RequestRejected) as caught:
        adapter.parse(request_)
    assert PLANT not in str(caught.value)
    assert PLANT.split("@")[0] not in str(caught.value)


# --- answers, parsed by the official SDK -----------------------------------------------------


def _options(handler: Callable[[httpx.Request], httpx.Response]) -> types.HttpOptions:
    return types.HttpOptions(httpx_client=httpx.Client(transport=httpx.MockTransport(handler)))


def _answering(response: WireResponse) -> types.HttpOptions:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            response.status, headers=list(response.headers), content=response.body
        )

    return _options(handler)


def _vertex(response: WireResponse) -> genai.Client:
    return genai.Client(
        vertexai=True,
        project="p",
        location="us-central1",
        credentials=Credentials(token="t"),  # type: ignore[no-untyped-call]
        http_options=_answering(response),
    )


def test_render_error_is_raised_by_the_sdk_as_a_client_error() -> None:
    response = adapter.render_error(403, "blocked by rule no-email", "pii_blocked", "policy")
    client = genai.Client(api_key="k", http_options=_answering(response))
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model="gemini-2.5-flash-image", contents="a")
    assert (caught.value.code, caught.value.status) == (403, "PERMISSION_DENIED")
    assert caught.value.message == "blocked by rule no-email"
    assert caught.value.details["error"]["details"][0]["reason"] == "pii_blocked"


@pytest.mark.parametrize(
    ("status", "name", "kind"),
    [
        (400, "INVALID_ARGUMENT", errors.ClientError),
        (413, "INVALID_ARGUMENT", errors.ClientError),
        (429, "RESOURCE_EXHAUSTED", errors.ClientError),
        (502, "UNAVAILABLE", errors.ServerError),
        (503, "UNAVAILABLE", errors.ServerError),
    ],
)
def test_render_error_maps_statuses_to_google_codes(
    status: int, name: str, kind: type[errors.APIError]
) -> None:
    client = _vertex(adapter.render_error(status, "m", "c", "k"))
    with pytest.raises(kind) as caught:
        for _ in client.models.generate_content_stream(model="gemini-2.5-flash", contents="a"):
            pass
    assert (caught.value.code, caught.value.status) == (status, name)


def test_generate_content_answer_parses_with_the_sdk() -> None:
    parsed = adapter.parse(fixture("generate_content"))
    response = adapter.render_images(parsed, [PNG, PNG], _no_publish)
    client = genai.Client(api_key="k", http_options=_answering(response))
    result = client.models.generate_content(model="gemini-2.5-flash-image", contents="a")
    assert result.candidates and len(result.candidates) == 2
    assert result.parts and result.parts[0].inline_data
    assert result.parts[0].inline_data.data == PNG
    assert result.parts[0].inline_data.mime_type == "image/png"


def test_sse_stream_answer_parses_with_the_sdk() -> None:
    parsed = adapter.parse(fixture("stream_generate_content"))
    response = adapter.render_images(parsed, [PNG], _no_publish)
    assert dict(response.headers)["content-type"] == "text/event-stream"
    client = genai.Client(api_key="k", http_options=_answering(response))
    (chunk,) = client.models.generate_content_stream(model="m", contents="a")
    assert chunk.parts and chunk.parts[0].inline_data
    assert chunk.parts[0].inline_data.data == PNG


def test_stream_without_sse_is_a_json_array_of_responses() -> None:
    # The SDK always asks for alt=sse; without it the API answers one JSON array.
    path = GEN.replace(":generateContent", ":streamGenerateContent")
    parsed = adapter.parse(post(contents({"text": "a"}), path))
    response = adapter.render_images(parsed, [PNG], _no_publish)
    (item,) = json.loads(response.body)
    chunk = types.GenerateContentResponse.model_validate(item)
    assert chunk.parts and chunk.parts[0].inline_data
    assert chunk.parts[0].inline_data.data == PNG


def test_imagen_answer_parses_with_the_sdk() -> None:
    parsed = adapter.parse(fixture("vertex_generate_images"))
    client = _vertex(adapter.render_images(parsed, [PNG, PNG], _no_publish))
    with warnings.catch_warnings(action="ignore"):  # Imagen methods are deprecated
        result = client.models.generate_images(model="imagen-4.0-generate-001", prompt="a")
    images = [g.image.image_bytes for g in result.generated_images or [] if g.image]
    assert images == [PNG, PNG]


@pytest.mark.parametrize(
    ("doc", "path", "renderable"),
    [
        (contents({"text": "a"}), "/v1/models/gemini-2.5-flash:generateContent", False),
        (
            contents({"text": "a"}, generationConfig={"responseModalities": ["TEXT", "IMAGE"]}),
            "/v1/models/gemini-2.5-flash:generateContent",
            True,
        ),
        (contents({"text": "a"}), GEN + "?alt=proto", False),
        (
            {"instances": [{"prompt": "a"}], "parameters": {"storageUri": "gs://b/"}},
            VERTEX + ":predict",
            False,
        ),
    ],
)
def test_only_image_answers_in_json_or_events_can_be_forged(
    doc: dict[str, object], path: str, renderable: bool
) -> None:
    assert adapter.can_render(adapter.parse(post(doc, path))) is renderable


def _no_publish(body: bytes, content_type: str = "image/png", path: str | None = None) -> str:
    raise AssertionError("Google answers carry their images inline")


# --- base64 as the SDK writes it ---------------------------------------------------------------


def _photo_base64(doc: dict[str, object]) -> str:
    part = doc["contents"][0]["parts"][1]  # type: ignore[index]
    return str(part["inlineData"]["data"])


def test_sdk_photo_in_url_safe_base64_is_read() -> None:
    request = fixture("sdk_photo_urlsafe")
    sent = _photo_base64(json.loads(request.body))
    assert {"-", "_"} & set(sent)  # what the strict reader refused
    (image,) = adapter.parse(request).images
    assert image.data[:3] == b"\xff\xd8\xff" and image.data == base64.urlsafe_b64decode(sent)


def test_redacted_sdk_photo_goes_back_in_url_safe_base64() -> None:
    request = fixture("sdk_photo_urlsafe")
    parsed = adapter.parse(request)
    redacted = parsed.images[0].data[::-1]
    body = adapter.apply(
        request, replace(parsed, images=(replace(parsed.images[0], data=redacted),))
    )
    written = _photo_base64(json.loads(body))
    assert written == base64.urlsafe_b64encode(redacted).decode()


def test_a_prompt_redaction_leaves_the_url_safe_image_as_sent() -> None:
    request = fixture("sdk_photo_urlsafe")
    parsed = adapter.parse(request)
    body = adapter.apply(request, with_text(parsed, parsed.prompts[0].ref, "a painting"))
    assert _photo_base64(json.loads(body)) == _photo_base64(json.loads(request.body))


def test_vertex_sdk_edit_of_a_photo_is_read() -> None:
    parsed = adapter.parse(fixture("vertex_edit_photo"))
    assert parsed.operation == "imagen.edit"
    assert parsed.images[0].data[:3] == b"\xff\xd8\xff"


def test_unpadded_base64_is_read_and_mixed_alphabets_are_refused() -> None:
    data = base64.b64encode(PNG + b"\xfb\xff\xbf\xf8\xfa\xf8\xfb\xef\x01").decode()
    assert "+" in data and "/" in data and data.endswith("=")
    unpadded = {"mimeType": "image/png", "data": data.rstrip("=")}
    (image,) = adapter.parse(post(contents({"text": "a"}, {"inlineData": unpadded}))).images
    assert image.data == PNG + b"\xfb\xff\xbf\xf8\xfa\xf8\xfb\xef\x01"
    mixed = {"mimeType": "image/png", "data": data.replace("/", "_", 1)}
    with pytest.raises(MalformedRequest, match="not valid base64"):
        adapter.parse(post(contents({"text": "a"}, {"inlineData": mixed})))
