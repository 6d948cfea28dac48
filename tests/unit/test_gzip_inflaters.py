"""ISA-L's inflater and the stdlib zlib stand-in give the same pieces, end and leftover bytes."""
import zlib

import pytest
from isal.igzip_lib import DECOMP_DEFLATE, IgzipDecompressor

from chalicelib.validation.gzip_stream import IN_SLICE, OUT_PIECE, _ZlibInflater
from hostile_tarballs import noise


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def inflate_all(inflater, stream: bytes) -> tuple[list[int], bytes]:
    """Feeds `stream` in IN_SLICE slices as GzipInflater does; the piece sizes and what follows the end."""
    sizes = []
    for start in range(0, len(stream), IN_SLICE):
        piece = memoryview(stream)[start : start + IN_SLICE]
        while True:
            out = inflater.decompress(piece, OUT_PIECE)
            piece = b""
            sizes += [len(out)] if out else []
            if inflater.eof:
                return sizes, bytes(inflater.unused_data) + stream[start + IN_SLICE :]
            if inflater.needs_input:
                break
    return sizes, b""


@pytest.mark.parametrize("payload", [noise(3 << 20), bytes(5 << 20), noise(1000) * 3000], ids=["noise", "zeros", "repeats"])
def test_both_inflaters_cut_the_same_pieces_and_leave_the_same_trailer(payload):
    stream = raw_deflate(payload) + b"TRAILER!"

    isal_sizes, isal_rest = inflate_all(IgzipDecompressor(DECOMP_DEFLATE, 15), stream)
    zlib_sizes, zlib_rest = inflate_all(_ZlibInflater(), stream)

    assert sum(isal_sizes) == sum(zlib_sizes) == len(payload)
    assert max(isal_sizes + zlib_sizes) <= OUT_PIECE
    assert isal_rest == zlib_rest == b"TRAILER!"
