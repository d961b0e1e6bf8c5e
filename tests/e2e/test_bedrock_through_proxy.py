"""boto3's bedrock-runtime client through the real proxy to a TLS upstream on loopback.

InvokeModel bodies are covered by a SigV4 signature, so the proxy never rewrites them: a
redaction becomes a block (no local model) or a reroute (the tiny local pipeline).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError
from helpers.e2e import (
    PNG_1x1,
    Proxy,
    Received,
    Upstream,
    policy_text,
    proxy_fixture,
    start_proxy,
    stop_proxy,
    upstream_fixture,
)
from helpers.tiny_sd import tiny_pipeline_dir

pytestmark = pytest.mark.e2e

EMAIL = "jane.doe@example.org"
CARD = "4111 1111 1111 1111"
MODEL = "amazon.nova-canvas-v1:0"
RULES = """mode: enforce
on_error: block
rules:
  - {id: no-payment-data, entities: [CREDIT_CARD], action: block}
  - {id: contact-details, entities: [EMAIL_ADDRESS], action: redact}
"""


def titan_answer(request: Received) -> tuple[int, dict[str, str], bytes]:
    payload = {"images": [base64.b64encode(PNG_1x1).decode()], "error": None}
    return 200, {"content-type": "application/json"}, json.dumps(payload).encode()


upstream = upstream_fixture(titan_answer)

proxy = proxy_fixture("bedrock", RULES)


def bedrock(proxy: Proxy, upstream: Upstream, sent: list[Any] | None = None) -> Any:
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=f"https://localhost:{upstream.port}",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="x",
        verify=str(proxy.ca),
        config=botocore.config.Config(
            proxies={"https": f"http://127.0.0.1:{proxy.port}"}, retries={"max_attempts": 1}
        ),
    )
    if sent is not None:
        client.meta.events.register(
            "before-send.bedrock-runtime.InvokeModel", lambda request, **_: sent.append(request)
        )
    return client


def body(prompt: str) -> str:
    return json.dumps(
        {
            "taskType": "TEXT_IMAGE",
            "textToImageParams": {"text": prompt},
            "imageGenerationConfig": {"numberOfImages": 1, "width": 512, "height": 512},
        }
    )


def test_clean_request_arrives_byte_for_byte_with_its_signature(
    proxy: Proxy, upstream: Upstream
) -> None:
    upstream.clear()
    sent: list[Any] = []
    result = bedrock(proxy, upstream, sent).invoke_model(
        modelId=MODEL, body=body("A lighthouse at dawn"), contentType="application/json"
    )
    assert result["ResponseMetadata"]["HTTPHeaders"]["x-pixelgate-decision"] == "allow"
    assert json.loads(result["body"].read())["images"]
    (received,) = upstream.received
    assert received.body == sent[0].body
    assert received.headers["authorization"].encode() == sent[0].headers["Authorization"]
    assert received.path == "/model/amazon.nova-canvas-v1%3A0/invoke"


def test_redaction_of_a_signed_body_becomes_a_block_without_a_local_model(
    proxy: Proxy, upstream: Upstream
) -> None:
    upstream.clear()
    with pytest.raises(ClientError) as caught:
        bedrock(proxy, upstream).invoke_model(modelId=MODEL, body=body(f"A card for {EMAIL}"))
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert EMAIL not in str(caught.value)
    assert upstream.received == []
    event = proxy.events()[-1]
    assert event["provider"] == "bedrock" and event["action"] == "block"
    assert any("SigV4-signed" in reason for reason in event["reasons"])  # type: ignore[union-attr]


def test_block_is_a_client_error_and_nothing_goes_upstream(
    proxy: Proxy, upstream: Upstream
) -> None:
    upstream.clear()
    with pytest.raises(ClientError) as caught:
        bedrock(proxy, upstream).invoke_model(modelId=MODEL, body=body(f"Receipt for {CARD}"))
    error = caught.value.response["Error"]
    assert error["Code"] == "AccessDeniedException" and "no-payment-data" in error["Message"]
    assert "4111" not in str(caught.value.response)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert upstream.received == []


def test_streaming_invocation_is_refused(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    with pytest.raises(ClientError) as caught:
        bedrock(proxy, upstream).invoke_model_with_response_stream(
            modelId=MODEL, body=body("A lighthouse")
        )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert upstream.received == []


def test_with_a_local_model_the_signed_redaction_is_rerouted(
    tmp_path: Path, upstream: Upstream
) -> None:
    fallback = f'fallback: {{model: "{tiny_pipeline_dir()}", native_size: 64}}\n'
    local = start_proxy(
        tmp_path / "reroute", policy_text(upstream, RULES + fallback, "bedrock"), upstream
    )
    try:
        upstream.clear()
        result = bedrock(local, upstream).invoke_model(
            modelId=MODEL, body=body(f"A card for {EMAIL}")
        )
        payload = json.loads(result["body"].read())
        (image,) = payload["images"]
        assert base64.b64decode(image).startswith(b"\x89PNG")
        assert result["ResponseMetadata"]["HTTPHeaders"]["x-pixelgate-decision"] == "reroute"
        assert upstream.received == []
        assert any("SigV4-signed" in r for r in local.events()[-1]["reasons"])  # type: ignore[union-attr]
    finally:
        stop_proxy(local)
