"""User names as PixelGate compares them.

A directory compares `uid` values loosely (case, surrounding and repeated spaces, Unicode
compatibility forms), so a user who logs in as `ALICE` or ` alice` is alice. `canonical` makes
the identities file and the pseudonymous id see the same person whichever way the name was
typed.
"""

from __future__ import annotations

import unicodedata


def canonical(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()
