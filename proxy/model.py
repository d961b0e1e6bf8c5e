"""Neutral values that flow between adapters, detectors, the policy and the audit.

Provider field names never appear here: adapters translate their wire format into these
types and back. Every type is frozen, so a value seen by one stage cannot change under another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class Action(StrEnum):
    ALLOW = "allow"
    REDACT = "redact"
    REROUTE = "reroute"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Action.ALLOW: 0, Action.REDACT: 1, Action.REROUTE: 2, Action.BLOCK: 3}


class Source(StrEnum):
    """Where in a request a finding was made."""

    PROMPT = "prompt"
    IMAGE_TEXT = "image_text"
    FACE = "face"
    METADATA = "metadata"
    CODE = "code"


@dataclass(frozen=True)
class TextPart:
    """One piece of user-written text. `ref` is a locator only its adapter interprets.

    `role` is "prompt" for what the image model is asked to draw, and "other" for any other
    free text the client sends (an end-user id, a negative prompt, ...): inspected all the same.
    """

    ref: str
    text: str
    role: str = "prompt"


@dataclass(frozen=True)
class ImagePart:
    """One uploaded image, as bytes exactly as the client sent them.

    An image the client gave by `url` instead of inline arrives with empty `data`; the gate
    fetches it (and fills `data`), refuses it, or leaves it uninspected, as the policy says.
    """

    ref: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None
    role: str = "image"  # "image" or "mask"
    url: str | None = None


@dataclass(frozen=True)
class ImageRequest:
    """What a client asked an image API to do, independent of the provider's wire format.

    `params` holds neutral generation parameters (n, size, response_format, model, ...)
    that the local fallback and the audit may read; it never holds user content.
    """

    provider: str
    operation: str
    prompts: tuple[TextPart, ...] = ()
    images: tuple[ImagePart, ...] = ()
    params: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    def with_prompts(self, prompts: tuple[TextPart, ...]) -> ImageRequest:
        return ImageRequest(self.provider, self.operation, prompts, self.images, self.params)


@dataclass(frozen=True)
class Finding:
    """A detected piece of personal data: what, where and how sure. Never the value itself.

    `part` indexes `ImageRequest.prompts` for text sources of the prompt, and
    `ImageRequest.images` for image sources. `start`/`end` are character offsets into the
    original (not normalised) text; `box` is [x, y, width, height] in pixels.
    """

    entity: str
    source: Source
    score: float
    part: int = 0
    start: int | None = None
    end: int | None = None
    box: tuple[int, int, int, int] | None = None
    recognizer: str = ""
    # A name of a well-known public figure or artist (proxy.detectors.public_names): a rule
    # acts on it only when it says `public_figures: true`.
    public: bool = False


@dataclass(frozen=True)
class Decision:
    """The outcome of the policy for one request.

    `targets` are the findings the action applies to (what a redaction must cover).
    `reasons` are human-readable and content-free: rule ids and entity types only.
    """

    action: Action
    rule_id: str
    reasons: tuple[str, ...] = ()
    targets: tuple[Finding, ...] = ()
