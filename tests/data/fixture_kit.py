"""What the `make_fixtures.py` scripts share: a tiny valid PNG, and writing one recorded
request as `<name>.http` (the body) beside `<name>.json` (method, path, headers, source).

The scripts run from their own folder (`python make_fixtures.py`) and import this module
from the folder above.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path

import httpx


def png(rgb: tuple[int, int, int], size: int = 2) -> bytes:
    """A tiny valid PNG, so image detectors downstream can decode the fixtures."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    idat = zlib.compress(row * size, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def write_fixture(
    folder: Path,
    name: str,
    body: bytes,
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    source: str,
    host: str | None = None,
) -> None:
    """`<name>.http` holds `body`; `<name>.json` the rest, as the adapter tests read it."""
    (folder / f"{name}.http").write_bytes(body)
    meta: dict[str, object] = {"method": method, **({"host": host} if host else {})}
    meta.update(path=path, headers=dict(headers), source=source)
    (folder / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")


def write_request(
    folder: Path, name: str, request: httpx.Request, source: str, **more: str
) -> None:
    """A request recorded by an httpx transport, with its content type (and `more` headers)."""
    headers = {"content-type": request.headers["content-type"], **more}
    path = request.url.raw_path.decode("ascii")
    write_fixture(
        folder, name, request.read(), method=request.method, path=path, headers=headers,
        source=source,
    )  # fmt: skip
