"""The local stack survives its own faults: each supervised process (MMS, the registry API,
the event pump, the console) is killed with SIGKILL under a small load, and the stack answers again
within a bounded time with nothing lost. Run on the shared stack, one kill per test."""
from __future__ import annotations

import json
import os
import re
import signal
import threading
import time

import boto3
import psutil
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from e2e.stack_fixtures import current_pids, local_stack, stack_env  # noqa: F401
from local_stack.demo.sample_models import cached_tarball
from waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("stack")]

BUCKET = ENDPOINT = "mme-registry-local"
RECOVERY_BOUND = 90  # seconds; MMS takes 5-20 s to start on a busy 2-core machine, then reloads the model
ONE_DIGIT = json.dumps({"instances": [[0.5] * 64]})


class Load:
    """A few threads calling `call` in a loop, recording (time, outcome) until stopped."""

    def __init__(self, call, threads: int = 2):
        self.call, self.outcomes = call, []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self._stop.is_set():
            outcome = self.call()
            self.outcomes.append((time.monotonic(), outcome))
            if outcome != "ok":
                time.sleep(0.1)  # failures come fast; do not spin

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def first_ok_after(self, moment: float) -> float | None:
        return next((t for t, outcome in list(self.outcomes) if t > moment and outcome == "ok"), None)


def uploaded(stack_env, name: str) -> str:  # noqa: F811
    from client.uploads import upload_model

    outcome = upload_model(cached_tarball("digits"), name, [])
    assert outcome.outcome == "accepted", outcome.record
    return f"{name}_v{outcome.record['version']}.tar.gz"


def test_killing_the_model_server_under_load_answers_not_ready_then_serves_again(local_stack, stack_env):  # noqa: F811
    # GIVEN a model being invoked by two callers, with no client-side retries
    target = uploaded(stack_env, "e2e_mms_kill")
    runtime = boto3.client("sagemaker-runtime", config=Config(retries={"max_attempts": 1}, read_timeout=70))

    def invoke() -> str:
        try:
            runtime.invoke_endpoint(EndpointName=ENDPOINT, TargetModel=target, Body=ONE_DIGIT,
                                    ContentType="application/json")
            return "ok"
        except ClientError as error:
            return error.response["Error"]["Code"]

    with Load(invoke) as load:
        wait_until(lambda: load.first_ok_after(0), 60, "a first answer")
        # WHEN MMS's Java frontend is killed
        entrypoint = psutil.Process(current_pids(local_stack)["mms"])
        (frontend,) = [p for p in entrypoint.children(recursive=True) if "ModelServer" in " ".join(p.cmdline())]
        killed_at = time.monotonic()
        frontend.send_signal(signal.SIGKILL)
        # THEN invokes answer again within the bound, and meanwhile only with the retryable error
        back = wait_until(lambda: load.first_ok_after(killed_at + 0.5), RECOVERY_BOUND, "invokes did not resume")
        time.sleep(1)
    failures = {outcome for t, outcome in load.outcomes if outcome != "ok"}
    print(f"MMS killed: invokes answered again after {back - killed_at:.1f} s")
    assert failures <= {"ModelNotReadyException"}
    assert current_pids(local_stack)["mms"] != entrypoint.pid
    log = local_stack.log_path.read_text()
    assert "the model server (MMS) exited: restarting it" in log and "the model server (MMS) restarted in" in log


def test_killing_the_registry_api_under_load_restarts_it_with_its_data(local_stack, stack_env):  # noqa: F811
    registry = stack_env["MME_REGISTRY_URL"]
    answer = requests.put(f"{registry}/aliases/e2e-api-kill", json={"model": "e2e_mms_kill", "version": 1}, timeout=10)
    assert answer.status_code == 200, answer.text

    def read_alias() -> str:
        try:
            return "ok" if requests.get(f"{registry}/aliases/e2e-api-kill", timeout=5).status_code == 200 else "error"
        except requests.RequestException:
            return "unreachable"

    with Load(read_alias) as load:
        wait_until(lambda: load.first_ok_after(0), 30, "a first answer")
        killed_at = time.monotonic()
        os.kill(current_pids(local_stack)["api"], signal.SIGKILL)
        back = wait_until(lambda: load.first_ok_after(killed_at + 0.5), RECOVERY_BOUND, "the API did not answer again")
    print(f"API killed: answered again after {back - killed_at:.1f} s")
    assert {outcome for _, outcome in load.outcomes} <= {"ok", "unreachable"}
    assert "the registry API exited: restarting it" in local_stack.log_path.read_text()


def test_an_upload_in_flight_when_the_pump_is_killed_still_becomes_a_version(local_stack, stack_env):  # noqa: F811
    # GIVEN an upload the pump has received and is still handling (its warm-up takes seconds)
    journal = local_stack.workdir / "pump-in-flight.json"
    boto3.client("s3").upload_file(str(cached_tarball("digits")), BUCKET, "incoming/e2e_pump_kill.tar.gz")
    wait_until(lambda: journal.exists() and json.loads(journal.read_text()), 60, "the pump never held the upload")
    # WHEN the pump is killed mid-run
    killed_at = time.monotonic()
    os.kill(current_pids(local_stack)["pump"], signal.SIGKILL)
    # THEN the restarted pump hands the message on at once, and the upload becomes version 1
    registry = stack_env["MME_REGISTRY_URL"]

    def recorded():
        items = requests.get(f"{registry}/models/e2e_pump_kill/uploads", timeout=10).json().get("items")
        return items and items[0]

    record = wait_until(recorded, RECOVERY_BOUND, "the upload was never recorded")
    print(f"pump killed: the upload became a version {time.monotonic() - killed_at:.1f} s later")
    assert record["outcome"] == "accepted" and record["version"] == 1
    assert boto3.client("s3").head_object(Bucket=BUCKET, Key="models/e2e_pump_kill_v1.tar.gz")
    assert "the event pump exited: restarting it" in local_stack.log_path.read_text()
    # at least the upload's message (a poll may also have held another, e.g. S3's set-up test event)
    handed_on = re.findall(r"handed on (\d+) message\(s\)", (local_stack.workdir / "logs" / "pump.log").read_text())
    assert handed_on and int(handed_on[-1]) >= 1


def test_a_killed_console_is_restarted_and_the_stack_prints_a_new_login_link_that_logs_in(local_stack):  # noqa: F811
    # GIVEN the console the stack started as its own process
    console = local_stack.info["console_url"]
    killed = current_pids(local_stack)["console"]
    # WHEN it is killed
    os.kill(killed, signal.SIGKILL)
    # THEN the stack starts another and prints that one's login link, which logs a browser in
    new_link = r"- the console has a new login link \(.*?\): (http://\S+/login\?token=\S+)"
    printed = wait_until(lambda: re.search(new_link, local_stack.log_path.read_text()), RECOVERY_BOUND,
                         "no new login link")
    assert current_pids(local_stack)["console"] != killed
    browser = requests.Session()
    models = browser.get(printed.group(1), timeout=10)
    assert models.status_code == 200 and models.url == f"{console}/models", models.text[-2000:]
    assert "the console exited: restarting it" in local_stack.log_path.read_text()
