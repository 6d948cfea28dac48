"""Bulk import throughput: `mme-registry import` of 1,000 small real models under an endpoint's prefix.

    .venv/bin/python bench/import_models.py [--objects 1000] [--models 100] [--concurrency 4] [--json PATH]

The emulator and the registry API alone (local_stack.api_stack: no pump is needed, a small registration
answers while the API waits), a source bucket of its own holding `--objects` tiny valid MXNet tarballs
spread over `--models` models (each model's versions differ in their bytes), put by 8 threads. Then
`python -m client import` in this process, timed from its start to its summary: imports/s. The put rate
of the same objects is the reference of the same run; a second import of the same prefix (nothing new:
one listing of each model's versions) is timed too. Every process it starts is stopped at the end.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import boto3  # noqa: E402

from common import GoalLines, add_json_option  # noqa: E402
from hostile_tarballs import mxnet_files, tgz  # noqa: E402
from local_stack.api_stack import ApiStack  # noqa: E402

SOURCE = "bench-endpoint-models"


def put_all(s3, objects: dict[str, bytes]) -> float:
    """Puts every object from 8 threads; returns the wall time of the puts."""
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: s3.put_object(Bucket=SOURCE, Key=item[0], Body=item[1]), objects.items()))
    return time.monotonic() - started


def layout(count: int, models: int) -> dict[str, bytes]:
    """`count` keys `serving/bench_import_<m>_v<n>.tar.gz`; version n of every model has the same bytes."""
    per_model = -(-count // models)
    bodies = [tgz(mxnet_files(params_size=1024 + 16 * n)) for n in range(per_model)]
    keys = [(m, n) for n in range(per_model) for m in range(models)][:count]
    return {f"serving/bench_import_{m:04d}_v{n + 1}.tar.gz": bodies[n] for m, n in keys}


def timed_import(concurrency: int) -> tuple[float, dict, int]:
    from client.cli import main

    printed = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(printed):
        status = main(["import", f"s3://{SOURCE}/serving/", "--concurrency", str(concurrency), "--json"])
    return time.monotonic() - started, json.loads(printed.getvalue()), status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4, help="the import's --concurrency (its default: 4)")
    add_json_option(parser)
    args = parser.parse_args()
    goals = GoalLines("import_models.py")
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}, {os.cpu_count()} CPUs")
    objects = layout(args.objects, args.models)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as workdir:
        with ApiStack(Path(workdir)) as stack, stack.aws():
            s3 = boto3.Session(region_name="us-east-1").client("s3")
            s3.create_bucket(Bucket=SOURCE)
            put_seconds = put_all(s3, objects)
            seconds, summary, status = timed_import(args.concurrency)
            again, second, _ = timed_import(args.concurrency)
    count = len(objects)
    made, found = summary["counts"]["imported"], second["counts"]["already"]
    print(f"{count} objects over {args.models} models, concurrency {args.concurrency}: {made} imported in "
          f"{seconds:.1f} s, {made / seconds:.1f} imports/s ({seconds / max(made, 1) * 1e3:.0f} ms each; "
          f"exit {status})")
    print(f"reference, the puts of the same objects alone (8 threads): {put_seconds:.2f} s, "
          f"{count / put_seconds:.0f} objects/s")
    print(f"a second import of the same prefix: {found} already there, {second['counts']['imported']} imported, "
          f"in {again:.1f} s ({count / again:.0f} objects checked/s)")
    if made != count or found != count:
        print(f"expected {count} imported, then {count} already there: {summary['counts']}, {second['counts']}")
        goals.ratio("scale", f"{count} objects imported, then found", min(made, found), "", at_least=count)
        goals.write(args.json)
        return 1
    goals.ratio("scale", f"`mme-registry import` of {count} small models ({args.models} models), imports/s",
                count / seconds, f"{seconds:.1f} s; the puts alone {count / put_seconds:.0f}/s")
    goals.ratio("scale", "  the same prefix again (nothing new), objects checked/s", count / again,
                f"{again:.1f} s for {count}")
    goals.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
