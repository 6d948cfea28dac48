"""Per-model metrics sent by a real AliasClient to a moto server's CloudWatch: the right dimensions and sums,
and percentiles of known latencies read back through GetMetricData as the metrics route reads them."""
import time
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from chalicelib.metrics import names
from client import AliasClient
from client.metrics import CloudWatchPublisher, Dims, call_counts
from local_stack.aws.cloudwatch_gaps import cloudwatch_gaps


@pytest.fixture
def cloudwatch(moto_server, monkeypatch):
    import requests

    for owner, name, replacement in cloudwatch_gaps():
        monkeypatch.setattr(owner, name, replacement)
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    return boto3.client("cloudwatch", region_name="us-east-1")


def read(cloudwatch, dims: Dims, metric: str, stat: str) -> list[float]:
    """GetMetricData of one metric of one version, per 60 s, over the last few minutes."""
    now = datetime.now(timezone.utc)
    query = {"Id": "m", "MetricStat": {"Metric": {"Namespace": names.NAMESPACE, "MetricName": metric, "Dimensions": [
        {"Name": name, "Value": value} for name, value in zip(names.DIMENSIONS, dims)]}, "Period": 60, "Stat": stat}}
    start = now.replace(second=0) - timedelta(minutes=5)
    answer = cloudwatch.get_metric_data(MetricDataQueries=[query], StartTime=start, EndTime=now + timedelta(minutes=1))
    return answer["MetricDataResults"][0]["Values"]


def alias_document(alias: str) -> dict:
    return {"alias": alias, "model": "fraud", "version": 7, "target_model": "fraud_v7.tar.gz",
            "endpoint": "mme-registry-local", "revision": 1, "targets": None}


def test_an_alias_clients_calls_arrive_in_cloudwatch_under_alias_model_and_version(cloudwatch):
    # GIVEN an AliasClient whose runtime and CloudWatch are the emulator's (moto answers InvokeEndpoint with a
    # canned body), built as an application builds it: from AWS_ENDPOINT_URL
    client = AliasClient(fetch_alias=alias_document)
    # WHEN it makes 7 calls by alias and closes
    for _ in range(7):
        client.invoke("fraud-prod", b'{"instances": [[1.0]]}')
    client.close()
    # THEN CloudWatch holds 7 requests, no errors, 7 latencies, under the alias's model and version
    dims = Dims("fraud-prod", "fraud", "7")
    assert sum(read(cloudwatch, dims, names.REQUESTS, "Sum")) == 7
    assert sum(read(cloudwatch, dims, names.ERRORS_5XX, "Sum")) == 0
    assert sum(read(cloudwatch, dims, names.LATENCY, "SampleCount")) == 7
    assert client.recorder.sent > 0 and client.recorder.lost == 0


def test_p99_of_known_latencies_is_read_back_through_get_metric_data(cloudwatch):
    # GIVEN 200 calls of one minute with latencies 1..200 ms, sent as Values/Counts by the client's publisher
    last_minute = (time.time() // 60 - 1) * 60  # one minute, whenever the test runs
    publisher = CloudWatchPublisher(lambda: cloudwatch, flush_seconds=3600, clock=lambda: last_minute)
    dims = Dims("fraud-prod", "fraud", "8")
    for latency in range(1, 201):
        publisher.record(dims, call_counts("ok"), float(latency))
    publisher.close()
    # WHEN the metrics route's statistics are read; THEN they are those of the 200 values
    assert read(cloudwatch, dims, names.LATENCY, "p50") == [100.0]
    assert read(cloudwatch, dims, names.LATENCY, "p99") == [198.0]
    assert read(cloudwatch, dims, names.REQUESTS, "Sum") == [200.0]
