"""The validator against its references, all measured in the same run on the same bytes.

    .venv/bin/python bench/validate.py [--rounds 5] [--no-installed] [--json PATH] [FILE...]

With no FILE it uses the cached resnet_18 (~45 MB) and resnet_152 (~220 MB) tarballs
(built once). For each file, best of `--rounds`, interleaved so load hits all alike:

- the whole command, `python -m client validate FILE` (and the installed `mme-registry
  validate`, from the client wheel in a fresh cached venv; also with ISA-L made unimportable,
  the zlib fallback, for the record), against `tar -tzf FILE` (goal: ratio of wall times <= 0.5);
- in a fresh interpreter, `validate_file` alone against ISA-L inflating the same bytes
  from memory in 1 MiB pieces, and SHA-256 alone (goal: >= 90 % of ISA-L's rate), with
  the main thread's CPU time (the critical path when a second core is free);
- on one core (a busy machine, the ingest Lambda) every thread's CPU counts: ISA-L's CPU
  time against the validator's, all threads;
- the validator's peak RSS (VmHWM of that interpreter, which holds nothing else;
  goal: <= 64 MiB and flat with size);
- start-up: `validate --help` against `python -c pass` (goal: <= 0.1 s).

Wall times on a shared machine are noisy: the load average is printed, and the CPU
times beside them are what the validator itself costs.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from common import GoalLines, add_json_option, load, machine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

VALIDATOR = r"""
import json, sys, time
from chalicelib.validation.gzip_stream import BACKEND
from chalicelib.validation import validate_file
best = best_cpu = best_main = float("inf")
for _ in range(int(sys.argv[2])):
    wall, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
    report = validate_file(sys.argv[1])
    best = min(best, time.perf_counter() - wall)
    best_cpu, best_main = min(best_cpu, time.process_time() - cpu), min(best_main, time.thread_time() - main)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))  # VmHWM: this process image only
print(json.dumps({"seconds": best, "cpu": best_cpu, "main_thread_cpu": best_main, "backend": BACKEND,
                  "valid": report.valid, "failures": [f.rule for f in report.failures],
                  "peak_rss_kib": int(status["VmHWM"].split()[0])}))
"""
# ISA-L inflating the file's bytes from memory, as the validator streams them (1 MiB pieces of
# output), with nothing else: no read, no hash, no tar walk. And SHA-256 alone, also from memory.
REFERENCES = r"""
import hashlib, json, sys, time
from isal.igzip_lib import DECOMP_GZIP, IgzipDecompressor
data = memoryview(open(sys.argv[1], "rb").read())
def inflate():
    inflater = IgzipDecompressor(DECOMP_GZIP)
    for start in range(0, len(data), 1 << 20):
        inflater.decompress(data[start : start + (1 << 20)], 1 << 20)
        while not inflater.needs_input and not inflater.eof:
            inflater.decompress(b"", 1 << 20)
def sha256():
    hashlib.sha256(data).hexdigest()
out = {}
for name, step in (("isal", inflate), ("sha256", sha256)):
    best = best_cpu = float("inf")
    for _ in range(int(sys.argv[2])):
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        best, best_cpu = min(best, time.perf_counter() - wall), min(best_cpu, time.process_time() - cpu)
    out[name], out[name + "_cpu"] = best, best_cpu
