"""Why a request was allowed, redacted, blocked or rerouted: one pure function.

No I/O, no logging, no flow objects: the same policy and findings always give the same
`Decision`, which is what makes `pixelgate scan` and the policy tests repeatable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from proxy.model import Action, Decision, Finding, Source
from proxy.policy.schema import ANY_ENTITY, DEFAULT_RULE_ID, Policy, Rule

# (rule id, action, the findings it matched)
_Claim = tuple[str, Action, tuple[Finding, ...]]


def decide(
    policy: Policy, findings: Sequence[Finding], *, fallback_ready: bool = False
) -> Decision:
    """The action for a request with these findings, the rule that chose it, and why.

    The most severe action among matching rules wins (block > reroute > redact > allow), the
    first such rule in the file names the decision, and `targets` are the findings of every
    rule with that action. A reroute with no local model ready becomes
    `fallback.on_unavailable`. Findings below `detection.min_score` are ignored.
    """
    kept = [f for f in findings if f.score >= policy.detection.min_score]
    claims = _claims(policy.rules, policy.default_action, kept)
    # max() keeps the first of equals, so ties go to the earlier rule in the file.
    rule_id, action, _ = max(claims, key=lambda c: c[1].severity)
    contributing = [c for c in claims if c[1] is action]
    reasons = [_reason(r, a, fs) for r, a, fs in contributing]
    final = action
    if action is Action.REROUTE and not fallback_ready:
        final = policy.fallback.on_unavailable
        who = "default_action" if rule_id == DEFAULT_RULE_ID else f"rule {rule_id}"
        reasons.append(
            f"{who} requested reroute but the local fallback is unavailable;"
            f" fallback.on_unavailable: {final}"
        )
        if final is Action.REDACT:
            # What a reroute would have kept in the building must now be covered, as well as
            # what the (less severe) redact rules asked for.
            contributing += [c for c in claims if c[1] is Action.REDACT]
    return Decision(final, rule_id, tuple(reasons), _targets(contributing))


def _claims(rules: Sequence[Rule], default: Action, kept: Sequence[Finding]) -> list[_Claim]:
    # Findings no rule claims are judged by `default_action`, as if by a last rule: so with
    # `default_action: block`, an entity nobody listed cannot slip through beside a listed one.
    claims: list[_Claim] = []
    claimed: set[int] = set()
    for rule in rules:
        matched = [i for i, f in enumerate(kept) if rule.matches(f)]
        if matched:
            claims.append((rule.id, rule.action, tuple(kept[i] for i in matched)))
            claimed.update(matched)
    unclaimed = tuple(f for i, f in enumerate(kept) if i not in claimed)
    if unclaimed or not claims:
        claims.append((DEFAULT_RULE_ID, default, unclaimed))
    return claims


def _targets(claims: Sequence[_Claim]) -> tuple[Finding, ...]:
    # A finding matched by two rules is one place to redact, not two.
    seen: dict[int, Finding] = {}
    for _, _, found in claims:
        for finding in found:
            seen.setdefault(id(finding), finding)
    return tuple(seen.values())


def _reason(rule_id: str, action: Action, found: Sequence[Finding]) -> str:
    if not found:
        return f"no rule matched; default_action: {action}"
    counts = Counter((f.entity, f.source.value) for f in found)
    what = ", ".join(
        f"{entity} in {source}" + (f" (x{n})" if n > 1 else "")
        for (entity, source), n in counts.items()
    )
    if rule_id == DEFAULT_RULE_ID:
        return f"default_action {action}: {what}"
    return f"rule {rule_id}: {what}"


def acted_entities(policy: Policy) -> frozenset[str] | None:
    """The entities whose findings can change a decision; None means every entity.

    Detectors need look only for these: a finding no rule acts on would end as `allow`
    whatever it is. With a `default_action` other than allow, or a wildcard rule that acts,
    any entity matters.
    """
    if policy.default_action is not Action.ALLOW:
        return None
    acting = [rule for rule in policy.rules if rule.action is not Action.ALLOW]
    if any(ANY_ENTITY in rule.entities for rule in acting):
        return None
    return frozenset(entity for rule in acting for entity in rule.entities)


def acts_on(policy: Policy, source: Source, entities: frozenset[str] | None = None) -> bool:
    """Whether any finding from `source` (of one of `entities`, None: any) could change a
    decision: a detector that cannot is not worth running."""
    if policy.default_action is not Action.ALLOW:
        return True
    for rule in policy.rules:
        if rule.action is Action.ALLOW or source not in rule.sources:
            continue
        if entities is None or ANY_ENTITY in rule.entities or entities & set(rule.entities):
            return True
    return False
