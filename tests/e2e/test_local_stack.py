"""The whole flow on the local stack (`python -m local_stack up`, as its own process): drop →
version → alias → invoke, with user code that knows only the AWS_ENDPOINT_URL* settings."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import numpy as np
import pytest
import requests

from e2e.stack_fixtures import MODEL_BUDGET, local_stack, stack_env, stack_environment  # noqa: F401
from local_stack.demo.sample_models import cached_tarball, digits_split, pack, train_digits, unpack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("stack")]

BUCKET = ENDPOINT = "mme-registry-local"


# helpers ---------------------------------------------------------------------------
def wait_for_upload(registry: str, name: str, timeout: float = 60) -> dict:
    """The newest outcome recorded for model `name`'s drop-folder uploads."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = requests.get(f"{registry}/models/{name}/uploads", timeout=10)
        if answer.status_code == 200 and answer.json()["items"]:
            return answer.json()["items"][0]
        time.sleep(0.2)
    raise AssertionError(f"no outcome recorded for {name} within {timeout} s")


def drop(name: str, tarball: Path, aliases: tuple[str, ...] = ()) -> dict:
    """Plain boto3 put into the drop folder, then the registry's record of it."""
    from client.uploads import upload_model

    outcome = upload_model(tarball, name, list(aliases))
    assert outcome.outcome == "accepted", outcome.record
    return outcome.record


def mxnet_probabilities(tarball: Path, rows: np.ndarray, workdir: Path) -> np.ndarray:
    """What MXNet itself computes for `rows` with the model in `tarball` (softmax of the logits)."""
    import mxnet as mx

    folder = workdir / tarball.name.replace(".tar.gz", "")
    folder.mkdir(parents=True, exist_ok=True)
    unpack(tarball, folder)
    net = mx.gluon.nn.SymbolBlock.imports(str(folder / "digits-symbol.json"), ["data"],
                                          str(folder / "digits-0000.params"))
    return mx.nd.softmax(net(mx.nd.array(rows))).asnumpy()


def body_of(rows: np.ndarray) -> str:
    return json.dumps({"instances": rows.tolist()})


@pytest.fixture(scope="session")
def split():
    return digits_split()


@pytest.fixture(scope="session")
def digits_versions(local_stack, split, tmp_path_factory):  # noqa: F811
    """`digits` v1 (weak) and v2 (good) registered once, with what MXNet answers for the held-out digits."""
    work = tmp_path_factory.mktemp("mxnet")
    tarballs = {1: cached_tarball("digits_small"), 2: cached_tarball("digits")}
    with stack_environment(local_stack):
        for version, tarball in tarballs.items():
            assert drop("digits", tarball)["version"] == version
    return {version: mxnet_probabilities(tarball, split.test_x, work) for version, tarball in tarballs.items()}


def put_alias(registry: str, alias: str, body: dict) -> dict:
    answer = requests.put(f"{registry}/aliases/{alias}", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


# tests -----------------------------------------------------------------------------
def test_a_dropped_model_is_served_by_alias_with_mxnets_own_argmax(stack_env, split, tmp_path):  # noqa: F811
    # GIVEN a model dropped with plain boto3, asking for an alias
    tarball = cached_tarball("digits")
    boto3.client("s3").upload_file(str(tarball), BUCKET, "incoming/e2e_plain.tar.gz",
                                   ExtraArgs={"Metadata": {"alias": "e2e-plain"}})
    record = wait_for_upload(stack_env["MME_REGISTRY_URL"], "e2e_plain")
    assert record["outcome"] == "accepted" and record["aliases"] == {"e2e-plain": "created at v1"}
    # WHEN user code resolves the alias and calls InvokeEndpoint with plain boto3
    alias = requests.get(f"{stack_env['MME_REGISTRY_URL']}/aliases/e2e-plain", timeout=10).json()
    answer = boto3.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=alias["endpoint"], TargetModel=alias["target_model"], Body=body_of(split.test_x),
        ContentType="application/json", Accept="application/json")
    served = np.asarray(json.loads(answer["Body"].read())["predictions"])
    # THEN the endpoint serves exactly what MXNet computes for that model
    expected = mxnet_probabilities(tarball, split.test_x, tmp_path)
    assert alias["target_model"] == "e2e_plain_v1.tar.gz"
    assert (served.argmax(axis=1) == expected.argmax(axis=1)).all()
    np.testing.assert_allclose(served, expected, atol=1e-5)
    assert (served.argmax(axis=1) == split.test_y).mean() > 0.9


