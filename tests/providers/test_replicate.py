import base64
import io
import json
import secrets
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from replicate.client import Client
from replicate.exceptions import ReplicateError
from replicate.helpers import FileOutput

from proxy.errors import MalformedRequest, RequestRejected, UnsupportedEndpoint
from proxy.model import ImageRequest, TextPart
from proxy.providers.base import WireRequest
from proxy.providers.replicate import ReplicateAdapter

DATA = Path(__file__).parent.parent / "data" / "replicate"
PLANT = "jane.doe@example.com"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
adapter = ReplicateAdapter()


def fixture(name: str) -> WireRequest:
    meta = json.loads((DATA / f"{name}.json").read_text())
    body = (DATA / f"{name}.http").read_bytes()
    return WireRequest(
        meta["method"], "api.replicate.com", 443, meta["path"], meta["headers"], body
    )


def post(path: str, doc: object, content_type: str = "application/json") -> WireRequest:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return WireRequest("POST", "api.replicate.com", 443, path, {"content-type": content_type}, body)


def model(inputs: object, **top: object) -> WireRequest:
    return post("/v1/models/acme/painter/predictions", {"input": inputs, **top})


def with_text(parsed: ImageRequest, ref: str, text: str) -> ImageRequest:
    prompts = tuple(replace(p, text=text) if p.ref == ref else p for p in parsed.prompts)
    return parsed.with_prompts(prompts)


def test_sdk_run_by_model_reads_prompt_count_and_aspect_ratio() -> None:
    parsed = adapter.parse(fixture("run_model"))
    assert parsed.operation == "models.predictions.create"
    assert parsed.prompts[0] == TextPart("json:/input/prompt", "A lighthouse at dawn", "prompt")
    assert parsed.params["n"] == 2 and parsed.params["size"] == "1344x768"
    assert parsed.params["model"] == "black-forest-labs/flux-schnell"


def test_sdk_create_by_version_reads_every_string() -> None:
    parsed = adapter.parse(fixture("create_version"))
    assert parsed.operation == "predictions.create"
    assert [(p.ref, p.text, p.role) for p in parsed.prompts] == [
        ("json:/input/prompt", "An astronaut riding a horse", "prompt"),
        ("json:/input/negative_prompt", "blurry", "other"),
        ("json:/webhook", "https://example.com/replicate-webhook", "other"),
        ("json:/webhook_events_filter/0", "completed", "other"),
    ]
    assert parsed.params["size"] == "768x512" and parsed.params["n"] == 1
    assert str(parsed.params["version"]).startswith("7762fd07")


def test_sdk_base64_file_input_is_an_image() -> None:
    parsed = adapter.parse(fixture("run_data_uri"))
    (image,) = parsed.images
    assert (image.ref, image.content_type, image.role) == (
        "json:/input/input_image",
        "image/png",
        "image",
    )
    assert image.data.startswith(b"\x89PNG\r\n\x1a\n") and image.url is None


def test_deployment_links_are_image_and_mask_to_fetch() -> None:
    parsed = adapter.parse(fixture("deployment_links"))
    assert parsed.operation == "deployments.predictions.create"
    assert [(i.role, i.url, i.data) for i in parsed.images] == [
        ("image", "https://example.com/sofa.png", b""),
        ("mask", "https://example.com/sofa-mask.png", b""),
    ]


def test_api_reference_example_parses_with_owner_name_version() -> None:
    parsed = adapter.parse(fixture("reference"))
    assert [(p.text, p.role) for p in parsed.prompts] == [("Alice", "other")]
    assert parsed.params["version"] == (
        "replicate/hello-world:5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
    )


def test_official_sdk_requests_parse_through_the_adapter() -> None:
    seen: list[ImageRequest] = []

    def handler(request: httpx.Request) -> httpx.Response:
        wire = WireRequest(
            request.method, "api.replicate.com", 443, request.url.raw_path.decode(),
            dict(request.headers), request.read(),
        )  # fmt: skip
        seen.append(adapter.parse(wire))
        return httpx.Response(
            201, json={"id": "p", "model": "m", "version": "v", "status": "succeeded"}
        )

    client = Client(api_token="r8_test", transport=httpx.MockTransport(handler))
    client.run("acme/painter", input={"negative_prompt": PLANT, "prompt": "a fox", "seed": 3})
    assert [(p.text, p.role) for p in seen[0].prompts] == [("a fox", "prompt"), (PLANT, "other")]


