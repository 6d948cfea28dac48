"""MXNet layout rules: the files the project's MMS handler loads, at the archive root.

Pure functions over the member list and the captured heads of the few small files
(see `capture_limit`), so every rule is testable without building a tarball.
"""
from __future__ import annotations

import json
import re
import struct

from .layout_result import PACK_HINT, LayoutResult
from .messages import listed, shown
from .shapes import SHAPES_CAP, read_shapes
from .tar_walk import Entry

MIB = 1 << 20
SYMBOL_CAP = 16 * MIB  # large graphs are a few MB; json.loads of more would not be constant memory
SYNSET_CAP = 8 * MIB
PARAMS_MAGIC = struct.pack("<Q", 0x112)  # MXNet's NDArray-list file magic

_SYMBOL = re.compile(r"(?P<p>.+)-symbol\.json", re.ASCII)
_SHAPES = re.compile(r"(?P<p>.+)-shapes\.json", re.ASCII)
_PARAMS = re.compile(r"(?P<p>.+)-[0-9]{4}\.params", re.ASCII)


def capture_limit(name: str) -> int:
    """How many leading bytes of root file `name` the MXNet rules read (0: none)."""
    if name.endswith(".params"):
        return len(PARAMS_MAGIC)
    if name.endswith("-symbol.json"):
        return SYMBOL_CAP + 1  # one byte more tells "too large" from "exactly at the cap"
    if name.endswith("-shapes.json"):
        return SHAPES_CAP + 1
    if name == "synset.txt":
        return SYNSET_CAP + 1
    return 0


def is_mxnet_file(name: str) -> bool:
    return name.endswith((".params", "-symbol.json", "-shapes.json"))


def not_at_root(files: dict[str, Entry]) -> LayoutResult | None:
    """MXNet files packed inside a folder: the handler looks at the archive root only."""
    nested = sorted({name.rsplit("/", 1)[0] for name in files
                     if "/" in name and is_mxnet_file(name.rsplit("/", 1)[-1])})
    if not nested:
        return None
    message = f"the MXNet files sit in folder {shown(nested[0] + '/')}, not at the archive root: {PACK_HINT}"
    return LayoutResult(layout="mxnet", failures=[("mxnet.not_at_root", message)])


def check(files: dict[str, Entry], captured: dict[str, bytes], max_input_elements: int) -> LayoutResult:
    root = [name for name in files if "/" not in name]
    symbols = [name for name in root if _SYMBOL.fullmatch(name)]
    shapes = [name for name in root if _SHAPES.fullmatch(name)]
    params = [name for name in root if name.endswith(".params")]
    good_params = [name for name in params if _PARAMS.fullmatch(name)]
    found = [m["p"] for m in map(_SYMBOL.fullmatch, symbols)] + [m["p"] for m in map(_SHAPES.fullmatch, shapes)]
    prefixes = sorted(set(found + [m["p"] for m in map(_PARAMS.fullmatch, good_params)]))
    result = LayoutResult(layout="mxnet", prefix=prefixes[0] if len(prefixes) == 1 else None)
    fail = result.failures.append
    if len(prefixes) > 1:
        fail(("mxnet.prefix_mismatch", f"the files use more than one prefix ({listed(prefixes)}): "
              "an archive holds one model whose files are all named <prefix>-…"))
    p = result.prefix if result.prefix and result.prefix.isprintable() and len(result.prefix) <= 80 else "<prefix>"
    for name in params:
        if name not in good_params:
            fail(("mxnet.params_name", f"{shown(name)} is not named <prefix>-NNNN.params (a four-digit epoch, "
                  f"e.g. {p}-0000.params)"))
        elif captured.get(name, b"")[:8] != PARAMS_MAGIC:
            fail(("mxnet.params_magic", f"{shown(name)} is not an MXNet parameter file (it lacks the NDArray-list "
                  "magic 0x112)"))
    if not good_params:
        fail(("mxnet.params_missing", f"{p}-NNNN.params is missing: the handler needs the trained weights"))
    if not symbols:
        fail(("mxnet.symbol_missing", f"{p}-symbol.json is missing: the handler needs the network graph"))
    for name in symbols:
        problem = _symbol_problem(captured.get(name, b""))
        if problem:
            fail(("mxnet.symbol_invalid", f"{shown(name)} {problem}"))
    if not shapes:
        fail(("mxnet.shapes_missing", f"{p}-shapes.json is missing: the handler needs the input shapes, "
              'e.g. [{"name": "data", "shape": [1, 3, 224, 224]}]'))
    for name in shapes:
        shape_list, failures = read_shapes(captured.get(name, b""), max_input_elements, shown(name))
        result.failures.extend(failures)
        if shape_list is not None and result.input_shapes is None:
            result.input_shapes = shape_list
    if "synset.txt" in files:
        result.labels_count, problem = _count_labels(captured.get("synset.txt", b""))
        if problem:
            fail(("mxnet.synset_invalid", f"synset.txt {problem}"))
    return result


def _symbol_problem(data: bytes) -> str | None:
    if len(data) > SYMBOL_CAP:
        return f"is larger than {SYMBOL_CAP // MIB} MiB"
    try:
        graph = json.loads(data)
    except (ValueError, RecursionError):
        return "is not valid JSON"
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list) or not isinstance(graph.get("heads"), list):
        return "is not an MXNet graph: it needs a 'nodes' list and a 'heads' list"
    return None


def _count_labels(data: bytes) -> tuple[int | None, str | None]:
    if len(data) > SYNSET_CAP:
        return None, f"is larger than {SYNSET_CAP // MIB} MiB"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "is not UTF-8 text (one label a line)"
    return sum(1 for line in text.splitlines() if line.strip()), None
