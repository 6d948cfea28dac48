"""TF Serving's REST predict semantics as pure functions: which version folder is served, how a
request body becomes named input arrays, and how outputs become the answer.

Kept apart from serving.py (which needs TensorFlow) so the rules are unit-tested in any venv
with numpy. The rules follow TF Serving's REST API: row format `{"instances": [...]}` answers
`{"predictions": ...}`, columnar `{"inputs": ...}` answers `{"outputs": ...}`, a missing
`signature_name` means `serving_default`, and every client mistake is a `PayloadError`, which
the server answers as `{"error": "<message>"}` with HTTP 400. Binary strings travel as
`{"b64": "<base64>"}` both ways: in place of any value of a string input, and for every value
of an output whose name ends in `_bytes` (other string outputs are written as UTF-8 text).
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_SIGNATURE = "serving_default"
# The numpy kinds a JSON value may have for a tensor of each kind: TF Serving takes integers for
# floats, but neither floats for integers nor booleans for numbers.
_ACCEPTED_KINDS = {"f": "iuf", "i": "iu", "u": "iu", "b": "b"}


class PayloadError(ValueError):
    """A request the model cannot answer as sent: HTTP 400, `{"error": message}`."""


@dataclass(frozen=True)
class TensorSpec:
    """One signature input: its name, numpy dtype and shape (None for an unknown dimension)."""

    name: str
    dtype: np.dtype
    shape: tuple[int | None, ...] | None  # None: any rank


@dataclass(frozen=True)
class Request:
    signature: str
    inputs: dict[str, np.ndarray]
    row_format: bool


def served_version(model_dir: Path) -> Path:
    """The highest numeric version folder holding a saved_model.pb, as TF Serving picks it."""
    versions = [child for child in Path(model_dir).iterdir()
                if child.is_dir() and child.name.isascii() and child.name.isdigit()
                and (child / "saved_model.pb").is_file()]
    if not versions:
        raise FileNotFoundError(f"no <digits>/saved_model.pb version folder at the root of {model_dir}")
    return max(versions, key=lambda child: int(child.name))


def parse_request(body: bytes, signatures: dict[str, dict[str, TensorSpec]]) -> Request:
    """The request's signature and its inputs as arrays, each checked against the signature's specs."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"JSON Parse error: {exc}") from None
    if not isinstance(document, dict):
        raise PayloadError("The request body must be a JSON object with 'instances' or 'inputs'.")
    signature = document.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(signature, str) or signature not in signatures:
        raise PayloadError(f"Serving signature name: {json.dumps(signature)} not found in signature def "
                           f"(the model has {', '.join(sorted(signatures)) or 'none'}).")
    specs = signatures[signature]
    if ("instances" in document) == ("inputs" in document):
        raise PayloadError("Missing 'inputs' or 'instances' keys" if "instances" not in document
                           else "Not both 'instances' and 'inputs' may be given.")
    if "instances" in document:
        raw = _rows_to_columns(document["instances"], specs)
    else:
        raw = _columns(document["inputs"], specs)
    return Request(signature, {name: _tensor(raw[name], spec) for name, spec in specs.items()}, "instances" in document)


def _rows_to_columns(instances, specs: dict[str, TensorSpec]) -> dict[str, list]:
    if not isinstance(instances, list):
        raise PayloadError("Expecting 'instances' to be an list/array")
    if not instances:
        raise PayloadError("'instances' is an empty list: send at least one instance.")
    keyed = [isinstance(row, dict) and not _is_b64(row) for row in instances]
    if len(specs) > 1 and not all(keyed):
        raise PayloadError(f"The signature has inputs {sorted(specs)}: each instance must be an object keyed by them.")
    if not any(keyed):
        (name,) = specs
        return {name: instances}
    if not all(keyed):
        raise PayloadError("Instances must all be objects keyed by input name, or none of them.")
    columns: dict[str, list] = {name: [] for name in specs}
    for index, row in enumerate(instances):
        if set(row) != set(specs):
            raise PayloadError(f"Instance {index} has keys {sorted(row)}; the signature's inputs are {sorted(specs)}.")
        for name in specs:
            columns[name].append(row[name])
    return columns


