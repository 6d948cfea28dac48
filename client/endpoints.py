"""How the registry's endpoints are doing: SageMaker's DescribeEndpoint, with the caller's credentials.

The registry says which endpoint serves which framework (`GET /endpoints`); the status is asked
of SageMaker directly, like InvokeEndpoint, so the API needs no control-plane permission and
the answer is what the caller's own account sees.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

VARIANT_FIELDS = ("VariantName", "CurrentInstanceCount", "DesiredInstanceCount", "CurrentWeight")


@dataclass(frozen=True)
class EndpointState:
    framework: str
    name: str
    status: str  # SageMaker's EndpointStatus (InService, Updating, ...), or NotFound / Unknown
    config_name: str | None = None
    variants: list[dict[str, Any]] = field(default_factory=list)
    updated_at: str | None = None
    failure_reason: str | None = None


def describe_endpoints(sagemaker, by_framework: dict[str, str]) -> list[EndpointState]:
    return [_describe(sagemaker, framework, name) for framework, name in by_framework.items()]


def _describe(sagemaker, framework: str, name: str) -> EndpointState:
    try:
        found = sagemaker.describe_endpoint(EndpointName=name)
    except ClientError as error:
        detail = error.response.get("Error", {})
        missing = detail.get("Code") == "ValidationException" and "not find" in detail.get("Message", "").lower()
        status = "NotFound" if missing else "Unknown"
        return EndpointState(framework, name, status, failure_reason=detail.get("Message"))
    except BotoCoreError as error:  # no credentials, no network: say so on the page
        return EndpointState(framework, name, "Unknown", failure_reason=str(error))
    variants = [{key: variant.get(key) for key in VARIANT_FIELDS} for variant in found.get("ProductionVariants", [])]
    updated = found.get("LastModifiedTime")
    return EndpointState(framework, name, found["EndpointStatus"], found.get("EndpointConfigName"), variants,
                         updated.isoformat() if updated else None, found.get("FailureReason"))
