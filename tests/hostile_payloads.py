"""Small request bodies that declare something huge, shared by the handler's unit tests and
the container's end-to-end tests."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np


def npy_declaring(shape: tuple[int, ...], dtype: str = "<f4", data: bytes = b"\0" * 64) -> bytes:
    """An .npy header for `shape` followed by a few bytes: about 200 bytes whatever it declares."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + data


def deep_json(depth: int = 100_000) -> bytes:
    """`{"instances": [[[...]]]}` nested `depth` arrays deep (json.loads recurses once per level)."""
    return b'{"instances": ' + b"[" * depth + b"]" * depth + b"}"


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bomb(width: int = 13_000, height: int = 13_000) -> bytes:
    """A valid black-and-white PNG of width x height (169 Mpx by default) in well under 1 MB.

    Built row by row so the test itself never holds the decoded image.
    """
    row = b"\0" + b"\0" * ((width + 7) // 8)  # filter byte "none", then 1 bit per pixel
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
