"""The publisher hands outbox events to EventBridge: the rule's queue gets each once, each alias's in order."""
import gzip
import json
from datetime import datetime, timezone

import pytest

from change_events import check, outbox_events
from chalicelib.aliases.alias_store import AliasChange, AliasState, AliasTarget
from chalicelib.outbox import changes, items
from chalicelib.outbox.items import Outbox
from chalicelib.outbox.publisher import OutboxPublisher
from local_stack.aws.emulator import events_gaps
from local_stack.aws.event_bus import provision_event_bus, tail_queue_name
from local_stack.demo.sample_models import cached_tarball

pytestmark = pytest.mark.xdist_group("moto-server")
AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def publisher(emulator, bus: str | None = None, budget: int = 8, events=None, batch: int = 500) -> OutboxPublisher:
    settings = emulator.settings
    dlq = emulator.sqs.get_queue_url(QueueName=settings.events_dead_letter_queue)["QueueUrl"]
    outbox = Outbox(emulator.session.client("dynamodb"), settings.table)
    return OutboxPublisher(outbox, events or emulator.session.client("events"), bus or settings.event_bus,
                           emulator.sqs, dlq, budget, batch=batch)


def received(emulator, queue: str) -> list[dict]:
    """Every message now on `queue`, deleted as read."""
    url = emulator.sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    found = []
    while messages := emulator.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            emulator.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def waiting(emulator) -> int:
    return len(Outbox(emulator.session.client("dynamodb"), emulator.settings.table).pending(1000))


def drop_and_move(emulator, pump, alias: str = "digits-prod") -> None:
    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes(), metadata={"alias": alias})
    pump.drain()


def test_each_waiting_event_reaches_the_queue_behind_the_rule_once(emulator, pump):
    drop_and_move(emulator, pump)

    done = publisher(emulator).run()
    again = publisher(emulator).run()

    envelopes = received(emulator, tail_queue_name(emulator.settings))
    assert sorted(e["detail-type"] for e in envelopes) == ["AliasMoved", "ModelVersionRegistered"]
    assert all(e["source"] == "mme-registry" for e in envelopes)
    assert sorted(e["detail"]["event_id"] for e in envelopes) == sorted(done.published)
    for envelope in envelopes:
        check(envelope["detail"])
    assert again.published == [] and waiting(emulator) == 0


def test_a_failed_publish_then_recovery_delivers_everything_once(emulator, pump):
    # GIVEN events waiting and a bus that does not exist yet
    drop_and_move(emulator, pump)
    late = publisher(emulator, bus="registry-late-bus")
    # WHEN the publisher runs against it, twice
    assert late.run().failed and late.run().failed
    assert waiting(emulator) == 2
    # AND the bus appears, with the rule, and the publisher runs again
    provision_event_bus(emulator.session, emulator.settings.model_copy(update={"event_bus": "registry-late-bus"}))
    done = late.run()
    late.run()
    # THEN every event arrived once, and nothing went to the dead-letter queue
    late_settings = emulator.settings.model_copy(update={"event_bus": "registry-late-bus"})
    envelopes = received(emulator, tail_queue_name(late_settings))
    assert len(envelopes) == 2 and len({e["detail"]["event_id"] for e in envelopes}) == 2
    assert sorted(done.published) == sorted(e["detail"]["event_id"] for e in envelopes)
    assert received(emulator, emulator.settings.events_dead_letter_queue) == []


def test_past_its_budget_a_failing_event_goes_to_the_dead_letter_queue_and_is_never_dropped(emulator, pump):
    drop_and_move(emulator, pump)
    failing = publisher(emulator, bus="registry-missing-bus", budget=2)

    first, second = failing.run(), failing.run()

    assert len(first.failed) == 2 and len(second.dead_lettered) == 2
    parked = received(emulator, emulator.settings.events_dead_letter_queue)
    assert sorted(e["event_id"] for e in parked) == sorted(second.dead_lettered)
    assert waiting(emulator) == 0


