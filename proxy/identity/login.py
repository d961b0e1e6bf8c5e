"""Proxy logins against LDAP, in place of mitmproxy's own check behind `proxyauth=ldap:...`.

mitmproxy's LDAP validator puts the typed name into its search filter unescaped (`ali*` with
alice's password logs in, under a name no identities entry names), binds without timeouts
over one connection opened at start that is never re-opened after the directory restarts,
and does not verify an `ldaps` certificate (the service password goes to whoever answers).
PixelGate keeps mitmproxy's option and its spec, and puts `DirectoryLogin` where mitmproxy
looks for its validator class (`install`), so no mitmproxy LDAP connection is ever made:

- names with filter characters (`* ( ) \\ NUL`) and empty passwords (an anonymous bind
  would succeed) are refused; the name is escaped anyway;
- each check opens its own connection, bounded by `TIMEOUT_S`; `ldaps` verifies the
  directory's certificate against the system's roots (or `SSL_CERT_FILE`);
- a login that succeeded is remembered for `CACHE_S` (as an HMAC of name and password under
  a per-process key, never the password), so a user's next connections need no directory;
- when the directory cannot answer, logins not remembered are refused at once for
  `BACKOFF_S` rather than each waiting for the timeout: mitmproxy checks logins on its event
  loop, which would stall every user.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

from mitmproxy import exceptions
from mitmproxy.addons import proxyauth

from proxy.identity.ldap import Directory, IdentityLookupFailed, LdapSettings

log = logging.getLogger("pixelgate")

TIMEOUT_S = 5.0
CACHE_S = 60.0
BACKOFF_S = 10.0
MAX_REMEMBERED = 10_000
FILTER_SPECIALS = frozenset("*()\\\x00")
# mitmproxy's own reading of the spec (taken before `install` replaces its class).
_parse_spec = proxyauth.Ldap.parse_spec


class DirectoryLogin:
    """A mitmproxy proxyauth validator: `validator(username, password) -> bool`."""

    def __init__(self, spec: str) -> None:
        try:
            use_ssl, host, port, dn, password, subtree, key = _parse_spec(spec)
        except exceptions.OptionsError:
            # mitmproxy's message quotes the spec, service password included.
            raise exceptions.OptionsError(
                "Invalid LDAP specification in proxyauth: expected "
                "ldap[s]:HOST[:PORT]:BIND_DN:PASSWORD:SUBTREE[?search_filter_key=KEY]"
            ) from None
        scheme = "ldaps" if use_ssl else "ldap"
        try:
            self.directory = Directory(
                LdapSettings(
                    url=f"{scheme}://{host}:{port or (636 if use_ssl else 389)}",
                    base=subtree,
                    bind_dn=dn or None,
                    password=password or None,
                    user_filter=f"({key}={{user}})",
                    timeout_s=TIMEOUT_S,
                )
            )
        except ValueError as e:
            raise exceptions.OptionsError(f"Invalid LDAP specification in proxyauth: {e}") from None
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._remembered: OrderedDict[bytes, float] = OrderedDict()
        self._down_until = 0.0

    def __call__(self, username: str, password: str) -> bool:
        if not username.strip() or not password or FILTER_SPECIALS & set(username):
            return False
        token = hmac.new(self._key, f"{username}\x00{password}".encode(), hashlib.sha256).digest()
        now = time.monotonic()
        with self._lock:
            if self._remembered.get(token, 0.0) > now:
                return True
            if self._down_until > now:
                return False
        try:
            entry: dict[str, Any] | None = self.directory.entry(username, [])
            accepted = entry is not None and self.directory.accepts(entry["dn"], password)
        except IdentityLookupFailed as e:
            with self._lock:
                self._down_until = time.monotonic() + BACKOFF_S
            log.warning("PixelGate refuses new logins for %g s: %s", BACKOFF_S, e)
            return False
        if accepted:
            with self._lock:
                self._remembered[token] = time.monotonic() + CACHE_S
                self._remembered.move_to_end(token)
                while len(self._remembered) > MAX_REMEMBERED:
                    self._remembered.popitem(last=False)
        return accepted


def install() -> None:
    """Make mitmproxy's proxyauth build a `DirectoryLogin` for `ldap:`/`ldaps:` specs. Must
    run before the option is set (proxy.addon does it when imported)."""
    proxyauth.Ldap = DirectoryLogin  # type: ignore[misc,assignment]
