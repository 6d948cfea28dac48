"""Ingestion throughput: 100 small uploads dropped into incoming/ at once, through the event pump of a
background local stack, until all 100 are versions; then where the time of one ingest goes.

    .venv/bin/python bench/ingest.py [--uploads 100] [--profiled 20] [--json PATH]

1. `python -m local_stack up` on free ports (local_stack.background), 100 distinct models (a tiny valid
   MXNet tarball each, `x-amz-meta-warmup: false`: this measures ingestion, not model loading) put by 8
   threads; uploads/s = 100 / (last version's record time - first put). The put rate alone is the reference.
2. The same handler in this process (the emulator and the API alone, local_stack.api_stack, and the
   pump's own EventPump driving app.ingest_uploads) for `--profiled` more uploads, timing every AWS call
   by operation through botocore's events, and the validator's share by cProfile.

Every process it starts is stopped at the end.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import boto3  # noqa: E402
import requests  # noqa: E402

from common import GoalLines, add_json_option  # noqa: E402
from hostile_tarballs import valid_mxnet  # noqa: E402
from local_stack.api_stack import ApiStack  # noqa: E402
from local_stack.background import BackgroundStack  # noqa: E402

BUCKET = "mme-registry-local"


def put_all(s3, names: list[str], body: bytes) -> float:
    """Puts every upload from 8 threads; returns the wall time of the puts."""
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda name: s3.put_object(Bucket=BUCKET, Key=f"incoming/{name}.tar.gz", Body=body,
                                                 Metadata={"warmup": "false"}), names))
    return time.monotonic() - started


def versions(api_url: str, prefix: str) -> dict[str, datetime]:
    """Models named `prefix*` that have a version, with the time their record was last updated."""
    found, token = {}, None
    while True:
        params = {"limit": 100, **({"next_token": token} if token else {})}
        page = requests.get(f"{api_url}/models", params=params, timeout=30).json()
        for model in page["items"]:
            if model["name"].startswith(prefix) and model["latest_version"]:
                found[model["name"]] = datetime.fromisoformat(model["updated_at"].replace("Z", "+00:00"))
        token = page.get("next_token")
        if not token:
            return found


def throughput(count: int, timeout: float, goals: GoalLines) -> None:
    body = valid_mxnet()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as workdir:
        with BackgroundStack(Path(workdir)) as stack:
            s3 = boto3.Session(region_name="us-east-1").client(
                "s3", endpoint_url=stack.env["AWS_ENDPOINT_URL"], aws_access_key_id="testing",
                aws_secret_access_key="testing")
            api_url = stack.env["MME_REGISTRY_URL"]
            names = [f"bench_ingest_{index:03d}" for index in range(count)]
            first_put = datetime.now().astimezone()
            started = time.monotonic()
            put_seconds = put_all(s3, names, body)
            done: dict[str, datetime] = {}
            while len(done) < count and time.monotonic() - started < timeout:
                time.sleep(2)
                done = versions(api_url, "bench_ingest_")
            waited = time.monotonic() - started
        if len(done) < count:
            print(f"only {len(done)} of {count} uploads became versions within {timeout:.0f} s")
            goals.ratio("5", f"{count} uploads at once: versions made within {timeout:.0f} s", len(done), "", at_least=count)
            return
        seconds = (max(done.values()) - first_put).total_seconds()
        print(f"{count} uploads -> {len(done)} versions in {seconds:.1f} s: {count / seconds:.2f} uploads/s "
              f"through the pump ({seconds / count * 1e3:.0f} ms each; polled until {waited:.0f} s)")
        print(f"reference, the puts alone (8 threads): {put_seconds:.2f} s, {count / put_seconds:.0f} uploads/s "
              f"(ratio ingest / put time {seconds / put_seconds:.1f})")
    goals.ratio("5", f"{count} uploads at once -> versions through the pump, uploads/s", count / seconds,
                f"{seconds:.1f} s; the puts alone {count / put_seconds:.0f}/s")


def profile(count: int) -> None:
    body = valid_mxnet()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-profile-") as workdir:
        with ApiStack(Path(workdir)) as stack, stack.aws():
            from local_stack.aws.pump import EventPump, registry_app

            app = registry_app()
            from chalicelib.settings import get_settings

            session = app.get_session()
            sqs = session.client("sqs")
            queue_url = sqs.get_queue_url(QueueName=get_settings().queue)["QueueUrl"]
            calls: dict[str, list[float]] = defaultdict(list)
            began: dict[int, float] = {}

            def before(model, **_):
                began[id(model)] = time.perf_counter()

            def after(model, **_):
                calls[f"{model.service_model.service_name}.{model.name}"].append(
                    time.perf_counter() - began.pop(id(model), time.perf_counter()))

            botocore_session = session._session
            botocore_session.register("before-call", before)
            botocore_session.register("after-call", after)
            pump = EventPump(sqs, queue_url, app.ingest_uploads)
            s3 = session.client("s3")
            names = [f"bench_profile_{index:03d}" for index in range(count)]
            put_all(s3, names, body)
            time.sleep(1)  # the emulator's notifications reach the queue
            calls.clear()
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            deadline = time.monotonic() + 120
            idle = 0
            while idle < 3 and time.monotonic() < deadline:  # until the queue stays empty
                idle = 0 if pump.drain_once() else idle + 1
            profiler.disable()
            elapsed = time.perf_counter() - started
            # The queue also holds the emulator's s3:TestEvent: count the versions made (one copy each).
            handled = len(calls.get("s3.CopyObject", []))
    stats = pstats.Stats(profiler)
    validator = sum(entry[3] for func, entry in stats.stats.items()
                    if "chalicelib/validation" in func[0] and func[2] == "validate_stream")
    aws_total = sum(sum(v) for v in calls.values())
    print(f"in-process pump, {handled} uploads: {elapsed:.2f} s, {handled / elapsed:.2f} uploads/s, "
          f"{elapsed / max(handled, 1) * 1e3:.0f} ms each (under cProfile)")
    print(f"  AWS calls (emulator round trips): {sum(len(v) for v in calls.values())} calls, "
          f"{aws_total:.2f} s = {aws_total / elapsed:.0%} of the time; per upload:")
    for name, values in sorted(calls.items(), key=lambda item: -sum(item[1])):
        print(f"    {name:<40} {len(values) / max(handled, 1):5.1f} calls  {sum(values) / max(handled, 1) * 1e3:7.1f} ms")
    print(f"  validator (validate_stream): {validator:.2f} s = {validator / elapsed:.0%}; "
          f"the rest (handler, pydantic, JSON, profiler): {elapsed - aws_total - validator:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--profiled", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=240)
    add_json_option(parser)
    args = parser.parse_args()
    goals = GoalLines("ingest.py")
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}, {os.cpu_count()} CPUs")
    throughput(args.uploads, args.timeout, goals)
    if args.profiled:
        profile(args.profiled)
    goals.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
