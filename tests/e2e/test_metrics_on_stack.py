"""Per-model metrics on the local stack with a real model: calls by alias are recorded per version by the client,
plain boto3 calls once by the gateway, a mirror's agreement is recorded, and a failing CloudWatch fails no call."""
from __future__ import annotations

import json
import socket
import time
from datetime import datetime, timedelta, timezone

import boto3
import numpy as np
import pytest
import requests

from chalicelib.metrics import names
from e2e.stack_fixtures import local_stack, stack_env, stack_environment  # noqa: F401
from local_stack.demo.sample_models import cached_tarball, digits_split

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("stack")]

MODEL = "e2e_metrics"


@pytest.fixture(scope="module")
def versions(local_stack):  # noqa: F811
    """e2e_metrics v1 (the weak digits model) and v2 (the good one)."""
    from client.uploads import upload_model

    with stack_environment(local_stack):
        for version, sample in ((1, "digits_small"), (2, "digits")):
            outcome = upload_model(cached_tarball(sample), MODEL, [])
            assert outcome.outcome == "accepted" and outcome.record["version"] == version, outcome.record
    return digits_split().test_x[:20]


def put_alias(registry: str, alias: str, body: dict) -> None:
    answer = requests.put(f"{registry}/aliases/{alias}", json=body, timeout=10)
    assert answer.status_code == 200, answer.text


def body(row: np.ndarray) -> str:
    return json.dumps({"instances": [row.tolist()]})


def metric_sum(alias: str, version: int, metric: str, stat: str = "Sum") -> float:
    """The statistic over the last minutes, as the metrics route reads it (GetMetricData, Period 60)."""
    now = datetime.now(timezone.utc)
    dims = [{"Name": names.ALIAS, "Value": alias}, {"Name": names.MODEL, "Value": MODEL},
            {"Name": names.VERSION, "Value": str(version)}]
    query = {"Id": "m", "MetricStat": {"Metric": {"Namespace": names.NAMESPACE, "MetricName": metric,
                                                  "Dimensions": dims}, "Period": 60, "Stat": stat}}
    answer = boto3.client("cloudwatch").get_metric_data(
        MetricDataQueries=[query], StartTime=now.replace(second=0) - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1))
    return sum(answer["MetricDataResults"][0]["Values"])


def test_calls_by_alias_are_recorded_per_version_with_their_latency(stack_env, versions):
    # GIVEN an alias split 50/50 between v1 and v2
    from client import AliasClient

    put_alias(stack_env["MME_REGISTRY_URL"], "e2e-metrics-split", {"targets": [
        {"model": MODEL, "version": 1, "weight": 50}, {"model": MODEL, "version": 2, "weight": 50}]})
    # WHEN an application makes 40 calls by alias and closes its client
    with AliasClient() as caller:
        served = [caller.invoke("e2e-metrics-split", body(versions[i % 20])).version for i in range(40)]
    # THEN CloudWatch holds each version's calls under the alias, with as many latencies, and a p99
    for version in (1, 2):
        assert metric_sum("e2e-metrics-split", version, names.REQUESTS) == served.count(version) > 0
        assert metric_sum("e2e-metrics-split", version, names.LATENCY, "SampleCount") == served.count(version)
        assert metric_sum("e2e-metrics-split", version, names.ERRORS_5XX) == 0
        assert metric_sum("e2e-metrics-split", version, names.LATENCY, "p99") > 0


def test_a_plain_boto3_invoke_is_recorded_once_by_the_gateway(stack_env, versions):
    # GIVEN 5 calls by alias (the client records them) and then 3 plain boto3 calls naming v1's TargetModel
    from client import AliasClient

    put_alias(stack_env["MME_REGISTRY_URL"], "e2e-metrics-once", {"model": MODEL, "version": 1})
    with AliasClient() as caller:
        for row in versions[:5]:
            caller.invoke("e2e-metrics-once", body(row))
    runtime = boto3.client("sagemaker-runtime")
    for row in versions[:3]:
        runtime.invoke_endpoint(EndpointName="mme-registry-local", TargetModel=f"{MODEL}_v1.tar.gz", Body=body(row),
                                ContentType="application/json")["Body"].read()
    # WHEN the gateway has flushed (every 2 s locally)
    deadline = time.monotonic() + 20
    while metric_sum(names.DIRECT, 1, names.REQUESTS) < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    # THEN the plain calls are counted once under (direct), and the alias's calls only under the alias
    assert metric_sum(names.DIRECT, 1, names.REQUESTS) == 3
    assert metric_sum("e2e-metrics-once", 1, names.REQUESTS) == 5


def test_mirroring_records_the_candidates_calls_and_its_top1_agreement(stack_env, versions):
    # GIVEN an alias on v2 mirrored to v1 for every call, and what each version answers for 20 digits
    from client import AliasClient

    put_alias(stack_env["MME_REGISTRY_URL"], "e2e-metrics-mirror", {"model": MODEL, "version": 2})
    runtime = boto3.client("sagemaker-runtime")

    def best(version: int, row) -> int:
        answer = runtime.invoke_endpoint(EndpointName="mme-registry-local", TargetModel=f"{MODEL}_v{version}.tar.gz",
                                         Body=body(row), ContentType="application/json")
        return int(np.argmax(json.loads(answer["Body"].read())["predictions"][0]))

    expected_agreements = sum(best(1, row) == best(2, row) for row in versions)
    # WHEN 20 calls are made by alias with the mirror on
    mirror = {"alias": "e2e-metrics-mirror", "to": f"{MODEL}:1", "fraction": 1.0}
    with AliasClient(mirror=mirror) as caller:
        for row in versions:
            assert caller.invoke("e2e-metrics-mirror", body(row)).version == 2
    # THEN v1 has 20 mirrored calls under the alias, agreeing as often as the two models do, with its latencies
    assert metric_sum("e2e-metrics-mirror", 1, names.MIRRORED) == 20
    assert metric_sum("e2e-metrics-mirror", 1, names.MIRROR_AGREED) == expected_agreements
    assert metric_sum("e2e-metrics-mirror", 1, names.LATENCY, "SampleCount") == 20
    assert metric_sum("e2e-metrics-mirror", 2, names.REQUESTS) == 20


def test_a_mirror_to_a_version_that_does_not_exist_is_refused_naming_it(stack_env, versions):
    from client import AliasClient
    from client.errors import AliasClientError

    with pytest.raises(AliasClientError, match=f"{MODEL}:99 is not a registered version"):
        AliasClient(mirror={"alias": "e2e-metrics-mirror", "to": f"{MODEL}:99", "fraction": 0.5})


def test_a_failing_cloudwatch_fails_no_call(stack_env, versions, monkeypatch):
    # GIVEN CloudWatch unreachable (nothing listens where the application's settings point it)
    from client import AliasClient

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", f"http://127.0.0.1:{closed_port}")
    put_alias(stack_env["MME_REGISTRY_URL"], "e2e-metrics-nocw", {"model": MODEL, "version": 2})
    # WHEN an application calls by alias and flushes its metrics
    caller = AliasClient()
    answers = [caller.invoke("e2e-metrics-nocw", body(row)) for row in versions[:10]]
    started = time.monotonic()
    caller.close()
    # THEN every call answered, the metrics are counted as lost, and closing did not hang
    assert all(answer.version == 2 and answer.json()["predictions"] for answer in answers)
    assert caller.recorder.lost > 0 and caller.recorder.sent == 0
    assert time.monotonic() - started < 15
