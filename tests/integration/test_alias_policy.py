"""Alias policies: who may move an alias and what its targets must have, on every path that moves it."""
import gzip

import pytest
from aws_fakes import ScriptedRuntime, client_error

from change_events import check
from chalicelib.aliases.alias_store import AliasTarget
from chalicelib.aliases.policy import AliasPolicy
from chalicelib.records import utcnow
from local_stack.demo.sample_models import cached_tarball
from test_version_metadata import call, outbox_events
from registry_in_process import ingest

pytestmark = pytest.mark.xdist_group("alias_policy")

OPS = "arn:aws:iam::123456789012:role/ops"


def approve(client, model: str, version: int, status: str = "Approved"):
    assert call(client, "PUT", f"/models/{model}/versions/{version}/approval", {"status": status})[0] == 200


def protect(registry_app, alias: str, **policy):
    """Sets a policy as `ops` would (the local stage's API caller is anonymous, so movers are set here)."""
    registry_app.get_policies().put(alias, AliasPolicy(**policy), None, OPS)


def test_a_policy_is_set_read_shown_on_its_alias_deleted_and_announced(client, seed, registry_app):
    seed.version("fraud")
    call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})

    status, set_ = call(client, "PUT", "/aliases/fraud-prod/policy", {"require": ["approved"], "expected_revision": 0})

    assert status == 200
    assert (set_["alias"], set_["revision"], set_["actor"]) == ("fraud-prod", 1, "anonymous")
    assert set_["policy"] == {"movers": [], "approvers": [], "require": ["approved"], "shadow": None}
    assert call(client, "GET", "/aliases/fraud-prod/policy")[1]["policy"]["require"] == ["approved"]
    assert call(client, "GET", "/aliases/fraud-prod")[1]["policy"]["require"] == ["approved"]
    assert call(client, "DELETE", "/aliases/fraud-prod/policy")[0] == 204
    assert call(client, "GET", "/aliases/fraud-prod/policy")[0] == 404
    assert call(client, "GET", "/aliases/fraud-prod")[1]["policy"] is None
    events = outbox_events(registry_app, "AliasPolicyChanged")
    assert [(e["revision"], e["policy"] and e["policy"]["require"]) for e in events] == [(1, ["approved"]), (2, None)]
    for event in events:
        check(event)


def test_a_caller_not_among_the_movers_may_neither_move_the_alias_nor_change_its_policy(client, seed, registry_app):
    seed.version("fraud"), seed.version("fraud")
    call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 2})
    call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})
    protect(registry_app, "fraud-prod", movers=["arn:aws:iam::*:role/ops"])

    moved = call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 2})
    rolled = call(client, "POST", "/aliases/fraud-prod/rollback")
    deleted = call(client, "DELETE", "/aliases/fraud-prod")
    changed = call(client, "PUT", "/aliases/fraud-prod/policy", {"movers": []})
    removed = call(client, "DELETE", "/aliases/fraud-prod/policy")

    for status, error in (moved, rolled, deleted, changed, removed):
        assert (status, error["error"]["code"]) == (403, "alias_policy_mover")
    assert call(client, "GET", "/aliases/fraud-prod")[1]["version"] == 1
    # the movers pattern matches the ARN it names, with * for any run of characters
    registry_app.get_aliases().point("fraud-prod", [AliasTarget(model="fraud", version=2)], False, None, OPS)
    assert call(client, "GET", "/aliases/fraud-prod")[1]["version"] == 2


def test_require_approved_refuses_an_unapproved_target_with_409_naming_the_rule_and_version(client, seed,
                                                                                            registry_app):
    seed.version("fraud")
    protect(registry_app, "fraud-prod", require=["approved"])

    status, error = call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})

    assert (status, error["error"]["code"]) == (409, "alias_policy_unmet")
    assert "'approved'" in error["error"]["message"] and "fraud v1" in error["error"]["message"]
    assert call(client, "GET", "/aliases/fraud-prod")[0] == 404
    approve(client, "fraud", 1)
    assert call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})[0] == 200


