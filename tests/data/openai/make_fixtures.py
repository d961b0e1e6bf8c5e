"""Regenerate the OpenAI wire fixtures from the official SDK: `python make_fixtures.py`.

The SDK talks to an httpx.MockTransport that records each request; the body goes to
`<name>.http` and method, path and content-type to `<name>.json`. PNGs and the multipart
boundary are fixed, so a rerun with the same SDK and httpx gives the same bytes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import openai

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from fixture_kit import png, write_request  # noqa: E402

BOUNDARY = "pixelgate-fixture-boundary"
FORM = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def record() -> dict[str, httpx.Request]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(200, json={"created": 0, "data": []})

    client = openai.OpenAI(
        api_key="sk-fixture", http_client=httpx.Client(transport=httpx.MockTransport(handler))
    )
    red, blue, mask = png((255, 0, 0)), png((0, 0, 255)), png((0, 0, 0))
    out: dict[str, httpx.Request] = {}
    client.images.generate(
        model="gpt-image-1", prompt="A watercolour fox in the snow", n=1, size="1024x1024"
    )
    out["generate"] = seen[-1]
    client.images.edit(
        image=("red.png", red, "image/png"),
        prompt="Give the square a hat",
        model="gpt-image-1",
        user="user-1234",
        extra_headers=FORM,
    )
    out["edit_single"] = seen[-1]
    client.images.edit(
        image=[("red.png", red, "image/png"), ("blue.png", blue, "image/png")],
        prompt="Merge the two squares",
        model="gpt-image-1",
        extra_headers=FORM,
    )
    out["edit_multi"] = seen[-1]
    client.images.edit(
        image=("red.png", red, "image/png"),
        mask=("mask.png", mask, "image/png"),
        prompt="Paint a sun in the masked area",
        model="dall-e-2",
        n=2,
        size="256x256",
        response_format="b64_json",
        extra_headers=FORM,
    )
    out["edit_mask"] = seen[-1]
    client.images.create_variation(
        image=("red.png", red, "image/png"), n=1, size="256x256", extra_headers=FORM
    )
    out["variation"] = seen[-1]
    return out


def record_azure() -> dict[str, tuple[str, httpx.Request]]:
    """The AzureOpenAI client's URL shapes: a deployment from the model name, a deployment
    fixed on the client (Azure AI Foundry's cognitiveservices host), and the Responses API
    (not a deployments endpoint). Each with the host it was sent to."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(200, json={"created": 0, "data": []})

    def azure(endpoint: str, deployment: str | None = None) -> openai.AzureOpenAI:
        return openai.AzureOpenAI(
            api_key="azure-fixture-key",
            api_version="2025-04-01-preview",
            azure_endpoint=endpoint,
            azure_deployment=deployment,
            http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        )

    red = png((255, 0, 0))
    openai_host = "https://fixture-resource.openai.azure.com"
    foundry_host = "https://fixture-foundry.cognitiveservices.azure.com"
    out: dict[str, tuple[str, httpx.Request]] = {}
    azure(openai_host).images.generate(
        model="gpt-image-1-deployment", prompt="A watercolour fox in the snow", size="1024x1024"
    )
    out["azure_generate"] = (openai_host, seen[-1])
    azure(foundry_host, "flux-kontext").images.edit(
        image=("red.png", red, "image/png"),
        prompt="Give the square a hat",
        model="ignored-when-the-deployment-is-fixed",
        extra_headers=FORM,
    )
    out["azure_foundry_edit"] = (foundry_host, seen[-1])
    try:
        azure(openai_host).responses.create(
            model="gpt-4.1-deployment",
            input="Draw a lighthouse",
            tools=[{"type": "image_generation"}],
        )
    except Exception:  # the recorded request is all that is wanted, not the parsed answer
        pass
    out["azure_responses"] = (openai_host, seen[-1])
    return out


def main() -> None:
    source = f"openai-python {openai.__version__}, httpx {httpx.__version__}"
    for name, request in record().items():
        write_request(HERE, name, request, source)
    for name, (host, request) in record_azure().items():
        write_request(HERE, name, request, source)
        meta = json.loads((HERE / f"{name}.json").read_text())
        meta = {"method": meta.pop("method"), "host": host.removeprefix("https://"), **meta}
        (HERE / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
