"""Rollouts: what a rollout may ask for (one test per rule), and the decision at the end of a bake."""
import pytest

from chalicelib.errors import InvalidInput
from chalicelib.metrics.reader import WindowStats
from chalicelib.rollouts.rules import DEFAULT_MIN_REQUESTS, Plan, check_plan, decide

PLAN = Plan(steps=(5, 25, 50, 100), bake_seconds=600, max_error_rate=0.01, max_p99_ratio=1.2, min_requests=100)


def stats(requests: int, failures: int = 0, p99: float | None = 40.0) -> WindowStats:
    return WindowStats(requests=requests, failures=failures, errors_4xx=0, throttles=0, cold_loads=0,
                       p50_ms=p99 / 2 if p99 else None, p99_ms=p99, errors_5xx=failures)


def refused_rule(**changes) -> str:
    with pytest.raises(InvalidInput) as refused:
        check_plan(Plan(**{**vars(PLAN), **changes}))
    assert f"(rule {refused.value.details['rule']})" in refused.value.message
    return refused.value.details["rule"]


def test_a_plan_within_every_rule_is_accepted_as_it_is():
    assert check_plan(PLAN) == PLAN
    assert Plan((50, 100), 600, 0.01, 1.2).min_requests == DEFAULT_MIN_REQUESTS


@pytest.mark.parametrize("steps", [(5, 5, 100), (50, 25, 100)])
def test_steps_that_do_not_strictly_increase_are_refused(steps):
    assert refused_rule(steps=steps) == "rollout.steps"


@pytest.mark.parametrize("steps", [(0, 50, 100), (50, 101), (-5, 100)])
def test_a_step_outside_0_to_100_is_refused(steps):
    assert refused_rule(steps=steps) == "rollout.steps"


def test_steps_that_do_not_end_at_100_are_refused():
    assert refused_rule(steps=(5, 25, 50)) == "rollout.steps"


def test_a_single_step_of_100_is_refused_since_nothing_would_judge_the_candidate():
    assert refused_rule(steps=(100,)) == "rollout.steps"


def test_more_than_ten_steps_are_refused():
    assert refused_rule(steps=tuple(range(1, 12)) + (100,)) == "rollout.steps"


@pytest.mark.parametrize("bake", [4, 24 * 3600 + 1])
def test_a_bake_too_short_or_too_long_is_refused(bake):
    assert refused_rule(bake_seconds=bake) == "rollout.bake"


@pytest.mark.parametrize("rate", [-0.1, 1.0, 2])
def test_a_max_error_rate_outside_0_to_1_is_refused(rate):
    assert refused_rule(max_error_rate=rate) == "rollout.max_error_rate"


@pytest.mark.parametrize("ratio", [0.9, 10.5])
def test_a_max_p99_ratio_outside_1_to_10_is_refused(ratio):
    assert refused_rule(max_p99_ratio=ratio) == "rollout.max_p99_ratio"


def test_min_requests_of_zero_is_refused():
    assert refused_rule(min_requests=0) == "rollout.min_requests"


def test_a_healthy_candidate_with_enough_calls_passes():
    decision = decide(stats(200, failures=1, p99=45.0), stats(2000, failures=2, p99=40.0), PLAN)
    assert decision.verdict == "pass" and "200 calls" in decision.reason


def test_a_failure_rate_over_the_maximum_is_a_breach_naming_both_numbers():
    decision = decide(stats(200, failures=5), stats(2000), PLAN)
    assert decision.verdict == "breach"
    assert "0.0250" in decision.reason and "5 of 200" in decision.reason and "0.01" in decision.reason


def test_too_few_candidate_calls_keep_baking_and_never_pass():
    decision = decide(stats(99), stats(2000), PLAN)
    assert decision.verdict == "wait" and "99 candidate calls of the 100" in decision.reason


def test_failures_that_exceed_the_maximum_even_over_min_requests_breach_before_min_requests():
    # 2 failures in 10 calls: even if the next 90 succeed, 2 of 100 is over 1 %
    assert decide(stats(10, failures=2), stats(2000), PLAN).verdict == "breach"
    # 1 failure in 10 calls: 1 of 100 is not over 1 %, so it waits for more calls
    assert decide(stats(10, failures=1), stats(2000), PLAN).verdict == "wait"


def test_a_p99_over_the_ratio_times_the_incumbents_is_a_breach():
    decision = decide(stats(200, p99=49.0), stats(2000, p99=40.0), PLAN)
    assert decision.verdict == "breach" and "p99 49.0 ms > 1.2 x" in decision.reason
    assert decide(stats(200, p99=47.9), stats(2000, p99=40.0), PLAN).verdict == "pass"


def test_the_p99_is_not_compared_when_the_incumbent_has_too_few_calls():
    assert decide(stats(200, p99=400.0), stats(50, p99=40.0), PLAN).verdict == "pass"


def test_no_latency_recorded_is_no_breach_of_the_p99_ratio():
    assert decide(stats(200, p99=None), stats(2000, p99=40.0), PLAN).verdict == "pass"
