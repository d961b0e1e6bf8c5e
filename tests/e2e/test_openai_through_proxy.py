"""The real proxy process between the official openai SDK and a TLS upstream on loopback."""

from __future__ import annotations

import gzip
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from helpers.e2e import (
    PNG_1x1,
    Proxy,
    Upstream,
    multipart_fields,
    policy_text,
    start_proxy,
    stop_proxy,
    tls_tunnel,
)

pytestmark = pytest.mark.e2e

EMAIL = "jane.doe@example.org"
CARD = "4111 1111 1111 1111"
EMPLOYEE = "EMP-482913"
CLEAN = "A watercolor lighthouse on a cliff at dawn, seagulls, soft light"
PLANTED = (EMAIL, CARD, EMPLOYEE, "4111111111111111", "lighthouse on a cliff")

ENFORCE = """mode: enforce
on_error: block
default_action: allow
recognizers:
  - {entity: EMPLOYEE_ID, patterns: [{regex: 'EMP-\\d{6}', score: 0.9}]}
rules:
  - {id: no-payment-data, entities: [CREDIT_CARD, IBAN_CODE, US_SSN], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS, PHONE_NUMBER], min_score: 0.4, action: redact}
  - {id: employee-ids, entities: [EMPLOYEE_ID], action: redact}
redaction: {EMAIL_ADDRESS: "an email address", default: "<{entity}>"}
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: Upstream) -> Iterator[Proxy]:
    # Embeddings are a text API on the same host: listed as passthrough, so they pass.
    policy = policy_text(upstream, ENFORCE).replace(
        "{hosts:", "{passthrough: [/v1/embeddings], hosts:"
    )
    handle = start_proxy(tmp_path_factory.mktemp("enforce"), policy, upstream)
    yield handle
    stop_proxy(handle)


def test_clean_prompt_arrives_byte_for_byte(proxy: Proxy, upstream: Upstream) -> None:
    sent: list[bytes] = []
    http_client = proxy.http_client()
    http_client.event_hooks["request"] = [lambda r: sent.append(r.read())]
    with openai.OpenAI(
        api_key="sk-test",
        base_url=f"https://localhost:{upstream.port}/v1",
        http_client=http_client,
        max_retries=0,
    ) as client:
        upstream.clear()
        raw = client.images.with_raw_response.generate(prompt=CLEAN, size="1024x1024", n=1)
    assert raw.headers["x-pixelgate-decision"] == "allow"
    assert raw.parse().data[0].b64_json
    assert [r.body for r in upstream.received] == sent


def test_email_in_prompt_is_replaced_before_upstream(
    client: openai.OpenAI, upstream: Upstream
) -> None:
    raw = client.images.with_raw_response.generate(
        prompt=f"A birthday card for {EMAIL} with balloons", model="gpt-image-1", size="1024x1024"
    )
    assert raw.headers["x-pixelgate-decision"] == "redact"
    (received,) = upstream.received
    body = json.loads(received.body)
    assert body["prompt"] == "A birthday card for an email address with balloons"
    assert body["model"] == "gpt-image-1" and body["size"] == "1024x1024"
    assert int(received.headers["content-length"]) == len(received.body)


def test_card_number_is_blocked_and_upstream_sees_nothing(
    client: openai.OpenAI, upstream: Upstream
) -> None:
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.images.generate(prompt=f"A receipt showing card {CARD}")
    assert caught.value.code == "pii_blocked"
    assert "no-payment-data" in caught.value.message and "CREDIT_CARD" in caught.value.message
    assert CARD not in caught.value.message and "4111" not in str(caught.value.body)
    assert caught.value.response.headers["x-pixelgate-decision"] == "block"
    assert upstream.received == []


def test_edit_prompt_is_redacted_and_image_bytes_are_identical(
    client: openai.OpenAI, upstream: Upstream
) -> None:
    client.images.edit(
        image=("photo.png", PNG_1x1, "image/png"),
        prompt=f"Add a name tag reading {EMPLOYEE}",
        size="1024x1024",
    )
    (received,) = upstream.received
    fields = multipart_fields(received.body, received.headers["content-type"])
    assert fields["image"] == PNG_1x1
    assert fields["prompt"] == b"Add a name tag reading <EMPLOYEE_ID>"
    assert fields["size"] == b"1024x1024"


def test_gzip_encoded_body_is_inspected(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    body = json.dumps({"prompt": f"Poster for {EMAIL}"}).encode()
    with proxy.http_client() as http:
        response = http.post(
            f"https://localhost:{upstream.port}/v1/images/generations",
            content=gzip.compress(body),
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
    assert response.headers["x-pixelgate-decision"] == "redact"
    (received,) = upstream.received
    assert json.loads(gzip.decompress(received.body))["prompt"] == "Poster for an email address"


@pytest.mark.parametrize(
    ("path", "content", "content_type", "status", "code"),
    [
        ("/v1/images/generations", b'{"prompt": "unterminated', "application/json", 400,
         "pixelgate_malformed_request"),
        ("/v1/images/generations", b'{"prompt": "a cat"}', "text/plain", 400,
         "pixelgate_malformed_request"),
        ("/v1/images/generations", json.dumps({"prompt": "x" * 1_000_000}).encode(),
         "application/json", 413, "pixelgate_request_too_large"),
        ("/v1/images/edits", b"--b\r\nContent-Disposition: form-data; name=\"size\"\r\n\r\n"
         b"1024x1024\r\n--b--\r\n", "multipart/form-data; boundary=b", 400,
         "pixelgate_malformed_request"),
        ("/v1/moderations", b'{"input": "x"}', "application/json", 403,
         "pixelgate_unsupported_endpoint"),
        ("/v1/chat/completions", b'{"messages": []}', "application/json", 400,
         "pixelgate_malformed_request"),
    ],
    ids=["malformed-json", "wrong-content-type", "1mb-prompt", "multipart-no-prompt",
         "unknown-endpoint", "chat-without-user-text"],
)  # fmt: skip
def test_bad_input_gets_a_clear_openai_error_and_is_not_forwarded(
    proxy: Proxy, upstream: Upstream, path: str, content: bytes, content_type: str, status: int,
    code: str,
) -> None:  # fmt: skip
    upstream.clear()
    with proxy.http_client() as http:
        response = http.post(
            f"https://localhost:{upstream.port}{path}",
            content=content,
            headers={"content-type": content_type},
        )
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert response.headers["x-pixelgate-decision"] == "block"
    assert upstream.received == []


def test_bodyless_request_to_provider_passes(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    with proxy.http_client() as http:
        response = http.get(f"https://localhost:{upstream.port}/v1/models")
    assert response.status_code == 200
    assert response.headers["x-pixelgate-decision"] == "allow"
    assert len(upstream.received) == 1


def _tls_through(proxy: Proxy, target: str, sni: str | None, trust: Path) -> ssl.SSLSocket:
    return tls_tunnel(proxy.port, target, trust, sni)


def test_other_https_hosts_are_tunnelled_not_decrypted(proxy: Proxy, upstream: Upstream) -> None:
    # Trusting only the upstream's own certificate: the handshake succeeds only if the proxy
    # passed it through instead of answering with a certificate of its own.
    target = f"127.0.0.1:{upstream.port}"
    with _tls_through(proxy, target, "not-a-provider.test", upstream.cert) as tls:
        tls.sendall(b"GET /v1/models HTTP/1.1\r\nHost: not-a-provider.test\r\n\r\n")
        assert tls.recv(4096).startswith(b"HTTP/1.1 200 OK\r\nServer: BaseHTTP")


def test_a_connection_naming_no_host_is_decrypted_so_its_host_header_decides(
    proxy: Proxy, upstream: Upstream
) -> None:
    # An address and no SNI: only the Host header says where the request goes, and a
    # provider's front end may route by it, so the proxy answers the handshake itself.
    target = f"127.0.0.1:{upstream.port}"
    with pytest.raises(ssl.SSLCertVerificationError):
        _tls_through(proxy, target, None, upstream.cert)
    with _tls_through(proxy, target, None, proxy.ca) as tls:
        tls.sendall(b"GET /v1/models HTTP/1.1\r\nHost: not-a-provider.test\r\n\r\n")
        answer = tls.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200") and b"x-pixelgate-decision" not in answer.lower()


def test_a_passthrough_endpoint_is_forwarded_as_sent_and_others_stay_refused(
    proxy: Proxy, upstream: Upstream
) -> None:
    upstream.clear()
    with proxy.openai_client(upstream) as client:
        client.embeddings.create(
            model="text-embedding-3-small", input="write to a@b.example", encoding_format="float"
        )
        with pytest.raises(openai.PermissionDeniedError):
            client.moderations.create(input="write to a@b.example")
    assert [r.path for r in upstream.received] == ["/v1/embeddings"]
    assert b"a@b.example" in upstream.received[0].body  # as the policy says: uninspected
    passed, refused = proxy.events()[-2:]
    assert (passed["rule"], passed["action"]) == ("passthrough", "allow")
    assert refused["error"] == "pixelgate_unsupported_endpoint"


def test_every_inspected_request_has_one_content_free_audit_event(proxy: Proxy) -> None:
    events = proxy.events()
    assert events, "no audit events written"
    for event in events:
        assert {"time", "request_id", "mode", "provider", "operation", "action", "rule"} <= set(
            event
        )
        assert event["provider"] == "openai"
    assert len({e["request_id"] for e in events}) == len(events)
    blocked = [e for e in events if e["rule"] == "no-payment-data"]
    assert blocked and blocked[0]["findings"]["prompt"]["CREDIT_CARD"] == 1


def test_no_planted_value_in_any_file_or_output(proxy: Proxy) -> None:
    # Runs last in this module: everything above has gone through this proxy.
    files = proxy.written_files()
    assert proxy.stdout in files and proxy.audit in files
    for path in files:
        data = path.read_bytes()
        for value in PLANTED:
            assert value.encode() not in data, f"{value!r} found in {path.name}"
