"""The planner predicts the local gateway: the same trace through real MMS behind the gateway and through the
simulator as one instance with the gateway's memory budget give the same hit rate and cold loads."""
from __future__ import annotations

import pytest

from client.plan.memory import budget_for
from local_stack.demo.agreement import agreement, model_tarballs, zipf_sequence

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mms")]


def test_the_plan_for_one_instance_with_the_gateways_budget_predicts_its_hits_and_cold_loads(tmp_path):
    # GIVEN a dozen real models of 30 kB to 30 MB, a Zipf trace over them, and a budget of about four models
    tarballs = model_tarballs(12)
    sequence = zipf_sequence(len(tarballs), requests=40, skew=1.1, seed=2)
    budget = budget_for(4, 10 * 10**6)

    # WHEN the trace is replayed through the gateway and simulated
    result = agreement(tmp_path, tarballs, sequence, budget)

    # THEN the prediction is within 5 points of the measured hit rate and 10 % of the measured cold loads
    assert result.measured_loads > 10, result.describe()  # the budget made the gateway unload and reload
    assert abs(result.hit_rate_points) <= 5, result.describe()
    assert abs(result.loads_error) <= 0.10, result.describe()
