import base64
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from proxy.errors import MalformedRequest, RequestRejected, UnsupportedEndpoint
from proxy.model import ImageRequest
from proxy.providers import ADAPTERS
from proxy.providers.base import Publish, WireRequest
from proxy.providers.stability import StabilityAdapter

DATA = Path(__file__).parent.parent / "data" / "stability"
PLANT = "jane.doe@example.com"
B = "xYz-123"
FORM_CT = f"multipart/form-data; boundary={B}"
CORE = "/v2beta/stable-image/generate/core"
PNG = (DATA / "inpaint.http").read_bytes().split(b"\r\n\r\n", 6)[-1].split(b"\r\n--")[0]
adapter = StabilityAdapter()


def fixture(name: str) -> WireRequest:
    meta = json.loads((DATA / f"{name}.json").read_text())
    body = (DATA / f"{name}.http").read_bytes()
    return WireRequest(meta["method"], "api.stability.ai", 443, meta["path"], meta["headers"], body)


def form(*fields: tuple[str, bytes | str]) -> bytes:
    out = b""
    for name, value in fields:
        head = f'Content-Disposition: form-data; name="{name}"'
        if isinstance(value, bytes):
            head += '; filename="a.png"\r\nContent-Type: image/png'
        data = value if isinstance(value, bytes) else value.encode()
        out += f"--{B}\r\n{head}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{B}--\r\n".encode()


def post(
    path: str, *fields: tuple[str, bytes | str], accept: str = "image/*", method: str = "POST"
) -> WireRequest:
    headers = {"content-type": FORM_CT, "accept": accept}
    return WireRequest(method, "api.stability.ai", 443, path, headers, form(*fields))


def v1_json(doc: object, accept: str = "application/json") -> WireRequest:
    headers = {"content-type": "application/json", "accept": accept}
    path = "/v1/generation/stable-diffusion-v1-6/text-to-image"
    return WireRequest("POST", "api.stability.ai", 443, path, headers, json.dumps(doc).encode())


def with_text(parsed: ImageRequest, ref: str, text: str) -> ImageRequest:
    prompts = tuple(replace(p, text=text) if p.ref == ref else p for p in parsed.prompts)
    return parsed.with_prompts(prompts)


def test_adapter_is_registered_for_the_api_host() -> None:
    (found,) = [a for a in ADAPTERS if a.name == "stability"]
    assert found.default_hosts == ("api.stability.ai",)


def test_reference_sample_with_empty_none_file_reads_prompt_and_format() -> None:
    parsed = adapter.parse(fixture("core_sample"))
    assert parsed.operation == "generate.core"
    assert [(p.text, p.role) for p in parsed.prompts] == [
        ("Lighthouse on a cliff overlooking the ocean", "prompt")
    ]
    assert dict(parsed.params) == {
        "api": "v2beta",
        "n": 1,
        "accept": "image",
        "output_format": "webp",
        "async": False,
        "size": "1024x1024",
    }


def test_ultra_reads_negative_prompt_and_style_as_other_text_and_ratio_as_size() -> None:
    parsed = adapter.parse(fixture("ultra_json"))
    assert [(p.text, p.role) for p in parsed.prompts] == [
        ("A watercolour fox in the snow", "prompt"),
        ("blurry, text", "other"),
        ("photographic", "other"),
    ]
    assert parsed.params["size"] == "1344x768" and parsed.params["accept"] == "json"
    assert parsed.params["seed"] == 42


def test_sd3_image_to_image_reads_image_model_and_format() -> None:
    parsed = adapter.parse(fixture("sd3_image"))
    (image,) = parsed.images
    assert (image.filename, image.role, image.data[:4]) == ("red.png", "image", b"\x89PNG")
    assert parsed.params["model"] == "sd3.5-large" and parsed.params["output_format"] == "jpeg"
    assert "size" not in parsed.params
    assert [p.text for p in parsed.prompts] == [
        "The same square, in autumn colours",
        "image-to-image",
    ]


def test_inpaint_mask_has_role_mask() -> None:
    parsed = adapter.parse(fixture("inpaint"))
    assert [(i.filename, i.role) for i in parsed.images] == [
        ("red.png", "image"),
        ("mask.png", "mask"),
    ]


def test_select_prompt_is_inspected_text() -> None:
    parsed = adapter.parse(fixture("search_and_recolor"))
    assert [(p.text, p.role) for p in parsed.prompts] == [
        ("a bright blue square", "prompt"),
        ("the red square", "other"),
    ]


