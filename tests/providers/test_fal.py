import base64
import json
from dataclasses import replace
from pathlib import Path

import pytest

from proxy.errors import MalformedRequest, RequestRejected, UnsupportedEndpoint
from proxy.model import ImageRequest, TextPart
from proxy.providers.base import WireRequest
from proxy.providers.fal import FalAdapter

DATA = Path(__file__).parent.parent / "data" / "fal"
PLANT = "jane.doe@example.com"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
DATA_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()
adapter = FalAdapter()


def fixture(name: str) -> WireRequest:
    meta = json.loads((DATA / f"{name}.json").read_text())
    body = (DATA / f"{name}.http").read_bytes()
    host = meta["headers"]["host"]
    return WireRequest(meta["method"], host, 443, meta["path"], meta["headers"], body)


def post(doc: object, path: str = "/fal-ai/flux/dev", host: str = "fal.run") -> WireRequest:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return WireRequest("POST", host, 443, path, {"content-type": "application/json"}, body)


def with_text(parsed: ImageRequest, ref: str, text: str) -> ImageRequest:
    prompts = tuple(replace(p, text=text) if p.ref == ref else p for p in parsed.prompts)
    return parsed.with_prompts(prompts)


class Published:
    def __init__(self) -> None:
        self.items: dict[str, tuple[bytes, str]] = {}

    def __call__(
        self, body: bytes, content_type: str = "image/png", path: str | None = None
    ) -> str:
        path = path or f"/pixelgate/fallback/{len(self.items)}.png"
        self.items[path] = (body, content_type)
        return f"https://queue.fal.run{path}"


def test_sync_flux_reads_prompt_preset_size_and_count() -> None:
    parsed = adapter.parse(fixture("flux_dev"))
    assert parsed.operation == "run"
    assert parsed.prompts == (
        TextPart("json:/prompt", "Extreme close-up of a single tiger eye", "prompt"),
        TextPart("json:/image_size", "landscape_4_3", "other"),
    )
    assert parsed.params["size"] == "1024x768" and parsed.params["n"] == 1
    assert parsed.params["app"] == "fal-ai/flux" and parsed.params["model"] == "fal-ai/flux/dev"


def test_queue_host_means_submit() -> None:
    parsed = adapter.parse(fixture("queue_submit"))
    assert (parsed.operation, parsed.prompts[0].text) == ("submit", "a cat")


def test_image_link_is_returned_for_the_gate_with_explicit_size() -> None:
    parsed = adapter.parse(fixture("flux_image_to_image"))
    (image,) = parsed.images
    assert (image.ref, image.data, image.role) == ("json:/image_url", b"", "image")
    assert image.url and image.url.startswith("https://fal.media/")
    assert parsed.params["size"] == "1024x768"


def test_data_uri_image_and_mask_are_decoded() -> None:
    parsed = adapter.parse(fixture("inpainting"))
    assert [(i.ref, i.data, i.role) for i in parsed.images] == [
        ("json:/image_url", PNG, "image"),
        ("json:/mask_url", PNG, "mask"),
    ]
    assert "https://example.com/lora.safetensors" in [p.text for p in parsed.prompts]
    assert parsed.params["n"] == 2 and parsed.params["sync_mode"] is True


def test_nested_url_lists_and_strings_are_read() -> None:
    doc = {"prompt": "p", "refs": {"image_urls": [DATA_URI, "https://x.test/a.png"]}, "x": [PLANT]}
    parsed = adapter.parse(post(doc))
    assert [i.ref for i in parsed.images] == ["json:/refs/image_urls/0", "json:/refs/image_urls/1"]
    assert PLANT in [p.text for p in parsed.prompts]


def test_image_only_request_needs_no_prompt() -> None:
    parsed = adapter.parse(post({"image_url": DATA_URI}, "/fal-ai/esrgan"))
    assert parsed.prompts == () and len(parsed.images) == 1


def test_prompt_redaction_changes_only_the_prompt() -> None:
    request = fixture("flux_dev")
    parsed = adapter.parse(request)
    body = adapter.apply(request, with_text(parsed, "json:/prompt", "<X>"))
    assert json.loads(body) == {**json.loads(request.body), "prompt": "<X>"}


def test_redacted_linked_image_goes_on_inline() -> None:
    request = fixture("flux_image_to_image")
    parsed = adapter.parse(request)
    edited = replace(parsed, images=(replace(parsed.images[0], data=PNG),))
    assert json.loads(adapter.apply(request, edited))["image_url"] == DATA_URI


