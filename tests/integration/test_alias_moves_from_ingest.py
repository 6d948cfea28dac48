"""Invariant 8: an alias never moves backwards because of a late or retried event."""
import pytest

from chalicelib.aliases.alias_store import AliasTarget

pytestmark = pytest.mark.xdist_group("aliases")  # shares the alias tests' worker and moto


@pytest.fixture
def aliases(registry_app):
    return registry_app.get_aliases()


def version_of(aliases, alias: str) -> int:
    [target] = aliases.get(alias).targets
    return target.version


def test_an_older_upload_finishing_late_does_not_move_its_alias_back(aliases, seed):
    seed.version("fraud"), seed.version("fraud")
    assert aliases.follow_new_version("fraud", 2, ["prod"], "AWS:uploader", "event-2") == {"prod": "created at v2"}

    outcome = aliases.follow_new_version("fraud", 1, ["prod"], "AWS:uploader", "event-1")

    assert outcome == {"prod": "not moved: it points at v2, newer than v1"}
    assert version_of(aliases, "prod") == 2


def test_a_retried_event_does_not_undo_an_operators_rollback(aliases, registry_app, seed):
    # GIVEN event-2 moved prod from v1 to v2, and an operator rolled it back to v1
    seed.version("fraud"), seed.version("fraud")
    aliases.point("prod", [AliasTarget(model="fraud", version=1)], False, None, "ops")
    assert aliases.follow_new_version("fraud", 2, ["prod"], "AWS:uploader", "event-2") == {"prod": "moved to v2"}
    aliases.rollback("prod", None, "ops")
    # WHEN event-2 is delivered again (a retry after a crash before its outcome was recorded)
    outcome = aliases.follow_new_version("fraud", 2, ["prod"], "AWS:uploader", "event-2")
    # THEN the rollback stands, and the history says which event made the one move it made
    assert outcome["prod"].startswith("not moved: this upload already moved it once")
    assert version_of(aliases, "prod") == 1
    changes, _ = registry_app.get_alias_store().history("prod", 10, None)
    assert [(c.action, c.event_id) for c in changes] == [("rollback", None), ("follow", "event-2"), ("create", None)]


def test_a_newer_event_still_moves_an_alias_forward_after_a_rollback(aliases, seed):
    for _ in range(3):
        seed.version("fraud")
    aliases.point("prod", [AliasTarget(model="fraud", version=1)], False, None, "ops")
    aliases.follow_new_version("fraud", 2, ["prod"], "AWS:uploader", "event-2")
    aliases.rollback("prod", None, "ops")

    outcome = aliases.follow_new_version("fraud", 3, ["prod"], "AWS:uploader", "event-3")

    assert outcome == {"prod": "moved to v3"}
