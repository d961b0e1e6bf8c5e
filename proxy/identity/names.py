"""User names as PixelGate compares them, and a guard on mitmproxy's LDAP authentication.

A directory compares `uid` values loosely (case, surrounding and repeated spaces, Unicode
compatibility forms), so a user who logs in as `ALICE` or ` alice` is alice. `canonical` makes
the identities file and the pseudonymous id see the same person whichever way the name was
typed. mitmproxy's LDAP validator puts the typed name into its search filter unescaped: with
`ali*` and alice's password it accepts a name that no identities entry names, and that user
would get the default policy instead of their own. `LiteralNames` refuses such names first.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

_FILTER_SPECIALS = frozenset("*()\\\x00")


def canonical(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


class LiteralNames:
    """A proxyauth validator that refuses names with LDAP filter characters, then asks the
    validator it wraps."""

    def __init__(self, inner: Callable[[str, str], bool]) -> None:
        self.inner = inner

    def __call__(self, username: str, password: str) -> bool:
        if not username.strip() or any(c in _FILTER_SPECIALS for c in username):
            return False
        return bool(self.inner(username, password))


def guard_ldap_names(proxyauth: Any) -> None:
    """Wrap mitmproxy's LDAP validator on its proxyauth addon (once); others are left as is."""
    from mitmproxy.addons.proxyauth import Ldap

    validator = getattr(proxyauth, "validator", None)
    if isinstance(validator, Ldap):
        proxyauth.validator = LiteralNames(validator)