def test_unchanged_request_is_returned_as_sent() -> None:
    request = fixture("inpainting")
    assert adapter.apply(request, adapter.parse(request)) is request.body


@pytest.mark.parametrize(
    "path", ["/flux", "/fal-ai/flux/requests/abc", "/fal-ai/flux/requests/abc/status", "/"]
)
def test_other_paths_are_unsupported(path: str) -> None:
    with pytest.raises(UnsupportedEndpoint):
        adapter.parse(post({"prompt": "p"}, path, "queue.fal.run"))


def test_get_is_unsupported() -> None:
    with pytest.raises(UnsupportedEndpoint):
        adapter.parse(WireRequest("GET", "fal.run", 443, "/fal-ai/flux/dev"))


def test_queue_cancel_carries_nothing_and_cannot_be_rendered() -> None:
    request = WireRequest("PUT", "queue.fal.run", 443, "/fal-ai/flux/requests/abc-1/cancel")
    parsed = adapter.parse(request)
    assert (parsed.operation, parsed.prompts, parsed.images) == ("queue.cancel", (), ())
    assert not adapter.can_render(parsed)


def test_webhook_submission_cannot_be_rendered() -> None:
    parsed = adapter.parse(
        post({"prompt": "p"}, "/fal-ai/flux?fal_webhook=https://x", "queue.fal.run")
    )
    assert not adapter.can_render(parsed)


@pytest.mark.parametrize(
    "doc",
    [
        {"negative_prompt": "x"},
        {"prompt": 1},
        {"prompt": "p", "num_images": "2"},
        {"prompt": "p", "image_url": ""},
        {"prompt": "p", "image_url": "data:image/png;base64,%%%"},
    ],
)
def test_malformed_bodies_are_rejected(doc: object) -> None:
    with pytest.raises(MalformedRequest):
        adapter.parse(post(doc))


def test_image_in_another_scheme_cannot_be_inspected() -> None:
    with pytest.raises(UnsupportedEndpoint):
        adapter.parse(post({"prompt": "p", "image_url": "ftp://x/a.png"}))


def test_repeated_key_is_rejected() -> None:
    with pytest.raises(MalformedRequest, match="repeats a key"):
        adapter.parse(post(b'{"prompt": "a", "prompt": "b"}'))


PLANTED = [
    post({"prompt": PLANT, "num_images": PLANT}),
    post({"prompt": [PLANT]}),
    post({"prompt": "p", "image_url": PLANT}),
    post({"prompt": "p", "image_url": f"data:{PLANT};base64,{PLANT}"}),
    post(f'{{"prompt": "{PLANT}", "prompt": 1}}'.encode()),
    post({"prompt": "p"}, f"/{PLANT}"),
    post({"negative_prompt": PLANT}),
]


@pytest.mark.parametrize("request_", PLANTED)
def test_no_error_message_contains_a_planted_value(request_: WireRequest) -> None:
    with pytest.raises(RequestRejected) as caught:
        adapter.parse(request_)
    assert PLANT not in str(caught.value) and "jane.doe" not in str(caught.value)


def test_render_error_has_detail() -> None:
    response = adapter.render_error(403, "blocked by rule r", "pii_blocked", "policy")
    assert response.status == 403 and json.loads(response.body)["detail"] == "blocked by rule r"


def test_sync_answer_links_published_images() -> None:
    published = Published()
    parsed = adapter.parse(fixture("flux_dev"))
    payload = json.loads(adapter.render_images(parsed, [PNG], published).body)
    (item,) = payload["images"]
    assert (item["width"], item["height"], item["content_type"]) == (1, 1, "image/png")
    path = item["url"].removeprefix("https://queue.fal.run")
    assert published.items[path] == (PNG, "image/png")
    assert payload["has_nsfw_concepts"] == [False] and payload["prompt"].startswith("Extreme")


def test_sync_mode_answer_is_inline() -> None:
    parsed = adapter.parse(replace(fixture("inpainting"), host="fal.run", headers={}))
    payload = json.loads(adapter.render_images(parsed, [PNG, PNG], Published()).body)
    assert [i["url"] for i in payload["images"]] == [DATA_URI, DATA_URI]