print(json.dumps(out))
"""


def best_wall(command: list[str], rounds: int, **options) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=False, **options)
        best = min(best, time.perf_counter() - start)
    return best


def child(script: str, path: str, rounds: int) -> dict:
    done = subprocess.run([sys.executable, "-c", script, path, str(rounds)], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


WITHOUT_ISAL = "mme-registry, ISA-L absent"  # a report line: where no isal wheel installs, zlib serves
BLOCK_ISAL = "import sys; sys.modules['isal'] = None; from mme_registry.client.cli import main; sys.exit(main())"


def installed_commands() -> dict[str, list[str]]:
    """`mme-registry` from the client wheel in a fresh cached venv (tests/wheel_venv.py), as installed
    (ISA-L, a dependency), and the same with `isal` made unimportable (the stdlib zlib fallback)."""
    from client_import import installed_python  # bench/ is this script's folder, first on sys.path

    python = installed_python()
    return {"mme-registry": [str(python.parent / "mme-registry")], WITHOUT_ISAL: [str(python), "-c", BLOCK_ISAL]}


def default_files() -> list[Path]:
    from local_stack.demo.sample_models import CACHE_DIR, cached_tarball

    files = []
    for name in ("resnet_18", "resnet_152"):
        if not (CACHE_DIR / f"{name}.tar.gz").exists():
            print(f"building the {name} sample tarball once (cached in {CACHE_DIR}); this can take a minute...",
                  flush=True)
        files.append(cached_tarball(name))
    return files


def measure(path: Path, rounds: int, installed: dict[str, list[str]]) -> dict:
    size = path.stat().st_size
    with open(path, "rb", buffering=0) as stream:  # every contender starts from the page cache
        while stream.read(1 << 20):
            pass
    commands = {"tar -tzf": (["tar", "-tzf", str(path)], REPO),
                "python -m client": ([sys.executable, "-m", "client", "validate", str(path)], REPO),
                **{name: ([*command, "validate", str(path)], "/") for name, command in installed.items()}}
    walls = dict.fromkeys(commands, float("inf"))
    for _ in range(rounds):  # interleaved: a burst of load on the machine hits every contender
        for name, (command, cwd) in commands.items():
            walls[name] = min(walls[name], best_wall(command, 1, cwd=cwd))
    return {"size": size, "walls": walls, **child(VALIDATOR, str(path), rounds), **child(REFERENCES, str(path), rounds)}


def startup(rounds: int, installed: dict[str, list[str]]) -> dict:
    commands = {"python -c pass": [sys.executable, "-c", "pass"],
                "python -m client": [sys.executable, "-m", "client", "validate", "--help"],
                **{name: [*command, "validate", "--help"] for name, command in installed.items()}}
    out = dict.fromkeys(commands, float("inf"))
    for _ in range(rounds * 3):
        for name, command in commands.items():
            out[name] = min(out[name], best_wall(command, 1, cwd=REPO))
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-installed", action="store_true", help="skip the installed `mme-registry validate`")
    add_json_option(parser)
    args = parser.parse_args(argv)
    goals = GoalLines("validate.py")
    files = args.files or default_files()
    installed = {} if args.no_installed else installed_commands()
    print(f"{machine()}; load average {load()} at the start; best of {args.rounds}; MB = 10^6 bytes\n")
    results = {path.name: measure(path, args.rounds, installed) for path in files}
    start = startup(args.rounds, installed)

    names = list(next(iter(results.values()))["walls"])
    print("whole command, wall seconds (ratio to tar -tzf)")
    print(f"{'file':<20} {'MB':>6} " + " ".join(f"{name:>22}" for name in names))
    for name, r in results.items():
        walls = r["walls"]
        cells = [f"{walls[n]:>8.2f} ({walls[n] / walls['tar -tzf']:.2f}x)" for n in names]
        print(f"{name:<20} {r['size'] / 1e6:>6.1f} " + " ".join(f"{cell:>22}" for cell in cells))

    print("\nin a fresh interpreter (MB/s of the .tar.gz; CPU seconds)")
    print(f"{'file':<20} {'validate':>9} {'ISA-L alone':>12} {'ratio':>6} {'SHA-256 alone':>14} "
          f"{'CPU all':>8} {'CPU main':>9} {'peak RSS MiB':>13}")
    for name, r in results.items():
        mb = r["size"] / 1e6
        verdict = "" if r["valid"] else f"  (invalid: {', '.join(r['failures'])})"
        print(f"{name:<20} {mb / r['seconds']:>9.0f} {mb / r['isal']:>12.0f} {r['isal'] / r['seconds']:>5.2f}x "
              f"{mb / r['sha256']:>14.0f} {r['cpu']:>8.2f} {r['main_thread_cpu']:>9.2f} "
              f"{r['peak_rss_kib'] / 1024:>13.1f}{verdict}")

    print("\nstart-up, wall seconds: " + ", ".join(
        f"{name}{'' if name == 'python -c pass' else ' validate --help'} {seconds:.3f}" for name, seconds in start.items()))

    biggest_name = max(results, key=lambda n: results[n]["size"])
    biggest = results[biggest_name]
    rss = [r["peak_rss_kib"] / 1024 for r in results.values()]
    rows = [(f"{name} validate / tar -tzf (wall)", f"{seconds / biggest['walls']['tar -tzf']:.2f}",
             "" if name == WITHOUT_ISAL else "<= 0.50")
            for name, seconds in biggest["walls"].items() if name != "tar -tzf"]
    rows += [
        ("in-process rate / ISA-L alone", f"{biggest['isal'] / biggest['seconds']:.2f}", ">= 0.90"),
        ("on one core: ISA-L CPU / validator CPU (all threads)", f"{biggest['isal_cpu'] / biggest['cpu']:.2f}", ""),
        ("peak RSS MiB, every file", "..".join(f"{x:.0f}" for x in (min(rss), max(rss))), "<= 64, flat"),
        *((f"{name} validate --help (s)", f"{seconds:.3f}", "<= 0.100")
          for name, seconds in start.items() if name not in ("python -c pass", WITHOUT_ISAL)),
    ]
    print(f"\nsummary: {biggest_name}, {machine()}; load average {load()} at the end")
    print(f"| {'measure':<52} | {'value':>8} | {'goal':<11} |")
    print(f"|{'-' * 54}|{'-' * 10}|{'-' * 13}|")
    for what, value, goal in rows:
        print(f"| {what:<52} | {value:>8} | {goal:<11} |")
    tar, mb = biggest["walls"]["tar -tzf"], biggest["size"] / 1e6
    for name, seconds in biggest["walls"].items():
        if name != "tar -tzf":
            goals.ratio("1", f"`{name} validate` {biggest_name} / `tar -tzf` (wall)", seconds / tar,
                        f"{seconds:.2f} / {tar:.2f} s", at_most=None if name == WITHOUT_ISAL else 0.5)
    goals.ratio("1", "validator's rate in process / ISA-L inflating the same bytes", biggest["isal"] / biggest["seconds"],
                f"{mb / biggest['seconds']:.0f} / {mb / biggest['isal']:.0f} MB/s", at_least=0.9)
    goals.ratio("1", "validator's peak RSS, MiB (largest of every file)", max(rss),
                ", ".join(f"{x:.1f}" for x in rss), at_most=64)
    for name, seconds in start.items():
        if name not in ("python -c pass", WITHOUT_ISAL):
            goals.ratio("1", f"`{name} validate --help`, s", seconds, f"python -c pass {start['python -c pass']:.3f} s",
                        at_most=0.1)
    goals.write(args.json)
    rate = biggest["size"] / 1e6 / biggest["cpu"]
    print(f"\nbackend {biggest['backend']}; one core's CPU rate (all threads): {rate:.0f} MB/s, so a 5 GB tarball "
          f"takes about {5e3 / rate:.0f} s of CPU (the ingest Lambda at 1,769 MB has one vCPU)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
