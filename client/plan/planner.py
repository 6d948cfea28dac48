"""A plan: the simulation over instance types and counts, and the cheapest configuration meeting a p99 target."""
from __future__ import annotations

from dataclasses import dataclass

from .simulator import DEFAULT_DOWNLOAD_RATE, InstanceSpec, Model, Result, Trace, simulate


@dataclass(frozen=True)
class Plan:
    results: list[Result]
    target_p99: float
    recommended: Result | None

    def meets(self, result: Result) -> bool:
        return meets(result, self.target_p99)


def meets(result: Result, target_p99: float) -> bool:
    """A configuration qualifies when its p99 is within the target and every model fits an instance's memory."""
    return result.p99 <= target_p99 and result.too_large == 0


def cheapest(results: list[Result], target_p99: float) -> Result | None:
    """The lowest hourly price among those meeting the target; on a tie, the fewer instances, then the better p99."""
    meeting = [result for result in results if meets(result, target_p99)]
    return min(meeting, key=lambda r: (r.price_per_hour, r.count, r.p99), default=None)


def plan(specs: list[InstanceSpec], counts: list[int], models: list[Model], trace: Trace, target_p99: float,
         download_rate: float = DEFAULT_DOWNLOAD_RATE, every_count: bool = False, warm_up: float = 0.0) -> Plan:
    """Simulates every type at every count; unless `every_count` (a plot wants them), counts above the first that
    meets the target for a type are skipped: more instances of that type only cost more."""
    results = []
    for spec in specs:
        for count in sorted(counts):
            result = simulate(spec, count, models, trace, download_rate, warm_up)
            results.append(result)
            if meets(result, target_p99) and not every_count:
                break
    return Plan(results, target_p99, cheapest(results, target_p99))
