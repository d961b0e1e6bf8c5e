"""Content-Encoding of request bodies, undone within the policy's body limit.

mitmproxy's own decoder inflates a whole body with no limit on the output (a few KB of
brotli claim gigabytes) and knows one coding at a time. Here every coding the header lists
is undone in reverse order of application (RFC 9110 section 8.4) by a streaming
decompressor that stops as soon as its output passes the limit, and anything that is not
exactly a complete stream of the named coding is refused. Messages name codings and limits,
never bytes of the body.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import brotli  # type: ignore[import-untyped]
import zstandard

from proxy.errors import MalformedRequest, RequestTooLarge

# More codings than any client stacks: each layer may inflate up to the limit again.
MAX_CODINGS = 4
_CHUNK = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


class _Output:
    """Decoded chunks, refused as soon as they add up to more than `limit` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._chunks: list[bytes] = []

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise RequestTooLarge(
                f"request body exceeds the policy limit of {self.limit} bytes once decoded"
            )
        self._chunks.append(chunk)

    def value(self) -> bytes:
        return b"".join(self._chunks)


def codings(content_encoding: str) -> list[str]:
    """The codings a Content-Encoding value lists, in order of application, lower-cased,
    without `identity` (which changes nothing)."""
    names = (c.strip(" \t").lower() for c in content_encoding.split(","))
    return [name for name in names if name and name != "identity"]


def decode_body(raw: bytes, content_encoding: str, limit: int) -> bytes:
    """`raw` with every coding in `content_encoding` undone.

    Raises RequestTooLarge as soon as a decoded stage exceeds `limit` bytes, and
    MalformedRequest for an unknown coding or a stream that is broken, truncated or
    followed by anything else.
    """
    listed = codings(content_encoding)
    if len(listed) > MAX_CODINGS:
        raise MalformedRequest(f"more than {MAX_CODINGS} Content-Encodings")
    body = raw
    for coding in reversed(listed):
        decoder = _DECODERS.get(coding)
        if decoder is None:
            raise MalformedRequest(
                "unsupported Content-Encoding (PixelGate reads gzip, deflate, br and zstd)"
            )
        if body:  # an empty body stays empty under every coding, as mitmproxy reads it
            body = decoder(body, _Output(limit))
    if len(body) > limit:
        raise RequestTooLarge(f"request body exceeds the policy limit of {limit} bytes")
    return body


def _inflate(data: bytes, wbits: int, out: _Output, what: str) -> bytes:
    """One zlib-family stream from the start of `data` into `out`; returns what follows it."""
    stream = zlib.decompressobj(wbits)
    pending = data
    try:
        while not stream.eof:
            chunk = stream.decompress(pending, _CHUNK)
            out.add(chunk)
            pending = stream.unconsumed_tail
            if not pending and len(chunk) < _CHUNK:
                break  # all input used and nothing more buffered
    except zlib.error:
        raise MalformedRequest(f"{what} request body is broken") from None
    if not stream.eof:
        raise MalformedRequest(f"{what} request body is truncated")
    return stream.unused_data


def _gzip(data: bytes, out: _Output) -> bytes:
    # RFC 1952 allows several members one after another; readers that stop after the first
    # see less than we inspected, never more. Anything else after a member is refused.
    rest = data
    while rest:
        if not rest.startswith(_GZIP_MAGIC):
            raise MalformedRequest("gzip request body has trailing data")
        rest = _inflate(rest, 16 + zlib.MAX_WBITS, out, "gzip")
    return out.value()


def _deflate(data: bytes, out: _Output) -> bytes:
    # HTTP's deflate is the zlib format; some clients send raw deflate (as mitmproxy and
    # browsers accept), which is tried when the zlib reading fails.
    try:
        rest = _inflate(data, zlib.MAX_WBITS, out, "deflate")
    except MalformedRequest:
        out = _Output(out.limit)
        rest = _inflate(data, -zlib.MAX_WBITS, out, "deflate")
    if rest:
        raise MalformedRequest("deflate request body has trailing data")
    return out.value()


def _brotli(data: bytes, out: _Output) -> bytes:
    # brotli's Decompressor has no output limit: feed it slices small enough that one slice
    # cannot inflate far past what room is left (a byte of brotli decodes to a few MB at most).
    stream = brotli.Decompressor()
    pos = 0
    try:
        while pos < len(data):
            step = min(_CHUNK, max(1, (out.limit - out.size) >> 22))
            out.add(stream.process(data[pos : pos + step]))
            pos += step
    except brotli.error:
        raise MalformedRequest("br request body is broken or has trailing data") from None
    if not stream.is_finished():
        raise MalformedRequest("br request body is truncated")
    return out.value()


def _zstd(data: bytes, out: _Output) -> bytes:
    # Frames one after another, like gzip members. Its decompressor has no output limit
    # either, but one byte of zstd decodes to 32 KiB at most (an RLE block), so input slices
    # bound it; and the window a frame asks for, allocated before any output, is capped.
    window = 1 << max(23, min(27, (out.limit - 1).bit_length()))
    context = zstandard.ZstdDecompressor(max_window_size=window)
    rest = data
    try:
        while rest:
            stream, pos = context.decompressobj(), 0
            while not stream.eof and pos < len(rest):
                step = min(_CHUNK, max(1, (out.limit - out.size) >> 17))
                out.add(stream.decompress(rest[pos : pos + step]))
                pos += step
            if not stream.eof:
                raise MalformedRequest("zstd request body is truncated")
            rest = stream.unused_data + rest[pos:]
    except zstandard.ZstdError:
        raise MalformedRequest("zstd request body is broken or has trailing data") from None
    return out.value()


_DECODERS: dict[str, Callable[[bytes, _Output], bytes]] = {
    "gzip": _gzip,
    "x-gzip": _gzip,  # RFC 9110 section 8.4.1.3: a recipient treats it as gzip
    "deflate": _deflate,
    "br": _brotli,
    "zstd": _zstd,
}
