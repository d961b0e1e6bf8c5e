"""JSON bodies are counted before they are parsed: too many values are refused cheaply."""

from __future__ import annotations

import json

import pytest

from proxy.errors import MalformedRequest, RequestTooLarge
from proxy.providers.jsonbody import MAX_POINTER_CHARS, MAX_VALUES, JsonBody, value_count_bound


def body(doc: object) -> bytes:
    return json.dumps(doc).encode()


def test_a_body_of_too_many_short_strings_is_refused() -> None:
    with pytest.raises(RequestTooLarge, match="values"):
        JsonBody(body({"prompt": ["a"] * (MAX_VALUES + 1)}))


def test_a_body_of_too_many_numbers_is_refused() -> None:
    with pytest.raises(RequestTooLarge, match="values"):
        JsonBody(body({"n": [1] * MAX_VALUES}))


def test_a_body_at_the_limit_is_read() -> None:
    parsed = JsonBody(body({"prompt": ["a"] * (MAX_VALUES - 2)}))
    parsed.text(parsed.doc, "prompt", "/prompt")
    assert len(parsed.prompts) == MAX_VALUES - 2


def test_commas_and_brackets_inside_strings_are_not_counted_as_values() -> None:
    text = 'a, [b], {c}, \\"d\\", ' * (MAX_VALUES // 2)
    parsed = JsonBody(body({"prompt": text}))
    parsed.text(parsed.doc, "prompt", "/prompt")
    assert [p.text for p in parsed.prompts] == [text]


def test_the_bound_counts_every_value_of_a_plain_body_exactly() -> None:
    doc = {"a": [1, "x", {"b": None, "c": [True, 2.5]}], "d": "y"}
    assert value_count_bound(body(doc)) == 10


def test_a_key_path_longer_than_the_limit_is_refused() -> None:
    parsed = JsonBody(body({"k" * (MAX_POINTER_CHARS + 1): "text"}))
    with pytest.raises(RequestTooLarge, match="key path"):
        parsed.texts_except(parsed.doc, "", set())


def test_brackets_nested_beyond_any_allowed_depth_are_malformed_before_parsing() -> None:
    with pytest.raises(MalformedRequest, match="nested too deeply"):
        JsonBody(b"[" * MAX_VALUES)


def test_brackets_inside_a_string_are_no_nesting() -> None:
    parsed = JsonBody(body({"prompt": "[" * MAX_VALUES}))
    assert parsed.doc["prompt"] == "[" * MAX_VALUES
