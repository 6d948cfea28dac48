"""Runs every bench, one after another, and prints one short table of the issue's goals: each
measured ratio, the two numbers behind it (reference measured in the same run), the goal, met
or not; then the machine, its load average before and after each bench, and how long it took.

    .venv/bin/python bench/summary.py [--quick] [--only NAME ...] [--markdown PATH]

`make bench` runs this with `--markdown docs/benchmarks/latest.md`: the documentation's page of the
latest run is this table, never one copied by hand. All benches took 9 minutes on 2 shared cores
(each one's time is printed as it ends, and the total with the table); `--quick` runs each with
fewer requests and rounds (about half that): the same lines, noisier. Each bench's own output goes
to a log beside the results (its path is printed), and each stays runnable alone:
`.venv/bin/python bench/<name>.py --help`.
"""
from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import load, machine

BENCH = Path(__file__).resolve().parent
# (script, its arguments in full, in --quick); container.py's executor variants and its MMS warm
# lines are left to running it alone: serving.py measures goal 2, and the variants pick EXECUTOR.
BENCHES = [
    ("validate.py", [], ["--rounds", "2"]),
    ("client_import.py", [], ["--rounds", "5"]),
    ("serving.py", [], ["--requests", "40", "--seconds", "5", "--warmup", "10"]),
    ("container.py", ["--skip-variants", "--skip-mms"], ["--skip-variants", "--skip-mms", "--requests", "40"]),
    ("large_model.py", [], ["--rounds", "1"]),
    ("ingest.py", [], ["--uploads", "30", "--profiled", "5"]),
    ("registry_api.py", [], ["--rounds", "100"]),
    ("alias_invoke.py", [], ["--rounds", "100"]),
    ("mirror.py", [], ["--rounds", "100"]),
    ("planner.py", [], ["--requests", "200000", "--models", "20000", "--agreement", "40"]),
    ("import_models.py", [], ["--objects", "200", "--models", "20"]),
    ("scale.py", [], ["--rounds", "5"]),  # seeds 100,000 versions: about 5 of its 12 minutes
]


def run(script: str, arguments: list[str], out: Path) -> dict:
    """One bench in its own interpreter; its goal lines, or what went wrong."""
    result, log = out / f"{script[:-3]}.json", out / f"{script[:-3]}.log"
    started, load_before = time.monotonic(), load()
    with open(log, "w") as stream:
        status = subprocess.run([sys.executable, str(BENCH / script), *arguments, "--json", str(result)],
                                stdout=stream, stderr=subprocess.STDOUT, cwd=BENCH.parent).returncode
    seconds = time.monotonic() - started
    print(f"  {script:<16} {seconds:6.0f} s   load {load_before} -> {load()}"
          f"{'' if status == 0 else f'   FAILED (exit {status}): see {log}'}", flush=True)
    document = json.loads(result.read_text()) if status == 0 and result.exists() else {"lines": []}
    return {**document, "script": script, "status": status, "seconds": seconds, "load_before": load_before,
            "load_after": load()}


def table(runs: list[dict]) -> list[str]:
    rows = ["| goal | bench | measure | measured | same run | goal | met |", "|---|---|---|---|---|---|---|"]
    for bench in runs:
        if bench["status"] != 0:
            rows.append(f"| | {bench['script']} | failed (exit {bench['status']}) | | | | |")
        for line in bench["lines"]:
            met = {True: "yes", False: "**no**", None: "report"}[line["met"]]
            rows.append(f"| {line['goal'] or '-'} | {bench['script']} | {line['measure']} | {line['value']:.2f} "
                        f"| {line['detail']} | {line['target']} | {met} |")
    return rows


def page(runs: list[dict], stamp: str, machine_text: str, minutes: float, quick: bool) -> str:
    """The documentation page of a run (docs/benchmarks/latest.md): when, where, each bench's load, the table."""
    loads = ", ".join(f"{bench['script'][:-3]} {bench['load_before'].split()[0]}→{bench['load_after'].split()[0]}"
                      for bench in runs)
    return "\n".join([
        "# Latest `make bench`", "",
        "Written by `bench/summary.py` at the end of `make bench`; not edited by hand.", "",
        f"{stamp}, {minutes:.0f} minutes{' (`--quick`)' if quick else ''}; {machine_text}. Load average (1 min) at "
        f"each bench's start and end, the bench's own processes included (MMS, the local stack): {loads}. "
        "\"Same run\" gives the measured value and its reference, both from this run.", "",
        *table(runs), ""])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and rounds per bench")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these benches only, e.g. serving container")
    parser.add_argument("--markdown", type=Path, help="also write the run as a documentation page here "
                        "(make bench: docs/benchmarks/latest.md)")
    args = parser.parse_args()
    known = [script[:-3] for script, _, _ in BENCHES]
    if set(args.only or ()) - set(known):
        parser.error(f"--only takes some of {', '.join(known)}")
    chosen = [b for b in BENCHES if not args.only or b[0][:-3] in args.only]
    out = Path(tempfile.mkdtemp(prefix="bench-summary-"))
    started, stamp = time.monotonic(), datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"{len(chosen)} benches{' (--quick)' if args.quick else ''}, one at a time; logs in {out}", flush=True)
    runs = [run(script, quick if args.quick else full, out) for script, full, quick in chosen]
    minutes = (time.monotonic() - started) / 60
    lines = [f"{stamp}; {machine()}; {minutes:.0f} min{' (--quick)' if args.quick else ''}; load average (1, 5, "
             f"15 min) from {runs[0]['load_before']} to {load()}", "", *table(runs)]
    print("\n" + "\n".join(lines))
    if args.markdown:
        args.markdown.write_text(page(runs, stamp, machine(), minutes, args.quick))
    return 0 if all(bench["status"] == 0 for bench in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
