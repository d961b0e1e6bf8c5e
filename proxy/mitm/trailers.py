"""HTTP/1 chunked bodies that end in trailer fields, read instead of crashing mitmproxy.

mitmproxy 11 raises NotImplementedError when an HTTP/1 chunked message ends with trailers,
which crashes the connection's handler and leaves the client hanging. RFC 9112 (7.1.2) lets
a recipient that removes the chunked coding discard trailer fields, and mitmproxy removes it
(the body is read whole for inspection): so the trailers are read and dropped. What is
dropped never reaches the provider, so nothing goes out unread.
"""

from __future__ import annotations

from typing import Any

import h11
from h11._readers import ChunkedReader


class TrailerDroppingReader(ChunkedReader):
    """h11's chunked reader, ending the message without the trailer fields it read."""

    def __call__(self, buf: Any) -> Any:
        event = super().__call__(buf)
        if isinstance(event, h11.EndOfMessage) and event.headers:
            return h11.EndOfMessage()
        return event


def install() -> None:
    from mitmproxy.proxy.layers.http import _http1

    original = _http1.make_body_reader
    if getattr(original, "drops_trailers", False):
        return

    def make_body_reader(expected_size: int | None) -> Any:
        if expected_size is None:
            return TrailerDroppingReader()
        return original(expected_size)

    make_body_reader.drops_trailers = True  # type: ignore[attr-defined]
    _http1.make_body_reader = make_body_reader