def test_main_prompt_comes_first_wherever_it_sits() -> None:
    parsed = adapter.parse(model({"negative_prompt": "n", "style": "s", "prompt": "p"}))
    assert [p.text for p in parsed.prompts] == ["p", "n", "s"]


def test_data_uris_anywhere_and_links_under_image_names_are_images() -> None:
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    inputs = {
        "prompt": "p",
        "input_images": ["https://example.com/a.png", uri],
        "refs": {"style_image": "https://example.com/b.png", "note": "https://example.com/c"},
        "anything": uri,
        "mask_image": "https://example.com/m.png",
    }
    parsed = adapter.parse(model(inputs))
    assert [(i.ref, i.role) for i in parsed.images] == [
        ("json:/input/input_images/0", "image"),
        ("json:/input/input_images/1", "image"),
        ("json:/input/refs/style_image", "image"),
        ("json:/input/anything", "image"),
        ("json:/input/mask_image", "mask"),
    ]
    assert [p.ref for p in parsed.prompts] == ["json:/input/prompt", "json:/input/refs/note"]


def test_prompt_redaction_rewrites_only_the_prompt() -> None:
    request = fixture("create_version")
    parsed = adapter.parse(request)
    body = adapter.apply(request, with_text(parsed, "json:/input/prompt", "An <PERSON>"))
    assert body == request.body.replace(b"An astronaut riding a horse", b"An <PERSON>")


def test_image_redaction_writes_a_new_data_uri() -> None:
    request = fixture("run_data_uri")
    parsed = adapter.parse(request)
    edited = replace(parsed, images=(replace(parsed.images[0], data=b"new"),))
    doc = json.loads(adapter.apply(request, edited))
    assert doc["input"]["input_image"] == "data:image/png;base64,bmV3"
    assert doc["input"]["prompt"] == "Make it blue"


def test_unchanged_request_is_returned_as_sent() -> None:
    request = fixture("run_model")
    assert adapter.apply(request, adapter.parse(request)) is request.body


def test_cancel_is_a_request_without_content_that_cannot_be_forged() -> None:
    request = WireRequest("POST", "api.replicate.com", 443, "/v1/predictions/abc123/cancel")
    parsed = adapter.parse(request)
    assert (parsed.operation, parsed.prompts, parsed.images) == ("predictions.cancel", (), ())
    assert not adapter.can_render(parsed)
    assert adapter.apply(request, parsed) == b""


def upload(body: bytes, content_type: str = "multipart/form-data; boundary=b") -> WireRequest:
    headers = {"content-type": content_type}
    return WireRequest("POST", "api.replicate.com", 443, "/v1/files", headers, body)


def test_sdk_file_upload_is_one_image_and_metadata_text() -> None:
    seen: list[WireRequest] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        seen.append(WireRequest("POST", "h", 443, path, dict(request.headers), request.read()))
        file = {"id": "f", "name": "me.png", "content_type": "image/png", "size": 1, "etag": "e"}
        extra: dict[str, object] = {
            "checksums": {},
            "metadata": {},
            "created_at": "",
            "expires_at": None,
        }
        return httpx.Response(201, json={**file, **extra, "urls": {"get": "https://h/f"}})

    client = Client(api_token="r8_test", transport=httpx.MockTransport(handler))
    photo = io.BytesIO(PNG)
    photo.name = "me.png"
    assert client.files.create(photo, metadata={"owner": PLANT}).urls["get"] == "https://h/f"
    parsed = adapter.parse(seen[0])
    assert parsed.operation == "files.create" and not adapter.can_render(parsed)
    (image,) = parsed.images
    assert (image.data, image.filename, image.content_type) == (PNG, "me.png", "image/png")
    assert [p.text for p in parsed.prompts] == [json.dumps({"owner": PLANT})]
    edited = replace(parsed, images=(replace(image, data=b"blurred"),))
    assert adapter.apply(seen[0], edited) == seen[0].body.replace(PNG, b"blurred")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b'--b\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{}\r\n--b--\r\n',
         "missing content"),
        (b'--b\r\nContent-Disposition: form-data; name="content"; filename="a"\r\n\r\nx\r\n'
         b'--b\r\nContent-Disposition: form-data; name="content"; filename="b"\r\n\r\ny\r\n'
         b"--b--\r\n", "duplicate form field"),
        (b'--b\r\nContent-Disposition: form-data; name="other"; filename="a"\r\n\r\nx\r\n'
         b"--b--\r\n", "file part other than content"),
    ],
)  # fmt: skip
def test_malformed_upload_is_rejected(body: bytes, match: str) -> None:
    with pytest.raises(MalformedRequest, match=match):
        adapter.parse(upload(body))


