"""The MME contract against the built image (container/Dockerfile), run the way SageMaker
runs it: its own ENTRYPOINT and CMD (`serve`), models mounted under /opt/ml/models.

The container gets a network namespace of its own (podman's slirp4netns, no bridge or
firewall rules on the host) and its port is published on 127.0.0.1 only: inside, the
entrypoint binds 0.0.0.0 as it does on SageMaker, and nothing of it reaches another
interface of the host. SAGEMAKER_BIND_TO_PORT picks the container port, as SageMaker may.

Skips, saying why, where podman with runc is not usable. A missing image for the checkout
is built as `make image` builds it (about 5 minutes cold on 2 cores, seconds when only the
entrypoint or handler changed); MME_BUILD_IMAGE=0 skips instead.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from listening import ports_listening_on_any_address
from local_stack.environments import image
from local_stack.runtime.mms.backend import MmeApi, TARGET_MODEL_HEADER
from local_stack.processes.children import free_port
from local_stack.demo.sample_models import cached_tarball, digits_split, unpack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("container_image")]

OPAQUE = "8d3f1a0c5b"  # SageMaker mounts each TargetModel at /opt/ml/models/<opaque>/model


def skip(reason: str):
    print(f"container image tests skipped: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def image_ref() -> str:
    problem = image.engine_problem()
    if not problem and shutil.which("slirp4netns") is None:
        problem = "slirp4netns (the container's network) not found: apt-get install -y slirp4netns"
    if problem:
        skip(problem)
    ref = image.image_ref()
    if not image.exists(ref):
        if os.environ.get("MME_BUILD_IMAGE") == "0":
            skip(f"no image {ref} for this checkout and MME_BUILD_IMAGE=0: run 'make image'")
        print(f"building {ref} (make image)", flush=True)
        image.build(ref)
    return ref


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("opt-ml-models")
    unpack(cached_tarball("digits"), root / OPAQUE / "model")
    return root


def podman_run(ref: str, name: str, port: int, models: Path) -> None:
    image.podman(
        "run", "--detach", "--name", name, *image.ULIMITS,
        "--network", "slirp4netns", "--publish", f"127.0.0.1:{port}:{port}",
        "--env", f"SAGEMAKER_BIND_TO_PORT={port}", "--env", "SAGEMAKER_MODEL_SERVER_WORKERS=1",
        "--volume", f"{models}:/opt/ml/models:ro",
        ref,
    )  # fmt: skip


def wait_healthy(api: MmeApi, name: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not api.ping(timeout=2):
        running = image.podman("inspect", "--format", "{{.State.Running}}", name, check=False).stdout.strip()
        if running != "true" or time.monotonic() > deadline:
            logs = image.podman("logs", "--tail", "60", name, check=False)
            raise AssertionError(f"container {name} not healthy (running={running}):\n{logs.stdout}{logs.stderr}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def container(image_ref, models_dir):
    port = free_port()
    name = f"mme-registry-test-{os.getpid()}-{port}"
    api = MmeApi(f"http://127.0.0.1:{port}")
    try:
        podman_run(image_ref, name, port, models_dir)
        wait_healthy(api, name)
        yield {"api": api, "name": name, "port": port}
    finally:
        api.http.close()
        image.podman("rm", "--force", "--time", "10", name, check=False)


def test_the_image_declares_the_multi_model_capabilities(image_ref):
    labels = json.loads(image.podman("image", "inspect", "--format", "{{json .Labels}}", image_ref).stdout)

    assert labels["com.amazonaws.sagemaker.capabilities.multi-models"] == "true"
    assert labels["com.amazonaws.sagemaker.capabilities.accept-bind-to-port"] == "true"


def test_ping_answers_on_the_published_loopback_port_only(container):
    assert container["api"].ping()
    published = image.podman("port", container["name"]).stdout.split()
    assert published == [f"{container['port']}/tcp", "->", f"127.0.0.1:{container['port']}"]


def test_the_entrypoint_serves_on_every_interface_inside_the_container(container):
    tables = image.podman("exec", container["name"], "cat", "/proc/net/tcp", "/proc/net/tcp6").stdout

    assert container["port"] in ports_listening_on_any_address(tables)


def test_a_mounted_model_loads_answers_and_is_gone_after_unloading(container):
    api = container["api"]
    split = digits_split()
    rows = {"instances": split.test_x[:8].tolist()}
    # GIVEN a model loaded from where SageMaker mounts it
    body = {"model_name": "digits", "url": f"/opt/ml/models/{OPAQUE}/model"}
    load = api.http.post(f"{api.url}/models", json=body, timeout=300)
    assert load.status_code == 200, load.text
    assert "digits" in api.all_models()
    # WHEN it is invoked the way SageMaker forwards an InvokeEndpoint with TargetModel
    answer = api.http.post(
        f"{api.url}/models/digits/invoke",
        data=json.dumps(rows),
        headers={"Content-Type": "application/json", TARGET_MODEL_HEADER: "digits"},
        timeout=60,
    )
    # THEN it classifies held-out digits
    assert answer.status_code == 200, answer.text
    predicted = [max(range(10), key=p.__getitem__) for p in answer.json()["predictions"]]
    assert sum(p == y for p, y in zip(predicted, split.test_y[:8].tolist())) >= 6
    # AND after unloading it is gone from every route
    assert api.unload("digits").status_code == 200
    assert api.invoke("digits", json.dumps(rows), "application/json").status == 404
    assert api.describe("digits").status_code == 404
    assert "digits" not in api.all_models()


def test_stopping_the_container_stops_mms_and_exits_0(image_ref, models_dir):
    port = free_port()
    name = f"mme-registry-test-{os.getpid()}-{port}"
    try:
        podman_run(image_ref, name, port, models_dir)
        wait_healthy(MmeApi(f"http://127.0.0.1:{port}"), name)

        started = time.monotonic()
        image.podman("stop", "--time", "30", name)  # SIGTERM to PID 1, the entrypoint; SIGKILL after 30 s

        assert time.monotonic() - started < 30
        assert image.podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip() == "0"
    finally:
        image.podman("rm", "--force", "--time", "10", name, check=False)
