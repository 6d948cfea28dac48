"""The emulator's CloudWatch percentiles, filled as CloudWatch answers them (emulator.py applies them with the rest).

CloudWatch answers a percentile statistic (`p50`, `p99`, `p99.9`) of the raw values sent in each period, Values/Counts
included: GetMetricData with a MetricStat whose Stat is "p99", GetMetricStatistics with ExtendedStatistics ["p99"].
moto 5 keeps those raw values (it expands Values/Counts into one datum per count) but computes only Sum, Average,
Minimum, Maximum and SampleCount: GetMetricData with "p99" fails with a 500 (the statistic is None and cannot be
serialised), and GetMetricStatistics drops ExtendedStatistics (a datapoint with no value). Here both answer the
nearest-rank percentile of the period's raw values (the smallest value with at least p % of the values at or below
it). Where a period holds only StatisticValues sets, CloudWatch has no percentile either and answers no datapoint.
"""
from __future__ import annotations

import math
import re

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


def _without_missing_values(get_metric_data):
    """Drops the periods a statistic has no value for (a percentile of StatisticValues only), as CloudWatch does."""

    def patched(self, *args, **kwargs):
        results = get_metric_data(self, *args, **kwargs)
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
    GetMetricStatistics."""
    from moto.cloudwatch.models import CloudWatchBackend, Statistics
    from moto.cloudwatch.responses import CloudWatchResponse

    return [(Statistics, "get_statistics_for_type", _statistic_with_percentiles(Statistics.get_statistics_for_type)),
            (CloudWatchBackend, "get_metric_data", _without_missing_values(CloudWatchBackend.get_metric_data)),
            (CloudWatchResponse, "get_metric_statistics",
             _with_extended_statistics(CloudWatchResponse.get_metric_statistics))]
