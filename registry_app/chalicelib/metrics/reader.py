"""Reads the per-model metrics (names.py) back from CloudWatch: window totals and series per target version.

Every answer comes from one GetMetricData call (up to MAX_QUERIES queries, pages followed by NextToken).
A window's p50 and p99 are CloudWatch's percentiles over the whole window (a query whose Period is the
window's length), never an average of per-period percentiles, which would be a different number.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from . import names

MAX_QUERIES = 500  # GetMetricData's limit per call
MAX_POINTS = 120  # a series has at most this many periods
PERIODS = (60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400)  # seconds
COUNTS = {  # the key a count is read under -> its metric
    "requests": names.REQUESTS, "4xx": names.ERRORS_4XX, "5xx": names.ERRORS_5XX,
    "throttled": names.THROTTLES, "not_ready": names.NOT_READY, "cold_loads": names.COLD_LOADS,
}
ERROR_KINDS = ("4xx", "5xx", "throttled", "not_ready")  # names.OUTCOME_METRIC's outcomes, in this order
PERCENTILES = ("p50", "p99")
TARGETS_PER_CALL = MAX_QUERIES // (2 * (len(COUNTS) + len(PERCENTILES)))  # window + series queries per target
_FAILURE_KINDS = tuple(kind for kind in ERROR_KINDS if COUNTS[kind] in names.FAILURE_METRICS)


@dataclass(frozen=True)
class WindowStats:
    """One target version's totals over a window; p50/p99 are None when no latency was recorded."""

    requests: int
    failures: int  # names.FAILURE_METRICS summed: the model's own failures, not the caller's bad input
    errors_4xx: int
    throttles: int
    cold_loads: int
    p50_ms: float | None
    p99_ms: float | None
    errors_5xx: int = 0
    not_ready: int = 0

    @property
    def failure_rate(self) -> float | None:
        return self.failures / self.requests if self.requests else None


@dataclass(frozen=True)
class Series:
    """One target version over a window: a value per period (counts 0 where nothing was recorded,
    percentiles None), and the window's totals."""

    model: str
    version: int
    timestamps: list[datetime]  # each period's start, oldest first
    requests: list[int]
    errors: dict[str, list[int]]  # ERROR_KINDS -> counts
    cold_loads: list[int]
    p50: list[float | None]
    p99: list[float | None]
    totals: WindowStats


def choose_period(minutes: int) -> int:
    """The shortest period CloudWatch keeps that gives a window of `minutes` at most MAX_POINTS points."""
    for period in PERIODS:
        if minutes * 60 <= period * MAX_POINTS:
            return period
    return PERIODS[-1]


