"""Every error class answers JSON {"error": {"code", "message", "details"}} with the right status, never a trace."""
import json

import pytest

from chalicelib.api.http import MAX_BODY_BYTES

pytestmark = pytest.mark.xdist_group("api-errors")  # one worker builds this module's moto once


def send(client, method: str, path: str, raw: bytes = b"", content_type: str = "application/json"):
    response = client.request(method, path, body=raw, headers={"Content-Type": content_type})
    body = json.loads(response.body)
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert "Traceback" not in response.body.decode()
    return response.status_code, body["error"], response.headers


def put_alias(client, alias: str, document) -> tuple[int, dict, dict]:
    return send(client, "PUT", f"/aliases/{alias}", json.dumps(document).encode())


@pytest.mark.parametrize("path", ["/", "/nope", "/models/x/nope", "/aliases/a/history/more", "/a/b/c/d/e/f/g/h"])
def test_an_unknown_route_is_404(client, path):
    status, error, _ = send(client, "GET", path)

    assert (status, error["code"]) == (404, "not_found")


@pytest.mark.parametrize("method, path, allowed", [
    ("POST", "/health", "GET"),
    ("DELETE", "/models", "GET"),
    ("PATCH", "/aliases/prod", "DELETE, GET, PUT"),
    ("PUT", "/models/x/uploads", "GET, POST"),
])
def test_a_method_the_route_lacks_is_405_with_allow(client, method, path, allowed):
    status, error, headers = send(client, method, path)

    assert (status, error["code"]) == (405, "method_not_allowed")
    assert headers["Allow"] == allowed


@pytest.mark.parametrize("raw", [b"{", b"{'model': 1}", b"\xff\xfe", b"[1,"])
def test_malformed_json_is_400(client, raw):
    status, error, _ = send(client, "PUT", "/aliases/prod", raw)

    assert (status, error["code"]) == (400, "bad_request")


def test_a_missing_body_is_400(client):
    assert send(client, "PUT", "/aliases/prod")[:2] == (400, {"code": "bad_request", "message": "a JSON body is required",
                                                              "details": {}})


def test_an_oversized_body_is_413_before_anything_reads_it(client):
    raw = b'{"model": "' + b"m" * MAX_BODY_BYTES + b'", "version": 1}'

    status, error, _ = send(client, "PUT", "/aliases/prod", raw)

    assert (status, error["code"], error["details"]["limit"]) == (413, "payload_too_large", MAX_BODY_BYTES)


def test_a_body_that_is_not_json_content_is_415(client):
    status, error, _ = send(client, "PUT", "/aliases/prod", b"model=m", content_type="text/plain")

    assert (status, error["code"]) == (415, "unsupported_media_type")


@pytest.mark.parametrize("document, where", [
    ([1, 2], ""),
    ({"model": "m"}, "give either"),
    ({"model": "m", "version": "2"}, "version"),
    ({"model": "m", "version": 0}, "version"),
    ({"model": "m", "version": 1, "expected_revison": 1}, "expected_revison"),
    ({"targets": [{"model": "m", "version": 1, "weight": 0}]}, "weight"),
    ({"targets": [{"model": "m", "version": 1, "weight": 50}, {"model": "m", "version": 1, "weight": 50}]}, "twice"),
    ({"model": "m", "version": 1, "targets": [{"model": "m", "version": 1, "weight": 100}]}, "not both"),
    ({"model": "m", "version": True}, "version"),
])
def test_an_invalid_alias_body_is_422_and_says_which_field(client, document, where):
    status, error, _ = put_alias(client, "prod", document)

    assert (status, error["code"]) == (422, "invalid_input")
    assert where in error["message"]


@pytest.mark.parametrize("alias", ["latest", "Latest", "v12", "a%20b", "caf%C3%A9", "x" * 129])
def test_a_reserved_or_malformed_alias_name_is_422_stating_the_rule(client, alias):
    status, error, _ = put_alias(client, alias, {"model": "m", "version": 1})

    assert (status, error["code"]) == (422, "invalid_input")
    assert "alias" in error["message"]


@pytest.mark.parametrize("path", ["/models/bad..name", "/models/x_v2/versions", "/models/%2E%2E/uploads",
                                  "/models/m/versions/0", "/models/m/versions/-1", "/models/m/versions/1.5"])
def test_an_invalid_model_name_or_version_in_the_path_is_422(client, path):
    status, error, _ = send(client, "GET", path)

    assert (status, error["code"]) == (422, "invalid_input")


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=abc", "limt=5"])
def test_a_bad_page_parameter_is_422(client, query):
    status, error, _ = send(client, "GET", f"/aliases?{query}")

    assert (status, error["code"]) == (422, "invalid_input")


def test_a_token_from_another_listing_names_no_page_of_this_one_404(client, seed):
    for _ in range(3):
        seed.version("resnet_18")
    token = json.loads(client.get("/models/resnet_18/versions?limit=1").body)["next_token"]

    status, error, _ = send(client, "GET", f"/aliases?next_token={token}")

    assert (status, error["code"]) == (404, "not_found")


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/aliases/ghost", None),
    ("GET", "/aliases/ghost/history", None),
    ("DELETE", "/aliases/ghost", None),
    ("POST", "/aliases/ghost/rollback", None),
    ("GET", "/models/ghost", None),
    ("GET", "/models/ghost/versions", None),
    ("GET", "/models/resnet_18/versions/9", None),
    ("PUT", "/aliases/prod", {"model": "resnet_18", "version": 9}),
    ("PUT", "/aliases/prod", {"model": "ghost", "version": "latest"}),
])
def test_unknown_things_are_404(client, seed, method, path, body):
    seed.version("resnet_18")

    status, error, _ = send(client, method, path, json.dumps(body).encode() if body else b"")

    assert (status, error["code"]) == (404, "not_found")


@pytest.mark.parametrize("source, rule", [
    ("s3://someone-elses-bucket/model.tar.gz", "its own bucket"),
    ("s3://mme-registry-local/incoming/digits.tar.gz", "drop folder"),
    ("s3://mme-registry-local/models/digits_v1.tar.gz", "belong to the registry"),
    ("s3://mme-registry-local/rejected/digits/x.tar.gz", "belong to the registry"),
    ("bucket/key", "source"),
])
def test_a_registration_source_outside_what_the_registry_reads_is_422(client, source, rule):
    status, error, _ = send(client, "POST", "/models/digits/versions", json.dumps({"source": source}).encode())

    assert (status, error["code"]) == (422, "invalid_input")
    assert rule in error["message"]


def test_a_conflict_is_409(client, seed):
    seed.version("resnet_18")
    assert client.request("PUT", "/aliases/prod", body=b'{"model": "resnet_18", "version": 1}').status_code == 200

    status, error, _ = put_alias(client, "prod", {"model": "resnet_18", "version": 1, "expected_revision": 0})

    assert (status, error["code"], error["details"]["current_revision"]) == (409, "conflict", 1)


def test_a_storage_fault_is_a_500_in_the_same_shape_without_a_trace(client, registry_app, settings, caplog):
    registry_app.get_session().client("dynamodb").delete_table(TableName=settings.table)
    try:
        status, error, _ = send(client, "GET", "/aliases/prod")
    finally:
        from local_stack.provision import provision
        provision(registry_app.get_session(), settings)

    assert (status, error["code"]) == (500, "internal_error")
    assert "ResourceNotFound" not in error["message"]
    assert any("GET /aliases/{alias} failed" in r.getMessage() for r in caplog.records)
