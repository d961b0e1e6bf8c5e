"""The identities file read and compiled: which policy a request's sender gets.

`load_identities` reads the file (every problem named by file, line and field, as for a
policy); `Selector.choose` picks the first `select` entry that matches an `Identity`. An entry
matches when every criterion it gives matches: the user is one of `users`, is in one of
`groups` (from the file and, when configured, from the directory), and the client address is
in one of `networks`. Nobody matched: the default policy.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from proxy.errors import IdentityLookupFailed, PolicyError
from proxy.identity.fileformat import IdentitiesFile, Network
from proxy.identity.ldap import LdapGroups, LdapSettings
from proxy.identity.names import canonical
from proxy.policy import bundled_policy_path, yamlfile

DEFAULT_CHOICE = "default"


@dataclass(frozen=True)
class Identity:
    """Who sent a request: the name proxy authentication accepted (None without it) and the
    client's address. Never written anywhere: audit events carry `UserIds.of(user)`."""

    user: str | None
    address: str | None


@dataclass(frozen=True)
class Choice:
    name: str  # the `select` entry's name, or "default"
    policy: str  # the policy file it names; "" for the proxy's own --policy


@dataclass(frozen=True)
class Entry:
    name: str
    users: frozenset[str]  # canonical (`names.canonical`)
    groups: frozenset[str]  # casefolded
    networks: tuple[Network, ...]
    policy: str


@dataclass(frozen=True)
class Identities:
    path: str
    entries: tuple[Entry, ...]
    default: str  # "" for the proxy's own --policy
    groups: Mapping[str, frozenset[str]]  # canonical user -> casefolded groups, from the file
    ldap: LdapSettings | None
    ldap_fallback_to_default: bool
    key_env: str

    def policies(self) -> tuple[str, ...]:
        """Every policy file the selection names (bundled ones included), each once."""
        named = [self.default, *(e.policy for e in self.entries)]
        return tuple(dict.fromkeys(p for p in named if p))


def load_identities(path: str | os.PathLike[str]) -> Identities:
    name = os.fspath(path)
    text = yamlfile.read_text(path, "identities file")
    root, data = yamlfile.compose(text, name, "the identities file is empty; it needs `version: 1`")
    spec = yamlfile.validate(IdentitiesFile, root, data, name)
    folder = Path(path).resolve().parent
    seen = {DEFAULT_CHOICE}  # the name of the choice for everyone else
    for i, entry in enumerate(spec.select):
        if entry.name in seen:
            loc = ("select", i, "name")
            message = "used twice (or is 'default'): names tell the choices apart in the audit"
            raise PolicyError(name, yamlfile.line(root, loc), yamlfile.field(loc), message)
        seen.add(entry.name)

    def policy_at(value: str, loc: tuple[str | int, ...]) -> str:
        try:
            return _policy_path(value, folder)
        except PolicyError as e:
            raise PolicyError(
                name, yamlfile.line(root, loc), yamlfile.field(loc), e.message
            ) from None

    entries = tuple(
        Entry(
            entry.name,
            frozenset(canonical(user) for user in entry.users),
            frozenset(g.casefold() for g in entry.groups),
            tuple(ipaddress.ip_network(n, strict=False) for n in entry.networks),
            policy_at(entry.policy, ("select", i, "policy")),
        )
        for i, entry in enumerate(spec.select)
    )
    members: dict[str, set[str]] = {}
    for group, users in spec.groups.items():
        for user in users:
            members.setdefault(canonical(user), set()).add(group.casefold())
    ldap = None
    if spec.ldap is not None:
        password = None
        if spec.ldap.password_env is not None:
            password = os.environ.get(spec.ldap.password_env)
            if password is None:
                where = ("ldap", "password_env")
                message = "names an environment variable that is not set"
                raise PolicyError(name, yamlfile.line(root, where), yamlfile.field(where), message)
        settings = spec.ldap.model_dump(exclude={"password_env", "on_failure"})
        try:
            ldap = LdapSettings(**settings, password=password)
        except ValueError as e:
            raise PolicyError(name, yamlfile.line(root, ("ldap",)), "ldap", str(e)) from None
    default = policy_at(spec.default, ("default",)) if spec.default else ""
    return Identities(
        name,
        entries,
        default,
        {user: frozenset(groups) for user, groups in members.items()},
        ldap,
        spec.ldap is not None and spec.ldap.on_failure == "default",
        spec.user_ids.key_env,
    )


def _policy_path(value: str, folder: Path) -> str:
    """A bundled policy's name, or a file relative to the identities file's folder."""
    if "/" in value or os.sep in value or value.endswith((".yaml", ".yml")):
        return str(folder / value)
    return str(bundled_policy_path(value))


class Selector:
    """Chooses the policy for an identity. Directory lookups happen only for an entry that
    asks for groups and only when the file's own groups did not already decide it."""

    def __init__(self, identities: Identities, directory: LdapGroups | None = None) -> None:
        self.identities = identities
        if directory is None and identities.ldap is not None:
            directory = LdapGroups(identities.ldap)
        self._directory = directory

    def choose(self, who: Identity) -> Choice:
        """The first matching entry, else the default. Raises IdentityLookupFailed when the
        directory cannot answer (unless the file says to fall back to the default policy)."""
        address = _address(who.address)
        user = canonical(who.user) if who.user is not None else None
        listed = self.identities.groups.get(user, frozenset()) if user else frozenset()
        looked_up: frozenset[str] | None = None
        for entry in self.identities.entries:
            if entry.users and user not in entry.users:
                continue
            if entry.networks and (
                address is None or not any(address in n for n in entry.networks)
            ):
                continue
            if entry.groups and not entry.groups & listed:
                if not user or self._directory is None:
                    continue
                if looked_up is None:
                    try:
                        looked_up = self._directory.groups_of(user)
                    except IdentityLookupFailed:
                        if self.identities.ldap_fallback_to_default:
                            break
                        raise
                if not entry.groups & looked_up:
                    continue
            return Choice(entry.name, entry.policy)
        return Choice(DEFAULT_CHOICE, self.identities.default)


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket's view of an IPv4 client
    return address


class UserIds:
    """Pseudonymous user ids: an HMAC-SHA256 of the canonical name under the operator's key,
    so the same user has the same id in every event (and on every instance sharing the key),
    and only someone holding the key can tell whose it is. Without a key, a random one per process:
    ids still group a user's requests, but only until the proxy restarts."""

    PREFIX = b"pixelgate-user-id\x00"

    def __init__(self, key: bytes | None) -> None:
        self.ephemeral = not key
        self._key = key or secrets.token_bytes(32)

    @classmethod
    def from_env(cls, variable: str) -> UserIds:
        key = os.environ.get(variable, "")
        return cls(key.encode("utf-8") if key else None)

    def of(self, user: str) -> str:
        data = self.PREFIX + canonical(user).encode("utf-8")
        mac = hmac.new(self._key, data, hashlib.sha256)
        return "u-" + mac.hexdigest()[:32]
