"""Change events of any size: each outbox item fits DynamoDB, each PutEvents fits EventBridge, none fails another.

The emulator enforces PutEvents' 256 KB per call, as EventBridge does (local_stack/emulator.py, events_gaps).
"""
import json
import re
from datetime import datetime, timezone

import pytest
from test_change_events_publisher import publisher, received, waiting

from change_events import check
from chalicelib import names
from chalicelib.aliases.alias_store import AliasChange, AliasState, AliasTarget
from chalicelib.outbox import changes, items, sizes
from chalicelib.records import UploadRecord, VersionRecord
from local_stack.emulator import events_gaps
from local_stack.event_bus import tail_queue_name

pytestmark = pytest.mark.xdist_group("moto-server")

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
ACTOR = "arn:aws:sts::123456789012:assumed-role/" + "r" * 64 + "/" + "s" * 64
LONGEST_NAME = "/".join(["m" * 64, "n" * 64, "o" * 64, "p" * 5])
assert len(LONGEST_NAME) == names.MAX_NAME_LENGTH


@pytest.fixture
def eventbridge_limits(monkeypatch):
    """The emulator's PutEvents refuses a call over 256 KB, as EventBridge does; answers every PutEvents it got."""
    calls: list[list[dict]] = []
    for owner, name, replacement in events_gaps():
        def recording(self, events, replacement=replacement):
            calls.append(events)
            return replacement(self, events)
        monkeypatch.setattr(owner, name, recording)
    return calls


def rejection(model: str, message: str, rules: int = 1, source_key: str | None = None) -> dict:
    upload = UploadRecord(name=model, event_id=changes.event_id("upload", model, len(message)),
                          source_key=source_key or f"incoming/{model}.tar.gz", source_etag="0" * 32,
                          outcome="rejected", rules=[f"tensorflow.signature_{i}" for i in range(rules)],
                          rejected_key=f"rejected/{model}/x.tar.gz", report_key=f"rejected/{model}/x.json",
                          message=message, started_at=AT, finished_at=AT)
    return changes.upload_rejected(upload, ACTOR)


def alias_moved(alias: str, revision: int, targets: int = 1, model: str = "digits") -> dict:
    def state(version: int) -> AliasState:
        return AliasState(targets=[AliasTarget(model=f"{model}{i}"[-names.MAX_NAME_LENGTH:], version=version + i,
                                               weight=1) for i in range(targets)])
    change = AliasChange(alias=alias, revision=revision, action="update", at=AT, by=ACTOR,
                         before=state(revision) if revision > 1 else None, after=state(revision + 1))
    return changes.alias_moved(change)


def park(emulator, *events: dict) -> None:
    """Each event into the outbox with the transaction element the registry's own writes carry."""
    dynamodb = emulator.session.client("dynamodb")
    for event in events:
        dynamodb.transact_write_items(TransactItems=[items.put(emulator.settings.table, event)])


def item_size(item: dict) -> int:
    """DynamoDB's count of an item of strings and numbers: attribute names plus values, in UTF-8 bytes."""
    return sum(len(name.encode()) + len(str(next(iter(value.values()))).encode()) for name, value in item.items())


def test_events_over_one_calls_256_kb_are_published_in_several_calls_and_none_fails_its_neighbours(
        emulator, eventbridge_limits):
    # GIVEN an alias event at the head of its stream and nine 40 KB rejections: together 400 KB, past one PutEvents
    park(emulator, alias_moved("digits-prod", 1), *(rejection(f"model{i}", "x" * 40_000) for i in range(9)))
    # WHEN the publisher runs, with a budget of one failure (a failed call would dead-letter every event in it)
    done = publisher(emulator, budget=1).run()
    # THEN every event was published once, in calls EventBridge accepts, and nothing was dead-lettered
    assert (len(done.published), done.failed, done.dead_lettered) == (10, [], [])
    assert all(sum(sizes.entry_size(e) for e in call) <= sizes.CALL_LIMIT for call in eventbridge_limits)
    envelopes = received(emulator, tail_queue_name(emulator.settings))
    assert sorted(e["detail"]["event_id"] for e in envelopes) == sorted(done.published)
    assert received(emulator, emulator.settings.events_dead_letter_queue) == [] and waiting(emulator) == 0


