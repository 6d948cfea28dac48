"""What a valid TensorFlow model is: TF Serving's layout on a multi-model endpoint, and a
`serving_default` signature a JSON request can feed.

Layout: `<version>/saved_model.pb` and `<version>/variables/…` at the archive root;
TF Serving serves the highest numeric version. Its `saved_model.pb` (captured while the
archive streams by, at most SAVED_MODEL_CAP bytes) is decoded without TensorFlow
(`saved_model`, `protowire`): the MetaGraph tagged exactly {"serve"}, its `serving_default`
signature, each input's dtype and shape. The inputs (unknown dimensions -1) and outputs
are recorded on the version, so the warm-up builds `{"instances": [...]}` from them: how many,
how long their names, how many dimensions are bounded by `recorded`, whose docstring works out
the worst case (38,800 bytes of JSON), and `saved_model` stops reading a file past those bounds.
"""
from __future__ import annotations

import math
import re

from .layout_result import PACK_HINT, Failure, LayoutResult
from .messages import count, listed, shown
from .recorded import MAX_RANK, MAX_TENSORS, name_problem
from .saved_model import MetaGraph, ProtoError, Signature, TensorSpec, TooMany, read_saved_model
from .tar_walk import Entry

MIB = 1 << 20
SAVED_MODEL_CAP = 64 * MIB  # graphs of large Keras models are a few MB; the weights live in variables/
SERVE_TAGS = ("serve",)
SIGNATURE = "serving_default"
PREDICT_METHODS = ("tensorflow/serving/predict", "tensorflow/serving/classify", "tensorflow/serving/regress")
# What TF Serving's REST API reads from and writes to JSON: numbers, booleans and strings.
JSON_DTYPES = frozenset({"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
                         "uint32", "uint64", "bool", "string"})

_VERSION_DIR = re.compile(r"[0-9]+", re.ASCII)
_ROOT_SAVED_MODEL = re.compile(r"(?P<v>[0-9]+)/saved_model\.pb", re.ASCII)
_SHARD = re.compile(r"variables\.data-(?P<n>[0-9]{5})-of-(?P<of>[0-9]{5})", re.ASCII)


def capture_limit(name: str) -> int:
    """How many leading bytes of `name` the TF rules read: a version folder's saved_model.pb, whole (0: none)."""
    return SAVED_MODEL_CAP + 1 if _ROOT_SAVED_MODEL.fullmatch(name) else 0


class Captures(dict):
    """Captured file heads that keep only the highest version's saved_model.pb, the one TF Serving serves:
    an archive of many version folders costs the memory of one graph, not of all."""

    def __setitem__(self, name: str, body: bytes) -> None:
        version = _version(name)
        if version is not None:
            held = [key for key in self if _version(key) is not None]
            if any(_version(key) > version for key in held):
                return
            for key in held:
                del self[key]
        super().__setitem__(name, body)


def _version(name: str) -> int | None:
    match = _ROOT_SAVED_MODEL.fullmatch(name)
    return int(match["v"]) if match else None


def has_saved_model(files: dict[str, Entry]) -> bool:
    return any(name.rsplit("/", 1)[-1] == "saved_model.pb" for name in files)


def check(files: dict[str, Entry], captured: dict[str, bytes], max_input_elements: int) -> LayoutResult:
    result = LayoutResult(layout="tensorflow")
    result.failures += _layout_failures(files)
    if result.failures:
        return result
    served = max((name for name in files if _version(name) is not None), key=_version)
    graph, failures = _serving_graph(served, captured.get(served, b""))
    if graph is not None:
        signature = graph.signatures[SIGNATURE]
        failures = _variables_failures(served, graph, files) + _signature_failures(served, signature,
                                                                                   max_input_elements)
    result.failures += failures
    if not result.failures:
        result.input_shapes = [_described(name, spec) for name, spec in sorted(signature.inputs.items())]
        result.outputs = [_described(name, spec) for name, spec in sorted(signature.outputs.items())]
    return result


