"""`mme-registry describe|tag|card|approve|history|search|alias policy` over real HTTP to the dev server.

Every model here is named zzz_*: the console stack is shared, and the models list's own tests expect
their models on its first pages, so these sort after them.
"""
from __future__ import annotations

import json

import pytest
import requests

from client.cli import main
from hostile_tarballs import mxnet_files, tgz

pytestmark = pytest.mark.xdist_group("console")  # the registry of the console stack, started once per worker


@pytest.fixture
def registry(console_site, monkeypatch):
    monkeypatch.setenv("MME_REGISTRY_URL", console_site.registry)
    monkeypatch.setenv("COLUMNS", "200")  # rich tables in one line each
    monkeypatch.setenv("MME_REGISTRY_ACTOR", "carol")  # who the CLI says it is (else the OS user)
    return console_site


def words(printed: str) -> str:
    """What a command printed, one space between words, a table's cell borders dropped."""
    return " ".join(printed.translate(str.maketrans("│┃", "  ")).split())


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, words(captured.out), words(captured.err)


def version(stack, name: str, number: int = 1) -> dict:
    return requests.get(f"{stack.registry}/models/{name}/versions/{number}", timeout=10).json()


def test_describe_and_tag_edit_at_the_revision_read_and_history_lists_both(registry, capsys):
    registry.register("zzz_cli_edit", tgz(mxnet_files()))

    described = run(capsys, "describe", "zzz_cli_edit", "1", "fraud scorer, March data")
    tagged = run(capsys, "tag", "zzz_cli_edit", "1", "team=fraud", "stage=candidate")
    untagged = run(capsys, "tag", "zzz_cli_edit", "1", "--remove", "stage")
    history = run(capsys, "history", "zzz_cli_edit", "1")

    assert described[0] == tagged[0] == untagged[0] == history[0] == 0
    assert "description: fraud scorer, March data" in described[1]
    assert "tags: stage=candidate, team=fraud" in tagged[1] and "metadata revision 2" in tagged[1]
    assert "tags: team=fraud" in untagged[1] and "metadata revision 3" in untagged[1]
    assert history[1].count(" metadata ") == 3 and "local:carol" in history[1]
    assert version(registry, "zzz_cli_edit")["tags"] == {"team": "fraud"}


def test_an_edit_refused_by_a_limit_names_the_rule_and_changes_nothing(registry, capsys):
    registry.register("zzz_cli_limit", tgz(mxnet_files()))

    status, _, err = run(capsys, "describe", "zzz_cli_limit", "1", "x" * 1025)

    assert status == 1 and "(HTTP 422, invalid_input)" in err
    assert version(registry, "zzz_cli_limit")["metadata_revision"] == 0


def test_a_stale_edit_is_refused_and_shows_the_version_as_someone_else_left_it(registry, capsys):
    from client.registry_api import RegistryApi
    from client.versions_cmd import edit

    # GIVEN the CLI read revision 0, then someone else described the version
    registry.register("zzz_cli_stale", tgz(mxnet_files()))
    api = RegistryApi(registry.registry)
    read = api.get_version("zzz_cli_stale", 1)
    api.edit_version("zzz_cli_stale", 1, {"description": "theirs"}, 0)
    # WHEN the CLI sends its edit at the revision it read
    status = edit(api, "zzz_cli_stale", 1, {"description": "mine"}, read)
    # THEN it is refused by rule, shows theirs, and theirs stands
    err = words(capsys.readouterr().err)
    assert status == 1 and "HTTP 409, revision_conflict" in err
    assert "(revision 0, now 1)" in err and "description: theirs" in err
    assert version(registry, "zzz_cli_stale")["description"] == "theirs"


def test_card_edits_merge_into_the_card_and_json_exports_it(registry, capsys):
    registry.register("zzz_cli_card", tgz(mxnet_files()))

    first = run(capsys, "card", "zzz_cli_card", "1", "--set", "owner=team-fraud", "--metric", "auc=0.91",
                "--link", "run=https://ci.example/runs/7?attempt=2")
    second = run(capsys, "card", "zzz_cli_card", "1", "--set", "license=Apache-2.0", "--metric", "f1=0.8")
    exported = main(["card", "zzz_cli_card", "1", "--json"])
    card = json.loads(capsys.readouterr().out)

    assert first[0] == second[0] == exported == 0
    assert card == version(registry, "zzz_cli_card")["card"]
    assert (card["owner"], card["license"], card["metrics"]) == ("team-fraud", "Apache-2.0", {"auc": 0.91, "f1": 0.8})
    assert card["links"] == [{"title": "run", "url": "https://ci.example/runs/7?attempt=2"}]


