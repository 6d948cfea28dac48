"""The registry knows frameworks: each version records its own, and each alias target resolves
to the endpoint serving that framework (REGISTRY_ENDPOINT for MXNet, REGISTRY_TENSORFLOW_ENDPOINT
for TensorFlow); a framework with no endpoint is a clear 409 that names its rule and setting."""
import json
from pathlib import Path

import pytest
from chalice.test import Client

from chalicelib.dynamo import to_item
from chalicelib.versions.store import model_pk, version_sk
from integration.conftest import seeder_for

RULE = "alias.framework_endpoint"


def api(app):
    return Client(app.app, stage_name="local", project_dir=str(Path(app.__file__).parent))


def call(client, method: str, path: str, body=None):
    data = json.dumps(body).encode() if body is not None else b""
    answer = client.http.request(method, path, body=data, headers={"Content-Type": "application/json"})
    return answer.status_code, json.loads(answer.body) if answer.body else None


@pytest.fixture
def two_models(emulated_app):
    seed = seeder_for(emulated_app)
    seed.version("digits", framework="mxnet")
    seed.version("cifar", framework="tensorflow")
    return seed


SPLIT = {"targets": [{"model": "digits", "version": 1, "weight": 70}, {"model": "cifar", "version": 1, "weight": 30}]}


def test_a_version_records_its_framework_and_the_api_shows_it(emulated_app, two_models):
    with api(emulated_app) as client:
        status, version = call(client, "GET", "/models/cifar/versions/1")

    assert status == 200
    assert version["framework"] == "tensorflow"
    assert version["input_shapes"] == [{"name": "image", "dtype": "float32", "shape": [-1, 8, 8, 1]}]


def test_a_version_recorded_before_frameworks_reads_its_layout_as_its_framework(emulated_app):
    # GIVEN a version item as the registry wrote it when the field was called `layout`
    record = seeder_for(emulated_app).version("legacy")
    item = {"pk": model_pk("legacy"), "sk": version_sk(1), **record.model_dump(mode="json")}
    item["layout"] = item.pop("framework")
    emulated_app.get_session().client("dynamodb").put_item(TableName=emulated_app.settings.table, Item=to_item(item))

    # WHEN it is read
    read = emulated_app.get_store().get_version("legacy", 1)

    # THEN its layout is its framework
    assert read.framework == "mxnet"


def test_a_weighted_alias_across_frameworks_resolves_each_target_to_its_endpoint(emulated_app, two_models):
    with api(emulated_app) as client:
        status, put = call(client, "PUT", "/aliases/mixed", SPLIT)
        _, got = call(client, "GET", "/aliases/mixed")
        _, listed = call(client, "GET", "/aliases")

    assert status == 200 and got == put and listed["items"] == [got]
    assert got["endpoint"] == "mme-registry-local"  # the heaviest target's
    assert [(t["target_model"], t["framework"], t["endpoint"]) for t in got["targets"]] == [
        ("digits_v1.tar.gz", "mxnet", "mme-registry-local"),
        ("cifar_v1.tar.gz", "tensorflow", "mme-registry-local-tf")]


def test_a_configured_tensorflow_endpoint_name_is_the_one_resolved(emulated_app, two_models, reconfigure):
    app = reconfigure(REGISTRY_TENSORFLOW_ENDPOINT="vision-tf-prod")

    with api(app) as client:
        call(client, "PUT", "/aliases/cifar", {"model": "cifar", "version": 1})
        _, got = call(client, "GET", "/aliases/cifar")

    assert got["endpoint"] == got["targets"][0]["endpoint"] == "vision-tf-prod"


def test_a_weighted_alias_cannot_mix_frameworks_when_one_has_no_endpoint(emulated_app, two_models, reconfigure):
    app = reconfigure(REGISTRY_TENSORFLOW_ENDPOINT="")

    with api(app) as client:
        status, error = call(client, "PUT", "/aliases/mixed", SPLIT)
        missing, _ = call(client, "GET", "/aliases/mixed")
        mxnet_only, _ = call(client, "PUT", "/aliases/digits", {"model": "digits", "version": 1})

    assert status == 409 and error["error"]["code"] == "no_endpoint"
    assert error["error"]["details"]["rule"] == RULE and RULE in error["error"]["message"]
    assert "cifar v1 is a tensorflow model" in error["error"]["message"]
    assert "REGISTRY_TENSORFLOW_ENDPOINT" in error["error"]["message"]
    assert missing == 404  # nothing was written
    assert mxnet_only == 200


def test_an_alias_whose_framework_lost_its_endpoint_resolves_to_a_409_not_to_the_other_endpoint(
        emulated_app, two_models, reconfigure):
    with api(emulated_app) as client:
        assert call(client, "PUT", "/aliases/mixed", SPLIT)[0] == 200
    app = reconfigure(REGISTRY_TENSORFLOW_ENDPOINT="")

    with api(app) as client:
        status, error = call(client, "GET", "/aliases/mixed")
        _, listed = call(client, "GET", "/aliases")

    assert status == 409 and error["error"]["details"]["rule"] == RULE
    assert [t["endpoint"] for t in listed["items"][0]["targets"]] == ["mme-registry-local", None]


def test_an_upload_does_not_point_an_alias_at_a_framework_no_endpoint_serves(emulated_app, two_models, reconfigure):
    app = reconfigure(REGISTRY_TENSORFLOW_ENDPOINT="")

    outcome = app.get_aliases().follow_new_version("cifar", 1, ["cifar-prod"], "uploader")

    assert outcome["cifar-prod"].startswith("refused: cifar v1 is a tensorflow model")
    assert app.get_alias_store().get("cifar-prod") is None


def test_rolling_back_to_a_target_no_endpoint_serves_any_more_is_refused(emulated_app, two_models, reconfigure):
    with api(emulated_app) as client:
        call(client, "PUT", "/aliases/prod", {"model": "cifar", "version": 1})
        call(client, "PUT", "/aliases/prod", {"model": "digits", "version": 1})
    app = reconfigure(REGISTRY_TENSORFLOW_ENDPOINT="")

    with api(app) as client:
        status, error = call(client, "POST", "/aliases/prod/rollback", {})
        _, still = call(client, "GET", "/aliases/prod")

    assert status == 409 and error["error"]["details"]["rule"] == RULE
    assert still["model"] == "digits"
