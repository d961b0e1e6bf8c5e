"""Wire-level fuzzing through the gate (issue #15): a card number or an email planted anywhere
in the bytes a provider would receive (any JSON value, key or number, any multipart field
name, filename, part header, Content-Disposition parameter, preamble, epilogue, boundary or
charset, the query string, a custom header) of each adapter's SDK fixtures, under
policies/default.yaml, is blocked or refused, or redacted so that the forwarded body no
longer holds it. Never allowed with the value present.

A planted value is set apart from the text around it by a space or a quote: glued to a
word ("jane.doe@example.comsize") it is no email to any reader, in a prompt as anywhere.
"""

from __future__ import annotations

import dataclasses
import json
import random

import pytest
from helpers.fuzz_wire import FIXTURES, containers
from helpers.gates import default_gate
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from proxy.engine.gate import Gate, Verdict
from proxy.model import Action
from proxy.providers import ADAPTERS, multipart
from proxy.providers.base import WireRequest

CARD = "4539148803436467"
EMAIL = "jane.doe@example.com"
BY_NAME = {adapter.name: adapter for adapter in ADAPTERS}
# Bodies small enough that the image detectors do not dominate the run.
WIRES = {
    name: [wire for wire in wires if len(wire.body) < 200_000]
    for name, wires in FIXTURES.items()
    if name not in ("together", "xai")  # the openai fixtures again
}
FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> Gate:
    return default_gate(tmp_path_factory.mktemp("a"))


# --- planting -------------------------------------------------------------------------


def _in_json(body: bytes, where: str, value: str, pick: random.Random) -> tuple[bytes, bytes]:
    doc = json.loads(body)
    container = pick.choice(containers(doc))
    literal = value
    if where == "number":
        assert value == CARD
        literal = pick.choice([CARD, f"{CARD}.0", "4.539148803436467e15"])
        planted: object = "\x00NUM"
    else:
        planted = value
    if isinstance(container, dict):
        keys = list(container)
        if where == "key" and keys and pick.random() < 0.5:
            old = pick.choice(keys)
            container[f"{old} {value}"] = container.pop(old)
        elif where == "key":
            container[value] = pick.choice([1, "x", True, None])
        else:
            container[pick.choice([*keys, "note", "user", "seed", "model"])] = planted
    elif where == "key":
        container.append({value: 1})
    elif container:
        container[pick.randrange(len(container))] = planted
    else:
        container.append(planted)
    text = json.dumps(doc, ensure_ascii=pick.random() < 0.5).replace('"\\u0000NUM"', literal)
    return text.encode(), literal.encode()


def _in_form(wire: WireRequest, where: str, value: str, pick: random.Random) -> WireRequest:
    form = multipart.parse(wire.body, wire.content_type)
    boundary = form.boundary.decode()
    index = pick.randrange(len(form.parts))
    heads = [part.headers.decode() for part in form.parts]
    bodies = [part.body for part in form.parts]
    preamble, epilogue = form.preamble, form.epilogue
    if where == "field name":
        heads[index] = heads[index].replace('name="', f'name="{value} ', 1)
    elif where == "filename":
        heads[index] = heads[index].replace("form-data;", f'form-data; filename="{value}";', 1)
    elif where == "part header":
        heads[index] += f"\r\nX-Note: {value}"
    elif where == "disposition parameter":
        heads[index] = heads[index].replace("form-data;", f'form-data; note="{value}";', 1)
    elif where == "preamble":
        preamble = value.encode() + b"\r\n" + preamble
    elif where == "epilogue":
        epilogue = epilogue + value.encode()
    elif where == "boundary":
        boundary = f"b{value}"
    elif where == "new field":
        heads.insert(index, f'Content-Disposition: form-data; name="note{index}"')
        bodies.insert(index, value.encode())
    elif where == "charset":
        heads.insert(index, 'Content-Disposition: form-data; name="prompt"\r\n'
                     "Content-Type: text/plain; charset=utf-16le")  # fmt: skip
        bodies.insert(index, f"a cat and {value}".encode("utf-16le"))
    out = [preamble]
    for head, body in zip(heads, bodies, strict=True):
        out += [b"--", boundary.encode(), b"\r\n", head.encode(), b"\r\n\r\n", body, b"\r\n"]
    out += [b"--", boundary.encode(), b"--", epilogue]
    media = wire.content_type.partition(";")[0]
    headers = {**wire.headers, "content-type": f"{media}; boundary={boundary}"}
    return dataclasses.replace(wire, headers=headers, body=b"".join(out))


JSON_PLACES = ["value", "key", "number"]
FORM_PLACES = ["field name", "filename", "part header", "disposition parameter", "preamble",
               "epilogue", "boundary", "new field", "charset"]  # fmt: skip
WIRE_PLACES = ["query", "header"]


@st.composite
def planted(draw: st.DrawFn, name: str) -> tuple[WireRequest, bytes, str]:
    """(wire request, the bytes planted, where) for one of adapter `name`'s fixtures."""
    wire = draw(st.sampled_from(WIRES[name]))
    pick = random.Random(draw(st.integers(0, 2**32)))
    is_form = wire.content_type.lower().startswith("multipart/form-data")
    is_json = not is_form and wire.body.lstrip()[:1] == b"{"
    places = WIRE_PLACES + (FORM_PLACES if is_form else JSON_PLACES if is_json else [])
    where = draw(st.sampled_from(places))
    value = CARD if where == "number" else draw(st.sampled_from([CARD, EMAIL]))
    marker = value.encode()
    if where == "query":
        sep = "&" if "?" in wire.path else "?"
        wire = dataclasses.replace(wire, path=f"{wire.path}{sep}note={value}")
    elif where == "header":
        wire = dataclasses.replace(wire, headers={**wire.headers, "x-note": value})
    elif is_json:
        body, marker = _in_json(wire.body, where, value, pick)
        wire = dataclasses.replace(wire, body=body)
    else:
        assume(where != "boundary" or value == CARD)  # "@" is no boundary character
        wire = _in_form(wire, where, value, pick)
        if where == "charset":
            marker = value.encode("utf-16le")
    event(where)
    return wire, marker, where


def upstream(wire: WireRequest, verdict: Verdict) -> bytes:
    """What the provider would receive: the URL, the headers and the forwarded body."""
    body = verdict.body if verdict.body is not None else wire.body
    head = "\n".join(f"{k}: {v}" for k, v in wire.headers.items())
    return wire.path.encode() + b"\n" + head.encode() + b"\n" + body


@pytest.mark.parametrize("name", sorted(WIRES))
@FUZZ
@given(data=st.data())
def test_a_planted_value_never_reaches_the_provider(
    gate: Gate, name: str, data: st.DataObject
) -> None:
    wire, marker, where = data.draw(planted(name))
    verdict = gate.handle(BY_NAME[name], wire)
    if verdict.action in (Action.BLOCK, Action.REROUTE):
        return
    assert verdict.action in (Action.ALLOW, Action.REDACT)
    assert marker not in upstream(wire, verdict), (name, where, verdict.action)
