"""The TensorFlow environment the tests run TensorFlow in: its own venv, never the MXNet one.

`tf_python()` is the one place tests find it: the venv `make` builds under
$MME_REGISTRY_CACHE/tf/venv (local_stack/environments/tf_env.py), else the test is skipped with the reason.
`tf_samples()` exports the SavedModels of tf_scripts/export_samples.py once and caches them by the
script's hash.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from local_stack.environments import tf_env

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent / "tf_scripts"


def cache_dir() -> Path:
    return Path(os.environ.get("MME_REGISTRY_CACHE", REPO / ".cache"))


def tf_python() -> Path:
    """The TF venv's python, or a skip that says how to get one."""
    try:
        return tf_env.interpreter()
    except FileNotFoundError as missing:
        pytest.skip(str(missing))


def run_tf(script: str, *args: str, timeout: float = 600) -> str:
    """Runs tf_scripts/<script> under the TF venv; its stdout, or a failure with its stderr."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([str(tf_python()), str(SCRIPTS / script), *args], capture_output=True, text=True,
                          timeout=timeout, env=env)
    if done.returncode:
        pytest.fail(f"{script} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def tf_samples() -> Path:
    """The exported SavedModels (<case>/<version>/...) and expected.json, built once per script version."""
    script = SCRIPTS / "export_samples.py"
    digest = hashlib.sha256(script.read_bytes()).hexdigest()[:12]
    folder = cache_dir() / "tf-samples" / digest
    if not (folder / "expected.json").exists():
        tf_python()  # skip before making folders
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent))
        try:
            run_tf("export_samples.py", str(staging))
            staging.chmod(0o755)  # mkdtemp's 0700 would hide the shared cache from other users
            shutil.rmtree(folder, ignore_errors=True)
            staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def expected_signatures(samples: Path) -> dict:
    return json.loads((samples / "expected.json").read_text())