def test_an_alias_events_are_published_in_revision_order_one_at_a_time(emulator, emulated_app, pump):
    # GIVEN an alias that moved three times (three versions, each following the alias)
    for mtime in range(3):
        body = gzip.compress(gzip.decompress(cached_tarball("digits").read_bytes()), mtime=mtime)
        emulator.drop("incoming/digits.tar.gz", body, metadata={"alias": "digits-prod"})
        pump.drain()
    calls = []
    events = emulator.session.client("events")
    events.meta.events.register("provide-client-params.events.PutEvents",
                                lambda params, **_: calls.append([json.loads(e["Detail"]) for e in params["Entries"]]))
    # WHEN the publisher runs
    publisher(emulator, events=events).run()
    # THEN no PutEvents carried two events of the alias, and its revisions went out in order
    revisions = [e["revision"] for call in calls for e in call if e["type"] == "AliasMoved"]
    assert revisions == [1, 2, 3]
    assert all(sum(e["type"] == "AliasMoved" for e in call) <= 1 for call in calls)
    moved = [e["detail"]["revision"] for e in received(emulator, tail_queue_name(emulator.settings))
             if e["detail-type"] == "AliasMoved"]
    assert sorted(moved) == [1, 2, 3]


def test_dead_lettered_events_redriven_by_the_operator_reach_the_queue_once(emulator, pump):
    from publisher.cli import main as publisher_main

    # GIVEN events dead-lettered by a publisher whose bus is missing
    drop_and_move(emulator, pump)
    parked = publisher(emulator, bus="registry-missing-bus", budget=1).run().dead_lettered
    assert len(parked) == 2 and waiting(emulator) == 0
    # WHEN the operator redrives them (twice: the second finds nothing) and the publisher runs on the right bus
    assert publisher_main(["events-redrive"]) == 0
    assert publisher_main(["events-redrive"]) == 0
    done = publisher(emulator).run()
    # THEN each reaches the queue behind the rule once, with its own event id, and the dead-letter queue is empty
    envelopes = received(emulator, tail_queue_name(emulator.settings))
    assert sorted(e["detail"]["event_id"] for e in envelopes) == sorted(parked) == sorted(done.published)
    assert received(emulator, emulator.settings.events_dead_letter_queue) == []


@pytest.fixture
def failing_entries(monkeypatch):
    """The emulator's PutEvents answers InternalFailure for each entry whose detail's event id is in the set
    (EventBridge's per-entry failure in an otherwise accepted call, local_stack/aws/emulator.py); empty it to heal."""
    failing: set[str] = set()
    for owner, name, replacement in events_gaps(lambda entry: json.loads(entry["Detail"])["event_id"] in failing):
        monkeypatch.setattr(owner, name, replacement)
    return failing


def test_an_entry_that_eventbridge_did_not_take_stays_in_the_outbox_until_it_is_published(
        emulator, pump, failing_entries):
    # GIVEN two waiting events, and an EventBridge that answers 200 but fails the ModelVersionRegistered entry
    drop_and_move(emulator, pump)
    events = {e["type"]: e for e in outbox_events(emulator.session.client("dynamodb"), emulator.settings.table)}
    failing_entries.add(events["ModelVersionRegistered"]["event_id"])
    # WHEN the publisher runs
    first = publisher(emulator).run()
    # THEN only the alias event was published; the failed one waits in the outbox, counted
    assert first.published == [events["AliasMoved"]["event_id"]]
    assert first.failed == [events["ModelVersionRegistered"]["event_id"]] and waiting(emulator) == 1
    assert [e["detail-type"] for e in received(emulator, tail_queue_name(emulator.settings))] == ["AliasMoved"]
    # WHEN EventBridge takes it again
    failing_entries.clear()
    second = publisher(emulator).run()
    # THEN it is published, once
    assert second.published == first.failed and waiting(emulator) == 0
    assert [e["detail-type"] for e in received(emulator, tail_queue_name(emulator.settings))] == [
        "ModelVersionRegistered"]


