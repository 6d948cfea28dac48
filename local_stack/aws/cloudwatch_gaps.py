"""The emulator's CloudWatch percentiles, filled as CloudWatch answers them (emulator.py applies them with the rest).

CloudWatch answers a percentile statistic (`p50`, `p99`, `p99.9`) of the raw values sent in each period, Values/Counts
included: GetMetricData with a MetricStat whose Stat is "p99", GetMetricStatistics with ExtendedStatistics ["p99"].
moto 5 keeps those raw values (it expands Values/Counts into one datum per count) but computes only Sum, Average,
Minimum, Maximum and SampleCount: GetMetricData with "p99" fails with a 500 (the statistic is None and cannot be
serialised), and GetMetricStatistics drops ExtendedStatistics (a datapoint with no value). Here both answer the
nearest-rank percentile of the period's raw values (the smallest value with at least p % of the values at or below
it). Where a period holds only StatisticValues sets, CloudWatch has no percentile either and answers no datapoint.

And GetMetricData's StartTime: CloudWatch rounds it down (to the minute when it is less than 15 days ago, to 5
minutes up to 63 days, to the hour beyond), so periods start on the clock's minutes; moto starts the first period
at the StartTime given, so a reader asking from 12:32:34 got points stamped 12:32:34, 12:33:34, ...
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

PERCENTILE = re.compile(r"p(100|\d{1,2}(?:\.\d+)?)")


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank p-th percentile of `values` (not empty)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _statistic_with_percentiles(get_statistic):
    def patched(self, stat: str):
        match = PERCENTILE.fullmatch(stat)
        if match is None:
            return get_statistic(self, stat)
        values = self.metric_single_values_list
        return percentile(values, float(match.group(1))) if values else None

    return patched


def rounded_start(start: datetime, now: datetime | None = None) -> datetime:
    """GetMetricData's StartTime as CloudWatch rounds it down, by how long ago it is (moto's times are naive UTC)."""
    aware = start if start.tzinfo else start.replace(tzinfo=timezone.utc)
    age = (now or datetime.now(timezone.utc)) - aware
    step = 60 if age < timedelta(days=15) else 300 if age < timedelta(days=63) else 3600
    seconds = aware.timestamp()
    rounded = datetime.fromtimestamp(seconds - seconds % step, tz=timezone.utc)
    return rounded if start.tzinfo else rounded.replace(tzinfo=None)


def _as_cloudwatch_answers(get_metric_data):
    """StartTime rounded down; the periods a statistic has no value for (a percentile of StatisticValues only)
    left out, as CloudWatch does."""

    def patched(self, queries, start_time, end_time, *args, **kwargs):
        results = get_metric_data(self, queries, rounded_start(start_time), end_time, *args, **kwargs)
        for result in results:
            kept = [(t, v) for t, v in zip(result["timestamps"], result["values"]) if v is not None]
            result["timestamps"], result["values"] = [t for t, _ in kept], [v for _, v in kept]
        return results

    return patched


def _with_extended_statistics(get_metric_statistics):
    def patched(self):
        answer = get_metric_statistics(self)
        wanted = [stat for stat in self._get_param("ExtendedStatistics") or [] if PERCENTILE.fullmatch(stat)]
        for point in answer.result["Datapoints"] if wanted else []:
            if point.metric_single_values_list:
                point.extended_statistics = {stat: point.get_statistics_for_type(stat) for stat in wanted}
        return answer

    return patched


def cloudwatch_gaps() -> list[tuple[type, str, object]]:
    """(class, attribute, replacement), as emulator.sagemaker_gaps: percentiles in GetMetricData and
    GetMetricStatistics, and GetMetricData's periods on the clock's minutes."""
    from moto.cloudwatch.models import CloudWatchBackend, Statistics
    from moto.cloudwatch.responses import CloudWatchResponse

    return [(Statistics, "get_statistics_for_type", _statistic_with_percentiles(Statistics.get_statistics_for_type)),
            (CloudWatchBackend, "get_metric_data", _as_cloudwatch_answers(CloudWatchBackend.get_metric_data)),
            (CloudWatchResponse, "get_metric_statistics",
             _with_extended_statistics(CloudWatchResponse.get_metric_statistics))]
