"""Multipart framing and unread form fields are read (issue #15): a value planted in a field
name, filename, part header, boundary or parameter field is found, text in another charset is
read in that charset, and what cannot be read is refused."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from helpers.gates import default_gate
from helpers.images import encode
from PIL import Image

from proxy.engine.gate import Gate
from proxy.errors import MalformedRequest
from proxy.model import Action
from proxy.providers import ADAPTERS
from proxy.providers.base import WireRequest
from proxy.providers.formrest import unread_form_parts

CARD = "4539148803436467"
EMAIL = "jane.doe@example.com"
BY_NAME = {adapter.name: adapter for adapter in ADAPTERS}
PNG = encode(Image.new("RGB", (8, 8), "white"))


def form(
    fields: list[tuple[str, bytes]],
    *,
    boundary: str = "b0undary",
    preamble: bytes = b"",
    epilogue: bytes = b"\r\n",
) -> tuple[str, bytes]:
    """(content type, body); each field is (its header block, its body)."""
    out = [preamble]
    for headers, body in fields:
        out += [b"--", boundary.encode(), b"\r\n", headers.encode(), b"\r\n\r\n", body, b"\r\n"]
    out += [b"--", boundary.encode(), b"--", epilogue]
    return f"multipart/form-data; boundary={boundary}", b"".join(out)


def text(name: str, extra: str = "") -> str:
    return f'Content-Disposition: form-data; name="{name}"{extra}'


def stability(fields: list[tuple[str, bytes]], **kwargs: object) -> WireRequest:
    content_type, body = form(fields, **kwargs)  # type: ignore[arg-type]
    headers = MappingProxyType({"content-type": content_type, "accept": "image/*"})
    path = "/v2beta/stable-image/generate/core"
    return WireRequest("POST", "api.stability.ai", 443, path, headers, body)


UTF16 = "text/plain; charset=utf-16le"
CLEAN = [(text("prompt"), b"a lighthouse at dusk"), (text("output_format"), b"png")]


def test_field_names_headers_and_parameter_fields_are_read() -> None:
    wire = stability([*CLEAN, (text("seed"), b"3798570523"), (text("aspect_ratio"), b"16:9")])
    parsed = BY_NAME["stability"].parse(wire)
    parts = {p.ref.rpartition(":")[2]: p.text for p in unread_form_parts(wire, parsed)}
    assert 'name="output_format"' in parts["form-framing"]
    assert parts["form-framing"].strip(" ;").startswith("b0undary")
    assert parts["form-params"].strip(" ;").split(" ; ") == ["png", "16:9"]
    assert "3798570523" not in parts["form-params"]  # a seed in range says nothing else


def test_a_preamble_or_epilogue_with_content_is_refused() -> None:
    for kwargs in ({"preamble": EMAIL.encode() + b"\r\n"}, {"epilogue": b"\r\n" + b"x"}):
        wire = stability(CLEAN, **kwargs)
        with pytest.raises(MalformedRequest):
            unread_form_parts(wire, BY_NAME["stability"].parse(wire))


def test_a_charset_python_does_not_know_is_refused() -> None:
    wire = stability([(text("prompt") + "\r\nContent-Type: text/plain; charset=x-nope", b"a")])
    with pytest.raises(MalformedRequest):
        unread_form_parts(wire, BY_NAME["stability"].parse(wire))


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> Gate:
    return default_gate(tmp_path_factory.mktemp("a"))


@pytest.mark.parametrize(
    "fields",
    [
        [*CLEAN, (text(f"x{CARD}"), b"1")],
        [*CLEAN, (text("aspect_ratio", f"; note={CARD}"), b"1:1")],
        [*CLEAN, (text("output_quality") + f"\r\nX-Note: {CARD}", b"1")],
        [*CLEAN, (text("seed"), CARD.encode())],
        [*CLEAN, (text("style_preset"), CARD.encode())],
        [(text("prompt") + f"\r\nContent-Type: {UTF16}", CARD.encode("utf-16le"))],
    ],
)  # fmt: skip
def test_a_card_in_the_form_outside_its_prompt_is_blocked(
    gate: Gate, fields: list[tuple[str, bytes]]
) -> None:
    verdict = gate.handle(BY_NAME["stability"], stability(fields))
    assert verdict.action is Action.BLOCK


def test_a_card_in_the_boundary_is_blocked(gate: Gate) -> None:
    wire = stability(CLEAN, boundary=f"b-{CARD}")
    assert gate.handle(BY_NAME["stability"], wire).action is Action.BLOCK


def test_an_email_in_a_filename_blocks_instead_of_redacting(gate: Gate) -> None:
    content_type, body = form(
        [
            (text("prompt"), b"make it blue"),
            (text("image", f'; filename="{EMAIL}"') + "\r\nContent-Type: image/png", PNG),
        ]
    )
    headers = MappingProxyType({"content-type": content_type})
    wire = WireRequest("POST", "api.openai.com", 443, "/v1/images/edits", headers, body)
    verdict = gate.handle(BY_NAME["openai"], wire)
    assert verdict.action is Action.BLOCK
    assert any("form framing" in r for r in verdict.event.reasons)


def test_a_utf16_prompt_is_read_and_redacted_in_its_charset(gate: Gate) -> None:
    header = text("prompt") + f"\r\nContent-Type: {UTF16}"
    wire = stability([(header, f"write to {EMAIL}".encode("utf-16le"))])
    verdict = gate.handle(BY_NAME["stability"], wire)
    assert verdict.action is Action.REDACT and verdict.body is not None
    assert EMAIL.encode("utf-16le") not in verdict.body
    assert "write to ".encode("utf-16le") in verdict.body


def test_a_prompt_in_a_charset_python_does_not_know_is_refused(gate: Gate) -> None:
    header = text("prompt") + "\r\nContent-Type: text/plain; charset=x-nope"
    wire = stability([(header, f"write to {EMAIL}".encode())])
    assert gate.handle(BY_NAME["stability"], wire).action is Action.BLOCK


def test_a_clean_form_with_a_ten_digit_seed_is_allowed(gate: Gate) -> None:
    wire = stability([*CLEAN, (text("seed"), b"3798570523"), (text("aspect_ratio"), b"16:9")])
    assert gate.handle(BY_NAME["stability"], wire).action is Action.ALLOW
