"""Wire requests for fuzzing the adapters: each adapter's fixtures (tests/data/<provider>/),
arbitrary JSON bodies, and mutations of the fixtures (flipped bytes, truncation, repeated
keys and multipart fields, odd boundaries, CRLF/LF mixes, wrong charsets, grafted values)."""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import replace
from pathlib import Path

from hypothesis import strategies as st

from proxy.providers import ADAPTERS, multipart
from proxy.providers.base import ProviderAdapter, WireRequest

ROOT = Path(__file__).parent.parent
PLANT = "jane.doe@example.com"
MARKERS = ("jane.doe", "example.com", "Zq7plant")


def _paths() -> dict[str, list[str]]:
    # The endpoint list the hostile-body tests already keep for every adapter.
    path = ROOT / "providers" / "test_every_adapter.py"
    spec = importlib.util.spec_from_file_location("every_adapter_paths", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    paths: dict[str, list[str]] = module.PATHS
    return paths


PATHS = _paths()
# Field names the adapters look for: fuzzed documents hit their branches, not just defaults.
KEYS = sorted(
    {
        key
        for source in (ROOT.parent / "proxy" / "providers").glob("*.py")
        for key in re.findall(r'"([A-Za-z_][A-Za-z0-9_\[\]]{0,30})"', source.read_text())
    }
)
DATA_DIR = {"together": "openai", "xai": "openai"}


def fixtures(adapter: ProviderAdapter) -> list[WireRequest]:
    wires = []
    for meta_path in sorted(
        (ROOT / "data" / DATA_DIR.get(adapter.name, adapter.name)).glob("*.json")
    ):
        meta = json.loads(meta_path.read_text())
        host = meta.get("host", adapter.default_hosts[0].lstrip("*."))
        headers = {k.lower(): v for k, v in meta["headers"].items()}
        body = meta_path.with_suffix(".http").read_bytes()
        wires.append(WireRequest(meta["method"], host, 443, meta["path"], headers, body))
    return wires


FIXTURES = {adapter.name: fixtures(adapter) for adapter in ADAPTERS}

# --- strategies ------------------------------------------------------------------------

# Numbers at the edges, written as JSON literals (json.dumps cannot write most of them).
NUMBER_LITERALS = (
    "1e400", "-1e400", "1e-400", "-0", "0.1000000000000000055511151231257827",
    str(2**63), str(-(2**63) - 1), str(2**64), "1" + "0" * 5000, "1E+2", "-0.0",
)  # fmt: skip
_LITERAL = "\x00NUM:"
STRINGS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            PLANT,
            "Zq7plant",
            "",
            "data:image/png;base64,iVBORw0KGgo=",
            f"data:{PLANT};base64,{PLANT}",
            "https://example.com/a.png",
            "\ud800 lone surrogate",
            "a\x00b",
            "text",
            "image_url",
            "input_image",
            "user",
        ]
    ),
    st.integers(0, 300_000).map(lambda n: "x" * n),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(NUMBER_LITERALS).map(lambda s: _LITERAL + s),
)
LEAVES = st.one_of(st.none(), st.booleans(), NUMBERS, STRINGS)
JSON_KEYS = st.one_of(st.sampled_from(KEYS), st.text(max_size=8), st.just(PLANT))
DOCS = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_KEYS, inner, max_size=5),
    max_leaves=25,
)


@st.composite
def json_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    # Mostly what gets past the first checks (a UTF-8 JSON object, often with a prompt), so
    # the adapters' deeper branches see the odd values; sometimes anything at all.
    doc = (
        draw(st.dictionaries(JSON_KEYS, DOCS, max_size=6))
        if draw(st.integers(0, 9))
        else draw(DOCS)
    )
    if isinstance(doc, dict) and draw(st.booleans()):
        doc["prompt"] = draw(STRINGS)
    depth = draw(st.sampled_from([0] * 12 + [31, 33, 200, 900, 2000, 100_000]))
    if depth and isinstance(doc, dict):
        key = draw(st.sampled_from(["prompt", "input", "contents", "instances", "x"]))
        doc[key] = json.loads("[" * depth + "]" * depth) if depth < 500 else None
    text = _json_text(doc, draw(st.booleans()))
    if depth >= 500 and isinstance(doc, dict):
        # Too deep for json.dumps: written by hand.
        text = text.replace("null", "[" * depth + "]" * depth, 1)
    charset = draw(
        st.sampled_from([""] * 8 + ["; charset=utf-8", "; charset=latin-1", "; charset=UTF-16"])
    )
    media = draw(
        st.sampled_from(["application/json"] * 12 + ["application/vnd.x+json", "text/plain"])
    )
    codec = draw(st.sampled_from(["utf-8"] * 12 + ["utf-16", "latin-1"]))
    return media + charset, text.encode(codec, "surrogatepass" if codec == "utf-8" else "replace")


REPLACEMENTS = st.one_of(
    st.sampled_from(["an email address", "<EMAIL_ADDRESS>", PLANT, "é ü 漢字 🙂", 'a"b\\c']),
    st.text(min_size=1, max_size=40),
).filter(lambda t: not t.lstrip().lower().startswith(("data:", "http")))

# --- mutations of wire fixtures ----------------------------------------------------------


def _json_duplicate_key(body: bytes, at: int) -> bytes | None:
    # Repeat the first key of one object: `{"k": ...` -> `{"k": "PLANT", "k": ...`.
    found = list(re.finditer(rb'\{\s*"((?:[^"\\]|\\.)*)"\s*:', body))
    if not found:
        return None
    match = found[at % len(found)]
    key = match.group(1)
    inserted = b'"' + key + b'": "' + PLANT.encode() + b'", '
    return body[: match.start() + 1] + inserted + body[match.start() + 1 :]


