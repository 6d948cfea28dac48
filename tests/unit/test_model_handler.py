"""The container handler's rules, in process: payload decoding, softmax detection, top-k,
model folder discovery, and `handle` driven through MMS's own Context (no server)."""
from __future__ import annotations

import io
import json
import struct
import sys
from pathlib import Path

import mxnet as mx
import numpy as np
import pytest
from mms.context import Context, RequestProcessor
from mms.protocol.otf_message_handler import encode_response_headers
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "container"))

import handler_payloads as payloads  # noqa: E402
import model_handler  # noqa: E402
from hostile_payloads import deep_json, npy_declaring, png_bomb  # noqa: E402

DIGITS = [1, 64]
IMAGE = [1, 3, 224, 224]


def png(size=(50, 30), color=(255, 0, 0)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def refusal(*args) -> payloads.PayloadError:
    with pytest.raises(payloads.PayloadError) as caught:
        payloads.decode(*args)
    return caught.value


def test_media_types_ignore_parameters_and_case():
    assert payloads.media_type("Application/JSON; charset=utf-8") == "application/json"
    assert payloads.media_type(None) == ""


def test_accept_defaults_to_json_and_honours_npy():
    assert payloads.choose_accept(None) == payloads.choose_accept("*/*") == payloads.JSON
    assert payloads.choose_accept("application/x-npy, application/json") == payloads.NPY


def test_an_accept_the_handler_cannot_produce_is_406():
    assert refusal(b"{}", "application/json", "text/csv", DIGITS).status == 406


def test_json_instances_become_a_float32_batch():
    decoded = payloads.decode(json.dumps({"instances": [[1] * 64, [2] * 64]}), "application/json", None, DIGITS)

    assert decoded.batch.dtype == np.float32 and decoded.batch.shape == (2, 64) and not decoded.is_image


def test_an_instance_of_the_wrong_shape_is_refused_with_the_shape_expected():
    error = refusal(json.dumps({"instances": [1] * 64}), "application/json", None, DIGITS)

    assert (error.status, error.code) == (400, "invalid_shape") and "(n, 64)" in error.message


@pytest.mark.parametrize("body,code", [
    ('{"instances": [[1,', "invalid_json"),
    (b"\xff\xfe", "invalid_json"),
    ('[[1, 2]]', "invalid_payload"),
    ('{"instances": [[1, 2], [3]]}', "invalid_payload"),
    ('{"instances": [[NaN, 1]]}', "invalid_payload"),
])
def test_malformed_json_bodies_are_400s(body, code):
    error = refusal(body, "application/json", None, [1, 2])

    assert (error.status, error.code) == (400, code)


def test_npy_arrays_decode_and_pickles_are_refused():
    decoded = payloads.decode(npy(np.ones((3, 64), dtype="float64")), "application/x-npy", None, DIGITS)

    assert decoded.batch.shape == (3, 64) and decoded.batch.dtype == np.float32
    assert refusal(npy(np.array([{"a": 1}], dtype=object)), "application/x-npy", None, DIGITS).code == "invalid_npy"


@pytest.mark.parametrize("shape", [(2**40, 4), (2**40, 64), (3, 64)], ids=["wrong-shape", "huge", "truncated"])
def test_an_npy_header_is_checked_against_the_model_and_the_body_before_anything_is_allocated(shape):
    body = npy_declaring(shape)

    error = refusal(body, "application/x-npy", None, DIGITS)

    assert len(body) < 256
    assert error.status == 400 and error.code in ("invalid_shape", "invalid_npy")
    assert str(shape) in error.message


def test_an_npy_header_longer_than_numpys_own_limit_is_refused():
    body = b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**20) + b"{" * 64

    assert refusal(body, "application/x-npy", None, DIGITS).code == "invalid_npy"


