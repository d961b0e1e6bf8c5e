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
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import LDAPException, LDAPInvalidDnError
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from proxy.errors import InspectionFailed

MAX_CACHED_USERS = 10_000
# RFC 4514: a backslash escapes one special character or stands before two hex digits.
_DN_ESCAPE = re.compile(r"\\([0-9A-Fa-f]{2}|.)", re.DOTALL)


class IdentityLookupFailed(InspectionFailed):
    """The directory could not say who the user is, so which policy applies is unknown: the
    request is refused, never guessed and never forwarded, whatever `on_error` says."""

    status = 503
    code = "pixelgate_identity_lookup_failed"
    kind = "server_error"
    forwardable = False


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
        parts = urlsplit(settings.url)
        self._host = parts.hostname or ""
        self._port = parts.port or (636 if parts.scheme == "ldaps" else 389)
        self._use_ssl = parts.scheme == "ldaps"
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._where = f"{parts.scheme}://{host}:{self._port}"
        try:
            self._tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file)
        except LDAPException:  # ldap3 checks that the file exists
            raise ValueError("the LDAP ca_file is not a readable file") from None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()

    def groups_of(self, user: str) -> frozenset[str]:
        if not user:
            return frozenset()
        with self._lock:
            hit = self._cache.get(user)
            if hit is not None and hit[0] > time.monotonic():
                return hit[1]
        groups = self._lookup(user)
        with self._lock:
            self._cache[user] = (time.monotonic() + self._settings.cache_s, groups)
            self._cache.move_to_end(user)
            while len(self._cache) > MAX_CACHED_USERS:
                self._cache.popitem(last=False)
        return groups

    def _lookup(self, user: str) -> frozenset[str]:
        s = self._settings
        search_filter = s.user_filter.replace("{user}", escape_filter_chars(user))
        # ldap3 packs the receive timeout into SO_RCVTIMEO as whole seconds (0 would mean never).
        whole_seconds = max(1, math.ceil(s.timeout_s))
        step = "could not be reached"
        connection: Any = None
        try:
            # A Server per lookup: ldap3's Server keeps per-connection state (current address).
            # From the parsed parts: ldap3 cannot parse a URL ending in "/".
            server = ldap3.Server(
                self._host,
                port=self._port,
                use_ssl=self._use_ssl,
                connect_timeout=s.timeout_s,
                tls=self._tls,
                get_info=ldap3.NONE,
            )
            connection = ldap3.Connection(
                server,
                user=s.bind_dn,
                password=s.password,
                read_only=True,
                receive_timeout=whole_seconds,
                raise_exceptions=True,
            )
            connection.open(read_server_info=False)
            step = "refused the bind"
            if not connection.bind():
                raise ValueError("bind")
            step = "failed to search"
            connection.search(
                s.base,
                search_filter,
                search_scope=ldap3.SUBTREE,
                attributes=[s.attribute],
                size_limit=2,
                time_limit=whole_seconds,
            )
            response: list[dict[str, Any]] = connection.response or []
        except Exception as e:  # ldap3 and pyasn1 raise many kinds; all mean "no answer"
            raise IdentityLookupFailed(
                f"the identity directory {self._where} {step} ({type(e).__name__})"
            ) from None
        finally:
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.unbind()
        entries = [r for r in response if r.get("type") == "searchResEntry"]
        if len(entries) > 1:
            # Choosing one would pick a policy at random; refuse instead.
            raise IdentityLookupFailed(
                f"the identity directory {self._where} has more than one entry for a user"
            )
        if not entries:
            return frozenset()
        return frozenset(_group_name(v) for v in _values(entries[0], s.attribute))


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
