"""Following the policy files (and the identities file) while the proxy runs.

A reload builds a whole new set of gates beside the running one
(`proxy.engine.gate_set.build_gates`) and swaps it in only when it is complete; a broken file
changes nothing. What outlives a reload is kept: an audit file stays one open writer when its
path is unchanged, a local model stays loaded when its settings are unchanged, and links already
handed out keep working.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from proxy.engine.gate_set import GateSet
from proxy.errors import AuditSinkError, PolicyError

log = logging.getLogger("pixelgate")

INTERVAL_S = 1.0  # how often the followed files are looked at


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
    """Rebuilds the gates when a followed file's content changes (or when asked, on SIGHUP).
    The files are the current gates' own (`GateSet.files`), so a policy the identities file
    starts to name is followed from then on. A broken file keeps the last good gates in
    force, and the log says so with file, line and field."""

    def __init__(
        self,
        current: Callable[[], GateSet | None],
        rebuild: Callable[[GateSet], GateSet],
        install: Callable[[GateSet], None],
    ) -> None:
        self._current = current
        self._rebuild = rebuild
        self._install = install
        self._files: dict[str, PolicyFile] = {}
        # A file a failed reload could not read (say, a policy an edited identities file
        # names before it exists): followed too, so its arrival triggers the next reload.
        self._missing: dict[str, PolicyFile] = {}
        self._now = asyncio.Event()

    def request(self) -> None:
        self._now.set()

    def _changed(self, gates: GateSet) -> bool:
        paths = (*gates.files, *self._missing)
        followed = {
            path: self._files.get(path) or self._missing.get(path) or PolicyFile(path)
            for path in paths
        }
        self._files = followed
        # Every file is looked at (each remembers its own state), not only up to the first.
        return any([f.changed() for f in followed.values()])

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        current = self._current()
        if current is not None:
            self._changed(current)  # the files as they are now are the baseline
        while True:
            try:
                await asyncio.wait_for(self._now.wait(), INTERVAL_S)
            except TimeoutError:
                pass
            forced = self._now.is_set()
            self._now.clear()
            previous = self._current()
            if previous is None or not (self._changed(previous) or forced):
                continue
            try:
                gates = await loop.run_in_executor(None, self._rebuild, previous)
            except Exception as e:  # noqa: BLE001 - any failure keeps the running policy
                reason = str(e) if isinstance(e, PolicyError | AuditSinkError) else type(e).__name__
                log.error("PixelGate kept the last good policy: %s", reason)
                if isinstance(e, PolicyError) and e.path not in self._files:
                    self._missing[e.path] = PolicyFile(e.path)
                continue
            self._missing.clear()
            self._install(gates)
