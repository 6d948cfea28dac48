"""End to end on the emulator: drop → version → alias move reach the queue behind the rule,
and `events tail` shows them."""
import json

import pytest

from change_events import check
from client.cli import main as client_main
from local_stack.aws.pump import scheduled_event
from local_stack.demo.sample_models import cached_tarball

pytestmark = pytest.mark.xdist_group("moto-server")


def publish(app) -> None:
    """The publisher's scheduled run, invoked as EventBridge's schedule invokes the Lambda."""
    app.publish_events(scheduled_event("us-east-1"), None)


def tail(capsys, *options) -> list[str]:
    capsys.readouterr()
    assert client_main(["events", "tail", "--once", *options]) == 0
    return capsys.readouterr().out.splitlines()


def test_a_drop_a_version_and_an_alias_move_reach_events_tail(emulator, emulated_app, pump, capsys):
    # GIVEN a drop that asks for an alias, ingested, then the alias moved by hand to a second version
    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes(), metadata={"alias": "digits-prod"})
    pump.drain()
    publish(emulated_app)
    emulated_app.get_aliases().delete("digits-prod", None, "ops")
    publish(emulated_app)
    # WHEN the tail reads the queue behind the rule, as JSON
    lines = tail(capsys, "--json")
    # THEN it shows each change once, in order for the alias, each valid against its schema
    events = [check(json.loads(line)) for line in lines]
    assert [e["type"] for e in events if e["type"] != "AliasMoved"] == ["ModelVersionRegistered"]
    moves = [(e["revision"], e["action"]) for e in events if e["type"] == "AliasMoved"]
    assert moves == [(1, "follow"), (2, "delete")]
    assert len({e["event_id"] for e in events}) == len(events) == 3


def test_events_tail_filters_by_alias_and_by_model_and_reads_as_sentences(emulator, emulated_app, pump, capsys):
    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes(), metadata={"alias": "digits-prod"})
    emulator.drop("incoming/other.tar.gz", b"not a tarball")
    pump.drain()
    publish(emulated_app)

    lines = tail(capsys, "--alias", "digits-prod")
    assert len(lines) == 1 and "AliasMoved digits-prod r1 follow: nothing -> digits v1" in lines[0]
    emulator.drop("incoming/other.tar.gz", b"still not a tarball")
    pump.drain()
    publish(emulated_app)
    [line] = tail(capsys, "--model", "other")
    assert "UploadRejected other: incoming/other.tar.gz failed" in line and "parked at rejected/other/" in line
