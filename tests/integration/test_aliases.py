"""The alias use cases against moto: compare-and-set, history, rollback, following new versions."""
from datetime import timedelta

import pytest

from chalicelib.aliases.alias_store import AliasTarget
from chalicelib.errors import Conflict, InvalidInput, NotFound

pytestmark = pytest.mark.xdist_group("aliases")  # one worker builds this module's moto once


@pytest.fixture
def aliases(registry_app):
    return registry_app.get_aliases()


@pytest.fixture
def alias_store(registry_app):
    return registry_app.get_alias_store()


def at(model: str, version: int, weight: int = 100) -> list[AliasTarget]:
    return [AliasTarget(model=model, version=version, weight=weight)]


def history(alias_store, alias: str):
    changes, _ = alias_store.history(alias, 100, None)
    return changes


def test_creating_an_alias_writes_revision_one_with_a_creation_entry(aliases, alias_store, seed):
    seed.version("resnet_18")

    record = aliases.point("classifier", at("resnet_18", 1), False, None, "ada")

    assert (record.revision, record.targets, record.updated_by) == (1, at("resnet_18", 1), "ada")
    [entry] = history(alias_store, "classifier")
    assert (entry.revision, entry.action, entry.before, entry.by) == (1, "create", None, "ada")
    assert entry.after.targets == at("resnet_18", 1)


def test_a_stale_expected_revision_is_a_conflict_that_names_the_current_one(aliases, alias_store, seed):
    seed.version("resnet_18"), seed.version("resnet_18")
    aliases.point("classifier", at("resnet_18", 1), False, None, "ada")
    aliases.point("classifier", at("resnet_18", 2), False, 1, "ada")

    with pytest.raises(Conflict) as caught:
        aliases.point("classifier", at("resnet_18", 1), False, 1, "bob")

    assert caught.value.details["current_revision"] == 2
    assert caught.value.details["current"]["targets"] == [{"model": "resnet_18", "version": 2, "weight": 100}]
    assert len(history(alias_store, "classifier")) == 2


def test_expected_revision_zero_only_creates(aliases, seed):
    seed.version("resnet_18")
    aliases.point("classifier", at("resnet_18", 1), False, 0, "ada")

    with pytest.raises(Conflict):
        aliases.point("classifier", at("resnet_18", 1), False, 0, "bob")


def test_pointing_at_the_current_target_again_writes_nothing(aliases, alias_store, seed):
    seed.version("resnet_18")
    aliases.point("classifier", at("resnet_18", 1), False, None, "ada")

    record = aliases.point("classifier", at("resnet_18", 1), False, 1, "ada")

    assert record.revision == 1
    assert len(history(alias_store, "classifier")) == 1


def test_an_alias_cannot_point_at_a_missing_version_or_model(aliases, alias_store, seed):
    seed.version("resnet_18")

    with pytest.raises(NotFound):
        aliases.point("classifier", at("resnet_18", 2), False, None, "ada")
    with pytest.raises(NotFound):
        aliases.point("classifier", at("squeezenet", 1), False, None, "ada")
    assert alias_store.get("classifier") is None
    assert history(alias_store, "classifier") == []


def test_an_alias_cannot_point_at_a_retired_version(aliases, seed):
    seed.version("resnet_18", status="retired")

    with pytest.raises(Conflict):
        aliases.point("classifier", at("resnet_18", 1), False, None, "ada")


def test_a_version_retired_between_check_and_write_fails_the_whole_transaction(aliases, alias_store, registry_app, seed):
    """The in-transaction ConditionCheck is what holds the invariant; the use case's read is only a courtesy."""
    from chalicelib.aliases.alias_store import AliasChange, AliasState
    from chalicelib.records import utcnow

    seed.version("resnet_18"), seed.version("resnet_18")  # v2 is the latest, which is never retired
    tomorrow = utcnow() + timedelta(days=1)
    assert registry_app.get_store().retire_version("resnet_18", 1, cutoff=tomorrow, now=utcnow())
    change = AliasChange(alias="classifier", revision=1, action="create", after=AliasState(targets=at("resnet_18", 1)),
                         at=utcnow(), by="ada")

    with pytest.raises(NotFound):
        alias_store.write(change, None)

    assert alias_store.get("classifier") is None
    assert history(alias_store, "classifier") == []
    assert alias_store.references("resnet_18") == []


def test_weighted_targets_are_kept_with_their_weights(aliases, alias_store, seed):
    seed.version("resnet_18"), seed.version("resnet_18")
    targets = at("resnet_18", 1, 90) + at("resnet_18", 2, 10)

    record = aliases.point("canary", targets, False, None, "ada")

    assert record.targets == targets
    [reference] = alias_store.references("resnet_18")
    assert (reference.alias, reference.versions) == ("canary", [1, 2])


def test_following_latest_points_at_the_newest_version_and_moves_with_new_ones(aliases, seed):
    seed.version("resnet_18"), seed.version("resnet_18")
    record = aliases.point("newest", at("resnet_18", 0), True, None, "ada")
    assert (record.targets[0].version, record.tracks_latest) == (2, True)

    seed.version("resnet_18")
    outcome = aliases.follow_new_version("resnet_18", 3, [], "ingest")

    assert outcome == {"newest": "moved to v3"}
    assert aliases.get("newest").targets == at("resnet_18", 3)