def _layout_failures(files: dict[str, Entry]) -> list[Failure]:
    failures, versions = [], set()
    for name in sorted(files):
        parts = name.split("/")
        if parts[-1] != "saved_model.pb":
            continue
        if len(parts) == 2 and _VERSION_DIR.fullmatch(parts[0]):
            versions.add(parts[0])
        elif len(parts) > 2 and _VERSION_DIR.fullmatch(parts[-2]):
            folder = shown("/".join(parts[:-2]) + "/")
            failures.append(("tensorflow.nested_folder", f"{shown(name)} is wrapped in folder {folder}: "
                             "TF Serving on a multi-model endpoint needs <version>/saved_model.pb at the archive "
                             f"root; {PACK_HINT}"))
        else:
            failures.append(("tensorflow.no_version_folder", f"{shown(name)} is not inside a numeric version "
                             "folder: TF Serving needs <version>/saved_model.pb at the archive root, "
                             "e.g. 1/saved_model.pb"))
    if failures:
        return failures
    failures += _same_version(versions)
    for name in sorted(files):
        top = name.split("/", 1)[0]
        if "/" in name and _VERSION_DIR.fullmatch(top) and top not in versions:
            failures.append(("tensorflow.version_incomplete", f"version folder {shown(top + '/')} has no "
                             "saved_model.pb"))
            versions.add(top)  # one failure per folder
        elif top not in versions and not name.startswith(("code/", "samples/")):
            failures.append(("tensorflow.unexpected_file", f"{shown(name)} is outside the version folders: TF "
                             "Serving reads only <version>/… (and code/ for inference scripts; samples/ holds "
                             "the registry's reference requests)"))
    return failures


def _same_version(folders: set[str]) -> list[Failure]:
    """Folders such as 01/ and 1/ name one version: TF Serving would serve one of them, which is not said."""
    by_number: dict[int, list[str]] = {}
    for folder in folders:
        by_number.setdefault(int(folder), []).append(folder + "/")
    return [("tensorflow.duplicate_version", f"version folders {listed(sorted(same))} all name version "
             f"{count(number)}: keep one folder per version, named by its number")
            for number, same in sorted(by_number.items()) if len(same) > 1]


def _serving_graph(name: str, data: bytes) -> tuple[MetaGraph | None, list[Failure]]:
    """The MetaGraph TF Serving loads, with its serving_default signature, or why there is none."""
    if len(data) > SAVED_MODEL_CAP:
        return None, [("tensorflow.saved_model_too_large", f"{name} is larger than {SAVED_MODEL_CAP // MIB} MiB: "
                       "the registry reads the serving signature from it and reads at most that much")]
    try:
        graphs = read_saved_model(data)
    except TooMany as error:
        if error.what == "signatures":
            return None, [("tensorflow.too_many_signatures", f"{name} holds {error}: an export has a few, "
                           f"and TF Serving answers with '{SIGNATURE}'")]
        return None, [("tensorflow.saved_model_unreadable", f"{name} holds {error}, far more than an export "
                       "does: the registry reads no further")]
    except ProtoError as error:
        return None, [("tensorflow.saved_model_unreadable", f"{name} is not a SavedModel ({error}): export it "
                       "with model.export(path) or tf.saved_model.save(model, path)")]
    graph = next((g for g in graphs if set(g.tags) == set(SERVE_TAGS)), None)
    if graph is None:
        found = "; ".join(listed(g.tags) or "(no tags)" for g in graphs)
        return None, [("tensorflow.no_serve_graph", f"{name} has no MetaGraph tagged 'serve' (it has: {found}): "
                       "TF Serving loads only that one")]
    if SIGNATURE not in graph.signatures:
        return None, [("tensorflow.no_serving_default", f"{name} has no '{SIGNATURE}' signature (it has: "
                       f"{_names(graph)}): TF Serving answers predict requests with that one; export with "
                       "signatures={'serving_default': fn}")]
    return graph, []


def _variables_failures(name: str, graph: MetaGraph, files: dict[str, Entry]) -> list[Failure]:
    """A graph with a saver restores variables/variables.index and every data shard it names."""
    if not graph.restores_variables:
        return []
    folder = name.rsplit("/", 1)[0] + "/variables/"
    shards = [_SHARD.fullmatch(path[len(folder):]) for path in files if path.startswith(folder)]
    counts = {int(match["of"]) for match in shards if match}
    present = {int(match["n"]) for match in shards if match}
    if folder + "variables.index" not in files or not counts:
        return [("tensorflow.variables_missing", f"{folder}variables.index and its variables.data-* shards are "
                 f"missing: {name} restores its variables from them (export the whole SavedModel folder)")]
    missing = sorted(set(range(max(counts))) - present)
    if len(counts) > 1 or missing:
        return [("tensorflow.variables_missing", f"{folder} lacks variables.data shard(s) "
                 f"{', '.join(f'{n:05d}' for n in missing[:5]) or '(they disagree on their count)'}: "
                 "TensorFlow cannot restore the variables without every shard")]
    return []


