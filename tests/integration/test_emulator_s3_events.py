"""The emulator's S3 events name the object version, as S3's do in a versioned bucket.

Without it every delivery lists the key's versions to find it, and moto answers that by
deep-copying every version in the bucket: the 220 MB drop spent seconds there per event.
"""
import json
from urllib.parse import unquote_plus

import pytest

from local_stack.aws.emulator import s3_event_gaps
from local_stack.demo.sample_models import cached_tarball

pytestmark = pytest.mark.xdist_group("moto-server")


@pytest.fixture
def s3_events_filled(monkeypatch):
    for owner, name, replacement in s3_event_gaps():
        monkeypatch.setattr(owner, name, replacement)


def announced_objects(emulator) -> list[dict]:
    """The `s3.object` of every S3 event in the queue, key decoded (a configuration's s3:TestEvent has none)."""
    answer = emulator.sqs.receive_message(QueueUrl=emulator.queue_url, MaxNumberOfMessages=10)
    bodies = [json.loads(message["Body"]) for message in answer.get("Messages", [])]
    objects = [record["s3"]["object"] for body in bodies for record in body.get("Records", [])]
    return [{**entry, "key": unquote_plus(entry["key"])} for entry in objects]


def test_an_event_of_the_versioned_bucket_carries_the_version_of_the_object_it_announces(emulator, s3_events_filled):
    etags = {emulator.drop("incoming/digits.tar.gz", body) for body in (b"first", b"second")}

    announced = announced_objects(emulator)

    assert {entry["eTag"] for entry in announced} == etags
    bucket = emulator.settings.bucket
    for entry in announced:
        version = emulator.s3.head_object(Bucket=bucket, Key=entry["key"], VersionId=entry["versionId"])
        assert version["ETag"].strip('"') == entry["eTag"]


def test_an_event_of_an_unversioned_bucket_has_no_version(emulator, s3_events_filled):
    bucket = "unversioned-drops"
    emulator.s3.create_bucket(Bucket=bucket)
    emulator.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": emulator.sqs.get_queue_attributes(
            QueueUrl=emulator.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"],
            "Events": ["s3:ObjectCreated:*"]}]})

    emulator.s3.put_object(Bucket=bucket, Key="incoming/digits.tar.gz", Body=b"bytes")

    [announced] = announced_objects(emulator)
    assert announced["key"] == "incoming/digits.tar.gz" and "versionId" not in announced


def test_a_drop_is_ingested_without_listing_the_buckets_versions(emulator, emulated_app, pump, s3_events_filled):
    listed = []
    emulated_app.get_session().events.register("before-call.s3.ListObjectVersions", lambda **_: listed.append(1))
    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes())

    assert pump.drain() == 1

    assert emulator.keys("models/") == ["models/digits_v1.tar.gz"]
    assert listed == []
