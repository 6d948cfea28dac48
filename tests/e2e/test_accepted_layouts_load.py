"""What validates, serves: every layout the validator accepts loads in its framework's backend
and answers the very request the warm-up builds from the recorded inputs.

MXNet layouts load in the real container (MMS, the Dockerfile's entrypoint); TensorFlow ones in
TensorFlow itself, in the TF venv (tf.saved_model.load + serving_default, fed TF Serving's row
format), until the local TF Serving backend stands in for it.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chalicelib.validation import validate_file
from chalicelib.versions.sample_inputs import payload_for
from local_stack.sample_models import cached_tarball, export_two_input, pack, unpack
from tf_env import run_tf, tf_samples

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


def test_every_accepted_tensorflow_layout_loads_in_tensorflow_and_answers_its_warm_up(accepted, tmp_path):
    cases = {name: {"folder": str(folder), "request": json.loads(payload_for("tensorflow", report.input_shapes)[0])}
             for name, (report, folder) in accepted.items() if report.layout == "tensorflow"}
    (tmp_path / "cases.json").write_text(json.dumps(list(cases.values())))

    results = dict(zip(cases, json.loads(run_tf("serve_check.py", str(tmp_path / "cases.json")))))

    failed = {name: result["error"] for name, result in results.items() if not result["ok"]}
    assert not failed
    for name, result in results.items():
        report = accepted[name][0]
        assert sorted(result["outputs"]) == sorted(output["name"] for output in report.outputs), name
        if name != "tf_uneven_batches":  # its output is a scalar sum
            assert all(shape[:1] == [1] for shape in result["outputs"].values()), (name, result)
    assert results["tf_versions"]["version"] == "10"
