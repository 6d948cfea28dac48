"""`python -m publisher deploy` against the emulator: create, idempotence, update, dry run, required settings."""
from __future__ import annotations

import json

import boto3

from conftest_publisher import ENDPOINT, REQUIRED, deploy, sagemaker  # noqa: F401 (a fixture)
from publisher.plan import desired_from
from publisher.settings import PublisherSettings


def test_first_deploy_creates_a_multimodel_model_a_config_and_an_endpoint(sagemaker, capsys):
    client, calls = sagemaker

    assert deploy("--image", "registry/mme:1") == 0

    names = desired_from(PublisherSettings(**REQUIRED, image="registry/mme:1"))
    assert calls.writes == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
    container = client.describe_model(ModelName=names.model_name)["PrimaryContainer"]
    assert container["Mode"] == "MultiModel"
    assert container["ModelDataUrl"] == "s3://models-bucket/models/"
    assert container["Image"] == "registry/mme:1"
    endpoint = client.describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointConfigName"] == names.config_name
    assert endpoint["EndpointStatus"] == "InService"
    assert "InService" in capsys.readouterr().out


def test_a_second_deploy_reports_unchanged_and_makes_no_write_call(sagemaker, capsys):
    _, calls = sagemaker
    deploy("--image", "registry/mme:1")
    capsys.readouterr()
    calls.names.clear()

    assert deploy("--image", "registry/mme:1") == 0

    assert calls.names, "the second run still reads the current state"
    assert calls.writes == []
    out = capsys.readouterr().out
    assert "nothing changed" in out
    assert out.count("unchanged") == 3


def test_a_new_image_makes_a_new_config_and_updates_the_same_endpoint(sagemaker):
    client, calls = sagemaker
    deploy("--image", "registry/mme:1")
    first = client.describe_endpoint(EndpointName=ENDPOINT)
    calls.names.clear()

    assert deploy("--image", "registry/mme:2") == 0

    assert calls.writes == ["CreateModel", "CreateEndpointConfig", "UpdateEndpoint"]
    second = client.describe_endpoint(EndpointName=ENDPOINT)
    assert second["EndpointArn"] == first["EndpointArn"]
    assert second["EndpointConfigName"] != first["EndpointConfigName"]
    config = client.describe_endpoint_config(EndpointConfigName=second["EndpointConfigName"])
    model = client.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["Image"] == "registry/mme:2"
    assert {e["EndpointName"] for e in client.list_endpoints()["Endpoints"]} == {ENDPOINT}


def test_a_new_instance_type_keeps_the_model_and_updates_the_endpoint(sagemaker):
    _, calls = sagemaker
    deploy("--image", "registry/mme:1")
    calls.names.clear()

    assert deploy("--image", "registry/mme:1", "--instance-type", "ml.c5.xlarge") == 0

    assert calls.writes == ["CreateEndpointConfig", "UpdateEndpoint"]


def test_going_back_to_earlier_settings_reuses_their_config(sagemaker):
    client, calls = sagemaker
    deploy("--image", "registry/mme:1")
    original = client.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    deploy("--image", "registry/mme:2")
    calls.names.clear()

    deploy("--image", "registry/mme:1")

    assert calls.writes == ["UpdateEndpoint"]
    assert client.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == original


def test_dry_run_prints_the_plan_and_writes_nothing(sagemaker, capsys):
    client, calls = sagemaker

    assert deploy("--image", "registry/mme:1", "--dry-run") == 0

    assert calls.writes == []
    assert client.list_endpoints()["Endpoints"] == []
    assert client.list_models()["Models"] == []
    out = capsys.readouterr().out
    assert out.count("create") >= 3 and "nothing was changed" in out


def test_dry_run_after_an_image_change_plans_an_update(sagemaker, capsys):
    _, calls = sagemaker
    deploy("--image", "registry/mme:1")
    capsys.readouterr()
    calls.names.clear()

    deploy("--image", "registry/mme:2", "--dry-run")

    assert calls.writes == []
    out = capsys.readouterr().out
    assert "update" in out and "unchanged" not in out.split("Endpoint ")[-1]


def test_settings_come_from_a_config_file_and_the_environment(sagemaker, tmp_path, monkeypatch):
    client, _ = sagemaker
    config = tmp_path / "publisher.yaml"
    config.write_text("endpoint-name: from-file\nimage: registry/mme:file\ninstance_count: 2\n")
    monkeypatch.setenv("PUBLISHER_IMAGE", "registry/mme:env")

    others = {k: v for k, v in REQUIRED.items() if k != "endpoint_name"}
    assert deploy("--config", str(config), "--bucket", "flag-bucket", required=others) == 0

    endpoint = client.describe_endpoint(EndpointName="from-file")
    config_doc = client.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    variant = config_doc["ProductionVariants"][0]
    assert variant["InitialInstanceCount"] == 2
    container = client.describe_model(ModelName=variant["ModelName"])["PrimaryContainer"]
    assert container["Image"] == "registry/mme:env"
    assert container["ModelDataUrl"] == "s3://flag-bucket/models/"