def test_a_failed_head_event_holds_back_the_rest_of_its_alias_until_it_is_published(emulator, failing_entries):
    # GIVEN revisions 1, 2 and 3 of an alias waiting, and an EventBridge that fails revision 1's entry
    moved = [changes.alias_moved(AliasChange(alias="digits-prod", revision=n, action="update", at=AT, by="ada",
                                             after=AliasState(targets=[AliasTarget(model="digits", version=n)])))
             for n in (1, 2, 3)]
    dynamodb = emulator.session.client("dynamodb")
    for event in moved:
        dynamodb.transact_write_items(TransactItems=[items.put(emulator.settings.table, event)])
    failing_entries.add(moved[0]["event_id"])
    # WHEN the publisher runs
    first = publisher(emulator).run()
    # THEN nothing of the alias reached consumers: revision 2 never goes before revision 1
    assert (first.published, first.failed) == ([], [moved[0]["event_id"]])
    assert received(emulator, tail_queue_name(emulator.settings)) == [] and waiting(emulator) == 3
    # WHEN revision 1's entry is taken on the next run
    failing_entries.clear()
    publisher(emulator).run()
    # THEN all three went out, in revision order
    assert [e["detail"]["revision"] for e in received(emulator, tail_queue_name(emulator.settings))] == [1, 2, 3]


def moves_of(alias: str, revisions) -> list[dict]:
    return [changes.alias_moved(AliasChange(alias=alias, revision=n, action="update", at=AT, by="ada",
                                            after=AliasState(targets=[AliasTarget(model="digits", version=n)])))
            for n in revisions]


def test_one_run_drains_more_events_than_one_batch_holds_each_alias_in_revision_order(emulator):
    # GIVEN 3 aliases with 4 moves each waiting: 12 events, more than two batches of 5
    dynamodb = emulator.session.client("dynamodb")
    for alias in ("a-prod", "b-prod", "c-prod"):
        for event in moves_of(alias, range(1, 5)):
            dynamodb.transact_write_items(TransactItems=[items.put(emulator.settings.table, event)])
    # WHEN one run reads the outbox 5 events at a time
    done = publisher(emulator, batch=5).run()
    # THEN every event went out once, in that run, and each alias's in revision order
    assert len(done.published) == len(set(done.published)) == 12 and waiting(emulator) == 0
    seen = [e["detail"] for e in received(emulator, tail_queue_name(emulator.settings))]
    assert sorted(e["event_id"] for e in seen) == sorted(done.published)
    for alias in ("a-prod", "b-prod", "c-prod"):
        assert [e["revision"] for e in seen if e["alias"] == alias] == [1, 2, 3, 4]


def test_a_failed_head_holds_its_alias_back_across_the_batches_of_a_run(emulator, failing_entries):
    # GIVEN an alias whose revision 1 fails, with 6 revisions behind it, and another alias's 3 moves
    dynamodb = emulator.session.client("dynamodb")
    held, other = moves_of("a-prod", range(1, 8)), moves_of("b-prod", range(1, 4))
    for event in held + other:
        dynamodb.transact_write_items(TransactItems=[items.put(emulator.settings.table, event)])
    failing_entries.add(held[0]["event_id"])
    # WHEN one run reads 3 events at a time
    done = publisher(emulator, batch=3).run()
    # THEN the other alias went out whole, and nothing of the held one, however many batches were read
    assert sorted(done.published) == sorted(e["event_id"] for e in other)
    assert done.failed == [held[0]["event_id"]] and waiting(emulator) == 7


def test_a_run_stops_at_its_time_budget_and_the_next_run_goes_on_in_order(emulator):
    # GIVEN 6 moves of one alias waiting, and a publisher whose clock passes a second per reading, 3 s allowed
    dynamodb = emulator.session.client("dynamodb")
    for event in moves_of("a-prod", range(1, 7)):
        dynamodb.transact_write_items(TransactItems=[items.put(emulator.settings.table, event)])
    ticks = iter(range(10_000))
    settings = emulator.settings
    dlq = emulator.sqs.get_queue_url(QueueName=settings.events_dead_letter_queue)["QueueUrl"]
    slow = OutboxPublisher(Outbox(dynamodb, settings.table), emulator.session.client("events"), settings.event_bus,
                           emulator.sqs, dlq, 8, seconds=3, timer=lambda: next(ticks))
    # WHEN it runs, then runs again
    first, second = slow.run(), slow.run()
    # THEN the first run stopped early, the second went on, and the alias's revisions left in order, once each
    assert 0 < len(first.published) < 6 and len(first.published) + len(second.published) <= 6
    while slow.run().published:
        pass
    assert [e["detail"]["revision"] for e in received(emulator, tail_queue_name(settings))] == [1, 2, 3, 4, 5, 6]
