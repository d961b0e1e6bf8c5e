"""Reading the OpenAI image API's request fields for the fallback service, strictly.

Every problem is an `ApiError` in OpenAI's error format with our own content-free message.
"""

from __future__ import annotations

import math
import re

from local_fallback.generator import GenerationRequest

MAX_N = 10  # OpenAI's own limit per request
MAX_SIDE = 4096
DEFAULT_SIZE = (1024, 1024)  # OpenAI's default for "auto" or no size
MAX_SEED = 2**63 - 1
_SIZE = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")
_INT = re.compile(r"-?[0-9]{1,20}")


class ApiError(Exception):
    """An answer in OpenAI's error format; `message` is ours and content-free."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "invalid_request_error",
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.param = param
        self.code = code
        self.retry_after = retry_after


def prompt_of(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "prompt is required and must be a non-empty string", param="prompt")
    return value


def count(value: object) -> int:
    if value is None:
        return 1
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_N:
        raise ApiError(400, f"n must be an integer from 1 to {MAX_N}", param="n")
    return value


def seed_of(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SEED:
        raise ApiError(400, f"seed must be an integer from 0 to {MAX_SEED}", param="seed")
    return value


def size_of(value: object) -> tuple[int, int]:
    if value is None or value == "auto":
        return DEFAULT_SIZE
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ApiError(400, "size must be 'auto' or WIDTHxHEIGHT", param="size")
    width, height = int(match.group(1)), int(match.group(2))
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ApiError(400, f"size sides must be from 1 to {MAX_SIDE}", param="size")
    return width, height


def strength_of(value: str | None) -> float:
    if value is None:
        return GenerationRequest.strength
    try:
        strength = float(value)
    except ValueError:
        strength = math.nan
    if not 0.0 < strength <= 1.0:
        raise ApiError(400, "strength must be a number in (0, 1]", param="strength")
    return strength


def form_int(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not _INT.fullmatch(value.strip()):
        raise ApiError(400, f"{name} must be an integer", param=name)
    return int(value)


def check_response_format(value: object) -> None:
    if value not in (None, "b64_json"):
        raise ApiError(
            400,
            "only response_format b64_json is served by the fallback service",
            param="response_format",
            code="unsupported_response_format",
        )
