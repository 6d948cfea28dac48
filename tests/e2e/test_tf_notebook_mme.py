"""Flow (b): two TensorFlow CNNs of different input shapes on the user's OWN multi-model endpoint
with AWS's TensorFlow Serving image, through the whole local stack. examples/tf_mme_notebook.py
runs unchanged as a user's process with only the standard AWS endpoint settings; its answers are
held to TensorFlow's own, and bad payloads to TF Serving's error shape."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import numpy as np
import pytest

from e2e.stack_fixtures import MODEL_BUDGET, local_stack, stack_environment  # noqa: F401 - the session's stack
from local_stack.runtime.mms.backend import MmeApi
from local_stack.demo.tf_sample_models import TfModel

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("stack")]

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "tf_mme_notebook.py"
USER_SETTINGS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
BATCH = 8
PREFIX = "tf-multimodel-endpoint"


@pytest.fixture(scope="module")
def notebook_run(local_stack, tmp_path_factory):  # noqa: F811 - the fixture imported above
    """The script as a user runs it; the models it trained stay in its data folder."""
    workdir = tmp_path_factory.mktemp("tf-notebook")
    env = {name: local_stack.env[name] for name in USER_SETTINGS}
    env.update({"PATH": os.environ["PATH"], "HOME": str(workdir)})
    if os.environ.get("MME_REGISTRY_CACHE"):  # where the TF venv is
        env["MME_REGISTRY_CACHE"] = os.environ["MME_REGISTRY_CACHE"]
    record = workdir / "invocations.jsonl"
    completed = subprocess.run([sys.executable, str(SCRIPT), "--batch", str(BATCH), "--record", str(record),
                                "--data", str(workdir / "data")], cwd=workdir, env=env, capture_output=True,
                               text=True, timeout=600)
    assert completed.returncode == 0, f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    manifest = json.loads((workdir / "data" / "manifest.json").read_text())
    models = {name: TfModel(name, workdir / "data" / e["tarball"], workdir / "data" / e["inputs"],
                            workdir / "data" / e["probabilities"], e["input_name"], tuple(e["shape"]))
              for name, e in manifest.items()}
    invocations = [json.loads(line) for line in record.read_text().splitlines()]
    return completed.stdout, invocations, models


@pytest.fixture
def runtime(local_stack):  # noqa: F811
    with stack_environment(local_stack):
        yield boto3.client("sagemaker-runtime"), boto3.client("s3")


def invoke(runtime_client, endpoint: str, target: str, body: str | bytes):
    response = runtime_client.invoke_endpoint(EndpointName=endpoint, TargetModel=target, Body=body,
                                              ContentType="application/json")
    return json.loads(response["Body"].read())


def test_both_models_answer_as_tensorflow_does_on_held_out_pictures(notebook_run):
    stdout, invocations, models = notebook_run

    assert "Endpoint Status: InService" in stdout
    assert {i["target_model"] for i in invocations} == {"cifar.tar.gz", "sign-language.tar.gz"}
    for invocation in invocations:
        expected = np.load(models[invocation["model"]].probabilities)[:BATCH]
        served = np.array(invocation["predictions"])
        assert served.shape == expected.shape == (BATCH, 10)
        assert (served.argmax(axis=1) == expected.argmax(axis=1)).all()
        assert np.abs(served - expected).max() <= 1e-4


def test_the_models_are_served_by_the_tf_backend_not_mms(notebook_run, local_stack):  # noqa: F811
    tf_models = MmeApi(local_stack.info["tf_url"]).all_models()

    assert 1 <= len(tf_models) <= MODEL_BUDGET
    assert not set(tf_models) & set(MmeApi(local_stack.info["mms_url"]).all_models())


def test_columnar_inputs_answer_outputs(notebook_run, runtime):
    _, invocations, models = notebook_run
    pictures = np.load(models["cifar"].inputs)[:2]

    answer = invoke(runtime[0], invocations[0]["endpoint"], "cifar.tar.gz",
                    json.dumps({"inputs": {"image": pictures.tolist()}, "signature_name": "serving_default"}))

    assert np.abs(np.array(answer["outputs"]) - np.load(models["cifar"].probabilities)[:2]).max() <= 1e-4


@pytest.mark.parametrize("body, message", [
    (json.dumps({"instances": [[[0.5, 0.5, 0.5]] * 32]}), "expects shape (-1, 32, 32, 3)"),
    (json.dumps({"instances": [[[["red", "green", "blue"]] * 32] * 32]}), "expects float32 values, got strings"),
    (json.dumps({"pictures": [[[[0.5] * 3] * 32] * 32]}), "Missing 'inputs' or 'instances' keys"),
    ('{"instances": [[[0.5, ', "JSON Parse error"),
    (json.dumps({"instances": [[[[0.5] * 3] * 32] * 32], "signature_name": "classify"}),
     'Serving signature name: "classify" not found'),
])
def test_a_bad_payload_is_a_400_model_error_in_tf_servings_error_shape(notebook_run, runtime, body, message):
    _, invocations, _ = notebook_run

    with pytest.raises(runtime[0].exceptions.ModelError) as raised:
        invoke(runtime[0], invocations[0]["endpoint"], "cifar.tar.gz", body)

    assert raised.value.response["OriginalStatusCode"] == 400
    assert message in json.loads(raised.value.response["OriginalMessage"])["error"]


def test_more_tf_models_than_the_budget_are_served_by_evicting_the_least_recently_used(
        notebook_run, runtime, local_stack):  # noqa: F811
    # GIVEN four TF models under the user's prefix, twice the stack's budget
    _, invocations, models = notebook_run
    runtime_client, s3 = runtime
    bucket = f"sagemaker-us-east-1-{boto3.client('sts').get_caller_identity()['Account']}"  # the notebook's
    targets = {"cifar.tar.gz": "cifar", "sign-language.tar.gz": "sign-language"}
    for copy in range(2):
        s3.upload_file(str(models["cifar"].tarball), bucket, f"{PREFIX}/copies/cifar_{copy}.tar.gz")
        targets[f"copies/cifar_{copy}.tar.gz"] = "cifar"

    # WHEN each is invoked, twice round
    for _ in range(2):
        for target, name in targets.items():
            pictures = np.load(models[name].inputs)[:2]
            answer = invoke(runtime_client, invocations[0]["endpoint"], target,
                            json.dumps({"instances": pictures.tolist()}))
            # THEN every answer is TensorFlow's, and the backend never holds more than the budget
            expected = np.load(models[name].probabilities)[:2]
            assert np.abs(np.array(answer["predictions"]) - expected).max() <= 1e-4
            assert len(MmeApi(local_stack.info["tf_url"]).all_models()) <= MODEL_BUDGET



def test_a_killed_tf_backend_is_restarted_and_serves_again(notebook_run, runtime, local_stack):  # noqa: F811
    # GIVEN the TF backend serving the user's endpoint
    import psutil
    from botocore.exceptions import ClientError

    _, invocations, models = notebook_run
    port = local_stack.info["tf_url"].rsplit(":", 1)[1]
    backend = next(p for p in psutil.process_iter(["cmdline"])
                   if "local_stack.runtime.tensorflow.serving" in (p.info["cmdline"] or [])
                   and port in p.info["cmdline"])
    body = json.dumps({"instances": np.load(models["cifar"].inputs)[:2].tolist()})
    # WHEN it is killed
    backend.kill()
    backend.wait(10)
    # THEN invokes fail as retryable at worst, and within the bound answer as TensorFlow does again
    deadline, answer, errors = time.monotonic() + 90, None, set()
    while answer is None and time.monotonic() < deadline:
        try:
            answer = invoke(runtime[0], invocations[0]["endpoint"], "cifar.tar.gz", body)
        except ClientError as error:
            errors.add(error.response["Error"]["Code"])
            time.sleep(0.5)
    assert answer is not None, f"no answer within 90 s; errors: {errors}"
    assert errors <= {"ModelNotReadyException"}  # SageMaker's retryable "still loading"
    assert np.abs(np.array(answer["predictions"]) - np.load(models["cifar"].probabilities)[:2]).max() <= 1e-4


def test_a_savedmodel_dropped_into_incoming_is_served_by_alias_with_tensorflows_predictions(
        notebook_run, local_stack):  # noqa: F811
    from client import AliasClient
    from client.uploads import upload_model

    _, _, models = notebook_run
    sign = models["sign-language"]
    with stack_environment(local_stack):
        # GIVEN the trained SavedModel dropped into incoming/, asking for an alias
        outcome = upload_model(sign.tarball, "e2e_tf_signs", ["e2e-tf-signs"])
        assert outcome.outcome == "accepted", outcome.record
        # THEN it is a TensorFlow version whose signature was read, warmed on the TF endpoint before the alias moved
        version = AliasClient().registry.get_version("e2e_tf_signs", outcome.record["version"])
        assert version["framework"] == "tensorflow"
        assert [(i["name"], i["shape"]) for i in version["input_shapes"]] == [(sign.input_name, [-1, *sign.shape])]
        assert outcome.record["warmup"].startswith("ok"), outcome.record
        assert outcome.record["aliases"] == {"e2e-tf-signs": "created at v1"}, outcome.record
        # WHEN a caller invokes by alias, knowing no endpoint and no TargetModel
        pictures = np.load(sign.inputs)
        answer = AliasClient().invoke("e2e-tf-signs", json.dumps({"instances": pictures.tolist()}),
                                      content_type="application/json")
    # THEN the TF endpoint answered with TensorFlow's own probabilities
    assert answer.endpoint == "mme-registry-local-tf" and answer.target_model == "e2e_tf_signs_v1.tar.gz"
    served, expected = np.array(answer.json()["predictions"]), np.load(sign.probabilities)
    assert (served.argmax(axis=1) == expected.argmax(axis=1)).all()
    assert np.abs(served - expected).max() <= 1e-4
