"""The local MME runtime gateway end to end: a real MMS running the container, the AWS side
in a moto server, the endpoint created by the publisher, and plain boto3 calls."""
from __future__ import annotations

import io
import json
import tarfile
import tempfile
import threading
from pathlib import Path

import boto3
import botocore.session
import numpy as np
import pytest
from moto.server import ThreadedMotoServer

from integration.conftest_publisher import patch_moto_sagemaker
from client.plan.memory import budget_for
from local_stack.runtime.gateway import GatewayServer
from local_stack.runtime.mms.backend import start_mms
from local_stack.runtime.model_cache import Budget, mms_name
from local_stack.processes.children import free_port
from local_stack.demo.sample_models import cached_tarball, digits_split, unpack
from local_stack.stack import local_endpoint_settings
from publisher.deploy import deploy
from publisher.settings import PublisherSettings
from chalicelib.versions.warmup import warm

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mms")]

ENDPOINT = BUCKET = "mme-registry-local"
DIGITS_SHAPES = [{"name": "data", "shape": [1, 64]}]
# The container refuses (HTTP 507) a model over this, as it would one that does not fit in memory:
# the digits models are far below it, SqueezeNet far above.
HANDLER_BUDGET_MB = "2"


@pytest.fixture(scope="session")
def mms(tmp_path_factory):
    with start_mms(tmp_path_factory.mktemp("mms"), env={"MME_HANDLER_MEMORY_BUDGET_MB": HANDLER_BUDGET_MB}) as server:
        yield server


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """A moto server on 127.0.0.1 and a boto3 session whose every client goes to it."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    config = tmp_path_factory.mktemp("aws") / "config"
    config.write_text(f"[default]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:{port}\n")
    core = botocore.session.Session()
    core.set_config_variable("config_file", str(config))
    try:
        yield boto3.Session(botocore_session=core, region_name="us-east-1")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tarballs() -> dict[str, bytes]:
    return {name: cached_tarball(name).read_bytes() for name in ("digits", "digits_small", "squeezenet_v1.0")}


@pytest.fixture
def aws(emulator, tarballs, monkeypatch):
    """Bucket, models and the MultiModel endpoint, ensured for each test: a `mock_aws` in another
    test of this worker resets moto's in-process state, which the moto server shares."""
    s3 = emulator.client("s3")
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    for name in ("digits", "digits_small"):
        s3.put_object(Bucket=BUCKET, Key=f"models/{name}.tar.gz", Body=tarballs[name])
    patch_moto_sagemaker(monkeypatch)
    deploy(PublisherSettings(**local_endpoint_settings(), poll_seconds=1), emulator)
    return emulator


@pytest.fixture(scope="session")
def shared_gateway(mms, emulator, tmp_path_factory):
    with GatewayServer(mms.url, emulator, tmp_path_factory.mktemp("gateway")) as gateway:
        yield gateway


def runtime_client(gateway: GatewayServer):
    """A plain boto3 sagemaker-runtime client, as user code would build it."""
    return boto3.client("sagemaker-runtime", region_name="us-east-1", endpoint_url=gateway.url)


@pytest.fixture
def runtime(aws, shared_gateway):
    return runtime_client(shared_gateway)


@pytest.fixture
def own_gateway(mms, aws, tmp_path):
    """A gateway with its own budget over an MMS emptied first, so it sees every model it holds."""
    started: list[GatewayServer] = []

    def start(budget: Budget) -> GatewayServer:
        for name in mms.all_models():
            mms.unload(name)
        started.append(GatewayServer(mms.url, aws, tmp_path / f"cache{len(started)}", budget).start())
        return started[-1]

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture(scope="session")
def held_out():
    return digits_split().test_x[:40]


@pytest.fixture(scope="session")
def mxnet_argmax(held_out):
    """What MXNet itself predicts on the held-out rows, per model, from the same tarballs."""
    import mxnet as mx

    answers = {}
    for name in ("digits", "digits_small"):
        with tempfile.TemporaryDirectory() as folder:
            unpack(cached_tarball(name), Path(folder))
            net = mx.gluon.nn.SymbolBlock.imports(f"{folder}/digits-symbol.json", ["data"], f"{folder}/digits-0000.params")
            answers[name] = net(mx.nd.array(held_out)).asnumpy().argmax(axis=1)
    return answers


def predict(runtime, target: str, rows: np.ndarray, **extra) -> tuple[np.ndarray, dict]:
    response = runtime.invoke_endpoint(
        EndpointName=ENDPOINT,
        TargetModel=target,
        Body=json.dumps({"instances": rows.tolist()}),
        ContentType="application/json",
        Accept="application/json",
        **extra,
    )
    predictions = np.array(json.loads(response["Body"].read())["predictions"])
    return predictions.argmax(axis=1), response


