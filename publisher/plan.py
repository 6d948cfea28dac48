"""What `deploy` has to do, as pure data: the desired resources derived from the settings,
compared with what exists.

SageMaker Models and EndpointConfigs cannot be changed in place, so each one is named
after a short hash of its content: the same settings always give the same names (a
second run finds them and does nothing), and a new image or instance setting gives new
names, which the endpoint then moves to with `update_endpoint`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import Enum

NAME_MAX = 63  # SageMaker's limit for model, endpoint config and endpoint names
HASH_LENGTH = 10
MULTI_MODEL = "MultiModel"
IN_SERVICE = "InService"
TRANSITIONAL = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})


class PlanError(Exception):
    """The endpoint is in a state deploy must not touch; the message says what to do."""


def content_hash(document: dict) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:HASH_LENGTH]


def derived_name(base: str, kind: str, document: dict) -> str:
    """`<base>-<kind>-<hash>`, with `base` shortened so the whole fits SageMaker's limit."""
    suffix = f"-{kind}-{content_hash(document)}"
    return base[: NAME_MAX - len(suffix)].rstrip("-") + suffix


@dataclass(frozen=True)
class ModelSpec:
    image: str
    model_data_url: str
    role_arn: str
    environment: tuple[tuple[str, str], ...] = ()

    def document(self) -> dict:
        return {
            "Image": self.image,
            "Mode": MULTI_MODEL,
            "ModelDataUrl": self.model_data_url,
            "ExecutionRoleArn": self.role_arn,
            "Environment": dict(self.environment),
        }


@dataclass(frozen=True)
class ConfigSpec:
    model_name: str
    variant_name: str
    instance_type: str
    instance_count: int

    def document(self) -> dict:
        return {
            "ModelName": self.model_name,
            "VariantName": self.variant_name,
            "InstanceType": self.instance_type,
            "InitialInstanceCount": self.instance_count,
        }


@dataclass(frozen=True)
class Desired:
    endpoint_name: str
    model_name: str
    model: ModelSpec
    config_name: str
    config: ConfigSpec
    framework: str = "mxnet"


def desired_from(settings, framework: str = "mxnet", region: str | None = None) -> Desired:
    """The three resources of one framework's endpoint, with their content-derived names.

    MXNet: `endpoint_name` on `image` with `environment`; TensorFlow: `tensorflow_endpoint_name`
    on AWS's TF Serving image for `region` (or `tensorflow_image`), with TF Serving's defaults.
    """
    if framework == "tensorflow":
        endpoint_name = settings.tensorflow_endpoint_name
        image, environment = settings.tensorflow_image_in(settings.region or region), ()
    else:
        endpoint_name, image = settings.endpoint_name, settings.image
        environment = tuple(sorted(settings.environment.items()))
    model = ModelSpec(image=image, model_data_url=settings.model_data_url, role_arn=settings.role_arn,
                      environment=environment)
    model_name = derived_name(endpoint_name, "model", model.document())
    config = ConfigSpec(model_name, settings.variant_name, settings.instance_type, settings.instance_count)
    config_name = derived_name(endpoint_name, "config", config.document())
    return Desired(endpoint_name, model_name, model, config_name, config, framework)


def desired_endpoints(settings, region: str | None) -> list[Desired]:
    """One MultiModel endpoint per framework the settings name: MXNet always, TensorFlow when named."""
    frameworks = ["mxnet"] + (["tensorflow"] if settings.tensorflow_endpoint_name else [])
    if settings.tensorflow_endpoint_name == settings.endpoint_name:
        raise PlanError(f"the MXNet and TensorFlow endpoints are both named {settings.endpoint_name}: one "
                        "endpoint runs one image; give the TensorFlow one its own --tensorflow-endpoint-name")
    return [desired_from(settings, framework, region) for framework in frameworks]


@dataclass(frozen=True)
class EndpointState:
    config_name: str
    status: str
    failure_reason: str | None = None


@dataclass(frozen=True)
class Observed:
    model_exists: bool
    config_exists: bool
    endpoint: EndpointState | None


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Step:
    resource: str
    name: str
    action: Action
    detail: str


@dataclass(frozen=True)
class Plan:
    desired: Desired
    model: Step
    config: Step
    endpoint: Step
    # Set when the endpoint is still creating or updating: deploy waits before changing it.
    endpoint_status: str | None

    @property
    def steps(self) -> tuple[Step, Step, Step]:
        return (self.model, self.config, self.endpoint)

    @property
    def changes(self) -> bool:
        return any(step.action is not Action.UNCHANGED for step in self.steps)


def make_plan(desired: Desired, observed: Observed) -> Plan:
    """Create what is missing; move an existing endpoint to a new config, never recreate it."""
    model = Step(
        "Model",
        desired.model_name,
        Action.UNCHANGED if observed.model_exists else Action.CREATE,
        f"image {desired.model.image}, {MULTI_MODEL} from {desired.model.model_data_url}",
    )
    config = Step(
        "EndpointConfig",
        desired.config_name,
        Action.UNCHANGED if observed.config_exists else Action.CREATE,
        f"{desired.config.instance_count} x {desired.config.instance_type}, variant {desired.config.variant_name}",
    )
    endpoint = _endpoint_step(desired, observed.endpoint)
    status = observed.endpoint.status if observed.endpoint else None
    return Plan(desired, model, config, endpoint, status)


def _endpoint_step(desired: Desired, current: EndpointState | None) -> Step:
    name = desired.endpoint_name
    if current is None:
        return Step("Endpoint", name, Action.CREATE, f"with config {desired.config_name}")
    if current.status not in TRANSITIONAL and current.status != IN_SERVICE:
        reason = f" ({current.failure_reason})" if current.failure_reason else ""
        raise PlanError(
            f"endpoint {name} is {current.status}{reason}; SageMaker only allows deleting it. "
            f"Run `aws sagemaker delete-endpoint --endpoint-name {name}`, then deploy again."
        )
    if current.config_name == desired.config_name:
        return Step("Endpoint", name, Action.UNCHANGED, f"{current.status} with config {current.config_name}")
    return Step("Endpoint", name, Action.UPDATE, f"config {current.config_name} -> {desired.config_name}")
