"""Layout rules: does the member list make a model the serving container can load?

Pure functions over the archive's member list and the few small files the
streaming walk captured (see `capture_limit`), so every rule is testable
without building a tarball. Each failure is `(rule id, sentence for a person)`.
"""
from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass, field

from chalicelib.tar_walk import Entry

MIB = 1 << 20
SYMBOL_CAP = 16 * MIB  # large graphs are a few MB; json.loads of more would not be constant memory
SHAPES_CAP = 1 * MIB
SYNSET_CAP = 8 * MIB
PARAMS_MAGIC = struct.pack("<Q", 0x112)  # MXNet's NDArray-list file magic

_SYMBOL = re.compile(r"(?P<p>.+)-symbol\.json", re.ASCII)
_SHAPES = re.compile(r"(?P<p>.+)-shapes\.json", re.ASCII)
_PARAMS = re.compile(r"(?P<p>.+)-[0-9]{4}\.params", re.ASCII)
_VERSION_DIR = re.compile(r"[0-9]+", re.ASCII)
_PACK_HINT = "pack from inside the model folder, e.g. `tar -C model_dir -czf model.tar.gz .`"

Failure = tuple[str, str]


@dataclass
class LayoutResult:
    layout: str | None = None
    prefix: str | None = None
    input_shapes: list[dict] | None = None
    labels_count: int | None = None
    failures: list[Failure] = field(default_factory=list)


def capture_limit(name: str) -> int:
    """How many leading bytes of member `name` the layout rules read (0: none)."""
    if "/" in name:
        return 0
    if name.endswith(".params"):
        return len(PARAMS_MAGIC)
    if name.endswith("-symbol.json"):
        return SYMBOL_CAP + 1  # one byte more tells "too large" from "exactly at the cap"
    if name.endswith("-shapes.json"):
        return SHAPES_CAP + 1
    if name == "synset.txt":
        return SYNSET_CAP + 1
    return 0


def check_layout(members: list[Entry], captured: dict[str, bytes]) -> LayoutResult:
    """Decides the layout from the files present, then applies that layout's rules."""
    files = {entry.name: entry for entry in members if entry.type == "file"}
    if not files:
        return LayoutResult(failures=[("archive.empty", "the archive holds no files")])
    root = [name for name in files if "/" not in name]
    mxnet_root = [name for name in root if _is_mxnet_file(name)]
    if mxnet_root:
        return _mxnet(files, captured)
    if any(name.rsplit("/", 1)[-1] == "saved_model.pb" for name in files):
        return _tensorflow(files)
    nested = sorted({name.rsplit("/", 1)[0] for name in files if _is_mxnet_file(name.rsplit("/", 1)[-1])})
    if nested:
        message = f"the MXNet files sit in folder '{nested[0]}/', not at the archive root: {_PACK_HINT}"
        return LayoutResult(layout="mxnet", failures=[("mxnet.not_at_root", message)])
    message = (
        "no known model layout: expected <prefix>-symbol.json, <prefix>-NNNN.params and <prefix>-shapes.json "
        "at the archive root (MXNet) or <version>/saved_model.pb (TensorFlow Serving)"
    )
    return LayoutResult(failures=[("layout.unknown", message)])


def _is_mxnet_file(name: str) -> bool:
    return name.endswith((".params", "-symbol.json", "-shapes.json"))


