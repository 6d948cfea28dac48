"""What `GET /aliases/{alias}` costs: in-process (chalice.test.Client, no HTTP), through the local
dev server (local_stack.aws.devserver) and through stock `chalice local`, which leaves Nagle's algorithm
on (the reference "before": every answer on a kept-alive connection waits for the client's delayed
ACK, about 40 ms). Also AliasClient's cache miss (one resolve) against each server.

    .venv/bin/python bench/registry_api.py [--rounds 300] [--json PATH]

Starts the AWS emulator and both servers on free ports (local_stack.api_stack), stops them at the end.
Samples are taken in bursts of 10 calls per path, the paths in turn, so drift in the machine's load hits every path alike.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "registry_app"))
sys.path.insert(0, str(REPO / "tests"))

import requests  # noqa: E402

from common import GoalLines, add_json_option  # noqa: E402
from local_stack.api_stack import ApiStack  # noqa: E402
from local_stack.processes.children import ChildProcess, free_port  # noqa: E402
from local_stack.stack import HOST  # noqa: E402

ALIAS = "bench-api"
MODEL = "bench_api"
BURST = 10  # consecutive calls per path before the next path: a caller's back-to-back requests


def seed(stack: ApiStack) -> None:
    import boto3

    from chalicelib.settings import Settings
    from hostile_tarballs import valid_mxnet

    bucket = Settings().bucket
    with stack.aws():
        boto3.Session(region_name="us-east-1").client("s3").put_object(
            Bucket=bucket, Key="seed/bench_api.tar.gz", Body=valid_mxnet())
    registered = requests.post(f"{stack.url}/models/{MODEL}/versions", timeout=60,
                               json={"source": f"s3://{bucket}/seed/bench_api.tar.gz"})
    assert registered.status_code == 201, registered.text
    moved = requests.put(f"{stack.url}/aliases/{ALIAS}", json={"model": MODEL, "version": 1}, timeout=10)
    assert moved.status_code == 200, moved.text


def stock_chalice_local(stack: ApiStack, workdir: Path) -> tuple[ChildProcess, str]:
    port = free_port()
    env = {**os.environ, **stack.env, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_PROFILE", None)
    chalice = Path(sys.executable).parent / "chalice"
    process = ChildProcess("stock chalice local", [str(chalice), "local", "--no-autoreload", "--host", HOST,
                                                   "--port", str(port), "--stage", "local"],
                           workdir / "chalice-local.log", env=env, cwd=REPO / "registry_app").start()
    url = f"http://{HOST}:{port}"
    process.wait_for_http(f"{url}/health", 60, healthy=lambda r: r.status_code == 200)
    return process, url


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(rounds: int, goals: GoalLines) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-registry-api-") as workdir:
        with ApiStack(Path(workdir)) as stack:
            seed(stack)
            stock, stock_url = stock_chalice_local(stack, Path(workdir))
            try:
                with stack.aws():
                    return measure(rounds, stack.url, stock_url, goals)
            finally:
                stock.stop()


def measure(rounds: int, devserver_url: str, stock_url: str, goals: GoalLines) -> int:
    from chalice.test import Client

    from app import app
    from client import AliasClient

    paths: dict[str, callable] = {}
    in_process = Client(app).__enter__()
    paths["in-process (chalice.test.Client)"] = lambda: in_process.http.get(f"/aliases/{ALIAS}")
    for label, url in (("local_stack.aws.devserver", devserver_url), ("stock chalice local", stock_url)):
        session = requests.Session()  # kept alive, as AliasClient's is
        paths[f"HTTP keep-alive, {label}"] = lambda s=session, u=url: s.get(f"{u}/aliases/{ALIAS}", timeout=10)
        alias_client = AliasClient(registry_url=url, endpoint="bench")

        def miss(c=alias_client):
            c.cache.invalidate(ALIAS)
            c.resolve(ALIAS)
        paths[f"AliasClient cache miss, {label}"] = miss
    for call in paths.values():  # open connections, fill the app's caches
        for _ in range(5):
            call()
    samples: dict[str, list[float]] = {name: [] for name in paths}
    names = list(paths)
    started = time.monotonic()
    for index in range(rounds // BURST):
        for name in names[index % len(names):] + names[:index % len(names)]:
            for _ in range(BURST):
                begin = time.perf_counter()
                paths[name]()
                samples[name].append(time.perf_counter() - begin)
    elapsed = time.monotonic() - started
    in_process.__exit__(None, None, None)

    print(f"GET /aliases/{{alias}}: {rounds} calls per path, in bursts of {BURST}, interleaved, {elapsed:.0f} s; load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}, {os.cpu_count()} CPUs")
    print(f"{'path':<48} {'p50 ms':>8} {'p99 ms':>8} {'min ms':>8}")
    for name in names:
        values = samples[name]
        print(f"{name:<48} {statistics.median(values) * 1e3:8.2f} {percentile(values, 0.99) * 1e3:8.2f} "
              f"{min(values) * 1e3:8.2f}")
    base = statistics.median(samples["in-process (chalice.test.Client)"])
    after = statistics.median(samples["AliasClient cache miss, local_stack.aws.devserver"])
    before = statistics.median(samples["AliasClient cache miss, stock chalice local"])
    print(f"AliasClient cache miss p50: devserver {after * 1e3:.1f} ms vs stock chalice local {before * 1e3:.1f} ms "
          f"(ratio {after / before:.2f}); devserver / in-process {after / base:.2f}")
    goals.ratio("6", "AliasClient cache miss via local_stack.aws.devserver / GET in process (p50)", after / base,
                f"{after * 1e3:.1f} / {base * 1e3:.1f} ms")
    goals.ratio("6", "  the same / via stock chalice local (its 40 ms delayed-ACK stall)", after / before,
                f"{after * 1e3:.1f} / {before * 1e3:.1f} ms")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    add_json_option(parser)
    args = parser.parse_args()
    goals = GoalLines("registry_api.py")
    status = run(args.rounds, goals)
    goals.write(args.json)
    return status


if __name__ == "__main__":
    sys.exit(main())
