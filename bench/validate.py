"""Validator throughput and memory against `tar -tzf` on the same files, in the same run.

    python bench/validate.py [FILE...]

With no FILE it uses the cached resnet_18 (~45 MB) and resnet_152 (~220 MB)
tarballs (built once, which takes a while for resnet_152). For each file: the
best of 3 wall times of the validator and of `tar -tzf`, their ratio, and the
validator's peak RSS measured in a fresh process, so it counts validation only
(beside the interpreter and its imports, shown as the baseline).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROUNDS = 3
# VmHWM belongs to the process image, which exec replaces; ru_maxrss would also count what
# the parent held when it forked.
CHILD = r"""
import json, sys, time
from chalicelib.validation.gzip_stream import BACKEND
from chalicelib.validation import validate_file
best, report = float("inf"), None
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    report = validate_file(sys.argv[1]) if sys.argv[1] != "-" else None
    best = min(best, time.perf_counter() - start)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({"seconds": best, "valid": report.valid if report else None, "backend": BACKEND,
                  "failures": [f.rule for f in report.failures] if report else [],
                  "peak_rss_kib": int(status["VmHWM"].split()[0])}))
"""


def run_validator(path: str, rounds: int) -> dict:
    """Runs the validator in a fresh interpreter, which reports its own peak RSS."""
    done = subprocess.run([sys.executable, "-c", CHILD, path, str(rounds)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def time_tar(path: Path, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(["tar", "-tzf", str(path)], stdout=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def warm_page_cache(path: Path) -> None:
    """Both contenders then start from the page cache, and this process stays small."""
    with open(path, "rb", buffering=0) as stream:
        while stream.read(1 << 20):
            pass


def default_files() -> list[Path]:
    from local_stack.sample_models import CACHE_DIR, cached_tarball

    files = []
    for name in ("resnet_18", "resnet_152"):
        if not (CACHE_DIR / f"{name}.tar.gz").exists():
            print(f"building the {name} sample tarball once (cached in {CACHE_DIR}); this can take a minute...",
                  flush=True)
        files.append(cached_tarball(name))
    return files


def main(argv: list[str]) -> int:
    files = [Path(arg) for arg in argv] or default_files()
    baseline = run_validator("-", 1)
    print(f"backend {baseline['backend']}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; best of {ROUNDS}; MB = 10^6 bytes")
    print(f"interpreter + imports alone: {baseline['peak_rss_kib'] / 1024:.1f} MiB RSS\n")
    header = f"{'file':<28} {'size MB':>9} {'validator MB/s':>15} {'tar -tzf MB/s':>14} {'ratio':>6} {'peak RSS MiB':>13}"
    print(header)
    print("-" * len(header))
    for path in files:
        size = path.stat().st_size
        warm_page_cache(path)
        tar_seconds = time_tar(path, ROUNDS)
        result = run_validator(str(path), ROUNDS)
        mine, theirs = size / result["seconds"] / 1e6, size / tar_seconds / 1e6
        verdict = "" if result["valid"] else f"  (invalid: {', '.join(result['failures'])})"
        print(f"{path.name:<28} {size / 1e6:>9.1f} {mine:>15.0f} {theirs:>14.0f} {mine / theirs:>5.2f}x "
              f"{result['peak_rss_kib'] / 1024:>13.1f}{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
