"""Google's answers, forged: generateContent responses (JSON, a JSON array, or server-sent
events), Imagen predictions, and the google.rpc.Status error shape."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence

from proxy.model import ImageRequest
from proxy.providers.base import WireResponse

# google.rpc.Code names for the HTTP statuses PixelGate answers with (google/rpc/code.proto).
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    415: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_JSON = ("content-type", "application/json; charset=UTF-8")


def render_error(status: int, message: str, code: str, kind: str) -> WireResponse:
    # google-genai raises ClientError/ServerError with `.code`, `.status` and `.message` taken
    # from this object; PixelGate's own code travels as an ErrorInfo reason, as Google's do.
    fallback = "INVALID_ARGUMENT" if status < 500 else "INTERNAL"
    error = {
        "code": status,
        "message": message,
        "status": _STATUS.get(status, fallback),
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": code,
                "domain": "pixelgate",
                "metadata": {"kind": kind},
            }
        ],
    }
    return WireResponse(status, (_JSON,), json.dumps({"error": error}).encode())


def can_render(request: ImageRequest) -> bool:
    """Only answers Google would give as images: not token counts, not images written to
    Cloud Storage (storageUri), not text-only generations, not protobuf or media framings."""
    params = request.params
    if request.operation == "gemini.count_tokens" or params.get("format") == "other":
        return False
    if request.operation.startswith("imagen."):
        return not params.get("stored")
    return bool(params.get("image_output"))


def render_images(request: ImageRequest, images: Sequence[bytes]) -> WireResponse:
    encoded = [base64.b64encode(png).decode("ascii") for png in images]
    if request.operation.startswith("imagen."):
        predictions = [{"bytesBase64Encoded": data, "mimeType": "image/png"} for data in encoded]
        return WireResponse(200, (_JSON,), json.dumps({"predictions": predictions}).encode())
    answer = json.dumps(
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"inlineData": {"mimeType": "image/png", "data": data}}],
                    },
                    "finishReason": "STOP",
                    "index": index,
                }
                for index, data in enumerate(encoded)
            ],
            "usageMetadata": {"promptTokenCount": 0, "totalTokenCount": 0},
            "modelVersion": str(request.params.get("model", "")),
            "responseId": uuid.uuid4().hex,
        }
    )
    framing = request.params.get("format")
    if framing == "sse":  # one event, framed as the Gemini API frames its own
        event = f"data: {answer}\r\n\r\n".encode()
        return WireResponse(200, (("content-type", "text/event-stream"),), event)
    if framing == "json_array":
        return WireResponse(200, (_JSON,), f"[{answer}]".encode())
    return WireResponse(200, (_JSON,), answer.encode())
