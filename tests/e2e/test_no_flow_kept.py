"""No flow outlives its response: PixelGate's mitmproxy master, run in this process, holds
no request (and so no prompt or image) in memory once it has been answered."""

from __future__ import annotations

import asyncio
import gc
import ssl
from pathlib import Path

import httpx
import pytest
from helpers.e2e import Upstream, free_port, policy_text
from mitmproxy import http

from proxy.mitm.runner import build_master

pytestmark = pytest.mark.e2e

RULES = "rules:\n  - {id: contact, entities: [EMAIL_ADDRESS], action: redact}\n"


async def test_no_flow_is_kept_after_its_response(tmp_path: Path, upstream: Upstream) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        policy_text(upstream, RULES).replace("audit.jsonl", str(tmp_path / "a.jsonl"))
    )
    port = free_port()
    settings = [
        f"confdir={tmp_path / 'conf'}",
        f"ssl_verify_upstream_trusted_ca={upstream.cert}",
        "pixelgate_admin=",
    ]
    master, _ = build_master(str(policy), "127.0.0.1", port, settings)
    running = asyncio.create_task(master.run())
    try:
        ca = tmp_path / "conf" / "mitmproxy-ca-cert.pem"
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            break
        verify = ssl.create_default_context(cafile=str(ca))
        async with httpx.AsyncClient(
            proxy=f"http://127.0.0.1:{port}", verify=verify, timeout=30
        ) as client:
            url = f"https://localhost:{upstream.port}/v1/images/generations"
            for i in range(10):
                prompt = f"note {i} to jane.doe@example.com" if i % 2 else f"a harbour {i}"
                answer = await client.post(url, json={"prompt": prompt})
                assert answer.status_code == 200
        await asyncio.sleep(0.5)  # connections close
        gc.collect()
        kept = [o for o in gc.get_objects() if isinstance(o, http.HTTPFlow)]
        assert kept == []
    finally:
        master.shutdown()
        await asyncio.wait_for(running, 20)