def test_approve_records_the_status_and_reason_and_reject_overrides_it(registry, capsys):
    registry.register("zzz_cli_approve", tgz(mxnet_files()))

    approved = run(capsys, "approve", "zzz_cli_approve", "1", "--reason", "passed evaluation")
    rejected = run(capsys, "approve", "zzz_cli_approve", "1", "--reason", "drift", "--reject")

    assert approved[0] == rejected[0] == 0
    assert "approval: Approved by local:carol" in approved[1] and ": passed evaluation" in approved[1]
    assert "approval: Rejected by local:carol" in rejected[1]
    assert version(registry, "zzz_cli_approve")["approval"]["status"] == "Rejected"


def test_search_finds_models_by_tag_and_a_models_versions_by_approval(registry, capsys):
    registry.register("zzz_cli_found", tgz(mxnet_files()))
    registry.register("zzz_cli_found", tgz(mxnet_files(params_size=8192)))
    registry.register("zzz_cli_other", tgz(mxnet_files()))
    run(capsys, "tag", "zzz_cli_found", "2", "team=cli-search")
    run(capsys, "approve", "zzz_cli_found", "2", "--reason", "ok")

    models = run(capsys, "search", "--tag", "team:cli-search")
    named = run(capsys, "search", "ZZZ_CLI_")
    approved = run(capsys, "search", "--model", "zzz_cli_found", "--approval", "Approved")
    nothing = run(capsys, "search", "--tag", "team:nobody")

    assert "zzz_cli_found" in models[1] and "zzz_cli_other" not in models[1]
    assert "zzz_cli_found" in named[1] and "zzz_cli_other" in named[1] and "resnet_18" not in named[1]
    assert "v2 Approved team=cli-search" in approved[1] and "v1 " not in approved[1]
    assert nothing[1] == "nothing matches"


def test_alias_policy_set_shown_enforced_and_deleted(registry, capsys):
    # GIVEN alias `zzz_cli_guarded` at v1 of a model with an unapproved v2
    registry.register("zzz_cli_policy", tgz(mxnet_files()))
    registry.register("zzz_cli_policy", tgz(mxnet_files(params_size=8192)))
    registry.put_alias("zzz_cli_guarded", {"model": "zzz_cli_policy", "version": 1})
    # WHEN a policy requires approved targets, set in two steps (the second keeps the first's movers)
    set_ = run(capsys, "alias", "policy", "zzz_cli_guarded", "--movers", "arn:aws:iam::*:role/deployer*",
               "local:carol")
    required = run(capsys, "alias", "policy", "zzz_cli_guarded", "--require", "approved")
    shown = run(capsys, "alias", "policy", "zzz_cli_guarded")
    moved = run(capsys, "alias", "set", "zzz_cli_guarded", "zzz_cli_policy", "2")
    # THEN the move is refused naming the rule, until the policy is deleted
    assert set_[0] == required[0] == shown[0] == 0
    assert "movers: arn:aws:iam::*:role/deployer*, local:carol" in shown[1] and "require: approved" in shown[1]
    assert moved[0] == 1 and "alias_policy_unmet" in moved[2]
    assert run(capsys, "alias", "policy", "zzz_cli_guarded", "--delete")[0] == 0
    assert run(capsys, "alias", "set", "zzz_cli_guarded", "zzz_cli_policy", "2")[0] == 0
    assert "has no policy" in run(capsys, "alias", "policy", "zzz_cli_guarded")[1]


def test_a_move_by_someone_the_policy_does_not_name_is_refused_as_who(registry, capsys):
    registry.register("zzz_cli_locked", tgz(mxnet_files()))
    registry.put_alias("zzz_cli_locked", {"model": "zzz_cli_locked", "version": 1})
    run(capsys, "alias", "policy", "zzz_cli_locked", "--movers", "arn:aws:iam::123456789012:role/deployer")

    status, _, err = run(capsys, "alias", "set", "zzz_cli_locked", "zzz_cli_locked", "latest")
    again, _, policy_err = run(capsys, "alias", "policy", "zzz_cli_locked", "--require", "approved")

    assert status == again == 1
    assert "(HTTP 403, alias_policy_mover)" in err and "(HTTP 403, alias_policy_mover)" in policy_err