def test_upload_must_be_multipart() -> None:
    with pytest.raises(MalformedRequest, match="multipart"):
        adapter.parse(upload(b"{}", "application/json"))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/trainings"),
        ("POST", "/v1/files/abc"),
        ("POST", "/v1/models"),
        ("POST", "/v1/models/acme/painter/versions/abc/trainings"),
        ("POST", "/v1/models/acme/painter/predictions/extra"),
        ("POST", "/v2/predictions"),
        ("PUT", "/v1/predictions"),
        ("GET", "/v1/predictions"),
    ],
)
def test_unknown_path_or_method_is_unsupported(method: str, path: str) -> None:
    request = WireRequest(method, "api.replicate.com", 443, path, {}, b'{"input": {}}')
    with pytest.raises(UnsupportedEndpoint, match="not a Replicate endpoint"):
        adapter.parse(request)


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"version": "abc"}, "missing input"),
        ({"input": {"prompt": "p"}}, "missing version"),
        ({"version": "abc", "input": ["p"]}, "input must be an object"),
        ({"version": "abc", "input": {"prompt": ["p"]}}, "prompt must be a string"),
        ({"version": "abc", "input": {"prompt": None}}, "prompt must be a string"),
        ({"version": "a b", "input": {}}, "version must be"),
        ({"version": 5, "input": {}}, "version must be"),
        ({"version": "abc", "input": {}, "stream": "yes"}, "stream must be"),
        ({"version": "abc", "input": {"num_outputs": True}}, "num_outputs must be"),
        ({"version": "abc", "input": {"num_outputs": "2"}}, "num_outputs must be"),
    ],
)
def test_malformed_body_is_rejected(doc: object, match: str) -> None:
    with pytest.raises(MalformedRequest, match=match):
        adapter.parse(post("/v1/predictions", doc))


@pytest.mark.parametrize(
    "body",
    [
        b'{"input": {"prompt": "a", "prompt": "b"}}',
        b'{"input": {}, "input": {}}',
        b"not json",
        b"[]",
        b'{"input": {"seed": NaN}}',
    ],
)
def test_repeated_keys_and_invalid_json_are_rejected(body: bytes) -> None:
    with pytest.raises(MalformedRequest):
        adapter.parse(post("/v1/models/a/b/predictions", body))


def test_non_json_content_type_is_rejected() -> None:
    with pytest.raises(MalformedRequest, match="expected a JSON body"):
        adapter.parse(post("/v1/models/a/b/predictions", {"input": {}}, "text/plain"))


def test_render_error_is_raised_by_the_sdk_as_replicate_error() -> None:
    response = adapter.render_error(403, "Blocked by rule no-email", "pii_blocked", "policy")
    assert dict(response.headers)["content-type"] == "application/problem+json"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            response.status, headers=list(response.headers), content=response.body
        )

    client = Client(api_token="r8_test", transport=httpx.MockTransport(handler))
    with pytest.raises(ReplicateError) as caught:
        client.run("acme/painter", input={"prompt": "p"})
    assert caught.value.status == 403 and caught.value.title == "Forbidden"
    assert caught.value.detail == "Blocked by rule no-email"


