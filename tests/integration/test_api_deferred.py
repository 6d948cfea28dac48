"""A REST registration too large to validate within the API's time limit answers 202 and finishes through the queue."""
import json
from pathlib import Path

import pytest
from chalice.test import Client

from local_stack.demo.sample_models import cached_tarball

pytestmark = pytest.mark.xdist_group("moto-server")


@pytest.fixture
def small_limit_app(reconfigure):
    """The app with REGISTRY_DEFERRED_REGISTRATION_BYTES low enough that the digits model counts as large."""
    return reconfigure(REGISTRY_DEFERRED_REGISTRATION_BYTES="1000")


@pytest.fixture
def http(small_limit_app):
    project_dir = str(Path(small_limit_app.__file__).parent)
    with Client(small_limit_app.app, stage_name="local", project_dir=project_dir) as client:
        yield client.http


def register(http, source: str):
    return http.post("/models/digits/versions", headers={"Content-Type": "application/json"},
                     body=json.dumps({"source": source, "aliases": ["digits"]}))


def test_a_large_registration_answers_202_and_its_record_ends_accepted(emulator, http, pump):
    # GIVEN a source larger than the API validates while the caller waits
    emulator.drop("sources/digits.tar.gz", cached_tarball("digits").read_bytes())

    # WHEN it is registered
    answer = register(http, "s3://mme-registry-local/sources/digits.tar.gz")

    # THEN the API answers at once with where its record is, and the record says queued
    assert answer.status_code == 202, answer.body
    body = json.loads(answer.body)
    location = answer.headers["Location"]
    assert location == f"/models/digits/uploads/{body['event_id']}"
    assert body["outcome"] == "queued"
    assert json.loads(http.get(location).body)["outcome"] == "queued"
    assert emulator.keys("models/") == []

    # WHEN the ingest queue is drained
    assert pump.drain() == 1

    # THEN the same record ends accepted, with the version and the alias the request asked for
    record = json.loads(http.get(location).body)
    assert (record["outcome"], record["version"], record["aliases"]) == ("accepted", 1, {"digits": "created at v1"})
    assert emulator.keys("models/") == ["models/digits_v1.tar.gz"]
    assert emulator.keys("sources/") == ["sources/digits.tar.gz"]  # the caller's object stays where it is
    # and registering it again answers from that record, without queueing anything
    again = register(http, "s3://mme-registry-local/sources/digits.tar.gz")
    assert again.status_code == 201 and json.loads(again.body)["version"]["version"] == 1
    assert pump.drain() == 0


def test_an_unknown_upload_id_is_a_404(http):
    answer = http.get("/models/digits/uploads/0123456789abcdef0123456789abcdef")
    assert answer.status_code == 404
    assert json.loads(answer.body)["error"]["code"] == "not_found"


def test_the_openapi_document_describes_the_202(http):
    document = json.loads(http.get("/openapi.json").body)
    responses = document["paths"]["/models/{name}/versions"]["post"]["responses"]
    assert responses["202"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/UploadView"}
    assert "Location" in responses["202"]["headers"]
