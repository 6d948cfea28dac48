"""The reader joins the pages GetMetricData splits an answer into (NextToken), and shapes them per target.

moto answers GetMetricData in one page whatever its size, so the pages CloudWatch sends for a large answer
are played here by a small hand-written CloudWatch that splits each query's datapoints over two pages.
"""
from datetime import datetime, timezone

from chalicelib.metrics import names
from chalicelib.metrics.reader import MetricsReader

START, END = datetime(2026, 12, 6, 13, 0, tzinfo=timezone.utc), datetime(2026, 12, 6, 13, 4, tzinfo=timezone.utc)


def minute(m: int) -> datetime:
    return datetime(2026, 12, 6, 13, m, tzinfo=timezone.utc)


class PagingCloudWatch:
    """Answers Requests and Errors5xx with 1 a minute (the window's query: 4), in two pages; nothing else."""

    def __init__(self):
        self.calls = []

    def get_metric_data(self, MetricDataQueries, StartTime, EndTime, ScanBy, NextToken=None):
        self.calls.append(NextToken)
        page = [0, 1] if NextToken is None else [2, 3]
        results = []
        for query in MetricDataQueries:
            period = query["MetricStat"]["Period"]
            if query["MetricStat"]["Metric"]["MetricName"] not in (names.REQUESTS, names.ERRORS_5XX):
                continue  # nothing recorded: CloudWatch sends the query with no datapoints
            if period == 240:
                stamps, values = ([minute(0)], [4.0]) if NextToken is None else ([], [])
            else:
                stamps, values = [minute(m) for m in page], [1.0] * len(page)
            results.append({"Id": query["Id"], "Timestamps": stamps, "Values": values, "StatusCode": "Complete"})
        return {"MetricDataResults": results, **({"NextToken": "page-2"} if NextToken is None else {})}


def test_the_series_joins_both_pages_of_the_answer_into_one_line_per_target():
    cloudwatch = PagingCloudWatch()

    [line] = MetricsReader(cloudwatch).series("classifier", [("resnet", 2)], START, END, 60)

    assert cloudwatch.calls == [None, "page-2"]
    assert line.timestamps == [minute(m) for m in range(4)]
    assert line.requests == [1, 1, 1, 1] and line.errors["5xx"] == [1, 1, 1, 1] and line.errors["4xx"] == [0] * 4
    assert (line.p50, line.p99) == ([None] * 4, [None] * 4)
    assert (line.totals.requests, line.totals.failures, line.totals.errors_4xx, line.totals.p99_ms) == (4, 4, 0, None)