def test_moving_an_alias_changes_the_served_version_without_touching_the_caller(stack_env, split,  # noqa: F811
                                                                                  digits_versions):
    from client import AliasClient

    registry = stack_env["MME_REGISTRY_URL"]
    put_alias(registry, "e2e-move", {"model": "digits", "version": 1})
    caller = AliasClient(cache_ttl=0.2)
    before = np.asarray(caller.predict("e2e-move", split.test_x))

    put_alias(registry, "e2e-move", {"model": "digits", "version": 2})
    time.sleep(0.3)  # the caller's alias cache expires
    after = np.asarray(caller.predict("e2e-move", split.test_x))

    np.testing.assert_allclose(before, digits_versions[1], atol=1e-5)
    np.testing.assert_allclose(after, digits_versions[2], atol=1e-5)
    assert (after.argmax(axis=1) == split.test_y).mean() > (before.argmax(axis=1) == split.test_y).mean()


def test_a_90_10_weighted_alias_splits_1000_calls_within_5_percent(stack_env, split, digits_versions):  # noqa: F811
    from client import AliasClient

    put_alias(stack_env["MME_REGISTRY_URL"], "e2e-canary", {"targets": [
        {"model": "digits", "version": 1, "weight": 90}, {"model": "digits", "version": 2, "weight": 10}]})
    caller = AliasClient()
    row = split.test_x[:1]

    def one_call(_):
        result = caller.invoke("e2e-canary", body_of(row), accept="application/json")
        # the target the client picked is the one that answered: each version has its own output
        np.testing.assert_allclose(result.json()["predictions"], digits_versions[result.version][:1], atol=1e-5)
        return result.version

    with ThreadPoolExecutor(max_workers=8) as pool:  # as an application's request threads would
        served = Counter(pool.map(one_call, range(1000)))

    assert served[1] + served[2] == 1000
    assert abs(served[2] / 1000 - 0.10) <= 0.05


@pytest.fixture(scope="session")
def five_models(tmp_path_factory, split):
    """Five distinct digits classifiers (different seeds and sizes), each with MXNet's own answers."""
    work = tmp_path_factory.mktemp("five")
    models = {}
    for index in range(5):
        folder = work / f"m{index}"
        train_digits(folder, hidden=8 + 4 * index, epochs=2, seed=index + 1)
        tarball = pack(folder, work / f"e2e_cycle_{index}.tar.gz")
        models[f"e2e_cycle_{index}"] = (tarball, mxnet_probabilities(tarball, split.test_x[:20], work))
    return models


def test_with_a_two_model_budget_cycling_through_five_models_keeps_answering_correctly(
        local_stack, stack_env, split, five_models):  # noqa: F811
    from client import AliasClient

    for name, (tarball, _) in five_models.items():
        drop(name, tarball, aliases=(name.replace("_", "-"),))
    caller = AliasClient()
    mms = local_stack.info["mms_url"]

    order = [*five_models, next(iter(five_models))]  # the first one again: it was evicted meanwhile
    for name in order:
        served = np.asarray(caller.predict(name.replace("_", "-"), split.test_x[:20]))
        np.testing.assert_allclose(served, five_models[name][1], atol=1e-5)
        loaded = requests.get(f"{mms}/models", timeout=10).json()["models"]
        assert len(loaded) <= MODEL_BUDGET


def test_the_upload_command_prints_the_rejection_report_and_exits_non_zero(stack_env, tmp_path):  # noqa: F811
    # GIVEN a tarball with a member that climbs out of the model folder
    hostile = tmp_path / "sneaky.tar.gz"
    with tarfile.open(hostile, "w:gz") as archive:
        data = b"* * * * * root sh\n"
        member = tarfile.TarInfo("../../etc/cron.d/innocent")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    # WHEN it is uploaded with the CLI
    done = subprocess.run([sys.executable, "-m", "client", "upload", str(hostile), "--name", "e2e_sneaky"],
                          capture_output=True, text=True, timeout=120)
    # THEN the command fails, names the broken rule, and nothing reached models/
    assert done.returncode == 1, done.stderr
    assert "rejected" in done.stdout and "safety.traversal" in done.stdout
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="models/e2e_sneaky")
    assert listed.get("KeyCount", 0) == 0


