"""A TensorFlow SavedModel dropped into the registry: recorded as a tensorflow version with its
signature, warmed up on the TensorFlow endpoint with a sample built from that signature, and
no alias moves to it unless that invoke answers."""
import json

import pytest
from aws_fakes import ScriptedRuntime, client_error

from chalicelib.events import S3Upload
from chalicelib.versions.artifacts import Artifacts
from chalicelib.versions.claims import ClaimStore
from chalicelib.versions.ingest import Ingestor
from local_stack.demo.sample_models import pack
from tf_env import tf_samples


class RecordingRuntime(ScriptedRuntime):
    """ScriptedRuntime that also keeps each request's body, to read what the warm-up sent."""

    def invoke_endpoint(self, **request):
        answer = super().invoke_endpoint(**request)
        self.calls[-1]["Body"] = json.loads(request["Body"])
        return answer


@pytest.fixture(scope="module")
def cifar_tarball(tmp_path_factory):
    return pack(tf_samples() / "keras_cnn", tmp_path_factory.mktemp("tf") / "cifar.tar.gz").read_bytes()


def ingest(app, body: bytes, runtime, settings_update: dict | None = None):
    settings = app.settings.model_copy(update={"warmup": True, **(settings_update or {})})
    session = app.get_session()
    s3 = session.client("s3")
    s3.put_object(Bucket=settings.bucket, Key="incoming/cifar.tar.gz", Body=body, Metadata={"alias": "cifar"})
    head = s3.head_object(Bucket=settings.bucket, Key="incoming/cifar.tar.gz")
    ingestor = Ingestor(store=app.get_store(), artifacts=Artifacts(s3, settings.bucket), settings=settings,
                        claims=ClaimStore(session.client("dynamodb"), settings.events_table, 900),
                        aliases=app.get_aliases(), runtime=runtime)
    return ingestor.ingest(S3Upload(bucket=settings.bucket, key="incoming/cifar.tar.gz",
                                    etag=head["ETag"].strip('"'), size=head["ContentLength"],
                                    version_id=head.get("VersionId"), principal="AWS:AIDAUPLOADER"))


def test_a_savedmodel_becomes_a_tensorflow_version_warmed_on_the_tensorflow_endpoint(app_module, cifar_tarball):
    runtime = RecordingRuntime()

    upload = ingest(app_module, cifar_tarball, runtime)

    version = app_module.get_store().get_version("cifar", 1)
    assert (upload.outcome, upload.aliases) == ("accepted", {"cifar": "created at v1"})
    assert upload.warmup.startswith("ok in ")
    assert version.framework == "tensorflow"
    assert version.input_shapes == [{"name": "image", "dtype": "float32", "shape": [-1, 32, 32, 3]}]
    assert version.outputs == [{"name": "output_0", "dtype": "float32", "shape": [-1, 10]}]
    (call,) = runtime.calls
    assert (call["EndpointName"], call["TargetModel"]) == ("mme-registry-local-tf", "cifar_v1.tar.gz")
    assert call["Body"] == {"instances": [[[[0.0] * 3] * 32] * 32]}


def test_a_tensorflow_version_that_cannot_answer_moves_no_alias(app_module, cifar_tarball):
    runtime = RecordingRuntime(client_error("ModelError", "the model failed to load", status=424))

    upload = ingest(app_module, cifar_tarball, runtime)

    assert upload.outcome == "accepted" and upload.warmup.startswith("failed: ModelError")
    assert upload.aliases == {"cifar": "not moved: the warm-up failed"}
    assert app_module.get_alias_store().get("cifar") is None


def test_without_a_tensorflow_endpoint_the_warm_up_fails_and_says_which_setting(app_module, cifar_tarball):
    runtime = RecordingRuntime()

    upload = ingest(app_module, cifar_tarball, runtime, {"tensorflow_endpoint": ""})

    assert runtime.calls == []
    assert "no endpoint serves tensorflow here: set REGISTRY_TENSORFLOW_ENDPOINT" in upload.warmup
    assert app_module.get_alias_store().get("cifar") is None


def test_a_failed_tensorflow_warm_up_run_again_warms_on_the_tensorflow_endpoint_and_moves_the_alias(
        app_module, cifar_tarball):
    from chalicelib.aliases.rewarm import Rewarmer

    ingest(app_module, cifar_tarball, RecordingRuntime(client_error("ModelError", "not yet", status=500)))
    runtime = RecordingRuntime()
    settings = app_module.settings.model_copy(update={"warmup": True})

    done = Rewarmer(app_module.get_store(), app_module.get_aliases(), runtime, settings).run("cifar", 1, "operator")

    assert done.ok and done.aliases == {"cifar": "created at v1"}
    (call,) = runtime.calls
    assert call["EndpointName"] == "mme-registry-local-tf"
    assert call["Body"] == {"instances": [[[[0.0] * 3] * 32] * 32]}
