"""Writes small SavedModel protocol buffers by hand, for rules no real export trips.

An encoder independent of the reader under test (registry_app/.../protowire.py), following
the same .proto field numbers; real exports from TensorFlow are in tf_env.tf_samples().
"""
from __future__ import annotations

PREDICT = "tensorflow/serving/predict"
DTYPE = {"float32": 1, "int32": 3, "string": 7, "int64": 9, "bool": 10, "resource": 20, "variant": 21}


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64: ten bytes of two's complement
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def field(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def tensor_info(dtype: str = "float32", shape: list[int] | None = (-1, 4), sparse: bool = False) -> bytes:
    dims = b"".join(field(2, field(1, size)) for size in shape) if shape is not None else field(3, 1)
    encoding = field(4, field(1, "indices:0")) if sparse else field(1, "serving_default_x:0")
    return encoding + field(2, DTYPE[dtype]) + field(3, dims)


def signature(inputs: dict[str, bytes], outputs: dict[str, bytes], method: str = PREDICT) -> bytes:
    entries = [field(1, field(1, k) + field(2, v)) for k, v in inputs.items()]
    entries += [field(2, field(1, k) + field(2, v)) for k, v in outputs.items()]
    return b"".join(entries) + field(3, method)


def saved_model(signatures: dict[str, bytes] | None = None, tags: tuple[str, ...] = ("serve",),
                saver: bool = True) -> bytes:
    """A SavedModel of one MetaGraph; with `saver`, one that restores variables/ (as every TF 2 export does)."""
    if signatures is None:
        signatures = {"serving_default": signature({"x": tensor_info()}, {"y": tensor_info()})}
    meta_info = field(1, "") + b"".join(field(4, tag) for tag in tags) + field(5, "2.19.1")
    graph = field(1, meta_info) + field(2, b"\x0a\x00")  # an empty graph_def, skipped by the reader
    graph += field(3, field(1, "save/filename:0")) if saver else b""
    graph += b"".join(field(5, field(1, name) + field(2, body)) for name, body in signatures.items())
    return field(1, 1) + field(2, graph)
