"""Per-call metrics of an AliasClient, under the names every reader uses (registry metrics/names.py).

SageMaker publishes no per-model metrics for a multi-model endpoint; the client sees every call by alias, so
it records each one: its Alias, Model and Version, its latency (the wall time of the caller's call, the
client's not-ready retries and the body's read included), its outcome (`outcome_of`), and whether it looked
like a cold load:
  - it met ModelNotReadyException before it got its answer (the endpoint said it was loading the model), or
  - it is this client's first answered call to that target and it took at least COLD_FACTOR times the median
    of the next WARM_SAMPLES answered calls to it (a first call pays the load, later ones do not). It is
    judged, and counted in ColdLoads, when those calls have completed; a client that closes before that
    never judges it.

Where the metrics go:
  - CloudWatch (CloudWatchPublisher): calls are summed in memory per (alias, model, version, minute) and a
    daemon thread sends them with PutMetricData every `flush_seconds`, at close() and at interpreter exit;
    never on the caller's path. Counts are one datum each (the minute's sum, zeros included, so a reader can
    tell "no errors" from "no data"); Latency goes as Values/Counts (rounded to 3 significant digits), so
    CloudWatch computes percentiles. Memory is bounded: past MAX_SERIES groups a call is dropped and
    counted in `dropped`. A failing CloudWatch loses that batch, is logged once, and never reaches a caller.
  - Inside Lambda (EmfWriter): one CloudWatch Embedded Metric Format line per call on stdout, which Lambda's
    log agent turns into the same metrics; written at once, because a Lambda environment is frozen between
    invocations and may end without running atexit, so a buffer would lose the last calls.
"""
from __future__ import annotations

import atexit
import json
import logging
import statistics
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Callable, NamedTuple

from botocore.exceptions import ClientError

from .registry_code import metric_names as names

log = logging.getLogger(__name__)

MAX_DATUMS = 1000  # PutMetricData: metrics per call
MAX_VALUES = 150  # PutMetricData: Values per datum
MAX_BYTES = 1_000_000  # PutMetricData: bytes per request
MAX_SERIES = 10_000  # (alias, model, version, minute) groups held between flushes
MAX_EMF_VALUES = 100  # EMF: values of one metric in one document
COLD_FACTOR = 4.0
WARM_SAMPLES = 5
THROTTLED = ("ThrottlingException", "Throttling", "TooManyRequestsException")


class Dims(NamedTuple):
    alias: str
    model: str
    version: str  # the version number as a decimal string, as names.VERSION says


def outcome_of(error: BaseException | None) -> str:
    """One of names.OUTCOMES for a call that ended with `error` (None: answered), as names.py defines them.

    SageMaker's ModelError is HTTP 424 and carries the container's own status as OriginalStatusCode; a
    ModelError without one is the model failing (5xx). Any other failure is classed by its HTTP status;
    one with no status (a connection or a timeout) is the service failing.
    """
    if error is None:
        return "ok"
    if not isinstance(error, ClientError):
        return "5xx"
    response = error.response
    return outcome_for(response.get("Error", {}).get("Code", ""),
                       response.get("ResponseMetadata", {}).get("HTTPStatusCode"), response.get("OriginalStatusCode"))


def outcome_for(code: str, status: int | None, original_status: int | str | None = None) -> str:
    """The outcome of a failed InvokeEndpoint by its error code, HTTP status and ModelError's OriginalStatusCode."""
    if code == "ModelNotReadyException":
        return "not_ready"
    if code in THROTTLED:
        return "throttled"
    if original_status is None and code == "ModelError":
        return "5xx"
    try:
        return "4xx" if 400 <= int(original_status if original_status is not None else status) < 500 else "5xx"
    except (TypeError, ValueError):
        return "5xx"


def call_counts(outcome: str, cold: bool = False) -> dict[str, int]:
    """The count metrics one call adds: Requests, its outcome's error metric (0 for the others), ColdLoads."""
    counts = {names.REQUESTS: 1, names.COLD_LOADS: int(cold)}
    counts.update({metric: int(outcome == failed) for failed, metric in names.OUTCOME_METRIC.items()})
    return counts