def _mxnet(files: dict[str, Entry], captured: dict[str, bytes]) -> LayoutResult:
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
        fail(("mxnet.prefix_mismatch", f"the files use more than one prefix ({', '.join(prefixes)}): "
              "an archive holds one model whose files are all named <prefix>-…"))
    p = result.prefix or "<prefix>"
    for name in params:
        if name not in good_params:
            fail(("mxnet.params_name", f"{name} is not named <prefix>-NNNN.params (a four-digit epoch, e.g. {p}-0000.params)"))
        elif captured.get(name, b"")[:8] != PARAMS_MAGIC:
            fail(("mxnet.params_magic", f"{name} is not an MXNet parameter file (it lacks the NDArray-list magic 0x112)"))
    if not good_params:
        fail(("mxnet.params_missing", f"{p}-NNNN.params is missing: the handler needs the trained weights"))
    if not symbols:
        fail(("mxnet.symbol_missing", f"{p}-symbol.json is missing: the handler needs the network graph"))
    for name in symbols:
        problem = _symbol_problem(captured.get(name, b""))
        if problem:
            fail(("mxnet.symbol_invalid", f"{name} {problem}"))
    if not shapes:
        fail(("mxnet.shapes_missing", f"{p}-shapes.json is missing: the handler needs the input shapes, "
              'e.g. [{"name": "data", "shape": [1, 3, 224, 224]}]'))
    for name in shapes:
        shape_list, problem = _read_shapes(captured.get(name, b""))
        if problem:
            fail(("mxnet.shapes_invalid", f"{name} {problem}"))
        elif result.input_shapes is None:
            result.input_shapes = shape_list
    if "synset.txt" in files:
        result.labels_count, problem = _count_labels(captured.get("synset.txt", b""))
        if problem:
            fail(("mxnet.synset_invalid", f"synset.txt {problem}"))
    return result


def _json(data: bytes, cap: int) -> tuple[object, str | None]:
    if len(data) > cap:
        return None, f"is larger than {cap // MIB} MiB"
    try:
        return json.loads(data), None
    except (ValueError, RecursionError):
        return None, "is not valid JSON"


def _symbol_problem(data: bytes) -> str | None:
    graph, problem = _json(data, SYMBOL_CAP)
    if problem:
        return problem
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list) or not isinstance(graph.get("heads"), list):
        return "is not an MXNet graph: it needs a 'nodes' list and a 'heads' list"
    return None


def _read_shapes(data: bytes) -> tuple[list[dict] | None, str | None]:
    shapes, problem = _json(data, SHAPES_CAP)
    if problem:
        return None, problem
    rule = 'must be a non-empty list of {"name": "<input>", "shape": [positive integers]}'
    if not isinstance(shapes, list) or not shapes:
        return None, rule
    for item in shapes:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            return None, rule
        dims = item.get("shape")
        if not isinstance(dims, list) or not dims or not all(type(d) is int and d > 0 for d in dims):
            return None, f"{rule}; input {item['name']!r} has shape {dims!r}"
    names = [item["name"] for item in shapes]
    if len(set(names)) != len(names):  # the handler feeds inputs by name: two of one name cannot both be fed
        return None, f"{rule}; each input once, but it names {names!r}"
    return shapes, None


def _count_labels(data: bytes) -> tuple[int | None, str | None]:
    if len(data) > SYNSET_CAP:
        return None, f"is larger than {SYNSET_CAP // MIB} MiB"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "is not UTF-8 text (one label a line)"
    return sum(1 for line in text.splitlines() if line.strip()), None


def _tensorflow(files: dict[str, Entry]) -> LayoutResult:
    result = LayoutResult(layout="tensorflow")
    fail = result.failures.append
    versions = set()
    for name in sorted(files):
        parts = name.split("/")
        if parts[-1] != "saved_model.pb":
            continue
        if len(parts) == 2 and _VERSION_DIR.fullmatch(parts[0]):
            versions.add(parts[0])
        elif len(parts) > 2 and _VERSION_DIR.fullmatch(parts[-2]):
            fail(("tensorflow.nested_folder", f"{name} is wrapped in folder '{'/'.join(parts[:-2])}/': TF Serving on a "
                  f"multi-model endpoint needs <version>/saved_model.pb at the archive root; {_PACK_HINT}"))
        else:
            fail(("tensorflow.no_version_folder", f"{name} is not inside a numeric version folder: TF Serving needs "
                  "<version>/saved_model.pb at the archive root, e.g. 1/saved_model.pb"))
    if result.failures:
        return result
    for name in sorted(files):
        top = name.split("/", 1)[0]
        if "/" in name and _VERSION_DIR.fullmatch(top) and top not in versions:
            fail(("tensorflow.version_incomplete", f"version folder '{top}/' has no saved_model.pb"))
            versions.add(top)  # one failure per folder
        elif top not in versions and not name.startswith("code/"):
            fail(("tensorflow.unexpected_file", f"{name} is outside the version folders: TF Serving reads only "
                  "<version>/… (and code/ for inference scripts)"))
    return result
