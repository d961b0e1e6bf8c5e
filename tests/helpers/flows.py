"""mitmproxy test flows for the addon's unit tests."""

from __future__ import annotations

from mitmproxy.test import tflow, tutils


def openai_flow(body: bytes) -> tflow.HTTPFlow:
    """A decrypted POST /v1/images/generations to api.openai.com whose names all agree."""
    request = tutils.treq(
        host="api.openai.com",
        port=443,
        scheme=b"https",
        authority=b"api.openai.com",
        path=b"/v1/images/generations",
        method=b"POST",
        headers=[
            (b"content-type", b"application/json"),
            (b"host", b"api.openai.com"),
            (b"content-length", str(len(body)).encode()),
        ],
        content=body,
    )
    flow = tflow.tflow(req=request)
    flow.client_conn.sni = "api.openai.com"  # the TLS server name matches the request
    return flow
