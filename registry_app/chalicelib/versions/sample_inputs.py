"""The warm-up's sample request for a version, in the form its framework's endpoint takes.

MXNet (the project's container): the inputs of `<p>-shapes.json`, a batch of 1 of zeros,
`{"instances": [...]}` for one input, `{"inputs": {"<name>": [...]}}` for several.
TensorFlow (TF Serving's REST predict): the `serving_default` inputs the validator
recorded, `{"instances": [...]}` in row form (one dict per instance when there are
several inputs; columns when their fixed first dimensions differ), unknown dimensions as
1, zeros of each input's dtype (0, 0.0, false, "").
Plain Python and json only: this runs in the ingest Lambda.
"""
from __future__ import annotations

import json
import random

JSON = "application/json"
MAX_RANK = 32  # deeper nesting than any real input; deeper would hit Python's recursion limit
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # InvokeEndpoint's request limit for real-time endpoints
INTEGERS = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"})
FLOATS = frozenset({"float16", "float32", "float64"})


def payload_for(framework: str, inputs: list[dict]) -> tuple[bytes, str]:
    """The zero sample request of a version of `framework` whose recorded inputs are `inputs`."""
    return tensorflow_payload(inputs) if framework == "tensorflow" else sample_payload(inputs)


def _nested(shape: list[int], leaf) -> list:
    if len(shape) == 1:
        return [leaf() for _ in range(shape[0])]
    return [_nested(shape[1:], leaf) for _ in range(shape[0])]


def sample_payload(input_shapes: list[dict], *, fill: str = "zeros", seed: int = 0) -> tuple[bytes, str]:
    """A batch of 1 for the inputs of a `<p>-shapes.json`, in the form the MXNet container takes.

    `fill` is "zeros" (the smallest body) or "random" (uniform in [0, 1), seeded).
    """
    names = _names(input_shapes)
    elements = 0
    for entry in input_shapes:
        shape = entry.get("shape")
        if not isinstance(shape, list) or len(shape) < 2:
            raise ValueError(f"an MXNet shape has a batch dimension and at least one more, got {shape!r}")
        elements += _checked_elements(shape, elements)
    if fill == "zeros":
        leaf = float  # float() == 0.0
    elif fill == "random":
        rng = random.Random(seed)
        leaf = lambda: round(rng.random(), 4)  # noqa: E731 - four digits keep the body small
    else:
        raise ValueError(f"fill must be 'zeros' or 'random', not {fill!r}")
    samples = [_nested([1] + entry["shape"][1:], leaf) for entry in input_shapes]
    document = {"instances": samples[0]} if len(samples) == 1 else {"inputs": dict(zip(names, samples))}
    return json.dumps(document, separators=(",", ":")).encode(), JSON


def tensorflow_payload(inputs: list[dict]) -> tuple[bytes, str]:
    """`{"instances": [...]}` for a serving_default signature: a batch of 1 (or the batch a fixed first
    dimension demands), unknown dimensions as 1, dtype-correct zeros; TF Serving's columnar
    `{"inputs": {...}}` when fixed first dimensions differ, which rows cannot express."""
    names = _names(inputs)
    shapes = [[size if size > 0 else 1 for size in _tf_shape(entry)] for entry in inputs]
    elements = 0
    for shape in shapes:
        elements += _checked_elements(shape, elements)
    leaves = [_zero(entry.get("dtype")) for entry in inputs]
    rows = [[_nested(shape[1:], leaf) if len(shape) > 1 else leaf() for _ in range(shape[0])]
            for shape, leaf in zip(shapes, leaves)]
    if len({shape[0] for shape in shapes}) > 1:  # fixed first dimensions that differ: only columns carry them
        document = {"inputs": dict(zip(names, rows))}
    else:
        document = {"instances": rows[0] if len(inputs) == 1 else [dict(zip(names, row)) for row in zip(*rows)]}
    return json.dumps(document, separators=(",", ":")).encode(), JSON


def _names(inputs: list[dict]) -> list:
    if not isinstance(inputs, list) or not inputs or not all(isinstance(e, dict) for e in inputs):
        raise ValueError('the inputs must be [{"name": ..., "shape": [...]}, ...] with at least one input')
    names = [entry.get("name") for entry in inputs]
    if len(names) > 1 and (not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names)):
        raise ValueError(f"several inputs need distinct names, got {names!r}")
    return names


def _tf_shape(entry: dict) -> list[int]:
    shape = entry.get("shape")
    if not isinstance(shape, list) or not shape or not all(isinstance(d, int) and d >= -1 for d in shape):
        raise ValueError(f"input {entry.get('name')!r} needs a known rank with a batch dimension, got {shape!r}")
    return shape


def _zero(dtype):
    if dtype in FLOATS:
        return float
    if dtype in INTEGERS:
        return int
    if dtype == "bool":
        return bool
    if dtype == "string":
        return str
    raise ValueError(f"no JSON value for dtype {dtype!r}")


def _checked_elements(shape, before: int) -> int:
    """The elements of one input's sample (batch 1), refusing shapes no request could carry."""
    if not isinstance(shape, list) or not shape or not all(isinstance(d, int) and d > 0 for d in shape):
        raise ValueError(f"the shape must be a list of positive integers, batch first, got {shape!r}")
    if len(shape) > MAX_RANK:
        raise ValueError(f"the shape has rank {len(shape)}; a sample input is built for rank {MAX_RANK} at most")
    elements = 1
    for dimension in shape[1:]:
        elements *= dimension
        if (before + elements) * 4 > MAX_PAYLOAD_BYTES:  # at least "0.0," per element
            raise ValueError(f"a sample input of shape {shape[:MAX_RANK]!r} exceeds InvokeEndpoint's "
                             f"{MAX_PAYLOAD_BYTES // 2**20} MB request limit")
    return elements