class Store:
    """The proxy's served store, as `publish` sees it."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[str, bytes]] = {}

    def publish(self, body: bytes, content_type: str = "image/png", path: str | None = None) -> str:
        path = path or f"/pixelgate/fallback/{secrets.token_urlsafe(8)}"
        self.items[path] = (content_type, body)
        return f"https://api.replicate.com{path}"


def forging_client(store: Store, seen: list[str]) -> Client:
    """The SDK against an adapter that reroutes every create and serves what it published."""

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        seen.append(f"{request.method} {path}")
        if request.method == "GET":
            content_type, body = store.items[path]
            return httpx.Response(200, headers={"content-type": content_type}, content=body)
        wire = WireRequest(
            "POST", "api.replicate.com", 443, path, dict(request.headers), request.read()
        )
        answer = adapter.render_images(adapter.parse(wire), [PNG, PNG][: _n(wire)], store.publish)
        return httpx.Response(answer.status, headers=list(answer.headers), content=answer.body)

    return Client(api_token="r8_test", transport=httpx.MockTransport(handler))


def _n(wire: WireRequest) -> int:
    n = adapter.parse(wire).params["n"]
    assert isinstance(n, int)
    return n


def test_forged_prediction_runs_to_file_outputs_read_from_the_store() -> None:
    store, seen = Store(), list[str]()
    client = forging_client(store, seen)
    output = client.run("black-forest-labs/flux-schnell", input={"prompt": "p", "num_outputs": 2})
    assert isinstance(output, list) and len(output) == 2
    assert all(isinstance(o, FileOutput) and o.read() == PNG for o in output)
    assert seen[0] == "POST /v1/models/black-forest-labs/flux-schnell/predictions"


def test_forged_prediction_for_an_official_model_is_a_single_file() -> None:
    client = forging_client(Store(), [])
    output = client.run("black-forest-labs/flux-1.1-pro", input={"prompt": "p"})
    assert isinstance(output, FileOutput) and output.read() == PNG


def test_forged_prediction_is_served_where_the_sdk_polls() -> None:
    store, seen = Store(), list[str]()
    client = forging_client(store, seen)
    prediction = client.predictions.create(version="abc123", input={"prompt": "p"})
    assert prediction.status == "succeeded" and prediction.id.startswith("pg")
    prediction.reload()
    assert seen[-1] == f"GET /v1/predictions/{prediction.id}"
    assert prediction.status == "succeeded" and isinstance(prediction.output, list)
    assert prediction.urls and prediction.urls["get"].endswith(f"/v1/predictions/{prediction.id}")
    assert prediction.input == {}  # no user content is kept in the proxy's memory


def test_forged_streamed_prediction_streams_the_images() -> None:
    client = forging_client(Store(), [])
    events = list(client.stream("acme/painter", input={"prompt": "p"}))
    assert [e.event.value for e in events] == ["output", "done"]
    assert isinstance(events[0].data, FileOutput) and events[0].data.read() == PNG


PLANTED = [
    post(f"/v1/models/{PLANT}/x/predictions", {"input": {}}),
    post(f"/v1/predictions?q={PLANT}", {"input": {PLANT: 1}}),
    post("/v1/predictions", {"version": PLANT, "input": {}}),
    post("/v1/predictions", {"version": "abc", "input": {"prompt": [PLANT]}}),
    post("/v1/predictions", {"version": "abc", "input": {"num_outputs": PLANT}}),
    post("/v1/predictions", {"version": "abc", "input": {"image": f"data:{PLANT};base64,{PLANT}"}}),
    post("/v1/predictions", f'{{"input": {{"prompt": "{PLANT}", "prompt": "x"}}}}'.encode()),
    post("/v1/predictions", f'{{"input": "{PLANT}'.encode()),
    post("/v1/predictions", PLANT.encode("utf-16")),
    post("/v1/predictions", {"input": {}}, f"text/{PLANT}"),
    WireRequest("POST", "api.replicate.com", 443, f"/v1/predictions/{PLANT}/cancel", {}, b"x"),
    WireRequest("POST", "api.replicate.com", 443, "/v1/predictions/p/cancel", {}, PLANT.encode()),
]


@pytest.mark.parametrize("request_", PLANTED)
def test_no_error_message_contains_a_planted_value(request_: WireRequest) -> None:
    with pytest.raises(RequestRejected) as caught:
        adapter.parse(request_)
    assert PLANT not in str(caught.value)
    assert PLANT.split("@")[0] not in str(caught.value)
