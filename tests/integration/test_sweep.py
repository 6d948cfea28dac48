"""Missed S3 events: the scheduled sweep turns forgotten uploads into versions, and never into two."""
import pytest

from chalicelib.settings import Settings
from chalicelib.versions.sweep import Sweeper
from local_stack.demo.sample_models import cached_tarball

pytestmark = pytest.mark.xdist_group("moto-server")

SCHEDULED_EVENT = {"version": "0", "id": "sweep", "detail-type": "Scheduled Event", "source": "aws.events",
                   "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
                   "resources": ["arn:aws:events:us-east-1:123456789012:rule/sweep"], "detail": {}}


@pytest.fixture
def sweep_at_once(reconfigure):
    """The app configured to sweep uploads of any age (REGISTRY_SWEEP_AFTER_SECONDS=0)."""
    return reconfigure(REGISTRY_SWEEP_AFTER_SECONDS="0")


def notifications_off(emulator) -> None:
    emulator.s3.put_bucket_notification_configuration(Bucket=emulator.settings.bucket, NotificationConfiguration={})


def test_an_upload_whose_event_never_came_becomes_a_version_through_the_sweep(emulator, sweep_at_once, pump):
    # GIVEN an upload made while S3 sent no notifications
    notifications_off(emulator)
    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes())
    assert pump.drain() == 0

    # WHEN the scheduled sweep runs and the queue is drained
    sweep_at_once.sweep_incoming(SCHEDULED_EVENT, None)
    assert pump.drain() == 1

    # THEN it is a version, recorded, and gone from the drop folder
    assert emulator.keys("models/") == ["models/digits_v1.tar.gz"]
    assert emulator.keys("incoming/") == []
    uploads, _ = sweep_at_once.get_store().list_uploads("digits", limit=10, token=None)
    assert [(u.outcome, u.version) for u in uploads] == [("accepted", 1)]


def test_a_late_real_event_for_a_swept_upload_creates_nothing(emulator, sweep_at_once, pump):
    # GIVEN an upload whose real S3 event is held back
    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes())
    late = emulator.sqs.receive_message(QueueUrl=emulator.queue_url, WaitTimeSeconds=1)["Messages"][0]
    emulator.sqs.delete_message(QueueUrl=emulator.queue_url, ReceiptHandle=late["ReceiptHandle"])
    # ... and taken by the sweep in the meantime
    sweep_at_once.sweep_incoming(SCHEDULED_EVENT, None)
    assert pump.drain() == 1
    assert emulator.keys("models/") == ["models/digits_v1.tar.gz"]

    # WHEN the real event finally arrives
    emulator.sqs.send_message(QueueUrl=emulator.queue_url, MessageBody=late["Body"])
    assert pump.drain() == 1

    # THEN there is still one version and one upload record
    store = sweep_at_once.get_store()
    assert emulator.keys("models/") == ["models/digits_v1.tar.gz"]
    assert store.get_model("digits").next_version == 1
    uploads, _ = store.list_uploads("digits", limit=10, token=None)
    assert [(u.outcome, u.version) for u in uploads] == [("accepted", 1)]


def test_the_sweep_leaves_young_and_claimed_uploads_alone(emulator, emulated_app, pump):
    # GIVEN one upload already ingested (its claim stays) and one just dropped without an event
    emulator.drop("incoming/old.tar.gz", cached_tarball("digits").read_bytes())
    pump.drain()
    notifications_off(emulator)
    emulator.drop("incoming/young.tar.gz", cached_tarball("digits").read_bytes())

    # WHEN the sweep runs with the default age (REGISTRY_SWEEP_AFTER_SECONDS=900)
    report = emulated_app.get_sweeper().run()

    # THEN it announces nothing: the young one may still get its event
    assert (report.seen, report.young, report.announced, report.complete) == (1, 1, [], True)
    assert pump.drain() == 0


def test_the_sweep_stops_at_its_time_budget(emulator, emulated_app):
    notifications_off(emulator)
    for name in ("a", "b", "c"):
        emulator.drop(f"incoming/{name}.tar.gz", cached_tarball("digits").read_bytes())
    ticks = iter(range(100))
    app = emulated_app
    sweeper = Sweeper(emulator.s3, app.get_artifacts(), app.get_claims(), app.get_ingest_queue(),
                      Settings(sweep_after_seconds=0, sweep_budget_seconds=1), timer=lambda: next(ticks))

    report = sweeper.run()

    # the budget (1 tick) runs out after the first object: the others wait for the next run
    assert (report.seen, report.announced, report.complete) == (1, ["incoming/a.tar.gz"], False)


def test_the_local_pump_runs_the_sweep_on_its_schedule(emulator, sweep_at_once):
    import time

    from local_stack.aws.pump import EventPump

    notifications_off(emulator)
    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes())
    pump = EventPump(emulator.sqs, emulator.queue_url, sweep_at_once.ingest_uploads, retry_delay_seconds=0,
                     scheduled=[(sweep_at_once.sweep_incoming, 0.2)])

    pump.start(interval=0.05)
    try:
        deadline = time.monotonic() + 30
        while emulator.keys("models/") == [] and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        pump.stop()

    assert emulator.keys("models/") == ["models/digits_v1.tar.gz"]


def test_the_sweep_leaves_a_dead_lettered_upload_in_the_drop_folder_alone(emulator, emulated_app, pump, failing_s3):
    # GIVEN an upload whose every delivery failed: its message is in the dead-letter queue, its claim stays,
    # and the object is still in incoming/
    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes())
    assert pump.drain() == 0
    assert emulator.keys("incoming/") == ["incoming/digits.tar.gz"]
    failing_s3()
    # WHEN the sweep runs with no age limit
    sweeper = Sweeper(emulator.s3, emulated_app.get_artifacts(), emulated_app.get_claims(),
                      emulated_app.get_ingest_queue(), Settings(sweep_after_seconds=0))
    report = sweeper.run()
    # THEN it announces nothing: the dead-letter queue has it, and an operator redrives it (not every sweep)
    assert (report.seen, report.claimed, report.announced) == (1, 1, [])
    assert pump.drain() == 0
