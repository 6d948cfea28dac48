"""`mme-registry import`: how keys become model names and in what order, and how a run is summed up."""
from __future__ import annotations

import pytest

from client.cli import build_parser
from client.import_cmd import INTERRUPTED, Summary
from client.import_plan import SourceObject, by_model, derive_name, name_pattern, parse_s3_url, plan, staging_key
from client.imports import AliasOutcome, Outcome, alias_template, newest_imported


def objects(*keys: str) -> list[SourceObject]:
    return [SourceObject(key, f"etag-{i}", 100) for i, key in enumerate(keys)]


@pytest.mark.parametrize("relative, name", [
    ("fraud_v3.tar.gz", "fraud"),
    ("fraud.tar.gz", "fraud"),
    ("team/fraud_v12.tar.gz", "team/fraud"),
    ("squeezenet_v1.0.tar.gz", "squeezenet_v1.0"),
])
def test_a_key_names_its_model_by_the_drop_folders_rule_by_default(relative, name):
    assert derive_name(relative) == name


def test_a_name_pattern_names_the_model_by_its_name_group_over_the_whole_key():
    pattern = name_pattern(r"(?P<name>[^/]+)/output/model\.tar\.gz")

    assert derive_name("fraud-2024-03/output/model.tar.gz", pattern) == "fraud-2024-03"


def test_a_key_whose_name_is_not_a_valid_model_name_is_reported_with_the_rule_not_guessed():
    planned = plan(objects("p/ok.tar.gz", "p/bad name.tar.gz", "p/a/b/c/d/e.tar.gz", "p/x_v2_v3.tar.gz"), "p/")

    errors = {item.relative: item.name_error for item in planned if item.name is None}
    assert set(errors) == {"bad name.tar.gz", "a/b/c/d/e.tar.gz", "x_v2_v3.tar.gz"}
    assert "invalid model name 'bad name'" in errors["bad name.tar.gz"]
    assert "ends in '_v<digits>'" in errors["x_v2_v3.tar.gz"]


def test_a_key_the_name_pattern_does_not_match_is_reported_with_the_pattern():
    pattern = name_pattern(r"(?P<name>\w+)/model\.tar\.gz")
    planned = plan(objects("p/fraud/model.tar.gz", "p/stray.tar.gz"), "p/", pattern)

    assert [item.name for item in planned] == ["fraud", None]
    assert "does not match --name-pattern" in planned[1].name_error


def test_a_name_pattern_without_a_name_group_or_that_does_not_compile_is_refused_at_once():
    for text in (r"([^/]+)\.tar\.gz", r"(?P<name>[a-z"):
        with pytest.raises(ValueError, match="name-pattern"):
            name_pattern(text)


def test_objects_are_taken_in_natural_key_order_so_v10_follows_v9_and_only_tarballs_count():
    planned = plan(objects("p/m_v10.tar.gz", "p/m_v2.tar.gz", "p/notes.txt", "p/m_v1.tar.gz", "p/a.tar.gz"), "p/")

    assert [item.relative for item in planned] == ["a.tar.gz", "m_v1.tar.gz", "m_v2.tar.gz", "m_v10.tar.gz"]
    assert {name: [i.relative for i in items] for name, items in by_model(planned).items()} == {
        "a": ["a.tar.gz"], "m": ["m_v1.tar.gz", "m_v2.tar.gz", "m_v10.tar.gz"]}


def test_one_source_object_always_stages_to_one_key_and_a_changed_object_to_another():
    obj = SourceObject("p/m.tar.gz", "abc", 1)

    assert staging_key("staging/", "b", obj) == staging_key("staging/", "b", obj)
    assert staging_key("staging/", "b", obj).startswith("staging/import/")
    assert staging_key("staging/", "b", obj) != staging_key("staging/", "b", SourceObject("p/m.tar.gz", "abd", 1))


