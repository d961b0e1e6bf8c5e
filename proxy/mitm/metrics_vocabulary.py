"""The closed vocabularies of PixelGate's metric labels: what adapters name as operations,
the rules the gate applies itself, and PixelGate's error codes. A value outside them is
counted as "other" (see `Vocabulary`), so no request can add a series."""

from __future__ import annotations

from collections.abc import Iterable

from proxy.policy.schema import DEFAULT_RULE_ID

OTHER = "other"

# What each adapter can name as an operation (plus the gate's own "none" and "unknown").
KNOWN_OPERATIONS = frozenset(
    {
        "none",
        "unknown",
        "passthrough",
        # OpenAI and OpenAI-compatible services, Black Forest Labs
        "images.generate",
        "images.edit",
        "images.variation",
        "responses.create",
        "chat.completions",
        # Replicate
        "predictions.create",
        "models.predictions.create",
        "deployments.predictions.create",
        "predictions.cancel",
        "files.create",
        # Stability v2beta and v1
        *(
            f"{group}.{name}"
            for group, names in {
                "generate": ("ultra", "core", "sd3"),
                "edit": (
                    "inpaint",
                    "outpaint",
                    "erase",
                    "search-and-replace",
                    "search-and-recolor",
                    "remove-background",
                    "replace-background-and-relight",
                ),
                "control": ("sketch", "structure", "style", "style-transfer"),
                "upscale": ("fast", "conservative", "creative"),
                "v1": ("text-to-image", "image-to-image", "masking"),
            }.items()
            for name in names
        ),
        # Bedrock (Titan/Nova task types, lower-cased), Hugging Face, Stability on Bedrock
        "text_image",
        "inpainting",
        "outpainting",
        "image_variation",
        "color_guided_generation",
        "background_removal",
        "virtual_try_on",
        "text-to-image",
        "image-to-image",
        # fal
        "run",
        "submit",
        "queue.cancel",
        # Google
        "gemini.generate_content",
        "gemini.stream_generate_content",
        "gemini.count_tokens",
        "imagen.generate",
        "imagen.edit",
    }
)
# Decisions the gate makes itself, beside the policy's own rules.
GATE_RULES = frozenset({"none", "on_error", "remote_images", "passthrough", DEFAULT_RULE_ID})
ERROR_CODES = frozenset(
    {
        "pixelgate_error",
        "pixelgate_malformed_request",
        "pixelgate_unsupported_endpoint",
        "pixelgate_request_too_large",
        "pixelgate_inspection_failed",
        "pixelgate_inspection_timeout",
        "pixelgate_unsupported_image",
        "pixelgate_remote_image",
        "pixelgate_fallback_busy",
        "pixelgate_fallback_failed",
        "pixelgate_identity_lookup_failed",
    }
)


class Vocabulary:
    """Label values a series may carry: a fixed set, plus names learnt from loaded policies
    and detectors up to a cap. `label(value)` is the value itself when known, else "other"."""

    def __init__(self, fixed: Iterable[str] = (), cap: int = 0) -> None:
        self._known = set(fixed)
        self._cap = len(self._known) + cap

    def learn(self, values: Iterable[str]) -> None:
        for value in values:
            if len(self._known) < self._cap:
                self._known.add(value)

    def label(self, value: str | None) -> str:
        return value if value is not None and value in self._known else OTHER
