"""Whether a deploy did what it asked: the endpoint InService on the EndpointConfig the
plan chose.

InService alone proves nothing: when an update's new fleet fails, SageMaker rolls back
and the endpoint is InService again, on the *old* config, with the reason in
FailureReason. Only the config name tells a finished update from a rolled-back one.
"""
from __future__ import annotations

from .plan import IN_SERVICE, Desired, EndpointState

NO_REASON = "SageMaker gave no FailureReason"


class DeployFailed(Exception):
    """The endpoint does not run what deploy asked for; the message says why and what to do next."""


def logs_hint(endpoint_name: str) -> str:
    return f"the CloudWatch log group /aws/sagemaker/Endpoints/{endpoint_name}"


def check_outcome(desired: Desired, state: EndpointState) -> None:
    """Raises DeployFailed unless the endpoint is InService on `desired.config_name`."""
    name = desired.endpoint_name
    reason = state.failure_reason or NO_REASON
    if state.status == IN_SERVICE and state.config_name == desired.config_name:
        return
    if state.status == IN_SERVICE:
        raise DeployFailed(
            f"the update of endpoint {name} was rolled back: it is InService on config {state.config_name}, "
            f"not {desired.config_name}.\nFailureReason: {reason}\n"
            f"The previous config keeps serving. Fix the cause (see {logs_hint(name)}), then deploy again."
        )
    if state.status == "Failed":
        raise DeployFailed(
            f"endpoint {name} is Failed.\nFailureReason: {reason}\n"
            f"Fix the cause (see {logs_hint(name)}), run `aws sagemaker delete-endpoint --endpoint-name {name}` "
            "(the only call SageMaker allows on a failed endpoint), then deploy again."
        )
    raise DeployFailed(
        f"endpoint {name} is {state.status} on config {state.config_name}, not InService on {desired.config_name}."
        f"\nFailureReason: {reason}\nInspect it with `aws sagemaker describe-endpoint --endpoint-name {name}` "
        f"and {logs_hint(name)} before deploying again."
    )
