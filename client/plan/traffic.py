"""Where the simulator's requests come from: a seeded Zipf-skewed Poisson stream, or a trace CSV.

A Zipf popularity (the model of rank k gets weight 1/k^s) is how request counts over many models are
usually shaped: a few hot models, a long tail. Arrivals are Poisson (exponential gaps) at the given rate.
The same seed gives the same trace, so two plans compare configurations, not random draws.
"""
from __future__ import annotations

import csv
import itertools
import math
import random
import re
from datetime import datetime
from pathlib import Path

from .errors import PlanInputError
from .simulator import Trace

TARGET_COLUMNS = ("target_model", "alias")
RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute|h|hour))?\s*$")
PER_SECOND = {None: 1, "s": 1, "sec": 1, "second": 1, "m": 1 / 60, "min": 1 / 60, "minute": 1 / 60,
              "h": 1 / 3600, "hour": 1 / 3600}


class TraceError(PlanInputError):
    """A trace or traffic description that cannot be used; `rule` names what it breaks."""


def parse_rate(text: str) -> float:
    """'200/s', '12000/min', '5' (per second) → requests per second."""
    match = RATE.match(text)
    if not match or float(match.group(1)) <= 0:
        raise TraceError("traffic.rate", f"{text!r} is not a rate such as 200/s, 12000/min or 5")
    return float(match.group(1)) * PER_SECOND[match.group(2)]


def zipf_weights(count: int, skew: float) -> list[float]:
    """The weight of rank 1..count under Zipf(skew); skew 0 is uniform."""
    if count < 1:
        raise TraceError("traffic.models", "the traffic needs at least one model")
    if skew < 0:
        raise TraceError("traffic.zipf", f"the Zipf skew must be 0 or more, not {skew}")
    return [1.0 / (rank ** skew) for rank in range(1, count + 1)]


def zipf_trace(models: int, rate: float, skew: float, requests: int, seed: int = 1,
               extra_rates: dict[int, float] | None = None) -> Trace:
    """`requests` Poisson arrivals at `rate`/s over `models` models whose popularity follows Zipf(`skew`),
    the ranks dealt to models in a seeded random order; `extra_rates` adds a model's own rate (an alias
    given its rate) on top, as a superposed Poisson stream."""
    if requests < 1:
        raise TraceError("traffic.requests", "a trace needs at least one request")
    chance = random.Random(seed)
    order = list(range(models))
    chance.shuffle(order)
    weights = [0.0] * models
    for rank_weight, model in zip(zipf_weights(models, skew), order):
        weights[model] = rank_weight
    total = sum(weights)
    weights = [rate * weight / total for weight in weights]
    for model, extra in (extra_rates or {}).items():
        weights[model] += extra
    overall = sum(weights)
    picks = chance.choices(range(models), cum_weights=list(itertools.accumulate(weights)), k=requests)
    gap = chance.expovariate
    times = list(itertools.accumulate(gap(overall) for _ in range(requests)))
    return Trace(times, picks)


def read_trace(path: Path, index: dict[str, int], aliases: dict[str, str]) -> Trace:
    """A CSV with a header `time,target_model` or `time,alias`: seconds from any origin (or ISO 8601 times),
    in order. `index` maps TargetModels to the catalog's model indexes, `aliases` aliases to TargetModels."""
    try:
        handle = open(path, newline="")
    except OSError as error:
        raise TraceError("trace.unreadable", f"{path}: {error.strerror}") from error
    with handle:
        reader = csv.reader(handle)
        header = [cell.strip() for cell in next(reader, [])]
        if len(header) < 2 or header[0] != "time" or header[1] not in TARGET_COLUMNS:
            raise TraceError("trace.header", f"{path}: the first line must be 'time,target_model' or 'time,alias', "
                             f"not {','.join(header)!r}")
        by_alias = header[1] == "alias"
        times, models = [], []
        for line, row in enumerate(reader, start=2):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise TraceError("trace.columns", f"{path}:{line}: expected a time and a {header[1]}")
            at = _time(row[0].strip(), path, line)
            if times and at < times[-1]:
                raise TraceError("trace.order", f"{path}:{line}: time {row[0].strip()} is before the line above's; "
                                 "sort the trace by time")
            name = row[1].strip()
            target = aliases.get(name) if by_alias else name
            if target is None or target not in index:
                what = "alias" if by_alias else "TargetModel"
                raise TraceError("trace.unknown", f"{path}:{line}: {what} {name!r} is not in the model catalog")
            times.append(at)
            models.append(index[target])
    if not times:
        raise TraceError("trace.empty", f"{path}: the trace has no requests")
    origin = times[0]
    return Trace([at - origin for at in times], models)


def _time(text: str, path: Path, line: int) -> float:
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds):
            return seconds
        raise TraceError("trace.time", f"{path}:{line}: {text!r} is not a finite number of seconds")
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise TraceError("trace.time", f"{path}:{line}: {text!r} is neither seconds nor an ISO 8601 time") from None
