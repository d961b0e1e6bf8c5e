"""A user's groups from an LDAP directory (one attribute of the user's entry), cached.

One search per lookup, on a fresh connection bound as the service account (or anonymously),
bounded by `timeout_s` for connecting and for each answer. The user name is escaped before
it goes into the filter. Messages name the server, never the user or a password, and
nothing here logs.
"""

from __future__ import annotations

import contextlib
import math
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import (
    LDAPException,
    LDAPInvalidCredentialsResult,
    LDAPInvalidDnError,
)
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from proxy.cache import BoundedCache
from proxy.errors import IdentityLookupFailed

MAX_CACHED_USERS = 10_000
# RFC 4514: a backslash escapes one special character or stands before two hex digits.
_DN_ESCAPE = re.compile(r"\\([0-9A-Fa-f]{2}|.)", re.DOTALL)


@dataclass(frozen=True)
class LdapSettings:
    url: str
    base: str
    bind_dn: str | None = None
    password: str | None = None
    user_filter: str = "(uid={user})"
    attribute: str = "memberOf"
    cache_s: float = 300.0
    timeout_s: float = 5.0
    ca_file: str | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            raise ValueError("the LDAP url must look like ldap://host:port or ldaps://host:port")
        try:
            parts.port  # noqa: B018 - raises on an invalid port
        except ValueError:
            raise ValueError("the LDAP url has an invalid port") from None
        if "{user}" not in self.user_filter:
            raise ValueError("the LDAP user filter must contain {user}")
        if self.timeout_s <= 0 or self.cache_s < 0:
            raise ValueError("the LDAP timeout must be positive and the cache time not negative")


class LdapGroups:
    """`groups_of(user)`: the casefolded names in the user's `attribute` (a DN gives its first
    RDN's value), an empty set for a user the directory does not know. Answers, empty ones
    too, are remembered for `cache_s` (at most MAX_CACHED_USERS, oldest dropped); a failure
    raises IdentityLookupFailed and is not remembered. Safe to call from several threads."""

    def __init__(self, settings: LdapSettings) -> None:
        self._settings = settings
        self.directory = Directory(settings)
        self._cache: BoundedCache[str, frozenset[str]] = BoundedCache(MAX_CACHED_USERS)

    def groups_of(self, user: str) -> frozenset[str]:
        if not user:
            return frozenset()
        groups = self._cache.get(user)
        if groups is None:
            groups = self._lookup(user)
            self._cache.put(user, groups, self._settings.cache_s)
        return groups

    def _lookup(self, user: str) -> frozenset[str]:
        entry = self.directory.entry(user, [self._settings.attribute])
        if entry is None:
            return frozenset()
        return frozenset(_group_name(v) for v in _values(entry, self._settings.attribute))


