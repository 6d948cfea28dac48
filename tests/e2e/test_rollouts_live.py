"""Canary rollouts on the local stack with real models and real traffic: an application's AliasClient calls the
alias (its calls recorded per version by the client), the event pump's advancer judges each step every 2 s.

A rollout to a version whose model fails on a fraction of its inputs rolls back by itself within one bake; one to
a good version reaches 100 %, even when the pump (where the advancer runs) is killed mid-rollout and restarted.
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pytest
import requests

from e2e.stack_fixtures import current_pids, local_stack, stack_env  # noqa: F401
from local_stack.demo.sample_models import FLAKY_FROM, cached_tarball
from waiting import wait_until  # every 0.5 s here: the stack shares two cores with the advancer waited for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("stack")]

MODEL, ALIAS = "e2e_rollout", "e2e-rollout"
BAKE = 5  # seconds: the least a rollout may bake
# The most lenient p99 ratio: on a shared 2-core machine one slow call is a p99 of a hundred
PLAN = {"bake_seconds": BAKE, "max_error_rate": 0.05, "max_p99_ratio": 10, "min_requests": 20}


class Traffic:
    """An application calling the alias from one thread: digits-shaped inputs whose first feature is uniform in
    [0, 1], so a model failing from FLAKY_FROM fails about 30 % of them."""

    def __init__(self):
        from client import AliasClient

        self.client = AliasClient()
        self.served: dict[int, int] = {}
        self.failed: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._rng = np.random.default_rng(0)

    def _run(self) -> None:
        from client.errors import ModelInvocationError

        while not self._stop.is_set():
            row = self._rng.uniform(0, 1, 64).round(3)
            try:
                answer = self.client.invoke(ALIAS, json.dumps({"instances": [row.tolist()]}))
                self.served[answer.version] = self.served.get(answer.version, 0) + 1
            except ModelInvocationError:
                self.failed[int(row[0] >= FLAKY_FROM)] = self.failed.get(int(row[0] >= FLAKY_FROM), 0) + 1

    def __enter__(self) -> "Traffic":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        self.client.close()


@pytest.fixture(scope="module")
def versions(local_stack):  # noqa: F811
    """e2e_rollout v1 (the digits MLP), v2 (the same, failing on inputs from FLAKY_FROM), v3 (the small MLP)."""
    from client.uploads import upload_model
    from e2e.stack_fixtures import stack_environment

    with stack_environment(local_stack):
        for version, sample in ((1, "digits"), (2, "digits_flaky"), (3, "digits_small")):
            outcome = upload_model(cached_tarball(sample), MODEL, [])
            assert outcome.outcome == "accepted" and outcome.record["version"] == version, outcome.record
    return local_stack


@pytest.fixture
def calling(stack_env, monkeypatch):
    """The application's settings: the alias re-read every second, its metrics sent every second."""
    monkeypatch.setenv("MME_CACHE_TTL", "1")
    monkeypatch.setenv("MME_METRICS_FLUSH_SECONDS", "1")
    return stack_env["MME_REGISTRY_URL"]


def verdicts(rollout: dict) -> str:
    return ", ".join(f"{d['verdict']} at {d['percent']} % ({d['at'][11:19]})" for d in rollout["decisions"])


def rollouts(registry: str) -> dict:
    return requests.get(f"{registry}/aliases/{ALIAS}/rollouts", timeout=10).json()


def ended(registry: str, number: int) -> dict | None:
    listing = rollouts(registry)
    done = next((r for r in listing["items"] if r["number"] == number), None)
    return done if done and done["status"] != "running" else None


def weights(registry: str) -> dict[int, int]:
    targets = requests.get(f"{registry}/aliases/{ALIAS}", timeout=10).json()["targets"]
    return {t["version"]: t["weight"] for t in targets}


def warm(version: int) -> None:
    """One plain call on the endpoint, so the version is loaded (the gateway records it under its own alias)."""
    import boto3

    boto3.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="mme-registry-local", TargetModel=f"{MODEL}_v{version}.tar.gz", ContentType="application/json",
        Body=json.dumps({"instances": [[0.0] * 64]}))


def start(registry: str, version: int, steps: list[int]) -> dict:
    answer = requests.post(f"{registry}/aliases/{ALIAS}/rollouts", timeout=10,
                           json={"model": MODEL, "version": version, "steps": steps, **PLAN})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_rollout_to_a_failing_version_rolls_back_by_itself_within_one_bake(versions, calling):
    # GIVEN the alias on v1, called by an application
    assert requests.put(f"{calling}/aliases/{ALIAS}", json={"model": MODEL, "version": 1}, timeout=10).ok
    with Traffic() as traffic:
        wait_until(lambda: traffic.served.get(1, 0) >= 20, 60, "v1 did not answer 20 calls", every=0.5)
        # WHEN a rollout sends half the calls to v2, whose model fails on about 30 % of its inputs
        began = time.monotonic()
        rollout = start(calling, 2, [50, 100])
        done = wait_until(lambda: ended(calling, rollout["number"]), 4 * BAKE + 30, "the rollout did not end",
                          every=0.5)
        took = time.monotonic() - began
    # THEN it rolled back at its first judgement, the end of its first bake: v1 alone again, the failures named
    print(f"rolled back {took:.1f} s after the start (bake {BAKE} s): {verdicts(done)}; calls: {traffic.served}, "
          f"failed (by first feature >= {FLAKY_FROM}): {traffic.failed}")
    assert done["status"] == "rolled_back", done
    judged = [d for d in done["decisions"] if d["verdict"] != "wait"]
    assert [d["verdict"] for d in judged] == ["started", "breach"], done["decisions"]
    assert "failure rate" in judged[-1]["reason"] and judged[-1]["candidate"]["failures"] > 0
    assert weights(calling) == {1: 100}
    assert traffic.failed.get(1, 0) > 0 and traffic.failed.get(0, 0) == 0  # only v2's failing inputs failed


def test_a_rollout_to_a_good_version_reaches_100_even_when_the_pump_is_killed_midway(versions, calling):
    # GIVEN the alias on v1, called by an application, and a rollout to v3 in three steps
    assert requests.put(f"{calling}/aliases/{ALIAS}", json={"model": MODEL, "version": 1}, timeout=10).ok
    warm(3)  # its load into MMS is no call of the rollout's
    with Traffic() as traffic:
        began = time.monotonic()
        rollout = start(calling, 3, [25, 50, 100])
        # WHEN the first step has passed, the pump (which runs the advancer) is killed
        wait_until(lambda: weights(calling) == {1: 50, 3: 50}, 4 * BAKE + 30, "the rollout did not reach 50 %",
                   every=0.5)
        os.kill(current_pids(versions)["pump"], signal.SIGKILL)
        killed = time.monotonic()
        # THEN the restarted pump continues the rollout from its record to the promotion
        done = wait_until(lambda: ended(calling, rollout["number"]), 6 * BAKE + 90, "the rollout did not end",
                          every=0.5)
        took = time.monotonic() - began
    print(f"promoted {took:.1f} s after the start, {time.monotonic() - killed:.1f} s after the pump was killed; "
          f"{verdicts(done)}; calls: {traffic.served}")
    assert done["status"] == "promoted", done
    assert [d["verdict"] for d in done["decisions"] if d["verdict"] != "wait"] == ["started", "pass", "pass"]
    assert weights(calling) == {3: 100}
    assert "the event pump exited: restarting it" in versions.log_path.read_text()
