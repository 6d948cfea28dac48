"""Requests for models with named (and several) inputs: a `<p>-shapes.json` with more than one
entry, such as a network that takes an image and a vector.

One array cannot carry two inputs, so such a model takes its inputs by name, in TF Serving's
REST forms or as one .npz:
  {"inputs": {"a": [[...], ...], "b": [[...], ...]}}          columnar: a batch per input
  {"instances": [{"a": [...], "b": [...]}, ...]}              rows: one object per instance
  application/x-npz: numpy.savez(f, a=..., b=...)              arrays by input name
A one-input model takes these too, besides the unnamed forms of handler_payloads.decode, which
this module hands everything else to. Every answer's batch is {input name: array}.

An .npz is a zip: each member's declared (uncompressed) size is checked before it is read,
and zipfile reads no more than that, so a small compressed body cannot inflate past the limit.
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace

import numpy as np

import handler_payloads as payloads
from handler_payloads import Decoded, PayloadError

NPZ = "application/x-npz"
MAX_NPZ_BYTES = 64 * 2**20  # uncompressed; ten times InvokeEndpoint's 6 MB body, far above any real request


def decode(body, content_type: str | None, accept: str | None, inputs: dict[str, list[int]]) -> Decoded:
    """One request as {input name: (n, *shape[1:]) float32 batch}, n the same for every input."""
    kind = payloads.media_type(content_type)
    answer = payloads.choose_accept(accept)
    if kind == NPZ:
        return Decoded(_same_rows(npz_arrays(payloads.as_bytes(body), inputs), inputs), False, answer)
    if kind == payloads.JSON:
        document = _json_document(body, inputs)
        if _is_named(document):
            return Decoded(_same_rows(named_json(document, inputs), inputs), False, answer)
        body = document
    if len(inputs) > 1:
        raise PayloadError(400, "multiple_inputs", f"this model takes {len(inputs)} inputs ({', '.join(inputs)}): "
                                                   'send {"inputs": {"<name>": [...], ...}}, {"instances": '
                                                   f'[{{"<name>": ..., ...}}]}}, or an {NPZ} with one array per name')
    (name, shape), = inputs.items()
    decoded = payloads.decode(body, content_type, accept, shape)
    return replace(decoded, batch={name: decoded.batch})


def _json_document(body, inputs: dict[str, list[int]]):
    data = payloads.as_bytes(body)
    payloads.check_json_depth(data, max(inputs.values(), key=len))
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(400, "invalid_json", f"the body is not valid JSON: {exc}") from exc


def _is_named(document) -> bool:
    if not isinstance(document, dict):
        return False
    if "inputs" in document:
        return True
    instances = document.get("instances")
    return isinstance(instances, list) and bool(instances) and isinstance(instances[0], dict)


def named_json(document: dict, inputs: dict[str, list[int]]) -> dict[str, np.ndarray]:
    """The columnar (`inputs`) or row (`instances` of objects) form, as one float32 batch per input."""
    if "inputs" in document:
        columns = document["inputs"]
        if isinstance(columns, list) and len(inputs) == 1:
            columns = {next(iter(inputs)): columns}
        if not isinstance(columns, dict):
            raise PayloadError(400, "invalid_payload", '"inputs" must be an object {"<input name>": [...]}')
        _same_names(columns, inputs, '"inputs"')
    else:
        rows = document["instances"]
        for row in rows:
            if not isinstance(row, dict):
                raise PayloadError(400, "invalid_payload", 'every instance must be an object {"<input name>": ...}')
            _same_names(row, inputs, "each instance")
        columns = {name: [row[name] for row in rows] for name in inputs}
    batches = {}
    for name, shape in inputs.items():
        try:
            batch = np.asarray(columns[name], dtype="float32")
        except (TypeError, ValueError) as exc:
            raise PayloadError(400, "invalid_payload", f"input {name!r} must be numbers in equal-length lists: "
                                                       f"{exc}") from exc
        batches[name] = _checked(name, batch, shape)
    return batches


def npz_arrays(data: bytes, inputs: dict[str, list[int]]) -> dict[str, np.ndarray]:
    """One array per input from an .npz, each member's size and .npy header checked before it is read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise PayloadError(400, "invalid_npz", f"the body is not an .npz (zip) archive: {exc}") from None
    names = [member.filename[: -len(".npy")] if member.filename.endswith(".npy") else member.filename
             for member in members]
    if len(set(names)) != len(names):
        raise PayloadError(400, "invalid_npz", f"the .npz holds an array name twice: {sorted(names)}")
    _same_names(dict.fromkeys(names), inputs, "the .npz")
    declared = sum(member.file_size for member in members)
    if declared > MAX_NPZ_BYTES:
        raise PayloadError(413, "payload_too_large", f"the .npz unpacks to {declared:,} bytes; at most "
                                                     f"{MAX_NPZ_BYTES:,} are read")
    arrays = {}
    for member, name in zip(members, names):
        try:
            with archive.open(member) as stream:
                content = stream.read()
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, EOFError) as exc:
            raise PayloadError(400, "invalid_npz", f"cannot read {member.filename} from the .npz: {exc}") from None
        try:
            arrays[name] = payloads.npy_array(content, inputs[name])
        except PayloadError as err:
            raise PayloadError(err.status, err.code, f"input {name!r}: {err.message}") from None
    return {name: _checked(name, arrays[name], shape) for name, shape in inputs.items()}


def _same_names(given: dict, inputs: dict[str, list[int]], where: str) -> None:
    missing, extra = [n for n in inputs if n not in given], [n for n in given if n not in inputs]
    if missing or extra:
        raise PayloadError(400, "invalid_inputs", f"{where} must name exactly this model's inputs {list(inputs)}; "
                                                  f"missing {missing}, unknown {extra}")


def _checked(name: str, batch: np.ndarray, shape: list[int]) -> np.ndarray:
    try:
        return payloads.check_batch(batch, shape)
    except PayloadError as err:
        raise PayloadError(err.status, err.code, f"input {name!r}: {err.message}") from None


def _same_rows(batches: dict[str, np.ndarray], inputs: dict[str, list[int]]) -> dict[str, np.ndarray]:
    rows = {name: batch.shape[0] for name, batch in batches.items()}
    if len(set(rows.values())) > 1:
        raise PayloadError(400, "invalid_shape", f"every input needs the same number of instances, got {rows}")
    return {name: batches[name] for name in inputs}