def test_remove_background_needs_no_prompt() -> None:
    parsed = adapter.parse(fixture("remove_background"))
    assert (parsed.operation, parsed.prompts, len(parsed.images)) == (
        "edit.remove-background",
        (),
        1,
    )


def test_relight_is_async_and_its_subject_comes_first() -> None:
    parsed = adapter.parse(fixture("relight"))
    assert parsed.params["async"] is True
    assert [i.filename for i in parsed.images] == ["red.png", "blue.png"]
    assert [(p.text, p.role) for p in parsed.prompts][:2] == [
        ("cinematic lighting", "prompt"),
        ("a red square", "other"),
    ]


def test_style_transfer_starts_from_init_image_whatever_the_order() -> None:
    parsed = adapter.parse(fixture("style_transfer"))
    assert [i.filename for i in parsed.images] == ["red.png", "blue.png"]


def test_v1_text_prompts_by_weight_size_and_samples() -> None:
    parsed = adapter.parse(fixture("v1_text_to_image"))
    assert [(p.ref, p.text, p.role) for p in parsed.prompts] == [
        ("json:/clip_guidance_preset", "FAST_BLUE", "other"),
        ("json:/sampler", "K_DPM_2_ANCESTRAL", "other"),
        ("json:/text_prompts/0/text", "A lighthouse on a cliff", "prompt"),
        ("json:/text_prompts/1/text", "fog, people", "other"),
    ]
    assert dict(parsed.params) == {
        "api": "v1",
        "n": 2,
        "accept": "json",
        "model": "stable-diffusion-xl-1024-v1-0",
        "size": "768x512",
    }


def test_v1_multipart_prompts_and_init_image() -> None:
    parsed = adapter.parse(fixture("v1_image_to_image"))
    assert parsed.operation == "v1.image-to-image" and parsed.params["accept"] == "image"
    prompts = [(p.text, p.role) for p in parsed.prompts]
    assert ("Galactic dog wearing a cape", "prompt") in prompts and ("stars", "other") in prompts
    assert [i.role for i in parsed.images] == ["image"]


def test_v1_masking_reads_mask_image_as_mask() -> None:
    parsed = adapter.parse(fixture("v1_masking"))
    assert parsed.operation == "v1.masking"
    assert [i.role for i in parsed.images] == ["image", "mask"]


def test_select_prompt_redaction_changes_only_that_part() -> None:
    request = fixture("search_and_recolor")
    parsed = adapter.parse(request)
    body = adapter.apply(request, with_text(parsed, parsed.prompts[1].ref, "<PERSON>"))
    assert body == request.body.replace(b"the red square", b"<PERSON>")


def test_mask_replacement_keeps_other_bytes_identical() -> None:
    request = fixture("inpaint")
    parsed = adapter.parse(request)
    images = (parsed.images[0], replace(parsed.images[1], data=b"blurred"))
    body = adapter.apply(request, replace(parsed, images=images))
    assert body == request.body.replace(parsed.images[1].data, b"blurred", 1)


def test_v1_json_prompt_redaction_rewrites_only_that_string() -> None:
    request = fixture("v1_text_to_image")
    parsed = adapter.parse(request)
    body = adapter.apply(request, with_text(parsed, "json:/text_prompts/0/text", "<EMAIL>"))
    assert body == request.body.replace(b"A lighthouse on a cliff", b"<EMAIL>")


def test_v1_multipart_prompt_redaction() -> None:
    request = fixture("v1_image_to_image")
    parsed = adapter.parse(request)
    (ref,) = [p.ref for p in parsed.prompts if p.text == "stars"]
    body = adapter.apply(request, with_text(parsed, ref, "[gone]"))
    assert body == request.body.replace(b"\r\n\r\nstars\r\n", b"\r\n\r\n[gone]\r\n")


def test_unchanged_request_is_returned_as_sent() -> None:
    request = fixture("relight")
    assert adapter.apply(request, adapter.parse(request)) is request.body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v2beta/stable-image/generate/sd4"),
        ("POST", "/v2beta/audio/stable-audio-2/text-to-audio"),
        ("GET", "/v2beta/stable-image/generate/core"),
        ("POST", "/v1/generation/eng/image-to-image/upscale"),
        ("POST", f"/v1/generation/{PLANT}/text-to-image"),
        ("POST", "/v2beta/stable-image/generate/core?note=" + PLANT),
        ("POST", "/v2beta/stable-image/generate/core/"),
    ],
)
def test_other_endpoints_are_refused_without_quoting_the_path(method: str, path: str) -> None:
    with pytest.raises(UnsupportedEndpoint) as caught:
        adapter.parse(post(path, ("prompt", "a"), method=method))
    assert PLANT not in str(caught.value) and "/eng/" not in str(caught.value)


