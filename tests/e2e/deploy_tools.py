"""AWS's own deploy tools for the rehearsal: the AWS CLI (pip `awscli`) and the SAM translator.

They live in a small venv of their own under .cache/deploy-tools/ (made from this Python, a
few seconds once, then reused), not in requirements.txt: the SAM translator pins pydantic
~=2.13 where the registry runs 2.14, and awscli pins docutils and rsa nothing else needs.
awscli 1.46 brings its own botocore, so the CLI is the one an operator installs, whatever
the project's botocore is.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("MME_REGISTRY_TOOLS_CACHE", ROOT / ".cache" / "deploy-tools"))
PINS = ("awscli==1.46.3", "aws-sam-translator==1.115.0")


def tools_venv() -> Path:
    """The venv with `aws` and `samtranslator`, built when missing (one build at a time)."""
    venv = CACHE / ("venv-" + hashlib.sha256("\0".join([*PINS, sys.version]).encode()).hexdigest()[:12])
    if (venv / ".installed").exists():
        return venv
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".installed").exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            *PINS], check=True)
            (venv / ".installed").touch()
    return venv
