"""`python -m publisher deploy | retire | dead-letters | events-redrive`: the command line over publisher.deploy,
publisher.retire, publisher.deadletters and the change events' redrive."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from . import deadletters, stack
from .plan import Action, Plan, PlanError
from .settings import TENSORFLOW_IMAGE, ConfigFileError, MissingSettings, PublisherSettings

STYLES = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.UNCHANGED: "dim"}


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def build_parser() -> argparse.ArgumentParser:
    prog = "mme-registry-publisher" if __name__.startswith("mme_registry.") else "python -m publisher"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    deploy = commands.add_parser(
        "deploy",
        help="create or update the MultiModel endpoints, one per framework (idempotent)",
        description="Ensures the MultiModel SageMaker Model, EndpointConfig and Endpoint of the MXNet endpoint, "
        "and of the TensorFlow endpoint when --tensorflow-endpoint-name is given. Settings come from "
        "these flags, then --stack's Outputs, then PUBLISHER_<FIELD> environment variables, then --config, then "
        "defaults. "
        "Exits 1 unless each endpoint ends InService on the config it asked for.",
    )
    deploy.add_argument("--config", type=Path, help="YAML or JSON file of settings (field: value)")
    deploy.add_argument("--stack", help="the stack deployed from deploy/resources.yaml (e.g. mme-registry-prod): the "
                        "bucket, execution role and image repository come from its Outputs; flags override them")
    deploy.add_argument("--image-tag", help="with --stack: the image is <ImageRepositoryUri>:<TAG>, pinned to its "
                        f"digest (default {stack.DEFAULT_IMAGE_TAG}, what `make push` pushed last)")
    deploy.add_argument("--endpoint-name", help="endpoint name (required)")
    deploy.add_argument("--bucket", help="bucket holding the models (required)")
    deploy.add_argument("--models-prefix", help="key prefix of the models (default models/)")
    deploy.add_argument("--image", help="the MXNet container's image URI, built from container/ (required)")
    deploy.add_argument("--tensorflow-endpoint-name",
                        help="also deploy a TensorFlow endpoint of this name (AWS's TF Serving image)")
    deploy.add_argument("--tensorflow-image", help="the TF Serving image URI (default: "
                        f"{TENSORFLOW_IMAGE.format(region='<region>')})")
    deploy.add_argument("--role-arn", help="execution role the model runs with (required)")
    deploy.add_argument("--instance-type", help="e.g. ml.m5.large (required)")
    deploy.add_argument("--instance-count", type=int)
    deploy.add_argument("--variant-name", help="production variant name (default AllTraffic)")
    deploy.add_argument("--region", help="default: AWS_REGION / AWS_DEFAULT_REGION / the profile's region")
    deploy.add_argument("--rollback-alarm", dest="rollback_alarms", action="append", metavar="ALARM",
                        help="CloudWatch alarm that rolls an update back if it fires during the bake (repeatable)")
    deploy.add_argument("--bake-seconds", type=int, help="how long alarms are watched after the shift (default 600)")
    deploy.add_argument("--env", type=_key_value, action="append", metavar="KEY=VALUE",
                        help="container environment variable (repeatable; replaces the configured set)")
    deploy.add_argument("--no-wait", dest="wait", action="store_const", const=False,
                        help="return once the calls are made, without waiting for InService")
    deploy.add_argument("--poll-seconds", type=int)
    deploy.add_argument("--timeout-seconds", type=int)
    deploy.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    retire = commands.add_parser(
        "retire",
        help="delete the models/ keys of versions no alias needed for a grace period",
        description="Retires every version that no alias points at and none referenced within --older-than. "
        "The registry's bucket and tables come from --stack, or from the REGISTRY_* environment "
        "(see chalicelib/settings.py).",
    )
    stack.add_options(retire)
    retire.add_argument("--older-than", required=True, help="grace period, e.g. 7d, 12h, 30m")
    retire.add_argument("--dry-run", action="store_true", help="list what would be retired and change nothing")
    deadletters.add_parser(commands)
    redrive = commands.add_parser(
        "events-redrive",
        help="put dead-lettered change events back in the outbox, for the publisher's next run",
        description="Moves every message of the change events' dead-letter queue (--stack's, or "
        "REGISTRY_EVENTS_DEAD_LETTER_QUEUE) back into the outbox; run it once the cause of the failed publishes "
        "is fixed.",
    )
    stack.add_options(redrive)
    return parser


def run_events_redrive(args: argparse.Namespace, console: Console) -> int:
    from .registry_code import redrive_events

    target = stack.registry(args.stack, args.region, needs=("table", "events_dead_letter_queue"))
    settings, session = target.settings, target.session
    sqs = session.client("sqs")
    url = sqs.get_queue_url(QueueName=settings.events_dead_letter_queue)["QueueUrl"]
    moved = redrive_events(sqs, url, session.client("dynamodb"), settings.table)
    console.print(f"{len(moved)} change event(s) back in the outbox; the publisher sends them on its next run")
    return 0


def settings_from(args: argparse.Namespace) -> PublisherSettings:
    flags = {
        name: getattr(args, name)
        for name in ("endpoint_name", "bucket", "models_prefix", "image", "role_arn", "instance_type",
                     "instance_count", "variant_name", "region", "wait", "poll_seconds", "timeout_seconds",
                     "rollback_alarms", "bake_seconds", "tensorflow_endpoint_name", "tensorflow_image")
    }
    flags["environment"] = dict(args.env) if args.env else None
    if not args.stack:
        if args.image_tag:
            raise stack.StackError("--image-tag names a tag in the stack's image repository: give --stack (or --image)")
        return PublisherSettings.load(args.config, **flags)
    given = {name for name, value in flags.items() if value is not None}

    def from_stack(region: str | None) -> dict:
        session = stack.aws_session(region)
        outputs = stack.read_stack(session, args.stack)
        return stack.deploy_values(outputs, args.image_tag or stack.DEFAULT_IMAGE_TAG, given, session)

    return PublisherSettings.load(args.config, from_stack=from_stack, **flags)


def plan_table(plan: Plan, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("resource")
    table.add_column("name", overflow="fold")  # names end in their content hash: never cut them
    table.add_column("action")
    table.add_column("detail", overflow="fold")
    for step in plan.steps:
        style = STYLES[step.action]
        table.add_row(step.resource, step.name, f"[{style}]{step.action.value}[/]", step.detail)
    return table


def run_deploy(args: argparse.Namespace, console: Console) -> int:
    from .connection import Unreachable, unreachable_message
    from .deploy import SageMakerResources, plan_deploy  # sagemaker-core takes ~2 s to import
    from .outcome import DeployFailed
    from .rollout import Rollout
    from sagemaker.core.utils.exceptions import WaiterError

    settings = settings_from(args)
    session = boto3.Session(region_name=settings.region)
    if not session.region_name:
        console.print("[red]error:[/] no region: give --region (or PUBLISHER_REGION, AWS_REGION, AWS_DEFAULT_REGION).")
        return 1
    resources = SageMakerResources(session, session.region_name, Rollout.from_settings(settings))
    try:
        plans = plan_deploy(settings, resources)
        for plan in plans:
            console.print(plan_table(plan, f"Plan for {plan.desired.framework} endpoint {plan.desired.endpoint_name} "
                                           f"in {session.region_name} ({settings.model_data_url})"))
            if plan.endpoint.action is Action.UPDATE:
                console.print(f"Update: {resources.rollout.describe()}.")
        if args.dry_run:
            changes = any(plan.changes for plan in plans)
            console.print("Dry run: nothing was changed." if changes else "Dry run: everything is up to date.")
            return 0
        for plan in plans:
            _deploy_one(plan, resources, settings, console)
    except Unreachable as exc:
        console.print(f"[red]error:[/] {unreachable_message(exc, resources.client)}")
        return 1
    except DeployFailed as exc:
        console.print(f"[red]deploy failed:[/] {exc}")
        return 1
    except WaiterError as exc:
        console.print(f"[red]error:[/] {exc}\nSee the endpoint's FailureReason and CloudWatch logs; fix, then deploy again.")
        return 1
    return 0


def _deploy_one(plan: Plan, resources, settings: PublisherSettings, console: Console) -> None:
    from .deploy import apply

    name = plan.desired.endpoint_name
    if not plan.changes and plan.endpoint_status == "InService":
        console.print(f"Endpoint {name}: everything is up to date: nothing changed.")
        return
    status = apply(plan, resources, wait=settings.wait, poll=settings.poll_seconds, timeout=settings.timeout_seconds)
    if status:
        console.print(f"Endpoint {name} is {status} with config {plan.desired.config_name}.")
    else:
        console.print(f"Requested; check with `aws sagemaker describe-endpoint --endpoint-name {name}`.")


def run_retire(args: argparse.Namespace, console: Console) -> int:
    from .registry_code import AliasStore, Artifacts, RegistryStore, utcnow
    from .retire import Retirer, parse_age

    try:
        older_than = parse_age(args.older_than)
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    target = stack.registry(args.stack, args.region, needs=("bucket", "table"))
    settings, session = target.settings, target.session
    dynamodb = session.client("dynamodb")
    actor = session.client("sts").get_caller_identity()["Arn"]  # who retires, as AWS verified it
    retirer = Retirer(RegistryStore(dynamodb, settings.table), AliasStore(dynamodb, settings.table),
                      Artifacts(session.client("s3"), settings.bucket), actor)
    table = Table(title=f"Versions unreferenced for {args.older_than}" + (" (dry run)" if args.dry_run else ""),
                  title_justify="left")
    for column in ("model", "version", "key", "outcome"):
        table.add_column(column, overflow="fold")
    counts: dict[str, int] = {}
    for item in retirer.run(older_than, utcnow(), dry_run=args.dry_run):
        counts[item.outcome.split(":")[0]] = counts.get(item.outcome.split(":")[0], 0) + 1
        table.add_row(item.name, str(item.version), item.target_key, item.outcome)
    console.print(table)
    console.print(", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "No versions.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console()
    try:
        if args.command == "dead-letters":
            return deadletters.run(args, console)
        if args.command == "events-redrive":
            return run_events_redrive(args, console)
        return run_retire(args, console) if args.command == "retire" else run_deploy(args, console)
    except stack.StackError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    except (ConfigFileError, MissingSettings, ValidationError, PlanError) as exc:
        console.print(f"[red]error:[/] {exc}")
    except (ClientError, BotoCoreError) as exc:
        console.print(f"[red]AWS error:[/] {exc}\nCheck the credentials, region and AWS_ENDPOINT_URL, then run again.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
