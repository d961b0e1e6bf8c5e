"""Regenerate the Replicate wire fixtures from the official SDK: `python make_fixtures.py`.

The replicate SDK talks to an httpx.MockTransport that records each request; the body goes
to `<name>.http` and method, path and content-type to `<name>.json`. `reference.*` is the
create-prediction example of Replicate's HTTP API reference and is not regenerated.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import httpx
import replicate

HERE = Path(__file__).parent
SDXL = "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc"


def png(rgb: tuple[int, int, int], size: int = 2) -> bytes:
    """A tiny valid PNG, so image detectors downstream can decode the fixtures."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    idat = zlib.compress(row * size, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


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
    for name, request in zip(names, seen, strict=True):
        (HERE / f"{name}.http").write_bytes(request.content)
        meta = {
            "method": request.method,
            "path": request.url.raw_path.decode(),
            "headers": {"content-type": request.headers["content-type"]},
            "source": f"replicate-python {replicate.__about__.__version__}, "
            f"httpx {httpx.__version__}",
        }
        (HERE / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