def largest_events() -> list[dict]:
    """The largest of each kind the registry can be made to write: longest names, keys and identities,
    a rejection's 600 KB message over 60,000 rules, a warm-up error of 300 KB, a split over ten targets."""
    longest_key = "incoming/" + "k" * 1000 + ".tar.gz"
    upload = UploadRecord(name=LONGEST_NAME, event_id="f" * 32, source_key=longest_key, source_etag="0" * 32,
                          outcome="accepted", version=names.MAX_NUMBER, started_at=AT, finished_at=AT,
                          aliases={f"a{i}" * 20: "held" for i in range(10)}, warmup="failed: " + "é" * 300_000)
    version = VersionRecord(name=LONGEST_NAME, version=names.MAX_NUMBER, target_key="models/" + LONGEST_NAME,
                            target_model=LONGEST_NAME + ".tar.gz", sha256="0" * 64, size=10**12,
                            framework="tensorflow", source_key=longest_key, source_etag="0" * 32, event_id="f" * 32,
                            created_at=AT, requested_aliases=["a" * names.MAX_ALIAS_LENGTH] * 10)
    return [rejection(LONGEST_NAME, "a rule's sentence. " * 32_000, rules=60_000, source_key=longest_key),
            changes.warmup_failed(upload, ACTOR), changes.version_registered(version, ACTOR),
            alias_moved("a" * names.MAX_ALIAS_LENGTH, names.MAX_NUMBER - 1, targets=10, model=LONGEST_NAME)]


def test_the_largest_events_fit_their_outbox_item_and_are_published_trimmed_with_a_pointer_to_the_full_record(
        emulator, eventbridge_limits):
    # GIVEN the largest events the registry can produce
    events = largest_events()
    # WHEN each is parked in the outbox and the publisher runs
    park(emulator, *events)
    stored = emulator.session.client("dynamodb").scan(TableName=emulator.settings.table)["Items"]
    done = publisher(emulator, budget=1).run()
    # THEN every outbox item kept to its budget, far under DynamoDB's 400 KB
    outbox_items = [item for item in stored if item["pk"]["S"] == items.OUTBOX_PK]
    assert len(outbox_items) == len(events)
    assert max(map(item_size, outbox_items)) <= sizes.DETAIL_BUDGET + sizes.ITEM_OVERHEAD < sizes.OUTBOX_ITEM_LIMIT
    # AND each was published, schema-valid; the oversized ones trimmed, naming the record that has everything
    assert len(done.published) == len(events) and not done.dead_lettered
    details = {e["detail"]["type"]: check(e["detail"]) for e in received(emulator, tail_queue_name(emulator.settings))}
    assert all(len(json.dumps(d).encode()) <= sizes.DETAIL_BUDGET for d in details.values())
    rejected = details["UploadRejected"]
    rejected, warmup = details["UploadRejected"], details["WarmupFailed"]
    assert rejected["trimmed"] == ["message", "rules", "source_key"] and len(rejected["rules"]) == sizes.LIST_ITEMS
    kept, rest = re.fullmatch(r"(.*)… \((\d+) more characters\)", rejected["message"], re.S).groups()
    assert events[0]["message"].startswith(kept) and len(kept) + int(rest) == len(events[0]["message"])
    quoted = LONGEST_NAME.replace("/", "%2F")
    assert rejected["full_record"] == f"/models/{quoted}/uploads/{events[0]['upload_event_id']}"
    assert warmup["trimmed"] == ["error"] and warmup["full_record"] == f"/models/{quoted}/uploads/{'f' * 32}"
    assert (warmup["model"], warmup["version"], warmup["held_aliases"]) == (LONGEST_NAME, names.MAX_NUMBER,
                                                                            events[1]["held_aliases"])
    assert "trimmed" not in details["AliasMoved"] and "trimmed" not in details["ModelVersionRegistered"]


def test_every_full_record_pointer_is_a_route_the_api_answers_get_on():
    import app as registry

    paths = [op.path for op in registry.api.operations if op.method == "GET"]
    routes = [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$") for path in paths]
    for event in largest_events() + [changes.version_retired(LONGEST_NAME, 3, AT, ACTOR)]:
        assert any(route.match(sizes.full_record(event)) for route in routes), sizes.full_record(event)
