"""Ingestion throughput: 100 small uploads dropped into incoming/ at once, through the event pump of a
background local stack, until all 100 are versions; then where the time of one ingest goes.

    .venv/bin/python bench/ingest.py [--uploads 100] [--profiled 20] [--against REV] [--contention 50] [--json PATH]

1. `python -m local_stack up` on free ports (local_stack.background), 100 distinct models (a tiny valid
   MXNet tarball each, `x-amz-meta-warmup: false`: this measures ingestion, not model loading) put by 8
   threads; uploads/s = 100 / (last version's record time - first put). The put rate alone is the reference.
2. The same handler in this process (the emulator and the API alone, local_stack.api_stack, and the
   pump's own EventPump driving app.ingest_uploads) for `--profiled` more uploads, timing every AWS call
   by operation through botocore's events, and the validator's share by cProfile. The DynamoDB and S3
   calls per upload are its round trips (the SQS calls are the poller's, which Lambda makes, not the handler).
3. `--against REV`: the same profile, in the same run, on the code of git revision REV (its tree, from
   `git archive`, in a child process whose imports and children all come from that tree), printed beside
   this tree's: the round trips per ingest before and after a change.
4. `--contention N`: N uploads of ONE model at once, handled by 10 concurrent handlers (the ingest queue's
   maximum concurrency), one message each: how often the version counter's compare-and-set is lost, and
   whether the N uploads became versions 1..N.

Every process it starts is stopped at the end.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import Counter, defaultdict
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


def profile(count: int) -> dict:
    """Runs `count` uploads through the in-process pump and prints where the time went; answers the handler's
    DynamoDB and S3 round trips per upload, by operation, and the AWS time per upload."""
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
    handler = {name: values for name, values in calls.items() if not name.startswith("sqs.")}
    return {"round_trips": {name: len(values) / max(handled, 1) for name, values in handler.items()},
            "aws_ms": sum(sum(values) for values in handler.values()) / max(handled, 1) * 1e3}


def round_trips_of(revision: str, count: int) -> dict:
    """profile() run on `revision`'s code: its tree in a temporary directory, and a child process that imports
    local_stack and the registry from there (PYTHONPATH), as do the emulator and the API it starts."""
    tree_bytes = subprocess.run(["git", "-C", str(REPO), "archive", revision], capture_output=True, check=True).stdout
    with tempfile.TemporaryDirectory(prefix="bench-ingest-reference-") as tree:
        with tarfile.open(fileobj=io.BytesIO(tree_bytes)) as archive:
            archive.extractall(tree, filter="data")
        out = Path(tree) / "round_trips.json"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([tree, f"{tree}/registry_app", f"{tree}/tests"])}
        subprocess.run([sys.executable, __file__, "--uploads", "0", "--profiled", str(count),
                        "--round-trips-json", str(out)], env=env, cwd=tree, check=True, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


def print_round_trips(runs: dict[str, dict], goals: GoalLines) -> None:
    columns = {title: run["round_trips"] for title, run in runs.items()}
    names = sorted({name for column in columns.values() for name in column})
    print("round trips per ingest of a new version (the handler's DynamoDB and S3 calls):")
    print(f"    {'operation':<34}" + "".join(f"{title:>14}" for title in columns))
    for name in names:
        print(f"    {name:<34}" + "".join(f"{column.get(name, 0):14.1f}" for column in columns.values()))
    totals = {title: sum(column.values()) for title, column in columns.items()}
    print(f"    {'total':<34}" + "".join(f"{total:14.1f}" for total in totals.values()))
    print(f"    {'their time, ms (under cProfile)':<34}" + "".join(f"{run['aws_ms']:14.0f}" for run in runs.values()))
    detail = "; ".join(f"{title} {total:.1f}" for title, total in totals.items())
    goals.ratio("", "round trips per ingest of a new version", list(totals.values())[-1], detail, at_most=8)


def contention(count: int, goals: GoalLines, handlers: int = 10) -> None:
    """`count` uploads of one model, handled `handlers` at a time (one message each, as the ingest Lambda's
    batch of 1): lost compare-and-sets of the version counter, redeliveries, and the numbers handed out."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-contention-") as workdir:
        with ApiStack(Path(workdir)) as stack, stack.aws():
            from local_stack.aws.pump import lambda_sqs_event, registry_app

            app = registry_app()
            from chalicelib.settings import get_settings

            for getter in (getattr(app, name) for name in dir(app) if name.startswith("get_")):
                if hasattr(getter, "cache_clear"):  # clients of an earlier stack in this process: build new ones
                    getter.cache_clear()
            session = app.get_session()
            sqs = session.client("sqs")
            queue_url = sqs.get_queue_url(QueueName=get_settings().queue)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            calls, cancelled, redelivered = Counter(), Counter(), []

            def after(model, parsed, **_):
                calls[f"{model.service_model.service_name}.{model.name}"] += 1
                if model.name == "TransactWriteItems" and "Error" in parsed:
                    cancelled[" + ".join(r.get("Code", "") for r in parsed.get("CancellationReasons", []))] += 1

            session.events.register("after-call", after)
            s3 = session.client("s3")
            bodies = [valid_mxnet(prefix=f"p{index}") for index in range(count)]
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda index: s3.put_object(Bucket=BUCKET, Key=f"incoming/hot_v{index}.tar.gz",
                                                          Body=bodies[index], Metadata={"warmup": "false"}),
                              range(count)))
            time.sleep(1)  # the emulator's notifications reach the queue
            calls.clear()

            def handle() -> None:
                idle = 0
                while idle < 3:
                    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1,
                                                   AttributeNames=["All"]).get("Messages", [])
                    idle = 0 if messages else idle + 1
                    for message in messages:
                        try:
                            app.ingest_uploads(lambda_sqs_event(message, arn, "us-east-1"), None)
                        except Exception as error:  # noqa: BLE001 - SQS redelivers it, as it would to Lambda
                            redelivered.append(type(error).__name__)
                            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"],
                                                          VisibilityTimeout=0)
                            continue
                        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

            started = time.perf_counter()
            threads = [threading.Thread(target=handle) for _ in range(handlers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            versions, _ = app.get_store().list_versions("hot", limit=1000, token=None)
            numbers = sorted(v.version for v in versions)
    lost = sum(count_ for reasons, count_ in cancelled.items() if "ConditionalCheckFailed" in reasons)
    reserves = calls["dynamodb.TransactWriteItems"] - len(versions)  # one record transaction per version
    gapless = numbers == list(range(1, count + 1))
    print(f"{count} uploads of one model, {handlers} handlers at once: {len(versions)} versions in {elapsed:.1f} s "
          f"({len(versions) / elapsed:.1f}/s), numbered 1..{count} without a gap: {gapless}")
    print(f"  transactions cancelled: {dict(cancelled) or 'none'}")
    print(f"  reservations: {reserves} transactions for {len(versions)} numbers ({lost} lost compare-and-sets, "
          f"{lost / max(len(versions), 1):.2f} per upload); deliveries that failed and were retried: "
          f"{len(redelivered)} {dict(Counter(redelivered)) or ''}")
    print(f"  the counter item's writes: {calls['dynamodb.TransactWriteItems'] / elapsed:.1f} transactions/s "
          "(DynamoDB allows ~1,000 write units/s per partition; a transactional write of a 1 KB item takes 2)")
    goals.ratio("", f"{count} uploads of one model at once: lost counter compare-and-sets per upload",
                lost / max(len(versions), 1), f"{lost} for {len(versions)} versions; {len(redelivered)} redeliveries")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--profiled", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("--against", metavar="REV", help="also profile git revision REV's ingest, in this run")
    parser.add_argument("--contention", type=int, default=0, metavar="N", help="N uploads of one model at once")
    parser.add_argument("--round-trips-json", type=Path, help=argparse.SUPPRESS)  # --against's child writes here
    add_json_option(parser)
    args = parser.parse_args()
    goals = GoalLines("ingest.py")
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}, {os.cpu_count()} CPUs")
    if args.uploads:
        throughput(args.uploads, args.timeout, goals)
    if args.profiled:
        runs = {args.against: round_trips_of(args.against, args.profiled)} if args.against else {}
        runs["this tree"] = profile(args.profiled)
        if args.round_trips_json:
            args.round_trips_json.write_text(json.dumps(runs["this tree"]))
            return 0
        print_round_trips(runs, goals)
    if args.contention:
        contention(args.contention, goals)
    goals.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
