"""Every ingest outcome puts exactly one change event in the outbox, in the transaction that records it."""
from datetime import timedelta

import pytest

from change_events import of_type, outbox_events
from chalicelib.aliases.alias_store import AliasStore
from chalicelib.aliases.aliases import Aliases
from chalicelib.versions.ingest import Ingestor
from chalicelib.records import utcnow
from local_stack.aws.pump import lambda_sqs_event
from local_stack.demo.sample_models import cached_tarball
from test_ingest_recovery import STEPS, Crash, CrashAfter, adapters, upload_of

pytestmark = pytest.mark.xdist_group("moto-server")

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:q"


def events(emulator) -> list[dict]:
    return outbox_events(emulator.session.client("dynamodb"), emulator.settings.table)


def digits() -> bytes:
    return cached_tarball("digits").read_bytes()


def test_a_drop_announces_one_model_version_registered(emulator, emulated_app, pump):
    emulator.drop("incoming/digits.tar.gz", digits(), metadata={"alias": "digits-prod"})

    pump.drain()

    registered, moved = of_type(events(emulator), "ModelVersionRegistered"), of_type(events(emulator), "AliasMoved")
    assert len(events(emulator)) == 2
    [event] = registered
    version = emulated_app.get_store().get_version("digits", 1)
    assert (event["model"], event["version"], event["sha256"]) == ("digits", 1, version.sha256)
    assert event["target_model"] == "digits_v1.tar.gz"
    assert event["upload_event_id"] == version.event_id
    assert event["requested_aliases"] == ["digits-prod"]
    [alias] = moved
    assert (alias["alias"], alias["revision"], alias["action"], alias["created"]) == ("digits-prod", 1, "follow", True)
    assert alias["from"] is None and alias["to"]["targets"] == [{"model": "digits", "version": 1, "weight": 100}]


def test_identical_bytes_announce_upload_unchanged_with_the_version_they_equal(emulator, pump):
    for _ in range(2):
        emulator.drop("incoming/digits.tar.gz", digits())
        pump.drain()

    found = events(emulator)
    assert [e["type"] for e in found] == ["ModelVersionRegistered", "UploadUnchanged"]
    assert found[1]["equals_version"] == 1 and found[1]["model"] == "digits"


def test_a_bad_drop_announces_upload_rejected_with_its_rules_and_rejected_key(emulator, emulated_app, pump):
    emulator.drop("incoming/digits.tar.gz", b"not a tarball")

    pump.drain()

    [event] = events(emulator)
    [upload], _ = emulated_app.get_store().list_uploads("digits", limit=10, token=None)
    assert event["type"] == "UploadRejected"
    assert event["rules"] == upload.rules and event["rules"]
    assert event["rejected_key"] == upload.rejected_key and event["rejected_key"].startswith("rejected/")
    assert event["upload_event_id"] == upload.event_id


def test_a_message_delivered_three_times_announces_each_change_once(emulator, emulated_app):
    emulator.drop("incoming/digits.tar.gz", digits(), metadata={"alias": "digits-prod"})
    message = emulator.sqs.receive_message(QueueUrl=emulator.queue_url, WaitTimeSeconds=1)["Messages"][0]

    for _ in range(3):
        emulated_app.ingest_uploads(lambda_sqs_event(message, QUEUE_ARN, "us-east-1"), None)

    found = events(emulator)
    assert sorted(e["type"] for e in found) == ["AliasMoved", "ModelVersionRegistered"]
    assert len({e["event_id"] for e in found}) == 2


def with_aliases(emulator, parts: dict) -> dict:
    """The adapters ingestion uses, plus the alias use cases on the same store."""
    alias_store = AliasStore(emulator.session.client("dynamodb"), emulator.settings.table)
    return {**parts, "aliases": Aliases(parts["store"], alias_store)}


@pytest.mark.parametrize("adapter,method", STEPS, ids=[f"{a}.{m}" for a, m in STEPS])
def test_a_crash_after_any_step_then_a_retry_announces_the_version_and_the_alias_move_once(
        emulator, adapter, method):
    # GIVEN a run that dies right after one step of an upload that asks for an alias
    emulator.drop("incoming/digits.tar.gz", digits(), metadata={"alias": "digits-prod"})
    upload = upload_of(emulator, "incoming/digits.tar.gz")
    parts = adapters(emulator)
    dying = {**parts, adapter: CrashAfter(parts[adapter], method)}
    with pytest.raises(Crash):
        Ingestor(settings=emulator.settings, **with_aliases(emulator, dying)).ingest(upload)
    # WHEN the message is redelivered after the claim expired
    later = utcnow() + timedelta(seconds=2 * emulator.settings.claim_timeout_seconds)
    Ingestor(settings=emulator.settings, clock=lambda: later, **with_aliases(emulator, parts)).ingest(upload)
    # THEN the version and the alias's creation were each announced exactly once
    found = events(emulator)
    assert sorted((e["type"], e.get("version", e.get("revision"))) for e in found) == [
        ("AliasMoved", 1), ("ModelVersionRegistered", 1)]


@pytest.mark.parametrize("adapter,method", [("store", "put_upload"), ("artifacts", "delete_if_unchanged"),
                                            ("claims", "complete")])
def test_a_crash_after_recording_a_rejection_then_a_retry_announces_it_once(emulator, adapter, method):
    emulator.drop("incoming/digits.tar.gz", b"not a tarball")
    upload = upload_of(emulator, "incoming/digits.tar.gz")
    parts = adapters(emulator)
    with pytest.raises(Crash):
        Ingestor(settings=emulator.settings, **{**parts, adapter: CrashAfter(parts[adapter], method)}).ingest(upload)
    later = utcnow() + timedelta(seconds=2 * emulator.settings.claim_timeout_seconds)
    Ingestor(settings=emulator.settings, clock=lambda: later, **parts).ingest(upload)

    assert [e["type"] for e in events(emulator)] == ["UploadRejected"]
