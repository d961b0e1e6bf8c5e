"""The policy file's format: pydantic models that validate YAML before it becomes a `Policy`.

Unknown keys are errors (a typo must not be silently ignored); messages name the field,
never a value from a deny-list.
"""

from __future__ import annotations

import re
from string import Formatter
from typing import Annotated, Literal

import regex  # type: ignore[import-untyped]  # Presidio's own regex engine
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)

from proxy.model import Action, Source
from proxy.policy.schema import (
    ANY_ENTITY,
    DEFAULT_RULE_ID,
    AuditSettings,
    DetectionSettings,
    Limits,
    Mode,
    OnError,
    RemoteImageSettings,
)

_PRESIDIO_FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE
_HOST = re.compile(
    r"(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:(?P<port>[0-9]{1,5}))?"
    r"|\[[0-9a-f:.]+\](:(?P<port6>[0-9]{1,5}))?"
)
_UPPER = "must be an upper-case entity name like EMAIL_ADDRESS"


def _matching(pattern: str, message: str, *also: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if value not in also and not compiled.fullmatch(value):
            raise ValueError(message)
        return value

    return AfterValidator(check)


def _score(value: float) -> float:
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError("must be a number between 0 and 1")
    return value


def _regex(value: str) -> str:
    try:
        regex.compile(value, _PRESIDIO_FLAGS)
    except regex.error as e:
        raise ValueError(f"not a valid regular expression: {e}") from None
    return value


def _template(value: str) -> str:
    try:
        ok = all(f in (None, "entity") for _, f, _, _ in Formatter().parse(value))
    except ValueError:
        ok = False
    if not ok:
        raise ValueError("not a valid template: text, optionally with {entity} (write {{ for {)")
    return value


def _host(value: str) -> str:
    match = _HOST.fullmatch(value.lower())
    port = match and (match["port"] or match["port6"])
    if not match or (port and not 0 < int(port) < 65536):
        raise ValueError('must be "host", "host:port" or "*.domain"')
    return value.lower()


Entity = Annotated[str, _matching(r"[A-Z][A-Z0-9_]*", _UPPER)]
Score = Annotated[float, AfterValidator(_score)]
NonEmpty = Annotated[str, Field(min_length=1)]
PositiveInt = Annotated[int, Field(ge=1)]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PatternFile(_File):
    regex: Annotated[str, AfterValidator(_regex)]
    score: Score = 0.5
    name: NonEmpty | None = None


class RecognizerFile(_File):
    entity: Entity
    patterns: list[PatternFile] = []
    deny_list: list[NonEmpty] = []
    context: list[NonEmpty] = []
    score: Score = 1.0

    @model_validator(mode="after")
    def _detects_something(self) -> RecognizerFile:
        if not self.patterns and not self.deny_list:
            raise ValueError("a recognizer needs `patterns`, a `deny_list`, or both")
        return self


class RuleFile(_File):
    id: Annotated[
        str,
        _matching(
            rf"(?!{DEFAULT_RULE_ID}\Z)[a-z0-9][a-z0-9_.-]*",
            f"must be lower-case letters, digits, '_', '.', '-', and not '{DEFAULT_RULE_ID}'",
        ),
    ]
    entities: Annotated[
        list[Annotated[str, _matching(r"[A-Z][A-Z0-9_]*", _UPPER, ANY_ENTITY)]],
        Field(min_length=1),
    ]
    action: Action = Field(strict=False)
    min_score: Score = 0.0
    sources: Annotated[list[Annotated[Source, Strict(False)]], Field(min_length=1)] | None = None
    # Names of well-known public figures and artists count for this rule too.
    public_figures: bool = False


class ProviderFile(_File):
    hosts: list[Annotated[str, AfterValidator(_host)]] = []
    # Paths forwarded uninspected (e.g. a text API on a provider host): "/v1/embeddings",
    # "/v1/files*" ("*" matches anything, "/" included). Explicit, so never a default.
    passthrough: list[
        Annotated[
            str,
            _matching(
                r"/(?!.*(?:/\.{1,2}(?:/|\*?\Z)|//|%|\\))[A-Za-z0-9/_.:*~+-]*",
                "must be a path like /v1/embeddings or /v1/files* (no '..', '//' or '%')",
            ),
        ]
    ] = []


class AuditFile(_File):
    path: NonEmpty | None = AuditSettings.path
    fingerprint_key_env: Annotated[
        str, _matching(r"[A-Za-z_][A-Za-z0-9_]*", "must be an environment variable name")
    ] = AuditSettings.fingerprint_key_env
    user_ids: bool | None = None


class FallbackFile(_File):
    model: NonEmpty | None = None
    on_unavailable: Literal["block", "redact", "allow"] = "block"
    steps: Annotated[int, Field(ge=1, le=50)] = 1
    native_size: Annotated[int, Field(ge=64, le=2048, multiple_of=64)] = 512
    device: Annotated[
        str, _matching(r"auto|cpu|mps|cuda(:[0-9]+)?", "must be auto, cpu, mps, cuda or cuda:N")
    ] = "auto"
    url: (
        Annotated[str, _matching(r"https?://[^\s/?#]+(/[^\s?#]*)?", "must be an http(s):// URL")]
        | None
    ) = None
    token_env: Annotated[
        str, _matching(r"[A-Z_][A-Z0-9_]*", "must be an environment variable name")
    ] = "PIXELGATE_FALLBACK_TOKEN"
    max_pending: Annotated[int, Field(ge=1, le=10_000)] = 16
    max_batch: Annotated[int, Field(ge=1, le=64)] = 4

    @model_validator(mode="after")
    def _one_model(self) -> FallbackFile:
        if self.model and self.url:
            raise ValueError("set fallback.model (a local folder) or fallback.url, not both")
        return self


class LimitsFile(_File):
    max_body_bytes: PositiveInt = Limits.max_body_bytes
    max_prompt_chars: PositiveInt = Limits.max_prompt_chars
    max_images: PositiveInt = Limits.max_images
    max_image_pixels: PositiveInt = Limits.max_image_pixels
    max_image_frames: PositiveInt = Limits.max_image_frames
    inspection_timeout_s: Annotated[float, Field(gt=0, le=3600), Strict(False)] = (
        Limits.inspection_timeout_s
    )


class RemoteImagesFile(_File):
    action: Literal["block", "allow", "fetch"] = "block"
    max_bytes: Annotated[int, Field(ge=1, le=256 * 1024 * 1024)] = RemoteImageSettings.max_bytes
    timeout_s: Annotated[float, Field(gt=0, le=120), Strict(False)] = RemoteImageSettings.timeout_s
    allow_hosts: list[Annotated[str, AfterValidator(_host)]] = []


class DetectionFile(_File):
    language: Annotated[str, _matching(r"[a-z]{2,3}", "must be a language code like en")] = "en"
    spacy_model: NonEmpty = DetectionSettings.spacy_model
    min_score: Score = DetectionSettings.min_score


class PolicyFile(_File):
    version: int
    mode: Mode = Field(default=Mode.ENFORCE, strict=False)
    on_error: OnError = Field(default=OnError.BLOCK, strict=False)
    default_action: Action = Field(default=Action.ALLOW, strict=False)
    providers: dict[
        Annotated[str, _matching(r"[a-z0-9][a-z0-9_-]*", "must be a lower-case provider name")],
        ProviderFile,
    ] = {}
    recognizers: list[RecognizerFile] = []
    rules: list[RuleFile] = []
    redaction: dict[
        Annotated[str, _matching(r"[A-Z][A-Z0-9_]*", _UPPER, "default")],
        Annotated[str, AfterValidator(_template)],
    ] = {}
    audit: AuditFile = AuditFile()
    fallback: FallbackFile = FallbackFile()
    limits: LimitsFile = LimitsFile()
    # `remote_images: fetch` is short for `remote_images: {action: fetch}`.
    remote_images: RemoteImagesFile | Literal["block", "allow", "fetch"] = RemoteImagesFile()
    detection: DetectionFile = DetectionFile()

    @field_validator("version")
    @classmethod
    def _version_1(cls, v: int) -> int:
        if v != 1:
            raise ValueError(f"unsupported version {v}; this PixelGate reads version 1")
        return v