def containers(doc: object) -> list[dict[str, object] | list[object]]:
    found: list[dict[str, object] | list[object]] = []
    if isinstance(doc, dict | list):
        found.append(doc)
        for value in doc.values() if isinstance(doc, dict) else doc:
            found += containers(value)
    return found


def _graft(draw: st.DrawFn, doc: object) -> bytes:
    # A valid document with one value added or replaced anywhere: reaches the deep branches
    # that random documents rarely get past the first check to.
    container = draw(st.sampled_from(containers(doc)))
    value = draw(DOCS)
    if isinstance(container, dict):
        container[draw(st.sampled_from([*container, *KEYS]) | JSON_KEYS)] = value
    elif container:
        container[draw(st.integers(0, len(container) - 1))] = value
    return _json_text(doc, draw(st.booleans())).encode("utf-8", "surrogatepass")


def _json_text(doc: object, ensure_ascii: bool) -> str:
    return re.sub(r'"\\u0000NUM:([^"]*)"', r"\1", json.dumps(doc, ensure_ascii=ensure_ascii))


def _parts(body: bytes, boundary: bytes) -> list[tuple[int, int]]:
    dash = b"--" + boundary + b"\r\n"
    starts = [m.start() for m in re.finditer(re.escape(dash), body)]
    close = body.rfind(b"--" + boundary + b"--")
    return [(s, e) for s, e in zip(starts, [*starts[1:], close], strict=True) if e > s]


@st.composite
def mutated(draw: st.DrawFn, wires: list[WireRequest]) -> tuple[WireRequest, str]:
    wire = draw(st.sampled_from(wires))
    body, headers = wire.body, dict(wire.headers)
    ct = wire.content_type
    is_form = ct.lower().startswith("multipart/")
    kinds = ["flip", "truncate", "plant", "charset", "crlf"]
    if is_form:
        kinds += ["dup_field", "boundary", "framing"]
    elif body.lstrip().startswith(b"{"):
        kinds += ["dup_key", "graft", "graft"]
    kind = draw(st.sampled_from(kinds), label="mutation")
    n = max(len(body), 1)
    if kind == "flip":
        out = bytearray(body)
        for _ in range(draw(st.integers(1, 3))):
            if out:
                out[draw(st.integers(0, len(out) - 1))] ^= draw(st.integers(1, 255))
        body = bytes(out)
    elif kind == "truncate":
        body = body[: draw(st.integers(0, n - 1))]
    elif kind == "plant":
        at = draw(st.integers(0, n))
        body = body[:at] + PLANT.encode() + body[at:]
    elif kind == "charset":
        charset = draw(
            st.sampled_from(["latin-1", "utf-16", "UTF-8", "utf8", "ascii", "x-" + PLANT])
        )
        headers["content-type"] = f"{ct}; charset={charset}"
        if draw(st.booleans()) and charset in ("latin-1", "utf-16"):
            body = body.decode("latin-1").encode(charset)
    elif kind == "crlf":
        lines = body.split(b"\r\n")
        seps = [draw(st.sampled_from([b"\r\n", b"\n", b"\r\n", b"\n\r"])) for _ in lines[1:]]
        body = lines[0] + b"".join(s + line for s, line in zip(seps, lines[1:], strict=True))
    elif kind == "graft":
        body = _graft(draw, json.loads(body))
    elif kind == "dup_key":
        body = _json_duplicate_key(body, draw(st.integers(0, 50))) or body
    elif kind == "dup_field":
        boundary = multipart.boundary_of(ct)
        parts = _parts(body, boundary)
        start, end = parts[draw(st.integers(0, len(parts) - 1))]
        part = body[start:end]
        head, _, _ = part.partition(b"\r\n\r\n")
        copy = head + b"\r\n\r\n" + PLANT.encode() + b"\r\n"
        at = draw(st.sampled_from([start, end]))
        body = body[:at] + copy + body[at:]
        return replace(wire, headers=headers, body=body), kind
    elif kind == "boundary":
        text = multipart.boundary_of(ct).decode()
        media = ct.partition(";")[0]
        headers["content-type"] = draw(
            st.sampled_from(
                [
                    f'{media}; boundary="{text}"',
                    f"{media}; boundary={text.upper()}",
                    f"{media}; boundary={text}; boundary={text}",
                    f"{media}; boundary={text[:-1]}",
                    f"{media};boundary={text};charset=utf-8",
                    f"{media}; BOUNDARY={text}",
                    f"{media}",
                    f"{media}; boundary=",
                    f'{media}; boundary="{text} "',
                    f"{media}; boundary={'b' * 71}",
                    f"Multipart/Form-Data; boundary={text}",
                ]
            )
        )
    elif kind == "framing":
        boundary = multipart.boundary_of(ct)
        junk = draw(st.sampled_from([b"preamble\r\n", PLANT.encode(), b"\r\n", b" \t"]))
        where = draw(st.sampled_from(["preamble", "epilogue", "padding", "close"]))
        if where == "preamble":
            body = junk + b"\r\n" + body
        elif where == "epilogue":
            body = body + junk
        elif where == "padding":
            body = body.replace(b"--" + boundary + b"\r\n", b"--" + boundary + b" \r\n", 1)
        else:
            body = body.replace(b"--" + boundary + b"--", b"--" + boundary, 1)
    return replace(wire, headers=headers, body=body), kind
