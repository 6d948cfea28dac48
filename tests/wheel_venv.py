"""A fresh venv holding one wheel and its dependencies and nothing else, as an application has.

The venv is made without pip (`venv --without-pip`; the repository's pip installs into it
through `pip --python`), so what it holds is exactly the wheel's dependency closure. It is
cached under .cache/wheel-venvs/<wheel sha256> (distributions/build.py makes wheels
reproducible): a rerun with unchanged code reuses it, a code change gets a new one, and
venvs unused for a day are removed (worktrees sharing the cache keep theirs while in use).
Versions come from requirements.txt as constraints, so pip takes them from the warm cache.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("MME_REGISTRY_CACHE", REPO / ".cache")) / "wheel-venvs"
DONE = ".installed"
UNUSED_SECONDS = 24 * 3600


def wheel_venv(wheel: Path) -> Path:
    """The cached venv for `wheel`, built on first use (parallel workers wait for one build)."""
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()[:16]
    venv = CACHE / f"{wheel.name.split('-')[0]}-{digest}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / DONE).exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
            subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                            "--quiet", "--disable-pip-version-check", "--constraint", str(REPO / "requirements.txt"),
                            str(wheel)], check=True)
            _remove_unused(venv)
        (venv / DONE).touch()  # marks it used
    return venv


def _remove_unused(keep: Path) -> None:
    cutoff = time.time() - UNUSED_SECONDS
    for done in CACHE.glob(f"*/{DONE}"):
        if done.parent != keep and done.stat().st_mtime < cutoff:
            shutil.rmtree(done.parent, ignore_errors=True)


def application_env(venv: Path, home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """An environment with only the venv on PATH: no PYTHONPATH, no repository settings."""
    return {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", **(extra or {})}


def installed_names(venv: Path) -> set[str]:
    """Normalised names of every distribution the venv holds."""
    code = ("import importlib.metadata as m, re\n"
            "print('\\n'.join(sorted({re.sub(r'[-_.]+', '-', d.metadata['Name']).lower()"
            " for d in m.distributions()})))")
    answer = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True,
                            env=application_env(venv, venv), cwd=venv)  # `-c` puts the working folder on sys.path
    return set(answer.stdout.split())
