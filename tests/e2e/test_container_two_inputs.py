"""A model with two inputs in the real container (MMS): it loads, and every named form of a
request answers what plain MXNet computes on the same inputs."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from local_stack.demo.sample_models import TWO_INPUTS, export_two_input

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mms")]

PIXELS = np.random.default_rng(1).random((3, 1, 4, 4), dtype=np.float32)
EXTRA = np.random.default_rng(2).random((3, 3), dtype=np.float32)


@pytest.fixture(scope="module")
def two_input(mms_server, tmp_path_factory) -> Path:
    model_dir = export_two_input(tmp_path_factory.mktemp("two_input") / "model")
    response = mms_server.load("two_input", model_dir)
    assert response.status_code == 200, f"{response.text}\n{mms_server.log_tail()}"
    yield model_dir
    mms_server.unload("two_input")


@pytest.fixture(scope="module")
def mxnet_probabilities(two_input) -> np.ndarray:
    import mxnet as mx

    sym, args, aux = mx.model.load_checkpoint(str(two_input / "two_input"), 0)
    names = [entry["name"] for entry in TWO_INPUTS]
    module = mx.mod.Module(sym, data_names=names, label_names=None, context=mx.cpu())
    module.bind(data_shapes=[("pixels", PIXELS.shape), ("extra", EXTRA.shape)], for_training=False)
    module.set_params(args, aux)
    module.forward(mx.io.DataBatch([mx.nd.array(PIXELS), mx.nd.array(EXTRA)]), is_train=False)
    logits = module.get_outputs()[0].asnumpy()
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def npz_body() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, pixels=PIXELS, extra=EXTRA)
    return buffer.getvalue()


BODIES = {
    "columnar JSON": (lambda: json.dumps({"inputs": {"pixels": PIXELS.tolist(), "extra": EXTRA.tolist()}}),
                      "application/json"),
    "row JSON": (lambda: json.dumps({"instances": [{"pixels": p.tolist(), "extra": e.tolist()}
                                                   for p, e in zip(PIXELS, EXTRA)]}), "application/json"),
    "npz": (npz_body, "application/x-npz"),
}


@pytest.mark.parametrize("form", BODIES)
def test_a_two_input_model_answers_each_named_form_as_plain_mxnet_does(mms_server, two_input, mxnet_probabilities,
                                                                       form):
    make_body, content_type = BODIES[form]

    result = mms_server.invoke("two_input", make_body(), content_type)

    assert result.status == 200, result.body
    np.testing.assert_allclose(np.array(result.json()["predictions"]), mxnet_probabilities, atol=1e-5)


def test_an_unnamed_body_to_a_two_input_model_is_a_400_that_names_its_inputs(mms_server, two_input):
    result = mms_server.invoke("two_input", json.dumps({"instances": EXTRA.tolist()}), "application/json")

    assert result.status == 400 and result.json()["error"]["code"] == "multiple_inputs"
    assert "pixels, extra" in result.json()["error"]["message"]
