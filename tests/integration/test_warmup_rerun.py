"""Warm-up at ingestion retries a model that is still loading; a failed one can be re-run by API or CLI."""
import gzip
import json

import pytest
from aws_fakes import ScriptedRuntime, client_error, model_not_ready
from registry_in_process import ChaliceSession, ingest

from client.registry_api import RegistryApi
from client.warmup_cmd import warm_and_report
from local_stack.demo.sample_models import cached_tarball


def test_a_model_still_loading_at_first_is_retried_and_its_alias_moves(app_module):
    runtime = ScriptedRuntime(model_not_ready())

    record = ingest(app_module, "incoming/digits.tar.gz", runtime, {"alias": "prod"})

    assert record.warmup.startswith("ok in ")
    assert record.aliases == {"prod": "created at v1"}
    assert len(runtime.calls) == 2


def test_a_failed_warm_up_rerun_through_the_api_moves_the_requested_alias(api, app_module):
    # GIVEN v1 whose warm-up failed, so its requested alias did not move
    record = ingest(app_module, "incoming/digits.tar.gz", ScriptedRuntime(client_error("ModelError", "no GPU")),
                    {"alias": "prod"})
    assert record.aliases == {"prod": "not moved: the warm-up failed"}
    # WHEN the warm-up is re-run through the API (moto's runtime answers)
    answer = api.http.post("/models/digits/versions/1/warmup")
    # THEN it answered, and the alias its upload requested now points at v1
    assert answer.status_code == 200
    document = json.loads(answer.body)
    assert (document["ok"], document["aliases"]) == (True, {"prod": "created at v1"})
    assert app_module.get_aliases().get("prod").targets[0].version == 1


def test_a_rerun_may_not_take_over_an_alias_of_another_model(api, app_module):
    ingest(app_module, "incoming/fraud.tar.gz", ScriptedRuntime(), {"alias": "prod"})
    ingest(app_module, "incoming/digits.tar.gz", ScriptedRuntime(client_error("ModelError")), {"alias": "prod"})

    document = json.loads(api.http.post("/models/digits/versions/1/warmup").body)

    assert document["aliases"] == {"prod": "refused: alias prod points at model fraud; move it through the API"}
    assert app_module.get_aliases().get("prod").targets[0].model == "fraud"


def test_rerunning_the_warm_up_of_a_missing_version_is_a_404(api):
    answer = api.http.post("/models/digits/versions/7/warmup")

    assert answer.status_code == 404
    assert json.loads(answer.body)["error"]["code"]


def test_the_cli_warmup_command_reruns_it_and_prints_the_alias_moves(api, app_module, capsys):
    ingest(app_module, "incoming/digits.tar.gz", ScriptedRuntime(client_error("ModelError")), {"alias": "prod"})
    registry = RegistryApi("http://registry.test", session=ChaliceSession(api.http))

    status = warm_and_report(registry, "digits", 1, timeout=30, as_json=False)

    assert status == 0
    out = capsys.readouterr().out
    assert "warm-up ok in" in out and "alias prod: created at v1" in out


def test_the_cli_command_is_registered_with_the_client():
    from client.cli import build_parser

    args = build_parser().parse_args(["warmup", "digits", "2"])

    assert (args.model, args.version, args.run.__name__) == ("digits", 2, "run_warmup")


def test_rerunning_a_warm_up_does_not_undo_an_operators_rollback(api, app_module):
    # GIVEN v1 and v2 of digits, alias prod moved to v2 by v2's upload, then rolled back to v1 by an operator
    ingest(app_module, "incoming/digits.tar.gz", ScriptedRuntime(), {"alias": "prod"})
    other_bytes = gzip.compress(gzip.decompress(cached_tarball("digits").read_bytes()), mtime=2)
    second = ingest(app_module, "incoming/digits.tar.gz", ScriptedRuntime(), {"alias": "prod"}, other_bytes)
    assert second.aliases == {"prod": "moved to v2"}
    assert api.http.post("/aliases/prod/rollback", body=b"{}",
                         headers={"Content-Type": "application/json"}).status_code == 200
    # WHEN v2's warm-up is re-run
    document = json.loads(api.http.post("/models/digits/versions/2/warmup").body)
    # THEN the warm-up ran, but prod stays at v1: v2's upload already moved it once
    assert document["ok"] is True
    assert document["aliases"]["prod"].startswith("not moved: this upload already moved it once")
    assert app_module.get_aliases().get("prod").targets[0].version == 1
