"""Rewrite the parts of a request that a redact decision covers.

Only text is handled here; image redaction plugs in beside it. A target this module
cannot redact raises `CannotRedact`, and the pipeline blocks instead of forwarding it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from proxy.model import Finding, ImageRequest, Source, TextPart


class CannotRedact(Exception):
    """A finding that no redactor covers (e.g. an image finding before image redaction)."""


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
    request: ImageRequest, targets: Iterable[Finding], placeholder: Callable[[str], str]
) -> ImageRequest:
    by_part: dict[int, list[Finding]] = {}
    for finding in targets:
        if finding.source is not Source.PROMPT:
            raise CannotRedact(f"no redactor for findings from {finding.source.value}")
        by_part.setdefault(finding.part, []).append(finding)
    prompts = tuple(
        TextPart(p.ref, redact_text(p.text, by_part[i], placeholder), p.role) if i in by_part else p
        for i, p in enumerate(request.prompts)
    )
    return request.with_prompts(prompts)
