"""Property-based fuzzing of the strict multipart reader that adapters share.

A body is read exactly (every part, and `serialize()` gives back the very bytes) or refused
with PixelGate's own error that quotes nothing from the body; a rewritten part comes back as
written and every other part unchanged.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.errors import MalformedRequest, PixelGateError
from proxy.providers import multipart

PLANT = "jane.doe@example.com"
MARKERS = ("jane.doe", "example.com")
FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

BOUNDARY_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?"
BOUNDARIES = st.text(BOUNDARY_CHARS, min_size=1, max_size=70)
# Header parameter values: printable, non-ASCII allowed, quoted and escaped when written.
NAMES = st.one_of(
    st.sampled_from(["prompt", "image", "image[]", "mask", PLANT]),
    st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=20),
)
BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"", b"\r\n", b"--", b"\r\n--", b"--\r\n", PLANT.encode(), b"\r\n\r\n"]),
)


def quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def forms(draw: st.DrawFn) -> tuple[str, bytes, list[tuple[str, str | None, bytes]]]:
    boundary = draw(BOUNDARIES.filter(lambda b: not b.endswith(" ")))
    delimiter = b"\r\n--" + boundary.encode()
    fields = draw(
        st.lists(
            st.tuples(NAMES, st.none() | NAMES, BODIES).filter(
                # A body holding the delimiter cannot be framed: no client can send it.
                lambda f: (f[2] + delimiter).find(delimiter) == len(f[2])
            ),
            max_size=5,
        )
    )
    preamble = draw(st.sampled_from([b"", b"preamble\r\n"]))
    epilogue = draw(st.sampled_from([b"", b"\r\n", b"epilogue"]))
    out = [preamble]
    for name, filename, body in fields:
        head = f"Content-Disposition: form-data; name={quoted(name)}"
        if filename is not None:
            head += f"; filename={quoted(filename)}\r\nContent-Type: image/png"
        out.append(f"--{boundary}\r\n{head}\r\n\r\n".encode() + body + b"\r\n")
    out.append(f"--{boundary}--".encode() + epilogue)
    content_type = f"multipart/form-data; boundary={quoted(boundary)}"
    return content_type, b"".join(out), fields


def read_or_refuse(body: bytes, content_type: str) -> multipart.Multipart | None:
    try:
        form = multipart.parse(body, content_type)
    except PixelGateError as e:
        assert not any(m in str(e) for m in MARKERS), str(e)
        return None
    assert form.serialize() == body
    return form


@FUZZ
@given(form=forms())
def test_a_well_formed_body_is_read_exactly(
    form: tuple[str, bytes, list[tuple[str, str | None, bytes]]],
) -> None:
    content_type, body, fields = form
    parsed = multipart.parse(body, content_type)
    assert [(p.name, p.filename, p.body) for p in parsed.parts] == fields
    assert parsed.serialize() == body


@FUZZ
@given(form=forms(), data=st.data())
def test_a_rewritten_part_reads_back_and_nothing_else_changes(
    form: tuple[str, bytes, list[tuple[str, str | None, bytes]]], data: st.DataObject
) -> None:
    content_type, body, fields = form
    parsed = multipart.parse(body, content_type)
    if not parsed.parts:
        return
    index = data.draw(st.integers(0, len(parsed.parts) - 1))
    new = data.draw(BODIES)
    try:
        rewritten = parsed.with_bodies({index: new}).serialize()
    except MalformedRequest:
        delimiter = b"\r\n--" + parsed.boundary
        assert (new + delimiter).find(delimiter) != len(new)
        return
    again = multipart.parse(rewritten, content_type)
    expected = [p.body for p in parsed.parts]
    expected[index] = new
    assert [p.body for p in again.parts] == expected
    assert [p.headers for p in again.parts] == [p.headers for p in parsed.parts]


@FUZZ
@given(form=forms(), data=st.data())
def test_a_mutated_body_is_read_exactly_or_refused(
    form: tuple[str, bytes, list[tuple[str, str | None, bytes]]], data: st.DataObject
) -> None:
    content_type, body, _ = form
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "lf", "content_type"]))
    if kind == "flip" and body:
        at = data.draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([body[at] ^ data.draw(st.integers(1, 255))]) + body[at + 1 :]
    elif kind == "truncate":
        body = body[: data.draw(st.integers(0, len(body)))]
    elif kind == "insert":
        at = data.draw(st.integers(0, len(body)))
        junk = data.draw(st.sampled_from([PLANT.encode(), b"\r\n", b"--", b"\r\n\r\n", b"\x00"]))
        body = body[:at] + junk + body[at:]
    elif kind == "lf":
        body = body.replace(b"\r\n", b"\n", data.draw(st.integers(1, 3)))
    else:
        content_type = data.draw(
            st.sampled_from(
                [
                    f"{content_type}; boundary=x",
                    content_type.replace("boundary=", "boundary*="),
                    f"{content_type}; charset={PLANT}",
                    f"multipart/mixed; {content_type.partition(';')[2]}",
                    content_type.replace('"', ""),
                    f"{content_type}; {PLANT}",
                ]
            )
        )
    read_or_refuse(body, content_type)


@FUZZ
@given(body=st.binary(max_size=300), boundary=BOUNDARIES)
def test_arbitrary_bytes_are_read_exactly_or_refused(body: bytes, boundary: str) -> None:
    read_or_refuse(body, f"multipart/form-data; boundary={quoted(boundary)}")


@FUZZ
@given(value=st.text(max_size=80) | st.sampled_from([f'a; b="{PLANT}', f"a; {PLANT}"]))
def test_header_parameters_are_read_or_refused_without_echo(value: str) -> None:
    try:
        media, params = multipart.header_params(value)
    except MalformedRequest as e:
        assert not any(m in str(e) for m in MARKERS), str(e)
        return
    assert media == media.lower()
    assert all(key == key.lower() for key in params)
