"""Content-Encoding undone within the body limit: every coding, stacked codings, broken and
truncated streams, and decompression bombs that must stop near the limit, not in memory."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable

import brotli  # type: ignore[import-untyped]
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.errors import MalformedRequest, PixelGateError, RequestTooLarge
from proxy.mitm.decoding import MAX_CODINGS, codings, decode_body

PLANT = "jane.doe@example.com"
BODY = b'{"prompt": "A birthday card for ' + PLANT.encode() + b'"}' * 50
LIMIT = 1 << 20


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstandard.ZstdCompressor().compress,
    "identity": lambda data: data,
}


def encoded(data: bytes, header: str) -> bytes:
    """`data` with the codings of `header` applied in the order it lists them."""
    for coding in header.split(","):
        data = ENCODERS[coding.strip().lower()](data)
    return data


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_each_coding_is_decoded(coding: str) -> None:
    assert decode_body(encoded(BODY, coding), coding, LIMIT) == BODY


def test_no_coding_passes_the_body_through() -> None:
    assert decode_body(BODY, "", LIMIT) == BODY


def test_raw_deflate_is_read_like_zlib_deflate() -> None:
    assert decode_body(raw_deflate(BODY), "deflate", LIMIT) == BODY


@pytest.mark.parametrize(
    "header", ["gzip, br", "br, gzip", "deflate, zstd, gzip", "GZIP ,\tbr", "gzip, identity, zstd"]
)
def test_stacked_codings_are_undone_in_reverse_order(header: str) -> None:
    assert decode_body(encoded(BODY, header), header, LIMIT) == BODY


def test_codings_lists_them_in_order_of_application() -> None:
    assert codings(" GZip, identity,, br ") == ["gzip", "br"]


def test_several_gzip_members_are_all_read() -> None:
    assert (
        decode_body(gzip.compress(BODY) + gzip.compress(b"tail"), "gzip", LIMIT) == BODY + b"tail"
    )


def test_several_zstd_frames_are_all_read() -> None:
    compress = zstandard.ZstdCompressor().compress
    assert decode_body(compress(BODY) + compress(b"tail"), "zstd", LIMIT) == BODY + b"tail"


def test_an_empty_body_stays_empty_under_any_known_coding() -> None:
    assert decode_body(b"", "gzip, br", LIMIT) == b""


@pytest.mark.parametrize("header", ["compress", "bz2", "base64", f"x-{PLANT}", "gzip, rot13"])
def test_an_unknown_coding_is_refused_without_echo(header: str) -> None:
    with pytest.raises(MalformedRequest) as error:
        decode_body(encoded(BODY, "gzip"), header, LIMIT)
    assert "jane.doe" not in str(error.value) and header not in str(error.value)


def test_more_codings_than_any_client_stacks_are_refused() -> None:
    header = ", ".join(["gzip"] * (MAX_CODINGS + 1))
    with pytest.raises(MalformedRequest):
        decode_body(encoded(BODY, header), header, LIMIT)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_a_truncated_stream_is_refused(coding: str) -> None:
    data = encoded(BODY, coding)
    with pytest.raises(MalformedRequest):
        decode_body(data[: len(data) // 2], coding, LIMIT)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_trailing_data_after_the_stream_is_refused(coding: str) -> None:
    with pytest.raises(MalformedRequest):
        decode_body(encoded(BODY, coding) + PLANT.encode(), coding, LIMIT)


def test_a_broken_gzip_stream_is_refused_without_echo() -> None:
    data = bytearray(gzip.compress(BODY))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(MalformedRequest) as error:
        decode_body(bytes(data), "gzip", LIMIT)
    assert "jane.doe" not in str(error.value)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_not(coding: str) -> None:
    data = b"a" * 5000
    assert decode_body(encoded(data, coding), coding, 5000) == data
    with pytest.raises(RequestTooLarge):
        decode_body(encoded(data, coding), coding, 4999)


def zeros_gzip(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    return b"".join(compressor.compress(block) for _ in range(size >> 20)) + compressor.flush()


BOMBS: dict[str, Callable[[], bytes]] = {
    "gzip": lambda: zeros_gzip(256 << 20),
    "br": lambda: brotli.compress(bytes(256 << 20), quality=1),
    "zstd": lambda: zstandard.ZstdCompressor(level=1).compress(bytes(256 << 20)),
    "gzip, gzip": lambda: gzip.compress(zeros_gzip(256 << 20)),
}


@pytest.mark.parametrize("header", sorted(BOMBS))
def test_a_decompression_bomb_stops_near_the_limit(header: str) -> None:
    bomb = BOMBS[header]()
    assert len(bomb) < 1 << 20  # a few hundred KB at most that claim 256 MiB
    tracemalloc.start()
    try:
        with pytest.raises(RequestTooLarge) as error:
            decode_body(bomb, header, LIMIT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Memory, not time: what was held at once stays a few times the limit, never 256 MiB.
    assert peak < 8 * LIMIT, peak
    assert str(LIMIT) in str(error.value)


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(
    data=st.binary(max_size=2000),
    header=st.lists(st.sampled_from(sorted(ENCODERS)), min_size=1, max_size=MAX_CODINGS).map(
        ", ".join
    ),
)
def test_any_stack_of_codings_round_trips(data: bytes, header: str) -> None:
    assert decode_body(encoded(data, header), header, LIMIT) == data


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(
    data=st.binary(max_size=300),
    header=st.sampled_from(["gzip", "deflate", "br", "zstd", "br, gzip", "zstd, deflate"]),
    flip=st.integers(0, 10_000),
)
def test_any_damaged_stream_is_decoded_or_refused_with_our_own_error(
    data: bytes, header: str, flip: int
) -> None:
    damaged = bytearray(encoded(data, header))
    damaged[flip % len(damaged)] ^= 1 + flip % 255
    try:
        decode_body(bytes(damaged), header, LIMIT)
    except PixelGateError as e:
        assert isinstance(e, MalformedRequest | RequestTooLarge)
