"""Retirement of versions no alias needs: grace period, live aliases, races, dry runs."""
from datetime import timedelta

import pytest

from chalicelib.aliases.alias_store import AliasTarget
from chalicelib.versions.artifacts import Artifacts
from chalicelib.errors import Conflict
from chalicelib.records import utcnow
from publisher.cli import main as publisher_main
from publisher.retire import Retirer, parse_age

WEEK = timedelta(days=7)


@pytest.fixture
def registry(app_module, make_seeder):
    """Three versions of `digits`, each with its bytes under models/."""
    seed = make_seeder(app_module)
    s3 = app_module.get_session().client("s3")
    for _ in range(3):
        record = seed.version("digits")
        s3.put_object(Bucket=app_module.settings.bucket, Key=record.target_key, Body=b"model bytes")
    return app_module


def retirer(app) -> Retirer:
    artifacts = Artifacts(app.get_session().client("s3"), app.settings.bucket)
    return Retirer(app.get_store(), app.get_alias_store(), artifacts)


def point(app, alias: str, version: int) -> None:
    app.get_aliases().point(alias, [AliasTarget(model="digits", version=version)], follow_latest=False,
                            expected_revision=None, actor="ops")


def model_keys(app) -> list[str]:
    answer = app.get_session().client("s3").list_objects_v2(Bucket=app.settings.bucket, Prefix="models/")
    return sorted(obj["Key"] for obj in answer.get("Contents", []))


def test_ages_read_as_a_number_and_a_unit():
    assert parse_age("7d") == timedelta(days=7)
    assert parse_age("12h") == timedelta(hours=12)
    with pytest.raises(ValueError, match="7d"):
        parse_age("a week")


def test_versions_past_the_grace_period_with_no_alias_are_retired_but_aliased_and_latest_ones_are_kept(registry):
    # GIVEN an alias on v2, v3 the latest, and a clock two weeks ahead
    point(registry, "digits", 2)
    later = utcnow() + 2 * WEEK
    # WHEN retirement runs with a one-week grace period
    outcomes = {r.version: r.outcome for r in retirer(registry).run(WEEK, later)}
    # THEN only v1 is gone from models/ and marked retired; v2 (aliased) and v3 (latest) are untouched
    assert outcomes == {1: "retired", 2: "kept: an alias points at it", 3: "kept: the model's latest version"}
    assert model_keys(registry) == ["models/digits_v2.tar.gz", "models/digits_v3.tar.gz"]
    store = registry.get_store()
    assert [store.get_version("digits", n).status for n in (1, 2, 3)] == ["retired", "active", "active"]


def test_the_store_refuses_to_retire_the_latest_version_whatever_the_caller_decided(registry):
    later = utcnow() + 2 * WEEK

    assert registry.get_store().retire_version("digits", 3, cutoff=later - WEEK, now=later) is False

    assert registry.get_store().get_version("digits", 3).status == "active"


def test_after_retirement_reuploading_the_latest_bytes_still_finds_a_served_version(registry):
    # GIVEN everything retirement may take is gone
    list(retirer(registry).run(WEEK, utcnow() + 2 * WEEK))
    # THEN the version a re-upload of the latest bytes would be "identical to" still has its key
    latest = registry.get_store().latest_version("digits")
    assert latest.status == "active"
    assert latest.target_key in model_keys(registry)


def test_a_version_an_alias_left_recently_keeps_its_grace_period(registry):
    point(registry, "digits", 1)
    point(registry, "digits", 2)  # v1 released now
    just_under_a_week = utcnow() + WEEK - timedelta(minutes=1)

    outcomes = {r.version: r.outcome for r in retirer(registry).run(WEEK, just_under_a_week)}

    assert outcomes[1].startswith("kept: referenced or created")
    assert "models/digits_v1.tar.gz" in model_keys(registry)


def test_a_dry_run_lists_candidates_and_changes_nothing(registry):
    outcomes = [r.outcome for r in retirer(registry).run(WEEK, utcnow() + 2 * WEEK, dry_run=True)]

    assert outcomes == ["kept: the model's latest version", "would retire", "would retire"]  # newest first
    assert len(model_keys(registry)) == 3
    assert registry.get_store().get_version("digits", 1).status == "active"


def test_an_alias_that_moves_onto_a_version_after_the_check_wins_over_retirement(registry):
    # GIVEN retirement decided v1 is unreferenced, then an alias points at it before the conditional write
    later = utcnow() + 2 * WEEK
    point(registry, "digits", 1)
    # WHEN the conditional retirement runs with a cutoff before that alias write
    retired = registry.get_store().retire_version("digits", 1, cutoff=utcnow() - timedelta(seconds=1), now=later)
    # THEN it refuses, and the bytes stay
    assert retired is False
    assert registry.get_store().get_version("digits", 1).status == "active"


def test_no_alias_can_point_at_a_retired_version(registry):
    list(retirer(registry).run(WEEK, utcnow() + 2 * WEEK))

    with pytest.raises(Conflict, match="retired"):
        point(registry, "digits", 1)


def test_a_run_interrupted_between_mark_and_delete_is_finished_by_the_next(registry):
    later = utcnow() + 2 * WEEK
    assert registry.get_store().retire_version("digits", 1, cutoff=later - WEEK, now=later)

    outcomes = {r.version: r.outcome for r in retirer(registry).run(WEEK, later)}

    assert outcomes[1] == "cleaned up"
    assert "models/digits_v1.tar.gz" not in model_keys(registry)


@pytest.fixture
def named_registry(registry, monkeypatch):
    """The registry named explicitly, as an operator without --stack must (in-process moto answers AWS's hostnames)."""
    monkeypatch.setenv("REGISTRY_BUCKET", registry.settings.bucket)
    monkeypatch.setenv("REGISTRY_TABLE", registry.settings.table)
    return registry


def test_the_cli_dry_run_prints_the_plan(named_registry, capsys):
    registry = named_registry
    assert publisher_main(["retire", "--older-than", "0s", "--dry-run"]) == 0

    out = capsys.readouterr().out
    assert "would retire" in out and "digits_v1.tar.gz" in out
    assert len(model_keys(registry)) == 3


def test_a_retirement_by_the_cli_announces_version_retired_by_the_caller(named_registry):
    from change_events import of_type, outbox_events

    assert publisher_main(["retire", "--older-than", "0s"]) == 0

    registry = named_registry
    retired = of_type(outbox_events(registry.get_session().client("dynamodb"), registry.settings.table),
                      "VersionRetired")
    assert sorted((e["model"], e["version"]) for e in retired) == [("digits", 1), ("digits", 2)]
    caller = registry.get_session().client("sts").get_caller_identity()["Arn"]
    assert {e["actor"] for e in retired} == {caller}
