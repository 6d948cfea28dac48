"""Which model layout an archive holds, decided from the files present, then that layout's rules.

Pure functions over the member list and the captured heads of the few small files
the rules read; the per-framework rules live in `mxnet` and `tensorflow`.
"""
from __future__ import annotations

from . import mxnet
from . import samples
from . import tensorflow
from .layout_result import Failure, LayoutResult
from .limits import DEFAULT_MAX_INPUT_ELEMENTS
from .mxnet import PARAMS_MAGIC, SYMBOL_CAP, SYNSET_CAP
from .shapes import SHAPES_CAP
from .tar_walk import Entry

__all__ = ["PARAMS_MAGIC", "SHAPES_CAP", "SYMBOL_CAP", "SYNSET_CAP", "Failure", "LayoutResult",
           "capture_limit", "captures", "check_layout"]


def capture_limit(name: str) -> int:
    """How many leading bytes of member `name` the layout rules read (0: none); reference samples whole."""
    if samples.is_sample(name):
        return samples.capture_limit(name)
    return tensorflow.capture_limit(name) if "/" in name else mxnet.capture_limit(name)


def captures() -> dict[str, bytes]:
    """Where a pass keeps the captured heads (TensorFlow's keeps one saved_model.pb, the served version's;
    samples up to their caps)."""
    return _Captures()


class _Captures(tensorflow.Captures):
    def __setitem__(self, name: str, body: bytes) -> None:
        if samples.is_sample(name) and not samples.keeps(self, body):
            return
        super().__setitem__(name, body)


def check_layout(members: list[Entry], captured: dict[str, bytes],
                 max_input_elements: int = DEFAULT_MAX_INPUT_ELEMENTS) -> LayoutResult:
    """Decides the layout from the files present, then applies that layout's rules and the samples' rules."""
    files = {entry.name: entry for entry in members if entry.type == "file"}
    if not files:
        return LayoutResult(failures=[("archive.empty", "the archive holds no files")])
    result = _model_layout(files, captured, max_input_elements)
    result.samples, failures = samples.check(list(files), {n: e.size for n, e in files.items()}, captured)
    result.failures += failures
    return result


def _model_layout(files: dict[str, Entry], captured: dict[str, bytes], max_input_elements: int) -> LayoutResult:
    if any("/" not in name and mxnet.is_mxnet_file(name) for name in files):
        return mxnet.check(files, captured, max_input_elements)
    if tensorflow.has_saved_model(files):
        return tensorflow.check(files, captured, max_input_elements)
    nested = mxnet.not_at_root(files)
    if nested is not None:
        return nested
    message = (
        "no known model layout: expected <prefix>-symbol.json, <prefix>-NNNN.params and <prefix>-shapes.json "
        "at the archive root (MXNet) or <version>/saved_model.pb (TensorFlow Serving)"
    )
    return LayoutResult(failures=[("layout.unknown", message)])
