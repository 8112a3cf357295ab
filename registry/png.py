"""A minimal deterministic PNG encoder (8-bit RGBA, no metadata) for raster maps embedded in SVG figures."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Sequence


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(rows: Sequence[Sequence[tuple[int, int, int, int]]]) -> bytes:
    """PNG bytes of ``rows`` (top to bottom) of RGBA pixels, all rows the same length; the same pixels always
    give the same bytes (no time stamp, fixed compression level)."""
    height = len(rows)
    width = len(rows[0]) if height else 0
    if not width or any(len(r) != width for r in rows):
        raise ValueError("a PNG needs at least one pixel and rows of one length")
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in rows)  # filter 0 on every row
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + \
        _chunk(b"IEND", b"")


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,…`` for an ``<image href>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