def test_a_json_config_file_with_an_unknown_setting_is_refused(sagemaker, tmp_path, capsys):
    _, calls = sagemaker
    config = tmp_path / "publisher.json"
    config.write_text(json.dumps({"imgae": "typo"}))

    assert deploy("--config", str(config)) == 1

    assert calls.names == []
    assert "imgae" in capsys.readouterr().out


def test_container_environment_flags_reach_the_model(sagemaker):
    client, _ = sagemaker

    deploy("--image", "registry/mme:1", "--env", "SAGEMAKER_MODEL_SERVER_WORKERS=2", "--env", "A=b=c")

    config = client.describe_endpoint_config(
        EndpointConfigName=client.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    )
    model = client.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["Environment"] == {"SAGEMAKER_MODEL_SERVER_WORKERS": "2", "A": "b=c"}


def test_a_missing_bucket_is_an_error_naming_the_flag_and_calls_nothing(sagemaker, capsys):
    _, calls = sagemaker
    without_bucket = {k: v for k, v in REQUIRED.items() if k != "bucket"}

    assert deploy("--image", "registry/mme:1", required=without_bucket) == 1

    assert calls.names == []
    out = capsys.readouterr().out
    assert "--bucket" in out and "PUBLISHER_BUCKET" in out
    assert "mme-registry-local" not in out


def test_every_required_setting_is_named_when_none_is_given(sagemaker, capsys):
    _, calls = sagemaker

    assert deploy(required={}) == 1

    assert calls.names == []
    out = capsys.readouterr().out
    for flag in ("--endpoint-name", "--bucket", "--image", "--role-arn", "--instance-type"):
        assert flag in out


TF_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference:2.20-cpu-py312-amzn2023-sagemaker-v1"


def containers(client, endpoint: str) -> dict:
    config = client.describe_endpoint_config(EndpointConfigName=client.describe_endpoint(
        EndpointName=endpoint)["EndpointConfigName"])
    return client.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])["PrimaryContainer"]


def test_a_tensorflow_endpoint_name_adds_a_second_multimodel_endpoint_on_aws_tf_serving_image(sagemaker, capsys):
    client, calls = sagemaker

    assert deploy("--image", "registry/mme:1", "--tensorflow-endpoint-name", "mme-test-tf") == 0

    assert calls.writes == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"] * 2
    mxnet, tensorflow = containers(client, ENDPOINT), containers(client, "mme-test-tf")
    assert (mxnet["Image"], tensorflow["Image"]) == ("registry/mme:1", TF_IMAGE)
    assert mxnet["Mode"] == tensorflow["Mode"] == "MultiModel"
    assert mxnet["ModelDataUrl"] == tensorflow["ModelDataUrl"] == "s3://models-bucket/models/"
    assert client.describe_endpoint(EndpointName="mme-test-tf")["EndpointStatus"] == "InService"
    assert "Plan for tensorflow endpoint mme-test-tf" in capsys.readouterr().out


def test_both_endpoints_unchanged_make_no_write_and_a_new_tf_image_updates_only_the_tf_endpoint(sagemaker):
    client, calls = sagemaker
    flags = ("--image", "registry/mme:1", "--tensorflow-endpoint-name", "mme-test-tf")
    deploy(*flags)
    before = {name: client.describe_endpoint(EndpointName=name)["EndpointConfigName"]
              for name in (ENDPOINT, "mme-test-tf")}
    calls.names.clear()

    assert deploy(*flags) == 0
    assert calls.writes == []
    assert deploy(*flags, "--tensorflow-image", "example.com/tf-serving:2.19") == 0

    assert calls.writes == ["CreateModel", "CreateEndpointConfig", "UpdateEndpoint"]
    assert client.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == before[ENDPOINT]
    assert containers(client, "mme-test-tf")["Image"] == "example.com/tf-serving:2.19"


def test_the_tensorflow_image_defaults_to_the_region_of_the_endpoint():
    settings = PublisherSettings(**REQUIRED, image="i", region="eu-west-1", tensorflow_endpoint_name="tf")

    assert desired_from(settings, "tensorflow").model.image == \
        "763104351884.dkr.ecr.eu-west-1.amazonaws.com/tensorflow-inference:2.20-cpu-py312-amzn2023-sagemaker-v1"


def test_one_name_for_both_endpoints_is_refused_before_any_call(sagemaker, capsys):
    _, calls = sagemaker

    assert deploy("--image", "registry/mme:1", "--tensorflow-endpoint-name", ENDPOINT) == 1

    assert calls.names == []
    assert "both named mme-test" in " ".join(capsys.readouterr().out.split())


def test_the_local_stack_provisions_an_mxnet_and_a_tensorflow_endpoint(sagemaker):
    from local_stack.stack import local_endpoint_settings
    from publisher.deploy import deploy as deploy_settings

    client, _ = sagemaker

    results = deploy_settings(PublisherSettings(**local_endpoint_settings(), poll_seconds=1), boto3.Session(
        region_name="us-east-1"))

    assert [(r.plan.desired.framework, r.plan.desired.endpoint_name, r.status) for r in results] == [
        ("mxnet", "mme-registry-local", "InService"), ("tensorflow", "mme-registry-local-tf", "InService")]
    assert containers(client, "mme-registry-local-tf")["Image"] == TF_IMAGE
    assert containers(client, "mme-registry-local")["Image"] == "mme-registry-container:local"
