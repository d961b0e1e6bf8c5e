"""Regenerate the Google wire fixtures: `python make_fixtures.py`.

The official google-genai SDK talks to an httpx.MockTransport that records each request; the
body goes to `<name>.http`, and method, host, path and content-type to `<name>.json`. Three
more bodies are written as the Gemini API and Vertex AI REST references show them (curl -d),
with a tiny PNG in place of their placeholders. A rerun with the same SDK gives the same bytes.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import warnings
from pathlib import Path

import httpx
from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials
from PIL import Image
from skimage import data

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from fixture_kit import png, write_fixture  # noqa: E402

GEMINI = "generativelanguage.googleapis.com"
VERTEX = "us-central1-aiplatform.googleapis.com"


def clients(seen: list[httpx.Request]) -> tuple[genai.Client, genai.Client]:
    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(200, json={})

    def options() -> types.HttpOptions:
        return types.HttpOptions(httpx_client=httpx.Client(transport=httpx.MockTransport(handler)))

    gemini = genai.Client(api_key="fixture-key", http_options=options())
    vertex = genai.Client(
        vertexai=True,
        project="fixture-project",
        location="us-central1",
        credentials=Credentials(token="fixture-token"),  # type: ignore[no-untyped-call]
        http_options=options(),
    )
    return gemini, vertex


def record() -> dict[str, tuple[str, httpx.Request]]:
    seen: list[httpx.Request] = []
    gemini, vertex = clients(seen)
    red, mask = png((255, 0, 0)), png((0, 0, 0))
    out: dict[str, tuple[str, httpx.Request]] = {}
    config = types.GenerateContentConfig(
        system_instruction="Draw in the style of a children's book",
        response_modalities=["IMAGE"],
        image_config=types.ImageConfig(aspect_ratio="16:9"),
    )
    contents: list[types.PartUnionDict] = [
        "Give the red square a party hat",
        types.Part.from_bytes(data=red, mime_type="image/png"),
    ]
    gemini.models.generate_content(model="gemini-2.5-flash-image", contents=contents, config=config)
    out["generate_content"] = (GEMINI, seen[-1])
    for _ in gemini.models.generate_content_stream(
        model="gemini-2.5-flash-image", contents="A lighthouse at dawn, watercolour"
    ):
        pass
    out["stream_generate_content"] = (GEMINI, seen[-1])
    history = [
        types.UserContent(parts=[types.Part.from_text(text="Draw a fox in the snow")]),
        types.ModelContent(parts=[types.Part.from_bytes(data=red, mime_type="image/png")]),
        types.UserContent(parts=[types.Part.from_text(text="Now make the fox wear a scarf")]),
    ]
    gemini.models.generate_content(model="gemini-2.5-flash-image", contents=history)
    out["multi_turn"] = (GEMINI, seen[-1])
    vertex.models.generate_content(model="gemini-2.5-flash-image", contents=contents, config=config)
    out["vertex_generate_content"] = (VERTEX, seen[-1])
    with warnings.catch_warnings():  # Imagen methods are deprecated in the SDK, not removed
        warnings.simplefilter("ignore")
        vertex.models.generate_images(
            model="imagen-4.0-generate-001",
            prompt="A robot holding a red skateboard",
            config=types.GenerateImagesConfig(
                number_of_images=2, aspect_ratio="3:4", negative_prompt="blurry"
            ),
        )
        out["vertex_generate_images"] = (VERTEX, seen[-1])
        vertex.models.edit_image(
            model="imagen-3.0-capability-001",
            prompt="Put the square on a beach",
            reference_images=[
                types.RawReferenceImage(
                    reference_id=1, reference_image=types.Image(image_bytes=red)
                ),
                types.MaskReferenceImage(
                    reference_id=2,
                    reference_image=types.Image(image_bytes=mask),
                    config=types.MaskReferenceConfig(
                        mask_mode=types.MaskReferenceMode.MASK_MODE_USER_PROVIDED
                    ),
                ),
            ],
            config=types.EditImageConfig(
                edit_mode=types.EditMode.EDIT_MODE_BGSWAP, number_of_images=1
            ),
        )
        out["vertex_edit_image"] = (VERTEX, seen[-1])
        # A real photo: the SDK writes bytes as URL-safe base64, and a photo's base64 has
        # the '-' and '_' that the tiny squares above happen not to.
        vertex.models.edit_image(
            model="imagen-3.0-capability-001",
            prompt="Paint the astronaut in watercolour",
            reference_images=[
                types.RawReferenceImage(
                    reference_id=1, reference_image=types.Image(image_bytes=photo())
                )
            ],
            config=types.EditImageConfig(edit_mode=types.EditMode.EDIT_MODE_DEFAULT),
        )
        out["vertex_edit_photo"] = (VERTEX, seen[-1])
    gemini.models.generate_content(
        model="gemini-2.5-flash-image",
        contents=[
            "Paint the astronaut in watercolour",
            types.Part.from_bytes(data=photo(), mime_type="image/jpeg"),
        ],
    )
    out["sdk_photo_urlsafe"] = (GEMINI, seen[-1])
    return out


def photo() -> bytes:
    """A small JPEG crop of scikit-image's astronaut photo (her face)."""
    out = io.BytesIO()
    Image.fromarray(data.astronaut()).crop((150, 20, 280, 150)).save(out, "JPEG", quality=70)
    return out.getvalue()


