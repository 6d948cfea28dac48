"""What an uploader is told: the record that says what became of its bytes, read over HTTP as the client does."""
import json
import os
from datetime import datetime, timedelta, timezone

import pytest

from client.registry_api import RegistryApi
from client.uploads import wait_for_outcome
from local_stack.aws import devserver
from local_stack.processes.children import ChildProcess, free_port
from local_stack.demo.sample_models import cached_tarball
from local_stack.stack import HOST, REPO

pytestmark = [pytest.mark.xdist_group("moto-server"), pytest.mark.slow]


@pytest.fixture
def registry_api(moto_server, tmp_path):
    """The registry API (`chalice local`, as the local stack runs it) on this worker's emulator."""
    port = free_port()
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_server, "PYTHONUNBUFFERED": "1"}
    api = ChildProcess("the registry API", devserver.argv(HOST, port), tmp_path / "api.log", env=env,
                       cwd=REPO / "registry_app").start()
    try:
        api.wait_for_http(f"http://{HOST}:{port}/health", 120, healthy=lambda r: r.status_code == 200)
        yield RegistryApi(f"http://{HOST}:{port}")
    finally:
        api.stop()


def notified_again(body: str, later_by: timedelta) -> str:
    """The emulator's second notification of one multipart upload: ObjectCreated:Put is followed by
    ObjectCreated:CompleteMultipartUpload for the same object, a few milliseconds later, neither with
    a versionId or a sequencer (moto 5.2.5's complete_multipart_upload)."""
    message = json.loads(body)
    record = message["Records"][0]
    sent = datetime.fromisoformat(record["eventTime"]) + later_by
    record["eventTime"] = sent.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    record["eventName"] = "ObjectCreated:CompleteMultipartUpload"
    return json.dumps(message)


def test_an_upload_that_became_a_version_is_not_reported_superseded_by_its_duplicate_notification(
        emulator, emulated_app, pump, registry_api):
    # GIVEN a bucket where a notification's object version cannot be looked up (versioning suspended), and
    # an upload notified twice with two event times, as the emulator notifies a multipart upload
    bucket = emulator.settings.bucket
    emulator.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    since = datetime.now(timezone.utc) - timedelta(seconds=0.5)
    key = "incoming/digits.tar.gz"
    etag = emulator.drop(key, cached_tarball("digits").read_bytes())
    [first] = emulator.sqs.receive_message(QueueUrl=emulator.queue_url, VisibilityTimeout=0)["Messages"]
    emulator.sqs.send_message(QueueUrl=emulator.queue_url, MessageBody=notified_again(first["Body"],
                                                                                       timedelta(milliseconds=8)))

    # WHEN both notifications are handled: the first makes v1 and clears incoming/, the second finds it gone
    assert pump.drain() == 2
    outcomes = [item["outcome"] for item in registry_api.list_uploads("digits")["items"]]
    assert sorted(outcomes) == ["accepted", "superseded"]

    # THEN the uploader is told the version its bytes became
    outcome = wait_for_outcome(registry_api, "digits", key, etag, since, timeout=10)
    assert (outcome.outcome, outcome.version) == ("accepted", 1)
    assert emulator.keys("models/") == ["models/digits_v1.tar.gz"]
