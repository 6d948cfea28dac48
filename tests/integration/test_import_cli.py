"""`mme-registry import s3://…`: an endpoint's prefix of tarballs brought under the registry, over real HTTP to
the dev server and boto3 against the emulator (local_stack.api_stack), the source in a bucket of its own.

Each test imports its own prefix, whose keys name models of its own (the stack is shared by the module).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import requests

from client.cli import main
from client.import_plan import list_sources, plan
from client.imports import ImportInterrupted, Importer
from client.registry_api import RegistryApi
from hostile_tarballs import mxnet_files, tgz, valid_mxnet
from local_stack.api_stack import ApiStack

REPO = Path(__file__).resolve().parents[2]
SOURCE = "endpoint-models"  # the existing endpoint's bucket, not the registry's


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with ApiStack(tmp_path_factory.mktemp("import")) as api:
        with api.aws():
            boto3.client("s3").create_bucket(Bucket=SOURCE)
        yield api


@pytest.fixture
def env(stack, monkeypatch):
    for name, value in stack.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MME_REGISTRY_ACTOR", "importer")
    return stack


def s3():
    return boto3.client("s3")


def layout(prefix: str, tag: str) -> dict[str, bytes]:
    """An endpoint's prefix: models fraud (v1..v10, so v10 sorts after v2), churn, team/ranker, one corrupt tarball,
    one key that names no valid model, and a file that is no tarball; every tarball's bytes differ."""
    sizes = iter(range(4096, 8192, 16))
    body = lambda: tgz(mxnet_files(params_size=next(sizes)))  # noqa: E731
    objects = {f"{prefix}{tag}fraud_v{n}.tar.gz": body() for n in range(1, 11)}
    objects |= {f"{prefix}{tag}churn_v{n}.tar.gz": body() for n in (1, 2, 3)}
    objects |= {f"{prefix}team/{tag}ranker.tar.gz": body(), f"{prefix}team/{tag}ranker_v2.tar.gz": body()}
    broken = valid_mxnet()
    objects[f"{prefix}{tag}broken.tar.gz"] = broken[: len(broken) // 2]
    objects[f"{prefix}{tag}bad name!.tar.gz"] = body()
    objects[f"{prefix}README.txt"] = b"the endpoint's notes"
    return objects


def put_prefix(prefix: str, tag: str) -> dict[str, bytes]:
    objects = layout(prefix, tag)
    client = s3()
    for key, data in objects.items():
        client.put_object(Bucket=SOURCE, Key=key, Body=data)
    return objects


def imported(stack, model: str) -> dict[int, str]:
    """Version → the source key it was imported from, read through the API."""
    answer = requests.get(f"{stack.url}/models/{requests.utils.quote(model, safe='')}/versions",
                          params={"limit": 1000}, timeout=10)
    if answer.status_code == 404:
        return {}
    return {v["version"]: v["metadata"].get("import-key") for v in answer.json()["items"]}


def run_json(capsys, *argv: str) -> tuple[int, dict]:
    status = main(["import", *argv, "--json"])
    return status, json.loads(capsys.readouterr().out)


def test_an_import_numbers_versions_in_key_order_reports_each_rejection_and_a_second_run_imports_nothing(env, capsys):
    # GIVEN an endpoint's prefix of 17 tarballs: 15 valid, one corrupt, one whose key names no valid model
    put_prefix("serving/", "a_")
    # WHEN it is imported
    status, summary = run_json(capsys, f"s3://{SOURCE}/serving/")
    # THEN each valid tarball is a version, numbered in the order of its key, and nothing is left in staging/
    assert summary["counts"] == {"imported": 15, "already": 0, "rejected": 2, "failed": 0}
    assert summary["ignored"] == 1 and status == 1
    assert imported(env, "a_fraud") == {n: f"serving/a_fraud_v{n}.tar.gz" for n in range(1, 11)}
    assert imported(env, "a_churn") == {n: f"serving/a_churn_v{n}.tar.gz" for n in (1, 2, 3)}
    assert imported(env, "team/a_ranker") == {1: "serving/team/a_ranker.tar.gz", 2: "serving/team/a_ranker_v2.tar.gz"}
    with env.aws():
        assert not s3().list_objects_v2(Bucket="mme-registry-local", Prefix="staging/").get("KeyCount")
    # AND the corrupt one is reported with the rule the registry named, the bad name with the naming rule
    rejected = {o["key"]: o for o in summary["objects"] if o["outcome"] == "rejected"}
    assert [f["rule"] for f in rejected["serving/a_broken.tar.gz"]["failures"]] == ["gzip.truncated"]
    assert rejected["serving/a_bad name!.tar.gz"]["failures"][0]["rule"] == "name.invalid"
    assert "invalid model name 'a_bad name!'" in rejected["serving/a_bad name!.tar.gz"]["message"]
    assert rejected["serving/a_broken.tar.gz"]["name"] == "a_broken" and imported(env, "a_broken") == {}

    # WHEN it is imported again
    again, second = run_json(capsys, f"s3://{SOURCE}/serving/")
    # THEN nothing new is imported, each object is found as the version it became
    assert second["counts"] == {"imported": 0, "already": 15, "rejected": 2, "failed": 0} and again == 1
    assert {o["key"]: o.get("version") for o in second["objects"]}["serving/a_fraud_v10.tar.gz"] == 10
    assert len(imported(env, "a_fraud")) == 10


def test_an_import_killed_halfway_completes_on_a_second_run_without_a_duplicate(env, capsys):
    # GIVEN an import running as its own process, one model at a time
    put_prefix("killed/", "b_")
    child_env = {**os.environ, **env.env, "MME_REGISTRY_ACTOR": "importer"}
    child = subprocess.Popen([sys.executable, "-m", "client", "import", f"s3://{SOURCE}/killed/", "--concurrency",
                              "1"], cwd=REPO, env=child_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # WHEN it is killed (SIGKILL: no clean-up of any kind) once four versions exist
    try:
        deadline = time.monotonic() + 60
        while (sum(len(imported(env, m)) for m in ("b_churn", "b_fraud")) < 4 and time.monotonic() < deadline
               and child.poll() is None):
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    done_before = {m: imported(env, m) for m in ("b_churn", "b_fraud", "team/b_ranker")}
    assert 4 <= sum(map(len, done_before.values())) < 15, "the kill came after the whole import"
    # AND the same import runs again
    status, summary = run_json(capsys, f"s3://{SOURCE}/killed/")
    # THEN it completes: every object is a version exactly once, in key order, the earlier ones found as they were
    assert summary["counts"]["imported"] + summary["counts"]["already"] == 15 and summary["counts"]["failed"] == 0
    assert summary["counts"]["already"] >= sum(map(len, done_before.values())) and status == 1  # 2 rejected
    assert imported(env, "b_fraud") == {n: f"killed/b_fraud_v{n}.tar.gz" for n in range(1, 11)}
    assert imported(env, "b_churn") == {n: f"killed/b_churn_v{n}.tar.gz" for n in (1, 2, 3)}
    assert imported(env, "team/b_ranker") == {1: "killed/team/b_ranker.tar.gz", 2: "killed/team/b_ranker_v2.tar.gz"}


def test_an_interrupt_lets_the_objects_in_flight_finish_and_starts_no_other(env):
    # GIVEN an import of 15 valid objects, four models at once
    put_prefix("ctrl-c/", "c_")
    client = s3()
    objects, _ = list_sources(client, SOURCE, "ctrl-c/")
    importer = Importer(client, lambda: RegistryApi(env.url), SOURCE, "mme-registry-local")
    seen = []

    def interrupt_after_three(outcome):
        seen.extend([outcome] if outcome.outcome == "imported" else [])
        if len(seen) == 3:
            raise KeyboardInterrupt

    # WHEN Ctrl-C arrives from the progress callback after three imports
    with pytest.raises(ImportInterrupted) as stopped:
        importer.run(plan(objects, "ctrl-c/"), concurrency=2, on_outcome=interrupt_after_three)
    # THEN what was in flight is reported, and the registry holds exactly those versions
    made = {o.key for o in stopped.value.outcomes if o.outcome == "imported"}
    versions = {key for m in ("c_churn", "c_fraud", "team/c_ranker") for key in imported(env, m).values()}
    assert versions == made and 3 <= len(made) < 15


def test_dry_run_names_each_model_and_alias_per_model_creates_only_absent_aliases_as_policies_allow(env, capsys):
    # GIVEN a prefix; alias d_churn-prod already at another model; a policy on d_fraud-prod wanting approval
    put_prefix("aliased/", "d_")
    s3().put_object(Bucket=SOURCE, Key="aliased/d_solo.tar.gz", Body=valid_mxnet(prefix="solo"))
    with env.aws():
        s3().put_object(Bucket="mme-registry-local", Key="staging/d_other.tar.gz", Body=valid_mxnet(prefix="o"))
    source = "s3://mme-registry-local/staging/d_other.tar.gz"
    requests.post(f"{env.url}/models/d_other/versions", json={"source": source}, timeout=30).raise_for_status()
    requests.put(f"{env.url}/aliases/d_churn-prod", json={"model": "d_other", "version": 1},
                 timeout=10).raise_for_status()
    requests.put(f"{env.url}/aliases/d_fraud-prod/policy", json={"require": ["approved"]},
                 timeout=10).raise_for_status()
    # WHEN a dry run lists it
    assert main(["import", f"s3://{SOURCE}/aliased/", "--dry-run", "--name-pattern",
                 r"(team/)?(?P<name>[a-z_]+?)(_v[0-9]+)?\.tar\.gz"]) == 1  # 'bad name!' would be rejected
    listed = " ".join(capsys.readouterr().out.split())
    # THEN it names each model by the pattern, and copies and registers nothing
    assert "aliased/team/d_ranker_v2.tar.gz → d_ranker" in listed and "17 to import" in listed  # not validated yet
    assert imported(env, "d_fraud") == {}
    # WHEN it is imported with an alias per model
    status, summary = run_json(capsys, f"s3://{SOURCE}/aliased/", "--alias-per-model", "{model}-prod")
    # THEN an absent alias is created at its model's newest version; an existing one stays where it was; the
    # policy refuses an unapproved target; a model whose name makes no alias is skipped with the rule
    aliases = {a["alias"]: a for a in summary["aliases"]}
    assert {name: a["outcome"] for name, a in aliases.items()} == {"d_solo-prod": "created", "d_churn-prod": "skipped",
                                                                    "d_fraud-prod": "refused",
                                                                    "team/d_ranker-prod": "skipped"}
    assert "d_other v1" in aliases["d_churn-prod"]["message"]
    assert "invalid alias" in aliases["team/d_ranker-prod"]["message"]
    assert "alias_policy_unmet" in aliases["d_fraud-prod"]["message"] and aliases["d_fraud-prod"]["version"] == 10
    assert requests.get(f"{env.url}/aliases/d_solo-prod", timeout=10).json()["version"] == 1
    assert requests.get(f"{env.url}/aliases/d_churn-prod", timeout=10).json()["model"] == "d_other"
    assert requests.get(f"{env.url}/aliases/d_fraud-prod", timeout=10).status_code == 404
    assert status == 1  # two objects rejected, one alias refused
    # AND a second run finds the alias it made where it left it
    _, again = run_json(capsys, f"s3://{SOURCE}/aliased/", "--alias-per-model", "{model}-prod")
    assert {a["alias"]: a["outcome"] for a in again["aliases"]}["d_solo-prod"] == "already"


def test_an_object_over_the_single_copy_limit_is_copied_part_by_part_and_imported_whole(env):
    # GIVEN an importer whose limit for one CopyObject is 1 byte (S3's is 5 GB), so UploadPartCopy copies
    client = s3()
    body = tgz(mxnet_files(params_size=6000))
    client.put_object(Bucket=SOURCE, Key="parts/e_big_v1.tar.gz", Body=body)
    objects, _ = list_sources(client, SOURCE, "parts/")
    importer = Importer(client, lambda: RegistryApi(env.url), SOURCE, "mme-registry-local", max_single_copy=1)
    # WHEN it is imported
    outcomes = importer.run(plan(objects, "parts/"))
    # THEN it is a version with the source's very bytes
    assert [(o.outcome, o.version) for o in outcomes] == [("imported", 1)], outcomes
    version = requests.get(f"{env.url}/models/e_big/versions/1", timeout=10).json()
    assert client.get_object(Bucket="mme-registry-local", Key=version["target_key"])["Body"].read() == body


def test_an_object_replaced_after_the_listing_fails_and_the_models_later_keys_wait_so_numbers_keep_key_order(env):
    # GIVEN a listing of f_model v1..v3, after which v2 is replaced by other bytes
    client = s3()
    for n in (1, 2, 3):
        body = tgz(mxnet_files(params_size=5000 + n))
        client.put_object(Bucket=SOURCE, Key=f"changed/f_model_v{n}.tar.gz", Body=body)
    objects, _ = list_sources(client, SOURCE, "changed/")
    client.put_object(Bucket=SOURCE, Key="changed/f_model_v2.tar.gz", Body=tgz(mxnet_files(params_size=5100)))
    importer = Importer(client, lambda: RegistryApi(env.url), SOURCE, "mme-registry-local")
    # WHEN it is imported from that listing
    outcomes = {o.key: o for o in importer.run(plan(objects, "changed/"))}
    # THEN v1 is imported, v2's copy is refused (its ETag changed), and v3 is not tried
    assert outcomes["changed/f_model_v1.tar.gz"].outcome == "imported"
    assert outcomes["changed/f_model_v2.tar.gz"].outcome == "failed"
    assert "PreconditionFailed" in outcomes["changed/f_model_v2.tar.gz"].message
    assert outcomes["changed/f_model_v3.tar.gz"].message.startswith("not tried: changed/f_model_v2.tar.gz")
    # AND a re-run from a new listing imports the rest in key order
    objects, _ = list_sources(client, SOURCE, "changed/")
    assert [o.outcome for o in importer.run(plan(objects, "changed/"))] == ["already", "imported", "imported"]
    assert imported(env, "f_model") == {n: f"changed/f_model_v{n}.tar.gz" for n in (1, 2, 3)}
