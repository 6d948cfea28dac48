"""The publisher's verdict on a finished deployment."""
from __future__ import annotations

import pytest

from publisher.outcome import NO_REASON, DeployFailed, check_outcome
from publisher.plan import Desired, EndpointState, desired_from
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

