"""Regenerate the Bedrock wire fixtures from botocore: `python make_fixtures.py`.

boto3's bedrock-runtime client signs each InvokeModel request and hands it to a
`before-send` hook that records it instead of sending it. Bodies are the request bodies the
AWS model-parameter pages document for each model family (Titan Image, Nova Canvas,
Stability, SDXL). Credentials are fixed; the signature and date change on every run.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import boto3
import botocore
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

HERE = Path(__file__).parent
PNG = base64.b64encode(
    base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
    )
).decode()
AWS_DOCS = "AWS Bedrock user guide, model-parameters"

CASES: dict[str, tuple[str, dict[str, object], str]] = {
    "titan_text_image": (
        "amazon.titan-image-generator-v2:0",
        {
            "taskType": "TEXT_IMAGE",
            "textToImageParams": {"text": "A lighthouse at dawn", "negativeText": "fog"},
            "imageGenerationConfig": {
                "numberOfImages": 2, "height": 768, "width": 1280, "cfgScale": 8.0, "seed": 42,
            },
        },
        f"{AWS_DOCS}-titan-image (TEXT_IMAGE)",
    ),
    "titan_inpainting": (
        "amazon.titan-image-generator-v1",
        {
            "taskType": "INPAINTING",
            "inPaintingParams": {
                "image": PNG, "text": "A red balloon", "negativeText": "people",
                "maskPrompt": "the window",
            },
            "imageGenerationConfig": {"numberOfImages": 1},
        },
        f"{AWS_DOCS}-titan-image (INPAINTING)",
    ),
    "nova_variation": (
        "amazon.nova-canvas-v1:0",
        {
            "taskType": "IMAGE_VARIATION",
            "imageVariationParams": {
                "images": [PNG, PNG], "text": "In autumn colours", "similarityStrength": 0.7,
            },
            "imageGenerationConfig": {"numberOfImages": 1, "quality": "standard"},
        },
        "AWS Nova user guide, image-gen-req-resp-structure (IMAGE_VARIATION)",
    ),
    "stability_sd35": (
        "us.stability.sd3-5-large-v1:0",
        {
            "prompt": "A fox in the snow", "negative_prompt": "blurry", "mode": "text-to-image",
            "aspect_ratio": "16:9", "seed": 7, "output_format": "png",
        },
        f"{AWS_DOCS}-diffusion-3-5-large",
    ),
    "sdxl": (
        "stability.stable-diffusion-xl-v1",
        {
            "text_prompts": [{"text": "A castle", "weight": 1}, {"text": "ugly", "weight": -1}],
            "cfg_scale": 10, "seed": 0, "steps": 30, "samples": 1, "width": 1024,
            "height": 1024, "style_preset": "photographic",
        },
        f"{AWS_DOCS}-diffusion-1-0-text-image",
    ),
}  # fmt: skip


def record() -> dict[str, AWSPreparedRequest]:
    seen: list[AWSPreparedRequest] = []

    def capture(request: AWSPreparedRequest, **_: object) -> AWSResponse:
        seen.append(request)
        return AWSResponse(request.url, 200, {"content-type": "application/json"}, None)  # type: ignore[arg-type]

    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="fixture-secret",
    )
    client.meta.events.register("before-send.bedrock-runtime.InvokeModel", capture)
    out: dict[str, AWSPreparedRequest] = {}
    for name, (model, body, _) in CASES.items():
        try:
            client.invoke_model(
                modelId=model, body=json.dumps(body), contentType="application/json",
                accept="application/json",
            )  # fmt: skip
        except Exception:  # noqa: BLE001,S110 - the empty fake answer does not parse
            pass
        out[name] = seen[-1]
    return out


def main() -> None:
    for name, request in record().items():
        body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        (HERE / f"{name}.http").write_bytes(body)
        meta = {
            "method": request.method,
            "path": request.url.split("amazonaws.com", 1)[1],
            "headers": {
                k.lower(): v.decode() if isinstance(v, bytes) else v
                for k, v in request.headers.items()
                if k.lower() != "user-agent"
            },
            "source": f"{CASES[name][2]}; signed by botocore {botocore.__version__}",
        }
        (HERE / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
