"""Keys, numbers and parameter strings of JSON bodies are read (issue #15): a value planted
there is found like one in a prompt, cannot be rewritten, and the SDKs' own requests stay
allowed under the default policy."""

from __future__ import annotations

import base64
import dataclasses
import json
from types import MappingProxyType

import pytest
from helpers.e2e import PNG_1x1
from helpers.fuzz_wire import FIXTURES
from helpers.gates import default_gate

from proxy.engine.gate import Gate
from proxy.errors import MalformedRequest
from proxy.model import Action, ImageRequest
from proxy.providers import ADAPTERS
from proxy.providers.base import WireRequest
from proxy.providers.jsonrest import neutral_number, unread_parts

CARD = "4539148803436467"
EMAIL = "jane.doe@example.com"
OPENAI = ADAPTERS[0]


def wire(body: str | bytes, content_type: str = "application/json") -> WireRequest:
    data = body.encode() if isinstance(body, str) else body
    headers = MappingProxyType({"content-type": content_type} if content_type else {})
    return WireRequest("POST", "api.openai.com", 443, "/v1/images/generations", headers, data)


def texts(body: str, read: tuple[str, ...] = ()) -> dict[str, str]:
    parsed = OPENAI.parse(wire(body)) if not read else ImageRequest("openai", "x")
    return {p.ref.rpartition(":")[2]: p.text for p in unread_parts(wire(body), parsed)}


def test_a_number_is_read_in_its_source_spelling() -> None:
    got = texts(f'{{"prompt": "a cat", "user": {CARD}, "x": 1.50, "y": -0}}')
    assert got["json-numbers"].strip(" ;").split(" ; ") == [CARD, "1.50", "-0"]


def test_a_number_in_exponent_form_is_also_read_as_digits() -> None:
    got = texts('{"prompt": "a cat", "user": 4.539148803436467e15}')
    assert CARD in got["json-numbers"]


def test_every_key_is_read() -> None:
    got = texts(f'{{"prompt": "a cat", "{EMAIL}": {{"inner key": true}}}}')
    assert got["json-keys"].strip(" ;").split(" ; ") == ["prompt", EMAIL, "inner key"]


def test_strings_kept_as_parameters_are_read_and_prompts_are_not_read_twice() -> None:
    got = texts('{"prompt": "a cat", "model": "dall-e-3", "size": "1024x1024"}')
    assert got["json-params"].strip(" ;").split(" ; ") == ["dall-e-3", "1024x1024"]


def test_a_seed_in_range_is_neutral_and_one_out_of_range_is_read() -> None:
    assert "json-numbers" not in texts('{"prompt": "a", "seed": 4294967295, "n": 2}')
    assert texts(f'{{"prompt": "a", "seed": {CARD}}}')["json-numbers"].strip(" ;") == CARD
    assert texts('{"prompt": "a", "seed": 1.5}')["json-numbers"].strip(" ;") == "1.5"
    assert texts(f'{{"prompt": "a", "width": {CARD}}}')["json-numbers"].strip(" ;") == CARD


def test_bodies_that_are_not_json_have_nothing_more_to_read() -> None:
    assert unread_parts(wire(b"\x89PNG", "image/png"), ImageRequest("x", "y")) == ()
    assert unread_parts(wire(b"", ""), ImageRequest("x", "y")) == ()


def test_a_json_body_that_does_not_parse_is_refused() -> None:
    with pytest.raises(MalformedRequest):
        unread_parts(wire(b"{not json"), ImageRequest("x", "y"))


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> Gate:
    return default_gate(tmp_path_factory.mktemp("a"))


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "a cat", "user": int(CARD)},
        {"prompt": "a cat", "seed": int(CARD)},
        {"prompt": "a cat", "model": CARD},
        {"prompt": "a cat", "size": CARD, "quality": "hd"},
        {"prompt": "a cat", CARD: 1},
    ],
)
def test_a_card_outside_the_prompt_is_blocked(gate: Gate, body: dict[str, object]) -> None:
    verdict = gate.handle(OPENAI, wire(json.dumps(body)))
    assert verdict.action is Action.BLOCK


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "a cat", EMAIL: 1},
        {"prompt": "a cat", "model": EMAIL},
        {"prompt": "a cat", "background": EMAIL},
    ],
)
def test_an_email_that_cannot_be_rewritten_blocks_instead_of_redacting(
    gate: Gate, body: dict[str, object]
) -> None:
    verdict = gate.handle(OPENAI, wire(json.dumps(body)))
    assert verdict.action is Action.BLOCK
    assert any("key, number, parameter or form framing" in r for r in verdict.event.reasons)


