"""Pure decoding of 512-byte tar headers (ustar, GNU, pax), as strict as `tarfile`.

Why as strict: a header that one extractor reads differently from another is a
way to smuggle a member past the validator, so anything `tarfile` or GNU tar
would refuse or read differently is refused here too.
"""
from __future__ import annotations

import re
import struct
from typing import NamedTuple

from .gzip_stream import StreamProblem

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)
REGULAR, DIRECTORY = (b"0", b"\0"), b"5"
EXTENDED = (b"L", b"K", b"x", b"g")  # GNU long name / long link, pax local / global
PAX = (b"x", b"g")
# A pax header from a tar tool holds a few records (path, size, times, owner, some xattrs) in a
# few hundred bytes; these caps leave room for xattrs and keep a hostile stream of records cheap.
MAX_PAX_BYTES = 256 << 10  # one local header; all global headers together
MAX_PAX_RECORDS = 256  # one local header; all global headers together
UNSAFE = {
    b"1": ("safety.hardlink", "is a hard link"),
    b"2": ("safety.symlink", "is a symbolic link"),
    b"3": ("safety.char_device", "is a character device"),
    b"4": ("safety.block_device", "is a block device"),
    b"6": ("safety.fifo", "is a FIFO (named pipe)"),
}
_PAX_RECORD = re.compile(rb"([0-9]+) ([^=\n]+)=")
_OCTAL = re.compile(rb"[0-7]*")
_NUMERIC_FIELDS = ((100, 108), (108, 116), (116, 124), (136, 148), (329, 337), (337, 345))  # mode … devminor


class Header(NamedTuple):
    kind: bytes
    size: int
    name: bytes  # with the ustar prefix joined on


def padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def number(field: bytes) -> int:
    """A numeric field: NUL/space-terminated octal, or GNU base-256 when the first byte is 0x80."""
    if field[0] == 0x80:
        return int.from_bytes(field[1:], "big")
    if field[0] & 0x80:
        raise ValueError("negative or malformed base-256 number")
    text = field.split(b"\0", 1)[0].strip()
    if not _OCTAL.fullmatch(text):
        raise ValueError(f"bad octal number {text!r}")
    return int(text, 8) if text else 0


def _checksum_ok(block: bytes) -> bool:
    stored = number(block[148:156])
    unsigned = sum(block) - sum(block[148:156]) + 256
    return stored == unsigned or stored == sum(struct.unpack_from("148b8x356b", block)) + 256


def looks_like_tar_header(block: bytes) -> bool:
    """True when `block` starts like a tar archive (to name a plain, uncompressed tar)."""
    try:
        return len(block) >= BLOCK and (block[257:262] == b"ustar" or _checksum_ok(block[:BLOCK]))
    except ValueError:
        return False


def decode(block: bytes) -> Header:
    """Decodes a non-zero header block; raises ValueError if any field is corrupt."""
    if not _checksum_ok(block):
        raise ValueError("bad checksum")
    for start, end in _NUMERIC_FIELDS:
        number(block[start:end])
    name = block[0:100].split(b"\0", 1)[0]
    if block[345]:
        if block[257:263] != b"ustar\0":  # tarfile would join this prefix on, GNU tar would not
            raise ValueError("a name prefix outside the POSIX ustar format")
        name = block[345:500].split(b"\0", 1)[0] + b"/" + name
    return Header(block[156:157], number(block[124:136]), name)


def parse_pax(body: bytes, max_records: int) -> dict[str, str]:
    """Parses pax records `<length> <key>=<value>\\n` (values UTF-8, kept lossless), at most `max_records`."""
    records, pos, count = {}, 0, 0
    while pos < len(body) and body[pos]:
        count += 1
        if count > max_records:
            raise StreamProblem("limits.pax_records", f"pax headers hold more than {MAX_PAX_RECORDS} records; "
                                "tar tools write a handful")
        match = _PAX_RECORD.match(body, pos)
        length = int(match[1]) if match else 0
        if not match or length <= match.end() - pos or body[pos + length - 1 : pos + length] != b"\n":
            raise StreamProblem("tar.bad_header", "a pax extended header is malformed")
        key = match[2].decode("utf-8", "surrogateescape")
        records[key] = body[match.end() : pos + length - 1].decode("utf-8", "surrogateescape")
        pos += length
    return records


def is_sparse(records: dict[str, str]) -> bool:
    """GNU's pax sparse-file records (tarfile reads them from global headers too)."""
    return any(key.startswith("GNU.sparse.") for key in records)


def unsafe_type(kind: bytes, sparse: bool) -> tuple[str, str] | None:
    """(rule, what it is) for a member that is not a plain regular file or directory."""
    if kind in UNSAFE:
        return UNSAFE[kind]
    if kind not in REGULAR and kind != DIRECTORY:
        return "safety.member_type", f"has tar type {kind.decode('latin-1')!r}, which is not allowed"
    if sparse:
        return "safety.member_type", "is a sparse file, which is not allowed"
    return None
