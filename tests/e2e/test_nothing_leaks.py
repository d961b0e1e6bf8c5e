"""Proof that nothing leaks: a mixed workload with planted personal data across providers,
actions and failures, then every file the proxy wrote (audit, logs, its config directory, its
temp directory) and its stdout and stderr are searched for every planted value."""

from __future__ import annotations

import base64
import stat
from collections.abc import Iterator

import pytest
from helpers.e2e import (
    Proxy,
    Upstream,
    openai_answer,
    providers_yaml,
    several_upstreams,
    start_proxy,
    stop_proxy,
)
from helpers.images import encode, landscape, text_card, with_gps
from helpers.tiny_sd import tiny_pipeline_dir

pytestmark = pytest.mark.e2e

EMAIL = "mariana.kowalczyk@example.pl"
CARD = "4111 1111 1111 1111"
PHONE = "+44 20 7946 0958"
CODENAME = "Bluebird"
PROVIDERS = ("openai", "google", "replicate", "stability", "bedrock")
OCR_CARD = encode(text_card([f"Write to {EMAIL}", "about the invoice"]))
GPS_PHOTO = with_gps(landscape())


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Upstream]]:
    with several_upstreams(tmp_path_factory, dict.fromkeys(PROVIDERS, openai_answer)) as ups:
        yield ups


@pytest.fixture(scope="module")
def proxy(
    tmp_path_factory: pytest.TempPathFactory, upstreams: dict[str, Upstream]
) -> Iterator[Proxy]:
    policy = f"""version: 1
{providers_yaml(upstreams)}
audit: {{path: audit.jsonl, fingerprint_key_env: LEAK_TEST_KEY}}
recognizers:
  - {{entity: PROJECT_CODENAME, deny_list: [{CODENAME}]}}
rules:
  - {{id: no-payment-data, entities: [CREDIT_CARD], action: block}}
  - {{id: contact-details, entities: [EMAIL_ADDRESS, PHONE_NUMBER], min_score: 0.4, action: redact}}
  - {{id: photo-metadata, entities: [GPS_LOCATION, DEVICE_ID], sources: [metadata], action: redact}}
  - {{id: keep-home, entities: [PROJECT_CODENAME], action: reroute}}
fallback: {{model: "{tiny_pipeline_dir()}", native_size: 64}}
limits: {{max_prompt_chars: 5000}}
"""
    workdir = tmp_path_factory.mktemp("leaks")
    (workdir / "tmp").mkdir()
    (workdir / "home").mkdir()
    env = {
        "TMPDIR": str(workdir / "tmp"),
        "HOME": str(workdir / "home"),
        "LEAK_TEST_KEY": "operator-secret",
    }
    handle = start_proxy(workdir, policy, upstreams["openai"], env=env)
    yield handle
    stop_proxy(handle)