def _columns(inputs, specs: dict[str, TensorSpec]) -> dict:
    if isinstance(inputs, dict) and not _is_b64(inputs) and (len(specs) > 1 or set(inputs) == set(specs)):
        if set(inputs) != set(specs):
            raise PayloadError(f"'inputs' has keys {sorted(inputs)}; the signature's inputs are {sorted(specs)}.")
        return inputs
    if len(specs) > 1:
        raise PayloadError(f"The signature has inputs {sorted(specs)}: 'inputs' must be an object keyed by them.")
    (name,) = specs
    return {name: inputs}


def _is_b64(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and "b64" in value


def _string_tensor(value, spec: TensorSpec) -> np.ndarray:
    """A string input as an object array of bytes: text as UTF-8, `{"b64": ...}` decoded. Object, not
    numpy's fixed-width bytes, which would drop trailing NUL bytes from binary data."""
    def leaf(item):
        if isinstance(item, list):
            return [leaf(x) for x in item]
        if _is_b64(item):
            try:
                return base64.b64decode(item["b64"], validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise PayloadError(f"Input {spec.name!r}: {{\"b64\": ...}} must hold base64 text.") from None
        if isinstance(item, str):
            return item.encode()
        raise PayloadError(f"Input {spec.name!r} expects strings (or {{\"b64\": ...}}), got {type(item).__name__}.")

    converted = leaf(value)
    try:
        array = np.array(converted, dtype=object)
    except ValueError as exc:
        raise PayloadError(f"Input {spec.name!r} is not a rectangular array: {exc}") from None
    if any(isinstance(item, list) for item in array.flat):
        raise PayloadError(f"Input {spec.name!r} is not a rectangular array of strings.")
    _check_shape(array, spec)
    return array


def _check_shape(array: np.ndarray, spec: TensorSpec) -> None:
    if spec.shape is not None and (array.ndim != len(spec.shape) or any(
            want is not None and want != got for want, got in zip(spec.shape, array.shape))):
        wanted = "(" + ", ".join("-1" if d is None else str(d) for d in spec.shape) + ")"
        raise PayloadError(f"Input {spec.name!r} expects shape {wanted} (-1: any size), got {tuple(array.shape)}.")


def _tensor(value, spec: TensorSpec) -> np.ndarray:
    """`value` as an array of the spec's dtype and shape, or a PayloadError that names the input."""
    if spec.dtype.kind in "OSU":
        return _string_tensor(value, spec)
    try:
        array = np.asarray(value)
    except ValueError as exc:  # numpy 2 refuses ragged nesting outright
        raise PayloadError(f"Input {spec.name!r} is not a rectangular array: {exc}") from None
    if array.dtype.kind == "O":
        raise PayloadError(f"Input {spec.name!r} is not a rectangular array of {spec.dtype.name} values.")
    if array.size and array.dtype.kind not in _ACCEPTED_KINDS.get(spec.dtype.kind, spec.dtype.kind):
        raise PayloadError(f"Input {spec.name!r} expects {spec.dtype.name} values, got {_kind_name(array)}.")
    _check_shape(array, spec)
    return array.astype(spec.dtype, copy=False)


def _kind_name(array: np.ndarray) -> str:
    return {"b": "booleans", "U": "strings", "i": "integers", "u": "integers", "f": "numbers"}.get(
        array.dtype.kind, array.dtype.name)


def _json_values(name: str, array: np.ndarray) -> list:
    """An output as nested lists JSON can carry: strings as text, or as {"b64": ...} for `*_bytes` outputs."""
    if array.dtype.kind not in "OS":
        return array.tolist()
    if name.endswith("_bytes"):
        encode = lambda v: {"b64": base64.b64encode(v).decode("ascii")}  # noqa: E731
    else:
        encode = lambda v: v.decode("utf-8", "replace")  # noqa: E731
    return np.frompyfunc(lambda v: encode(v) if isinstance(v, bytes) else v, 1, 1)(array).tolist()


def answer(outputs: dict[str, np.ndarray], row_format: bool) -> bytes:
    """`{"predictions": ...}` (one list entry per instance) or `{"outputs": ...}`, as TF Serving shapes them."""
    names = sorted(outputs)
    columns = {name: _json_values(name, outputs[name]) for name in names}
    if not row_format:
        return json.dumps({"outputs": columns[names[0]] if len(names) == 1 else columns}).encode()
    if len(names) == 1:
        return json.dumps({"predictions": columns[names[0]]}).encode()
    rows = len(next(iter(columns.values())))
    return json.dumps({"predictions": [{n: columns[n][i] for n in names} for i in range(rows)]}).encode()
