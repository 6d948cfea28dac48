"""The SageMaker multi-model container contract, checked against a real MMS started by the
container entrypoint (see DESIGN.md, "The MME container contract")."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
import requests

from local_stack.runtime.mms.backend import ENTRYPOINT, TARGET_MODEL_HEADER, start_mms

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mms")]

ONE_DIGIT = json.dumps({"instances": [[0.5] * 64]})


def raw_load(server, name, path) -> requests.Response:
    """`POST /models` exactly as SageMaker sends it, without the helper's 507 clean-up."""
    return requests.post(f"{server.url}/models", json={"model_name": name, "url": str(path)}, timeout=300)


def test_ping_answers_200(mms_server):
    assert requests.get(f"{mms_server.url}/ping", timeout=10).status_code == 200


def test_a_model_loads_once_answers_and_after_deletion_answers_404(mms_server, model_dirs):
    # GIVEN a model loaded once; a second load of the same name is refused
    assert raw_load(mms_server, "contract_model", model_dirs["digits"]).status_code == 200
    assert raw_load(mms_server, "contract_model", model_dirs["digits"]).status_code == 409
    assert mms_server.invoke("contract_model", ONE_DIGIT, "application/json").status == 200
    # WHEN it is deleted
    assert mms_server.unload("contract_model").status_code == 200
    # THEN it is gone from every route
    assert mms_server.invoke("contract_model", ONE_DIGIT, "application/json").status == 404
    assert mms_server.describe("contract_model").status_code == 404
    assert "contract_model" not in mms_server.all_models()


def test_listing_models_pages_with_limit_and_next_page_token(mms_server, served):
    pages, token = [], None
    while True:
        page = mms_server.list_models(limit=1, next_page_token=token)
        pages.append([m["modelName"] for m in page["models"]])
        token = page.get("nextPageToken")
        if not token:
            break

    listed = [name for page in pages for name in page]
    assert all(len(page) <= 1 for page in pages) and len(pages) >= len(served)
    assert sorted(listed) == sorted(set(listed))
    assert set(served) <= set(listed)
    assert all(m["modelUrl"] for m in mms_server.list_models()["models"])


def test_describing_a_model_shows_its_one_ready_worker(mms_server, served):
    description = mms_server.describe("digits").json()

    assert description["modelName"] == "digits"
    assert description["modelUrl"] == str(served["digits"])
    assert [w["status"] for w in description["workers"]] == ["READY"]


def test_invoking_with_the_target_model_header_answers_the_model(mms_server, served):
    response = requests.post(
        f"{mms_server.url}/models/digits/invoke",
        data=ONE_DIGIT,
        headers={"Content-Type": "application/json", TARGET_MODEL_HEADER: "digits"},
        timeout=60,
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert len(response.json()["predictions"][0]) == 10


def log_shows(server, text: str, timeout: float = 20) -> bool:
    """MMS logs a worker's last words after it has answered the request, so wait a little."""
    deadline = time.monotonic() + timeout
    while text not in server.mms_log_path.read_text():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_model_that_cannot_load_answers_500_with_its_reason_in_the_log(mms_server, served, tmp_path):
    (tmp_path / "broken-symbol.json").write_text('{"nodes": [')
    (tmp_path / "broken-0000.params").write_bytes(b"not params")
    (tmp_path / "broken-shapes.json").write_text('[{"name": "data", "shape": [1, 4]}]')

    response = raw_load(mms_server, "contract_broken", tmp_path)

    assert response.status_code == 500
    assert log_shows(mms_server, "broken-symbol.json is not an MXNet symbol graph")
    assert "contract_broken" not in mms_server.all_models()
    assert mms_server.invoke("digits", ONE_DIGIT, "application/json").status == 200


@pytest.fixture(scope="module")
def small_budget_mms(tmp_path_factory, served):
    """A second MMS on the same machine whose handler refuses models over 8 MB."""
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "MME_HANDLER_MEMORY_BUDGET_MB": "8"}
    with start_mms(tmp_path_factory.mktemp("mms-budget"), env=env) as server:
        assert server.load("digits", served["digits"]).status_code == 200
        yield server


def test_a_load_that_runs_out_of_memory_answers_507_and_the_other_models_keep_serving(small_budget_mms, served):
    # WHEN a model over the handler's memory budget is loaded
    assert raw_load(small_budget_mms, "resnet", served["resnet_18"]).status_code == 507
    # THEN the models already loaded keep answering
    assert small_budget_mms.invoke("digits", ONE_DIGIT, "application/json").status == 200
    # AND MMS 1.1 keeps the refused name with no worker (reload 409, invoke 503) until deleted
    assert small_budget_mms.describe("resnet").json()["workers"] == []
    assert raw_load(small_budget_mms, "resnet", served["resnet_18"]).status_code == 409
    assert small_budget_mms.invoke("resnet", ONE_DIGIT, "application/json").status == 503
    assert small_budget_mms.unload("resnet").status_code == 200


def test_the_load_helper_deletes_a_name_that_mms_refused_with_507(small_budget_mms, served):
    assert small_budget_mms.load("squeeze", served["squeezenet_v1.0"]).status_code == 507

    assert "squeeze" not in small_budget_mms.all_models()


def test_two_servers_on_one_machine_keep_separate_state(mms_server, small_budget_mms):
    assert mms_server.state_dir != small_budget_mms.state_dir
    assert mms_server.ping() and small_budget_mms.ping()
    assert "resnet_18" in mms_server.all_models() and "resnet_18" not in small_budget_mms.all_models()


def command_line(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # exited meanwhile, or a zombie not yet reaped
        return ""


def test_sigterm_to_the_entrypoint_stops_the_frontend_and_every_worker(tmp_path, model_dirs):
    with start_mms(tmp_path, env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}) as server:
        assert server.load("digits", model_dirs["digits"]).status_code == 200
        tree = {p: command_line(p) for p in psutil.Process(server.process.pid).children(recursive=True)}
        assert any("com.amazonaws.ml.mms.ModelServer" in line for line in tree.values())
        assert any("model_service_worker.py" in line for line in tree.values())

        server.process.send_signal(signal.SIGTERM)  # the entrypoint only, as `docker stop` does
        exit_code = server.process.wait(timeout=60)

        _, alive = psutil.wait_procs(list(tree), timeout=10)
        assert exit_code == 0
        assert alive == []


def test_the_entrypoint_says_java_is_missing_when_it_is():
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = "/nonexistent"

    result = subprocess.run([sys.executable, str(ENTRYPOINT), "serve"], env=env, capture_output=True, text=True)

    assert result.returncode == 2
    assert "needs Java" in result.stderr and "openjdk-17-jre-headless" in result.stderr


def test_the_entrypoint_runs_any_other_arguments_as_a_command():
    result = subprocess.run(
        [sys.executable, str(ENTRYPOINT), sys.executable, "-c", "print('ran as a command')"],
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0
    assert result.stdout.strip() == "ran as a command"
