"""Property-based fuzzing of every adapter's parser, on arbitrary JSON and on mutated wire
fixtures (tests/data/<provider>/).

For every body: `parse` returns an ImageRequest or raises PixelGate's own error, whose message
repeats nothing the client wrote. For every body that parses: `apply` with nothing changed
returns it byte for byte, and `apply` with one prompt replaced returns a body that parses
again to the same request with only that prompt replaced.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers.fuzz_wire import (
    FIXTURES,
    MARKERS,
    PATHS,
    PLANT,
    REPLACEMENTS,
    json_bodies,
    mutated,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from proxy.errors import MalformedRequest, PixelGateError
from proxy.model import ImageRequest
from proxy.providers import ADAPTERS, multipart
from proxy.providers.base import ProviderAdapter, WireRequest

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- properties ------------------------------------------------------------------------


def assert_content_free(error: PixelGateError) -> None:
    message = str(error)
    assert not any(m in message for m in MARKERS), message


def read_or_refuse(adapter: ProviderAdapter, wire: WireRequest) -> ImageRequest | None:
    try:
        parsed = adapter.parse(wire)
    except PixelGateError as e:
        assert_content_free(e)
        event(f"refused: {type(e).__name__}")
        return None
    event("read")
    return parsed


def assert_round_trip(
    adapter: ProviderAdapter, wire: WireRequest, parsed: ImageRequest, data: st.DataObject
) -> None:
    assert adapter.apply(wire, parsed) == wire.body
    if not parsed.prompts:
        return
    index = data.draw(st.integers(0, len(parsed.prompts) - 1), label="prompt")
    text = data.draw(REPLACEMENTS, label="replacement")
    prompts = tuple(
        replace(p, text=text) if i == index else p for i, p in enumerate(parsed.prompts)
    )
    edited = parsed.with_prompts(prompts)
    try:
        body = adapter.apply(wire, edited)
    except MalformedRequest as e:
        # The one refusal allowed: a new multipart value that would contain the boundary.
        assert_content_free(e)
        assert wire.content_type.lower().startswith("multipart/"), str(e)
        new, delimiter = text.encode(), b"\r\n--" + multipart.boundary_of(wire.content_type)
        assert (new + delimiter).find(delimiter) != len(new), str(e)
        return
    again = adapter.parse(replace(wire, body=body))
    # Roles (of images too), order and params may follow the replaced text: a `role` or
    # `output_format` field is client-written text too. All that was read is read again,
    # and only the replaced prompt changed.
    assert len(again.prompts) == len(prompts)
    assert {p.ref: p.text for p in again.prompts} == {p.ref: p.text for p in prompts}
    assert [(i.ref, i.data, i.url) for i in again.images] == [
        (i.ref, i.data, i.url) for i in parsed.images
    ]
    assert again.operation == parsed.operation


def check(adapter: ProviderAdapter, wire: WireRequest, data: st.DataObject) -> None:
    parsed = read_or_refuse(adapter, wire)
    if parsed is not None:
        assert_round_trip(adapter, wire, parsed, data)


# --- tests -----------------------------------------------------------------------------


def test_every_adapter_has_fixtures_and_paths() -> None:
    for adapter in ADAPTERS:
        assert FIXTURES[adapter.name], adapter.name
        assert PATHS[adapter.name], adapter.name


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.name)
def test_every_fixture_round_trips(adapter: ProviderAdapter) -> None:
    @FUZZ
    @given(wire=st.sampled_from(FIXTURES[adapter.name]), data=st.data())
    def run(wire: WireRequest, data: st.DataObject) -> None:
        check(adapter, wire, data)  # some fixtures are refused on purpose (images by file id)

    run()


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.name)
def test_arbitrary_json_is_read_or_refused(adapter: ProviderAdapter) -> None:
    @FUZZ
    @given(body=json_bodies(), path=st.sampled_from(PATHS[adapter.name]), data=st.data())
    def run(body: tuple[str, bytes], path: str, data: st.DataObject) -> None:
        content_type, raw = body
        wire = WireRequest("POST", adapter.default_hosts[0].lstrip("*."), 443, path,
                           {"content-type": content_type}, raw)  # fmt: skip
        check(adapter, wire, data)

    run()


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.name)
def test_mutated_fixtures_are_read_or_refused(adapter: ProviderAdapter) -> None:
    @FUZZ
    @given(case=mutated(FIXTURES[adapter.name]), data=st.data())
    def run(case: tuple[WireRequest, str], data: st.DataObject) -> None:
        wire, kind = case
        parsed = read_or_refuse(adapter, wire)
        if parsed is None:
            return
        if kind in ("dup_key", "dup_field"):
            # A repeated key or field is refused, or both copies are read: never one hidden.
            texts = [p.text for p in parsed.prompts]
            assert PLANT in texts or any(PLANT.encode() == i.data for i in parsed.images), kind
        assert_round_trip(adapter, wire, parsed, data)

    run()