def rounded(latency_ms: float) -> float:
    """3 significant digits: at most 900 distinct values a decade, within 0.5 % of the measured one."""
    return float(f"{latency_ms:.3g}")


class _Series:
    __slots__ = ("counts", "latencies")

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.latencies: dict[float, int] = {}


class Aggregator:
    """Sums per (dims, minute) what calls add, and turns the sums into PutMetricData datums."""

    def __init__(self, max_series: int = MAX_SERIES):
        self._series: dict[tuple[Dims, int], _Series] = {}
        self._max_series = max_series
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._series)

    def add(self, dims: Dims, minute: int, counts: dict[str, int], latency_ms: float | None = None) -> bool:
        series = self._series.get((dims, minute))
        if series is None:
            if len(self._series) >= self._max_series:
                self.dropped += 1
                return False
            series = self._series[(dims, minute)] = _Series()
        for metric, count in counts.items():
            series.counts[metric] = series.counts.get(metric, 0) + count
        if latency_ms is not None:
            value = rounded(latency_ms)
            series.latencies[value] = series.latencies.get(value, 0) + 1
        return True

    def drain(self) -> list[dict]:
        """Every datum held (PutMetricData's MetricData entries), and nothing held afterwards."""
        held, self._series = self._series, {}
        datums = []
        for (dims, minute), series in held.items():
            common = {"Dimensions": [{"Name": name, "Value": value} for name, value in zip(names.DIMENSIONS, dims)],
                      "Timestamp": datetime.fromtimestamp(minute * 60, tz=timezone.utc)}
            datums += [{"MetricName": metric, **common, "Value": float(count), "Unit": "Count"}
                       for metric, count in series.counts.items()]
            values = sorted(series.latencies)
            for start in range(0, len(values), MAX_VALUES):
                chunk = values[start:start + MAX_VALUES]
                datums.append({"MetricName": names.LATENCY, **common, "Unit": "Milliseconds", "Values": chunk,
                               "Counts": [float(series.latencies[v]) for v in chunk]})
        return datums


def datum_bytes(datum: dict) -> int:
    """A generous estimate of a datum's size on the wire (the query protocol's member names are the longest)."""
    dimensions = sum(60 + len(d["Name"]) + len(d["Value"]) for d in datum["Dimensions"])
    return 200 + len(datum["MetricName"]) + dimensions + 90 * len(datum.get("Values", ()))


def batches(datums: list[dict], max_datums: int = MAX_DATUMS, max_bytes: int = MAX_BYTES) -> list[list[dict]]:
    """The datums in PutMetricData calls: at most `max_datums` each and `max_bytes` by datum_bytes' estimate."""
    calls: list[list[dict]] = []
    size = 0
    for datum in datums:
        needed = datum_bytes(datum)
        if not calls or len(calls[-1]) >= max_datums or size + needed > max_bytes:
            calls.append([])
            size = 0
        calls[-1].append(datum)
        size += needed
    return calls


