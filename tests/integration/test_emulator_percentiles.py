"""The emulator's CloudWatch answers p50 and p99 of values sent as Values/Counts, as CloudWatch does
(local_stack/aws/cloudwatch_gaps.py); what the metrics route and the rollouts read goes through it."""
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from local_stack.aws.cloudwatch_gaps import cloudwatch_gaps

DIMENSIONS = [{"Name": "Alias", "Value": "digits"}, {"Name": "Model", "Value": "digits"},
              {"Name": "Version", "Value": "3"}]


@pytest.fixture
def cloudwatch(moto_server, monkeypatch):
    import requests

    for owner, name, replacement in cloudwatch_gaps():
        monkeypatch.setattr(owner, name, replacement)
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    return boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=moto_server)


def minute_ago() -> datetime:
    return datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=1)


def put_latencies(cloudwatch, when: datetime) -> None:
    """1..100 ms once each, and 1000 ms once more, sent as two datums of Values/Counts in one minute."""
    cloudwatch.put_metric_data(Namespace="MMERegistry", MetricData=[
        {"MetricName": "Latency", "Dimensions": DIMENSIONS, "Timestamp": when, "Unit": "Milliseconds",
         "Values": [float(v) for v in range(1, 51)], "Counts": [1.0] * 50},
        {"MetricName": "Latency", "Dimensions": DIMENSIONS, "Timestamp": when, "Unit": "Milliseconds",
         "Values": [float(v) for v in range(51, 101)] + [1000.0], "Counts": [1.0] * 49 + [2.0, 1.0]},
        {"MetricName": "Requests", "Dimensions": DIMENSIONS, "Timestamp": when, "Unit": "Count", "Value": 102.0},
    ])


def test_get_metric_data_answers_p50_and_p99_of_the_values_sent_with_their_counts(cloudwatch):
    # GIVEN 102 latencies in one minute: 1..99 once, 100 twice, 1000 once
    when = minute_ago()
    put_latencies(cloudwatch, when)
    # WHEN the metrics route's query asks for Sum, p50 and p99 per 60 s
    queries = [{"Id": ident, "MetricStat": {"Metric": {"Namespace": "MMERegistry", "MetricName": metric,
                                                       "Dimensions": DIMENSIONS}, "Period": 60, "Stat": stat}}
               for ident, metric, stat in (("requests", "Requests", "Sum"), ("p50", "Latency", "p50"),
                                           ("p99", "Latency", "p99"))]
    answer = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=when - timedelta(minutes=4),
                                        EndTime=when + timedelta(minutes=2))
    # THEN each answers one point for that minute: the 51st and the 101st of the 102 values
    values = {result["Id"]: result["Values"] for result in answer["MetricDataResults"]}
    assert values == {"requests": [102.0], "p50": [51.0], "p99": [100.0]}


def test_get_metric_statistics_answers_extended_statistics(cloudwatch):
    when = minute_ago()
    put_latencies(cloudwatch, when)
    answer = cloudwatch.get_metric_statistics(Namespace="MMERegistry", MetricName="Latency", Dimensions=DIMENSIONS,
                                              StartTime=when - timedelta(minutes=4),
                                              EndTime=when + timedelta(minutes=2), Period=60,
                                              ExtendedStatistics=["p50", "p99", "p100"])
    (point,) = answer["Datapoints"]
    assert point["ExtendedStatistics"] == {"p50": 51.0, "p99": 100.0, "p100": 1000.0}


def test_a_percentile_of_statistic_sets_only_is_no_datapoint_as_in_cloudwatch(cloudwatch):
    when = minute_ago()
    cloudwatch.put_metric_data(Namespace="MMERegistry", MetricData=[
        {"MetricName": "Latency", "Dimensions": DIMENSIONS, "Timestamp": when, "Unit": "Milliseconds",
         "StatisticValues": {"SampleCount": 2, "Sum": 30, "Minimum": 10, "Maximum": 20}}])
    queries = [{"Id": "p99", "MetricStat": {"Metric": {"Namespace": "MMERegistry", "MetricName": "Latency",
                                                       "Dimensions": DIMENSIONS}, "Period": 60, "Stat": "p99"}}]
    answer = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=when - timedelta(minutes=4),
                                        EndTime=when + timedelta(minutes=2))
    assert answer["MetricDataResults"][0]["Values"] == []
