"""Deploy day, rehearsed: README's "Deploying to AWS" commands run as written, with the real AWS CLI,
against the AWS emulator; its CloudFormation creates both stacks; then every function runs from
the Lambda package under its own deployed role, with IAM enforced, through the registry's flows.

The gaps the emulator has are filled in local_stack/emulator.py (the SAM transform, by AWS's
translator; IAM checks against DynamoDB, EventBridge and SageMaker resources) and named in
tests/e2e/deploy_rehearsal.py (README lines and resource types it cannot run or create, with
what stands in for each).
"""
import json
import os
import subprocess
import time
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

import deploy_rehearsal as rehearsal
from deploy_tools import tools_venv
from hostile_tarballs import valid_mxnet
from test_lambda_package import _package_module, api_event, sqs_event

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("lambda_package")]  # the package's builder, as there
ROOT = rehearsal.ROOT
DRIVER = Path(__file__).with_name("lambda_driver.py")
REGION = "us-east-1"
RESOURCES_STACK, FUNCTIONS_STACK = "mme-registry-prod", "mme-registry-prod-functions"
MANIFEST = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                       "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
            "layers": []}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """The README's deploy section, run against a fresh emulator: (emulator, admin session, stderr of the run,
    seconds per command, the named steps replaced)."""
    package = _package_module()
    package.build()  # `make package` below copies the cached build: its first build (~80 s) is not the rehearsal's
    tools = tools_venv()
    scratch = tmp_path_factory.mktemp("rehearsal")
    (scratch / "bin").mkdir()
    (scratch / "bin" / "aws").symlink_to(tools / "bin" / "aws")  # the CLI only: not the tools venv's python
    (scratch / "manifest.json").write_text(json.dumps(MANIFEST))
    emulator = rehearsal.Emulator(tools / "bin" / "python", REGION, scratch / "emulator.log")
    try:
        env = {**rehearsal._clean_env(), "PATH": f"{scratch / 'bin'}:{os.environ['PATH']}",
               "AWS_ENDPOINT_URL": emulator.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "REHEARSAL_MANIFEST": str(scratch / "manifest.json")}
        commands = rehearsal.readme_commands()
        script, replaced = rehearsal.rehearsal_script(commands)
        started = time.monotonic()
        done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        seconds = rehearsal.step_seconds(done.stderr, commands)
        assert done.returncode == 0, (f"README's deploy commands failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}\n"
                                      f"the emulator said:\n{emulator.log.read_text()[-4000:]}")
        for command, took in seconds.items():
            print(f"{took:6.1f} s  {command[:100]}")
        print(f"{time.monotonic() - started:6.1f} s  the README's deploy section, package build excluded")
        session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        os.environ["AWS_ENDPOINT_URL"] = emulator.url  # for boto3 sessions made in this module's tests
        yield emulator, session, seconds, replaced
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        emulator.stop()


def _parameters(cloudformation, stack: str) -> dict:
    return {p["ParameterKey"]: p["ParameterValue"]
            for p in cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Parameters", [])}


def test_the_readme_deploy_commands_create_both_stacks_and_every_resource(deployed):
    emulator, session, seconds, replaced = deployed
    cloudformation = session.client("cloudformation")
    assert replaced == ["make push"], "only the named steps are replaced"
    templates = {RESOURCES_STACK: rehearsal.load_template(ROOT / "deploy" / "resources.yaml"),
                 FUNCTIONS_STACK: rehearsal.translated(rehearsal.load_template(ROOT / "build/lambda/packaged.yaml"),
                                                       tools_venv() / "bin" / "python", REGION)}
    report, silent = [], []
    for stack, template in templates.items():
        assert rehearsal.wait_for_stack(cloudformation, stack)["StackStatus"] == "CREATE_COMPLETE"
        # moto lists a resource it skipped without its logical id: only named ones count as made
        made = {r["LogicalResourceId"]: r for r in
                cloudformation.describe_stack_resources(StackName=stack)["StackResources"] if "LogicalResourceId" in r}
        for name, kind in sorted(rehearsal.expected_resources(template, _parameters(cloudformation, stack)).items()):
            if name in made:
                report.append(f"{stack:30} {name:40} {kind:35} created: {made[name].get('PhysicalResourceId', '(no physical id)')}")
            elif kind in rehearsal.NAMED_TYPES:
                report.append(f"{stack:30} {name:40} {kind:35} named gap: {rehearsal.NAMED_TYPES[kind]}")
            else:
                silent.append(f"{stack} {name} ({kind})")
    print("\n".join(report))
    assert not silent, f"the emulator skipped these silently (create them, or name the gap): {silent}"
