"""Rules for `<p>-shapes.json`, the input the MXNet handler binds and the warm-up sends.

Why bounded: the handler allocates every declared input when it binds the model, and
the warm-up builds a nested JSON sample one level per dimension, in the ingest
Lambda, after the version is recorded. A shape that validates must be cheap for both:
a few dimensions (recursion depth), a bounded element count (memory and the
InvokeEndpoint payload cap). Several inputs stay valid here, up to `recorded.MAX_TENSORS`;
the container decides how many it serves. Only each input's name and shape are recorded on the
version, so what it records stays within `recorded`'s bounds whatever else the file holds.
"""
from __future__ import annotations

import json
import math

from .layout_result import Failure
from .messages import count
from .recorded import MAX_RANK, MAX_TENSORS, name_problem

MIB = 1 << 20
SHAPES_CAP = 1 * MIB
MIN_RANK = 2  # batch first (the warm-up replaces it with 1); at most recorded.MAX_RANK
WELL_FORMED = 'must be a non-empty list of {"name": "<input>", "shape": [positive integers]}'


def read_shapes(data: bytes, max_elements: int, file: str = "shapes.json") -> tuple[list[dict] | None, list[Failure]]:
    """The inputs of a shapes file and its failures; the inputs only when there are none."""
    shapes, problem = _parse(data)
    if problem:
        return None, [("mxnet.shapes_invalid", f"{file} {problem}")]
    if len(shapes) > MAX_TENSORS:
        return None, [("mxnet.shapes_too_many", f"{file} declares {len(shapes):,} inputs; a model has at most "
                       f"{MAX_TENSORS}")]
    failures = [failure for item in shapes for failure in _input_failures(item, max_elements, file)]
    recorded = [{"name": item["name"], "shape": item["shape"]} for item in shapes]
    return (None if failures else recorded), failures


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
        if not isinstance(dims, list) or not dims or not all(type(d) is int and 0 < d < 2**63 for d in dims):
            return [], f"{WELL_FORMED}; input {_brief(item['name'])} has shape {_brief(dims)}"
        if item["name"] in names:
            return [], f"{WELL_FORMED}; input {_brief(item['name'])} is declared twice"
        names.add(item["name"])
    return shapes, None


def _input_failures(item: dict, max_elements: int, file: str) -> list[Failure]:
    name, dims = _brief(item["name"]), item["shape"]
    problem = name_problem(item["name"])
    if problem:
        rule = "mxnet.shapes_name_too_long" if problem[0] == "too_long" else "mxnet.shapes_name_control_chars"
        return [(rule, f"{file}: the name of input {name} {problem[1]}")]
    if not MIN_RANK <= len(dims) <= MAX_RANK:
        return [("mxnet.shapes_rank", f"{file}: input {name} has {len(dims)} dimensions; a shape has "
                 f"{MIN_RANK} to {MAX_RANK}, batch first, e.g. [1, 3, 224, 224]")]
    elements = math.prod(dims)
    if elements > max_elements:
        return [("mxnet.shapes_too_large", f"{file}: input {name} of shape {_brief(dims)} has {count(elements)} "
                 f"elements, more than the {max_elements:,} the container and the warm-up may allocate "
                 "(REGISTRY_MAX_INPUT_ELEMENTS)")]
    return []


def _brief(value: object, limit: int = 80) -> str:
    """The value as JSON, cut short: a 3,000-dimension shape makes a long message."""
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
