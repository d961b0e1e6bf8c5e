"""Regenerate the Replicate wire fixtures from the official SDK: `python make_fixtures.py`.

The replicate SDK talks to an httpx.MockTransport that records each request; the body goes
to `<name>.http` and method, path and content-type to `<name>.json`. `reference.*` is the
create-prediction example of Replicate's HTTP API reference and is not regenerated.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import httpx
import replicate

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from fixture_kit import png, write_request  # noqa: E402

SDXL = "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc"


def main() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        prediction = {"id": "x", "model": "m", "version": "v", "status": "succeeded"}
        return httpx.Response(201, json={**prediction, "output": None, "urls": {}})

    client = replicate.Client(api_token="r8_fixture", transport=httpx.MockTransport(handler))
    client.run(
        "black-forest-labs/flux-schnell",
        input={"prompt": "A lighthouse at dawn", "num_outputs": 2, "aspect_ratio": "16:9"},
    )
    client.predictions.create(
        version=SDXL,
        input={
            "prompt": "An astronaut riding a horse",
            "negative_prompt": "blurry",
            "width": 768,
            "height": 512,
            "num_outputs": 1,
        },
        webhook="https://example.com/replicate-webhook",
        webhook_events_filter=["completed"],
    )
    red = io.BytesIO(png((255, 0, 0)))
    red.name = "red.png"
    client.run(
        "black-forest-labs/flux-kontext-pro",
        input={"prompt": "Make it blue", "input_image": red, "output_format": "png"},
        file_encoding_strategy="base64",
    )
    client.predictions.create(
        deployment="acme/inpainter",
        input={
            "prompt": "A cat on the sofa",
            "image": "https://example.com/sofa.png",
            "mask": "https://example.com/sofa-mask.png",
        },
        wait=False,
    )
    names = ("run_model", "create_version", "run_data_uri", "deployment_links")
    source = f"replicate-python {replicate.__about__.__version__}, httpx {httpx.__version__}"
    for name, request in zip(names, seen, strict=True):
        write_request(HERE, name, request, source)


if __name__ == "__main__":
    main()
