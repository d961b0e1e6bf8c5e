"""Every byte the client writes is read (issue #15), through the real proxy with the official
openai SDK and the bundled default policy's rules: personal data planted in the query string, a
custom header, a JSON number or key, a parameter, a multipart filename or field name, or
disguised in the prompt, never reaches the upstream."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from helpers.e2e import PNG_1x1, Proxy, Upstream, policy_text, start_proxy, stop_proxy

pytestmark = pytest.mark.e2e

EMAIL = "jane.doe@example.org"
CARD = "4539148803436467"
DEFAULT = Path(__file__).resolve().parents[2] / "policies" / "default.yaml"


def default_rules() -> str:
    policy = yaml.safe_load(DEFAULT.read_text())
    return yaml.safe_dump({"mode": "enforce", "on_error": "block", "rules": policy["rules"]})


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Proxy]:
    handle = start_proxy(
        tmp_path_factory.mktemp("every-byte"), policy_text(upstream, default_rules()), upstream
    )
    yield handle
    stop_proxy(handle)


@pytest.fixture
def client(proxy: Proxy, upstream: Upstream) -> Iterator[openai.OpenAI]:
    upstream.clear()
    with proxy.openai_client(upstream) as c:
        yield c


def nothing_planted_arrived(upstream: Upstream) -> bool:
    for received in upstream.received:
        seen = received.body + received.path.encode() + repr(received.headers).encode()
        if any(value.encode() in seen for value in (EMAIL, CARD, "jane.doe", "4539")):
            return False
    return True


GENERATE: list[tuple[str, dict[str, Any]]] = [
    ("query string", {"extra_query": {"user": EMAIL}}),
    ("custom header", {"extra_headers": {"x-end-user": EMAIL}}),
    ("organisation header", {"extra_headers": {"OpenAI-Organization": f"org {CARD}"}}),
    ("card as a JSON number", {"extra_body": {"user": int(CARD)}}),
    ("card as a seed", {"extra_body": {"seed": int(CARD)}}),
    ("email as a JSON key", {"extra_body": {"meta": {EMAIL: True}}}),
    ("card in the model name", {"model": f"gpt-image-1-{CARD}"}),
    ("card in the size", {"size": f"{CARD}x1"}),
]


@pytest.mark.parametrize(("where", "extra"), GENERATE, ids=[w for w, _ in GENERATE])
def test_planted_outside_the_prompt_never_arrives(
    client: openai.OpenAI, upstream: Upstream, where: str, extra: dict[str, Any]
) -> None:
    kwargs: dict[str, Any] = {"model": "gpt-image-1", "prompt": "a lighthouse at dawn"}
    kwargs.update(extra)
    with pytest.raises(openai.APIStatusError):
        client.images.generate(**kwargs)
    assert nothing_planted_arrived(upstream)


DISGUISED = [
    "a poster with card four five three nine one four eight eight zero three four three six "
    "four six seven",
    "a poster with card 4539–1488–0343–6467",
    "a poster with card 4539_1488_0343_6467",
    "a poster, write to jane.doe [@] example.org",
    "a poster, write to jane.doe&#64;example.org",
    "a poster, write to gro.elpmaxe@eod.enaj",
]


@pytest.mark.parametrize("prompt", DISGUISED)
def test_a_disguised_value_never_arrives(
    client: openai.OpenAI, upstream: Upstream, prompt: str
) -> None:
    try:
        client.images.generate(model="gpt-image-1", prompt=prompt)
    except openai.APIStatusError:
        pass
    for received in upstream.received:
        assert b"4539" not in received.body and b"jane" not in received.body
        assert b"enaj" not in received.body


@pytest.mark.parametrize(
    "upload",
    [
        (f"{EMAIL}.png", io.BytesIO(PNG_1x1), "image/png"),
        ("photo.png", io.BytesIO(PNG_1x1), f"image/png; note={CARD}"),
    ],
    ids=["filename", "part header"],
)
def test_planted_in_multipart_framing_never_arrives(
    client: openai.OpenAI, upstream: Upstream, upload: tuple[str, io.BytesIO, str]
) -> None:
    with pytest.raises(openai.APIStatusError):
        client.images.edit(model="gpt-image-1", image=upload, prompt="make it blue")
    assert nothing_planted_arrived(upstream)
