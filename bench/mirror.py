"""What recording and live mirroring cost a caller: the same `AliasClient.invoke` calls with metrics off, with
metrics on (the default), and with metrics on and 10 % of the alias's calls mirrored to another version,
interleaved in one run (goal: 10 % mirroring <= 1.02x of no mirroring, median and p99).

    .venv/bin/python bench/mirror.py [--rounds 300] [--json PATH]

Starts its own local stack on free ports (stopped at the end) and uses the digits models, which answer in
milliseconds, so the client's own cost is not hidden behind the model's. Each client has its own boto3 pool;
the mirror's calls run on its worker thread and share the machine and the model server with the callers, as
they would in an application.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import boto3

from client import AliasClient
from common import GoalLines, add_json_option, latency
from client.uploads import upload_model
from local_stack.background import BackgroundStack
from local_stack.demo.sample_models import cached_tarball, digits_split

ALIAS = "bench-mirror"
MODEL = "bench_mirror"
KINDS = ("metrics off", "metrics on", "mirror 10%")


def measure(rounds: int, clients: dict[str, AliasClient], bodies: list[str]) -> dict[str, list[float]]:
    """Interleaved, the order rotating each round, so drift in the machine's load hits every kind alike."""
    samples: dict[str, list[float]] = {kind: [] for kind in clients}
    kinds = list(clients)
    for index in range(rounds):
        body = bodies[index % len(bodies)]
        for kind in kinds[index % len(kinds):] + kinds[:index % len(kinds)]:
            started = time.perf_counter()
            clients[kind].invoke(ALIAS, body)
            samples[kind].append(time.perf_counter() - started)
    return samples


def recording_cost(client: AliasClient, calls: int = 20_000) -> float:
    """Microseconds the caller's thread spends recording one call (what `invoke` adds to the call itself)."""
    from client.alias_client import _Attempt

    target = client.resolve(ALIAS).targets[0]
    attempt = _Attempt({}, b"", None, 10.0, 0)
    started = time.perf_counter()
    for _ in range(calls):
        client._record(ALIAS, target, attempt)
    return (time.perf_counter() - started) / calls * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300, help="invocations of each kind (bounded)")
    add_json_option(parser)
    args = parser.parse_args()
    goals = GoalLines("mirror.py")
    with tempfile.TemporaryDirectory(prefix="bench-mirror-") as workdir:
        print("starting a local stack on free ports ...", flush=True)
        with BackgroundStack(Path(workdir)) as stack:
            os.environ.update(stack.env)
            status = run(min(args.rounds, 5000), goals)
    goals.write(args.json)
    return status


def run(rounds: int, goals: GoalLines) -> int:
    upload_model(cached_tarball("digits_small"), MODEL, [])
    outcome = upload_model(cached_tarball("digits"), MODEL, [ALIAS])
    mirror = {"alias": ALIAS, "to": f"{MODEL}:{outcome.version - 1}", "fraction": 0.1}
    runtime = lambda: boto3.client("sagemaker-runtime")  # noqa: E731 - each client its own connection pool
    clients = {"metrics off": AliasClient(runtime_client=runtime(), metrics=False),
               "metrics on": AliasClient(runtime_client=runtime()),
               "mirror 10%": AliasClient(runtime_client=runtime(), mirror=mirror)}
    bodies = [json.dumps({"instances": [row.tolist()]}) for row in digits_split().test_x[:50]]
    measure(20, clients, bodies)  # load both versions, open the connections, fill the caches
    samples = measure(rounds, clients, bodies)
    mirrors = clients["mirror 10%"].mirrors
    cost = recording_cost(clients["metrics on"])
    for client in clients.values():
        client.close()
    stats = {kind: latency(values) for kind, values in samples.items()}
    print(f"\n{MODEL} v{outcome.version} by alias {ALIAS}; {rounds} calls of each kind, interleaved; "
          f"{mirrors.offered} mirrored ({mirrors.skipped} skipped: queue full)\n")
    print(f"{'what':<44}{'median ms':>12}{'p99 ms':>10}")
    for kind in KINDS:
        print(f"{'AliasClient.invoke, ' + kind:<44}{stats[kind]['median']:>12.3f}{stats[kind]['p99']:>10.3f}")
    recording = stats["metrics on"]["median"] / stats["metrics off"]["median"]
    median = stats["mirror 10%"]["median"] / stats["metrics on"]["median"]
    p99 = stats["mirror 10%"]["p99"] / stats["metrics on"]["p99"]
    print(f"\nmetrics on / off (median): {recording:.3f}x; 10 % mirroring / none: median {median:.3f}x, "
          f"p99 {p99:.3f}x ({'within' if max(median, p99) <= 1.02 else 'OVER'} the 1.02x target)")
    print(f"recording one call on the caller's thread: {cost:.1f} us")
    goals.ratio("", "AliasClient.invoke, metrics on / off (median, digits model)", recording,
                f"{stats['metrics on']['median']:.2f} / {stats['metrics off']['median']:.2f} ms; "
                f"recording {cost:.0f} us a call")
    goals.ratio("", "AliasClient.invoke, 10 % mirrored / not mirrored (median)", median,
                f"{stats['mirror 10%']['median']:.2f} / {stats['metrics on']['median']:.2f} ms", at_most=1.02)
    goals.ratio("", "AliasClient.invoke, 10 % mirrored / not mirrored (p99)", p99,
                f"{stats['mirror 10%']['p99']:.2f} / {stats['metrics on']['p99']:.2f} ms", at_most=1.02)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
