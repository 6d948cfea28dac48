"""TF Serving's REST predict rules (local_stack/runtime/tensorflow/payloads.py): version choice, request parsing
in row and columnar form, the answers' shapes, and a 400-class PayloadError for each client mistake."""
from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from local_stack.runtime.tensorflow.payloads import PayloadError, TensorSpec, answer, parse_request, served_version

IMAGE = {"serving_default": {"image": TensorSpec("image", np.dtype("float32"), (None, 2, 2))}}
TWO_INPUTS = {"serving_default": {"pixels": TensorSpec("pixels", np.dtype("float32"), (None, 3)),
                                  "count": TensorSpec("count", np.dtype("int64"), (None,))}}
PICTURE = [[0.1, 0.2], [0.3, 0.4]]


def parse(document, signatures=IMAGE):
    return parse_request(json.dumps(document).encode(), signatures)


def test_the_highest_numeric_version_folder_with_a_saved_model_is_served(tmp_path):
    for name in ("1", "2", "10", "99x"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "saved_model.pb").write_bytes(b"")
    (tmp_path / "11").mkdir()  # no saved_model.pb: not a version

    assert served_version(tmp_path).name == "10"


def test_a_model_folder_without_a_version_is_refused_by_name(tmp_path):
    (tmp_path / "model1" / "1").mkdir(parents=True)
    (tmp_path / "model1" / "1" / "saved_model.pb").write_bytes(b"")

    with pytest.raises(FileNotFoundError, match="saved_model.pb"):
        served_version(tmp_path)


def test_row_format_stacks_the_instances_of_a_single_input():
    request = parse({"instances": [PICTURE, PICTURE]})

    assert request.row_format and request.signature == "serving_default"
    assert request.inputs["image"].shape == (2, 2, 2) and request.inputs["image"].dtype == np.float32


def test_row_format_takes_objects_keyed_by_input_name_for_several_inputs():
    request = parse({"instances": [{"pixels": [1, 2, 3], "count": 4}, {"pixels": [5, 6, 7], "count": 8}]}, TWO_INPUTS)

    assert request.inputs["pixels"].tolist() == [[1, 2, 3], [5, 6, 7]] and request.inputs["count"].tolist() == [4, 8]
    assert request.inputs["count"].dtype == np.int64


def test_columnar_format_takes_a_bare_value_or_an_object_keyed_by_input_name():
    assert parse({"inputs": [PICTURE]}).inputs["image"].shape == (1, 2, 2)
    assert parse({"inputs": {"image": [PICTURE]}}).inputs["image"].shape == (1, 2, 2)
    assert not parse({"inputs": [PICTURE]}).row_format


def test_a_named_signature_is_used_when_asked_for():
    signatures = {**IMAGE, "other": TWO_INPUTS["serving_default"]}

    assert parse({"signature_name": "other", "inputs": {"pixels": [[1, 2, 3]], "count": [1]}}, signatures).signature \
        == "other"


# numpy 1.23 (this venv) warns of ragged nesting where numpy 2 (the TF venv) raises; both are refused.
@pytest.mark.filterwarnings("ignore:Creating an ndarray from ragged")
@pytest.mark.parametrize("document, message", [
    ({"instances": [PICTURE], "signature_name": "nope"}, 'Serving signature name: "nope" not found'),
    ({"examples": [PICTURE]}, "Missing 'inputs' or 'instances' keys"),
    ({"instances": [PICTURE], "inputs": [PICTURE]}, "Not both"),
    ({"instances": PICTURE[0][0]}, "Expecting 'instances' to be an list/array"),
    ({"instances": []}, "empty"),
    ({"instances": [[0.1, 0.2]]}, r"expects shape \(-1, 2, 2\)"),
    ({"instances": [[["a", "b"], ["c", "d"]]]}, "expects float32 values, got strings"),
    ({"instances": [[[0.1], [0.3, 0.4]]]}, "not a rectangular array"),
    ([PICTURE], "must be a JSON object"),
])
def test_each_client_mistake_is_a_payload_error_that_says_what_is_wrong(document, message):
    with pytest.raises(PayloadError, match=message):
        parse(document)


def test_malformed_json_is_a_payload_error():
    with pytest.raises(PayloadError, match="JSON Parse error"):
        parse_request(b'{"instances": [', IMAGE)


def test_integers_are_refused_as_floats_for_an_integer_input_and_booleans_for_numbers():
    with pytest.raises(PayloadError, match="expects int64 values, got numbers"):
        parse({"inputs": {"pixels": [[1, 2, 3]], "count": [1.5]}}, TWO_INPUTS)
    with pytest.raises(PayloadError, match="got booleans"):
        parse({"instances": [[[True, False], [True, True]]]})


def test_several_inputs_need_every_name_in_every_instance():
    with pytest.raises(PayloadError, match="signature's inputs are"):
        parse({"instances": [{"pixels": [1, 2, 3]}]}, TWO_INPUTS)


def test_row_answers_are_predictions_per_instance_and_columnar_answers_are_outputs():
    probabilities = np.array([[0.25, 0.75], [0.5, 0.5]], dtype=np.float32)

    assert json.loads(answer({"output_0": probabilities}, row_format=True)) == {"predictions": probabilities.tolist()}
    assert json.loads(answer({"output_0": probabilities}, row_format=False)) == {"outputs": probabilities.tolist()}


def test_several_outputs_are_objects_per_instance_or_one_object_of_columns():
    outputs = {"label": np.array([1, 0]), "score": np.array([0.9, 0.8])}

    assert json.loads(answer(outputs, row_format=True))["predictions"] == [{"label": 1, "score": 0.9},
                                                                           {"label": 0, "score": 0.8}]
    assert json.loads(answer(outputs, row_format=False))["outputs"] == {"label": [1, 0], "score": [0.9, 0.8]}


STRING_SPECS = {"serving_default": {"data": TensorSpec("data", np.dtype(object), (None,))}}


def test_string_inputs_are_bytes_with_b64_values_decoded_and_trailing_nul_bytes_kept():
    binary = b"\x89PNG\x00\x00"
    body = json.dumps({"instances": [{"b64": base64.b64encode(binary).decode()}, "héllo"]}).encode()

    request = parse_request(body, STRING_SPECS)

    assert request.inputs["data"].dtype == object
    assert request.inputs["data"].tolist() == [binary, "héllo".encode()]


@pytest.mark.parametrize("value, message", [
    ({"b64": "***"}, "must hold base64 text"),
    (3, "expects strings"),
    ([["a"], "b"], "not a rectangular array"),
])
def test_a_string_input_that_is_not_text_or_b64_is_a_payload_error(value, message):
    with pytest.raises(PayloadError, match=message):
        parse_request(json.dumps({"instances": [value]}).encode(), STRING_SPECS)


def test_bytes_outputs_are_b64_and_other_string_outputs_text():
    outputs = {"label": np.array([b"cat", "d\xc3\xa9j\xc3\xa0".encode("latin-1")], dtype=object),
               "thumbnail_bytes": np.array([b"\x00\xff", b""], dtype=object)}

    document = json.loads(answer(outputs, row_format=False))

    assert document == {"outputs": {"label": ["cat", "déjà"], "thumbnail_bytes": [{"b64": "AP8="}, {"b64": ""}]}}
