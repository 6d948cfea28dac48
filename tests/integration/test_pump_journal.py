"""A pump restarted after a crash hands on what its predecessor held, under the claim the handler really took."""
import pytest

from chalicelib.records import utcnow
from local_stack.aws.pump_journal import InFlightJournal, hand_on_abandoned
from local_stack.demo.sample_models import cached_tarball

pytestmark = pytest.mark.xdist_group("moto-server")


def test_a_dead_pumps_upload_is_taken_over_at_once_under_the_identity_the_handler_claimed(
        emulator, emulated_app, pump, tmp_path):
    # GIVEN an upload whose notification (as the emulator sends it: no versionId) a pump received and claimed,
    # then died while holding it
    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes())
    message = emulator.sqs.receive_message(QueueUrl=emulator.queue_url, WaitTimeSeconds=1,
                                           AttributeNames=["All"])["Messages"][0]
    journal = InFlightJournal(tmp_path / "in-flight.json")
    journal.hold([message])
    deliveries = emulated_app.get_deliveries()
    [event_id] = deliveries.claim_ids(message["Body"])
    assert emulated_app.get_claims().claim(event_id, utcnow()) is not None  # the dead run's claim

    # WHEN the next pump starts and hands on what was left behind
    handed_on = hand_on_abandoned(journal, emulator.sqs, emulator.queue_url, emulated_app.get_claims(),
                                  deliveries.claim_ids)

    # THEN the message is delivered again at once, and its run takes over the claim and makes the version
    assert handed_on == 1
    assert pump.drain() == 1
    uploads, _ = emulated_app.get_store().list_uploads("digits", limit=10, token=None)
    assert [(u.outcome, u.version) for u in uploads] == [("accepted", 1)]
    assert journal.left_behind() == {}
