"""Regenerate the Stability wire fixtures: `python make_fixtures.py`.

There is no maintained official Python SDK for Stability's REST API; its API reference
(platform.stability.ai/docs/api-reference) documents each endpoint with a `requests` sample.
Each fixture rebuilds one documented request with httpx (same multipart/form-data and JSON
encoding): the body goes to `<name>.http`, method, path and headers to `<name>.json`. PNGs and
the boundary are fixed, so a rerun with the same httpx gives the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from fixture_kit import png, write_request  # noqa: E402

HOST = "https://api.stability.ai"
BOUNDARY = "pixelgate-fixture-boundary"
FORM = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
REFERENCE = "Stability REST API reference, platform.stability.ai/docs/api-reference"


RED, BLUE, MASK = png((255, 0, 0)), png((0, 0, 255)), png((255, 255, 255))


def form(path: str, accept: str, data: dict[str, str], files: dict[str, object]) -> httpx.Request:
    return httpx.Request(
        "POST", HOST + path, data=data, files=files, headers={**FORM, "accept": accept}
    )


def requests() -> dict[str, tuple[httpx.Request, str]]:
    v2 = "/v2beta/stable-image/"
    return {
        # The reference's own Python sample: `files={"none": ''}` only forces multipart.
        "core_sample": (
            form(
                v2 + "generate/core",
                "image/*",
                {"prompt": "Lighthouse on a cliff overlooking the ocean", "output_format": "webp"},
                {"none": ""},
            ),
            "POST /v2beta/stable-image/generate/core, Python sample",
        ),
        "ultra_json": (
            form(
                v2 + "generate/ultra",
                "application/json",
                {
                    "prompt": "A watercolour fox in the snow",
                    "negative_prompt": "blurry, text",
                    "aspect_ratio": "16:9",
                    "seed": "42",
                    "style_preset": "photographic",
                    "output_format": "png",
                },
                {"none": ""},
            ),
            "POST /v2beta/stable-image/generate/ultra, request schema",
        ),
        "sd3_image": (
            form(
                v2 + "generate/sd3",
                "image/*",
                {
                    "prompt": "The same square, in autumn colours",
                    "mode": "image-to-image",
                    "strength": "0.7",
                    "model": "sd3.5-large",
                    "output_format": "jpeg",
                },
                {"image": ("red.png", RED, "image/png")},
            ),
            "POST /v2beta/stable-image/generate/sd3 (image-to-image), request schema",
        ),
        "inpaint": (
            form(
                v2 + "edit/inpaint",
                "image/*",
                {
                    "prompt": "Paint a sun in the masked area",
                    "negative_prompt": "clouds",
                    "grow_mask": "5",
                    "output_format": "png",
                },
                {"image": ("red.png", RED, "image/png"), "mask": ("mask.png", MASK, "image/png")},
            ),
            "POST /v2beta/stable-image/edit/inpaint, request schema",
        ),
        "search_and_recolor": (
            form(
                v2 + "edit/search-and-recolor",
                "image/*",
                {"prompt": "a bright blue square", "select_prompt": "the red square"},
                {"image": ("red.png", RED, "image/png")},
            ),
            "POST /v2beta/stable-image/edit/search-and-recolor, request schema",
        ),
        "remove_background": (
            form(
                v2 + "edit/remove-background",
                "image/*",
                {"output_format": "webp"},
                {"image": ("red.png", RED, "image/png")},
            ),
            "POST /v2beta/stable-image/edit/remove-background, Python sample",
        ),
        "relight": (
            form(
                v2 + "edit/replace-background-and-relight",
                "image/*",
                {
                    "background_prompt": "cinematic lighting",
                    "foreground_prompt": "a red square",
                    "light_source_direction": "left",
                    "output_format": "webp",
                },
                {
                    "subject_image": ("red.png", RED, "image/png"),
                    "background_reference": ("blue.png", BLUE, "image/png"),
                },
            ),
            "POST /v2beta/stable-image/edit/replace-background-and-relight (async), schema",
        ),
        "style_transfer": (
            form(
                v2 + "control/style-transfer",
                "image/*",
                {"prompt": "in the style of the blue one", "style_strength": "0.8"},
                {
                    "style_image": ("blue.png", BLUE, "image/png"),
                    "init_image": ("red.png", RED, "image/png"),
                },
            ),
            "POST /v2beta/stable-image/control/style-transfer, request schema",
        ),
        "v1_text_to_image": (
            httpx.Request(
                "POST",
                HOST + "/v1/generation/stable-diffusion-xl-1024-v1-0/text-to-image",
                json={
                    "cfg_scale": 7,
                    "clip_guidance_preset": "FAST_BLUE",
                    "height": 512,
                    "width": 768,
                    "sampler": "K_DPM_2_ANCESTRAL",
                    "samples": 2,
                    "steps": 30,
                    "text_prompts": [
                        {"text": "A lighthouse on a cliff", "weight": 1},
                        {"text": "fog, people", "weight": -0.8},
                    ],
                },
                headers={"accept": "application/json"},
            ),
            "POST /v1/generation/{engine_id}/text-to-image, TextToImageRequestBody example",
        ),
        "v1_image_to_image": (
            form(
                "/v1/generation/stable-diffusion-xl-1024-v1-0/image-to-image",
                "image/png",
                {
                    "init_image_mode": "IMAGE_STRENGTH",
                    "image_strength": "0.35",
                    "text_prompts[0][text]": "Galactic dog wearing a cape",
                    "text_prompts[0][weight]": "1",
                    "text_prompts[1][text]": "stars",
                    "text_prompts[1][weight]": "-0.5",
                    "cfg_scale": "7",
                    "samples": "1",
                    "steps": "30",
                },
                {"init_image": ("red.png", RED, "image/png")},
            ),
            "POST /v1/generation/{engine_id}/image-to-image, Python sample",
        ),
        "v1_masking": (
            form(
                "/v1/generation/stable-inpainting-512-v2-0/image-to-image/masking",
                "application/json",
                {
                    "mask_source": "MASK_IMAGE_WHITE",
                    "text_prompts[0][text]": "A large spiral galaxy",
                    "cfg_scale": "7",
                    "samples": "1",
                },
                {
                    "init_image": ("red.png", RED, "image/png"),
                    "mask_image": ("mask.png", MASK, "image/png"),
                },
            ),
            "POST /v1/generation/{engine_id}/image-to-image/masking, MaskingRequestBody",
        ),
    }


def main() -> None:
    for name, (request, what) in requests().items():
        source = f"{REFERENCE}: {what}; encoded with httpx {httpx.__version__}"
        write_request(HERE, name, request, source, accept=request.headers["accept"])


if __name__ == "__main__":
    main()
