"""What a rollout may ask for, and the decision at the end of each bake: pure functions over plain data.

Each rule raises InvalidInput (422) naming itself (`rollout.<rule>`), before anything is written.
The decision reads two windows of per-model metrics (the candidate's and the incumbent's, over the
step's bake) and answers pass, breach or wait; it never promotes on fewer than `min_requests` calls.
"""
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ..errors import InvalidInput

MAX_STEPS = 10
MIN_BAKE_SECONDS = 5  # locally a bake of seconds; in AWS the advancer runs once a minute, so a bake is >= 1 minute
MAX_BAKE_SECONDS = 24 * 3600
MAX_P99_RATIO = 10.0
MAX_MIN_REQUESTS = 1_000_000
DEFAULT_MIN_REQUESTS = 100  # a failure rate of 1 % is one failure in a hundred calls: fewer says nothing


@dataclass(frozen=True)
class Plan:
    """The steps (candidate's percent of the traffic) and the thresholds a rollout is held to."""

    steps: tuple[int, ...]
    bake_seconds: int
    max_error_rate: float
    max_p99_ratio: float
    min_requests: int = DEFAULT_MIN_REQUESTS


def _refuse(rule: str, message: str, **details: Any) -> InvalidInput:
    return InvalidInput(f"{message} (rule rollout.{rule})", {"rule": f"rollout.{rule}", **details})


def check_plan(plan: Plan) -> Plan:
    """Raises InvalidInput naming the first rule `plan` breaks; answers it unchanged."""
    steps = list(plan.steps)
    if not 1 <= len(steps) <= MAX_STEPS:
        raise _refuse("steps", f"a rollout has 1 to {MAX_STEPS} steps, not {len(steps)}", steps=steps)
    if any(not 0 < step <= 100 for step in steps):
        raise _refuse("steps", "each step is a percent of the traffic in (0, 100]", steps=steps)
    if any(later <= earlier for earlier, later in zip(steps, steps[1:])):
        raise _refuse("steps", "steps must be strictly increasing", steps=steps)
    if steps[-1] != 100:
        raise _refuse("steps", "the last step must be 100 (the candidate alone: promoted)", steps=steps)
    if len(steps) < 2:
        raise _refuse("steps", "a rollout needs at least one step below 100 to judge the candidate on; to move "
                      "the alias at once, PUT it", steps=steps)
    if not MIN_BAKE_SECONDS <= plan.bake_seconds <= MAX_BAKE_SECONDS:
        raise _refuse("bake", f"bake must be {MIN_BAKE_SECONDS} s to {MAX_BAKE_SECONDS // 3600} h, not "
                      f"{plan.bake_seconds} s", bake_seconds=plan.bake_seconds)
    if not 0 <= plan.max_error_rate < 1:
        raise _refuse("max_error_rate", f"max_error_rate is a fraction in [0, 1), not {plan.max_error_rate}",
                      max_error_rate=plan.max_error_rate)
    if not 1 <= plan.max_p99_ratio <= MAX_P99_RATIO:
        raise _refuse("max_p99_ratio", f"max_p99_ratio must be 1 to {MAX_P99_RATIO:g}, not {plan.max_p99_ratio}",
                      max_p99_ratio=plan.max_p99_ratio)
    if not 1 <= plan.min_requests <= MAX_MIN_REQUESTS:
        raise _refuse("min_requests", f"min_requests must be 1 to {MAX_MIN_REQUESTS:,}, not {plan.min_requests}",
                      min_requests=plan.min_requests)
    return plan


class Window(Protocol):
    """One model's calls over a window (metrics/reader.py WindowStats has this shape)."""

    requests: int
    failures: int
    p99_ms: float | None


Verdict = Literal["pass", "breach", "wait"]


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str


def decide(candidate: Window, incumbent: Window, plan: Plan) -> Decision:
    """The end of a bake: breach (roll back), pass (next step) or wait (too few calls to say yet).

    A failure-rate breach needs no more calls once the failures alone exceed the threshold over
    min_requests: more successes could not bring the rate under it.
    """
    if candidate.failures / max(candidate.requests, plan.min_requests) > plan.max_error_rate:
        return Decision("breach", f"failure rate {_rate(candidate)} ({candidate.failures} of {candidate.requests} "
                        f"calls) > max {plan.max_error_rate:g}")
    if candidate.requests < plan.min_requests:
        return Decision("wait", f"{candidate.requests} candidate calls of the {plan.min_requests} needed; "
                        "baking on")
    if (incumbent.requests >= plan.min_requests and candidate.p99_ms is not None and incumbent.p99_ms
            and candidate.p99_ms > plan.max_p99_ratio * incumbent.p99_ms):
        return Decision("breach", f"p99 {candidate.p99_ms:.1f} ms > {plan.max_p99_ratio:g} x the incumbent's "
                        f"{incumbent.p99_ms:.1f} ms")
    return Decision("pass", f"failure rate {_rate(candidate)} over {candidate.requests} calls, p99 "
                    f"{_ms(candidate.p99_ms)} (incumbent {_ms(incumbent.p99_ms)} over {incumbent.requests})")


def _rate(stats: Window) -> str:
    return f"{stats.failures / stats.requests:.4f}" if stats.requests else "n/a"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"

