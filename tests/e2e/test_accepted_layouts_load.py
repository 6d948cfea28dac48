"""What validates, serves: every layout the validator accepts loads in its framework's backend
and answers the very request the warm-up builds from the recorded inputs.

MXNet layouts load in the real container (MMS, the Dockerfile's entrypoint); TensorFlow ones in
the local TF Serving backend (local_stack/runtime/tensorflow/serving.py, under the TF venv), through the same
container API the gateway uses.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

from chalicelib.validation import validate_file
from chalicelib.versions.sample_inputs import payload_for
from local_stack.demo.sample_models import cached_tarball, export_two_input, pack, unpack
from local_stack.runtime.tensorflow.backend import TfServingServer
from tf_env import tf_python, tf_samples

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mms")]

TF_CASES = ("keras_cnn", "keras_two_inputs", "explicit", "mixed", "uneven_batches", "versions")


def _mxnet_layouts(root: Path) -> dict[str, Path]:
    """Model folders: single input with and without synset.txt, two inputs with and without it."""
    digits = unpack(cached_tarball("digits"), root / "digits_synset")
    bare = root / "digits_bare"
    shutil.copytree(digits, bare)
    (bare / "synset.txt").unlink()
    two = export_two_input(root / "two_inputs")
    labelled = root / "two_inputs_synset"
    shutil.copytree(two, labelled)
    (labelled / "synset.txt").write_text("".join(f"class_{i}\n" for i in range(5)))
    return {"digits_synset": digits, "digits_bare": bare, "two_inputs": two, "two_inputs_synset": labelled}


@pytest.fixture(scope="module")
def accepted(tmp_path_factory) -> dict[str, tuple[object, Path]]:
    """name -> (the validator's report, the folder its tarball extracts to), every one of them valid."""
    root = tmp_path_factory.mktemp("layouts")
    folders = _mxnet_layouts(root / "src")
    samples = tf_samples()
    folders.update({f"tf_{case}": samples / case for case in TF_CASES})
    found = {}
    for name, folder in folders.items():
        tarball = pack(folder, root / f"{name}.tar.gz")
        report = validate_file(tarball)
        assert report.valid, (name, report.failures)
        found[name] = (report, unpack(tarball, root / "extracted" / name))
    return found


def test_the_walk_covers_every_accepted_kind_of_layout(accepted):
    kinds = {(report.layout, len(report.input_shapes) > 1, report.labels_count is not None,
              sum(1 for m in report.members if m.name.endswith("saved_model.pb")) > 1)
             for report, _ in accepted.values()}

    assert kinds == {("mxnet", False, True, False), ("mxnet", False, False, False), ("mxnet", True, False, False),
                     ("mxnet", True, True, False), ("tensorflow", False, False, False),
                     ("tensorflow", True, False, False), ("tensorflow", False, False, True)}


def test_every_accepted_mxnet_layout_loads_in_mms_and_answers_its_warm_up(accepted, mms_server):
    for name, (report, folder) in accepted.items():
        if report.layout != "mxnet":
            continue
        body, content_type = payload_for("mxnet", report.input_shapes)
        loaded = mms_server.load(name, folder)
        try:
            assert loaded.status_code == 200, f"{name}: {loaded.text}\n{mms_server.log_tail()}"
            answer = mms_server.invoke(name, body, content_type, accept="application/json")
            assert answer.status == 200, f"{name}: {answer.body[:500]!r}"
        finally:
            mms_server.unload(name)


def test_every_accepted_tensorflow_layout_loads_in_tf_serving_and_answers_its_warm_up(accepted, tmp_path):
    tf_python()  # skips, saying how to build it, when there is no TF venv
    with TfServingServer(tmp_path / "tf-serving") as server:
        for name, (report, folder) in accepted.items():
            if report.layout != "tensorflow":
                continue
            body, content_type = payload_for("tensorflow", report.input_shapes)
            loaded = server.load(name, folder)
            try:
                assert loaded.status_code == 200, f"{name}: {loaded.text}\n{server.log_tail()}"
                answer = server.invoke(name, body, content_type)
                assert answer.status == 200, f"{name}: {answer.body[:500]!r}"
                document = answer.json()
                names = sorted(output["name"] for output in report.outputs)
                if "predictions" in document:  # row format: one row per instance, and the warm-up sends one
                    rows = document["predictions"]
                    assert len(rows) == 1, (name, document)
                    assert len(names) == 1 or sorted(rows[0]) == names, (name, document)
                else:  # columnar: one value, or one per output name
                    assert len(names) == 1 or sorted(document["outputs"]) == names, (name, document)
                if name == "tf_versions":
                    described = requests.get(f"{server.url}/models/{name}", timeout=10).json()
                    assert described[0]["modelVersion"] == "10", described
            finally:
                server.unload(name)
