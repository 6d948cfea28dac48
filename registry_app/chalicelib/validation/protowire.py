"""A minimal reader of the protocol buffer wire format: fields of one message, nothing more.

Why by hand: the ingest Lambda carries only boto3 and pydantic, and the validator needs
three small messages out of a SavedModel (tags, signatures, tensor shapes); the
`protobuf` package and TensorFlow's generated classes would add tens of MB for that.
Only the encodings those messages use are decoded (varint, 64-bit, length-delimited,
32-bit); groups and malformed bytes raise ProtoError, never anything else.
"""
from __future__ import annotations

from collections.abc import Iterator

VARINT, I64, LEN, I32 = 0, 1, 2, 5
_FIXED = {I64: 8, I32: 4}


class ProtoError(ValueError):
    """The bytes are not a well-formed protocol buffer message."""


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    for index in range(pos, min(pos + 10, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, index + 1
        shift += 7
    raise ProtoError(f"a varint at byte {pos} is truncated or longer than 10 bytes")


def fields(message: bytes | memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) of each field in order: an int, or the bytes of a LEN field."""
    data = memoryview(message)
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtoError(f"field number 0 at byte {pos}")
        if wire == VARINT:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == LEN:
            size, pos = _varint(data, pos)
            if size > end - pos:
                raise ProtoError(f"field {number} claims {size} bytes; only {end - pos} remain")
            yield number, wire, data[pos : pos + size]
            pos += size
        elif wire in _FIXED:
            size = _FIXED[wire]
            if size > end - pos:
                raise ProtoError(f"field {number} is truncated")
            yield number, wire, int.from_bytes(data[pos : pos + size], "little")
            pos += size
        else:
            raise ProtoError(f"field {number} has wire type {wire}, which these messages never use")


def signed64(value: int) -> int:
    """An int64 as written on the wire (two's complement in 10 varint bytes) back to its sign."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def text(value: int | memoryview, what: str) -> str:
    """A string field's value; a varint where a string belongs, or bad UTF-8, is a malformed message."""
    if not isinstance(value, memoryview):
        raise ProtoError(f"{what} is not a string")
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        raise ProtoError(f"{what} is not UTF-8") from None


def message(value: int | memoryview, what: str) -> memoryview:
    if not isinstance(value, memoryview):
        raise ProtoError(f"{what} is not a message")
    return value


def number(value: int | memoryview, what: str) -> int:
    if isinstance(value, memoryview):
        raise ProtoError(f"{what} is not a number")
    return value
