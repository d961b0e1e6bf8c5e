"""Content-free audit events, one JSON object per line.

An event holds counts, names and timings: never a prompt, image byte, matched value, OCR
text or header. The optional fingerprint is an HMAC under an operator's key, so repeated
uploads can be counted without keeping them. If the sink cannot be written the writer
raises `AuditSinkError`; the proxy then stops rather than let traffic through unrecorded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import IO

from proxy.errors import AuditSinkError
from proxy.model import Finding, ImageRequest


@dataclass(frozen=True)
class AuditEvent:
    request_id: str
    mode: str
    provider: str
    operation: str
    action: str
    rule: str
    enforced: bool
    findings: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    error: str | None = None
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    fingerprint: str | None = None
    user: str | None = None  # pseudonymous (`identity.UserIds`), never the name
    selection: str | None = None  # the identities file's entry that chose the policy
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))

    def to_json(self) -> str:
        # Shallow: asdict() deep-copies every nested value (~70 µs per event, the largest
        # part of a clean prompt's cost).
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["findings"] = {source: dict(counts) for source, counts in self.findings.items()}
        data["timings_ms"] = dict(self.timings_ms)
        for optional in ("error", "fingerprint", "user", "selection"):
            if data[optional] is None:
                del data[optional]
        return json.dumps(data, separators=(",", ":"), sort_keys=False)


@dataclass(frozen=True)
class Caller:
    """Who sent a request, as an audit event may record it: a pseudonymous user id and the
    name of the identities entry that chose the policy (both None without identities)."""

    user: str | None = None
    selection: str | None = None


NOBODY = Caller()


def count_findings(findings: Iterable[Finding]) -> dict[str, dict[str, int]]:
    """{source: {entity: count}} — the only trace of findings an event carries."""
    counts = Counter((f.source.value, f.entity) for f in findings)
    out: dict[str, dict[str, int]] = {}
    for (source, entity), n in sorted(counts.items()):
        out.setdefault(source, {})[entity] = n
    return out


def fingerprint(key: bytes, request: ImageRequest) -> str:
    """HMAC-SHA256 over every prompt and image, length-prefixed so parts cannot be shifted."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in request.prompts:
        data = part.text.encode("utf-8")
        mac.update(b"t%d:" % len(data) + data)
    for image in request.images:
        mac.update(b"i%d:" % len(image.data) + image.data)
    return mac.hexdigest()


class AuditWriter:
    """Writes events to a JSON-lines file (append, flushed per event), or nowhere."""

    def __init__(self, path: str | None) -> None:
        self.path = os.path.abspath(path) if path else None
        self._file: IO[str] | None = None
        self._lock = threading.Lock()
        if self.path:
            try:
                self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            except OSError as e:
                raise AuditSinkError(f"cannot open audit file {self.path}: {e.strerror}") from None

    def write(self, event: AuditEvent) -> None:
        if self._file is None:
            return
        line = event.to_json() + "\n"
        with self._lock:
            try:
                self._file.write(line)
                self._file.flush()
            except (OSError, ValueError) as e:
                reason = getattr(e, "strerror", None) or type(e).__name__
                raise AuditSinkError(f"cannot write audit file {self.path}: {reason}") from None

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