def test_a_fortran_ordered_npy_array_keeps_its_values():
    array = np.asfortranarray(np.arange(128, dtype="float64").reshape(2, 64))

    np.testing.assert_array_equal(payloads.decode(npy(array), "application/x-npy", None, DIGITS).batch, array)


def test_json_nested_deeper_than_the_input_can_be_is_a_400_not_a_recursion_error():
    error = refusal(deep_json(100_000), "application/json", None, DIGITS)

    assert (error.status, error.code) == (400, "invalid_json")
    assert "nests 100001 levels deep, over the 64" in error.message


def test_json_a_few_levels_too_deep_is_told_its_shape_is_wrong():
    body = json.dumps({"instances": np.zeros((1, 3, 8, 8)).tolist()})

    assert refusal(body, "application/json", None, DIGITS).code == "invalid_shape"


def test_brackets_inside_json_strings_are_not_nesting():
    body = json.dumps({"instances": [[1, 2]], "note": "[[[[[[[[{{{{"})

    assert payloads.json_depth(body.encode()) == 3
    assert payloads.decode(body, "application/json", None, [1, 2]).batch.shape == (1, 2)


def test_a_small_png_that_decodes_to_170_megapixels_is_refused_from_its_header():
    bomb = png_bomb(13_000, 13_000)

    error = refusal(bomb, "image/png", None, IMAGE)

    assert len(bomb) < 1_000_000
    assert (error.status, error.code) == (413, "image_too_large") and "13000x13000" in error.message


def test_an_unknown_content_type_is_415():
    assert refusal(b"1,2", "text/csv", None, DIGITS).status == 415


def test_an_image_is_resized_normalised_and_laid_out_channels_first():
    decoded = payloads.decode(png(color=(255, 0, 0)), "image/png", None, IMAGE)

    expected = (np.array([1.0, 0.0, 0.0]) - payloads.IMAGENET_MEAN) / payloads.IMAGENET_STD
    assert decoded.is_image and decoded.batch.shape == (1, 3, 224, 224)
    np.testing.assert_allclose(decoded.batch[0, :, 100, 100], expected, rtol=1e-5)


def test_a_single_channel_model_gets_a_grey_image():
    assert payloads.decode(png(), "image/jpeg", None, [1, 1, 28, 28]).batch.shape == (1, 1, 28, 28)


def test_images_that_do_not_decode_or_fit_the_model_are_400s():
    assert refusal(b"\xff\xd8 broken", "image/jpeg", None, IMAGE).code == "invalid_image"
    assert refusal(png(), "image/png", None, DIGITS).code == "not_an_image_model"


def test_softmax_rows_sum_to_one_even_for_huge_logits():
    probabilities = payloads.softmax(np.array([[1000.0, 0.0, -1000.0], [1.0, 1.0, 1.0]]))

    np.testing.assert_allclose(probabilities.sum(axis=1), 1)
    assert probabilities[0, 0] == pytest.approx(1) and probabilities[1, 0] == pytest.approx(1 / 3)


def test_top_k_lists_the_most_probable_labels_first():
    top = payloads.top_k(np.array([0.1, 0.6, 0.3]), ["a", "b", "c"], k=2)

    assert top == [{"label": "b", "probability": pytest.approx(0.6)}, {"label": "c", "probability": pytest.approx(0.3)}]


def _image_answer(accept, labels):
    decoded = payloads.decode(png(), "image/png", accept, IMAGE)
    body, content_type = payloads.encode(np.array([[0.1, 0.6, 0.3]]), decoded, labels)
    return json.loads(body), content_type


def test_an_image_answer_is_a_list_of_strings_best_class_first_so_the_notebook_can_count_it():
    answer, content_type = _image_answer(None, ["a", "b", "c"])
    counts: dict = {}
    counts[answer[0]] = counts.get(answer[0], 0) + 1  # the AWS notebook's `results[json.loads(body)[0]] += 1`

    assert answer == ["b", "c", "a"] and counts == {"b": 1} and content_type == payloads.JSON


