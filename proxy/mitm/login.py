"""Proxy logins against LDAP, in place of mitmproxy's own check behind `proxyauth=ldap:...`.

mitmproxy's LDAP validator puts the typed name into its search filter unescaped (`ali*` with
alice's password logs in, under a name no identities entry names), binds without timeouts
over one connection opened at start that is never re-opened after the directory restarts,
and does not verify an `ldaps` certificate (the service password goes to whoever answers).
PixelGate keeps mitmproxy's option and its spec; `Login`, which stands in for mitmproxy's
proxyauth addon, makes a `DirectoryLogin` the validator of an LDAP spec, so no mitmproxy LDAP
connection is ever made:

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

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mitmproxy import ctx, exceptions, http
from mitmproxy.addons import proxyauth

from proxy.cache import BoundedCache
from proxy.errors import IdentityLookupFailed
from proxy.identity.ldap import Directory, LdapSettings

log = logging.getLogger("pixelgate")

TIMEOUT_S = 5.0
CACHE_S = 60.0
BACKOFF_S = 10.0
MAX_REMEMBERED = 10_000
LOGIN_WORKERS = 8  # logins checked at once, off the event loop
FILTER_SPECIALS = frozenset("*()\\\x00")


class DirectoryLogin(proxyauth.Validator):
    """A mitmproxy proxyauth validator: `validator(username, password) -> bool`."""

    def __init__(self, spec: str) -> None:
        try:
            use_ssl, host, port, dn, password, subtree, key = proxyauth.Ldap.parse_spec(spec)
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
        self._remembered: BoundedCache[bytes, bool] = BoundedCache(MAX_REMEMBERED)
        self._down_until = 0.0  # a float written whole: no lock needed

    def __call__(self, username: str, password: str) -> bool:
        if not username.strip() or not password or FILTER_SPECIALS & set(username):
            return False
        token = hmac.new(self._key, f"{username}\x00{password}".encode(), hashlib.sha256).digest()
        if self._remembered.get(token):
            return True
        if self._down_until > time.monotonic():
            return False
        try:
            entry: dict[str, Any] | None = self.directory.entry(username, [])
            accepted = entry is not None and self.directory.accepts(entry["dn"], password)
        except IdentityLookupFailed as e:
            self._down_until = time.monotonic() + BACKOFF_S
            log.warning("PixelGate refuses new logins for %g s: %s", BACKOFF_S, e)
            return False
        if accepted:
            self._remembered.put(token, True, CACHE_S)
        return accepted


class Login(proxyauth.ProxyAuth):
    """mitmproxy's proxyauth addon, in its place in the addon chain (proxy.mitm.runner), with
    two changes. An `ldap:`/`ldaps:` spec gets a `DirectoryLogin` as its validator (mitmproxy's
    own `Validator` seam), so no mitmproxy LDAP connection is ever made. And credentials are
    checked in a worker thread: mitmproxy calls the validator on its event loop, so one slow
    directory answer (or a costly password hash) would hold up every other connection.
    Requests on a connection already logged in take the direct path. Any failure of the
    hand-off answers 407: a hook exception would let mitmproxy carry on unauthenticated."""

    name = "proxyauth"  # mitmproxy's name for the addon this one stands in for

    def __init__(self) -> None:
        super().__init__()
        self._pool = ThreadPoolExecutor(LOGIN_WORKERS, thread_name_prefix="pixelgate-login")

    def configure(self, updated: set[str]) -> None:
        spec = ctx.options.proxyauth or ""
        if "proxyauth" in updated and spec.startswith("ldap"):
            self.validator = DirectoryLogin(spec)
        else:
            super().configure(updated)

    async def http_connect(self, f: http.HTTPFlow) -> None:  # type: ignore[override]
        await self._checked(super().http_connect, f)

    async def requestheaders(self, f: http.HTTPFlow) -> None:  # type: ignore[override]
        await self._checked(super().requestheaders, f)

    def done(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _checked(self, check: Callable[[http.HTTPFlow], None], flow: http.HTTPFlow) -> None:
        if self._direct(flow):
            check(flow)
            return
        try:
            await asyncio.get_running_loop().run_in_executor(self._pool, check, flow)
        except Exception:  # noqa: BLE001 - never let the flow through unchecked
            flow.response = proxyauth.make_auth_required_response(proxyauth.is_http_proxy(flow))

    def _direct(self, flow: http.HTTPFlow) -> bool:
        """Nothing to check against the validator: none set, a connection already logged
        in, or no credentials at all (the answer is 407 without asking anyone)."""
        header = proxyauth.http_auth_header(proxyauth.is_http_proxy(flow))
        return bool(
            self.validator is None
            or flow.client_conn in self.authenticated
            or flow.is_replay
            or header not in flow.request.headers
        )