class Directory:
    """One LDAP server as `LdapSettings` describe it: a user's entry found by the service
    account (or anonymously) with the escaped user filter, and binds as a given DN. Every call
    opens its own connection, bounded by `timeout_s` for connecting and for each answer, and
    any failure raises IdentityLookupFailed naming the server, never the user or a password."""

    def __init__(self, settings: LdapSettings) -> None:
        self.settings = settings
        parts = urlsplit(settings.url)
        self._host = parts.hostname or ""
        self._port = parts.port or (636 if parts.scheme == "ldaps" else 389)
        self._use_ssl = parts.scheme == "ldaps"
        host = f"[{self._host}]" if ":" in self._host else self._host
        self.where = f"{parts.scheme}://{host}:{self._port}"
        try:
            self._tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file)
        except LDAPException:  # ldap3 checks that the file exists
            raise ValueError("the LDAP ca_file is not a readable file") from None

    def entry(self, user: str, attributes: list[str]) -> dict[str, Any] | None:
        """The user's entry (its `dn` and `attributes`), None for a user it does not know."""
        s = self.settings
        search_filter = s.user_filter.replace("{user}", escape_filter_chars(user))
        step = "could not be reached"
        try:
            with self._bound(s.bind_dn, s.password) as connection:
                step = "failed to search"
                connection.search(
                    s.base,
                    search_filter,
                    search_scope=ldap3.SUBTREE,
                    attributes=attributes,
                    size_limit=2,
                    time_limit=self._whole_seconds,
                )
                response: list[dict[str, Any]] = connection.response or []
        except _Refused:
            raise IdentityLookupFailed(
                f"the identity directory {self.where} refused the bind"
            ) from None
        except Exception as e:  # ldap3 and pyasn1 raise many kinds; all mean "no answer"
            raise IdentityLookupFailed(
                f"the identity directory {self.where} {step} ({type(e).__name__})"
            ) from None
        entries = [r for r in response if r.get("type") == "searchResEntry"]
        if len(entries) > 1:
            # Choosing one would pick a policy (or a password to check) at random: refuse.
            raise IdentityLookupFailed(
                f"the identity directory {self.where} has more than one entry for a user"
            )
        return entries[0] if entries else None

    def accepts(self, dn: str, password: str) -> bool:
        """Whether the directory accepts `password` for `dn` (a simple bind). Raises
        IdentityLookupFailed when it cannot say."""
        try:
            with self._bound(dn, password):
                return True
        except _Refused:
            return False
        except Exception as e:  # noqa: BLE001 - unreachable, timed out, broken answer
            raise IdentityLookupFailed(
                f"the identity directory {self.where} could not be reached ({type(e).__name__})"
            ) from None

    @property
    def _whole_seconds(self) -> int:
        # ldap3 packs the receive timeout into SO_RCVTIMEO as whole seconds (0 would mean never).
        return max(1, math.ceil(self.settings.timeout_s))

    @contextlib.contextmanager
    def _bound(self, dn: str | None, password: str | None) -> Iterator[Any]:
        # A Server per call: ldap3's Server keeps per-connection state (current address).
        # From the parsed parts: ldap3 cannot parse a URL ending in "/".
        server = ldap3.Server(
            self._host,
            port=self._port,
            use_ssl=self._use_ssl,
            connect_timeout=self.settings.timeout_s,
            tls=self._tls,
            get_info=ldap3.NONE,
        )
        connection = ldap3.Connection(
            server,
            user=dn,
            password=password,
            read_only=True,
            receive_timeout=self._whole_seconds,
            raise_exceptions=True,
        )
        try:
            connection.open(read_server_info=False)
            try:
                connection.bind()
            except LDAPInvalidCredentialsResult:
                raise _Refused from None
            yield connection
        finally:
            with contextlib.suppress(Exception):
                connection.unbind()


class _Refused(Exception):
    """The directory answered the bind with a refusal (wrong password, unknown DN)."""


def _values(entry: dict[str, Any], attribute: str) -> list[str]:
    wanted = attribute.casefold()
    raw: dict[str, list[bytes]] = entry.get("raw_attributes") or {}
    for name, values in raw.items():
        if name.casefold() == wanted:
            return [v.decode("utf-8", errors="replace") for v in values]
    return []


def _group_name(value: str) -> str:
    """`cn=Legal,ou=groups,dc=x` -> `legal`; a value that is not a DN is the name itself."""
    try:
        rdns = parse_dn(value)
    except LDAPInvalidDnError:
        return value.strip().casefold()
    if not rdns:
        return value.strip().casefold()
    return _unescape(rdns[0][1]).strip().casefold()


def _unescape(value: str) -> str:
    out = bytearray()
    position = 0
    for match in _DN_ESCAPE.finditer(value):
        out += value[position : match.start()].encode()
        token = match.group(1)
        out += bytes.fromhex(token) if len(token) == 2 else token.encode()
        position = match.end()
    out += value[position:].encode()
    return out.decode("utf-8", errors="replace")
