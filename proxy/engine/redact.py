"""Rewrite the parts of a request that a redact decision covers.

Text spans become placeholders; an image with findings is repainted and re-encoded by
`proxy.images.redact` (metadata stripped). A target that cannot be redacted raises
`CannotRedact`, and the pipeline blocks instead of forwarding it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from proxy.errors import CannotRedact
from proxy.images.model import DecodedImage
from proxy.model import Finding, ImagePart, ImageRequest, Source, TextPart

_TEXT_SOURCES = frozenset({Source.PROMPT})
Decode = Callable[[ImagePart, int], DecodedImage]


def _merge(spans: Iterable[tuple[int, int, str, float]]) -> list[tuple[int, int, str]]:
    """Merge overlapping spans; a merged span is named for its highest-scoring entity."""
    merged: list[tuple[int, int, str, float]] = []
    for start, end, entity, score in sorted(spans):
        if merged and start < merged[-1][1]:
            m_start, m_end, m_entity, m_score = merged[-1]
            best = (entity, score) if score > m_score else (m_entity, m_score)
            merged[-1] = (m_start, max(m_end, end), best[0], best[1])
        else:
            merged.append((start, end, entity, score))
    return [(s, e, name) for s, e, name, _ in merged]


def redact_text(text: str, findings: Iterable[Finding], placeholder: Callable[[str], str]) -> str:
    spans = [
        (f.start, f.end, f.entity, f.score)
        for f in findings
        if f.start is not None and f.end is not None and f.end > f.start
    ]
    out = text
    for start, end, entity in reversed(_merge(spans)):
        out = out[:start] + placeholder(entity) + out[end:]
    return out


def redact_request(
    request: ImageRequest,
    targets: Iterable[Finding],
    placeholder: Callable[[str], str],
    decode: Decode | None = None,
) -> ImageRequest:
    texts: dict[int, list[Finding]] = {}
    images: dict[int, list[Finding]] = {}
    for finding in targets:
        (texts if finding.source in _TEXT_SOURCES else images).setdefault(finding.part, []).append(
            finding
        )
    if images and decode is None:
        raise CannotRedact("no image redactor is available")
    prompts = tuple(
        TextPart(p.ref, redact_text(p.text, texts[i], placeholder), p.role) if i in texts else p
        for i, p in enumerate(request.prompts)
    )
    parts = list(request.images)
    for index, found in images.items():
        if not 0 <= index < len(parts):
            raise CannotRedact("an image finding points at no image")
        assert decode is not None
        parts[index] = _redacted_image(parts[index], index, found, decode)
    return ImageRequest(request.provider, request.operation, prompts, tuple(parts), request.params)


def _redacted_image(part: ImagePart, index: int, found: list[Finding], decode: Decode) -> ImagePart:
    from proxy.images.redact import redact_image

    data = redact_image(part.data, decode(part, index), found)
    return replace(part, data=data)
