"""The publisher's verdict on a finished deployment, and the rollout policy it asks SageMaker for."""
from __future__ import annotations

import pytest

from publisher.outcome import NO_REASON, DeployFailed, check_outcome
from publisher.plan import Desired, EndpointState, desired_from
from publisher.rollout import Rollout
from test_publisher_plan import settings

REASON = "The primary container did not pass the ping health check."


@pytest.fixture
def desired() -> Desired:
    return desired_from(settings())


def test_inservice_on_the_planned_config_is_success(desired):
    assert check_outcome(desired, EndpointState(desired.config_name, "InService")) is None


def test_inservice_on_another_config_is_a_rolled_back_update_with_its_reason(desired):
    with pytest.raises(DeployFailed) as failed:
        check_outcome(desired, EndpointState("old-config", "InService", REASON))
    message = str(failed.value)
    assert "rolled back" in message and REASON in message
    assert "old-config" in message and desired.config_name in message
    assert "deploy again" in message


def test_failed_gives_the_reason_and_the_delete_command(desired):
    with pytest.raises(DeployFailed, match="delete-endpoint") as failed:
        check_outcome(desired, EndpointState(desired.config_name, "Failed", REASON))
    assert REASON in str(failed.value)


def test_a_rollback_that_failed_too_is_a_failure_that_names_the_status(desired):
    with pytest.raises(DeployFailed, match="UpdateRollbackFailed"):
        check_outcome(desired, EndpointState(desired.config_name, "UpdateRollbackFailed", REASON))


def test_a_failure_without_a_reason_says_sagemaker_gave_none(desired):
    with pytest.raises(DeployFailed, match=NO_REASON):
        check_outcome(desired, EndpointState("old-config", "InService"))


def test_without_alarms_the_rollout_is_blue_green_all_at_once_with_no_bake():
    assert Rollout(bake_seconds=600).document() == {
        "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}}
    }


def test_alarms_roll_back_an_update_during_the_bake():
    document = Rollout(alarms=("a", "b"), bake_seconds=300).document()
    assert document["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["WaitIntervalInSeconds"] == 300
    assert document["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": "a"}, {"AlarmName": "b"}]}


def test_the_rollout_comes_from_the_settings():
    rollout = Rollout.from_settings(settings(rollback_alarms=["mme-5xx"], bake_seconds=120))
    assert rollout == Rollout(alarms=("mme-5xx",), bake_seconds=120)
    assert "mme-5xx" in rollout.describe() and "120 s" in rollout.describe()