def test_repeated_prompt_is_refused() -> None:
    with pytest.raises(MalformedRequest, match="duplicate prompt"):
        adapter.parse(post(CORE, ("prompt", "a"), ("prompt", PLANT)))


def test_repeated_v1_prompt_index_is_refused() -> None:
    path = "/v1/generation/e/image-to-image"
    with pytest.raises(MalformedRequest, match="duplicate form field"):
        adapter.parse(
            post(
                path,
                ("init_image", PNG),
                ("text_prompts[0][text]", "a"),
                ("text_prompts[0][text]", PLANT),
            )
        )


@pytest.mark.parametrize(
    ("path", "fields", "match"),
    [
        (CORE, [("negative_prompt", "x")], "missing prompt"),
        (CORE, [("prompt", "")], "missing prompt"),
        ("/v2beta/stable-image/edit/inpaint", [("prompt", "a")], "missing image"),
        ("/v2beta/stable-image/control/style-transfer", [("init_image", PNG)], "style_image"),
        ("/v1/generation/e/image-to-image", [("init_image", PNG)], "missing prompt"),
        (CORE, [("prompt", "a"), ("seed", PLANT)], "seed must be a number"),
        (CORE, [("prompt", "a"), ("seed", "1.5")], "seed must be"),
        (CORE, [("prompt", "a"), ("output_format", PLANT)], "output_format"),
        (CORE, [("prompt", "a"), ("aspect_ratio", "7:3")], "aspect_ratio"),
        (CORE, [("prompt", "a"), ("model", PLANT)], "model"),
        (CORE, [("prompt", "a"), ("extra", PLANT.encode())], "file part"),
        (CORE, [("prompt", "a"), ("image", b"")], "image field is empty"),
        ("/v2beta/stable-image/edit/inpaint",
         [("prompt", "a"), ("image", PNG), ("mask", PNG), ("mask_image", PNG)],
         "more than one mask"),
        ("/v1/generation/e/image-to-image", [("init_image", PNG), ("text_prompts[0][weight]", "1")],
         "no text"),
        ("/v1/generation/e/image-to-image",
         [("init_image", PNG), ("text_prompts[0][text]", "a"), ("text_prompts[0][weight]", PLANT)],
         "weight must be a number"),
    ],
)  # fmt: skip
def test_malformed_forms_are_refused_without_quoting_values(
    path: str, fields: list[tuple[str, bytes | str]], match: str
) -> None:
    with pytest.raises(MalformedRequest, match=match) as caught:
        adapter.parse(post(path, *fields))
    assert PLANT not in str(caught.value)


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"samples": 1}, "missing prompt"),
        ({"text_prompts": []}, "non-empty array"),
        ({"text_prompts": [{"text": 5}]}, "string text"),
        ({"text_prompts": [{"text": "a", "weight": PLANT}]}, "weight must be a number"),
        ({"text_prompts": [{"text": "a"}], "samples": True}, "samples must be"),
        ({"text_prompts": [{"text": "a"}], "height": 512.5}, "height must be"),
        ({"text_prompts": [{"text": "x", "weight": -1}]}, "missing prompt"),
    ],
)
def test_malformed_v1_json_is_refused(doc: object, match: str) -> None:
    with pytest.raises(MalformedRequest, match=match) as caught:
        adapter.parse(v1_json(doc))
    assert PLANT not in str(caught.value)


def test_v1_json_repeated_key_and_wrong_content_type_are_refused() -> None:
    request = v1_json({})
    with pytest.raises(MalformedRequest, match="repeats a key"):
        adapter.parse(replace(request, body=b'{"text_prompts": [], "text_prompts": []}'))
    with pytest.raises(MalformedRequest, match="JSON body"):
        adapter.parse(post(request.path, ("text_prompts[0][text]", "a")))
    with pytest.raises(MalformedRequest, match="multipart"):
        adapter.parse(replace(fixture("core_sample"), headers={"content-type": "application/json"}))


