"""What invoking by alias costs: `AliasClient.invoke` with a warm alias cache against a direct
boto3 `invoke_endpoint` with the TargetModel, same gateway, same run (target: ≤ 1.05×), and
the cost of a cache miss (one `GET /aliases/{alias}` to the registry).

    .venv/bin/python bench/alias_invoke.py [--rounds 300] [--json PATH]

Starts its own local stack on free ports (stopped at the end) and uses the digits model,
which answers in milliseconds, so the client's own cost is not hidden behind the model's.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


import boto3  # noqa: E402

from client import AliasClient  # noqa: E402
from common import GoalLines, add_json_option  # noqa: E402
from client.uploads import upload_model  # noqa: E402
from local_stack.background import BackgroundStack  # noqa: E402
from local_stack.demo.sample_models import cached_tarball, digits_split  # noqa: E402

ALIAS = "bench-digits"


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure(rounds: int, alias_client, runtime, target_model: str, endpoint: str, body: str) -> dict[str, list]:
    """Interleaved (direct, alias, direct, alias, ...) so drift in the machine's load hits both alike."""
    samples: dict[str, list] = {"direct": [], "alias": [], "resolve_hit": [], "resolve_miss": [], "alias_miss": []}

    def direct():
        runtime.invoke_endpoint(EndpointName=endpoint, TargetModel=target_model, Body=body,
                                ContentType="application/json")["Body"].read()

    def by_alias():
        alias_client.invoke(ALIAS, body, content_type="application/json")

    for index in range(rounds):
        pair = (("direct", direct), ("alias", by_alias))
        for name, call in (pair if index % 2 == 0 else pair[::-1]):
            samples[name].append(timed(call))
        samples["resolve_hit"].append(timed(lambda: alias_client.resolve(ALIAS)))
    for _ in range(max(20, rounds // 5)):
        alias_client.cache.invalidate(ALIAS)
        samples["resolve_miss"].append(timed(lambda: alias_client.resolve(ALIAS)))
        alias_client.cache.invalidate(ALIAS)
        samples["alias_miss"].append(timed(by_alias))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300, help="invocations of each kind (bounded)")
    add_json_option(parser)
    args = parser.parse_args()
    goals = GoalLines("alias_invoke.py")

    with tempfile.TemporaryDirectory(prefix="bench-client-") as workdir:
        print("starting a local stack on free ports ...", flush=True)
        with BackgroundStack(Path(workdir)) as stack:
            os.environ.update(stack.env)
            status = run(args.rounds, goals)
    goals.write(args.json)
    return status


def run(rounds: int, goals: GoalLines) -> int:
    outcome = upload_model(cached_tarball("digits"), "bench_digits", [ALIAS])
    resolved = AliasClient().resolve(ALIAS)
    target = resolved.targets[0].target_model
    body = json.dumps({"instances": digits_split().test_x[:1].tolist()})
    runtime = boto3.client("sagemaker-runtime")
    alias_client = AliasClient(runtime_client=boto3.client("sagemaker-runtime"))  # same kind of client, its own pool
    for _ in range(10):  # load the model, open the connections, fill the cache
        alias_client.invoke(ALIAS, body)
        runtime.invoke_endpoint(EndpointName=resolved.endpoint, TargetModel=target, Body=body,
                                ContentType="application/json")["Body"].read()

    samples = measure(rounds, alias_client, runtime, target, resolved.endpoint, body)
    median = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    ratio = median["alias"] / median["direct"]
    print(f"\nmodel {outcome.name} v{outcome.version} as {target}; {rounds} calls of each kind, interleaved\n")
    print(f"{'what':<46}{'median ms':>12}")
    rows = (("direct boto3 invoke_endpoint(TargetModel=...)", "direct"),
            ("AliasClient.invoke, warm alias cache", "alias"),
            ("  of which alias lookup (cache hit)", "resolve_hit"),
            ("alias lookup, cache miss (GET /aliases/{alias})", "resolve_miss"),
            ("AliasClient.invoke, cache miss", "alias_miss"))
    for label, name in rows:
        print(f"{label:<46}{median[name]:>12.3f}")
    verdict = "within" if ratio <= 1.05 else "OVER"
    print(f"\nalias / direct (warm cache): {ratio:.3f}x ({verdict} the 1.05x target); "
          f"a cache miss adds {median['alias_miss'] - median['alias']:.2f} ms")
    goals.ratio("", "AliasClient.invoke, warm alias cache / boto3 invoke_endpoint (digits model)", ratio,
                f"{median['alias']:.2f} / {median['direct']:.2f} ms", at_most=1.05)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
