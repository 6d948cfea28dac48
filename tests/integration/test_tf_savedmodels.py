"""SavedModels exported by TensorFlow 2.19 / Keras 3 (in the TF venv): the registry's reader
agrees with TensorFlow's own reading of every signature, and the validator accepts what TF
Serving can feed and names the rule of what it cannot."""
import shutil
from pathlib import Path

import pytest

from chalicelib.validation import validate_file
from chalicelib.validation.saved_model import read_saved_model
from local_stack.sample_models import pack
from tf_env import expected_signatures, tf_samples

ACCEPTED = {  # case -> the recorded inputs
    "keras_cnn": [{"name": "image", "dtype": "float32", "shape": [-1, 32, 32, 3]}],
    "keras_two_inputs": [{"name": "extra", "dtype": "float32", "shape": [-1, 3]},
                         {"name": "pixels", "dtype": "float32", "shape": [-1, 8, 8, 1]}],
    "explicit": [{"name": "x", "dtype": "float32", "shape": [-1, 4]}],
    "mixed": [{"name": "count", "dtype": "int64", "shape": [-1, 1]},
              {"name": "image", "dtype": "float32", "shape": [-1, 8, 8, 1]},
              {"name": "tag", "dtype": "string", "shape": [-1]}],
    "uneven_batches": [{"name": "a", "dtype": "float32", "shape": [2, 1]},
                       {"name": "b", "dtype": "int64", "shape": [3]}],
    "versions": [{"name": "x", "dtype": "float32", "shape": [-1, 4]}],  # 10/, not 9/
}
REJECTED = {
    "no_serving_default": ("tensorflow.no_serving_default", "(it has: 'other', 'predict_it')"),
    "complex_input": ("tensorflow.input_dtype", "input 'z' has dtype complex64"),
    "scalar_input": ("tensorflow.input_rank", "input 's' has no dimensions"),
}


@pytest.fixture(scope="module")
def samples() -> Path:
    return tf_samples()


def saved_models(samples: Path) -> list[tuple[str, str]]:
    return [(case, version) for case, versions in expected_signatures(samples).items() for version in versions]


def test_the_reader_agrees_with_tensorflow_on_every_exported_signature(samples):
    for case, version in saved_models(samples):
        expected = expected_signatures(samples)[case][version]
        (graph,) = read_saved_model((samples / case / version / "saved_model.pb").read_bytes())

        read = {name: {"inputs": {k: {"dtype": t.dtype, "shape": list(t.shape)} for k, t in sig.inputs.items()},
                       "outputs": {k: {"dtype": t.dtype, "shape": list(t.shape)} for k, t in sig.outputs.items()}}
                for name, sig in graph.signatures.items() if not name.startswith("__")}
        assert graph.tags == ("serve",), case
        assert read == expected, f"{case}/{version}"


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_exports_tf_serving_can_feed_are_accepted_with_their_inputs(samples, tmp_path, case):
    report = validate_file(pack(samples / case, tmp_path / f"{case}.tar.gz"))

    assert report.valid, report.failures
    assert report.layout == "tensorflow"
    assert report.input_shapes == ACCEPTED[case]
    assert report.outputs and all(output["dtype"] for output in report.outputs)


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_exports_tf_serving_cannot_feed_are_rejected_by_rule(samples, tmp_path, case):
    rule, words = REJECTED[case]

    report = validate_file(pack(samples / case, tmp_path / f"{case}.tar.gz"))

    assert [(f.rule, words in f.message) for f in report.failures] == [(rule, True)], report.failures


@pytest.mark.parametrize("cut", ["truncated", "bit-flipped"])
def test_a_corrupted_keras_saved_model_is_rejected_as_unreadable(samples, tmp_path, cut):
    model = tmp_path / "model"
    for path in (samples / "keras_cnn").rglob("*"):
        if path.is_file():
            (model / path.relative_to(samples / "keras_cnn")).parent.mkdir(parents=True, exist_ok=True)
            (model / path.relative_to(samples / "keras_cnn")).write_bytes(path.read_bytes())
    pb = model / "1" / "saved_model.pb"
    data = pb.read_bytes()
    pb.write_bytes(data[: len(data) // 2] if cut == "truncated" else b"\xff" * 16 + data[16:])

    report = validate_file(pack(model, tmp_path / "corrupt.tar.gz"))

    assert [f.rule for f in report.failures] == ["tensorflow.saved_model_unreadable"]
    assert "1/saved_model.pb is not a SavedModel" in report.failures[0].message


def test_a_savedmodel_packed_without_its_variables_is_rejected_as_tensorflow_fails_to_load_it(samples, tmp_path):
    # TensorFlow 2.19 itself: "Unsuccessful TensorSliceReader constructor: Failed to find any matching files
    # for .../variables/variables" for every export without variables/, even one with no variables at all.
    model = tmp_path / "model"
    shutil.copytree(samples / "explicit", model)
    shutil.rmtree(model / "1" / "variables")

    report = validate_file(pack(model, tmp_path / "no_variables.tar.gz"))

    assert [f.rule for f in report.failures] == ["tensorflow.variables_missing"]
