"""Where a deployed registry lives, read from its resources stack (deploy/resources.yaml) rather than typed.

`--stack NAME` reads that stack's Outputs with CloudFormation DescribeStacks, in the caller's region
(--region, else AWS_DEFAULT_REGION or the profile's region, as boto3 resolves it). Without --stack the
operations commands take the REGISTRY_* settings given explicitly; the local stack's names are defaults
only where the calls go to an emulator (AWS_ENDPOINT_URL), so a forgotten --stack stops the run in AWS
instead of reading another account's bucket of the same name.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

import boto3
from botocore.exceptions import ClientError

# Each Output of the resources stack the operations commands read, and the registry setting it fills.
REGISTRY_OUTPUTS = {"Bucket": "bucket", "Table": "table", "EventsTable": "events_table", "IngestQueueName": "queue",
                    "EventsDeadLetterQueueName": "events_dead_letter_queue", "EventBusName": "event_bus"}
# The stack exists but its resources do not (yet, or any more).
NOT_DEPLOYED = ("CREATE_IN_PROGRESS", "CREATE_FAILED", "ROLLBACK_", "DELETE_")
AWS_HOSTS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")
# What `deploy --stack` runs unless --image-tag says otherwise, and what `make push` pushes besides the checkout's
# content tag: the newest push. The deploy pins it to its digest, so a new push is a new Model, never a silent no-op.
DEFAULT_IMAGE_TAG = "latest"


class StackError(ValueError):
    """What a command needs cannot be found: no region, no such stack, an output missing, a registry not named."""


@dataclass(frozen=True)
class StackOutputs:
    stack: str
    region: str
    values: dict[str, str]

    def get(self, key: str) -> str:
        if key not in self.values:
            raise StackError(f"stack {self.stack} in {self.region} has no output {key} (it has "
                             f"{', '.join(sorted(self.values)) or 'none'}): is it the stack of deploy/resources.yaml, "
                             "deployed from this checkout?")
        return self.values[key]

    def registry_names(self) -> dict[str, str]:
        return {setting: self.get(key) for key, setting in REGISTRY_OUTPUTS.items()}

    @property
    def dead_letter_queue(self) -> str:
        """The ingest queue's dead-letter queue, by name (the stack gives its URL)."""
        return self.get("DeadLetterQueueUrl").rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Registry:
    """A deployed (or local) registry as an operations command reaches it."""

    settings: object  # chalicelib.settings.Settings
    session: boto3.Session
    outputs: StackOutputs | None  # None without --stack


def add_options(parser) -> None:
    """--stack and --region, as every operations command takes them."""
    parser.add_argument("--stack", help="the stack deployed from deploy/resources.yaml (e.g. mme-registry-prod): "
                        "bucket, tables and queues come from its Outputs")
    parser.add_argument("--region", help="default: AWS_DEFAULT_REGION or the profile's region")


def aws_session(region: str | None) -> boto3.Session:
    """A session in `region`, or in the caller's configured one; none at all is an error, never us-east-1."""
    session = boto3.Session(region_name=region or None)
    if not session.region_name:
        raise StackError("no region: give --region, or set AWS_DEFAULT_REGION or the profile's region")
    return session


def read_stack(session: boto3.Session, name: str) -> StackOutputs:
    try:
        [stack] = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ValidationError":  # CloudFormation's answer for an unknown stack
            raise
        raise StackError(f"no stack {name} in {session.region_name} ({error.response['Error']['Message']}): check "
                         "--stack and the region (--region or AWS_DEFAULT_REGION)") from error
    status = stack["StackStatus"]
    if status.startswith(NOT_DEPLOYED):
        raise StackError(f"stack {name} in {session.region_name} is {status}: its resources are not there to use")
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    return StackOutputs(name, session.region_name, outputs)


def talks_to_aws(session: boto3.Session) -> bool:
    """Whether this session's calls go to AWS itself, not to an emulator named by AWS_ENDPOINT_URL or a profile."""
    host = urlparse(session.client("sts").meta.endpoint_url).hostname or ""
    return host.endswith(AWS_HOSTS)


def registry(stack: str | None, region: str | None, needs: tuple[str, ...]) -> Registry:
    """The registry's settings (chalicelib/settings.py) and the session to reach it.

    With a stack, its Outputs name the bucket, tables, queues and bus; without one, against AWS, each
    setting in `needs` must be given explicitly (REGISTRY_<NAME>), as the defaults name the local stack.
    """
    from .registry_code import Settings

    configured = Settings()
    explicit_region = configured.region if "region" in configured.model_fields_set else None
    session = aws_session(region or explicit_region)
    if stack:
        outputs = read_stack(session, stack)
        return Registry(Settings(**outputs.registry_names(), region=session.region_name), session, outputs)
    missing = [name for name in needs if name not in configured.model_fields_set]
    if missing and talks_to_aws(session):
        wanted = ", ".join(f"REGISTRY_{name.upper()}" for name in missing)
        raise StackError(f"which registry? give --stack STACK (the stack of deploy/resources.yaml, e.g. "
                         f"mme-registry-prod) or set {wanted}; the defaults name the local stack")
    return Registry(configured.model_copy(update={"region": session.region_name}), session, None)


def deploy_values(outputs: StackOutputs, image_tag: str, given: set[str], session: boto3.Session) -> dict[str, str]:
    """The deploy settings a stack provides (bucket, execution role, image), except those given as flags.

    The image is `<ImageRepositoryUri>:<image_tag>` pinned to its digest, as SageMaker would pin it: a tag
    pushed again is a new image to the plan, hence a new Model, and a tag not pushed fails here, before any change.
    """
    values = {"region": outputs.region}
    if "bucket" not in given:
        values["bucket"] = outputs.get("Bucket")
    if "role_arn" not in given:
        values["role_arn"] = outputs.get("ExecutionRoleArn")
    if "image" not in given:
        values["image"] = pinned_image(session, outputs.get("ImageRepositoryUri"), image_tag)
    return values


def pinned_image(session: boto3.Session, repository_uri: str, tag: str) -> str:
    """`<repository>@sha256:…` of the image tagged `tag` in ECR (`<account>.dkr.ecr.<region>…/<n>`)."""
    registry, _, repository = repository_uri.partition("/")
    ecr = session.client("ecr")
    try:
        [image] = ecr.describe_images(registryId=registry.split(".", 1)[0], repositoryName=repository,
                                      imageIds=[{"imageTag": tag}])["imageDetails"]
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("ImageNotFoundException", "RepositoryNotFoundException"):
            raise
        raise StackError(f"{repository_uri}:{tag} is not there ({error.response['Error']['Message']}): push it "
                         f"with `make push STACK=<stack> TAG={tag}`, or give --image-tag or --image") from error
    return f"{repository_uri}@{image['imageDigest']}"
