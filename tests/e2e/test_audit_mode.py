"""`mode: audit` through the real proxy: forwards byte-for-byte, adds nothing, records."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from helpers.e2e import Proxy, Upstream, free_port, policy_text, start_proxy, stop_proxy
from helpers.images import encode, landscape, text_card

pytestmark = pytest.mark.e2e

CARD = "4111 1111 1111 1111"
EMAIL = "sam.reyes@example.net"
AUDIT = """mode: audit
on_error: block
rules:
  - {id: no-payment-data, entities: [CREDIT_CARD], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS], action: redact}
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Proxy]:
    handle = start_proxy(tmp_path_factory.mktemp("audit"), policy_text(upstream, AUDIT), upstream)
    yield handle
    stop_proxy(handle)


def send(proxy: Proxy, upstream: Upstream, prompt: str) -> tuple[bytes, dict[str, str]]:
    sent: list[bytes] = []
    http = proxy.http_client()
    http.event_hooks["request"] = [lambda r: sent.append(r.read())]
    with openai.OpenAI(
        api_key="sk-test", base_url=f"https://localhost:{upstream.port}/v1",
        http_client=http, max_retries=0,
    ) as client:  # fmt: skip
        raw = client.images.with_raw_response.generate(prompt=prompt)
    return sent[0], dict(raw.headers)


@pytest.mark.parametrize("prompt", [f"receipt with {CARD}", f"card for {EMAIL}", "a red fox"])
def test_audit_mode_forwards_byte_for_byte_and_adds_no_header(
    proxy: Proxy, upstream: Upstream, prompt: str
) -> None:
    upstream.clear()
    sent, headers = send(proxy, upstream, prompt)
    assert [r.body for r in upstream.received] == [sent]
    assert not any(k.lower().startswith("x-pixelgate") for k in headers)


def test_audit_events_record_what_enforce_would_have_done(proxy: Proxy) -> None:
    events = proxy.events()
    assert [(e["action"], e["rule"], e["enforced"]) for e in events] == [
        ("block", "no-payment-data", False),
        ("redact", "contact-details", False),
        ("allow", "default", False),
    ]
    assert all(e["mode"] == "audit" for e in events)


def test_audit_mode_writes_no_content(proxy: Proxy) -> None:
    for path in proxy.written_files():
        data = path.read_bytes()
        for value in (CARD, EMAIL, "a red fox", "receipt with"):
            assert value.encode() not in data, f"{value!r} found in {path.name}"


@pytest.mark.parametrize("option", ["save_stream_file", "hardump"])
def test_flow_saving_is_refused_at_start_up_and_writes_nothing(tmp_path: Path, option: str) -> None:
    (tmp_path / "policy.yaml").write_text("version: 1\nmode: audit\naudit: {path: audit.jsonl}\n")
    command = [
        sys.executable, "-m", "proxy", "run", "--policy", "policy.yaml",
        "--listen-port", str(free_port()),
        "--set", f"confdir={tmp_path / 'confdir'}",
        "--set", f"{option}={tmp_path / 'flows'}",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=120)
    assert done.returncode == 2
    assert f"PixelGate refuses {option}: it would write request content" in done.stderr.decode()
    assert [p.name for p in tmp_path.iterdir()] == ["policy.yaml"]  # no flows, CA or audit


KEY = "fingerprint-key-7b1e0c"
PROMPT = "prompt-marker-51d9 add a lighthouse"
BADGE_EMAIL = "noor.haddad@example.org"


@pytest.fixture(scope="module")
def fingerprinting(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Proxy]:
    text = policy_text(upstream, AUDIT)
    env = {"PIXELGATE_FINGERPRINT_KEY": KEY}
    handle = start_proxy(tmp_path_factory.mktemp("fingerprints"), text, upstream, env=env)
    yield handle
    stop_proxy(handle)


def test_fingerprints_count_repeated_images_without_storing_them(
    fingerprinting: Proxy, upstream: Upstream
) -> None:
    badge, scene = encode(text_card(["Visitor badge", BADGE_EMAIL])), encode(landscape())
    with fingerprinting.openai_client(upstream) as client:
        for image in (badge, scene, badge):
            client.images.edit(image=("upload.png", image, "image/png"), prompt=PROMPT)
    events = fingerprinting.events()
    assert [sorted(e["findings"]) for e in events] == [["image_text"], [], ["image_text"]]
    first, other, again = (e["fingerprint"] for e in events)
    assert first == again != other
    planted = [PROMPT, BADGE_EMAIL, KEY, "prompt-marker"]
    for image in (badge, scene):
        middle = len(image) // 2
        planted_bytes = [image, image[middle : middle + 32], base64.b64encode(image)[:64]]
        assert not any(b in fingerprinting.audit.read_bytes() for b in planted_bytes)
    for path in fingerprinting.written_files():
        if path.name == "policy.yaml":
            continue
        data = path.read_bytes()
        for value in planted:
            assert value.encode() not in data, f"{value!r} found in {path.name}"
