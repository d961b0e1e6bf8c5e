"""A `JsonBody` whose images may be base64 in any form `b64` accepts (URL-safe, unpadded),
raw or inside a `data:` URL, and are written back in the form the client used.

`JsonBody` itself reads only standard padded base64. Here a value in another form is read
by `b64.decode`, handed to `JsonBody` re-encoded in the standard form (so its checks and
media types apply unchanged), and remembered; a redacted copy goes back in the client's
alphabet and padding, and every value that did not change stays exactly as it was sent.
"""

from __future__ import annotations

from typing import Any

from proxy.errors import MalformedRequest
from proxy.providers import b64
from proxy.providers.jsonbody import Encoding, JsonBody


class Base64Body(JsonBody):
    """A `JsonBody` that reads every base64 form the image APIs accept (see `b64`)."""

    def __init__(self, body: bytes, content_type: str = "application/json") -> None:
        super().__init__(body, content_type)
        # ref -> (container, key, data URL head or "" for raw base64, the client's form)
        self._forms: dict[str, tuple[Any, Any, str, b64.Form]] = {}

    def image(
        self,
        container: Any,
        key: Any,
        pointer: str,
        encoding: Encoding,
        role: str = "image",
        media_type: str | None = None,
    ) -> None:
        try:
            super().image(container, key, pointer, encoding, role, media_type)
            return
        except MalformedRequest as error:
            # Standard padded base64 is read above at no extra cost; only a value that
            # failed there is looked at again.
            value = container[key]
            found = _base64_part(value, encoding) if isinstance(value, str) else None
            if found is None:
                raise
            prefix, payload = found
            try:
                data, form = b64.decode(payload)
            except MalformedRequest:
                raise error from None
        # JsonBody reads (and records its slot in) a stand-in holding the standard form;
        # the client's own value stays in the document.
        standard = {key: prefix + b64.encode(data)}
        super().image(standard, key, pointer, encoding, role, media_type)
        self._forms["json:" + pointer] = (container, key, prefix, form)

    def write(self, changed: dict[str, str | bytes]) -> bytes:
        rest: dict[str, str | bytes] = {}
        for ref, value in changed.items():
            entry = self._forms.get(ref)
            if entry is None or not isinstance(value, bytes):
                rest[ref] = value
                continue
            container, key, prefix, form = entry
            container[key] = prefix + b64.encode(value, form)
        return super().write(rest)


def _base64_part(value: str, encoding: Encoding) -> tuple[str, str] | None:
    """(data URL head with its comma, or "", base64 payload) of an image value, or None for
    any other value (a link, a data URL not in base64), which JsonBody reads as it is."""
    if encoding == "base64":
        return "", value
    if value[:5].lower() != "data:":
        return None
    head, comma, payload = value.partition(",")
    if not comma or head.rpartition(";")[2].lower() != "base64":
        return None
    return head + comma, payload
