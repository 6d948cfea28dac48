"""A drop into incoming/ travels the real path: S3 notification → SQS → the Chalice handler."""
import gzip
import hashlib
import json
import threading

import pytest

from hostile_tarballs import ALL_CASES
from local_stack.pump import lambda_sqs_event
from local_stack.sample_models import cached_tarball

pytestmark = pytest.mark.xdist_group("moto-server")


def regzip(tarball_bytes: bytes, mtime: int) -> bytes:
    """The same model with different compressed bytes (the gzip header carries a timestamp)."""
    return gzip.compress(gzip.decompress(tarball_bytes), mtime=mtime)


def digits() -> bytes:
    return cached_tarball("digits").read_bytes()


def store(app):
    return app.get_store()


def versions_per_key(emulator, prefix: str) -> dict[str, int]:
    answer = emulator.s3.list_object_versions(Bucket=emulator.settings.bucket, Prefix=prefix)
    counts: dict[str, int] = {}
    for entry in answer.get("Versions", []) + answer.get("DeleteMarkers", []):
        counts[entry["Key"]] = counts.get(entry["Key"], 0) + 1
    return counts


def test_a_drop_becomes_version_one_with_its_record(emulator, emulated_app, pump):
    body = digits()
    etag = emulator.drop("incoming/digits.tar.gz", body, metadata={"uploader": "ada"})

    assert pump.drain() == 1

    assert emulator.keys("models/") == ["models/digits_v1.tar.gz"]
    assert emulator.read("models/digits_v1.tar.gz") == body
    assert emulator.keys("incoming/") == []
    record = store(emulated_app).get_version("digits", 1)
    assert record.target_model == "digits_v1.tar.gz"
    assert record.framework == "mxnet"
    assert record.input_shapes == [{"name": "data", "shape": [1, 64]}]
    assert record.labels_count == 10
    assert record.size == len(body)
    assert record.source_etag == etag
    assert record.claimed_uploader == "ada"  # typed by the uploader: a note, never the actor
    assert record.sha256 == hashlib.sha256(body).hexdigest()


def test_changed_content_becomes_v2_and_identical_content_makes_no_v3(emulator, emulated_app, pump):
    first, second = digits(), regzip(digits(), mtime=1)
    for body in (first, second, second):
        emulator.drop("incoming/digits.tar.gz", body)
        pump.drain()

    assert emulator.keys("models/") == ["models/digits_v1.tar.gz", "models/digits_v2.tar.gz"]
    uploads, _ = store(emulated_app).list_uploads("digits", limit=10, token=None)
    assert [u.outcome for u in uploads] == ["unchanged", "accepted", "accepted"]
    assert uploads[0].equals_version == 2
    assert emulator.keys("incoming/") == []


