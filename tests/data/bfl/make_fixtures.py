"""Regenerate the BFL wire fixtures: `python make_fixtures.py`.

BFL publishes no Python SDK: these are the documented request bodies (docs.bfl.ai API
reference, https://api.bfl.ai/openapi.json) sent with httpx as a client would, recorded by
an httpx.MockTransport. `reference.*` is the curl example of the Kontext guide, as written.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import httpx

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from fixture_kit import png, write_request  # noqa: E402

SOURCE = "BFL API reference (docs.bfl.ai, api.bfl.ai/openapi.json: {schema}), sent with httpx {v}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


CASES = {
    "generate": ("flux-pro-1.1", "FluxPro11Inputs", {
        "prompt": "A lighthouse on a cliff at dawn", "width": 1024, "height": 768,
        "prompt_upsampling": False, "seed": 42, "safety_tolerance": 2, "output_format": "jpeg",
    }),
    "kontext": ("flux-kontext-pro", "FluxKontextProInputs", {
        "prompt": "Make the square blue", "input_image": b64(png((255, 0, 0))),
        "input_image_2": "https://example.com/reference.png", "aspect_ratio": "16:9",
        "output_format": "png",
    }),
    "fill": ("flux-pro-1.0-fill", "FluxProFillInputs", {
        "image": b64(png((255, 0, 0))), "mask": b64(png((0, 0, 0))),
        "prompt": "A red balloon", "steps": 50, "guidance": 60, "output_format": "png",
    }),
    "ultra_webhook": ("flux-pro-1.1-ultra", "FluxUltraInput", {
        "prompt": "A castle in the clouds", "image_prompt": "data:image/png;base64,"
        + b64(png((0, 255, 0))), "image_prompt_strength": 0.1, "aspect_ratio": "21:9",
        "raw": False, "webhook_url": "https://example.com/bfl-hook", "webhook_secret": "s3cr3t",
    }),
}  # fmt: skip


def main() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(200, json={"id": "x", "polling_url": "https://api.bfl.ai/v1/x"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        for model, _, doc in CASES.values():
            client.post(f"https://api.bfl.ai/v1/{model}", json=doc, headers={"x-key": "k"})
    for (name, (_, schema, _)), request in zip(CASES.items(), seen, strict=True):
        write_request(HERE, name, request, SOURCE.format(schema=schema, v=httpx.__version__))


if __name__ == "__main__":
    main()
