"""Rules for `<p>-shapes.json`, the input the MXNet handler binds and the warm-up sends.

Why bounded: the handler allocates every declared input when it binds the model, and
the warm-up builds a nested JSON sample one level per dimension, in the ingest
Lambda, after the version is recorded. A shape that validates must be cheap for both:
a few dimensions (recursion depth), a bounded element count (memory and the
InvokeEndpoint payload cap). Several inputs stay valid here; the container decides
how many it serves.
"""
from __future__ import annotations

import json
import math

from .layout_result import Failure

MIB = 1 << 20
SHAPES_CAP = 1 * MIB
MIN_RANK, MAX_RANK = 2, 8  # batch first (the warm-up replaces it with 1); 8 covers video and 3-D volumes
WELL_FORMED = 'must be a non-empty list of {"name": "<input>", "shape": [positive integers]}'


def read_shapes(data: bytes, max_elements: int, file: str = "shapes.json") -> tuple[list[dict] | None, list[Failure]]:
    """The inputs of a shapes file and its failures; the inputs only when there are none."""
    shapes, problem = _parse(data)
    if problem:
        return None, [("mxnet.shapes_invalid", f"{file} {problem}")]
    failures = [failure for item in shapes for failure in _input_failures(item, max_elements, file)]
    return (None if failures else shapes), failures


def _parse(data: bytes) -> tuple[list[dict], str | None]:
    """The decoded list, or why it is not a well-formed list of named shapes."""
    if len(data) > SHAPES_CAP:
        return [], f"is larger than {SHAPES_CAP // MIB} MiB"
    try:
        shapes = json.loads(data)
    except (ValueError, RecursionError):
        return [], "is not valid JSON"
    if not isinstance(shapes, list) or not shapes:
        return [], WELL_FORMED
    names = set()
    for item in shapes:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            return [], WELL_FORMED
        dims = item.get("shape")
        if not isinstance(dims, list) or not dims or not all(type(d) is int and d > 0 for d in dims):
            return [], f"{WELL_FORMED}; input {_brief(item['name'])} has shape {_brief(dims)}"
        if item["name"] in names:
            return [], f"{WELL_FORMED}; input {_brief(item['name'])} is declared twice"
        names.add(item["name"])
    return shapes, None


def _input_failures(item: dict, max_elements: int, file: str) -> list[Failure]:
    name, dims = _brief(item["name"]), item["shape"]
    if not MIN_RANK <= len(dims) <= MAX_RANK:
        return [("mxnet.shapes_rank", f"{file}: input {name} has {len(dims)} dimensions; a shape has "
                 f"{MIN_RANK} to {MAX_RANK}, batch first, e.g. [1, 3, 224, 224]")]
    elements = math.prod(dims)
    if elements > max_elements:
        return [("mxnet.shapes_too_large", f"{file}: input {name} of shape {_brief(dims)} has {_count(elements)} "
                 f"elements, more than the {max_elements:,} the container and the warm-up may allocate "
                 "(REGISTRY_MAX_INPUT_ELEMENTS)")]
    return []


def _count(number: int) -> str:
    """1,234,567; or 'about 2^N' when the number is too long to print (int → str caps digits)."""
    return f"{number:,}" if number < 10**18 else f"about 2^{number.bit_length() - 1}"


def _brief(value: object, limit: int = 80) -> str:
    """The value as JSON, cut short: a 3,000-dimension shape makes a long message."""
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
