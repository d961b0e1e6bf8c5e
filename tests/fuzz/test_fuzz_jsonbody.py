"""Property-based fuzzing of the strict JSON body reader that adapters share.

Any bytes are read as the object they spell or refused with PixelGate's own error, quoting
nothing; a document written back with some strings replaced reads as the same document with
exactly those strings replaced.
"""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.errors import MalformedRequest, PixelGateError
from proxy.providers.jsonbody import JsonBody, decode_data_url, load_json

PLANT = "jane.doe@example.com"
MARKERS = ("jane.doe", "example.com")
FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.just(PLANT),
)
DOCS = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        LEAVES,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=20,
    ),
    max_size=5,
)
EDGE_TEXTS = [
    b'{"a": 1e400}', b'{"a": -1e400}', b'{"a": 1e-400}', b'{"a": NaN}', b'{"a": -Infinity}',
    b'{"a": "\\ud800"}', b'{"\\udfff": 1}', b'{"a": "\\ud83d\\ude00"}', b'{"a": 1, "a": 2}',
    b'{"a": ' + b"1" * 5000 + b"}", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b"\xef\xbb\xbf{}", b'{"a": "\xff"}', b"[]", b"null", b"", b"{} {}", b'{"a": 1}\x00',
    f'{{"{PLANT}": "{PLANT}", "{PLANT}": 1}}'.encode(), f'{{"a": "{PLANT}"'.encode(),
]  # fmt: skip


def read_or_refuse(body: bytes, content_type: str = "application/json") -> dict[str, object] | None:
    try:
        doc = load_json(body, content_type)
    except PixelGateError as e:
        assert isinstance(e, MalformedRequest)
        assert not any(m in str(e) for m in MARKERS), str(e)
        return None
    assert isinstance(doc, dict)
    # What was read can be written back as valid JSON that reads the same.
    assert load_json(json.dumps(doc, ensure_ascii=False).encode()) == doc
    return doc


@FUZZ
@given(body=st.binary(max_size=200) | st.sampled_from(EDGE_TEXTS))
def test_arbitrary_bytes_are_read_or_refused(body: bytes) -> None:
    read_or_refuse(body)


@FUZZ
@given(doc=DOCS, ascii_only=st.booleans(), indent=st.sampled_from([None, 2]))
def test_a_json_object_reads_as_itself(
    doc: dict[str, object], ascii_only: bool, indent: int | None
) -> None:
    body = json.dumps(doc, ensure_ascii=ascii_only, indent=indent).encode()
    assert read_or_refuse(body) == doc


@FUZZ
@given(
    content_type=st.text(max_size=40)
    | st.sampled_from(
        [
            "application/json; charset=UTF-8",
            "application/json; charset=latin-1",
            "application/json; charset=utf-8; charset=utf-8",
            f"application/json; charset={PLANT}",
            f"application/{PLANT}",
            "application/problem+json",
            'application/json; charset="utf-8"',
        ]
    )
)
def test_content_types_are_read_or_refused(content_type: str) -> None:
    read_or_refuse(b'{"a": 1}', content_type)


def strings(value: object, pointer: str = "") -> list[str]:
    """The pointers of every string in `value`, as JsonBody.text records them."""
    if isinstance(value, str):
        return [pointer]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in strings(item, f"{pointer}/{i}")]
    if isinstance(value, dict):
        escaped = {k: k.replace("~", "~0").replace("/", "~1") for k in value}
        return [p for k, item in value.items() for p in strings(item, f"{pointer}/{escaped[k]}")]
    return []


@FUZZ
@given(doc=DOCS, data=st.data())
def test_written_back_strings_replace_exactly_those_values(
    doc: dict[str, object], data: st.DataObject
) -> None:
    body = JsonBody(json.dumps(doc).encode())
    for key in body.doc:
        body.text(body.doc, key, "/" + key.replace("~", "~0").replace("/", "~1"))
    pointers = strings(doc)
    assert sorted(p.ref for p in body.prompts) == sorted("json:" + p for p in pointers)
    chosen = data.draw(st.sets(st.sampled_from(pointers), max_size=3)) if pointers else set()
    new = {f"json:{p}": data.draw(st.text(max_size=10) | st.just(PLANT)) for p in chosen}
    again = JsonBody(body.write(dict(new)))
    for key in again.doc:
        again.text(again.doc, key, "/" + key.replace("~", "~0").replace("/", "~1"))
    expected = {p.ref: new.get(p.ref, p.text) for p in body.prompts}
    assert {p.ref: p.text for p in again.prompts} == expected


@FUZZ
@given(
    url=st.text(max_size=60).map(lambda t: "data:" + t)
    | st.sampled_from([f"data:{PLANT};base64,{PLANT}", f"data:,{PLANT}%zz", "data:;base64,===="])
)
def test_data_urls_are_decoded_or_refused(url: str) -> None:
    try:
        media, data = decode_data_url(url)
    except MalformedRequest as e:
        assert not any(m in str(e) for m in MARKERS), str(e)
        return
    assert isinstance(data, bytes)
    assert media is None or media == media.lower()


def test_out_of_range_numbers_are_refused_rather_than_written_back_as_infinity() -> None:
    for body in (b'{"a": 1e400}', b'{"a": [-1e999]}'):
        try:
            doc = load_json(body)
        except MalformedRequest:
            continue
        assert all(math.isfinite(v) for v in doc.values() if isinstance(v, float))
        raise AssertionError("an out-of-range number was read")


def test_an_unpaired_surrogate_is_refused_and_a_pair_is_read() -> None:
    for body in (b'{"a": "x\\ud800y"}', b'{"\\udc00": 1}', b'{"a": ["\\uDBFF"]}'):
        try:
            load_json(body)
        except MalformedRequest as e:
            assert "surrogate" in str(e)
            continue
        raise AssertionError("an unpaired surrogate was read")
    assert load_json(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}
