"""Real models served by the container's handler through a real MMS: answers match plain
MXNet, bad payloads get 4xx JSON errors, and MMS batching keeps answers apart."""
from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mxnet as mx
import numpy as np
import pytest
from PIL import Image

from local_stack.demo.sample_models import digits_split

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mms")]


def plain_mxnet_logits(model_dir: Path, prefix: str, batch: np.ndarray) -> np.ndarray:
    """The exported graph run with nothing but MXNet."""
    sym, args, aux = mx.model.load_checkpoint(str(model_dir / prefix), 0)
    module = mx.mod.Module(sym, data_names=["data"], label_names=None, context=mx.cpu())
    module.bind(data_shapes=[("data", batch.shape)], for_training=False)
    module.set_params(args, aux)
    module.forward(mx.io.DataBatch([mx.nd.array(batch)]), is_train=False)
    return module.get_outputs()[0].asnumpy()


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def as_json(batch: np.ndarray) -> str:
    return json.dumps({"instances": batch.tolist()})


def image_bytes(fmt: str, size=(320, 240), seed=0) -> bytes:
    pixels = (np.random.default_rng(seed).random((size[1], size[0], 3)) * 255).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def held_out():
    return digits_split()


def test_the_digits_classifier_is_at_least_90_percent_accurate_through_mms(mms_server, served, held_out):
    result = mms_server.invoke("digits", as_json(held_out.test_x), "application/json")

    predictions = np.array(result.json()["predictions"])
    assert result.status == 200 and predictions.shape == (len(held_out.test_y), 10)
    assert (predictions.argmax(axis=1) == held_out.test_y).mean() >= 0.9


def test_served_digits_answers_are_plain_mxnet_softmax(mms_server, served, held_out):
    served_probs = np.array(mms_server.invoke("digits", as_json(held_out.test_x), "application/json").json()["predictions"])
    logits = plain_mxnet_logits(served["digits"], "digits", held_out.test_x)

    assert (served_probs.argmax(axis=1) == logits.argmax(axis=1)).all()
    np.testing.assert_allclose(served_probs, softmax(logits), atol=1e-5)


def test_npy_in_and_npy_out_match_the_json_answer(mms_server, served, held_out):
    batch = held_out.test_x[:5]
    buffer = io.BytesIO()
    np.save(buffer, batch)

    npy = mms_server.invoke("digits", buffer.getvalue(), "application/x-npy", accept="application/x-npy")
    as_json_answer = mms_server.invoke("digits", buffer.getvalue(), "application/x-npy")

    assert npy.status == 200 and npy.content_type.startswith("application/x-npy")
    probabilities = np.load(io.BytesIO(npy.body))
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(probabilities, np.array(as_json_answer.json()["predictions"]), atol=1e-6)


@pytest.mark.parametrize("fmt,content_type", [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("PNG", "application/x-image")])
def test_an_image_to_resnet_answers_the_top_5_labels_with_probabilities_when_verbose(mms_server, served, fmt,
                                                                                     content_type):
    result = mms_server.invoke("resnet_18", image_bytes(fmt), content_type, accept="application/json; verbose=true")

    top5 = result.json()
    labels = (served["resnet_18"] / "synset.txt").read_text().splitlines()
    probabilities = [entry["probability"] for entry in top5]
    assert result.status == 200 and len(top5) == 5
    assert all(entry["label"] in labels for entry in top5)
    assert all(0 <= p <= 1 for p in probabilities) and sum(probabilities) <= 1 + 1e-6
    assert probabilities == sorted(probabilities, reverse=True)


def test_an_image_answer_by_default_is_the_top_5_labels_best_first(mms_server, served):
    verbose = mms_server.invoke("resnet_18", image_bytes("JPEG"), "application/x-image",
                                accept="application/json; verbose=true").json()

    plain = mms_server.invoke("resnet_18", image_bytes("JPEG"), "application/x-image").json()

    assert plain == [entry["label"] for entry in verbose] and all(isinstance(label, str) for label in plain)


