"""Builds the Lambda package: `chalice package --stage prod` run by Python 3.13, merged with deploy/functions.yaml.

    python deploy/package.py [--out DIR]    # prints the package folder: deployment.zip + sam.yaml

Why a separate interpreter: Chalice declares the runtime of the Python it runs under and
downloads wheels for it, and the project's venv must be 3.11 (mxnet). So the build runs
from its own small venv (chalice + the Lambda's requirements) under .cache/, made from
Python 3.13 (PYTHON313, else pyenv's 3.13.x). Builds are cached by a hash of their inputs
(app code, requirements, Chalice config and policies, merge template, interpreter), so a
rebuild with nothing changed is a copy.
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
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "registry_app"
MERGE_TEMPLATE = ROOT / "deploy" / "functions.yaml"
CACHE = Path(os.environ.get("MME_REGISTRY_BUILD_CACHE", ROOT / ".cache" / "lambda"))
CHALICE = "chalice==1.34.0"
RUNTIME = (3, 13)
STAGE = "prod"
KEEP = 3  # packages kept in the cache (switching branches back and forth stays fast)
TEMPLATE = "sam.yaml"  # chalice writes YAML when the merge template is YAML


def find_python313() -> Path:
    """PYTHON313 if set, else the newest 3.13.x that pyenv has installed."""
    if os.environ.get("PYTHON313"):
        return Path(os.environ["PYTHON313"])
    try:
        root = Path(subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        root = Path.home() / ".pyenv"
    found = sorted(root.glob("versions/3.13.*/bin/python"), key=lambda p: [int(x) for x in p.parts[-3].split(".")])
    if not found:
        raise SystemExit("error: the Lambda is built with Python 3.13: install it (`pyenv install 3.13`) "
                         "or set PYTHON313=/path/to/python3.13")
    return found[-1]


def _digest(paths: list[Path], *extra: str) -> str:
    digest = hashlib.sha256()
    for text in extra:
        digest.update(text.encode() + b"\0")
    for path in sorted(paths):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def inputs() -> list[Path]:
    """Every file the package or its template is made from."""
    code = [p for p in (APP_DIR / "chalicelib").rglob("*.py") if "__pycache__" not in p.parts]
    chalice_dir = APP_DIR / ".chalice"
    return [APP_DIR / "app.py", APP_DIR / "requirements.txt", MERGE_TEMPLATE, *code,
            chalice_dir / "config.json", *chalice_dir.glob("policy-*.json")]


def build_venv(python: Path) -> Path:
    """A venv with chalice and the Lambda's requirements (chalice imports app.py to find its handlers)."""
    requirements = APP_DIR / "requirements.txt"
    venv = CACHE / f"venv-{_digest([requirements], CHALICE, str(python))}"
    if (venv / ".installed").exists():
        return venv
    print(f"==> creating the Python 3.13 build venv {venv.relative_to(ROOT) if venv.is_relative_to(ROOT) else venv}",
          file=sys.stderr, flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([str(python), "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    CHALICE, "-r", str(requirements)], check=True)
    (venv / ".installed").touch()
    return venv


def build() -> Path:
    """The package folder for the current inputs, built if not cached (one build at a time)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build()


def _build() -> Path:
    python = find_python313()
    version = subprocess.run([str(python), "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.split()
    if tuple(map(int, version)) != RUNTIME:
        raise SystemExit(f"error: {python} is Python {'.'.join(version)}, not 3.13")
    target = CACHE / f"package-{_digest(inputs(), CHALICE, str(python))}"
    if (target / TEMPLATE).exists():
        return target
    venv = build_venv(python)
    print("==> chalice package --stage prod (Python 3.13, manylinux wheels)", file=sys.stderr, flush=True)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    # The template names the region through ${AWS::Region}; chalice only needs one to start.
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    subprocess.run([str(venv / "bin" / "chalice"), "package", "--stage", STAGE, "--merge-template",
                    str(MERGE_TEMPLATE), str(partial)], cwd=APP_DIR, env=env, check=True,
                   stdout=sys.stderr)
    partial.rename(target)
    for stale in sorted(CACHE.glob("package-*"), key=lambda p: p.stat().st_mtime)[:-KEEP]:
        shutil.rmtree(stale, ignore_errors=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python deploy/package.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also copy deployment.zip and sam.yaml into this folder")
    args = parser.parse_args(argv)
    started = time.monotonic()
    package = build()
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name in ("deployment.zip", TEMPLATE):
            shutil.copy2(package / name, args.out / name)
        package = args.out
    zipped = (package / "deployment.zip").stat().st_size
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        unzipped = sum(member.file_size for member in archive.infolist())
    print(f"==> {package / 'deployment.zip'}: {zipped / 1e6:.1f} MB zipped, {unzipped / 1e6:.1f} MB unzipped "
          f"(Lambda allows 50 and 250); {time.monotonic() - started:.0f} s", file=sys.stderr)
    print(package)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