@pytest.mark.parametrize("model", ["digits", "digits_small"])
def test_the_served_argmax_equals_mxnets_own(runtime, model, held_out, mxnet_argmax):
    served, response = predict(runtime, f"{model}.tar.gz", held_out, CustomAttributes="trace=1")

    assert served.tolist() == mxnet_argmax[model].tolist()
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"


@pytest.mark.parametrize("accept", ["application/json", "application/x-npy"])
def test_the_gateway_answers_byte_for_byte_what_mms_answers_directly(runtime, mms, held_out, accept):
    # GIVEN a model the gateway has loaded into MMS (its MMS name is derived from its S3 object)
    body = json.dumps({"instances": held_out[:3].tolist()})
    via_gateway = runtime.invoke_endpoint(EndpointName=ENDPOINT, TargetModel="digits.tar.gz", Body=body,
                                          ContentType="application/json", Accept=accept)
    # WHEN MMS is asked the same directly
    direct = mms.invoke(mms_name(BUCKET, "models/digits.tar.gz"), body, "application/json", accept=accept)
    # THEN the gateway passed on MMS's answer unchanged: the same bytes, the same content type
    assert direct.status == 200
    assert via_gateway["Body"].read() == direct.body
    assert via_gateway["ContentType"] == direct.content_type == accept


def test_an_unknown_target_model_is_a_validation_error_about_the_download(runtime, held_out):
    with pytest.raises(runtime.exceptions.ValidationError, match="Failed to download model data"):
        predict(runtime, "nothing_here.tar.gz", held_out)


def test_an_unknown_endpoint_is_a_validation_error(runtime):
    with pytest.raises(runtime.exceptions.ValidationError, match="Endpoint nope not found"):
        runtime.invoke_endpoint(EndpointName="nope", TargetModel="digits.tar.gz", Body=b"{}", ContentType="application/json")


