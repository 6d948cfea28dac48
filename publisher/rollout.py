"""How an endpoint update rolls out and rolls back: the UpdateEndpoint DeploymentConfig.

Blue/green with all-at-once traffic shifting: SageMaker starts a new fleet on the new
EndpointConfig, moves all traffic once it is healthy, and keeps the old fleet until the
update is done, so a new fleet that never becomes healthy leaves the old one serving
(the endpoint returns to InService on the old config, with a FailureReason). With
CloudWatch alarms, an alarm firing during the bake after the shift also rolls back.
Canary and linear shifting would need more than one instance per variant; MMEs here run
whatever count the settings give, so all-at-once is the one policy valid for every size.
"""
from __future__ import annotations

from dataclasses import dataclass

ALL_AT_ONCE = "ALL_AT_ONCE"


@dataclass(frozen=True)
class Rollout:
    alarms: tuple[str, ...] = ()
    bake_seconds: int = 600  # alarms are watched this long after the shift; unused without alarms

    @classmethod
    def from_settings(cls, settings) -> "Rollout":
        return cls(tuple(settings.rollback_alarms), settings.bake_seconds)

    @property
    def bake(self) -> int:
        """A bake without alarms watches nothing and only delays the end of the update."""
        return self.bake_seconds if self.alarms else 0

    def document(self) -> dict:
        """The DeploymentConfig, in the API's names."""
        config: dict = {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": ALL_AT_ONCE, "WaitIntervalInSeconds": self.bake},
            }
        }
        if self.alarms:
            config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in self.alarms]}
        return config

    def describe(self) -> str:
        if not self.alarms:
            return "blue/green, all at once; rolls back if the new fleet fails to start"
        return (f"blue/green, all at once; rolls back if the new fleet fails to start or alarm "
                f"{', '.join(self.alarms)} fires in the {self.bake} s after the shift")