class CloudWatchPublisher:
    """Sums calls in memory and sends them with PutMetricData from a daemon thread."""

    def __init__(self, cloudwatch: Callable[[], object], flush_seconds: float = 10.0,
                 clock: Callable[[], float] = time.time, max_series: int = MAX_SERIES):
        """`cloudwatch()` builds the boto3 client, called on the publishing thread at its first flush."""
        self._make_client = cloudwatch
        self._client = None
        self._flush_seconds = flush_seconds
        self._clock = clock
        self._aggregator = Aggregator(max_series)
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False
        self.sent = 0  # datums CloudWatch accepted
        self.lost = 0  # datums in calls CloudWatch refused or never answered

    @property
    def dropped(self) -> int:
        """Calls not kept because MAX_SERIES groups were already waiting for a flush."""
        return self._aggregator.dropped

    def record(self, dims: Dims, counts: dict[str, int], latency_ms: float | None = None) -> None:
        minute = int(self._clock() // 60)
        with self._lock:
            self._aggregator.add(dims, minute, counts, latency_ms)
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="mme-metrics", daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def flush(self) -> None:
        """Sends everything held now (the thread does it every `flush_seconds`)."""
        with self._lock:
            datums = self._aggregator.drain()
        with self._send_lock:
            for call in batches(datums):
                self._send(call)

    def close(self, timeout: float = 10.0) -> None:
        """Stops the thread and sends what is left; safe to call twice."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        atexit.unregister(self.close)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            self.flush()

    def _send(self, call: list[dict]) -> None:
        try:
            if self._client is None:
                self._client = self._make_client()
            self._client.put_metric_data(Namespace=names.NAMESPACE, MetricData=call)
            self.sent += len(call)
        except Exception as error:  # noqa: BLE001 - nothing CloudWatch does may reach a caller
            self.lost += len(call)
            if not self._warned:
                self._warned = True
                log.warning("per-model metrics are not reaching CloudWatch (%s); calls go on, metrics are lost "
                            "(logged once)", error)


def emf_document(dims: Dims, counts: dict[str, int], latencies_ms: list[float], timestamp_ms: int) -> dict:
    """One CloudWatch Embedded Metric Format document: the `_aws` metadata, the dimension values and the metrics."""
    metrics = [{"Name": metric, "Unit": "Count"} for metric in counts]
    document: dict = {"_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": [
        {"Namespace": names.NAMESPACE, "Dimensions": [list(names.DIMENSIONS)], "Metrics": metrics}]}}
    document.update(zip(names.DIMENSIONS, dims))
    document.update(counts)
    if latencies_ms:
        metrics.append({"Name": names.LATENCY, "Unit": "Milliseconds"})
        document[names.LATENCY] = latencies_ms[0] if len(latencies_ms) == 1 else latencies_ms[:MAX_EMF_VALUES]
    return document


class EmfWriter:
    """Inside Lambda: one EMF line per call on stdout, which Lambda's log agent publishes."""

    def __init__(self, stream=None, clock: Callable[[], float] = time.time):
        self._stream = stream
        self._clock = clock
        self._lock = threading.Lock()
        self.dropped = 0

    def record(self, dims: Dims, counts: dict[str, int], latency_ms: float | None = None) -> None:
        document = emf_document(dims, counts, [] if latency_ms is None else [round(latency_ms, 3)],
                                int(self._clock() * 1000))
        line = json.dumps(document, separators=(",", ":")) + "\n"
        with self._lock:
            (self._stream or sys.stdout).write(line)

    def flush(self) -> None:
        (self._stream or sys.stdout).flush()

    def close(self, timeout: float = 0.0) -> None:
        self.flush()


class ColdLoadJudge:
    """Holds each target's first answered latency until WARM_SAMPLES later answers give its warm median."""

    def __init__(self, factor: float = COLD_FACTOR, samples: int = WARM_SAMPLES, max_targets: int = 10_000):
        self._factor = factor
        self._samples = samples
        self._max_targets = max_targets
        self._pending: dict[str, tuple[Dims, float, list[float]]] = {}
        self._judged: set[str] = set()
        self._lock = threading.Lock()

    def answered(self, target: str, dims: Dims, latency_ms: float) -> Dims | None:
        """Notes an answered call; returns the dims of `target`'s first call when it is judged cold now."""
        with self._lock:
            if target in self._judged:
                return None
            pending = self._pending.get(target)
            if pending is None:
                if len(self._pending) < self._max_targets:
                    self._pending[target] = (dims, latency_ms, [])
                return None
            first_dims, first, later = pending
            later.append(latency_ms)
            if len(later) < self._samples:
                return None
            del self._pending[target]
            if len(self._judged) < self._max_targets:
                self._judged.add(target)
            return first_dims if first >= self._factor * statistics.median(later) else None

    def loaded(self, target: str) -> None:
        """The target's load was seen for sure (ModelNotReady met): its first call is not judged again."""
        with self._lock:
            self._pending.pop(target, None)
            if len(self._judged) < self._max_targets:
                self._judged.add(target)
