"""Email addresses written out ("jane dot doe at example dot com"), read back.

The pieces such writing is made of: an "at" in brackets ("(at)", "[at]") or between blanks,
a "dot" spelled between blanks or in brackets; `spelled_out` puts the address back together,
and `has_public_suffix` tells a real domain from prose. SpelledEmailRecognizer
(proxy.detectors.recognizers.spelled) finds such addresses; the disguise reading
(proxy.detectors.disguise) checks its rewrites with `has_public_suffix`.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tldextract import TLDExtract

_OPEN, _CLOSE = r"[\[({<]", r"[\])}>]"
DOT_SPELLED = rf"(?:[ \t]*{_OPEN}[ \t]*(?i:dot)[ \t]*{_CLOSE}[ \t]*|[ \t]+(?i:dot)[ \t]+)"
AT_BRACKETED = rf"[ \t]*{_OPEN}[ \t]*(?i:at)[ \t]*{_CLOSE}[ \t]*"
AT_PLAIN = r"[ \t]+(?i:at)[ \t]+"

_AT = re.compile(rf"{AT_BRACKETED}|{AT_PLAIN}")
_DOTS = re.compile(DOT_SPELLED)


def spelled_out(text: str) -> str:
    """'jane dot doe at example dot com' -> 'jane.doe@example.com'."""
    return _DOTS.sub(".", _AT.sub("@", text, count=1))


@cache
def _suffixes() -> TLDExtract:
    import tldextract

    # The suffix list bundled with tldextract: never fetched at run time.
    return tldextract.TLDExtract(suffix_list_urls=())


def has_public_suffix(address: str) -> bool:
    parts = _suffixes()(address.rpartition("@")[2])
    return bool(parts.suffix and parts.domain)
