"""Regenerate the Hugging Face wire fixtures from huggingface_hub: `python make_fixtures.py`.

InferenceClient talks through `set_client_factory` to an httpx.MockTransport that records
each request; the body goes to `<name>.http`, method, path and headers to `<name>.json`.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import huggingface_hub
from huggingface_hub import InferenceClient
from huggingface_hub.utils import set_client_factory

HERE = Path(__file__).parent
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
MODEL = "black-forest-labs/FLUX.1-schnell"


def record() -> dict[str, httpx.Request]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})

    set_client_factory(lambda: httpx.Client(transport=httpx.MockTransport(handler)))
    out: dict[str, httpx.Request] = {}
    url = f"https://router.huggingface.co/hf-inference/models/{MODEL}"
    InferenceClient(model=url, token="hf_fixture").text_to_image(
        "An astronaut riding a horse", negative_prompt="blurry", width=768, height=512,
        guidance_scale=3.5, num_inference_steps=4, seed=7,
    )  # fmt: skip
    out["text_to_image"] = seen[-1]
    InferenceClient(model=url, token="hf_fixture").image_to_image(
        PNG, prompt="Turn it into a watercolour", negative_prompt="text",
        target_size={"width": 512, "height": 512},
    )  # fmt: skip
    out["image_to_image"] = seen[-1]
    InferenceClient(model=url, token="hf_fixture").image_to_image(PNG)
    out["image_to_image_raw"] = seen[-1]
    return out


def main() -> None:
    for name, request in record().items():
        (HERE / f"{name}.http").write_bytes(request.content)
        headers = {"accept": request.headers.get("accept", "")}
        if "content-type" in request.headers:
            headers["content-type"] = request.headers["content-type"]
        meta = {
            "method": request.method,
            "path": request.url.raw_path.decode("ascii"),
            "headers": headers,
            "source": f"huggingface_hub {huggingface_hub.__version__}, httpx {httpx.__version__}",
        }
        (HERE / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