def test_a_message_delivered_three_times_makes_one_version(emulator, emulated_app):
    emulator.drop("incoming/digits.tar.gz", digits())
    message = emulator.sqs.receive_message(QueueUrl=emulator.queue_url, WaitTimeSeconds=1)["Messages"][0]

    for _ in range(3):
        emulated_app.ingest_uploads(lambda_sqs_event(message, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1"), None)

    assert emulator.keys("models/") == ["models/digits_v1.tar.gz"]
    uploads, _ = store(emulated_app).list_uploads("digits", limit=10, token=None)
    assert len(uploads) == 1


def test_ten_concurrent_uploads_of_one_model_get_versions_one_to_ten(emulator, emulated_app):
    # GIVEN ten different tarballs of one model, each announced by its own notification
    for i in range(10):
        emulator.drop(f"incoming/digits_v{i + 1}.tar.gz", regzip(digits(), mtime=100 + i))
    messages = []
    while len(messages) < 10:
        messages += emulator.sqs.receive_message(QueueUrl=emulator.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    # WHEN ten handlers run at once
    errors = []

    def handle(message):
        try:
            emulated_app.ingest_uploads(lambda_sqs_event(message, "arn:q", "us-east-1"), None)
        except Exception as exc:  # a lost race is retried by SQS; here we retry at once
            errors.append(exc)
            emulated_app.ingest_uploads(lambda_sqs_event(message, "arn:q", "us-east-1"), None)

    threads = [threading.Thread(target=handle, args=(m,)) for m in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN the versions are exactly 1..10, each key written once
    assert emulator.keys("models/") == sorted(f"models/digits_v{n}.tar.gz" for n in range(1, 11))
    versions, _ = store(emulated_app).list_versions("digits", limit=50, token=None)
    assert sorted(v.version for v in versions) == list(range(1, 11))
    assert len({v.sha256 for v in versions}) == 10
    assert set(versions_per_key(emulator, "models/").values()) == {1}
    assert store(emulated_app).get_model("digits").latest_version == 10


def test_out_of_order_notifications_never_lose_the_newest_upload(emulator, emulated_app, pump):
    # GIVEN two uploads to one key; the first one's bytes are overwritten before its notification is handled
    older, newer = digits(), regzip(digits(), mtime=7)
    emulator.drop("incoming/digits.tar.gz", older)
    emulator.drop("incoming/digits.tar.gz", newer)
    first, second = [], []
    while not (first and second):
        got = emulator.sqs.receive_message(QueueUrl=emulator.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        for message in got:
            (first if not first else second).append(message)
    # WHEN the newer notification arrives first
    for message in (second[0], first[0]):
        emulated_app.ingest_uploads(lambda_sqs_event(message, "arn:q", "us-east-1"), None)
    # THEN the newer bytes are v1 and the older event is recorded as superseded
    assert emulator.keys("models/") == ["models/digits_v1.tar.gz"]
    assert emulator.read("models/digits_v1.tar.gz") == newer
    uploads, _ = store(emulated_app).list_uploads("digits", limit=10, token=None)
    assert sorted(u.outcome for u in uploads) == ["accepted", "superseded"]


def test_folder_names_arrive_url_encoded_and_are_decoded(emulator, emulated_app, pump):
    emulator.drop("incoming/team-a/squeezenet_v1.0.tar.gz", digits())

    pump.drain()

    assert emulator.keys("models/") == ["models/team-a/squeezenet_v1.0_v1.tar.gz"]


def test_a_name_outside_the_safe_set_is_rejected_with_a_report(emulator, emulated_app, pump):
    emulator.drop("incoming/my model!.tar.gz", digits())

    pump.drain()

    assert emulator.keys("models/") == []
    assert emulator.keys("incoming/") == []
    parked = emulator.keys("rejected/")
    assert len(parked) == 2 and parked[0].endswith(".json") and parked[1].endswith(".tar.gz")
    report = json.loads(emulator.read(parked[0]))
    assert "name.invalid" in report["rules"]


def test_the_s3_test_event_and_foreign_messages_are_skipped(emulator, emulated_app, pump):
    for body in (json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}), "not json", "[]"):
        emulator.sqs.send_message(QueueUrl=emulator.queue_url, MessageBody=body)

    assert pump.drain() == 3

    assert emulator.keys("models/") == [] and emulator.keys("rejected/") == []


def test_a_transient_fault_raises_so_the_message_is_retried_and_finally_dead_lettered(emulator, emulated_app, pump):
    # GIVEN the registry table is gone: every attempt fails for a reason that is not the upload's
    emulator.drop("incoming/digits.tar.gz", digits())
    emulator.session.client("dynamodb").delete_table(TableName=emulator.settings.events_table)
    # WHEN the pump delivers it more times than the redrive policy allows
    for _ in range(8):
        pump.drain_once()
    # THEN it sits in the dead-letter queue, and the upload is still in the drop folder
    dead = emulator.sqs.receive_message(QueueUrl=emulator.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert len(dead) == 1
    assert emulator.keys("incoming/") == ["incoming/digits.tar.gz"]


@pytest.mark.slow
def test_real_resnet18_and_squeezenet_are_ingested(emulator, emulated_app, pump):
    for name in ("resnet_18", "squeezenet_v1.0"):
        emulator.drop(f"incoming/{name}.tar.gz", cached_tarball(name).read_bytes())

    pump.drain()

    assert emulator.keys("models/") == ["models/resnet_18_v1.tar.gz", "models/squeezenet_v1.0_v1.tar.gz"]
    resnet = store(emulated_app).get_version("resnet_18", 1)
    assert resnet.input_shapes == [{"name": "data", "shape": [1, 3, 224, 224]}]
    assert resnet.labels_count == 1000


@pytest.mark.parametrize("case_name", ["tf_input_of_500000_dimensions", "tf_input_of_300_dimensions_of_2_62",
                                       "tf_60000_signatures_without_serving_default"])
def test_a_hostile_tensorflow_signature_dropped_ends_rejected_with_no_version_and_no_number(
        emulator, emulated_app, pump, case_name):
    # GIVEN a 1 KB to 150 KB tarball whose signature no version record could hold
    case = next(case for case in ALL_CASES if case.name == case_name)
    emulator.drop("incoming/hostile.tar.gz", case.build())

    # WHEN its S3 event is delivered
    assert pump.drain() == 1

    # THEN it is rejected by its rule in one delivery: parked with a report, nothing under models/, no number taken
    (upload,), _ = store(emulated_app).list_uploads("hostile", limit=10, token=None)
    assert upload.outcome == "rejected" and upload.rules == [case.rule_id]
    assert emulator.keys("rejected/hostile/") == [upload.report_key, upload.rejected_key]
    assert emulator.keys("models/") == [] and emulator.keys("incoming/") == []
    assert store(emulated_app).get_model("hostile") is None
    assert emulator.sqs.receive_message(QueueUrl=emulator.dlq_url).get("Messages") is None
