"""What one upload costs in AWS round trips, counted on the handler's own boto3 clients (botocore events).

Every call the ingest makes is a DynamoDB or S3 request Lambda waits for; the common upload (a new
version, no warm-up, no alias to move) is held to at most 8 of them (bench/ingest.py prints the table).
"""
from collections import Counter

import pytest
from hostile_tarballs import valid_mxnet

from local_stack.aws.emulator import s3_event_gaps

pytestmark = pytest.mark.xdist_group("moto-server")

COMMON_UPLOAD_BUDGET = 8


@pytest.fixture
def counted(emulated_app, monkeypatch):
    """Every AWS call the app's clients make, by service and operation; events name their object version, as S3's
    do in the registry's versioned bucket."""
    for owner, name, replacement in s3_event_gaps():
        monkeypatch.setattr(owner, name, replacement)
    calls: Counter = Counter()
    emulated_app.get_session().events.register(
        "before-call", lambda model, **_: calls.update([f"{model.service_model.service_name}.{model.name}"]))
    return calls


def ingest_one(emulator, pump, calls: Counter, key: str, body: bytes) -> Counter:
    """Drops one upload, runs its delivery, and answers the calls that delivery made."""
    emulator.drop(key, body, metadata={"warmup": "false"})
    calls.clear()
    while pump.drain_once():
        pass
    return Counter(calls)


def table(calls: Counter) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(calls.items()))


def test_a_new_version_of_a_new_model_takes_at_most_8_round_trips(emulator, emulated_app, pump, counted):
    made = ingest_one(emulator, pump, counted, "incoming/fresh.tar.gz", valid_mxnet())

    assert emulated_app.get_store().get_model("fresh").latest_version == 1
    assert sum(made.values()) <= COMMON_UPLOAD_BUDGET, table(made)


def test_a_new_version_of_a_known_model_takes_at_most_8_round_trips(emulator, emulated_app, pump, counted):
    # GIVEN the model has a version already
    ingest_one(emulator, pump, counted, "incoming/known.tar.gz", valid_mxnet())
    # WHEN other bytes of it are uploaded
    made = ingest_one(emulator, pump, counted, "incoming/known.tar.gz", valid_mxnet(prefix="other"))
    # THEN they become v2 within the budget
    assert emulated_app.get_store().get_model("known").latest_version == 2
    assert sum(made.values()) <= COMMON_UPLOAD_BUDGET, table(made)


def test_an_identical_re_upload_takes_at_most_6_round_trips(emulator, emulated_app, pump, counted):
    ingest_one(emulator, pump, counted, "incoming/same.tar.gz", valid_mxnet())

    made = ingest_one(emulator, pump, counted, "incoming/same.tar.gz", valid_mxnet())

    assert emulated_app.get_store().list_uploads("same", 10, None)[0][0].outcome == "unchanged"
    assert sum(made.values()) <= 6, table(made)


def test_a_rejected_upload_takes_at_most_7_round_trips(emulator, emulated_app, pump, counted):
    made = ingest_one(emulator, pump, counted, "incoming/junk.tar.gz", b"not a tarball")

    assert emulated_app.get_store().list_uploads("junk", 10, None)[0][0].outcome == "rejected"
    assert sum(made.values()) <= 7, table(made)  # the copy to rejected/ and its report are two of them
