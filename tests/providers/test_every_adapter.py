"""Hostile bodies against every adapter: each one is read or refused with PixelGate's own
error, never a crash, and no error message repeats anything the client wrote."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from proxy.errors import PixelGateError
from proxy.providers import ADAPTERS
from proxy.providers.base import ProviderAdapter, WireRequest

PLANT = "jane.doe@example.com"
PLANT_MARKERS = ("jane.doe", "example.com")

PATHS = {
    "openai": ["/v1/images/generations", "/v1/images/edits", "/v1/responses",
               "/v1/chat/completions"],
    "stability": ["/v2beta/stable-image/generate/core", "/v1/generation/e/text-to-image",
                  "/v2beta/stable-image/edit/inpaint"],
    "google": ["/v1beta/models/m:generateContent", "/v1beta/models/m:predict",
               "/v1/projects/p/locations/l/publishers/google/models/m:streamGenerateContent"],
    "replicate": ["/v1/predictions", "/v1/models/a/b/predictions", "/v1/files"],
    "bfl": ["/v1/flux-dev", "/v1/flux-kontext-pro"],
    "fal": ["/fal-ai/flux/dev"],
    "huggingface": ["/models/a/b", "/hf-inference/models/a/b"],
    "bedrock": ["/model/amazon.titan-image-generator-v2%3A0/invoke",
                "/model/stability.sd3-5-large-v1%3A0/invoke",
                "/model/stability.stable-diffusion-xl-v1/invoke"],
}  # fmt: skip
PATHS["together"] = PATHS["xai"] = PATHS["openai"]

BODIES: list[object] = [
    {PLANT: PLANT},
    {"prompt": 5, PLANT: 3},
    {"prompt": {PLANT: [PLANT]}},
    {"taskType": PLANT, f"{PLANT}Params": {"text": 1}},
    {"text_prompts": [{"text": 1, "weight": PLANT}]},
    {"input": {PLANT: [PLANT], "image": f"data:{PLANT};base64,{PLANT}"}},
    {"input": [{"role": "user", "content": [{"type": PLANT, "image_url": PLANT}]}]},
    {"messages": [{"role": PLANT, "content": [{"type": "image_url", "image_url": PLANT}]}]},
    {"contents": [{"parts": [{"inlineData": {"mimeType": PLANT, "data": PLANT}}]}]},
    {"contents": [{"parts": [{"inline_data": {"data": "AA=="}, "inlineData": {"data": "AA=="}}]}]},
    {"instances": [{"prompt": PLANT, "image": {"bytesBase64Encoded": PLANT}}]},
    {"inputs": PLANT, "parameters": {PLANT: {PLANT: PLANT}}},
    {"prompt": PLANT, "input_image": PLANT, "image_url": f"ftp://{PLANT}/a.png"},
    {"prompt": PLANT, "images": [{"file_id": PLANT}], "image": {"url": f"gs://{PLANT}"}},
    {"prompt": PLANT, "n": PLANT, "size": [PLANT], "width": PLANT},
    {"prompt": "x" + "[" * 0, "nested": json.loads("[" * 60 + "]" * 60)},
    [PLANT],
    PLANT,
]


def bodies() -> Iterator[tuple[str, bytes]]:
    for body in BODIES:
        yield "application/json", json.dumps(body).encode()
    yield "application/json", f'{{"prompt": "{PLANT}", "prompt": "{PLANT}"}}'.encode()
    yield "application/json", f'{{"prompt": "{PLANT}"'.encode()
    yield "application/json", PLANT.encode("utf-16")
    yield f"application/{PLANT}", PLANT.encode()
    yield (
        "multipart/form-data; boundary=b",
        (
            f'--b\r\nContent-Disposition: form-data; name="{PLANT}"; filename="{PLANT}"\r\n'
            f"Content-Type: {PLANT}\r\n\r\n{PLANT}\r\n--b--\r\n"
        ).encode(),
    )
    yield "multipart/form-data; boundary=b", f"--b\r\n{PLANT}\r\n\r\n--b--".encode()


CASES = [
    (adapter, path, content_type, body)
    for adapter in ADAPTERS
    for path in PATHS[adapter.name]
    for content_type, body in bodies()
]


def test_every_adapter_has_hostile_cases() -> None:
    assert {a.name for a in ADAPTERS} <= PATHS.keys()


@pytest.mark.parametrize(("adapter", "path", "content_type", "body"), CASES)
def test_hostile_bodies_are_read_or_refused_without_echo(
    adapter: ProviderAdapter, path: str, content_type: str, body: bytes
) -> None:
    wire = WireRequest("POST", "h", 443, path, {"content-type": content_type}, body)
    try:
        adapter.parse(wire)
    except PixelGateError as e:
        assert not any(m in str(e) for m in PLANT_MARKERS), str(e)


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.name)
def test_a_planted_path_is_not_echoed(adapter: ProviderAdapter) -> None:
    for path in (f"/v1/{PLANT}/x", f"/{PLANT}", f"/v1/images/generations/{PLANT}"):
        wire = WireRequest(
            "POST", "h", 443, path, {"content-type": "application/json"}, b'{"prompt": "x"}'
        )
        try:
            adapter.parse(wire)
        except PixelGateError as e:
            assert not any(m in str(e) for m in PLANT_MARKERS), str(e)


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.name)
def test_error_answers_are_json_and_carry_the_message(adapter: ProviderAdapter) -> None:
    answer = adapter.render_error(403, "Blocked by PixelGate policy: r1", "pii_blocked", "x")
    assert answer.status == 403
    assert "Blocked by PixelGate policy: r1" in answer.body.decode()
    json.loads(answer.body)
