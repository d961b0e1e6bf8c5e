"""The Responses API and chat completions, read from requests the official openai SDK sends."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import replace

import httpx
import openai
import pytest
from helpers.e2e import PNG_1x1
from openai.types.responses import Response

from proxy.errors import MalformedRequest, UnsupportedEndpoint
from proxy.model import TextPart
from proxy.providers import ADAPTERS
from proxy.providers.base import WireRequest
from proxy.providers.openai import OpenAIAdapter

adapter = OpenAIAdapter()
DATA_URL = "data:image/png;base64," + base64.b64encode(PNG_1x1).decode()
EMAIL = "jane.doe@example.com"


def sent_by_sdk(call: Callable[[openai.OpenAI], object]) -> WireRequest:
    """The request the SDK puts on the wire for `call` (answered with an empty 200)."""
    captured: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, json={})

    client = openai.OpenAI(
        api_key="sk-test", http_client=httpx.Client(transport=httpx.MockTransport(record))
    )
    call(client)
    request = captured[0]
    headers = {k.lower(): v for k, v in request.headers.items()}
    return WireRequest(
        request.method,
        "api.openai.com",
        443,
        request.url.raw_path.decode(),
        headers,
        request.read(),
    )


def responses(**kwargs: object) -> WireRequest:
    return sent_by_sdk(lambda c: c.responses.create(model="gpt-5", **kwargs))  # type: ignore[arg-type]


IMAGE_TOOL = [{"type": "image_generation", "size": "1024x1536", "quality": "low"}]


def test_a_responses_prompt_with_the_image_tool_is_read() -> None:
    parsed = adapter.parse(responses(input=f"a poster for {EMAIL}", tools=IMAGE_TOOL))
    assert parsed.operation == "responses.create"
    assert [p.text for p in parsed.prompts if p.role == "prompt"] == [f"a poster for {EMAIL}"]
    assert parsed.params["image_tool"] is True and parsed.params["size"] == "1024x1536"
    assert adapter.can_render(parsed)


def test_every_turn_and_image_of_a_conversation_is_inspected() -> None:
    conversation = [
        {"role": "user", "content": "earlier: my number is 555-0100"},
        {"role": "assistant", "content": "noted"},
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "now draw me"},
                {"type": "input_image", "image_url": DATA_URL},
                {"type": "input_image", "image_url": "https://example.com/me.jpg"},
            ],
        },
    ]
    parsed = adapter.parse(
        responses(input=conversation, instructions=f"mail {EMAIL}", tools=IMAGE_TOOL)
    )
    texts = {p.text: p.role for p in parsed.prompts}
    assert texts["now draw me"] == "prompt"
    assert parsed.prompts[0].text == "now draw me"  # the local model draws the last request
    assert texts["earlier: my number is 555-0100"] == "other"
    assert texts[f"mail {EMAIL}"] == "other"
    assert parsed.images[0].data == PNG_1x1
    assert parsed.images[1].url == "https://example.com/me.jpg" and parsed.images[1].data == b""


def test_an_earlier_generated_image_in_the_conversation_is_an_image() -> None:
    earlier = {
        "type": "image_generation_call",
        "id": "ig_1",
        "status": "completed",
        "result": base64.b64encode(PNG_1x1).decode(),
    }
    conversation = [earlier, {"role": "user", "content": "make it blue"}]
    parsed = adapter.parse(responses(input=conversation, tools=IMAGE_TOOL))
    assert [i.data for i in parsed.images] == [PNG_1x1]
    assert all(p.text != earlier["result"] for p in parsed.prompts)


@pytest.mark.parametrize(
    "part",
    [
        {"type": "input_image", "file_id": "file-1"},
        {"type": "input_file", "file_data": "data:application/pdf;base64,AA=="},
    ],
)
def test_files_that_cannot_be_inspected_are_refused(part: dict[str, str]) -> None:
    conversation = [{"role": "user", "content": [{"type": "input_text", "text": "x"}, part]}]
    with pytest.raises(UnsupportedEndpoint):
        adapter.parse(responses(input=conversation))


def test_chat_completion_images_and_texts_are_inspected() -> None:
    messages = [
        {"role": "system", "content": f"the user is {EMAIL}"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "write an image prompt from this photo"},
                {"type": "image_url", "image_url": {"url": DATA_URL, "detail": "low"}},
            ],
        },
    ]
    wire = sent_by_sdk(lambda c: c.chat.completions.create(model="gpt-5", messages=messages))  # type: ignore[arg-type]
    parsed = adapter.parse(wire)
    assert parsed.operation == "chat.completions"
    assert parsed.prompts[0].text == "write an image prompt from this photo"
    assert any(p.text == f"the user is {EMAIL}" and p.role == "other" for p in parsed.prompts)
    assert [i.data for i in parsed.images] == [PNG_1x1]
    assert not adapter.can_render(parsed)  # a chat answer with images is not forged


def test_a_redacted_turn_is_written_back_and_the_rest_kept() -> None:
    wire = responses(input=[{"role": "user", "content": f"a card for {EMAIL}"}], tools=IMAGE_TOOL)
    parsed = adapter.parse(wire)
    prompt = parsed.prompts[0]
    edited = parsed.with_prompts((TextPart(prompt.ref, "a card for <EMAIL>", prompt.role),))
    doc = json.loads(adapter.apply(wire, edited))
    assert doc["input"][0]["content"] == "a card for <EMAIL>"
    assert doc["tools"] == IMAGE_TOOL and doc["model"] == "gpt-5"


def test_a_redacted_image_goes_back_as_a_data_url() -> None:
    conversation = [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "x"},
                {"type": "input_image", "image_url": DATA_URL},
            ],
        }
    ]
    wire = responses(input=conversation)
    parsed = adapter.parse(wire)
    edited = replace(parsed, images=(replace(parsed.images[0], data=b"\x89PNG\r\n\x1a\nnew"),))
    doc = json.loads(adapter.apply(wire, edited))
    image_url = doc["input"][0]["content"][1]["image_url"]
    assert base64.b64decode(image_url.partition(",")[2]) == b"\x89PNG\r\n\x1a\nnew"


def test_the_forged_response_validates_as_the_sdks_response_type() -> None:
    parsed = adapter.parse(responses(input="a lighthouse", tools=IMAGE_TOOL))
    answer = adapter.render_images(parsed, [PNG_1x1, PNG_1x1], lambda *a, **k: "unused")
    response = Response.model_validate(json.loads(answer.body))
    calls = [o for o in response.output if o.type == "image_generation_call"]
    assert len(calls) == 2 and base64.b64decode(calls[0].result or "") == PNG_1x1


@pytest.mark.parametrize(
    "kwargs",
    [{"input": "x"}, {"input": "x", "tools": IMAGE_TOOL, "stream": True}],
)
def test_only_unstreamed_image_tool_calls_can_be_answered_locally(
    kwargs: dict[str, object],
) -> None:
    wire = responses(**kwargs)
    assert not adapter.can_render(adapter.parse(wire))


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "m"}',
        b'{"model": "m", "input": 3}',
        b'{"input": [{"role": "assistant", "content": "x"}]}',
    ],
)
def test_a_conversation_without_user_text_is_refused(body: bytes) -> None:
    wire = WireRequest(
        "POST", "api.openai.com", 443, "/v1/responses", {"content-type": "application/json"}, body
    )
    with pytest.raises(MalformedRequest):
        adapter.parse(wire)


def test_openai_compatible_services_are_configured_instances() -> None:
    by_name = {a.name: a for a in ADAPTERS}
    together, xai = by_name["together"], by_name["xai"]
    assert isinstance(together, OpenAIAdapter) and isinstance(xai, OpenAIAdapter)
    body = {"model": "black-forest-labs/FLUX.1-kontext-pro", "prompt": "p", "image_url": DATA_URL,
            "width": 512, "height": 768, "response_format": "base64"}  # fmt: skip
    wire = WireRequest(
        "POST", "api.together.xyz", 443, "/v1/images/generations",
        {"content-type": "application/json"}, json.dumps(body).encode(),
    )  # fmt: skip
    parsed = together.parse(wire)
    assert [i.data for i in parsed.images] == [PNG_1x1]
    assert parsed.params["size"] == "512x768" and together.can_render(parsed)
    edit = {"model": "grok-imagine-image", "prompt": "p", "image": {"url": "https://x.ai/a.png"}}
    wire = replace(wire, host="api.x.ai", path="/v1/images/edits", body=json.dumps(edit).encode())
    assert [i.url for i in xai.parse(wire).images] == ["https://x.ai/a.png"]


def test_structure_fields_with_unexpected_values_are_read_as_text() -> None:
    body = {"input": [{"role": "user", "content": "x"}, {"role": EMAIL, "content": "y"}]}
    wire = WireRequest(
        "POST", "api.openai.com", 443, "/v1/responses", {"content-type": "application/json"},
        json.dumps(body).encode(),
    )  # fmt: skip
    assert EMAIL in [p.text for p in adapter.parse(wire).prompts]


def test_a_type_that_is_not_a_string_is_read_as_text_not_a_crash() -> None:
    # Found by fuzzing the Azure Responses fixture: a list is no part type.
    parsed = adapter.parse(responses(input="a fox", tools=[{"type": ["jane@example.com"]}]))
    assert "jane@example.com" in [p.text for p in parsed.prompts]
