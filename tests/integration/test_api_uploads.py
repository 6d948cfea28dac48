"""A presigned upload travels the whole drop-folder path: PUT → S3 notification → SQS → ingest → alias moved."""
import json
from pathlib import Path

import pytest
import requests

from local_stack.demo.sample_models import cached_tarball

pytestmark = pytest.mark.xdist_group("moto-server")


@pytest.fixture
def emulated_api(emulated_app):
    from chalice.test import Client

    with Client(emulated_app.app, stage_name="local", project_dir=str(Path(emulated_app.__file__).parent)) as client:
        yield client.http


def post(client, path: str, body: dict):
    response = client.request("POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    return response.status_code, json.loads(response.body)


def test_an_upload_through_a_presigned_link_becomes_a_version_and_creates_its_requested_alias(
        emulated_api, emulator, pump):
    # GIVEN a presigned link for team-a/digits that asks for the alias "prod"
    status, link = post(emulated_api, "/models/team-a%2Fdigits/uploads", {"aliases": ["prod"]})
    assert status == 201
    assert link["headers"]["x-amz-meta-registry-actor"] == "anonymous"  # the verified caller (the local stage's)

    # WHEN the tarball is PUT with exactly the headers the answer lists, and the queue is drained
    answer = requests.put(link["url"], data=cached_tarball("digits").read_bytes(), headers=link["headers"], timeout=30)
    assert answer.status_code == 200, answer.text
    assert pump.drain() == 1

    # THEN the upload is version 1, the alias points at it, and the upload's outcome says so
    assert emulator.keys("models/") == ["models/team-a/digits_v1.tar.gz"]
    alias = json.loads(emulated_api.get("/aliases/prod").body)
    # The emulator's notifications carry no principal, and no API role is configured locally: the caller the link
    # vouches for (x-amz-meta-registry-actor) is a claim here, never the actor.
    assert (alias["target_model"], alias["updated_by"]) == ("team-a/digits_v1.tar.gz", "ingest")
    uploads = json.loads(emulated_api.get("/models/team-a%2Fdigits/uploads").body)["items"]
    assert [(u["outcome"], u["version"], u["aliases"]) for u in uploads] == [("accepted", 1, {"prod": "created at v1"})]
