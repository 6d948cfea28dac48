"""An alias's per-model metrics over the last minutes: every version it served in the window, read in one go.

The versions are the alias's current targets and those its history shows it pointing at within the window
(the state before the window's first change included), so a version the alias left ten minutes ago still
shows the errors that made someone move it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from ..metrics.reader import MetricsReader, Series, choose_period, window_bounds
from ..records import utcnow
from .aliases import Aliases

MIN_MINUTES, MAX_MINUTES, DEFAULT_MINUTES = 5, 1440, 60
HISTORY_PAGE = 100
MAX_VERSIONS = 30  # read in one GetMetricData call (TARGETS_PER_CALL): the current targets, then the newest others


@dataclass(frozen=True)
class AliasMetrics:
    alias: str
    minutes: int
    period: int
    start: datetime
    end: datetime
    current: list[tuple[str, int]]  # the alias's targets now
    series: list[Series]  # one per version served in the window, the current targets first


class AliasMetricsReport:
    def __init__(self, aliases: Aliases, reader: MetricsReader, clock: Callable[[], datetime] = utcnow):
        self._aliases = aliases
        self._reader = reader
        self._clock = clock

    def report(self, alias: str, minutes: int = DEFAULT_MINUTES) -> AliasMetrics:
        record = self._aliases.get(alias)  # NotFound for an alias that does not exist
        period = choose_period(minutes)
        start, end = window_bounds(self._clock(), minutes, period)
        current = [(t.model, t.version) for t in record.targets]
        served = list(dict.fromkeys(current + self._served_since(alias, start)))[:MAX_VERSIONS]
        return AliasMetrics(alias, minutes, period, start, end, current,
                            self._reader.series(alias, served, start, end, period))

    def _served_since(self, alias: str, start: datetime) -> list[tuple[str, int]]:
        """Targets after every change at or after `start`, newest first, and of the state the window began in."""
        served: list[tuple[str, int]] = []
        token = None
        while True:
            changes, token = self._aliases.history(alias, HISTORY_PAGE, token)
            for change in changes:
                served += [(t.model, t.version) for t in (change.after.targets if change.after else [])]
                if change.at < start:  # the last change before the window: its `after` is where the window began
                    return served
            if not token:
                return served