def test_every_target_of_a_weighted_alias_must_be_approved(client, seed, registry_app):
    seed.version("fraud"), seed.version("fraud")
    approve(client, "fraud", 1)
    protect(registry_app, "fraud-prod", require=["approved"])

    status, error = call(client, "PUT", "/aliases/fraud-prod", {"targets": [
        {"model": "fraud", "version": 1, "weight": 90}, {"model": "fraud", "version": 2, "weight": 10}]})

    assert status == 409 and "fraud v2" in error["error"]["message"]


def test_an_approval_counts_only_from_an_actor_among_the_approvers(client, seed, registry_app):
    seed.version("fraud")
    approve(client, "fraud", 1)  # by the local caller, "anonymous"
    protect(registry_app, "fraud-prod", require=["approved"], approvers=["arn:aws:sts::*:assumed-role/approvers/*"])

    status, error = call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})

    assert status == 409 and "approvers" in error["error"]["message"]
    registry_app.get_approvals().set("fraud", 1, "Approved", "ok", "arn:aws:sts::1:assumed-role/approvers/ada")
    assert call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})[0] == 200


def test_a_rollback_to_a_version_no_longer_approved_is_refused(client, seed, registry_app):
    # GIVEN prod moved from an approved v1 to an approved v2, then v1 was rejected
    seed.version("fraud"), seed.version("fraud")
    approve(client, "fraud", 1), approve(client, "fraud", 2)
    protect(registry_app, "fraud-prod", require=["approved"])
    call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})
    call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 2})
    approve(client, "fraud", 1, "Rejected")
    # WHEN an operator rolls back THEN the policy refuses, and prod stays on v2
    status, error = call(client, "POST", "/aliases/fraud-prod/rollback")

    assert (status, error["error"]["code"]) == (409, "alias_policy_unmet")
    assert "Rejected" in error["error"]["message"]
    assert call(client, "GET", "/aliases/fraud-prod")[1]["version"] == 2


def test_require_warmed_needs_a_successful_warm_up_recorded(client, seed, registry_app):
    seed.version("fraud")
    protect(registry_app, "fraud-prod", require=["warmed"])

    status, error = call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})
    registry_app.get_store().mark_warmed("fraud", 1, utcnow())

    assert status == 409 and "'warmed'" in error["error"]["message"]
    assert call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})[0] == 200


def test_an_upload_asking_for_a_protected_alias_becomes_a_version_and_records_the_refusal(registry_app):
    protect(registry_app, "digits-prod", require=["approved"])

    record = ingest(registry_app, "incoming/digits.tar.gz", ScriptedRuntime(), {"alias": "digits-prod"})

    assert (record.outcome, record.version) == ("accepted", 1)
    assert record.aliases["digits-prod"].startswith("refused: alias digits-prod requires 'approved'")
    assert registry_app.get_alias_store().get("digits-prod") is None


def test_an_upload_by_a_principal_not_among_the_movers_does_not_move_the_alias(registry_app):
    protect(registry_app, "digits-prod", movers=[OPS])

    record = ingest(registry_app, "incoming/digits.tar.gz", ScriptedRuntime(), {"alias": "digits-prod"})

    assert record.aliases["digits-prod"].startswith("refused: AWS:AIDAUPLOADER may not move alias digits-prod")


def test_an_alias_following_latest_does_not_follow_an_unapproved_version(client, registry_app):
    # GIVEN prod follows the latest version of digits, v1 approved, and a policy requiring approval
    ingest(registry_app, "incoming/digits.tar.gz", ScriptedRuntime(), {})
    approve(client, "digits", 1)
    assert call(client, "PUT", "/aliases/digits-prod", {"model": "digits", "version": "latest"})[0] == 200
    protect(registry_app, "digits-prod", require=["approved"])
    # WHEN v2 is uploaded (the same model, compressed again: other bytes)
    body = gzip.compress(gzip.decompress(cached_tarball("digits").read_bytes()), mtime=1)
    record = ingest(registry_app, "incoming/digits.tar.gz", ScriptedRuntime(), {}, body=body)
    # THEN the alias stays on v1, and the upload record says why
    assert (record.outcome, record.version) == ("accepted", 2)
    assert record.aliases["digits-prod"].startswith("refused: alias digits-prod requires 'approved': digits v2")
    assert call(client, "GET", "/aliases/digits-prod")[1]["version"] == 1