def test_unknown_v1_json_strings_are_inspected() -> None:
    parsed = adapter.parse(
        v1_json({"text_prompts": [{"text": "a", "note": PLANT}], "extras": {"k": [PLANT]}})
    )
    assert [p.ref for p in parsed.prompts if p.text == PLANT] == [
        "json:/text_prompts/0/note",
        "json:/extras/k/0",
    ]


def test_every_refusal_is_a_request_rejection() -> None:
    with pytest.raises(RequestRejected):
        adapter.parse(post(CORE, ("prompt", "a"), ("prompt", "b")))


def test_error_body_carries_v2beta_errors_and_v1_message() -> None:
    answer = adapter.render_error(403, "Blocked: rule x", "pii_blocked", "policy_violation")
    doc = json.loads(answer.body)
    assert answer.status == 403 and dict(answer.headers)["content-type"] == "application/json"
    assert doc["name"] == "pii_blocked" and doc["errors"] == ["Blocked: rule x"]
    assert doc["message"] == "Blocked: rule x" and len(doc["id"]) == 32


def png_of(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(out, format="PNG")
    return out.getvalue()


def published() -> tuple[list[tuple[bytes, str, str | None]], Publish]:
    store: list[tuple[bytes, str, str | None]] = []

    def publish(body: bytes, content_type: str = "image/png", path: str | None = None) -> str:
        store.append((body, content_type, path))
        return f"https://api.stability.ai{path}"

    return store, publish


def test_v2_image_answer_is_raw_bytes_with_finish_reason_and_seed_headers() -> None:
    parsed = adapter.parse(fixture("ultra_json"))
    parsed = replace(parsed, params={**parsed.params, "accept": "image"})
    answer = adapter.render_images(parsed, [png_of((8, 8))], published()[1])
    headers = dict(answer.headers)
    assert headers == {"content-type": "image/png", "finish-reason": "SUCCESS", "seed": "42"}
    assert Image.open(io.BytesIO(answer.body)).format == "PNG"


def test_v2_json_answer_in_requested_webp() -> None:
    parsed = adapter.parse(fixture("core_sample"))
    parsed = replace(parsed, params={**parsed.params, "accept": "json"})
    answer = adapter.render_images(parsed, [png_of((8, 8))], published()[1])
    doc = json.loads(answer.body)
    assert dict(answer.headers)["content-type"] == "application/json; type=image/webp"
    assert doc["finish_reason"] == "SUCCESS" and isinstance(doc["seed"], int)
    assert Image.open(io.BytesIO(base64.b64decode(doc["image"]))).format == "WEBP"


def test_jpeg_output_format_is_converted() -> None:
    answer = adapter.render_images(
        adapter.parse(fixture("sd3_image")), [png_of((8, 8))], published()[1]
    )
    assert dict(answer.headers)["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(answer.body)).format == "JPEG"


def test_async_answer_is_an_id_and_the_result_is_served_at_the_polling_path() -> None:
    store, publish = published()
    answer = adapter.render_images(adapter.parse(fixture("relight")), [png_of((8, 8))], publish)
    job = json.loads(answer.body)["id"]
    assert answer.status == 200 and len(job) == 64
    ((body, content_type, path),) = store
    assert path == f"/v2beta/results/{job}" and content_type == "image/webp"
    assert Image.open(io.BytesIO(body)).format == "WEBP"


def test_v1_json_answer_has_one_artifact_per_sample() -> None:
    parsed = adapter.parse(fixture("v1_text_to_image"))
    answer = adapter.render_images(parsed, [png_of((8, 8))] * 2, published()[1])
    artifacts = json.loads(answer.body)["artifacts"]
    assert [a["finishReason"] for a in artifacts] == ["SUCCESS", "SUCCESS"]
    assert all(base64.b64decode(a["base64"]).startswith(b"\x89PNG") for a in artifacts)


def test_v1_png_answer_is_raw_and_several_samples_cannot_be_rendered() -> None:
    parsed = adapter.parse(fixture("v1_image_to_image"))
    answer = adapter.render_images(parsed, [png_of((8, 8))], published()[1])
    assert dict(answer.headers)["content-type"] == "image/png" and answer.body.startswith(
        b"\x89PNG"
    )
    assert adapter.can_render(parsed)
    assert not adapter.can_render(replace(parsed, params={**parsed.params, "n": 3}))
