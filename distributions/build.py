"""Build the wheel of one distribution (distributions/<name>/pyproject.toml) into --out.

    .venv/bin/python distributions/build.py client --out dist/

Why a script rather than `python -m build`: pip (already in every venv) builds the
wheel with the venv's own setuptools, offline, and the two settings that matter are
set here once. SOURCE_DATE_EPOCH makes the wheel byte-for-byte reproducible, so a
test can cache its venv by the wheel's hash; DIST_EXTRA_CONFIG sends setuptools'
build/ and egg-info/ to a temporary folder, so no stale copy of a deleted module
can slip into the next wheel and nothing is written into the repository.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPRODUCIBLE_EPOCH = "315532800"  # 1980-01-01, the earliest time a zip entry can carry


def build_wheel(name: str, out: Path) -> Path:
    """Builds distributions/<name> and returns the path of its wheel in `out`."""
    project = HERE / name
    if not (project / "pyproject.toml").is_file():
        raise SystemExit(f"no distribution {name!r}: expected {project / 'pyproject.toml'}")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"wheel-{name}-") as scratch:
        config = Path(scratch) / "setup.cfg"
        config.write_text(f"[build]\nbuild_base = {scratch}/build\n[egg_info]\negg_base = {scratch}\n")
        env = {**os.environ, "SOURCE_DATE_EPOCH": REPRODUCIBLE_EPOCH, "DIST_EXTRA_CONFIG": str(config)}
        before = set(out.glob("*.whl"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                        "--wheel-dir", str(out), str(project)], check=True, env=env)
    built = sorted(set(out.glob("*.whl")) - before) or sorted(out.glob(f"mme_registry_{name}-*.whl"))
    return built[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=sorted(p.name for p in HERE.iterdir() if (p / "pyproject.toml").is_file()))
    parser.add_argument("--out", type=Path, default=Path("dist"))
    args = parser.parse_args()
    wheel = build_wheel(args.name, args.out)
    print(f"{wheel} ({wheel.stat().st_size / 1024:.1f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
