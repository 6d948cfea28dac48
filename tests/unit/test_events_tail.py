"""`events tail`'s pure rules: which events a filter keeps, and the line each event reads as."""
import json

import pytest

from change_events import SCHEMAS
from chalicelib.outbox import changes
from client.events_cmd import describe, matches


def example(kind: str) -> dict:
    return json.loads((SCHEMAS / "examples" / f"{kind}.json").read_text())


def test_an_alias_filter_keeps_only_that_alias_moves():
    assert matches(example("AliasMoved"), "fraud@prod", None)
    assert not matches(example("AliasMoved"), "fraud@staging", None)
    assert not matches(example("ModelVersionRegistered"), "fraud@prod", None)


def test_a_model_filter_keeps_its_events_and_the_alias_moves_that_touch_it():
    assert matches(example("ModelVersionRegistered"), None, "fraud")
    assert matches(example("AliasMoved"), None, "fraud")
    assert not matches(example("UploadRejected"), None, "digits")


@pytest.mark.parametrize("kind", changes.TYPES)
def test_every_event_type_reads_as_one_line_naming_its_type_and_actor(kind):
    line = describe(example(kind))
    assert "\n" not in line and kind in line
    if example(kind)["actor"]:
        assert line.endswith(f"by {example(kind)['actor']}")


def test_an_alias_move_reads_from_where_to_where():
    assert "fraud@prod r7 follow: fraud v2 -> fraud v3" in describe(example("AliasMoved"))


def test_metadata_approval_and_policy_changes_read_as_what_changed():
    assert "fraud v3 r2: description, tags changed" in describe(example("VersionMetadataChanged"))
    assert "fraud v3 Approved: passed the backtest" in describe(example("VersionApprovalChanged"))
    assert ("fraud-prod r1: movers arn:aws:iam::123456789012:role/platform; approvers "
            "arn:aws:sts::123456789012:assumed-role/approvers/*; require approved, warmed"
            ) in describe(example("AliasPolicyChanged"))
    assert ("fraud v4 beside fraud v3 for fraud-prod: failed (top-1 agreement 0.62 < 0.98)"
            in describe(example("ShadowCompared")))
