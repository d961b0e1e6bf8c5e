"""What a request says outside its body: the URL's path and query, and the headers the client
wrote. The provider receives them as surely as the body, so they are inspected as text with
the body's prompts: an email in a query string or a card number in a custom header is found
like one in the prompt. They cannot be redacted (an adapter writes bodies back, not URLs or
headers), so a redaction that would have to touch them becomes a reroute or a block.

Left out are the credentials (inspecting an API key finds nothing but noise, and it must never
be logged or fingerprinted) and the framing headers whose values HTTP itself defines.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import unquote_plus

from proxy.engine.outcome import unless_unrewritable
from proxy.engine.pipeline import Outcome
from proxy.model import ImageRequest, TextPart
from proxy.providers.base import WireRequest
from proxy.providers.formrest import unread_form_parts
from proxy.providers.jsonrest import unread_parts

REF_PREFIX = "@envelope:"
CREDENTIALS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
        "x-amz-security-token",
        "ocp-apim-subscription-key",
    }
)
# Read by HTTP and the proxy themselves; Host is checked against the connection instead.
FRAMING = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "content-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "expect",
        "upgrade",
    }
)
_WHY = "personal data in the URL or headers cannot be rewritten"
_WHY_BODY = "personal data in a key, number, parameter or form framing cannot be rewritten"


def envelope(wire: WireRequest) -> tuple[TextPart, ...]:
    """The URL and the headers as two text parts (role "other")."""
    # Separators become spaces, so "to/jane%40example.org" reads as an email after a word.
    url = unquote_plus(wire.path.replace("/", " ").replace("&", " ").replace("=", " = "))
    headers = "\n".join(
        f"{name}: {value}"
        for name, value in wire.headers.items()
        if name not in CREDENTIALS and name not in FRAMING
    )
    return (
        TextPart(f"{REF_PREFIX}url", url, role="other"),
        TextPart(f"{REF_PREFIX}headers", headers, role="other"),
    )


def with_envelope(request: ImageRequest, wire: WireRequest) -> ImageRequest:
    """`request` with the URL, the headers and what its adapter did not read of a JSON or
    form body (keys, numbers, parameters, framing: proxy/providers/jsonrest.py, formrest.py)
    as unrewritable parts."""
    rest = (*unread_parts(wire, request), *unread_form_parts(wire, request))
    return request.with_prompts((*request.prompts, *rest, *envelope(wire)))


def settled(outcome: Outcome, fallback_ready: bool) -> Outcome:
    """`outcome` without the envelope parts in what is forwarded; a redaction that changed
    them becomes a reroute (with a local model) or a block."""
    body = _body_prompts(outcome.request)
    request = outcome.request.with_prompts(body)
    forward = outcome.forward
    fixed = outcome.request.prompts[len(body) :]
    if forward is not None and forward.prompts[len(body) :] != fixed:
        moved = [a.ref for a, b in zip(forward.prompts[len(body) :], fixed, strict=True) if a != b]
        body_only = all(ref[len(REF_PREFIX) :].startswith(("json-", "form-")) for ref in moved)
        why = _WHY_BODY if moved and body_only else _WHY
        return unless_unrewritable(replace(outcome, request=request), why, fallback_ready)
    if forward is not None:
        forward = forward.with_prompts(forward.prompts[: len(body)])
    return replace(outcome, request=request, forward=forward)


def _body_prompts(request: ImageRequest) -> tuple[TextPart, ...]:
    return tuple(p for p in request.prompts if not p.ref.startswith(REF_PREFIX))