def window_bounds(now: datetime, minutes: int, period: int) -> tuple[datetime, datetime]:
    """[start, end) covering the last `minutes` up to now's period included, on period boundaries (since the
    epoch, as CloudWatch aligns them), so every point is a whole period and the current one is shown."""
    stamp = int(now.timestamp())
    end = (stamp // period + 1) * period
    start = end - -(-minutes * 60 // period) * period
    return _utc(start), _utc(end)


def grid(start: datetime, end: datetime, period: int) -> list[datetime]:
    first = int(start.timestamp())
    return [_utc(t) for t in range(first, int(end.timestamp()), period)]


def on_grid(points: list[datetime], timestamps: list[datetime], values: list[float], fill=0.0) -> list:
    """CloudWatch's datapoints (any order, missing where nothing was recorded) placed on the period grid."""
    found = {int(t.timestamp()): v for t, v in zip(timestamps, values)}
    return [found.get(int(p.timestamp()), fill) for p in points]


class MetricsReader:
    def __init__(self, cloudwatch):
        self._cloudwatch = cloudwatch

    def window(self, alias: str, model: str, version: int, start: datetime, end: datetime) -> WindowStats:
        """Totals of one target version over [start, end) (whole minutes)."""
        queries = _queries("w", alias, model, version, _length(start, end))  # one period as long as the window
        return _stats(self._get(queries, start, end), "w")

    def series(self, alias: str, targets: list[tuple[str, int]], start: datetime, end: datetime,
               period: int) -> list[Series]:
        """Each (model, version) over [start, end) in `period`-second points, with its window totals: one
        GetMetricData call per TARGETS_PER_CALL targets."""
        length = _length(start, end)
        points = grid(start, end, period)
        answer = []
        for first in range(0, len(targets), TARGETS_PER_CALL):
            chunk = targets[first:first + TARGETS_PER_CALL]
            queries = []
            for i, (model, version) in enumerate(chunk):
                queries += _queries(f"w{i}", alias, model, version, length)
                queries += _queries(f"s{i}", alias, model, version, period)
            answer += self._shape(chunk, points, self._get(queries, start, end))
        return answer

    @staticmethod
    def _shape(targets: list[tuple[str, int]], points: list[datetime], found: dict) -> list[Series]:
        answer = []
        for i, (model, version) in enumerate(targets):
            def line(key: str, fill=0.0) -> list:
                return on_grid(points, *found.get(f"s{i}_{key}", ([], [])), fill=fill)
            answer.append(Series(
                model=model, version=version, timestamps=points,
                requests=[int(v) for v in line("requests")],
                errors={kind: [int(v) for v in line(kind)] for kind in ERROR_KINDS},
                cold_loads=[int(v) for v in line("cold_loads")],
                p50=line("p50", None), p99=line("p99", None),
                totals=_stats(found, f"w{i}"),
            ))
        return answer

    def _get(self, queries: list[dict], start: datetime, end: datetime) -> dict[str, tuple[list, list]]:
        """Every query's (timestamps, values), all pages of one GetMetricData call."""
        found: dict[str, tuple[list, list]] = {}
        token = None
        while True:
            extra = {"NextToken": token} if token else {}
            page = self._cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end,
                                                     ScanBy="TimestampAscending", **extra)
            for result in page.get("MetricDataResults", []):
                stamps, values = found.setdefault(result["Id"], ([], []))
                stamps += result.get("Timestamps", [])
                values += result.get("Values", [])
            token = page.get("NextToken")
            if not token:
                return found


def _query(query_id: str, alias: str, model: str, version: int, metric: str, stat: str, period: int) -> dict:
    dimensions = [{"Name": names.ALIAS, "Value": alias}, {"Name": names.MODEL, "Value": model},
                  {"Name": names.VERSION, "Value": str(version)}]
    return {"Id": query_id, "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": names.NAMESPACE, "MetricName": metric, "Dimensions": dimensions},
        "Period": period, "Stat": stat}}


def _queries(prefix: str, alias: str, model: str, version: int, period: int) -> list[dict]:
    counts = [_query(f"{prefix}_{key}", alias, model, version, metric, "Sum", period) for key, metric in COUNTS.items()]
    latency = [_query(f"{prefix}_{p}", alias, model, version, names.LATENCY, p, period) for p in PERCENTILES]
    return counts + latency


def _stats(found: dict[str, tuple[list, list]], prefix: str) -> WindowStats:
    def total(key: str) -> int:
        return int(sum(found.get(f"{prefix}_{key}", ([], []))[1]))

    def percentile(key: str) -> float | None:
        values = found.get(f"{prefix}_{key}", ([], []))[1]
        return float(values[0]) if values else None  # one period spans the window: at most one datapoint

    return WindowStats(requests=total("requests"), failures=sum(total(kind) for kind in _FAILURE_KINDS),
                       errors_4xx=total("4xx"), throttles=total("throttled"), cold_loads=total("cold_loads"),
                       p50_ms=percentile("p50"), p99_ms=percentile("p99"),
                       errors_5xx=total("5xx"), not_ready=total("not_ready"))


def _length(start: datetime, end: datetime) -> int:
    """The window as one CloudWatch period: whole minutes (CloudWatch takes 60 s multiples), at least one."""
    seconds = int((end - start).total_seconds())
    if seconds < 60 or seconds % 60:
        raise ValueError(f"a window is whole minutes; [{start}, {end}) is {seconds} s")
    return seconds


def _utc(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, tz=timezone.utc)

