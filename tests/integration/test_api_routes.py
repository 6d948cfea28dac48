"""Every route through Chalice's test client against moto: what a caller sends and what it gets back."""
import gzip
import io
import json
import tarfile
from urllib.parse import quote

import pytest

from local_stack.sample_models import cached_tarball

pytestmark = pytest.mark.xdist_group("api-routes")  # one worker builds this module's moto once


def call(client, method: str, path: str, body=None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    response = client.request(method, path, body=data, headers={"Content-Type": "application/json"})
    return response.status_code, json.loads(response.body) if response.body else None


def put_object(registry_app, key: str, body: bytes) -> str:
    settings = registry_app.settings
    registry_app.get_session().client("s3").put_object(Bucket=settings.bucket, Key=key, Body=body)
    return f"s3://{settings.bucket}/{key}"


def test_health_names_the_endpoint_of_each_framework(client):
    assert call(client, "GET", "/health") == (200, {"status": "ok", "endpoint": "mme-registry-local", "endpoints": {
        "mxnet": "mme-registry-local", "tensorflow": "mme-registry-local-tf"}})


def test_models_list_pages_with_an_opaque_token(client, seed):
    for name in ("alpha", "beta", "gamma"):
        seed.version(name)

    status, first = call(client, "GET", "/models?limit=2")
    assert status == 200
    assert [m["name"] for m in first["items"]] == ["alpha", "beta"]
    status, second = call(client, "GET", f"/models?limit=2&next_token={first['next_token']}")
    assert [m["name"] for m in second["items"]] == ["gamma"]
    assert second["next_token"] is None


def test_a_model_shows_its_latest_version_counts_and_aliases(client, seed):
    seed.version("resnet_18"), seed.version("resnet_18")
    call(client, "PUT", "/aliases/classifier", {"model": "resnet_18", "version": 1})

    status, model = call(client, "GET", "/models/resnet_18")

    assert status == 200
    assert (model["latest_version"], model["versions"]) == (2, 2)
    assert model["latest"]["target_model"] == "resnet_18_v2.tar.gz"
    assert model["aliases"] == [{"alias": "classifier", "versions": [1], "tracks_latest": False}]


def test_versions_list_newest_first_and_one_version_has_its_target_model(client, seed):
    for _ in range(3):
        seed.version("resnet_18")

    status, listing = call(client, "GET", "/models/resnet_18/versions?limit=2")
    assert status == 200
    assert [v["version"] for v in listing["items"]] == [3, 2]
    assert listing["next_token"]

    status, version = call(client, "GET", "/models/resnet_18/versions/2")
    assert status == 200
    assert (version["target_model"], version["target_key"]) == ("resnet_18_v2.tar.gz", "models/resnet_18_v2.tar.gz")
    assert "event_id" not in version


def test_a_model_name_with_a_slash_travels_url_encoded(client, seed):
    seed.version("team-a/squeezenet_v1.0")

    status, version = call(client, "GET", f"/models/{quote('team-a/squeezenet_v1.0', safe='')}/versions/1")

    assert status == 200
    assert version["target_model"] == "team-a/squeezenet_v1.0_v1.tar.gz"


def test_putting_an_alias_answers_the_documented_fields(client, seed):
    seed.version("resnet_18"), seed.version("resnet_18")

    status, alias = call(client, "PUT", "/aliases/classifier", {"model": "resnet_18", "version": 2})

    assert status == 200
    assert {k: alias[k] for k in ("alias", "model", "version", "target_model", "endpoint", "revision",
                                  "updated_by", "tracks_latest")} == {
        "alias": "classifier", "model": "resnet_18", "version": 2, "target_model": "resnet_18_v2.tar.gz",
        "endpoint": "mme-registry-local", "revision": 1, "updated_by": "anonymous", "tracks_latest": False}
    assert alias["targets"] == [{"model": "resnet_18", "version": 2, "weight": 100,
                                 "target_model": "resnet_18_v2.tar.gz", "framework": "mxnet",
                                 "endpoint": "mme-registry-local"}]
    assert call(client, "GET", "/aliases/classifier") == (200, alias)


def test_a_stale_expected_revision_is_409_with_the_current_revision(client, seed):
    seed.version("resnet_18"), seed.version("resnet_18")
    call(client, "PUT", "/aliases/classifier", {"model": "resnet_18", "version": 1})
    call(client, "PUT", "/aliases/classifier", {"model": "resnet_18", "version": 2, "expected_revision": 1})

    status, error = call(client, "PUT", "/aliases/classifier", {"model": "resnet_18", "version": 1,
                                                                "expected_revision": 1})

    assert status == 409
    assert error["error"]["code"] == "conflict"
    assert error["error"]["details"]["current_revision"] == 2


def test_an_alias_on_latest_follows_and_a_weighted_alias_lists_its_targets(client, seed):
    seed.version("resnet_18"), seed.version("resnet_18")

    _, follower = call(client, "PUT", "/aliases/newest", {"model": "resnet_18", "version": "latest"})
    status, canary = call(client, "PUT", "/aliases/canary", {"targets": [
        {"model": "resnet_18", "version": 1, "weight": 90}, {"model": "resnet_18", "version": 2, "weight": 10}]})

    assert (follower["version"], follower["tracks_latest"]) == (2, True)
    assert status == 200
    assert (canary["version"], canary["target_model"]) == (1, "resnet_18_v1.tar.gz")
    assert [(t["version"], t["weight"]) for t in canary["targets"]] == [(1, 90), (2, 10)]


def test_weights_are_relative_so_any_positive_weights_point_an_alias(client, seed):
    seed.version("resnet_18"), seed.version("resnet_18")

    status_one, alone = call(client, "PUT", "/aliases/alone", {"targets": [
        {"model": "resnet_18", "version": 1, "weight": 1}]})
    status_split, split = call(client, "PUT", "/aliases/quarter", {"targets": [
        {"model": "resnet_18", "version": 1, "weight": 1}, {"model": "resnet_18", "version": 2, "weight": 3}]})

    assert (status_one, alone["version"], [t["weight"] for t in alone["targets"]]) == (200, 1, [1])
    assert (status_split, split["version"]) == (200, 2)  # the heaviest target is the alias's main one
    assert [(t["version"], t["weight"]) for t in split["targets"]] == [(1, 1), (2, 3)]


def test_aliases_list_history_rollback_and_delete(client, seed):
    seed.version("resnet_18"), seed.version("resnet_18")
    call(client, "PUT", "/aliases/prod", {"model": "resnet_18", "version": 1})
    call(client, "PUT", "/aliases/prod", {"model": "resnet_18", "version": 2})

    status, listing = call(client, "GET", "/aliases")
    assert status == 200 and [a["alias"] for a in listing["items"]] == ["prod"]

    status, rolled = call(client, "POST", "/aliases/prod/rollback")
    assert (status, rolled["version"], rolled["revision"]) == (200, 1, 3)

    status, history = call(client, "GET", "/aliases/prod/history")
    assert status == 200
    assert [(c["revision"], c["action"]) for c in history["items"]] == [(3, "rollback"), (2, "update"), (1, "create")]
    newest = history["items"][0]
    assert (newest["from"]["targets"][0]["version"], newest["to"]["targets"][0]["version"]) == (2, 1)
    assert newest["by"] == "anonymous" and newest["at"]
    assert history["items"][-1]["from"] is None

    status, deletion = call(client, "DELETE", "/aliases/prod?expected_revision=3")
    assert (status, deletion["action"], deletion["to"]) == (200, "delete", None)
    assert call(client, "GET", "/aliases/prod")[0] == 404


def test_registering_a_version_by_source_answers_201_and_moves_requested_aliases(client, registry_app):
    source = put_object(registry_app, "staging/digits.tar.gz", cached_tarball("digits").read_bytes())

    status, answer = call(client, "POST", "/models/digits/versions",
                          {"source": source, "aliases": ["prod"], "metadata": {"team": "vision"}})

    assert status == 201
    assert answer["outcome"] == "accepted"
    assert (answer["version"]["version"], answer["version"]["target_model"]) == (1, "digits_v1.tar.gz")
    assert answer["version"]["metadata"] == {"team": "vision"}
    assert answer["aliases"] == {"prod": "created at v1"}
    assert call(client, "GET", "/aliases/prod")[1]["target_model"] == "digits_v1.tar.gz"


def test_registering_identical_content_again_answers_200_unchanged(client, registry_app):
    body = cached_tarball("digits").read_bytes()
    call(client, "POST", "/models/digits/versions", {"source": put_object(registry_app, "staging/a.tar.gz", body)})

    status, answer = call(client, "POST", "/models/digits/versions",
                          {"source": put_object(registry_app, "staging/b.tar.gz", body)})

    assert (status, answer["outcome"], answer["version"]["version"]) == (200, "unchanged", 1)


def test_registering_a_bad_tarball_is_422_with_the_report(client, registry_app):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("model-symbol.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    source = put_object(registry_app, "staging/broken.tar.gz", gzip.compress(buffer.getvalue()))

    status, error = call(client, "POST", "/models/broken/versions", {"source": source})

    assert status == 422
    assert error["error"]["code"] == "validation_failed"
    assert error["error"]["details"]["rules"]
    [upload] = json.loads(client.get("/models/broken/uploads").body)["items"]
    assert (upload["outcome"], upload["rules"]) == ("rejected", error["error"]["details"]["rules"])
    assert all(f["message"] for f in upload["failures"])


def test_registering_a_missing_source_is_404(client, registry_app):
    status, error = call(client, "POST", "/models/digits/versions",
                         {"source": f"s3://{registry_app.settings.bucket}/staging/none.tar.gz"})

    assert (status, error["error"]["code"]) == (404, "not_found")


def test_an_upload_link_is_a_presigned_put_into_the_drop_folder_with_signed_alias_metadata(client):
    status, link = call(client, "POST", "/models/team-a%2Fdigits/uploads", {"aliases": ["prod", "canary"],
                                                                             "expires_in": 600})

    assert status == 201
    assert (link["method"], link["key"]) == ("PUT", "incoming/team-a/digits.tar.gz")
    assert link["headers"]["x-amz-meta-alias"] == "prod,canary"
    assert "X-Amz-Signature=" in link["url"] and "x-amz-meta-alias" in link["url"]


def test_uploads_list_each_outcome_newest_first(client, registry_app):
    body = cached_tarball("digits").read_bytes()
    call(client, "POST", "/models/digits/versions", {"source": put_object(registry_app, "staging/a.tar.gz", body)})
    call(client, "POST", "/models/digits/versions", {"source": put_object(registry_app, "staging/b.tar.gz", body)})

    status, uploads = call(client, "GET", "/models/digits/uploads")

    assert status == 200
    assert [(u["outcome"], u["version"], u["equals_version"]) for u in uploads["items"]] == [
        ("unchanged", None, 1), ("accepted", 1, None)]


def test_the_openapi_document_is_served(client):
    status, document = call(client, "GET", "/openapi.json")

    assert status == 200
    assert document["openapi"] == "3.1.0"
    assert "/aliases/{alias}" in document["paths"]
