"""The policies in force, as a set of gates built from PixelGate's options, and their
replacement while the proxy runs (a sub-addon of proxy.mitm.addon).

Start-up builds the gates from `pixelgate_policy` (the bundled default policy when empty) and
`pixelgate_identities`; a broken file stops start-up with its file, line and field. Files the
operator named are followed (proxy.mitm.reload): a new set is built beside the running one and
swapped in whole; requests already being inspected finish on the old gates, and audit files
that a new set no longer writes stay open until exit for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from mitmproxy import ctx, exceptions
from mitmproxy.addonmanager import Loader

from proxy.engine.audit import AuditWriter
from proxy.engine.gate_set import GateSet, build_gates
from proxy.errors import AuditSinkError, PolicyError
from proxy.mitm.reload import Follower
from proxy.policy import bundled_policy_path

log = logging.getLogger("pixelgate")

_BODY_BOUND = 256 * 1024 * 1024  # mitmproxy's own limit, at least, for any body it buffers
FILE_OPTIONS = frozenset({"pixelgate_policy", "pixelgate_identities"})


class Policies:
    def __init__(self, installed: Callable[[GateSet], None]) -> None:
        self.gates: GateSet | None = None
        self._installed = installed  # told of every set swapped in
        self._retired: list[AuditWriter] = []  # audit files of replaced gates: closed at exit
        self._follower: Follower | None = None
        self._follow: asyncio.Task[None] | None = None

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "pixelgate_policy",
            str,
            "",
            "PixelGate policy file (YAML). Empty: the bundled default policy.",
        )
        loader.add_option(
            "pixelgate_identities",
            str,
            "",
            "PixelGate identities file (YAML): the policy for each user, group or client "
            "network. Empty: the policy applies to everyone.",
        )

    def configure(self, updated: set[str]) -> None:
        if FILE_OPTIONS & updated or self.gates is None:
            try:
                gates = self._build(self.gates)
            except (PolicyError, ValueError, AuditSinkError, LookupError) as e:
                raise exceptions.OptionsError(str(e)) from None
            except Exception as e:
                # Anything else must stop start-up too: without a gate nothing is inspected.
                raise exceptions.OptionsError(
                    f"PixelGate could not load its policy: {type(e).__name__}"
                ) from None
            self.install(gates)
            if ctx.options.body_size_limit is None:
                # Without it mitmproxy buffers a body of any size before our hooks can answer
                # (a chunked upload, or one that announces more than the policy allows).
                bound = max(4 * gates.max_body_bytes, _BODY_BOUND)
                ctx.options.update(body_size_limit=str(bound))
        if (FILE_OPTIONS | {"proxyauth", "mode"}) & updated and self.gates is not None:
            auth = getattr(ctx.options, "proxyauth", None)
            for warning in self.gates.warnings(auth, getattr(ctx.options, "mode", ())):
                log.warning("PixelGate: %s", warning)

    def _build(self, previous: GateSet | None) -> GateSet:
        policy = ctx.options.pixelgate_policy or str(bundled_policy_path("default"))
        return build_gates(policy, ctx.options.pixelgate_identities or None, previous)

    def install(self, gates: GateSet) -> None:
        """Swap `gates` in; requests already being inspected finish on the old ones."""
        old, self.gates = self.gates, gates
        if old is not None:
            kept = {id(g.audit) for g in gates.gates}
            # Requests in flight may still write to a replaced audit file: closed at exit.
            self._retired += [g.audit for g in old.gates if id(g.audit) not in kept]
        self._installed(gates)
        for gate in gates.gates:
            policy = gate.policy
            log.info(
                "PixelGate policy %s loaded (mode %s, on_error %s)",
                policy.source,
                policy.mode,
                policy.on_error,
            )

    def running(self) -> None:
        # The bundled default policy does not change; files the operator names may.
        named = ctx.options.pixelgate_policy or ctx.options.pixelgate_identities
        if self._follower is None and self.gates is not None and named:
            self._follower = Follower(lambda: self.gates, self._build, self.install)
            self._follow = asyncio.get_running_loop().create_task(self._follower.run())

    def request_reload(self) -> None:
        """Re-read the policy files now (SIGHUP), rather than at their next look."""
        if self._follower is not None:
            self._follower.request()

    def done(self) -> None:
        if self._follow is not None:
            self._follow.cancel()
        for writer in self._retired:
            writer.close()
        for gate in self.gates.gates if self.gates is not None else ():
            gate.audit.close()
