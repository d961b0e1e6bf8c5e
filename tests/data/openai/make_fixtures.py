"""Regenerate the OpenAI wire fixtures from the official SDK: `python make_fixtures.py`.

The SDK talks to an httpx.MockTransport that records each request; the body goes to
`<name>.http` and method, path and content-type to `<name>.json`. PNGs and the multipart
boundary are fixed, so a rerun with the same SDK and httpx gives the same bytes.
"""

from __future__ import annotations

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


def main() -> None:
    source = f"openai-python {openai.__version__}, httpx {httpx.__version__}"
    for name, request in record().items():
        write_request(HERE, name, request, source)


if __name__ == "__main__":
    main()
