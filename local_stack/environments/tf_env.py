"""The TensorFlow environment: its own venv, built from requirements-tf.txt with Python 3.11.

TensorFlow 2.19 needs numpy>=1.26 and mxnet 1.9.1 needs numpy<1.24, so the TF Serving backend
(runtime/tensorflow/serving.py) and the tests that train Keras models run under a second venv, never the MXNet
one and never the Lambda package. It lives in `$MME_REGISTRY_CACHE/tf/venv` (default
`.cache/tf/venv`), keyed by a hash of requirements-tf.txt: rebuilt when the pins change, reused
otherwise. Stdlib only, so `make` can run it before any venv exists.

    python3.11 -m local_stack.environments.tf_env          # builds if missing or stale, prints the interpreter
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "requirements-tf.txt"
PYTHON_VERSION = (3, 11)


def venv_dir() -> Path:
    return Path(os.environ.get("MME_REGISTRY_CACHE", REPO / ".cache")) / "tf" / "venv"


def requirements_hash() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]


def python_path() -> Path:
    return venv_dir() / "bin" / "python"


def is_current() -> bool:
    """Whether the venv exists and was built from today's requirements-tf.txt."""
    stamp = venv_dir() / ".requirements-sha256"
    return python_path().exists() and stamp.exists() and stamp.read_text().strip() == requirements_hash()


def interpreter() -> Path:
    """The TF venv's python, or an error that says how to build it (the local stack never builds it itself)."""
    if not is_current():
        raise FileNotFoundError(f"the TensorFlow environment {venv_dir()} is missing or stale: build it with "
                                f"`make tf-env` (or `{sys.executable} -m local_stack.environments.tf_env`)")
    return python_path()


def ensure(python: str = sys.executable, say=print) -> Path:
    """Builds the venv if missing or stale (one builder at a time, others wait) and returns its python."""
    target = venv_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / "venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_current():
            return python_path()
        _check_version(python)
        say(f"==> building the TensorFlow environment in {target} from {REQUIREMENTS.name} (about half a minute)")
        started = time.monotonic()
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(target)], check=True)
        subprocess.run([str(python_path()), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "-r", str(REQUIREMENTS)], check=True)
        (target / ".requirements-sha256").write_text(requirements_hash() + "\n")
        say(f"==> TensorFlow environment ready in {time.monotonic() - started:.0f} s")
        return python_path()


def _check_version(python: str) -> None:
    found = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    if found != "%d.%d" % PYTHON_VERSION:
        raise SystemExit(f"error: the TensorFlow environment needs Python 3.11 (tensorflow-cpu 2.19.1 wheels); "
                         f"{python} is {found}: set PYTHON=/path/to/python3.11")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local_stack.environments.tf_env",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="the Python 3.11 the venv is made from")
    args = parser.parse_args(argv)
    print(ensure(args.python, say=lambda line: print(line, file=sys.stderr)))


if __name__ == "__main__":
    main()