def test_a_bad_payload_is_a_model_error_with_the_containers_4xx(runtime):
    with pytest.raises(runtime.exceptions.ModelError) as raised:
        runtime.invoke_endpoint(
            EndpointName=ENDPOINT, TargetModel="digits.tar.gz", Body=b"{not json", ContentType="application/json"
        )

    assert raised.value.response["OriginalStatusCode"] == 400
    assert "invalid_json" in raised.value.response["OriginalMessage"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424


def test_a_shape_the_model_does_not_take_is_a_model_error_too(runtime):
    with pytest.raises(runtime.exceptions.ModelError) as raised:
        predict(runtime, "digits.tar.gz", np.zeros((2, 3)))

    assert raised.value.response["OriginalStatusCode"] == 400
    assert "invalid_shape" in raised.value.response["OriginalMessage"]


@pytest.mark.parametrize(
    "target",
    ["../incoming/digits.tar.gz", "a/../../digits.tar.gz", "/models/digits.tar.gz",
     "s3://another-bucket/models/digits.tar.gz", "./digits.tar.gz", "..\\digits.tar.gz"],
)
def test_a_target_outside_the_endpoints_prefix_is_refused(runtime, aws, target, held_out):
    aws.client("s3").put_object(Bucket=BUCKET, Key="incoming/digits.tar.gz", Body=cached_tarball("digits").read_bytes())

    with pytest.raises(runtime.exceptions.ValidationError, match="TargetModel"):
        predict(runtime, target, held_out)


def test_a_hostile_archive_under_the_prefix_is_refused_before_loading(runtime, aws, held_out, mms):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive, tarfile.open(cached_tarball("digits")) as good:
        for member in good:
            archive.addfile(member, good.extractfile(member) if member.isfile() else None)
        link = tarfile.TarInfo("digits-synset.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    aws.client("s3").put_object(Bucket=BUCKET, Key="models/hostile.tar.gz", Body=buffer.getvalue())
    before = set(mms.all_models())

    with pytest.raises(runtime.exceptions.ValidationError, match="not a servable archive"):
        predict(runtime, "hostile.tar.gz", held_out)

    assert set(mms.all_models()) == before


def test_warm_up_loads_a_model_and_reports_success(runtime):
    result = warm(runtime, ENDPOINT, "digits_small.tar.gz", DIGITS_SHAPES)

    assert result.ok and result.error is None


def test_a_failed_warm_up_says_why(runtime):
    missing = warm(runtime, ENDPOINT, "never_uploaded.tar.gz", DIGITS_SHAPES)
    wrong_shape = warm(runtime, ENDPOINT, "digits.tar.gz", [{"name": "data", "shape": [1, 3, 8, 8]}])

    assert not missing.ok and "Failed to download model data" in missing.error
    assert not wrong_shape.ok and wrong_shape.status_code == 400 and "invalid_shape" in wrong_shape.error


def test_with_a_two_model_budget_cycling_through_five_models_keeps_answering(own_gateway, aws, mms, tarballs,
                                                                              held_out, mxnet_argmax):
    # GIVEN five keys, digits and digits_small alternately, and a gateway that may hold two models
    models = {f"cycle/model{i}.tar.gz": ("digits", "digits_small")[i % 2] for i in range(5)}
    for key, model in models.items():
        aws.client("s3").put_object(Bucket=BUCKET, Key=f"models/{key}", Body=tarballs[model])
    runtime = runtime_client(own_gateway(Budget(budget_for(2, 10**6))))  # the digits models unpack to a few kB

    # WHEN each is invoked in turn, then the first (evicted by now) again
    for key in [*models, next(iter(models))]:
        served, _ = predict(runtime, key, held_out)

        # THEN every answer is that model's own, and MMS never holds more than two models
        assert served.tolist() == mxnet_argmax[models[key]].tolist()
        assert len(mms.all_models()) <= 2


def test_concurrent_first_invokes_of_one_model_download_and_load_it_once(own_gateway, aws, tarballs, held_out,
                                                                         mxnet_argmax, mms):
    aws.client("s3").put_object(Bucket=BUCKET, Key="models/concurrent.tar.gz", Body=tarballs["digits"])
    gateway = own_gateway(Budget())
    downloads = []
    s3 = gateway.gateway.backends["mms"].cache.s3
    s3.meta.events.register("before-call.s3.GetObject", lambda **kw: downloads.append(1))
    runtime = runtime_client(gateway)
    answers, errors = [], []

    def call():
        try:
            answers.append(predict(runtime, "concurrent.tar.gz", held_out)[0].tolist())
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert answers == [mxnet_argmax["digits"].tolist()] * 6
    assert len(downloads) == 1
    assert len(mms.all_models()) == 1


def test_a_model_mms_cannot_fit_unloads_the_idle_ones_and_then_is_a_507_model_error(own_gateway, aws, tarballs,
                                                                                  held_out, mms):
    aws.client("s3").put_object(Bucket=BUCKET, Key="models/squeezenet.tar.gz", Body=tarballs["squeezenet_v1.0"])
    runtime = runtime_client(own_gateway(Budget()))
    predict(runtime, "digits.tar.gz", held_out)
    assert len(mms.all_models()) == 1

    with pytest.raises(runtime.exceptions.ModelError) as raised:
        runtime.invoke_endpoint(EndpointName=ENDPOINT, TargetModel="squeezenet.tar.gz", Body=b"{}",
                                ContentType="application/json")

    assert raised.value.response["OriginalStatusCode"] == 507
    assert mms.all_models() == []


@pytest.mark.parametrize("naming", ["PrimaryContainer", "Containers"])
def test_an_endpoint_a_user_creates_is_served_with_subfolder_targets(aws, runtime, tarballs, held_out, mxnet_argmax,
                                                                     naming):
    # GIVEN a user's own bucket prefix with a model in a subfolder, and their own MultiModel endpoint on it,
    # its ModelDataUrl in the https form the AWS notebook writes
    s3, sagemaker = aws.client("s3"), aws.client("sagemaker")
    s3.create_bucket(Bucket="users-bucket")
    s3.put_object(Bucket="users-bucket", Key="demo-multimodel-endpoint/team-a/digits.tar.gz", Body=tarballs["digits"])
    container = {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/demo:latest", "Mode": "MultiModel",
                 "ModelDataUrl": "https://s3-us-east-1.amazonaws.com/users-bucket/demo-multimodel-endpoint/"}
    name = f"users-endpoint-{naming.lower()}"
    placement = {"PrimaryContainer": container} if naming == "PrimaryContainer" else {"Containers": [container]}
    sagemaker.create_model(ModelName=name, ExecutionRoleArn="arn:aws:iam::123456789012:role/r", **placement)
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1, "ModelName": name, "VariantName": "AllTraffic"}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})

    # WHEN it is invoked with a TargetModel in the subfolder
    body = json.dumps({"instances": held_out.tolist()})
    response = runtime.invoke_endpoint(EndpointName=name, TargetModel="team-a/digits.tar.gz", Body=body,
                                       ContentType="application/json", Accept="application/json")

    # THEN the model under the user's prefix answers
    served = np.array(json.loads(response["Body"].read())["predictions"]).argmax(axis=1)
    assert served.tolist() == mxnet_argmax["digits"].tolist()
