"""The entrypoint's in-container path (MME_IN_CONTAINER=true, as the Dockerfile sets it) run
without a container engine: `serve` starts in a network namespace of its own, so the 0.0.0.0
it binds is that namespace's and never the host's, with SageMaker's /opt/ml redirected
into a temp dir through the toolkit's own SAGEMAKER_BASE_DIR."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from listening import ports_listening_on_any_address
from local_stack.runtime.mms.backend import ENTRYPOINT, TARGET_MODEL_HEADER
from local_stack.demo.sample_models import cached_tarball, unpack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mms")]

PORT = 8080  # the container default: SAGEMAKER_BIND_TO_PORT unset
# Brings up the namespace's loopback (a new one starts down), then becomes the entrypoint.
IN_OWN_NETNS = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "netns"]


def netns_problem() -> str | None:
    if shutil.which("unshare") is None or shutil.which("ip") is None or shutil.which("nsenter") is None:
        return "needs unshare, nsenter (util-linux) and ip (iproute2)"
    result = subprocess.run([*IN_OWN_NETNS, "true"], capture_output=True, text=True)
    if result.returncode != 0:
        return f"cannot create a network namespace here (needs root or CAP_SYS_ADMIN): {result.stderr.strip()}"
    return None


def wait_for(predicate, process: subprocess.Popen, what: str, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not _holds(predicate):
        if process.poll() is not None or time.monotonic() > deadline:
            outcome = "exited" if process.poll() is not None else "timed out"
            raise AssertionError(f"{what}: {outcome}\n{log.read_text()}")
        time.sleep(0.5)


def _holds(predicate) -> bool:
    try:
        return predicate()
    except OSError:  # /proc/<pid> of a process that has just exited
        return False


def namespace_listens_on_any_address(pid: int) -> set[int]:
    """The listening ports of the network namespace `pid` is in (/proc/<pid>/net is per namespace)."""
    return ports_listening_on_any_address("".join(Path(f"/proc/{pid}/net/{t}").read_text() for t in ("tcp", "tcp6")))


@pytest.fixture(scope="module")
def in_container(tmp_path_factory):
    """`dockerd-entrypoint.py serve` with the image's environment, /opt/ml and /tmp under a temp dir."""
    problem = netns_problem()
    if problem:
        pytest.skip(f"in-container entrypoint path not run: {problem}")
    root = tmp_path_factory.mktemp("in-container")
    opt_ml, tmp = root / "opt" / "ml", root / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("MME_BIND_HOST", "MME_STATE_DIR", "SAGEMAKER_BIND_TO_PORT")}
    env |= {"MME_IN_CONTAINER": "true", "SAGEMAKER_BASE_DIR": str(opt_ml), "TMPDIR": str(tmp)}
    env |= {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "PYTHONUNBUFFERED": "1"}
    state = tmp / f"mme-mms-{PORT}"
    log_path = root / "entrypoint.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*IN_OWN_NETNS, sys.executable, str(ENTRYPOINT), "serve"],
            cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        mms_log = state / "logs" / "mms_log.log"

        def up() -> bool:  # checked in order: until unshare has run, /proc/<pid>/net is the host's
            return (
                os.readlink(f"/proc/{process.pid}/ns/net") != os.readlink("/proc/self/ns/net")
                and PORT in namespace_listens_on_any_address(process.pid)
                and mms_log.exists()
                and "Model Store:" in mms_log.read_text()  # MMS logs asynchronously
            )

        wait_for(up, process, "MMS listening in its namespace", log_path)
        yield {"process": process, "opt_ml": opt_ml, "state": state, "mms_log": mms_log.read_text(), "log": log_path}
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def test_mms_listens_on_every_interface_of_its_own_namespace_only(in_container):
    pid = in_container["process"].pid

    assert os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")
    assert PORT in namespace_listens_on_any_address(pid)
    assert f"Inference address: http://0.0.0.0:{PORT}" in in_container["mms_log"]
    assert f"Management address: http://0.0.0.0:{PORT}" in in_container["mms_log"]


def test_mms_runs_with_the_toolkits_multi_model_config_from_the_state_dir(in_container):
    config = (in_container["state"] / "mms.properties").read_text()

    assert "Model Store: /\n" in in_container["mms_log"]
    assert f"Config file: {in_container['state'] / 'mms.properties'}" in in_container["mms_log"]
    assert {"enable_envvars_config=true", "model_store=/"} <= set(config.splitlines())
    assert f"Python executable: {sys.executable}" in in_container["mms_log"]


PROBE = """
import json, sys, requests
url, name, path = "http://127.0.0.1:%d", sys.argv[1], sys.argv[2]
answers = {"ping": requests.get(url + "/ping", timeout=10).status_code}
answers["load"] = requests.post(url + "/models", json={"model_name": name, "url": path}, timeout=300).status_code
invoke = requests.post(url + "/models/" + name + "/invoke", data=json.dumps({"instances": [[0.5] * 64]}),
                       headers={"Content-Type": "application/json", "%s": name}, timeout=60)
answers["invoke"], answers["predictions"] = invoke.status_code, invoke.json().get("predictions")
print(json.dumps(answers))
""" % (PORT, TARGET_MODEL_HEADER)


def test_a_model_under_opt_ml_models_loads_and_answers_inside_the_namespace(in_container):
    # GIVEN a model where SageMaker puts one: /opt/ml/models/<opaque>/model
    model = unpack(cached_tarball("digits"), in_container["opt_ml"] / "models" / "3f2a9c" / "model")
    # WHEN a client in the server's namespace loads and invokes it
    netns = f"/proc/{in_container['process'].pid}/ns/net"
    probe = subprocess.run(
        ["nsenter", f"--net={netns}", sys.executable, "-c", PROBE, "digits", str(model)],
        capture_output=True, text=True, timeout=600,
    )
    # THEN it answers like the container does
    assert probe.returncode == 0, probe.stderr + in_container["log"].read_text()
    answers = json.loads(probe.stdout)
    assert (answers["ping"], answers["load"], answers["invoke"]) == (200, 200, 200)
    assert len(answers["predictions"][0]) == 10 and abs(sum(answers["predictions"][0]) - 1) < 1e-4
