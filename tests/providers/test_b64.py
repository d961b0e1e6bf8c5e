"""Base64 in every form the image APIs accept, read by every adapter that takes base64 images,
and written back in the form the client used."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from proxy.errors import MalformedRequest
from proxy.model import ImageRequest
from proxy.providers import b64
from proxy.providers.b64body import Base64Body
from proxy.providers.base import ProviderAdapter, WireRequest
from proxy.providers.bedrock import BedrockAdapter
from proxy.providers.bfl import BflAdapter
from proxy.providers.fal import FalAdapter
from proxy.providers.google import GoogleAdapter
from proxy.providers.huggingface import HuggingFaceAdapter
from proxy.providers.openai import OpenAIAdapter
from proxy.providers.replicate import ReplicateAdapter

# Bytes whose base64 has every character the two alphabets do not share, and padding.
DATA = bytes([0xFB, 0xFF, 0xBF, 0x3E, 0x0F]) * 3 + b"\x89PNG"
STANDARD = base64.b64encode(DATA).decode()
URLSAFE = base64.urlsafe_b64encode(DATA).decode()
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
# A PNG header followed by bytes that need '+/' or '-_' and one '=' of padding.
IMAGE = PNG[:16] + DATA + b"\xfe"


def test_the_sample_uses_both_alphabets_and_padding() -> None:
    assert {"+", "/"} <= set(STANDARD) and {"-", "_"} <= set(URLSAFE)
    assert STANDARD.endswith("=") and "=" not in STANDARD.rstrip("=")


@pytest.mark.parametrize(
    ("text", "form"),
    [
        (STANDARD, b64.Form(urlsafe=False, padded=True)),
        (STANDARD.rstrip("="), b64.Form(urlsafe=False, padded=False)),
        (URLSAFE, b64.Form(urlsafe=True, padded=True)),
        (URLSAFE.rstrip("="), b64.Form(urlsafe=True, padded=False)),
    ],
)
def test_both_alphabets_with_or_without_padding_decode_to_the_same_bytes(
    text: str, form: b64.Form
) -> None:
    assert b64.decode(text) == (DATA, form)
    assert b64.encode(DATA, form) == text


def test_a_value_of_whole_groups_is_read_as_standard_padded() -> None:
    assert b64.decode("AAAA") == (b"\0\0\0", b64.STANDARD)


@pytest.mark.parametrize(
    "text",
    [
        STANDARD[:4] + URLSAFE[4:],  # both alphabets in one value
        STANDARD[:8] + "\n" + STANDARD[8:],  # a line break (MIME style)
        STANDARD[:8] + " " + STANDARD[8:],
        STANDARD + "=",  # too much padding
        "AAA==",  # padding that does not complete a group
        "AAAAA",  # a length no encoder writes
        "AA=A",  # padding inside the value
        "AA.A",
        "AA%2B",
    ],
)
def test_other_forms_are_refused_without_quoting_the_value(text: str) -> None:
    with pytest.raises(MalformedRequest) as caught:
        b64.decode(text)
    assert text not in str(caught.value)


def test_head_reads_the_start_of_either_alphabet() -> None:
    assert b64.head(base64.urlsafe_b64encode(IMAGE * 4).decode(), 16) == IMAGE[:18]
    assert b64.head("not base64 at all") is None


# --- Base64Body --------------------------------------------------------------------------------


def body_of(doc: object) -> Base64Body:
    return Base64Body(json.dumps(doc).encode())


@pytest.mark.parametrize("value", [URLSAFE, URLSAFE.rstrip("="), STANDARD.rstrip("=")])
def test_a_raw_base64_image_in_another_form_is_read_and_written_back_in_it(value: str) -> None:
    body = body_of({"image": value, "other": "x"})
    body.image(body.doc, "image", "/image", "base64")
    assert body.images[0].data == DATA
    form = b64.decode(value)[1]
    assert json.loads(body.write({"json:/image": b"\xfb\xff"}))["image"] == b64.encode(
        b"\xfb\xff", form
    )


@pytest.mark.parametrize("encoding", ["data_url", "url"])
def test_a_data_url_in_another_form_keeps_its_head_and_form(encoding: str) -> None:
    unpadded = URLSAFE.rstrip("=")
    body = body_of({"image": f"data:image/png;base64,{unpadded}"})
    body.image(body.doc, "image", "/image", encoding)  # type: ignore[arg-type]
    assert (body.images[0].data, body.images[0].content_type) == (DATA, "image/png")
    written = json.loads(body.write({"json:/image": b"\xfb\xff\xfe"}))["image"]
    assert written == "data:image/png;base64,-__-"


def test_unchanged_images_stay_as_sent_when_another_part_is_rewritten() -> None:
    doc = {"a": URLSAFE.rstrip("="), "b": STANDARD, "prompt": "a fox"}
    body = body_of(doc)
    body.image(body.doc, "a", "/a", "base64")
    body.image(body.doc, "b", "/b", "base64")
    body.text(body.doc, "prompt", "/prompt", "prompt")
    assert json.loads(body.write({"json:/prompt": "a cat"})) == {**doc, "prompt": "a cat"}


def test_a_broken_data_url_keeps_its_own_message() -> None:
    body = body_of({"image": "data:image/png;base64,AA.A"})
    with pytest.raises(MalformedRequest, match="data URL is malformed"):
        body.image(body.doc, "image", "/image", "url")


# --- every adapter that takes base64 images ----------------------------------------------------


def _urlsafe(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _data_url(data: bytes) -> str:
    return "data:image/png;base64," + _urlsafe(data)


TITAN = "/model/amazon.titan-image-generator-v2%3A0/invoke"
CASES: list[tuple[ProviderAdapter, str, str, dict[str, object], list[str]]] = [
    (
        GoogleAdapter(),
        "generativelanguage.googleapis.com",
        "/v1beta/models/gemini-2.5-flash-image:generateContent",
        {"contents": [{"parts": [{"text": "a"}, {"inlineData": {"mimeType": "image/png"}}]}]},
        ["contents", 0, "parts", 1, "inlineData", "data"],
    ),
    (
        GoogleAdapter(),
        "us-central1-aiplatform.googleapis.com",
        "/v1/projects/p/locations/us-central1/publishers/google/models/m:predict",
        {"instances": [{"prompt": "a", "image": {}}]},
        ["instances", 0, "image", "bytesBase64Encoded"],
    ),
    (
        BedrockAdapter(),
        "bedrock-runtime.us-east-1.amazonaws.com",
        TITAN,
        {"taskType": "IMAGE_VARIATION", "imageVariationParams": {"text": "a", "images": [None]}},
        ["imageVariationParams", "images", 0],
    ),
    (
        HuggingFaceAdapter(),
        "router.huggingface.co",
        "/hf-inference/models/a/b",
        {"parameters": {"prompt": "a"}},
        ["inputs"],
    ),
    (BflAdapter(), "api.bfl.ai", "/v1/flux-kontext-pro", {"prompt": "a"}, ["input_image"]),
    (OpenAIAdapter(), "api.openai.com", "/v1/images/edits", {"prompt": "a"}, ["images", 0]),
    (FalAdapter(), "fal.run", "/fal-ai/flux/dev/image-to-image", {"prompt": "a"}, ["image_url"]),
    (
        ReplicateAdapter(),
        "api.replicate.com",
        "/v1/models/a/b/predictions",
        {"input": {"prompt": "a"}},
        ["input", "image"],
    ),
]


def _put(doc: object, path: list[str | int], value: str) -> None:
    for step in path[:-1]:
        if isinstance(doc, dict) and step not in doc:
            doc[step] = [] if isinstance(path[path.index(step) + 1], int) else {}
        doc = doc[step]  # type: ignore[index]
    last = path[-1]
    if isinstance(doc, list):
        doc[last:] = [value]  # type: ignore[index]
    else:
        doc[last] = value  # type: ignore[index]


def _get(doc: object, path: list[str | int]) -> object:
    for step in path:
        doc = doc[step]  # type: ignore[index]
    return doc


@pytest.mark.parametrize(("adapter", "host", "path", "doc", "where"), CASES)
def test_every_adapter_reads_url_safe_unpadded_images_and_writes_them_back_so(
    adapter: ProviderAdapter, host: str, path: str, doc: dict[str, object], where: list[str | int]
) -> None:
    doc = json.loads(json.dumps(doc))
    inline = adapter.name in ("openai", "fal", "replicate")  # these take data URLs
    _put(doc, where, _data_url(IMAGE) if inline else _urlsafe(IMAGE))
    headers = {"content-type": "application/json"}
    request = WireRequest("POST", host, 443, path, headers, json.dumps(doc).encode())
    parsed = adapter.parse(request)
    (image,) = [i for i in parsed.images if i.role == "image"]
    assert image.data == IMAGE
    redacted = PNG + b"\xfb\xff"
    edited: ImageRequest = replace(
        parsed, images=tuple(replace(i, data=redacted) if i is image else i for i in parsed.images)
    )
    written = _get(json.loads(adapter.apply(request, edited)), where)
    assert written == (_data_url(redacted) if inline else _urlsafe(redacted))