def test_a_policy_naming_a_local_person_refuses_bobs_alias_set_and_takes_alices(registry, capsys, monkeypatch):
    # GIVEN alias zzz_cli_alices at v1, whose policy alice set: only she moves it, only her approval counts
    registry.register("zzz_cli_alice", tgz(mxnet_files()))
    registry.register("zzz_cli_alice", tgz(mxnet_files(params_size=8192)))
    registry.put_alias("zzz_cli_alices", {"model": "zzz_cli_alice", "version": 1})
    monkeypatch.setenv("MME_REGISTRY_ACTOR", "alice")
    assert run(capsys, "alias", "policy", "zzz_cli_alices", "--movers", "local:alice", "--approvers", "local:alice",
               "--require", "approved")[0] == 0
    # WHEN bob approves v2 and moves the alias to it, then alice does both
    monkeypatch.setenv("MME_REGISTRY_ACTOR", "bob")
    bob_approved = run(capsys, "approve", "zzz_cli_alice", "2", "--reason", "looks fine to bob")
    bob_moved = run(capsys, "alias", "set", "zzz_cli_alices", "zzz_cli_alice", "2")
    monkeypatch.setenv("MME_REGISTRY_ACTOR", "alice")
    alice_approved = run(capsys, "approve", "zzz_cli_alice", "2", "--reason", "passed evaluation")
    alice_moved = run(capsys, "alias", "set", "zzz_cli_alices", "zzz_cli_alice", "2")
    history = run(capsys, "history", "zzz_cli_alice", "2")
    # THEN bob's move is refused by the movers rule, alice's is taken, and the history names each of them
    assert bob_approved[0] == 0 and "approval: Approved by local:bob" in bob_approved[1]
    assert bob_moved[0] == 1 and "(HTTP 403, alias_policy_mover)" in bob_moved[2]
    assert "local:bob may not move alias zzz_cli_alices" in bob_moved[2]
    assert alice_approved[0] == alice_moved[0] == history[0] == 0
    assert requests.get(f"{registry.registry}/aliases/zzz_cli_alices", timeout=10).json()["version"] == 2
    assert "local:alice" in history[1] and "local:bob" in history[1]
    approval = version(registry, "zzz_cli_alice", 2)["approval"]
    assert (approval["status"], approval["actor"], approval["reason"]) == ("Approved", "local:alice",
                                                                           "passed evaluation")


def test_upload_says_the_description_and_tags_the_new_version_carries(registry, capsys, tmp_path):
    tarball = tmp_path / "zzz_cli_said.tar.gz"
    tarball.write_bytes(tgz(mxnet_files()))

    with registry.api.aws():  # the upload's S3 put reaches this stack's emulator
        status, said, _ = run(capsys, "upload", str(tarball), "--name", "zzz_cli_said",
                              "--description", "from the CLI", "--tag", "team=fraud", "--tag", "stage=candidate")

    assert status == 0 and "accepted: zzz_cli_said v1" in said
    held = version(registry, "zzz_cli_said")
    assert (held["description"], held["tags"]) == ("from the CLI", {"team": "fraud", "stage": "candidate"})


def test_an_upload_whose_tags_break_a_rule_is_rejected_by_that_rule(registry, capsys, tmp_path):
    tarball = tmp_path / "zzz_cli_badtag.tar.gz"
    tarball.write_bytes(tgz(mxnet_files()))

    with registry.api.aws():
        status, said, _ = run(capsys, "upload", str(tarball), "--name", "zzz_cli_badtag", "--tag", "team=" + "x" * 300)

    assert status == 1 and "rejected" in said and "tags.value" in said
    assert requests.get(f"{registry.registry}/models/zzz_cli_badtag", timeout=10).status_code == 404



def test_what_people_typed_prints_as_text_never_as_terminal_control_or_markup(registry, capsys):
    registry.register("zzz_cli_typed", tgz(mxnet_files()))

    status, said, _ = run(capsys, "describe", "zzz_cli_typed", "1", "\x1b[2J[red]cleared[/red]")

    assert status == 0 and "description: \\x1b[2J[red]cleared[/red]" in said


def test_search_reads_past_pages_the_registry_filtered_empty(registry, capsys):
    # GIVEN three models tagged team:fill, of which only the last (in the index's order) is also stage:prod
    for name in ("zzz_cli_fill_a", "zzz_cli_fill_b", "zzz_cli_fill_c"):
        registry.register(name, tgz(mxnet_files()))
        run(capsys, "tag", name, "1", "team=fill", *(["stage=prod"] if name == "zzz_cli_fill_c" else []))
    # WHEN a search asks for both tags, one model a page
    status, found, _ = run(capsys, "search", "--tag", "team:fill", "--tag", "stage:prod", "--limit", "1")
    # THEN the match comes back, though the registry's first pages held none
    assert status == 0 and "zzz_cli_fill_c" in found and "nothing matches" not in found


def test_a_card_exported_as_json_is_the_card_another_version_takes_from_it(registry, capsys, tmp_path):
    registry.register("zzz_cli_export", tgz(mxnet_files()))
    registry.register("zzz_cli_export", tgz(mxnet_files(params_size=8192)))
    run(capsys, "card", "zzz_cli_export", "1", "--set", "owner=team-fraud", "--metric", "auc=0.91",
        "--link", "run=https://ci.example/runs/7")
    assert main(["card", "zzz_cli_export", "1", "--json"]) == 0
    (tmp_path / "card.json").write_text(capsys.readouterr().out)

    status, _, _ = run(capsys, "card", "zzz_cli_export", "2", "--from-json", str(tmp_path / "card.json"),
                       "--metric", "auc=0.93")

    second = version(registry, "zzz_cli_export", 2)["card"]
    assert status == 0 and second == {**version(registry, "zzz_cli_export", 1)["card"], "metrics": {"auc": 0.93}}