def test_squeezenet_answers_json_instances_like_plain_mxnet(mms_server, served):
    batch = np.random.default_rng(7).random((1, 3, 224, 224), dtype=np.float32)

    result = mms_server.invoke("squeezenet_v1.0", as_json(batch), "application/json")

    probabilities = np.array(result.json()["predictions"])
    logits = plain_mxnet_logits(served["squeezenet_v1.0"], "squeezenet_v1.0", batch)
    assert result.status == 200 and probabilities.shape == (1, 1000)
    np.testing.assert_allclose(probabilities, softmax(logits.reshape(1, -1)), atol=1e-5)


BAD_PAYLOADS = {
    "wrong shape": ("digits", json.dumps({"instances": [[1.0, 2.0]]}), "application/json", None, 400, "invalid_shape"),
    "invalid JSON": ("digits", '{"instances": [[1,', "application/json", None, 400, "invalid_json"),
    "no instances": ("digits", '{"rows": []}', "application/json", None, 400, "invalid_payload"),
    "words for numbers": ("digits", '{"instances": [["a"]]}', "application/json", None, 400, "invalid_payload"),
    "not an npy": ("digits", b"\x93NUMPY broken", "application/x-npy", None, 400, "invalid_npy"),
    "unknown content type": ("digits", "1,2,3", "text/csv", None, 415, "unsupported_media_type"),
    "unanswerable accept": ("digits", json.dumps({"instances": [[0.0] * 64]}), "application/json", "text/csv", 406,
                            "not_acceptable"),
    "image to a vector model": ("digits", image_bytes("PNG"), "image/png", None, 400, "not_an_image_model"),
    "undecodable image": ("resnet_18", b"\xff\xd8 not really a jpeg", "image/jpeg", None, 400, "invalid_image"),
}


@pytest.mark.parametrize("case", BAD_PAYLOADS, ids=list(BAD_PAYLOADS))
def test_a_bad_payload_answers_4xx_json_and_the_model_keeps_answering(mms_server, served, case):
    model, body, content_type, accept, status, code = BAD_PAYLOADS[case]

    bad = mms_server.invoke(model, body, content_type, accept=accept)
    after = mms_server.invoke(model, image_bytes("PNG") if model == "resnet_18" else as_json(np.zeros((1, 64))),
                              "image/png" if model == "resnet_18" else "application/json")

    assert bad.status == status and bad.content_type.startswith("application/json")
    assert bad.json()["error"]["code"] == code and bad.json()["error"]["message"]
    assert after.status == 200


def test_mms_batching_gives_each_request_its_own_answer(mms_server, served, held_out):
    # GIVEN digits registered with batches of 2, and each input's answer from the unbatched model
    assert mms_server.load("digits_batched", served["digits"], batch_size=2, max_batch_delay_ms=300).status_code == 200
    assert mms_server.describe("digits_batched").json()["batchSize"] == 2
    inputs = held_out.test_x[:12]
    expected = np.array(mms_server.invoke("digits", as_json(inputs), "application/json").json()["predictions"])
    bad = {3, 8}  # some requests in the batches are malformed

    def ask(i):
        body = '{"instances": [[1,' if i in bad else as_json(inputs[i : i + 1])
        return i, mms_server.invoke("digits_batched", body, "application/json")

    try:
        # WHEN they arrive concurrently, so MMS hands the handler several at once
        with ThreadPoolExecutor(6) as pool:
            answers = dict(pool.map(ask, range(len(inputs))))
        # THEN each good request gets its own input's answer, each bad one its own 400
        for i, result in answers.items():
            if i in bad:
                assert result.status == 400 and result.json()["error"]["code"] == "invalid_json"
            else:
                assert result.status == 200, result.body
                np.testing.assert_allclose(result.json()["predictions"][0], expected[i], atol=1e-5)
    finally:
        mms_server.unload("digits_batched")
