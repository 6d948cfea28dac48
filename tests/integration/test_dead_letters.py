"""An upload whose ingest keeps failing ends in the dead-letter queue with a `failed` record, and a redrive finishes it.

Real SQS semantics throughout (moto server): the ingest queue's redrive policy moves the
message after `max_receives` deliveries, exactly as in AWS.
"""
import pytest

from chalicelib.errors import TransientError
from local_stack.demo.sample_models import cached_tarball
from publisher.cli import main as publisher

pytestmark = pytest.mark.xdist_group("moto-server")


def queue_length(emulator, url: str) -> int:
    answer = emulator.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(n) for n in answer["Attributes"].values())


def test_an_upload_that_fails_every_delivery_is_dead_lettered_listed_and_redriven(
        emulator, emulated_app, pump, failing_s3, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    store = emulated_app.get_store()
    # GIVEN an upload whose every ingest attempt hits a transient fault
    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes())

    # WHEN the queue delivers it until SQS gives up
    assert pump.drain() == 0

    # THEN the message is in the dead-letter queue, the upload still in incoming/, and its record says why
    assert queue_length(emulator, emulator.dlq_url) == 1
    assert queue_length(emulator, emulator.queue_url) == 0
    assert emulator.keys("incoming/") == ["incoming/digits.tar.gz"]
    assert emulator.keys("models/") == []
    uploads, _ = store.list_uploads("digits", limit=10, token=None)
    assert [(u.outcome, u.attempts) for u in uploads] == [("failed", emulator.settings.max_receives)]
    assert uploads[0].error == "TransientError: reading the upload timed out"
    claim = emulated_app.get_claims().get(uploads[0].event_id)
    assert claim["last_error"] == "TransientError: reading the upload timed out"

    # WHEN an operator lists the dead letters
    assert publisher(["dead-letters", "list", "--queue", emulator.settings.queue]) == 0
    listed = capsys.readouterr().out
    # THEN the listing names the upload, its model, its attempts and its last error
    assert uploads[0].event_id in listed
    assert "s3://mme-registry-local/incoming/digits.tar.gz" in listed
    assert "TransientError: reading the upload timed out" in listed
    assert "│ digits " in listed and f"│ {emulator.settings.max_receives} " in listed and "failed" in listed
    assert queue_length(emulator, emulator.dlq_url) == 1  # listing leaves the message where it was

    # WHEN the fault is gone and the operator redrives it
    failing_s3()
    assert publisher(["dead-letters", "redrive", "--queue", emulator.settings.queue,
                      "--event-id", uploads[0].event_id]) == 0
    assert queue_length(emulator, emulator.dlq_url) == 0
    assert pump.drain() == 1

    # THEN the same ingest path made it a version, and its record says so in place of `failed`
    assert emulator.keys("models/") == ["models/digits_v1.tar.gz"]
    assert emulator.keys("incoming/") == []
    uploads, _ = store.list_uploads("digits", limit=10, token=None)
    assert [(u.outcome, u.version) for u in uploads] == [("accepted", 1)]


def test_a_failure_before_the_last_delivery_leaves_no_failed_record_only_a_note(emulator, emulated_app, failing_s3):
    from local_stack.aws.pump import lambda_sqs_event

    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes())
    message = emulator.sqs.receive_message(QueueUrl=emulator.queue_url, WaitTimeSeconds=1,
                                           AttributeNames=["All"])["Messages"][0]

    with pytest.raises(TransientError):
        emulated_app.ingest_uploads(lambda_sqs_event(message, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1"),
                                    None)

    uploads, _ = emulated_app.get_store().list_uploads("digits", limit=10, token=None)
    assert uploads == []
    claims = emulated_app.get_claims()
    table = emulator.session.client("dynamodb").scan(TableName=emulator.settings.events_table)["Items"]
    [claim] = [claims.get(item["pk"]["S"]) for item in table]
    assert claim["last_error"] == "TransientError: reading the upload timed out"
    assert claim["status"] == "INPROGRESS"


def test_redrive_refuses_to_guess_which_messages(emulator, capsys):
    assert publisher(["dead-letters", "redrive", "--queue", emulator.settings.queue]) == 2
    assert "--all or --event-id" in capsys.readouterr().out


def test_the_queue_must_be_named(emulator, capsys, monkeypatch):
    monkeypatch.delenv("REGISTRY_QUEUE", raising=False)
    assert publisher(["dead-letters", "list"]) == 2
    assert "--queue NAME or REGISTRY_QUEUE" in capsys.readouterr().out
