"""Ensures the MultiModel Model, EndpointConfig and Endpoint through sagemaker-core, for each
framework's endpoint (MXNet always; TensorFlow when the settings name its endpoint).

Reads first (describe calls only), plans, then writes only what the plan says: a run
whose plan has no changes makes no write call at all. After waiting it checks that the
endpoint runs the config it asked for (publisher/outcome.py): a rolled-back update fails.
"""
from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError
from sagemaker.core.resources import Endpoint, EndpointConfig, Model
from sagemaker.core.shapes import ContainerDefinition, ProductionVariant
from sagemaker.core.utils.exceptions import FailedStatusError

from .connection import use_bounded_client
from .outcome import check_outcome
from .plan import (
    IN_SERVICE,
    MULTI_MODEL,
    TRANSITIONAL,
    Action,
    Desired,
    EndpointState,
    Observed,
    Plan,
    desired_endpoints,
    make_plan,
)
from .rollout import Rollout


def _is_not_found(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") in ("ValidationException", "ValidationError") and "Could not find" in error.get(
        "Message", ""
    )


class SageMakerResources:
    """The three resources behind one endpoint, read and written with one boto3 session."""

    def __init__(self, session, region: str, rollout: Rollout = Rollout()):
        self._where = {"session": session, "region": region}
        self.region = region
        self.client = use_bounded_client(session, region)
        self.rollout = rollout

    def _find(self, getter, **name):
        try:
            return getter(**name, **self._where)
        except ClientError as exc:
            if _is_not_found(exc):
                return None
            raise

    def observe(self, desired: Desired) -> Observed:
        endpoint = self._find(Endpoint.get, endpoint_name=desired.endpoint_name)
        return Observed(
            model_exists=self._find(Model.get, model_name=desired.model_name) is not None,
            config_exists=self._find(EndpointConfig.get, endpoint_config_name=desired.config_name) is not None,
            endpoint=None
            if endpoint is None
            else EndpointState(
                endpoint.endpoint_config_name,
                endpoint.endpoint_status,
                endpoint.failure_reason if isinstance(endpoint.failure_reason, str) else None,
            ),
        )

    def create_model(self, desired: Desired) -> None:
        spec = desired.model
        Model.create(
            model_name=desired.model_name,
            primary_container=ContainerDefinition(
                image=spec.image,
                mode=MULTI_MODEL,
                model_data_url=spec.model_data_url,
                environment=dict(spec.environment) or None,
            ),
            execution_role_arn=spec.role_arn,
            **self._where,
        )

    def create_endpoint_config(self, desired: Desired) -> None:
        spec = desired.config
        EndpointConfig.create(
            endpoint_config_name=desired.config_name,
            production_variants=[
                ProductionVariant(
                    variant_name=spec.variant_name,
                    model_name=spec.model_name,
                    instance_type=spec.instance_type,
                    initial_instance_count=spec.instance_count,
                )
            ],
            **self._where,
        )

    def create_endpoint(self, desired: Desired) -> None:
        Endpoint.create(endpoint_name=desired.endpoint_name, endpoint_config_name=desired.config_name, **self._where)

    def update_endpoint(self, desired: Desired) -> None:
        """Through the client, not `Endpoint.update`: sagemaker-core 2.27 drops members equal to 0
        when it serialises a shape, and WaitIntervalInSeconds (0 without alarms) is required."""
        self.client.update_endpoint(
            EndpointName=desired.endpoint_name,
            EndpointConfigName=desired.config_name,
            DeploymentConfig=self.rollout.document(),
        )

    def wait_settled(self, endpoint_name: str, poll: int, timeout: int) -> EndpointState:
        """Waits until InService or a failed status (sagemaker-core shows a live status panel)."""
        endpoint = Endpoint.get(endpoint_name=endpoint_name, **self._where)
        if endpoint.endpoint_status != IN_SERVICE:
            try:
                endpoint.wait_for_status(IN_SERVICE, poll=poll, timeout=timeout)
            except FailedStatusError:
                pass  # the endpoint was refreshed with the failed status and its reason
        return EndpointState(
            endpoint.endpoint_config_name,
            endpoint.endpoint_status,
            endpoint.failure_reason if isinstance(endpoint.failure_reason, str) else None,
        )


@dataclass(frozen=True)
class DeployResult:
    plan: Plan
    applied: bool
    status: str | None  # the endpoint's status at the end, when it was waited for


def plan_deploy(settings, resources: SageMakerResources) -> list[Plan]:
    """One plan per framework's endpoint, MXNet first."""
    return [make_plan(desired, resources.observe(desired))
            for desired in desired_endpoints(settings, resources.region)]


def apply(plan: Plan, resources: SageMakerResources, *, wait: bool, poll: int, timeout: int) -> str | None:
    """Carries out the plan in dependency order; returns the endpoint status if it waited.

    Raises DeployFailed when, after waiting, the endpoint is not InService on the planned config.
    """
    desired = plan.desired
    if plan.model.action is Action.CREATE:
        resources.create_model(desired)
    if plan.config.action is Action.CREATE:
        resources.create_endpoint_config(desired)
    if plan.endpoint.action is Action.CREATE:
        resources.create_endpoint(desired)
    elif plan.endpoint.action is Action.UPDATE:
        if plan.endpoint_status in TRANSITIONAL:  # SageMaker refuses an update mid-deployment
            before = resources.wait_settled(desired.endpoint_name, poll, timeout)
            if before.status != IN_SERVICE:
                check_outcome(desired, before)  # raises: an endpoint that is not InService cannot be updated
        resources.update_endpoint(desired)
    needs_wait = plan.endpoint.action is not Action.UNCHANGED or plan.endpoint_status != IN_SERVICE
    if wait and needs_wait:
        state = resources.wait_settled(desired.endpoint_name, poll, timeout)
        check_outcome(desired, state)
        return state.status
    return None


def deploy(settings, session, *, dry_run: bool = False) -> list[DeployResult]:
    """Plans and, unless `dry_run`, applies, endpoint by endpoint; `settings` is a PublisherSettings."""
    resources = SageMakerResources(session, settings.region or session.region_name, Rollout.from_settings(settings))
    results = []
    for plan in plan_deploy(settings, resources):
        if dry_run:
            results.append(DeployResult(plan, applied=False, status=None))
            continue
        status = apply(plan, resources, wait=settings.wait, poll=settings.poll_seconds,
                       timeout=settings.timeout_seconds)
        results.append(DeployResult(plan, applied=plan.changes, status=status))
    return results