def workload(proxy: Proxy, upstreams: dict[str, Upstream]) -> list[int]:
    def url(provider: str, path: str) -> str:
        return f"https://localhost:{upstreams[provider].port}{path}"

    b64 = base64.b64encode(OCR_CARD).decode()
    photo = base64.b64encode(GPS_PHOTO).decode()
    requests: list[tuple[str, str, dict[str, object]]] = [
        ("openai", "/v1/images/generations", {"json": {"prompt": "A watercolor lighthouse"}}),
        ("openai", "/v1/images/generations", {"json": {"prompt": f"A card for {EMAIL}"}}),
        ("openai", "/v1/images/generations", {"json": {"prompt": f"Pay with {CARD}"}}),
        ("openai", "/v1/images/generations", {"json": {"prompt": f"{CODENAME} launch"}}),
        ("openai", "/v1/images/generations", {"json": {"prompt": f"call {PHONE}", "user": EMAIL}}),
        ("openai", "/v1/images/edits", {"data": {"prompt": f"fix {EMAIL}"},
                                        "files": {"image": ("a.png", OCR_CARD, "image/png")}}),
        ("openai", "/v1/responses", {"json": {"model": "m", "input": [{"role": "user", "content": [
            {"type": "input_text", "text": f"draw {EMAIL}"},
            {"type": "input_image", "image_url": f"data:image/jpeg;base64,{photo}"}]}]}}),
        ("openai", "/v1/images/edits", {"json": {"prompt": "x", "images": [
            {"image_url": f"https://{EMAIL.replace('@', '.')}/{CARD}.png"}]}}),
        ("google", "/v1beta/models/gemini-2.5-flash-image:generateContent", {"json": {
            "systemInstruction": {"parts": [{"text": f"user is {EMAIL}"}]},
            "contents": [{"role": "user", "parts": [
                {"text": f"a postcard, {PHONE}"},
                {"inlineData": {"mimeType": "image/png", "data": b64}}]}]}}),
        ("replicate", "/v1/models/o/n/predictions", {"json": {"input": {
            "prompt": f"{CODENAME} poster", "image": f"data:image/png;base64,{b64}"}}}),
        ("stability", "/v2beta/stable-image/generate/core", {
            "data": {"prompt": f"mail {EMAIL}", "negative_prompt": CARD},
            "files": {"none": ("", b"")}}),
        ("bedrock", "/model/amazon.titan-image-generator-v2%3A0/invoke", {"json": {
            "taskType": "TEXT_IMAGE", "textToImageParams": {"text": f"letter to {EMAIL}"}},
            "headers": {"authorization": f"AWS4-HMAC-SHA256 Credential=AKID/{EMAIL}"}}),
        # Broken and unsupported requests carrying the same values.
        ("openai", f"/v1/embeddings?u={EMAIL}", {"json": {"input": EMAIL}}),
        ("openai", "/v1/images/generations", {"content": f'{{"prompt": "{EMAIL}"'.encode(),
                                              "headers": {"content-type": "application/json"}}),
        ("openai", "/v1/images/generations", {"json": {"prompt": EMAIL + "x" * 6000}}),
        ("google", f"/v1beta/models/{EMAIL}:embedContent", {"json": {"content": EMAIL}}),
        ("replicate", "/v1/predictions", {"json": {"version": EMAIL, "input": {"prompt": 1}}}),
        ("stability", "/v2beta/stable-image/generate/core", {
            "content": f"--b\r\nContent-Disposition: form-data; name=\"{EMAIL}\"\r\n\r\n{CARD}"
            .encode(), "headers": {"content-type": "multipart/form-data; boundary=b"}}),
        ("bedrock", "/model/amazon.titan-image-generator-v2%3A0/invoke", {"json": {
            "taskType": EMAIL, f"{EMAIL}Params": {"text": CARD}}}),
    ]  # fmt: skip
    statuses = []
    with proxy.http_client() as client:
        for provider, path, kwargs in requests:
            response = client.post(url(provider, path), **kwargs)  # type: ignore[arg-type]
            statuses.append(response.status_code)
    return statuses


def planted() -> dict[str, bytes]:
    values = {v: v.encode() for v in (EMAIL, CARD, PHONE, CODENAME, "4111111111111111")}
    values["email local part"] = b"mariana.kowalczyk"
    values["OCR text"] = b"about the invoice"
    values["image bytes"] = OCR_CARD[200:264]
    values["image base64"] = base64.b64encode(OCR_CARD)[400:480]
    values["photo bytes"] = GPS_PHOTO[300:364]
    values["fingerprint key"] = b"operator-secret"
    values["auth header"] = b"AWS4-HMAC-SHA256 Credential"
    return values


def test_a_mixed_workload_leaves_no_planted_value_anywhere(
    proxy: Proxy, upstreams: dict[str, Upstream]
) -> None:
    statuses = workload(proxy, upstreams)
    assert 200 in statuses and 403 in statuses and 400 in statuses  # every kind of outcome
    events = proxy.events()
    assert {e["action"] for e in events} >= {"allow", "redact", "block", "reroute"}
    assert {e["provider"] for e in events} == set(PROVIDERS)
    stop_proxy(proxy)  # flush and close everything it writes
    files = [p for p in proxy.written_files() if p.name != "policy.yaml"]
    assert proxy.audit in files and proxy.stdout in files and proxy.ca in files
    hits = [
        f"{name} in {path.relative_to(proxy.workdir)}"
        for path in files
        for name, value in planted().items()
        if value in path.read_bytes()
    ]
    assert hits == []
    # Nothing outside its audit file and config directory: no library caches or telemetry.
    assert [p.relative_to(proxy.workdir) for p in files if "home" in p.parts] == []


def test_the_ca_private_key_is_readable_by_its_owner_only(proxy: Proxy) -> None:
    for key in proxy.confdir.glob("mitmproxy-ca*.pem"):
        if b"PRIVATE KEY" in key.read_bytes():
            assert stat.S_IMODE(key.stat().st_mode) & 0o077 == 0, key.name


def test_what_reached_the_upstreams_carries_none_of_the_values(
    upstreams: dict[str, Upstream],
) -> None:
    photo = base64.b64encode(GPS_PHOTO)[600:680]
    for name, up in upstreams.items():
        for received in up.received:
            for value in (EMAIL.encode(), b"4111", CODENAME.encode(), photo, GPS_PHOTO[300:364]):
                assert value not in received.body, name
