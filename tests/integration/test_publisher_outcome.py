"""`publisher deploy` tells the truth: a rolled-back or failed deployment exits 1 with SageMaker's
FailureReason, and an update carries its rollback policy.

moto never fails a deployment: `SageMakerPlays` plays SageMaker's part on moto's backend.
"""
from __future__ import annotations

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from conftest_publisher import ENDPOINT, deploy, sagemaker  # noqa: F401 (a fixture)

BAD_FLEET = "The primary container for production variant AllTraffic did not pass the ping health check."


class SageMakerPlays:
    """What SageMaker does after `operation` when the new fleet never becomes healthy: the endpoint
    passes through `statuses`, one per DescribeEndpoint, and ends with a FailureReason; with
    `roll_back` it ends on the config it had before. Register it before the publisher makes its
    clients (a client copies the session's event handlers when it is made)."""

    def __init__(self, session, operation: str, statuses: list[str], roll_back: bool):
        self._statuses, self._roll_back = statuses, roll_back
        self._left: list[str] = []
        self.previous_config = None
        session.events.register(f"before-call.sagemaker.{operation}", self._remember)
        session.events.register(f"after-call.sagemaker.{operation}", self._start)
        session.events.register("before-call.sagemaker.DescribeEndpoint", self._advance)

    @staticmethod
    def _endpoints():
        return sagemaker_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].endpoints

    def _remember(self, **_):
        current = self._endpoints().get(ENDPOINT)
        self.previous_config = current.endpoint_config_name if current else None

    def _start(self, **_):
        self._left = list(self._statuses)
        self._advance()

    def _advance(self, **_):
        if not self._left:
            return
        endpoint = self._endpoints()[ENDPOINT]
        endpoint.endpoint_status = self._left.pop(0)
        if not self._left:
            endpoint.failure_reason = BAD_FLEET
            if self._roll_back:
                endpoint.endpoint_config_name = self.previous_config


@pytest.fixture
def session(sagemaker):
    import publisher.cli

    return publisher.cli.boto3.Session()


def test_an_update_sagemaker_rolled_back_exits_1_with_the_failure_reason(sagemaker, session, capsys):
    # GIVEN an endpoint on image 1, and a SageMaker that rolls the next update back
    client, _ = sagemaker
    plays = SageMakerPlays(session, "UpdateEndpoint", ["Updating", "RollingBack", "InService"], roll_back=True)
    assert deploy("--image", "registry/mme:1") == 0
    original = client.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    capsys.readouterr()

    # WHEN image 2 is deployed
    code = deploy("--image", "registry/mme:2")

    # THEN the run fails and says why, though the endpoint is InService (on the old config)
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    endpoint = client.describe_endpoint(EndpointName=ENDPOINT)
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == ("InService", original)
    assert plays.previous_config == original
    assert code == 1
    assert "rolled back" in out and BAD_FLEET in out and original in out
    assert "is InService with config" not in out


def test_an_endpoint_that_ends_failed_exits_1_with_the_reason_and_what_to_do(sagemaker, session, capsys):
    SageMakerPlays(session, "CreateEndpoint", ["Creating", "Failed"], roll_back=False)

    assert deploy("--image", "registry/mme:1") == 1

    out = " ".join(capsys.readouterr().out.split())
    assert "is Failed" in out and BAD_FLEET in out
    assert f"aws sagemaker delete-endpoint --endpoint-name {ENDPOINT}" in out


def test_an_update_without_alarms_asks_for_blue_green_all_at_once(sagemaker):
    client, _ = sagemaker
    deploy("--image", "registry/mme:1")

    assert deploy("--image", "registry/mme:2") == 0

    assert client.describe_endpoint(EndpointName=ENDPOINT)["LastDeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}}
    }


def test_an_update_with_alarms_rolls_back_on_them_during_the_bake(sagemaker, capsys):
    client, _ = sagemaker
    deploy("--image", "registry/mme:1")

    alarms = ("--rollback-alarm", "mme-5xx", "--rollback-alarm", "mme-latency", "--bake-seconds", "300")
    assert deploy("--image", "registry/mme:2", *alarms) == 0

    config = client.describe_endpoint(EndpointName=ENDPOINT)["LastDeploymentConfig"]
    assert config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"] == {
        "Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300}
    assert config["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": "mme-5xx"}, {"AlarmName": "mme-latency"}]}
    assert "mme-5xx, mme-latency" in " ".join(capsys.readouterr().out.split())
