"""Read a policy file into a `Policy`, or fail with the file, the line and the field
(the YAML reading itself is `yamlfile`'s, shared with the other files an operator writes)."""

from __future__ import annotations

import os
from pathlib import Path
from types import MappingProxyType

import yaml

import proxy
from proxy.errors import PolicyError
from proxy.model import Action, Source
from proxy.policy import yamlfile
from proxy.policy.fileformat import PolicyFile, RemoteImagesFile
from proxy.policy.schema import (
    AuditSettings,
    CustomRecognizer,
    DetectionSettings,
    FallbackSettings,
    Limits,
    Pattern,
    Policy,
    Redaction,
    RemoteImageSettings,
    Rule,
)


def load_policy(path: str | os.PathLike[str]) -> Policy:
    return load_policy_text(yamlfile.read_text(path, "policy"), os.fspath(path))


def load_policy_text(text: str, name: str = "<policy>") -> Policy:
    root, data = yamlfile.compose(text, name, "the policy is empty; it needs at least `version: 1`")
    if not isinstance(root, yaml.MappingNode):
        raise PolicyError(
            name, root.start_mark.line + 1, "", "the policy must be a mapping (version: 1, ...)"
        )
    spec = yamlfile.validate(PolicyFile, root, data, name)
    seen: set[str] = set()
    for i, rule in enumerate(spec.rules):
        if rule.id in seen:
            loc = ("rules", i, "id")
            raise PolicyError(
                name, yamlfile.line(root, loc), yamlfile.field(loc), "duplicate rule id"
            )
        seen.add(rule.id)
    return _to_policy(spec, name)


def placeholder_for(policy: Policy, entity: str) -> str:
    """The text that replaces a redacted `entity`: its own template, else the default one."""
    return policy.redaction.placeholder(entity)


def _bundled_dir() -> Path | None:
    # An installed wheel carries the policies inside the package (hatch force-include);
    # a source checkout or editable install has them beside it.
    package = Path(proxy.__file__).parent
    for folder in (package / "policies", package.parent / "policies"):
        if folder.is_dir():
            return folder
    return None


def bundled_policy_names() -> tuple[str, ...]:
    folder = _bundled_dir()
    return tuple(sorted(p.stem for p in folder.glob("*.yaml"))) if folder else ()


def bundled_policy_path(name: str = "default") -> Path:
    folder = _bundled_dir()
    path = folder / f"{name}.yaml" if folder else None
    if path is None or name not in bundled_policy_names() or not path.is_file():
        known = ", ".join(bundled_policy_names()) or "none installed"
        raise PolicyError(name, None, "", f"no bundled policy of that name ({known})")
    return path


def _to_policy(spec: PolicyFile, source: str) -> Policy:
    templates = {k: v for k, v in spec.redaction.items() if k != "default"}
    return Policy(
        source=source,
        version=spec.version,
        mode=spec.mode,
        on_error=spec.on_error,
        default_action=spec.default_action,
        providers=MappingProxyType({k: tuple(p.hosts) for k, p in spec.providers.items()}),
        passthrough=MappingProxyType(
            {k: tuple(p.passthrough) for k, p in spec.providers.items() if p.passthrough}
        ),
        recognizers=tuple(
            CustomRecognizer(
                entity=r.entity,
                patterns=tuple(
                    Pattern(p.name or f"{r.entity} pattern {j + 1}", p.regex, p.score)
                    for j, p in enumerate(r.patterns)
                ),
                deny_list=tuple(r.deny_list),
                deny_list_score=r.score,
                context=tuple(r.context),
            )
            for r in spec.recognizers
        ),
        rules=tuple(
            Rule(
                r.id,
                tuple(dict.fromkeys(r.entities)),
                r.action,
                r.min_score,
                frozenset(r.sources) if r.sources is not None else frozenset(Source),
                r.public_figures,
            )
            for r in spec.rules
        ),
        redaction=Redaction(
            MappingProxyType(templates), spec.redaction.get("default", Redaction.default)
        ),
        audit=AuditSettings(spec.audit.path, spec.audit.fingerprint_key_env, spec.audit.user_ids),
        fallback=FallbackSettings(
            spec.fallback.model,
            Action(spec.fallback.on_unavailable),
            spec.fallback.steps,
            spec.fallback.native_size,
            spec.fallback.device,
            spec.fallback.url,
            spec.fallback.token_env,
            spec.fallback.max_pending,
            spec.fallback.max_batch,
        ),
        limits=Limits(**spec.limits.model_dump()),
        remote_images=_remote_images(spec.remote_images),
        detection=DetectionSettings(**spec.detection.model_dump()),
    )


def _remote_images(spec: RemoteImagesFile | str) -> RemoteImageSettings:
    if isinstance(spec, str):
        return RemoteImageSettings(action=spec)
    return RemoteImageSettings(
        spec.action, spec.max_bytes, float(spec.timeout_s), tuple(spec.allow_hosts)
    )