def test_following_moves_forward_only_and_leaves_pinned_aliases_alone(aliases, seed):
    for _ in range(3):
        seed.version("resnet_18")
    aliases.point("newest", at("resnet_18", 0), True, None, "ada")
    aliases.point("pinned", at("resnet_18", 1), False, None, "ada")

    outcome = aliases.follow_new_version("resnet_18", 2, [], "ingest")  # v2 finished after v3

    assert outcome == {"newest": "unchanged (at v3)"}
    assert aliases.get("newest").targets == at("resnet_18", 3)
    assert aliases.get("pinned").targets == at("resnet_18", 1)


def test_requested_aliases_are_created_or_moved_and_bad_names_are_reported(aliases, seed):
    seed.version("resnet_18"), seed.version("resnet_18")
    aliases.point("prod", at("resnet_18", 1), False, None, "ada")

    outcome = aliases.follow_new_version("resnet_18", 2, ["prod", "staging", "latest", "bad name"], "uploader")

    assert outcome["prod"] == "moved to v2"
    assert outcome["staging"] == "created at v2"
    assert outcome["latest"].startswith("invalid: ")
    assert outcome["bad name"].startswith("invalid: ")
    assert aliases.get("staging").updated_by == "uploader"


def test_following_the_same_version_twice_changes_nothing_the_second_time(aliases, alias_store, seed):
    seed.version("resnet_18"), seed.version("resnet_18")
    aliases.point("newest", at("resnet_18", 0), True, None, "ada")
    seed.version("resnet_18")

    first = aliases.follow_new_version("resnet_18", 3, ["prod"], "ingest")
    second = aliases.follow_new_version("resnet_18", 3, ["prod"], "ingest")

    assert first == {"prod": "created at v3", "newest": "moved to v3"}
    assert history(alias_store, "prod")[0].action == "follow"
    assert second == {"prod": "unchanged (at v3)", "newest": "unchanged (at v3)"}
    assert [c.revision for c in history(alias_store, "newest")] == [2, 1]


def test_following_a_version_that_does_not_exist_moves_nothing(aliases, seed):
    seed.version("resnet_18")

    outcome = aliases.follow_new_version("resnet_18", 5, ["prod"], "ingest")

    assert outcome["prod"].startswith("failed: ")
    with pytest.raises(NotFound):
        aliases.get("prod")


def test_rollback_returns_to_the_previous_target_pinned_and_records_it(aliases, alias_store, seed):
    for _ in range(2):
        seed.version("resnet_18")
    aliases.point("newest", at("resnet_18", 1), False, None, "ada")
    aliases.point("newest", at("resnet_18", 0), True, None, "ada")

    record = aliases.rollback("newest", None, "bob")

    assert (record.targets, record.tracks_latest, record.revision) == (at("resnet_18", 1), False, 3)
    assert history(alias_store, "newest")[0].action == "rollback"


def test_rolling_back_twice_returns_to_where_it_was(aliases, seed):
    seed.version("resnet_18"), seed.version("resnet_18")
    aliases.point("prod", at("resnet_18", 1), False, None, "ada")
    aliases.point("prod", at("resnet_18", 2), False, None, "ada")

    aliases.rollback("prod", None, "bob")
    record = aliases.rollback("prod", None, "bob")

    assert (record.targets, record.revision) == (at("resnet_18", 2), 4)


def test_a_fresh_alias_has_nothing_to_roll_back_to(aliases, seed):
    seed.version("resnet_18")
    aliases.point("prod", at("resnet_18", 1), False, None, "ada")

    with pytest.raises(Conflict):
        aliases.rollback("prod", None, "bob")


def test_deleting_keeps_history_and_recreating_continues_it(aliases, alias_store, seed):
    seed.version("resnet_18")
    aliases.point("prod", at("resnet_18", 1), False, None, "ada")

    deletion = aliases.delete("prod", 1, "bob")
    assert (deletion.action, deletion.after) == ("delete", None)
    with pytest.raises(NotFound):
        aliases.get("prod")
    assert alias_store.references("resnet_18") == []

    record = aliases.point("prod", at("resnet_18", 1), False, 0, "ada")
    assert record.revision == 3
    assert [c.action for c in history(alias_store, "prod")] == ["create", "delete", "create"]


def test_rolling_back_a_deletion_restores_the_alias(aliases, alias_store, seed):
    seed.version("resnet_18")
    aliases.point("prod", at("resnet_18", 1), False, None, "ada")
    aliases.delete("prod", None, "bob")

    record = aliases.rollback("prod", None, "carol")

    assert (record.targets, record.revision) == (at("resnet_18", 1), 3)
    assert [c.action for c in history(alias_store, "prod")] == ["rollback", "delete", "create"]


def test_deleting_an_unknown_alias_is_not_found_and_a_stale_delete_a_conflict(aliases, seed):
    seed.version("resnet_18")
    with pytest.raises(NotFound):
        aliases.delete("ghost", 3, "bob")
    aliases.point("prod", at("resnet_18", 1), False, None, "ada")
    with pytest.raises(Conflict):
        aliases.delete("prod", 7, "bob")


def test_reserved_and_malformed_alias_names_are_invalid_input(aliases, seed):
    seed.version("resnet_18")
    for name in ("latest", "LATEST", "v2", "a" * 129, "café", "a/b"):
        with pytest.raises(InvalidInput):
            aliases.point(name, at("resnet_18", 1), False, None, "ada")


def test_moving_an_alias_to_another_model_moves_its_reverse_index_entry(aliases, alias_store, seed):
    seed.version("resnet_18"), seed.version("squeezenet")
    aliases.point("classifier", at("resnet_18", 1), False, None, "ada")

    aliases.point("classifier", at("squeezenet", 1), False, None, "ada")

    assert alias_store.references("resnet_18") == []
    assert [r.alias for r in alias_store.references("squeezenet")] == ["classifier"]