def test_queue_answer_publishes_status_and_result_at_the_polled_paths() -> None:
    published = Published()
    parsed = adapter.parse(fixture("queue_submit"))
    submitted = json.loads(adapter.render_images(parsed, [PNG], published).body)
    job = submitted["request_id"]
    base = f"https://queue.fal.run/fal-ai/fast-sdxl/requests/{job}"
    assert submitted["response_url"] == base and submitted["status_url"] == base + "/status"
    assert submitted["cancel_url"] == base + "/cancel"
    status, kind = published.items[f"/fal-ai/fast-sdxl/requests/{job}/status"]
    assert kind == "application/json"
    assert json.loads(status)["status"] == "COMPLETED" and "logs" in json.loads(status)
    result, _ = published.items[f"/fal-ai/fast-sdxl/requests/{job}"]
    assert json.loads(result)["images"][0]["content_type"] == "image/png"


# --- storage: what fal_client uploads before it calls a model ----------------------------------


@pytest.mark.parametrize(
    "host",
    ["v3.fal.media", "v3b.fal.media", "fal.media", "rest.fal.ai", "rest.alpha.fal.ai",
     "falrun.com", "queue.falrun.com"],
)  # fmt: skip
def test_fal_storage_and_backup_hosts_belong_to_this_adapter(host: str) -> None:
    from proxy.providers import ADAPTERS
    from proxy.providers.routing import Router

    matched = Router(ADAPTERS, {}).match(host, 443)
    assert matched is not None and matched.name == "fal"


def test_an_uploaded_image_is_read_as_an_image() -> None:
    parsed = adapter.parse(fixture("storage_upload"))
    assert parsed.operation == "storage.upload" and parsed.prompts == ()
    (image,) = parsed.images
    assert image.data == fixture("storage_upload").body and image.content_type == "image/png"
    assert not adapter.can_render(parsed)  # no local model can answer an upload


def test_a_redacted_upload_is_the_new_body() -> None:
    request = fixture("storage_upload")
    parsed = adapter.parse(request)
    redacted = replace(parsed, images=(replace(parsed.images[0], data=PNG),))
    assert adapter.apply(request, redacted) == PNG
    assert adapter.apply(request, parsed) == request.body


def test_an_upload_token_request_carries_nothing_to_inspect() -> None:
    # fal-client 1.0.3, CDNTokenManager._refresh_token: POST {REST_URL}/storage/auth/token
    # ?storage_type=fal-cdn-v3 with json={}. Not a fixture file: the fuzzers' repeated-key
    # mutation has no key to repeat in it.
    path = "/storage/auth/token?storage_type=fal-cdn-v3"
    headers = {"content-type": "application/json", "accept": "application/json"}
    parsed = adapter.parse(WireRequest("POST", "rest.fal.ai", 443, path, headers, b"{}"))
    assert (parsed.operation, parsed.prompts, parsed.images) == ("storage.token", (), ())


def test_a_queued_request_on_the_backup_domain_is_a_submit() -> None:
    request = replace(fixture("queue_submit"), host="queue.falrun.com", headers={
        **fixture("queue_submit").headers, "host": "queue.falrun.com"})  # fmt: skip
    assert adapter.parse(request).operation == "submit"


@pytest.mark.parametrize(
    ("method", "path", "content_type", "body"),
    [
        ("POST", "/files/upload", "application/pdf", b"%PDF-1.7"),  # not an image
        ("POST", "/files/upload", "application/json", b'{"url": "x"}'),
        ("POST", "/files/upload/multipart", "image/png", PNG),
        ("PUT", "/files/a/b/multipart/u1/1", "image/png", PNG),  # one piece of a large file
        ("POST", "/files/a/b/multipart/u1/complete", "application/json", b'{"parts": []}'),
        # A Cloud Storage upload goes to a signed URL on a host that is not fal's.
        ("POST", "/storage/upload/initiate?storage_type=gcs", "application/json",
         b'{"file_name": "me.png", "content_type": "image/png"}'),
    ],
)  # fmt: skip
def test_other_storage_endpoints_are_unsupported(
    method: str, path: str, content_type: str, body: bytes
) -> None:
    request = WireRequest(method, "v3.fal.media", 443, path, {"content-type": content_type}, body)
    with pytest.raises(UnsupportedEndpoint):
        adapter.parse(request)


def test_an_empty_upload_is_malformed() -> None:
    request = WireRequest(
        "POST", "v3.fal.media", 443, "/files/upload", {"content-type": "image/png"}
    )
    with pytest.raises(MalformedRequest):
        adapter.parse(request)


def test_strings_in_an_upload_token_request_are_read() -> None:
    path = "/storage/auth/token"
    body = json.dumps({"note": PLANT}).encode()
    request = WireRequest(
        "POST", "rest.fal.ai", 443, path, {"content-type": "application/json"}, body
    )
    assert [p.text for p in adapter.parse(request).prompts] == [PLANT]
