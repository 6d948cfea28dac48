"""MXNet model handler for Multi Model Server: `handle(data, context)`.

A module-level function on purpose: MMS 1.1 turns a `MemoryError` raised while
loading into HTTP 507 only for function entry points (a class-style service
swallows it), and 507 is what tells SageMaker to unload other models and retry.
MMS runs one worker process per model, so the module global holds that
worker's one model.

A 507 means "this model does not fit: unload others" to SageMaker, so only a load
raises MemoryError out of `handle`; at inference a request that runs out of memory gets
its own 4xx/5xx answer and the rest of the batch is answered as usual.

Environment:
  MME_HANDLER_MEMORY_BUDGET_MB  optional; refuse (MemoryError → 507) a model whose
                                parameters plus estimated activations exceed it.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
from http import HTTPStatus
from collections import namedtuple
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import handler_inputs
import handler_payloads as payloads

log = logging.getLogger(__name__)
LOAD_FAILURE_LOG_DRAIN_SECONDS = 0.5

# MMS's worker json.loads every application/json body before the handler sees it (it reads
# this variable for each request), so a body nested 100,000 deep killed the worker with a
# RecursionError: 503 for the whole batch and a reload. Raw bytes let handler_payloads bound
# the depth first. Set here, not in the image, so the handler is safe wherever it runs.
os.environ["MMS_DECODE_INPUT_REQUEST"] = "false"

MEMORY_BUDGET_ENV = "MME_HANDLER_MEMORY_BUDGET_MB"

# The executor every load uses, chosen once with `python bench/container.py` (variants
# interleaved in one process, OMP_NUM_THREADS=1 as in an MMS worker, batch 1, three runs
# on a busy 2-core machine; warm median ms / load ms):
#   ResNet-18    module 24.8-45.4 / 557-1042   module_mkldnn 22.0-43.9 / 462-786
#                symbolblock_static 28.5-47.1 / 136-313   symbolblock_mkldnn 21.6-46.6 / 435-713
#   SqueezeNet   module 12.1-29.9   module_mkldnn 11.8-29.6   symbolblock_static 12.6-36.2
#                symbolblock_mkldnn 12.3-32.1 (loads all 40-120)
# The MKLDNN-fused graphs answer fastest (SymbolBlock without fusion is 10-25% slower
# warm, though it loads quickest); Module bind of the explicitly partitioned symbol was
# fastest or tied in each run, loads faster than plain Module bind, and keeps its fusion
# even when MXNET_SUBGRAPH_BACKEND=NONE switches off MXNet's default pass.
EXECUTOR = "module_mkldnn"

_Batch = namedtuple("_Batch", ["data"])


@dataclass(frozen=True)
class ModelFiles:
    """The files of one MXNet model folder (see DESIGN.md, "Tarball layouts")."""

    prefix: str
    symbol: Path
    params: Path
    shapes: Path
    synset: Path | None


def find_model_files(model_dir: Path) -> ModelFiles:
    """Finds `<p>-symbol.json`, the highest-epoch `<p>-NNNN.params`, `<p>-shapes.json`, `synset.txt`."""
    symbols = sorted(model_dir.glob("*-symbol.json"))
    if len(symbols) != 1:
        found = [s.name for s in symbols] or "none"
        raise ValueError(f"expected exactly one <prefix>-symbol.json in {model_dir}, found {found}")
    prefix = symbols[0].name[: -len("-symbol.json")]
    epochs = re.compile(re.escape(prefix) + r"-(\d{4})\.params")
    params = sorted((p for p in model_dir.iterdir() if epochs.fullmatch(p.name)), key=lambda p: p.name)
    if not params:
        raise ValueError(f"no {prefix}-NNNN.params beside {symbols[0].name} in {model_dir}")
    shapes = model_dir / f"{prefix}-shapes.json"
    if not shapes.is_file():
        raise ValueError(f"missing {shapes.name} (the input name and shape) in {model_dir}")
    synset = model_dir / "synset.txt"
    return ModelFiles(prefix, symbols[0], params[-1], shapes, synset if synset.is_file() else None)


def read_input_shapes(shapes_file: Path) -> dict[str, list[int]]:
    """Each input's name and shape from `<p>-shapes.json`, in the file's order (one or more inputs)."""
    rule = f'{shapes_file.name} must be [{{"name": ..., "shape": [...]}}, ...] with distinct names'
    try:
        entries = json.loads(shapes_file.read_text())
        inputs = {str(entry["name"]): [int(d) for d in entry["shape"]] for entry in entries}
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{rule}: {exc}") from exc
    if not inputs or len(inputs) != len(entries):
        raise ValueError(f"{rule}: it names {[entry.get('name') for entry in entries]}")
    return inputs


def _is_allocation_failure(exc: Exception) -> bool:
    text = str(exc).lower()
    return "memory" in text or "alloc" in text


# --- executor variants (timed by bench/container.py; EXECUTOR picks one) ---------------


# Each takes the inputs as {name: shape} and returns forward({name: batch}) -> the first output.


def _module_executor(sym, arg_params, aux_params, inputs):
    """Module bind; MXNet 1.9 applies its default MKLDNN subgraph pass at bind time."""
    import mxnet as mx

    module = mx.mod.Module(sym, data_names=list(inputs), label_names=None, context=mx.cpu())
    module.bind(data_shapes=[(name, tuple(shape)) for name, shape in inputs.items()], for_training=False)
    module.set_params(arg_params, aux_params, allow_missing=False, allow_extra=True)

    def forward(batch: dict[str, np.ndarray]) -> np.ndarray:
        module.forward(_Batch([mx.nd.array(batch[name]) for name in inputs]), is_train=False)
        return module.get_outputs()[0].asnumpy()

    return forward


def _block(sym, arg_params, aux_params, inputs):
    import mxnet as mx
    from mxnet import gluon

    block = gluon.SymbolBlock(sym, [mx.sym.var(name) for name in inputs])
    values = {**arg_params, **aux_params}
    for name, param in block.collect_params().items():
        if name not in values:
            raise ValueError(f"the params file has no value for {name}")
        param._load_init(values[name], mx.cpu())
    return block


def _block_executor(sym, arg_params, aux_params, inputs, backend=None):
    """Gluon SymbolBlock with a static-memory CachedOp, optionally partitioned for MKLDNN."""
    import mxnet as mx

    block = _block(sym, arg_params, aux_params, inputs)
    if backend:
        zeros = [mx.nd.zeros(shape) for shape in inputs.values()]
        block.optimize_for(*zeros, backend=backend, static_alloc=True, static_shape=True)
    else:
        block.hybridize(static_alloc=True, static_shape=True)
    return lambda batch: block(*[mx.nd.array(batch[name]) for name in inputs]).asnumpy()


def _module_mkldnn_executor(sym, arg_params, aux_params, inputs):
    """Module bind of the graph explicitly partitioned with the MKLDNN subgraph backend."""
    return _module_executor(sym.get_backend_symbol("MKLDNN"), arg_params, aux_params, inputs)


EXECUTOR_VARIANTS = {
    "module": _module_executor,
    "module_mkldnn": _module_mkldnn_executor,
    "symbolblock_static": _block_executor,
    "symbolblock_mkldnn": lambda *args: _block_executor(*args, backend="MKLDNN"),
}


class Predictor:
    """One loaded model: an executor plus what it takes to turn outputs into probabilities."""

    def __init__(self, model_dir: Path, batch_size: int = 1, variant: str = EXECUTOR):
        import mxnet as mx

        files = find_model_files(model_dir)
        self.files = files
        self.inputs = read_input_shapes(files.shapes)
        self.data_name, self.input_shape = next(iter(self.inputs.items()))  # the first input; most models have one
        self.labels = files.synset.read_text().splitlines() if files.synset else None
        try:
            graph = json.loads(files.symbol.read_text())
            self.outputs_probabilities = payloads.ends_in_softmax(graph)
        except (UnicodeDecodeError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise ValueError(f"{files.symbol.name} is not an MXNet symbol graph: {exc}") from exc
        try:
            sym = inference_graph(mx.sym.load(str(files.symbol)), graph)
            _check_memory_budget(sym, self.inputs, files.params, batch_size)
            loaded = mx.nd.load(str(files.params))
            arg_params = {k[4:]: v for k, v in loaded.items() if k.startswith("arg:")}
            aux_params = {k[4:]: v for k, v in loaded.items() if k.startswith("aux:")}
            self._forward = EXECUTOR_VARIANTS[variant](sym, arg_params, aux_params, self.inputs)
            # fail now, not on the first request
            self.predict({name: np.zeros(shape, dtype="float32") for name, shape in self.inputs.items()})
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - MXNet reports broken files in many shapes
            if isinstance(exc, mx.base.MXNetError) and _is_allocation_failure(exc):
                raise MemoryError(f"MXNet could not allocate memory for {model_dir}: {exc}") from exc
            raise ValueError(f"cannot load the MXNet model in {model_dir}: {type(exc).__name__}: {exc}") from exc

    def predict(self, batch: np.ndarray | dict[str, np.ndarray]) -> np.ndarray:
        """Probabilities (rows sum to 1) for {input name: (n, *shape[1:])}, or one array for a one-input model."""
        import mxnet as mx

        if not isinstance(batch, dict):
            batch = {self.data_name: batch}
        try:
            outputs = self._forward(batch)
        except mx.base.MXNetError as exc:
            if _is_allocation_failure(exc):
                raise MemoryError(f"MXNet could not allocate memory: {exc}") from exc
            raise
        outputs = outputs.reshape(outputs.shape[0], -1)
        return outputs if self.outputs_probabilities else payloads.softmax(outputs)


def inference_graph(sym, graph: dict):
    """The first output, with a SoftmaxOutput head turned into plain softmax.

    SoftmaxOutput (classic symbolic models) takes a training label input that no request
    carries; at inference it computes exactly a softmax of its data input.
    """
    if len(sym.list_outputs()) > 1:
        sym = sym[0]
    head = graph["nodes"][graph["heads"][0][0]]
    if head["op"] != "SoftmaxOutput":
        return sym
    import mxnet as mx

    attrs = head.get("attrs", head.get("param", {}))
    multi_output = str(attrs.get("multi_output", "False")).lower() in ("true", "1")
    return mx.sym.softmax(sym.get_children()[0], axis=1 if multi_output else -1)


def estimate_memory_bytes(sym, inputs: dict[str, list[int]], params_bytes: int, batch_size: int) -> int:
    """Parameters plus every intermediate output at the largest batch: an upper bound (no reuse)."""
    shapes = {name: (max(batch_size, shape[0]), *shape[1:]) for name, shape in inputs.items()}
    _, out_shapes, _ = sym.get_internals().infer_shape(**shapes)
    activations = sum(int(np.prod(s)) for s in out_shapes if s) * 4
    return params_bytes + activations


def _check_memory_budget(sym, inputs: dict[str, list[int]], params_file: Path, batch_size: int) -> None:
    budget_mb = os.environ.get(MEMORY_BUDGET_ENV)
    if not budget_mb:
        return
    needed = estimate_memory_bytes(sym, inputs, params_file.stat().st_size, batch_size)
    if needed > float(budget_mb) * 2**20:
        raise MemoryError(f"model needs about {needed / 2**20:.0f} MB, over {MEMORY_BUDGET_ENV}={budget_mb}")


# --- the MMS entry point ------------------------------------------------------------------

_predictor: Predictor | None = None


def handle(data, context):
    """Loads the model when `data` is None; otherwise answers each request of the batch."""
    global _predictor
    if data is None:
        props = context.system_properties
        try:
            _predictor = Predictor(Path(props["model_dir"]), int(props.get("batch_size") or 1))
        except (MemoryError, ValueError) as exc:
            # One line before the worker dies: MMS may stop reading its output mid-traceback.
            log.error("model %s not loaded: %s: %s", context.model_name, type(exc).__name__, exc)
            # MMS's frontend stops its stdout reader as soon as it sees the failed load, sometimes
            # before that line has crossed the pipe: give the reader a moment to forward the reason.
            time.sleep(LOAD_FAILURE_LOG_DRAIN_SECONDS)
            raise
        log.info("loaded %s with the %s executor", _predictor.files.prefix, EXECUTOR)
        return None
    return _answer(_predictor, data, context)


def _header(context, idx: int, name: str) -> str | None:
    """A request header by case-insensitive name (MMS keeps the client's spelling)."""
    wanted = name.lower()
    for key, value in (context.get_all_request_header(idx) or {}).items():
        if isinstance(value, str) and key.lower() == wanted:
            return value
    return None


def _body_and_type(request: dict, context, idx: int):
    name = "body" if "body" in request else next(iter(request), None)
    content_type = _header(context, idx, "Content-Type")
    if content_type is None and name is not None:
        content_type = (context.get_all_request_header(idx).get(name) or {}).get("content-type")
    return (request.get(name) if name else None), content_type


def _answer(predictor: Predictor, data: list, context) -> list:
    responses: list = [None] * len(data)
    accepted: list[tuple[int, payloads.Decoded]] = []
    for idx, request in enumerate(data):
        body, content_type = _body_and_type(request, context, idx)
        try:
            accept = _header(context, idx, "Accept")
            accepted.append((idx, handler_inputs.decode(body, content_type, accept, predictor.inputs)))
        except payloads.PayloadError as err:
            responses[idx] = _fail(context, idx, err.status, err.code, err.message)
        except MemoryError:
            responses[idx] = _fail(context, idx, 413, "payload_too_large", "decoding this body needs more memory than "
                                                                           "the worker has; send a smaller one")
        except Exception as exc:  # noqa: BLE001 - one undecodable body must not fail the batch
            log.exception("decoding request %d failed", idx)
            responses[idx] = _fail(context, idx, 400, "invalid_payload", f"cannot decode the body: {exc!r:.300}")
    if not accepted:
        return responses
    batch = {name: np.concatenate([decoded.batch[name] for _, decoded in accepted]) for name in predictor.inputs}
    try:
        probabilities = predictor.predict(batch)
    except MemoryError as exc:  # not raised: MMS would answer 507, "unload other models", for a request
        log.error("inference ran out of memory on %d rows: %s", _rows(batch), exc)
        for idx, _ in accepted:
            responses[idx] = _fail(context, idx, 503, "out_of_memory", "the model ran out of memory on this batch; "
                                                                       "retry, or send fewer instances per request")
        return responses
    except Exception as exc:  # noqa: BLE001 - any inference failure is reported per request
        log.exception("inference failed")
        for idx, _ in accepted:
            responses[idx] = _fail(context, idx, 500, "inference_failed", f"the model failed on this input: {exc}")
        return responses
    start = 0
    for idx, decoded in accepted:
        count = _rows(decoded.batch)
        rows = probabilities[start : start + count]
        start += count
        body, content_type = payloads.encode(rows, decoded, predictor.labels)
        _set_content_type(context, idx, content_type)
        responses[idx] = body
    return responses


def _rows(batch: dict[str, np.ndarray]) -> int:
    """How many instances a batch holds (every input has as many rows)."""
    return len(next(iter(batch.values())))


def _fail(context, idx: int, status: int, code: str, message: str) -> str:
    context.set_response_status(status, HTTPStatus(status).phrase, idx)
    _set_content_type(context, idx, payloads.JSON)
    return payloads.error_body(code, message)


class _ContentTypeOnly(dict):
    """Response headers that MMS sends as the content-type field alone, never as a header map.

    MMS 1.1's Java decoder reads each response's header map with no check for a frame
    split across socket reads, and kills the worker ("CorruptedFrameException: Message
    size exceed limit") when a read ends inside it; batched responses are long enough
    to hit this often. The content-type field is decoded safely, and is all we set.
    """

    def __len__(self) -> int:
        return 0

    def items(self):
        return iter(())


def _set_content_type(context, idx: int, value: str) -> None:
    processor = context.request_processor[idx]
    processor._response_header = _ContentTypeOnly({"content-type": value})