def test_without_a_synset_an_image_answer_names_classes_by_their_index():
    assert _image_answer("application/json", None)[0] == ["1", "2", "0"]


def test_verbose_json_answers_an_image_with_labels_and_probabilities():
    answer, _ = _image_answer("application/json; verbose=true", ["a", "b", "c"])

    assert answer[0] == {"label": "b", "probability": pytest.approx(0.6)} and len(answer) == 3
    assert payloads.choose_accept("text/html, application/json;verbose=TRUE") == payloads.VERBOSE_JSON


def test_graphs_ending_in_softmax_are_told_apart_from_raw_logits():
    logits = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3, name="fc")

    assert payloads.ends_in_softmax(json.loads(mx.sym.SoftmaxOutput(logits, name="softmax").tojson()))
    assert payloads.ends_in_softmax(json.loads(mx.sym.softmax(logits).tojson()))
    assert not payloads.ends_in_softmax(json.loads(logits.tojson()))


def write_model(folder: Path, with_softmax: bool, epochs=(0,)) -> Path:
    """A tiny real MXNet model folder in the container's layout."""
    sym = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3, name="fc")
    if with_softmax:
        sym = mx.sym.SoftmaxOutput(sym, name="softmax")
    args = {"fc_weight": mx.nd.array(np.arange(12).reshape(3, 4) / 10), "fc_bias": mx.nd.array([0.1, 0.2, 0.3])}
    folder.mkdir(parents=True, exist_ok=True)
    for epoch in epochs:
        mx.model.save_checkpoint(str(folder / "tiny"), epoch, sym, args, {})
    (folder / "tiny-shapes.json").write_text(json.dumps([{"name": "data", "shape": [1, 4]}]))
    (folder / "synset.txt").write_text("a\nb\nc\n")
    return folder


def test_the_highest_epoch_params_are_the_ones_served(tmp_path):
    files = model_handler.find_model_files(write_model(tmp_path, False, epochs=(1, 12, 3)))

    assert files.params.name == "tiny-0012.params" and files.prefix == "tiny" and files.synset is not None


def test_a_folder_without_exactly_one_symbol_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match="exactly one <prefix>-symbol.json"):
        model_handler.find_model_files(tmp_path)


def test_a_missing_shapes_file_is_named(tmp_path):
    (write_model(tmp_path, False) / "tiny-shapes.json").unlink()

    with pytest.raises(ValueError, match="missing tiny-shapes.json"):
        model_handler.find_model_files(tmp_path)


def test_probabilities_are_not_softmaxed_twice(tmp_path):
    x = np.array([[1.0, 2.0, 3.0, 4.0]], dtype="float32")
    with_softmax = model_handler.Predictor(write_model(tmp_path / "s", True)).predict(x)
    raw = model_handler.Predictor(write_model(tmp_path / "r", False)).predict(x)

    np.testing.assert_allclose(with_softmax, raw, rtol=1e-5)
    np.testing.assert_allclose(raw.sum(), 1, rtol=1e-5)


def test_a_model_over_the_memory_budget_raises_memory_error(tmp_path, monkeypatch):
    monkeypatch.setenv(model_handler.MEMORY_BUDGET_ENV, "0.00001")

    with pytest.raises(MemoryError, match="over MME_HANDLER_MEMORY_BUDGET_MB"):
        model_handler.Predictor(write_model(tmp_path, False))


def test_a_broken_params_file_fails_the_load_with_a_clear_message(tmp_path):
    (write_model(tmp_path, False) / "tiny-0000.params").write_bytes(b"garbage")

    with pytest.raises(ValueError, match="cannot load the MXNet model in"):
        model_handler.Predictor(tmp_path)


def mms_context(model_dir: Path, requests: list[dict]) -> Context:
    """MMS's own Context, with per-request headers as its worker builds them."""
    context = Context("tiny", str(model_dir), None, len(requests), None, "1.1.11")
    context.request_processor = [RequestProcessor(headers) for headers in requests]
    return context