def test_the_sdks_parameters_and_a_ten_digit_seed_are_allowed(gate: Gate) -> None:
    body = {
        "prompt": "a red fox in the snow",
        "model": "gpt-image-1",
        "n": 1,
        "size": "1024x1024",
        "quality": "high",
        "background": "transparent",
        "moderation": "low",
        "output_format": "webp",
        "output_compression": 80,
        "partial_images": 2,
        "seed": 3798570523,  # passes the NHS checksum and reads as a phone number
    }
    verdict = gate.handle(OPENAI, wire(json.dumps(body)))
    assert verdict.action is Action.ALLOW


def chat(detail: object) -> WireRequest:
    image = {"url": "data:image/png;base64," + base64.b64encode(PNG_1x1).decode(), "detail": detail}
    content = [{"type": "text", "text": "draw this"}, {"type": "image_url", "image_url": image}]
    body = {"model": "gpt-4o", "stream": False, "messages": [{"role": "user", "content": content}]}
    headers = MappingProxyType({"content-type": "application/json"})
    data = json.dumps(body).encode()
    return WireRequest("POST", "api.openai.com", 443, "/v1/chat/completions", headers, data)


def test_extra_keys_of_a_chat_image_part_are_read(gate: Gate) -> None:
    assert gate.handle(OPENAI, chat("high")).action is Action.ALLOW
    assert gate.handle(OPENAI, chat(CARD)).action is Action.BLOCK
    assert gate.handle(OPENAI, chat(int(CARD))).action is Action.BLOCK


def test_numbers_next_to_a_prompt_ending_in_digits_are_not_read_as_one(gate: Gate) -> None:
    # "in 1999", "1024" and "80" on three lines read as a phone number.
    body = {"prompt": "a concert poster in 1999", "tile": 1024, "margin": 80, "grid": 2}
    assert gate.handle(OPENAI, wire(json.dumps(body))).action is Action.ALLOW


@pytest.mark.parametrize(
    ("key", "number", "neutral"),
    [
        ("seed", "0", True),
        ("seed", "-1", True),
        ("seed", "4294967295", True),
        ("seed", "4294967296", False),
        ("seed", "1e3", False),  # a seed is an integer: anything else is read
        ("seed", "١٢٣", False),
        ("guidance_scale", "0.30000000000000004", True),
        ("guidance_scale", "5551234567", False),
        ("user", "7", False),
    ],
)
def test_only_documented_numeric_parameters_in_range_are_neutral(
    key: str, number: str, neutral: bool
) -> None:
    assert neutral_number(key, number) is neutral


JSON_FIXTURES = [
    pytest.param(name, wire, id=f"{name}{wire.path[:40]}")
    for name, wires in FIXTURES.items()
    if name not in ("together", "xai")
    for wire in wires
    if wire.body.lstrip()[:1] == b"{"
]


@pytest.mark.parametrize(("name", "fixture"), JSON_FIXTURES)
def test_a_card_as_a_number_or_a_seed_is_never_allowed_on_any_json_adapter(
    gate: Gate, name: str, fixture: WireRequest
) -> None:
    adapter = next(a for a in ADAPTERS if a.name == name)
    for key in ("user", "seed"):
        doc = json.loads(fixture.body)
        doc[key] = int(CARD)
        planted = dataclasses.replace(fixture, body=json.dumps(doc).encode())
        assert gate.handle(adapter, planted).action is Action.BLOCK