def test_a_second_publisher_deploy_changes_nothing_and_a_new_instance_type_updates_in_place(
        stack_env, capsys):  # noqa: F811
    from local_stack.stack import local_endpoint_settings
    from publisher.cli import main as publisher

    local = [f"--{name.replace('_', '-')}={value}" for name, value in local_endpoint_settings().items()]
    sagemaker = boto3.client("sagemaker")
    before = sagemaker.describe_endpoint(EndpointName=ENDPOINT)

    assert publisher(["deploy", *local, "--poll-seconds", "1"]) == 0
    assert "nothing changed" in capsys.readouterr().out
    unchanged = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert unchanged["EndpointConfigName"] == before["EndpointConfigName"]

    assert publisher(["deploy", *local, "--instance-type", "ml.c5.xlarge", "--poll-seconds", "1"]) == 0
    updated = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=updated["EndpointConfigName"])
    assert updated["EndpointConfigName"] != before["EndpointConfigName"]
    assert updated["EndpointArn"] == before["EndpointArn"]  # updated, not deleted and created again
    assert updated["EndpointStatus"] == "InService"
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.c5.xlarge"


def test_a_version_that_fails_its_warm_up_is_kept_but_its_alias_stays_put(stack_env, tmp_path):  # noqa: F811
    # GIVEN an alias on a version that warmed up fine
    from client.uploads import upload_model

    registry = stack_env["MME_REGISTRY_URL"]
    first = drop("e2e_warm", cached_tarball("digits"), aliases=("e2e-warm",))
    assert first["warmup"].startswith("ok") and first["aliases"] == {"e2e-warm": "created at v1"}
    # WHEN v2 is a valid-looking tarball whose weights do not fit its graph (it only fails once loaded)
    folder = tmp_path / "mismatched"
    for source in ("digits", "digits_small"):
        unpack(cached_tarball(source), folder / source)
    (folder / "digits" / "digits-0000.params").write_bytes((folder / "digits_small" / "digits-0000.params").read_bytes())
    outcome = upload_model(pack(folder / "digits", tmp_path / "mismatched.tar.gz"), "e2e_warm", ["e2e-warm"])
    # THEN v2 is registered, the record says why no alias moved, and the alias still serves v1
    assert outcome.outcome == "accepted" and outcome.record["version"] == 2
    assert outcome.record["warmup"].startswith("failed")
    assert outcome.record["aliases"] == {"e2e-warm": "not moved: the warm-up failed"}
    assert requests.get(f"{registry}/aliases/e2e-warm", timeout=10).json()["version"] == 1


def test_a_dropped_two_input_model_warms_up_and_answers_by_alias(stack_env, tmp_path):  # noqa: F811
    # GIVEN a model whose shapes.json names two inputs, dropped with an alias
    from client import AliasClient
    from local_stack.demo.sample_models import export_two_input

    tarball = pack(export_two_input(tmp_path / "two_input"), tmp_path / "two_input.tar.gz")

    record = drop("e2e_two_input", tarball, aliases=("e2e-two-input",))

    # THEN its warm-up (a sample batch per input, by name) succeeds, so the alias moves to it
    assert record["warmup"].startswith("ok") and record["aliases"] == {"e2e-two-input": "created at v1"}
    # AND a caller feeds both inputs by name through the alias
    body = json.dumps({"inputs": {"pixels": np.ones((2, 1, 4, 4)).tolist(), "extra": [[1, 2, 3], [4, 5, 6]]}})
    answer = AliasClient().invoke("e2e-two-input", body, content_type="application/json").json()
    assert np.allclose(np.array(answer["predictions"]).sum(axis=1), 1) and len(answer["predictions"]) == 2


def test_events_tail_on_the_stack_shows_a_drop_its_version_and_the_alias_move(stack_env):  # noqa: F811
    # GIVEN a drop that asks for an alias, then a move of that alias through the API
    registry = stack_env["MME_REGISTRY_URL"]
    drop("e2e_events", cached_tarball("digits"), aliases=("e2e-events",))
    answer = requests.delete(f"{registry}/aliases/e2e-events", timeout=10)
    assert answer.status_code == 200, answer.text
    # WHEN the CLI tails the stack's events (the pump publishes every 2 s)
    events: list[dict] = []
    deadline = time.monotonic() + 60
    while len(events) < 3 and time.monotonic() < deadline:
        done = subprocess.run([sys.executable, "-m", "client", "events", "tail", "--once", "--json",
                               "--model", "e2e_events"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        events += [json.loads(line) for line in done.stdout.splitlines()]
    # THEN the version, the alias's creation at it and its deletion, once each and in order for the alias
    assert [e["type"] for e in events if e["type"] != "AliasMoved"] == ["ModelVersionRegistered"]
    moves = [(e["revision"], e["action"]) for e in events if e["type"] == "AliasMoved"]
    assert moves == [(1, "follow"), (2, "delete")]
