"""Building the gate for a policy, and following the policy file while the proxy runs.

A reload builds a whole new gate beside the running one and swaps it in only when it is
complete; a broken file changes nothing. What outlives a reload is kept: the audit file stays
one open writer when its path is unchanged, the local model stays loaded when its settings are
unchanged, and links already handed out keep working.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from proxy.audit import AuditSinkError, AuditWriter
from proxy.errors import PolicyError
from proxy.fallback import load_fallback
from proxy.gate import Gate
from proxy.policy import Policy, load_policy
from proxy.providers import ADAPTERS

log = logging.getLogger("pixelgate")

INTERVAL_S = 1.0  # how often a followed policy file is looked at


def build_gate(policy: Policy, previous: Gate | None = None) -> Gate:
    """A gate for `policy`, reusing what `previous` has that the new policy would recreate."""
    from proxy.detectors import build_detectors

    path = os.path.abspath(policy.audit.path) if policy.audit.path else None
    same_audit = previous is not None and previous.audit.path == path
    audit = previous.audit if previous is not None and same_audit else AuditWriter(path)
    same_model = previous is not None and previous.policy.fallback == policy.fallback
    fallback = previous.fallback if previous is not None and same_model else load_fallback(policy)
    gate = Gate(policy, ADAPTERS, build_detectors(policy), audit, fallback)
    if previous is not None:
        gate.served = previous.served
    return gate


def reload_gate(path: str, previous: Gate) -> Gate:
    """The gate for the policy now in `path`; raises PolicyError (and the like) if broken."""
    return build_gate(load_policy(path), previous)


@dataclass
class PolicyFile:
    """A policy file the proxy follows. `changed()` is true once per change of its content
    (a save that rewrites the same bytes is no change; a file that vanished is none either)."""

    path: str
    _stat: tuple[int, int, int] | None = None
    _digest: str | None = None

    def __post_init__(self) -> None:
        self._stat, self._digest = self._look()

    def changed(self) -> bool:
        stat = self._stat_of()
        if stat is None or stat == self._stat:
            return False
        self._stat = stat
        digest = self._digest_of()
        if digest is None or digest == self._digest:
            return False
        self._digest = digest
        return True

    def _look(self) -> tuple[tuple[int, int, int] | None, str | None]:
        return self._stat_of(), self._digest_of()

    def _stat_of(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _digest_of(self) -> str | None:
        try:
            with open(self.path, "rb") as f:
                return hashlib.sha256(f.read()).hexdigest()
        except OSError:
            return None


class Follower:
    """Reloads the policy file when its content changes (or when asked, on SIGHUP). A broken
    file keeps the last good policy in force, and the log says so with file, line and field."""

    def __init__(
        self, path: str, current: Callable[[], Gate | None], install: Callable[[Gate, str], None]
    ) -> None:
        self.path = path
        self._current = current
        self._install = install
        self._now = asyncio.Event()

    def request(self) -> None:
        self._now.set()

    async def run(self) -> None:
        policy_file = PolicyFile(self.path)
        loop = asyncio.get_running_loop()
        while True:
            try:
                await asyncio.wait_for(self._now.wait(), INTERVAL_S)
            except TimeoutError:
                pass
            forced = self._now.is_set()
            self._now.clear()
            previous = self._current()
            if not (policy_file.changed() or forced) or previous is None:
                continue
            try:
                gate = await loop.run_in_executor(None, reload_gate, self.path, previous)
            except Exception as e:  # noqa: BLE001 - any failure keeps the running policy
                reason = str(e) if isinstance(e, PolicyError | AuditSinkError) else type(e).__name__
                log.error("PixelGate kept the last good policy: %s", reason)
                continue
            self._install(gate, self.path)