def test_an_s3_url_splits_into_bucket_and_prefix_and_anything_else_is_refused():
    assert parse_s3_url("s3://models/serving/") == ("models", "serving/")
    assert parse_s3_url("s3://models") == ("models", "")
    for url in ("models/serving/", "s3:///serving/", "https://models.s3.amazonaws.com/"):
        with pytest.raises(ValueError, match="not an S3 URL"):
            parse_s3_url(url)


def test_an_alias_template_may_hold_only_the_model_and_the_source_is_not_taken_for_a_template():
    assert alias_template("{model}-prod").format(model="fraud") == "fraud-prod"
    with pytest.raises(ValueError, match="only {model}"):
        alias_template("{team}-{model}")
    with pytest.raises(SystemExit):
        build_parser(["import"]).parse_args(["import", "--alias-per-model", "s3://b/p/"])


def test_each_model_is_aliased_at_its_newest_version_among_those_imported_or_already_there():
    outcomes = [Outcome("k1", "m", "already", 1), Outcome("k2", "m", "imported", 3), Outcome("k3", "m", "imported", 2),
                Outcome("k4", "n", "rejected"), Outcome("k5", "o", "failed")]

    assert newest_imported(outcomes) == {"m": 3}


SUMMARY = Summary("s3://b/p/", [
    Outcome("p/a_v1.tar.gz", "a", "imported", 1),
    Outcome("p/a_v2.tar.gz", "a", "already", 2),
    Outcome("p/bad.tar.gz", "bad", "rejected", message="truncated",
            failures=[{"rule": "gzip.truncated", "message": "the gzip stream ends early"}]),
], [AliasOutcome("a", "a", 2, "skipped", "it exists and points at z v1: left as it is")], ignored=2)


def test_the_summary_counts_each_outcome_and_names_each_rejections_rule():
    text = "\n".join(SUMMARY.lines())

    assert SUMMARY.counts() == {"imported": 1, "already": 1, "rejected": 1, "failed": 0}
    assert "s3://b/p/: 1 imported, 1 already there, 1 rejected, 0 failed (2 other object(s)" in text
    assert "- gzip.truncated: the gzip stream ends early" in text
    assert "a → a v2: skipped: it exists and points at z v1" in text


def test_the_exit_status_is_non_zero_when_anything_was_rejected_or_failed_or_interrupted():
    clean = Summary("s3://b/p/", [Outcome("p/a.tar.gz", "a", "imported", 1), Outcome("p/b.tar.gz", "b", "already", 4)])
    failed = Summary("s3://b/p/", [Outcome("p/a.tar.gz", "a", "failed", message="AccessDenied")])
    refused = Summary("s3://b/p/", clean.outcomes, [AliasOutcome("a", "a", 1, "refused", "policy")])

    assert (clean.exit_status(), SUMMARY.exit_status(), failed.exit_status(), refused.exit_status()) == (0, 1, 1, 1)
    assert Summary("s3://b/p/", [], interrupted=True).exit_status() == INTERRUPTED


def test_the_json_summary_lists_every_object_by_key_with_what_became_of_it():
    document = SUMMARY.as_json()

    assert [o["key"] for o in document["objects"]] == ["p/a_v1.tar.gz", "p/a_v2.tar.gz", "p/bad.tar.gz"]
    assert document["objects"][2] == {
        "key": "p/bad.tar.gz", "name": "bad", "outcome": "rejected", "message": "truncated",
        "failures": [{"rule": "gzip.truncated", "message": "the gzip stream ends early"}]}
    assert document["aliases"][0]["outcome"] == "skipped" and document["ignored"] == 2


def test_the_concurrency_must_be_a_whole_number_from_one():
    parser = build_parser(["import"])

    assert parser.parse_args(["import", "s3://b/p/", "--concurrency", "8"]).concurrency == 8
    for bad in ("0", "-1", "two"):
        with pytest.raises(SystemExit):
            parser.parse_args(["import", "s3://b/p/", "--concurrency", bad])