REST = {
    "rest_edit_snake_case": (
        GEMINI,
        "/v1beta/models/gemini-2.5-flash-image:generateContent",
        {
            "contents": [
                {
                    "parts": [
                        {"text": "Add a small knitted wizard hat to the cat"},
                        {"inline_data": {"mime_type": "image/png", "data": "<PNG>"}},
                    ]
                }
            ]
        },
        "Gemini API docs, image-generation guide, REST image editing example "
        "(https://ai.google.dev/gemini-api/docs/image-generation), as curl -d sends it",
    ),
    "rest_imagen_predict": (
        GEMINI,
        "/v1beta/models/imagen-4.0-generate-001:predict",
        {
            "instances": [{"prompt": "Robot holding a red skateboard"}],
            "parameters": {"sampleCount": 4},
        },
        "Gemini API docs, Imagen guide, REST example "
        "(https://ai.google.dev/gemini-api/docs/imagen), as curl -d sends it",
    ),
    "rest_vertex_imagen": (
        VERTEX,
        "/v1/projects/fixture-project/locations/us-central1/publishers/google/models/"
        "imagen-4.0-generate-001:predict",
        {
            "instances": [{"prompt": "A lighthouse on a cliff"}],
            "parameters": {
                "sampleCount": 1,
                "aspectRatio": "16:9",
                "personGeneration": "dont_allow",
            },
        },
        "Vertex AI docs, Generate images using text prompts, REST example "
        "(https://cloud.google.com/vertex-ai/generative-ai/docs/image/generate-images)",
    ),
}


def main() -> None:
    source = f"google-genai {genai.__version__}, httpx {httpx.__version__}"
    for name, (host, request) in record().items():
        path = request.url.raw_path.decode("ascii")
        headers = {"content-type": request.headers["content-type"]}
        write_fixture(
            HERE, name, request.content, method=request.method, host=host, path=path,
            headers=headers, source=source,
        )  # fmt: skip
    red = base64.b64encode(png((255, 0, 0))).decode()
    for name, (host, path, doc, source) in REST.items():
        body = json.dumps(doc, indent=2).replace("<PNG>", red)
        write_fixture(
            HERE, name, body.encode(), method="POST", host=host, path=path,
            headers={"content-type": "application/json"}, source=source,
        )  # fmt: skip


if __name__ == "__main__":
    main()
