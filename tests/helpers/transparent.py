"""Transparent mode in a private network namespace (`unshare -rn python -m ...`).

Run inside a fresh user + network namespace, where this process is root and owns the only
loopback: an iptables REDIRECT sends the client's connections (from 127.0.0.2) to the proxy,
which finds their original destination (127.0.0.1:<upstream>) by SO_ORIGINAL_DST; the proxy's
own connections leave from 127.0.0.1 and are not redirected. Prints one JSON line of results.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import openai
from helpers.e2e import policy_text, serve_upstream, start_proxy, stop_proxy

CLIENT_ADDRESS = "127.0.0.2"


def main(workdir: Path, policy_body: str, prompts: list[str]) -> dict[str, object]:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    upstream, server = serve_upstream(workdir)
    proxy = start_proxy(
        workdir / "proxy", policy_text(upstream, policy_body), upstream, "--set", "mode=transparent"
    )
    redirect = ["-p", "tcp", "-s", CLIENT_ADDRESS, "-d", "127.0.0.1", "--dport", str(upstream.port)]
    subprocess.run(
        ["iptables", "-t", "nat", "-A", "OUTPUT", *redirect,
         "-j", "REDIRECT", "--to-ports", str(proxy.port)],
        check=True,
    )  # fmt: skip
    results: list[dict[str, object]] = []
    try:
        # No HTTP proxy configured: the client believes it talks to the provider directly.
        transport = httpx.HTTPTransport(
            local_address=CLIENT_ADDRESS, verify=ssl.create_default_context(cafile=str(proxy.ca))
        )
        http = httpx.Client(transport=transport, timeout=60)
        with openai.OpenAI(
            api_key="sk-test-not-a-real-key", base_url=f"https://localhost:{upstream.port}/v1",
            http_client=http, max_retries=0,
        ) as client:  # fmt: skip
            for prompt in prompts:
                upstream.clear()
                try:
                    response = client.images.with_raw_response.generate(prompt=prompt).http_response
                except openai.APIStatusError as e:  # a block answers 4xx
                    response = e.response
                results.append(
                    {
                        "status": response.status_code,
                        "decision": response.headers.get("x-pixelgate-decision"),
                        "upstream_bodies": [r.body.decode() for r in upstream.received],
                    }
                )
    finally:
        stop_proxy(proxy)
        server.shutdown()
    return {"results": results, "events": [e["action"] for e in proxy.events()]}


if __name__ == "__main__":
    spec = json.loads(sys.argv[2])
    print(json.dumps(main(Path(sys.argv[1]), spec["policy"], spec["prompts"])))
