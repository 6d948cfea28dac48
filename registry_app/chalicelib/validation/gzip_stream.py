"""A push-style gzip decoder that checks what `gzip -t` checks, in bounded memory.

Why by hand: the header, the CRC32 and the length trailer of every member are read
here so each fault gets its own rule, and raw deflate is inflated with ISA-L
(about twice zlib's speed) when it is installed. Output comes in pieces of at most
OUT_PIECE bytes, so a caller can stop a gzip bomb after a few megabytes.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator


class _ZlibInflater:
    """Stdlib zlib behind the interface of ISA-L's IgzipDecompressor: the input it could not take yet stays inside."""

    def __init__(self) -> None:
        self._inflate, self._tail = _zlib.decompressobj(-15), b""

    def decompress(self, data: bytes, max_length: int) -> bytes:
        out = self._inflate.decompress(self._tail + data if self._tail else data, max_length)
        self._tail = self._inflate.unconsumed_tail
        return out

    @property
    def eof(self) -> bool:
        return self._inflate.eof

    @property
    def unused_data(self) -> bytes:
        return self._inflate.unused_data

    @property
    def needs_input(self) -> bool:
        return not self._tail


try:  # ISA-L: about twice zlib's speed, and its decompressor releases the GIL (the read-ahead thread runs)
    from isal import isal_zlib as _zlib
    from isal.igzip_lib import DECOMP_DEFLATE, IgzipDecompressor

    def _raw_inflater() -> IgzipDecompressor:
        return IgzipDecompressor(DECOMP_DEFLATE, 15)

    BACKEND = "isal"
except ImportError:  # pragma: no cover - exercised only where isal is absent
    import zlib as _zlib

    _raw_inflater = _ZlibInflater
    BACKEND = "zlib"

# 1 MiB pieces: glibc keeps reusing their memory from one piece to the next, where 4 MiB
# pieces were mapped and unmapped each time (6,500 to 12,000 page faults per 42 MB archive,
# depending on what else the heap held, against about 1,000): 5-15% less CPU, and steadier.
OUT_PIECE = 1 << 20
# Input goes to the inflater in 256 KiB slices (views, not copies): model weights inflate at most
# about 4 times, so a slice rarely fills a piece, and ISA-L then never copies input it could not
# take yet into a buffer of its own. Whole 1 MiB chunks cost 50,000 page faults and 15% more CPU
# on the ResNet-152 tarball in a fresh process.
IN_SLICE = 256 << 10
MAX_HEADER = 64 << 10
_FHCRC, _FEXTRA, _FNAME, _FCOMMENT = 2, 4, 8, 16


class StreamProblem(Exception):
    """A fault in the archive that ends the walk; becomes one RuleFailure."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule
        self.message = message


def _header_length(buf: bytes) -> int | None:
    """Length of the gzip member header at the start of `buf`, or None if more bytes are needed."""
    if len(buf) < 10:
        return None
    if buf[2] != 8:
        raise StreamProblem("gzip.header", f"gzip compression method {buf[2]} is not deflate (8)")
    flags = buf[3]
    if flags & 0xE0:
        raise StreamProblem("gzip.header", "the gzip header sets reserved flag bits")
    pos = 10
    if flags & _FEXTRA:
        if len(buf) < pos + 2:
            return None
        pos += 2 + struct.unpack_from("<H", buf, pos)[0]
    for flag in (_FNAME, _FCOMMENT):
        if flags & flag:
            end = buf.find(b"\0", pos)
            if end < 0:
                return None
            pos = end + 1
    if flags & _FHCRC:
        pos += 2
    return pos if len(buf) >= pos else None


class GzipInflater:
    """Feed compressed chunks in, get decompressed pieces out; `finish()` at end of input."""

    def __init__(self) -> None:
        self.members = 0
        self._state = "header"  # header | body | trailer | between
        self._buf = b""  # a partial header or trailer
        self._inflate = None
        self._crc = 0
        self._size = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            if self._state == "body":
                yield from self._body(data)
                data, self._buf = self._buf, b""
            elif self._state == "between":
                data = data.lstrip(b"\0")  # zero padding after a member is tolerated, like gzip(1)
                if data:
                    self._state = "header"
            elif self._state == "header":
                data = self._header(data)
            else:
                data = self._trailer(data)

    def _header(self, data: bytes) -> bytes:
        buf = self._buf + data
        if buf[:1] != b"\x1f" or buf[1:2] not in (b"", b"\x8b"):
            if self.members:
                raise StreamProblem("gzip.trailing_data", "there are bytes after the last gzip member that are not gzip")
            raise StreamProblem("format.not_gzip", "the file does not start with the gzip signature 1f 8b")
        length = _header_length(buf)
        if length is None:
            if len(buf) > MAX_HEADER:
                raise StreamProblem("gzip.header", f"the gzip header is longer than {MAX_HEADER} bytes")
            self._buf = buf
            return b""
        self._buf = b""
        self._state = "body"
        self._inflate = _raw_inflater()
        self._crc = self._size = 0
        return buf[length:]

    def _body(self, data: bytes) -> Iterator[bytes]:
        inflate, view = self._inflate, memoryview(data)
        try:
            for start in range(0, len(view), IN_SLICE):
                piece = view[start : start + IN_SLICE]
                while True:
                    out = inflate.decompress(piece, OUT_PIECE)
                    piece = b""
                    if out:
                        self._crc = _zlib.crc32(out, self._crc)
                        self._size += len(out)
                        yield out
                    if inflate.eof:
                        self._buf = bytes(inflate.unused_data) + view[start + IN_SLICE :]
                        self._state = "trailer"
                        return
                    if inflate.needs_input:
                        break
        except _zlib.error as exc:
            raise StreamProblem("gzip.corrupt", f"the compressed data is corrupt ({exc})") from None

    def _trailer(self, data: bytes) -> bytes:
        buf = self._buf + data
        if len(buf) < 8:
            self._buf = buf
            return b""
        crc, size = struct.unpack_from("<II", buf)
        if crc != self._crc:
            raise StreamProblem("gzip.crc", f"gzip CRC32 mismatch: the trailer says {crc:08x}, the data is {self._crc:08x}")
        if size != self._size & 0xFFFFFFFF:
            raise StreamProblem(
                "gzip.length", f"gzip length mismatch: the trailer says {size} bytes, the data is {self._size & 0xFFFFFFFF}"
            )
        self.members += 1
        self._buf = b""
        self._state = "between"
        return buf[8:]

    def finish(self) -> None:
        """Raises unless the input ended cleanly after a complete member."""
        if self._state != "between":
            raise StreamProblem("gzip.truncated", "the gzip stream ends early: the file is truncated")
