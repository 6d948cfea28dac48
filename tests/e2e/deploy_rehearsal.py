"""The deploy rehearsal's parts: the deploy page's commands, the emulator they run against, what
the stacks made, and each function's role and environment as deployed.

The commands are read from docs/deploying.md (the manual's "Deploying to AWS" page, where the
README links), never copied: an edit of the page is what the rehearsal runs. Lines an emulator
cannot run are named in NAMED_STEPS with what stands in for them; resource types moto's CloudFormation does not create (it skips them
with a warning) are named in NAMED_TYPES with what stands in for them. Anything else missing
fails the rehearsal.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import boto3
import requests
import yaml

from local_stack.aws.emulator import TRANSLATE

ROOT = Path(__file__).resolve().parents[2]
SECTION = "# Deploying to AWS"
STEP = "::rehearsal-step"

# Lines of the page the emulator cannot run → the shell line run instead, and why.
NAMED_STEPS = {
    "make push": (
        # No registry here: the stand-in puts an image manifest under the same tag into the stack's
        # repository, so the publisher finds <ImageRepositoryUri>:<TAG> as after a real push.
        'aws ecr put-image --repository-name "$(aws cloudformation describe-stacks --stack-name mme-registry-prod '
        '--query "Stacks[0].Outputs[?OutputKey==\'ImageRepositoryUri\'].OutputValue" --output text | cut -d/ -f2)" '
        '--image-tag "$TAG" --image-manifest "$(cat "$REHEARSAL_MANIFEST")" >/dev/null',
        "podman and an image registry: the rehearsal puts an image manifest with that tag into the stack's "
        "ECR repository instead (tests/e2e/test_container_image.py builds the image itself)"),
}
# Resource types moto's CloudFormation skips → what stands in for each in the rehearsal.
NAMED_TYPES = {
    "AWS::SQS::QueuePolicy": "moto's S3 notifications reach the queue without one; the walk's drop shows they arrive",
    "AWS::S3::BucketPolicy": "moto evaluates no bucket policy; tests/unit/test_deploy_templates.py checks the "
                             "TLS-only statement",
    "AWS::CloudWatch::Alarm": "the walk reads the dead-letter queues the alarms watch directly",
    "AWS::ApiGateway::Stage": "the walk invokes the API function with API Gateway's proxy event, as the stage does",
}


def deploy_commands(page: Path = ROOT / "docs" / "deploying.md") -> list[str]:
    """The deploy page's shell commands, continuation lines joined, comments dropped."""
    text = page.read_text()
    section = text[text.index(SECTION):]
    section = section[:section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert blocks, f"no ```bash block in {page}'s {SECTION!r}"
    joined = re.sub(r"\\\n\s*", "", "".join(blocks))
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def rehearsal_script(commands: list[str]) -> tuple[str, list[str]]:
    """A bash script running each command (named steps replaced by their stand-in), with a timing mark
    before each; and the named steps it replaced."""
    lines, replaced = ["set -euo pipefail"], []
    for number, command in enumerate(commands):
        named = next((prefix for prefix in NAMED_STEPS if command.startswith(prefix)), None)
        lines.append(f'echo "{STEP} {number} $(date +%s.%N)" >&2')
        if named:
            replaced.append(named)
            lines.append(NAMED_STEPS[named][0])
        else:
            lines.append(command)
    lines.append(f'echo "{STEP} {len(commands)} $(date +%s.%N)" >&2')
    return "\n".join(lines) + "\n", replaced


def step_seconds(stderr: str, commands: list[str]) -> dict[str, float]:
    marks = {int(n): float(t) for n, t in re.findall(rf"{STEP} (\d+) ([\d.]+)", stderr)}
    return {commands[n]: marks[n + 1] - marks[n] for n in range(len(commands)) if {n, n + 1} <= set(marks)}


class Emulator:
    """A moto server in a process of its own (IAM enforcement is process-wide in moto), with the
    SAM transform and the per-resource IAM checks of local_stack/aws/emulator.py."""

    def __init__(self, translator_python: Path, region: str, log: Path):
        self.log = log
        self._process = subprocess.Popen(
            [sys.executable, "-m", "local_stack.aws.emulator", "--port", "0", "--sam-translator", str(translator_python),
             "--iam-resources"], cwd=ROOT, stdout=subprocess.PIPE, stderr=log.open("w"), text=True,
            env={**clean_env(), "AWS_DEFAULT_REGION": region})
        line = self._process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        if not match:
            self.stop()
            raise RuntimeError(f"the emulator did not start: {line!r}")
        self.url = match[0]

    def denials(self, since: int = 0, decision: str = "denied") -> list[str]:
        """`<principal> <action>` of each request IAM decided so (denied, allowed), from byte `since` of the log."""
        with self.log.open() as log:
            log.seek(since)
            return [line.removeprefix(f"{decision}: ").strip() for line in log if line.startswith(f"{decision}: ")]

    def enforce_iam(self) -> None:
        """From now on every request is authenticated and authorised against its caller's policies."""
        requests.post(f"{self.url}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def clean_env() -> dict[str, str]:
    """This process's environment without AWS, registry or publisher settings: each run names its own."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REGISTRY_", "PUBLISHER_"))}


def load_template(path: Path) -> dict:
    from moto.cloudformation.utils import yaml_tag_constructor

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("", yaml_tag_constructor)
    return yaml.load(path.read_text(), Loader=Loader)


def translated(template: dict, translator_python: Path, region: str) -> dict:
    done = subprocess.run([str(translator_python), "-c", TRANSLATE], input=json.dumps(template), capture_output=True,
                          text=True, env={**clean_env(), "AWS_DEFAULT_REGION": region}, check=True)
    return json.loads(done.stdout)


def _condition(expression, parameters: dict, conditions: dict) -> object:
    if isinstance(expression, dict):
        (function, argument), = expression.items()
        if function == "Ref":
            return parameters[argument]
        if function == "Condition":
            return _condition(conditions[argument], parameters, conditions)
        values = [_condition(a, parameters, conditions) for a in argument]
        return {"Fn::Equals": lambda: values[0] == values[1], "Fn::Not": lambda: not values[0],
                "Fn::And": lambda: all(values), "Fn::Or": lambda: any(values)}[function]()
    return expression


def expected_resources(template: dict, parameters: dict) -> dict[str, str]:
    """Logical id → type of every resource CloudFormation creates from `template` with `parameters`."""
    defaults = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
    values = {**defaults, **parameters}
    conditions = template.get("Conditions", {})
    return {name: r["Type"] for name, r in template["Resources"].items()
            if "Condition" not in r or _condition(conditions[r["Condition"]], values, conditions)}


@dataclass
class Function:
    """A deployed Lambda function: its handler in app.py, its role, and its environment."""

    name: str
    handler: str
    role_arn: str
    environment: dict[str, str]


def deployed_functions(session: boto3.Session, stack: str) -> dict[str, Function]:
    """The stack's functions by handler name (app, ingest_uploads, sweep_incoming, publish_events)."""
    lambdas = session.client("lambda")
    names = [r["PhysicalResourceId"] for r in session.client("cloudformation").describe_stack_resources(
        StackName=stack)["StackResources"] if r.get("ResourceType") == "AWS::Lambda::Function"]
    found = {}
    for name in names:
        config = lambdas.get_function_configuration(FunctionName=name)
        handler = config["Handler"].removeprefix("app.")
        found[handler] = Function(name, handler, config["Role"], config.get("Environment", {}).get("Variables", {}))
    return found


def _document(policy) -> dict:
    """A role policy as GetRolePolicy answers it: moto answers the inline policies of a role CloudFormation made
    with the Python repr of the document (AWS: URL-encoded JSON, which boto3 decodes)."""
    return ast.literal_eval(policy) if isinstance(policy, str) else policy


@contextmanager
def without_grant(iam, role_arn: str, action: str, keep_resources: Callable[[object], object] | None = None):
    """The role's inline policies with `action` taken out of every statement (or, given `keep_resources`, the
    resources of the statements granting it narrowed to what it keeps); the original ones back afterwards."""
    role = role_arn.rsplit("/", 1)[1]
    originals = {name: _document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
                 for name in iam.list_role_policies(RoleName=role)["PolicyNames"]}
    try:
        for name, document in originals.items():
            statements = []
            for statement in json.loads(json.dumps(document))["Statement"]:
                actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
                if action in actions and keep_resources:
                    statement["Resource"] = keep_resources(statement["Resource"])
                elif action in actions:
                    statement["Action"] = [a for a in actions if a != action]
                if statement["Action"] and statement["Resource"]:
                    statements.append(statement)
            iam.put_role_policy(RoleName=role, PolicyName=name,
                                PolicyDocument=json.dumps({**document, "Statement": statements}))
        yield
    finally:
        for name, document in originals.items():
            iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))


def granted_actions(iam, role_arn: str) -> set[str]:
    """Every action the role's inline policies allow."""
    role = role_arn.rsplit("/", 1)[1]
    found = set()
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        for statement in _document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])["Statement"]:
            found |= {statement["Action"]} if isinstance(statement["Action"], str) else set(statement["Action"])
    return found


def assumed(session: boto3.Session, role_arn: str) -> dict[str, str]:
    """Credentials of `role_arn`, as Lambda hands its function (AWS_ACCESS_KEY_ID, ...)."""
    credentials = session.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="rehearsal")["Credentials"]
    return {"AWS_ACCESS_KEY_ID": credentials["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"]}


def wait_for_stack(cloudformation, stack: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        if not described["StackStatus"].endswith("IN_PROGRESS") or time.monotonic() > deadline:
            return described
        time.sleep(0.2)