def test_a_rerun_warm_up_moves_a_protected_alias_only_once_the_policy_holds(client, registry_app):
    # GIVEN v1 whose warm-up failed, so its requested alias did not move; the alias requires warmed and approved
    record = ingest(registry_app, "incoming/digits.tar.gz", ScriptedRuntime(client_error("ModelError", "no GPU")),
                    {"alias": "digits-prod"})
    assert record.aliases == {"digits-prod": "not moved: the warm-up failed"}
    protect(registry_app, "digits-prod", require=["warmed", "approved"])
    # WHEN the warm-up is re-run: warmed now, but not approved
    status, run = call(client, "POST", "/models/digits/versions/1/warmup")
    assert status == 200 and run["ok"]
    assert run["aliases"]["digits-prod"].startswith("refused: alias digits-prod requires 'approved'")
    assert call(client, "GET", "/models/digits/versions/1")[1]["warmed_at"] is not None
    # THEN once approved, a re-run moves it
    approve(client, "digits", 1)
    assert call(client, "POST", "/models/digits/versions/1/warmup")[1]["aliases"] == {"digits-prod": "created at v1"}


def test_an_approval_withdrawn_between_the_policy_check_and_the_write_stops_the_move(registry_app, seed):
    # GIVEN prod requires approval and v1 is approved
    from aws_fakes import BeforeFirstTransaction
    from chalicelib.aliases.aliases import Aliases
    from chalicelib.aliases.alias_store import AliasStore
    from chalicelib.aliases.policy import PolicyStore
    from chalicelib.errors import PolicyUnmet

    seed.version("fraud")
    registry_app.get_approvals().set("fraud", 1, "Approved", None, OPS)
    protect(registry_app, "fraud-prod", require=["approved"])
    settings = registry_app.settings
    # WHEN the approval is withdrawn after the move checked the policy, before its transaction
    reject = lambda: registry_app.get_approvals().set("fraud", 1, "Rejected", "leak found", OPS)  # noqa: E731
    racing = BeforeFirstTransaction(registry_app.get_session().client("dynamodb"), reject)
    aliases = Aliases(registry_app.get_store(), AliasStore(racing, settings.table),
                      endpoints=registry_app.get_endpoints(), policies=PolicyStore(racing, settings.table))
    # THEN the write fails on the changed revision, the retry checks again, and the move is refused
    with pytest.raises(PolicyUnmet, match="Rejected"):
        aliases.point("fraud-prod", [AliasTarget(model="fraud", version=1)], False, None, OPS)
    assert registry_app.get_alias_store().get("fraud-prod") is None


def test_a_policy_set_between_the_check_and_the_write_stops_the_move(registry_app, seed):
    # GIVEN an unprotected alias about to move to an unapproved v1
    from aws_fakes import BeforeFirstTransaction
    from chalicelib.aliases.aliases import Aliases
    from chalicelib.aliases.alias_store import AliasStore
    from chalicelib.aliases.policy import PolicyStore
    from chalicelib.errors import PolicyUnmet

    seed.version("fraud")
    settings = registry_app.settings
    # WHEN a policy requiring approval is set after the move read none, before its transaction
    racing = BeforeFirstTransaction(registry_app.get_session().client("dynamodb"),
                                    lambda: protect(registry_app, "fraud-prod", require=["approved"]))
    aliases = Aliases(registry_app.get_store(), AliasStore(racing, settings.table),
                      endpoints=registry_app.get_endpoints(), policies=PolicyStore(racing, settings.table))
    # THEN the write fails on the policy's guard, the retry reads the policy, and the move is refused
    with pytest.raises(PolicyUnmet, match="approved"):
        aliases.point("fraud-prod", [AliasTarget(model="fraud", version=1)], False, None, OPS)
    assert registry_app.get_alias_store().get("fraud-prod") is None
