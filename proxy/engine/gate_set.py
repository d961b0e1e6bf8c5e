"""Every policy the proxy enforces at once, and which one applies to a request's sender.

Without an identities file there is one gate, for the proxy's `--policy`. With one, there is a
gate per policy file it names; gates share what would otherwise be loaded twice: an audit
file is one writer however many policies write to it, a local model with the same settings is
loaded once, and images served by the proxy are in one store. (Detectors share their engines
through `proxy.detectors`.) A reload builds a whole new set beside the running one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from proxy.engine.audit import AuditWriter, Caller
from proxy.engine.fallback import load_fallback
from proxy.engine.gate import Gate
from proxy.engine.reroute import ImageModel
from proxy.engine.served import ImageStore
from proxy.identity.selection import Identity, Selector, UserIds, load_identities
from proxy.policy import FallbackSettings, Policy, load_policy
from proxy.providers import ADAPTERS
from proxy.providers.base import ProviderAdapter

DEFAULT_USER_ID_KEY_ENV = "PIXELGATE_USER_ID_KEY"


@dataclass
class Parts:
    """What gates share, carried over from the set they replace."""

    audits: dict[str, AuditWriter] = field(default_factory=dict)
    models: list[tuple[FallbackSettings, ImageModel | None]] = field(default_factory=list)
    served: ImageStore = field(default_factory=ImageStore)
    opened: list[AuditWriter] = field(default_factory=list)  # audit files this build opened

    @classmethod
    def of(cls, gates: tuple[Gate, ...]) -> Parts:
        parts = cls(served=gates[0].served) if gates else cls()
        for gate in gates:
            if gate.audit.path is not None:
                parts.audits.setdefault(gate.audit.path, gate.audit)
            parts.models.append((gate.policy.fallback, gate.fallback))
        return parts

    def audit(self, path: str | None) -> AuditWriter:
        if path is None:
            return AuditWriter(None)
        path = os.path.abspath(path)
        if path not in self.audits:
            self.audits[path] = AuditWriter(path)
            self.opened.append(self.audits[path])
        return self.audits[path]

    def model(self, policy: Policy) -> ImageModel | None:
        for settings, model in self.models:
            if settings == policy.fallback:
                return model
        model = load_fallback(policy)
        self.models.append((policy.fallback, model))
        return model


def build_gate(policy: Policy, parts: Parts | None = None) -> Gate:
    """A gate for `policy`, with what `parts` already holds for it."""
    from proxy.detectors import build_detectors

    parts = parts or Parts()
    audit = parts.audit(policy.audit.path)
    gate = Gate(policy, ADAPTERS, build_detectors(policy), audit, parts.model(policy))
    gate.served = parts.served
    return gate


class GateSet:
    """The gates in force: `default` for everyone the identities file does not place (or for
    everyone, without one), and one per policy file the identities file names."""

    def __init__(
        self,
        default: Gate,
        by_policy: Mapping[str, Gate] | None = None,
        selector: Selector | None = None,
        user_ids: UserIds | None = None,
        files: tuple[str, ...] = (),
    ) -> None:
        self.default = default
        self._by_policy = dict(by_policy or {})
        self.selector = selector
        self.user_ids = user_ids or UserIds.from_env(DEFAULT_USER_ID_KEY_ENV)
        self.files = files  # what a reload follows
        distinct = {id(g): g for g in (default, *self._by_policy.values())}
        self.gates: tuple[Gate, ...] = tuple(distinct.values())  # the default first
        self.max_body_bytes = max(g.policy.limits.max_body_bytes for g in self.gates)

    @property
    def may_block(self) -> bool:
        """Choosing may wait on the directory: not on the event loop."""
        return self.selector is not None and self.selector.identities.ldap is not None

    def route(self, host: str, port: int) -> ProviderAdapter | None:
        """The adapter for a host any policy in force treats as a provider."""
        for gate in self.gates:
            adapter = gate.route(host, port)
            if adapter is not None:
                return adapter
        return None

    def warnings(self, proxyauth: str | None, modes: Sequence[str]) -> list[str]:
        """Set-ups that run but do not do what the operator likely meant (for the log)."""
        out = []
        by_name = self.selector is not None and any(
            e.users or e.groups for e in self.selector.identities.entries
        )
        if by_name and not proxyauth:
            out.append(
                "the identities file selects by user or group, but proxyauth is not set: "
                "those entries match nobody"
            )
        if proxyauth and self.user_ids.ephemeral:
            out.append(
                "no key for pseudonymous user ids (PIXELGATE_USER_ID_KEY or the identities "
                "file's user_ids.key_env): ids are random per process"
            )
        tunnelled = [m for m in modes if m.split(":", 1)[0] in ("reverse", "transparent")]
        if proxyauth and tunnelled:
            out.append(
                "proxyauth in reverse or transparent mode reads the Authorization header, "
                "which carries the provider's API key: select by network there instead"
            )
        return out

    def caller(self, who: Identity, selection: str | None = None) -> Caller:
        user = self.user_ids.of(who.user) if who.user is not None else None
        return Caller(user, selection)

    def choose(self, who: Identity) -> tuple[Gate, Caller]:
        """The gate for `who`, and how the audit names them. Raises IdentityLookupFailed."""
        if self.selector is None:
            return self.default, self.caller(who)
        choice = self.selector.choose(who)
        gate = self._by_policy.get(choice.policy, self.default)
        return gate, self.caller(who, choice.name)


def build_gates(
    policy_path: str, identities_path: str | None = None, previous: GateSet | None = None
) -> GateSet:
    """The gates for `policy_path` and, if given, the identities file; raises PolicyError
    (and the like) if any file is broken, leaving `previous` untouched."""
    parts = Parts.of(previous.gates) if previous is not None else Parts()
    default_policy = policy_path
    selector = None
    key_env = DEFAULT_USER_ID_KEY_ENV
    if identities_path:
        identities = load_identities(identities_path)
        default_policy = identities.default or policy_path
        key_env = identities.key_env
        kept = previous.selector if previous is not None else None
        # An unchanged file keeps its selector, and with it the directory's cache.
        selector = kept if kept is not None and kept.identities == identities else None
        selector = selector or Selector(identities)
    paths = (default_policy, *(selector.identities.policies() if selector else ()))
    kept_gates = previous.gates if previous is not None else ()
    by_policy = {}
    try:
        for path in dict.fromkeys(paths):
            policy = load_policy(path)
            # A policy that did not change keeps its gate (its detectors are not built again).
            same = next((g for g in kept_gates if g.policy == policy), None)
            by_policy[path] = same or build_gate(policy, parts)
    except BaseException:
        for writer in parts.opened:  # a broken file: nothing of this build stays open
            writer.close()
        raise
    files = (*by_policy, identities_path) if identities_path else tuple(by_policy)
    user_ids = UserIds.from_env(key_env)
    if previous is not None and user_ids.ephemeral and previous.user_ids.ephemeral:
        user_ids = previous.user_ids  # a random key lives as long as the process
    return GateSet(by_policy[default_policy], by_policy, selector, user_ids, files)