def test_handle_answers_each_request_of_a_batch_and_fails_only_the_bad_one(tmp_path):
    # GIVEN the model loaded as MMS loads it, then a batch of three requests
    context = mms_context(write_model(tmp_path, False), [])
    assert model_handler.handle(None, context) is None
    requests = [
        ({"Content-Type": "application/json"}, json.dumps({"instances": [[1, 2, 3, 4], [0, 0, 0, 0]]}).encode()),
        ({"content-type": "application/json"}, b'{"instances": [[1,'),
        ({"Content-Type": "application/x-npy", "Accept": "application/x-npy"}, npy(np.ones((1, 4), "float32"))),
    ]
    context = mms_context(tmp_path, [headers for headers, _ in requests])
    # WHEN the handler answers them in one call
    answers = model_handler.handle([{"body": body} for _, body in requests], context)
    # THEN each has its own answer, status and content type
    assert np.array(json.loads(answers[0])["predictions"]).shape == (2, 3)
    assert context.get_response_status(0)[0] == 200
    assert context.get_response_status(1) == (400, "Bad Request")
    assert json.loads(answers[1])["error"]["code"] == "invalid_json"
    assert np.load(io.BytesIO(answers[2])).shape == (1, 3)
    assert [context.get_response_content_type(i) for i in range(3)] == ["application/json"] * 2 + [payloads.NPY]


def test_hostile_bodies_in_a_batch_get_their_own_4xx_and_the_good_request_its_answer(tmp_path):
    # GIVEN the model loaded as MMS loads it, and a batch with two hostile bodies around a good one
    context = mms_context(write_model(tmp_path, False), [])
    model_handler.handle(None, context)
    requests = [
        ({"Content-Type": "application/json"}, deep_json(100_000)),
        ({"Content-Type": "application/json"}, json.dumps({"instances": [[1, 2, 3, 4]]}).encode()),
        ({"Content-Type": "application/x-npy"}, npy_declaring((2**40, 4))),
    ]
    context = mms_context(tmp_path, [headers for headers, _ in requests])
    # WHEN the handler answers them in one call
    answers = model_handler.handle([{"body": body} for _, body in requests], context)
    # THEN only the hostile ones fail, each with a 400 that says why
    assert [context.get_response_status(i)[0] for i in range(3)] == [400, 200, 400]
    assert json.loads(answers[0])["error"]["code"] == "invalid_json"
    assert np.array(json.loads(answers[1])["predictions"]).shape == (1, 3)
    assert json.loads(answers[2])["error"]["code"] == "invalid_npy"


def test_the_handler_asks_mms_for_raw_json_bodies_so_it_can_bound_their_depth():
    from mms.protocol.otf_message_handler import _retrieve_input_data

    frame = io.BytesIO()
    for part in (b"body", b"application/json", deep_json(100_000)):
        frame.write(struct.pack("!i", len(part)) + part)
    connection = FakeSocket(frame.getvalue())

    assert _retrieve_input_data(connection)["value"] == deep_json(100_000)


class FakeSocket:
    """The one socket method MMS's frame reader calls (recv), over bytes in memory."""

    def __init__(self, data: bytes):
        self.stream = io.BytesIO(data)

    def recv(self, size: int) -> bytes:
        return self.stream.read(size)


def test_content_types_reach_mms_without_a_response_header_map(tmp_path):
    context = mms_context(write_model(tmp_path, False), [{"Content-Type": "application/json"}])
    model_handler.handle(None, context)
    model_handler.handle([{"body": json.dumps({"instances": [[1, 2, 3, 4]]}).encode()}], context)

    assert context.get_response_content_type(0) == "application/json"
    assert bytes(encode_response_headers(context.get_response_headers(0))) == struct.pack("!i", 0)