def _signature_failures(name: str, signature: Signature, max_input_elements: int) -> list[Failure]:
    where = f"{name}, signature '{SIGNATURE}'"
    failures: list[Failure] = []
    if signature.method not in PREDICT_METHODS:
        failures.append(("tensorflow.signature_method", f"{where} has method {shown(signature.method)}; TF "
                         f"Serving's predict API serves {', '.join(PREDICT_METHODS)}"))
    if not signature.inputs:
        failures.append(("tensorflow.no_inputs", f"{where} has no inputs: a request would have nothing to carry"))
    if not signature.outputs:
        failures.append(("tensorflow.no_outputs", f"{where} has no outputs: a request would get nothing back"))
    sides = (("tensorflow.too_many_inputs", "inputs", signature.input_count),
             ("tensorflow.too_many_outputs", "outputs", signature.output_count))
    too_many = [(rule, f"{where} has {total:,} {side}; the registry records a model's {side} on its version "
                 f"and takes at most {MAX_TENSORS}") for rule, side, total in sides if total > MAX_TENSORS]
    if too_many:
        return failures + too_many
    for key, spec in sorted(signature.inputs.items()):
        failures += _name_failures(f"{where}: an input", key) or _input_failures(f"{where}: input {shown(key)}",
                                                                                 spec, max_input_elements)
    for key, spec in sorted(signature.outputs.items()):
        failures += _name_failures(f"{where}: an output", key) or _output_failures(f"{where}: output {shown(key)}",
                                                                                   spec)
    return failures


def _name_failures(what: str, name: str) -> list[Failure]:
    problem = name_problem(name)
    if problem is None:
        return []
    rule = "tensorflow.name_too_long" if problem[0] == "too_long" else "tensorflow.name_control_chars"
    return [(rule, f"{what} named {shown(name)} {problem[1]}")]


def _output_failures(what: str, spec: TensorSpec) -> list[Failure]:
    if spec.encoding != "dense" or spec.dtype not in JSON_DTYPES:
        return [("tensorflow.output_dtype", f"{what} is a {_kind(spec)}, which a JSON answer cannot carry; "
                 "return numbers, booleans or strings")]
    if spec.shape is not None and len(spec.shape) > MAX_RANK:
        return [("tensorflow.output_rank", f"{what} has more than {MAX_RANK} dimensions, more than a version "
                 "records")]
    return []


def _input_failures(what: str, spec: TensorSpec, max_elements: int) -> list[Failure]:
    if spec.encoding != "dense":
        return [("tensorflow.input_encoding", f"{what} is a {spec.encoding.replace('_', ' ')} tensor; a JSON "
                 "request feeds only dense tensors")]
    if spec.dtype not in JSON_DTYPES:
        return [("tensorflow.input_dtype", f"{what} has dtype {spec.dtype}, which a JSON request cannot carry; "
                 "take numbers, booleans or strings")]
    if spec.shape is None or not spec.shape:
        rank = "an unknown rank" if spec.shape is None else "no dimensions (a scalar)"
        return [("tensorflow.input_rank", f"{what} has {rank}; a request's \"instances\" need a batch dimension "
                 "first, e.g. shape [None, 32, 32, 3]")]
    if len(spec.shape) > MAX_RANK:
        return [("tensorflow.input_rank", f"{what} has more than {MAX_RANK} dimensions; a request's \"instances\" "
                 f"take at most {MAX_RANK}, batch first, e.g. shape [None, 32, 32, 3]")]
    if any(size < -1 for size in spec.shape):
        return [("tensorflow.input_dimension", f"{what} has shape {list(spec.shape)}: a dimension is a size, or -1 "
                 "when unknown (None in Python)")]
    elements = math.prod(max(size, 1) for size in spec.shape)  # at most MAX_RANK factors, so quick
    if elements > max_elements:
        return [("tensorflow.input_too_large", f"{what} of shape {list(spec.shape)} has {count(elements)} elements "
                 f"(unknown dimensions counted as 1), more than the {count(max_elements)} the warm-up may send "
                 "(REGISTRY_MAX_INPUT_ELEMENTS)")]
    return []


def _described(name: str, spec: TensorSpec) -> dict:
    return {"name": name, "dtype": spec.dtype, "shape": None if spec.shape is None else list(spec.shape)}


def _kind(spec: TensorSpec) -> str:
    return f"{spec.encoding.replace('_', ' ')} tensor" if spec.encoding != "dense" else f"{spec.dtype} tensor"


def _names(graph: MetaGraph) -> str:
    names = sorted(name for name in graph.signatures if not name.startswith("__"))  # __saved_model_init_op: TF's own
    return listed(names) or "no signatures"
