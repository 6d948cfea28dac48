"""Session fixtures for the container tests: one real MMS started the way the Dockerfile
starts it, and the real models it serves, each loaded once."""
from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.runtime.mms.backend import start_mms
from local_stack.demo.sample_models import cached_tarball, train_digits, unpack

# One worker per model keeps the suite light on two cores.
ONE_WORKER = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory) -> dict[str, Path]:
    """Extracted ResNet-18 and SqueezeNet 1.0, and a digits classifier trained here."""
    root = tmp_path_factory.mktemp("models")
    dirs = {name: unpack(cached_tarball(name), root / name) for name in ("resnet_18", "squeezenet_v1.0")}
    dirs["digits"] = root / "digits"
    train_digits(dirs["digits"])
    return dirs


@pytest.fixture(scope="session")
def mms_server(tmp_path_factory):
    with start_mms(tmp_path_factory.mktemp("mms"), env=ONE_WORKER) as server:
        yield server


@pytest.fixture(scope="session")
def served(mms_server, model_dirs) -> dict[str, Path]:
    """The real models, loaded into the session's MMS under their own names."""
    for name, path in model_dirs.items():
        response = mms_server.load(name, path)
        assert response.status_code == 200, f"loading {name}: {response.text}\n{mms_server.log_tail()}"
    return model_dirs
