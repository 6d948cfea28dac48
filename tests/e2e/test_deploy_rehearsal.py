"""Deploy day, rehearsed: the "Deploying to AWS" commands (docs/deploying.md) run as written, with the real AWS CLI,
against the AWS emulator; its CloudFormation creates both stacks; then every function runs from
the Lambda package under its own deployed role, with IAM enforced, through the registry's flows.

The gaps the emulator has are filled in local_stack/aws/emulator.py (the SAM transform, by AWS's
translator; IAM checks against DynamoDB, EventBridge and SageMaker resources) and named in
tests/e2e/deploy_rehearsal.py (lines of the deploy page and resource types it cannot run or create, with
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
# The deferred threshold lowered for the API's run (1 GB in prod): a small tarball takes the 202 path.
LOW_THRESHOLD = {"REGISTRY_DEFERRED_REGISTRATION_BYTES": "100"}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """The deploy page's commands, run against a fresh emulator: (emulator, admin session, stderr of the run,
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
        env = {**rehearsal.clean_env(), "PATH": f"{scratch / 'bin'}:{os.environ['PATH']}",
               "AWS_ENDPOINT_URL": emulator.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "REHEARSAL_MANIFEST": str(scratch / "manifest.json")}
        commands = rehearsal.deploy_commands()
        script, replaced = rehearsal.rehearsal_script(commands)
        started = time.monotonic()
        done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        seconds = rehearsal.step_seconds(done.stderr, commands)
        assert done.returncode == 0, (f"the deploy page's commands failed:\n{done.stdout[-3000:]}\n"
                                      f"{done.stderr[-3000:]}\n"
                                      f"the emulator said:\n{emulator.log.read_text()[-4000:]}")
        for command, took in seconds.items():
            print(f"{took:6.1f} s  {command[:100]}")
        stacks = sum(took for command, took in seconds.items() if command.startswith("aws cloudformation deploy"))
        print(f"{stacks:6.1f} s  both stacks created (the two `aws cloudformation deploy` commands)")
        print(f"{time.monotonic() - started:6.1f} s  the deploy page's commands, package build excluded")
        session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        os.environ["AWS_ENDPOINT_URL"] = emulator.url  # for boto3 sessions made in this module's tests
        yield emulator, session, seconds, replaced
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        emulator.stop()


def _parameters(cloudformation, stack: str) -> dict:
    return {p["ParameterKey"]: p["ParameterValue"]
            for p in cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Parameters", [])}


def test_the_deploy_page_commands_create_both_stacks_and_every_resource(deployed):
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
                physical = made[name].get("PhysicalResourceId", "(no physical id)")
                report.append(f"{stack:30} {name:40} {kind:35} created: {physical}")
            elif kind in rehearsal.NAMED_TYPES:
                report.append(f"{stack:30} {name:40} {kind:35} named gap: {rehearsal.NAMED_TYPES[kind]}")
            else:
                silent.append(f"{stack} {name} ({kind})")
    print("\n".join(report))
    assert not silent, f"the emulator skipped these silently (create them, or name the gap): {silent}"


def test_the_deployed_stacks_carry_the_deploy_fixes(deployed):
    """Read from what CloudFormation was given and made, not from the templates' text alone."""
    session = deployed[1]
    cloudformation = session.client("cloudformation")
    outputs = {o["OutputKey"]: o for o in cloudformation.describe_stacks(StackName=RESOURCES_STACK)["Stacks"][0][
        "Outputs"]}
    # a bucket name no other account or region has; the endpoints' role and image repository; no example rule
    assert outputs["Bucket"]["OutputValue"] == f"{RESOURCES_STACK}-123456789012-{REGION}"
    assert outputs["ExecutionRoleArn"]["OutputValue"].endswith(f":role/{RESOURCES_STACK}-sagemaker-{REGION}")
    assert outputs["ImageRepositoryUri"]["OutputValue"].endswith(f"/{RESOURCES_STACK}-mms")
    assert not any(name.startswith("ExampleAliasMoved") for name in outputs)
    assert outputs["MaxReceiveCount"].get("ExportName") is None  # an output the functions stack reads, no export
    # every role of the generated functions template, Chalice's included, takes the permissions boundary
    functions = rehearsal.translated(rehearsal.load_template(ROOT / "build/lambda/packaged.yaml"),
                                     tools_venv() / "bin" / "python", REGION)
    roles = {name: r["Properties"] for name, r in functions["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert len(roles) == 5  # the API, ingest, the sweep, the event publisher, the rollout advancer
    for name, properties in roles.items():
        assert properties["PermissionsBoundary"] == {
            "Fn::If": ["HasPermissionsBoundary", {"Ref": "PermissionsBoundary"}, {"Ref": "AWS::NoValue"}]}, name


class Lambda:
    """Runs the deployed functions from the Lambda package under Python 3.13, each with its deployed
    environment and the credentials of its deployed role, as the Lambda service would."""

    def __init__(self, emulator, session: boto3.Session, unzipped: Path, python313: Path):
        self.functions = rehearsal.deployed_functions(session, FUNCTIONS_STACK)
        self.credentials = {h: rehearsal.assumed(session, f.role_arn) for h, f in self.functions.items()}
        self._base = {**rehearsal.clean_env(), "AWS_ENDPOINT_URL": emulator.url, "AWS_DEFAULT_REGION": REGION,
                      "AWS_REGION": REGION}
        self._unzipped, self._python, self._emulator = unzipped, python313, emulator
        self.denied: list[str] = []  # what IAM refused during the last run

    def run(self, handler: str, event: dict, **overrides: str) -> dict:
        """The handler's answer; its failure (with what IAM denied it) as an AssertionError."""
        function = self.functions["app" if handler == "app" else handler]
        env = {k: str(v) for k, v in {**self._base, **function.environment, **self.credentials[handler],
                                      **overrides}.items()}
        since = self._emulator.log.stat().st_size
        done = subprocess.run([str(self._python), "-I", "-S", str(DRIVER), str(self._unzipped), handler],
                              input=json.dumps(event), capture_output=True, text=True, env=env, timeout=120)
        self.denied = self._emulator.denials(since)
        assert done.returncode == 0, (f"{handler} failed under its own role; IAM denied {self.denied}:\n"
                                      f"{done.stderr[-2500:]}")
        return json.loads(done.stdout.splitlines()[-1])["answer"]

    def api(self, method: str, resource: str, path: dict | None = None, body: dict | None = None,
            query: dict | None = None, **env) -> dict:
        event = api_event(method, resource, path)
        if query:
            event["queryStringParameters"] = query
            event["multiValueQueryStringParameters"] = {key: [value] for key, value in query.items()}
        if body is not None:
            event["body"] = json.dumps(body)
            event["headers"]["Content-Type"] = event["multiValueHeaders"]["Content-Type"] = "application/json"
            event["multiValueHeaders"]["Content-Type"] = ["application/json"]
        answer = self.run("app", event, **env)
        return {"status": answer["statusCode"], "body": json.loads(answer["body"] or "null")}

    def deliver(self, session: boto3.Session, queue_url: str, queue_arn: str) -> int:
        """What the SQS event source does with the ingest role: receive, run the handler, delete."""
        sqs = boto3.Session(region_name=REGION, **_keys(self.credentials["ingest_uploads"])).client("sqs")
        delivered = 0
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1).get("Messages", []):
            self.receipt = messages[0]["ReceiptHandle"]  # a failed run leaves it in flight, as Lambda does
            self.run("ingest_uploads", sqs_event(messages[0], queue_arn))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
            delivered += 1
        return delivered


def _keys(env: dict) -> dict:
    return {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
            "aws_session_token": env.get("AWS_SESSION_TOKEN")}


# Grants the walk cannot use, by function, each with why (every other grant is used under IAM).
LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}  # the Lambda runtime writes them: the walk runs none
# S3 wants s3:ListBucket to answer a missing key with 404 rather than 403; moto answers 404 without asking
LIST = {"s3:ListBucket"}
NOT_EXERCISED = {
    # only when a multipart copy of a large version fails; and GetObjectVersion only when a run takes over a
    # claim that had reserved a number, and reads the object version the number was reserved for
    "app": LOGS | LIST | {"s3:AbortMultipartUpload", "s3:GetObjectVersion"},
    "ingest_uploads": LOGS | LIST | {
        "s3:AbortMultipartUpload", "s3:GetObjectVersion",  # as for the API
        "dynamodb:DeleteItem",  # the alias store deletes a reference when an alias leaves a model: uploads never do
        "s3:ListBucketVersions",  # only for an event without versionId (S3 always sends one; the emulator too)
        "sqs:GetQueueAttributes",  # Lambda's SQS poller calls it; the walk plays the poller with receive/delete
    },
    "sweep_incoming": LOGS,
    "publish_events": LOGS,
    "advance_rollouts": LOGS,
}
SCHEDULED = {"version": "0", "id": "00000000-0000-0000-0000-000000000000", "detail-type": "Scheduled Event",
             "source": "aws.events", "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": REGION,
             "resources": [], "detail": {}}


@pytest.fixture(scope="module")
def enforced(deployed, tmp_path_factory):
    """IAM switched on after the deploy: (admin session, Lambda runner, stack outputs, consumer queue url).
    The admin is an IAM user allowed everything (the operator); each function runs under its own role."""
    emulator, session, _, _ = deployed
    iam = session.client("iam")
    iam.create_user(UserName="operator")
    iam.put_user_policy(UserName="operator", PolicyName="everything", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in session.client("cloudformation").describe_stacks(
        StackName=RESOURCES_STACK)["Stacks"][0]["Outputs"]}
    # a consumer of the change events, as docs/events.md makes one
    sqs, events = session.client("sqs"), session.client("events")
    consumer = sqs.create_queue(QueueName="rehearsal-alias-moved")["QueueUrl"]
    consumer_arn = sqs.get_queue_attributes(QueueUrl=consumer, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="rehearsal-alias-moved", EventBusName=outputs["EventBusName"],
                    EventPattern=json.dumps({"source": ["mme-registry"], "detail-type": ["AliasMoved"]}))
    events.put_targets(Rule="rehearsal-alias-moved", EventBusName=outputs["EventBusName"],
                       Targets=[{"Id": "queue", "Arn": consumer_arn}])
    package = _package_module()
    unzipped = tmp_path_factory.mktemp("lambda")
    with zipfile.ZipFile(ROOT / "build" / "lambda" / "deployment.zip") as archive:
        archive.extractall(unzipped)
    runner = Lambda(emulator, session, unzipped, package.find_python313())
    emulator.enforce_iam()
    admin = boto3.Session(region_name=REGION, aws_access_key_id=key["AccessKeyId"],
                          aws_secret_access_key=key["SecretAccessKey"])
    with pytest.raises(ClientError, match="InvalidAccessKeyId"):
        session.client("s3").list_buckets()  # the deploy's anonymous credentials no longer pass
    return admin, runner, outputs, consumer


def _operator(admin: boto3.Session, *args: str) -> subprocess.CompletedProcess:
    """An operations command of the manual, run with the operator's credentials."""
    keys = admin.get_credentials()
    env = {**{k: v for k, v in os.environ.items() if k != "AWS_SESSION_TOKEN"}, "AWS_DEFAULT_REGION": REGION,
           "AWS_ACCESS_KEY_ID": keys.access_key, "AWS_SECRET_ACCESS_KEY": keys.secret_key}
    return subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "publisher", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=env)


def test_every_function_runs_under_its_own_role_with_iam_enforced(deployed, enforced):
    admin, runner, outputs, consumer = enforced
    started = time.monotonic()
    s3, sqs = admin.client("s3"), admin.client("sqs")
    bucket = outputs["Bucket"]
    queue = sqs.get_queue_url(QueueName=outputs["IngestQueueName"])["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    # drop → version → alias (after a warm-up on the endpoint the publisher made) → change event
    s3.put_object(Bucket=bucket, Key="incoming/rehearsal.tar.gz", Body=valid_mxnet(prefix="a"),
                  Metadata={"alias": "rehearsal"})
    assert runner.deliver(admin, queue, queue_arn) >= 1
    alias = runner.api("GET", "/aliases/{alias}", {"alias": "rehearsal"})
    assert alias["status"] == 200, alias
    assert "rehearsal_v1.tar.gz" in json.dumps(alias["body"])
    metrics = runner.api("GET", "/aliases/{alias}/metrics", {"alias": "rehearsal"}, query={"minutes": "60"})
    assert metrics["status"] == 200 and metrics["body"]["versions"][0]["version"] == 1, metrics  # CloudWatch read
    runner.run("publish_events", SCHEDULED)
    moved = sqs.receive_message(QueueUrl=consumer, WaitTimeSeconds=1).get("Messages", [])
    assert moved and json.loads(moved[0]["Body"])["detail"]["alias"] == "rehearsal"
    sqs.delete_message(QueueUrl=consumer, ReceiptHandle=moved[0]["ReceiptHandle"])

    # a REST registration from staging/: small → 201; over the (lowered) deferred threshold → 202, then accepted
    s3.put_object(Bucket=bucket, Key="staging/staged.tar.gz", Body=valid_mxnet(prefix="b"))
    small = runner.api("POST", "/models/{name}/versions", {"name": "staged"},
                       {"source": f"s3://{bucket}/staging/staged.tar.gz"})
    assert small["status"] == 201, small
    s3.put_object(Bucket=bucket, Key="staging/staged-2.tar.gz", Body=valid_mxnet(prefix="c"))
    large = runner.api("POST", "/models/{name}/versions", {"name": "staged"},
                       {"source": f"s3://{bucket}/staging/staged-2.tar.gz"}, **LOW_THRESHOLD)
    assert large["status"] == 202, large
    assert runner.deliver(admin, queue, queue_arn) == 1
    second = runner.api("GET", "/models/{name}/versions/{n}", {"name": "staged", "n": "2"})
    assert second["status"] == 200, second

    # a registration whose source is missing is a 4xx, not a 500 (S3 answers 404 only to a role that may list)
    missing = runner.api("POST", "/models/{name}/versions", {"name": "staged"},
                         {"source": f"s3://{bucket}/staging/missing.tar.gz"})
    assert 400 <= missing["status"] < 500, missing

    # what people say of a version: tagged and approved (compare-and-set, history, events), then found by its tag
    tagged = runner.api("PATCH", "/models/{name}/versions/{n}", {"name": "staged", "n": "2"},
                        {"tags": {"team": "rehearsal"}, "expected_revision": 0})
    assert tagged["status"] == 200, tagged
    approved = runner.api("PUT", "/models/{name}/versions/{n}/approval", {"name": "staged", "n": "2"},
                          {"status": "Approved", "reason": "rehearsed"})
    assert approved["status"] == 200 and approved["body"]["approval"]["status"] == "Approved", approved
    found = runner.api("GET", "/models", query={"tag": "team:rehearsal"})
    assert [item["name"] for item in found["body"]["items"]] == ["staged"], found

    # an alias made and deleted through the API
    made = runner.api("PUT", "/aliases/{alias}", {"alias": "rehearsal-tmp"}, {"model": "staged", "version": 2})
    assert made["status"] == 200, made
    # reference samples for the model, and a shadow comparison of v1 beside the alias's v2 (writes samples/,
    # reads them back, invokes the endpoint, records the comparison with its event)
    sampled = runner.api("POST", "/models/{name}/samples", {"name": "staged"}, {"samples": [{"instances": [[0]]}]})
    assert sampled["status"] == 201, sampled
    shadowed = runner.api("POST", "/aliases/{alias}/shadow", {"alias": "rehearsal-tmp"},
                          {"model": "staged", "version": 1})
    assert shadowed["status"] == 200 and len(shadowed["body"]["comparisons"]) == 1, shadowed
    assert runner.api("DELETE", "/aliases/{alias}", {"alias": "rehearsal-tmp"})["status"] == 200

    # a canary rollout started through the API, judged on per-model metrics and promoted by the advancer
    canary = {"alias": "rehearsal-canary"}
    assert runner.api("PUT", "/aliases/{alias}", canary, {"model": "staged", "version": 1})["status"] == 200
    rollout = runner.api("POST", "/aliases/{alias}/rollouts", canary, {
        "model": "staged", "version": 2, "steps": [50, 100], "bake_seconds": 5, "max_error_rate": 0.5,
        "max_p99_ratio": 10, "min_requests": 1})
    assert rollout["status"] == 201, rollout
    dimensions = [{"Name": "Alias", "Value": "rehearsal-canary"}, {"Name": "Model", "Value": "staged"},
                  {"Name": "Version", "Value": "2"}]
    admin.client("cloudwatch").put_metric_data(Namespace="MMERegistry", MetricData=[
        {"MetricName": "Requests", "Dimensions": dimensions, "Value": 3, "Unit": "Count"},
        {"MetricName": "Latency", "Dimensions": dimensions, "Values": [12.0], "Counts": [3], "Unit": "Milliseconds"}])
    time.sleep(5)  # the bake
    assert runner.run("advance_rollouts", SCHEDULED) == {"rehearsal-canary": "promoted"}, runner.denied
    promoted = runner.api("GET", "/aliases/{alias}", canary)["body"]
    assert [(t["version"], t["weight"]) for t in promoted["targets"]] == [(2, 100)], promoted

    # the sweep announces an upload whose S3 event was lost, and the ingest makes it a version
    s3.put_object(Bucket=bucket, Key="incoming/swept.tar.gz", Body=valid_mxnet(prefix="g"))
    [lost] = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=lost["ReceiptHandle"])
    runner.run("sweep_incoming", SCHEDULED, REGISTRY_SWEEP_AFTER_SECONDS="0")
    assert runner.deliver(admin, queue, queue_arn) == 1
    assert runner.api("GET", "/models/{name}/versions/{n}", {"name": "swept", "n": "1"})["status"] == 200

    # retire (the operator): staged v1 is neither latest nor an alias's target
    retired = _operator(admin, "retire", "--stack", RESOURCES_STACK, "--older-than", "0s")
    assert retired.returncode == 0, retired.stdout + retired.stderr
    assert "retired" in retired.stdout
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="models/staged_v1.tar.gz")

    # dead letters: an upload's event parked in the DLQ is listed, redriven and ingested under the ingest role
    s3.put_object(Bucket=bucket, Key="incoming/late.tar.gz", Body=valid_mxnet(prefix="d"))
    [notified] = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    sqs.send_message(QueueUrl=outputs["DeadLetterQueueUrl"], MessageBody=notified["Body"])
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=notified["ReceiptHandle"])
    listed = _operator(admin, "dead-letters", "list", "--stack", RESOURCES_STACK)
    assert listed.returncode == 0 and "late" in listed.stdout, listed.stdout + listed.stderr
    redriven = _operator(admin, "dead-letters", "redrive", "--stack", RESOURCES_STACK, "--all")
    assert redriven.returncode == 0, redriven.stdout + redriven.stderr
    assert runner.deliver(admin, queue, queue_arn) == 1
    assert runner.api("GET", "/models/{name}/versions/{n}", {"name": "late", "n": "1"})["status"] == 200

    # events redrive: events the publisher could not send (its role lost events:PutEvents) are dead-lettered,
    # and once the grant is back the operator's redrive puts them in the outbox for the next run
    s3.put_object(Bucket=bucket, Key="incoming/rehearsal.tar.gz", Body=valid_mxnet(prefix="f"),
                  Metadata={"alias": "rehearsal"})
    assert runner.deliver(admin, queue, queue_arn) == 1
    publisher_role = runner.functions["publish_events"].role_arn
    with rehearsal.without_grant(admin.client("iam"), publisher_role, "events:PutEvents"):
        runner.run("publish_events", SCHEDULED, REGISTRY_PUBLISH_BUDGET="1")
        assert any(denial.endswith(" events:PutEvents") for denial in runner.denied), runner.denied
    parked = sqs.get_queue_url(QueueName=outputs["EventsDeadLetterQueueName"])["QueueUrl"]
    assert int(sqs.get_queue_attributes(QueueUrl=parked, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"]) >= 1
    events_redrive = _operator(admin, "events-redrive", "--stack", RESOURCES_STACK)
    assert events_redrive.returncode == 0, events_redrive.stdout + events_redrive.stderr
    runner.run("publish_events", SCHEDULED)
    moved = sqs.receive_message(QueueUrl=consumer, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", [])
    details = [json.loads(message["Body"])["detail"] for message in moved]
    assert [d["to"]["targets"][0]["version"] for d in details if d["alias"] == "rehearsal"] == [2], details
    print(f"{time.monotonic() - started:6.1f} s  the walk under IAM")

    # every grant of every role was used by the walk (so taking any one away fails it), but the named ones
    emulator, iam = deployed[0], admin.client("iam")
    allowed = emulator.denials(decision="allowed")
    unused = {}
    for handler, function in runner.functions.items():
        role = function.role_arn.rsplit("/", 1)[1]
        used = {entry.rsplit(" ", 1)[1] for entry in allowed if f"/{role}/" in entry}
        unused[handler] = sorted(rehearsal.granted_actions(iam, function.role_arn) - used)
    print(f"grants the walk did not use: {unused}")
    assert unused == {handler: sorted(actions) for handler, actions in NOT_EXERCISED.items()}


def _models(runner):
    answer = runner.api("GET", "/models")
    assert answer["status"] == 200, answer


def _sweep(runner):
    runner.run("sweep_incoming", SCHEDULED)


def _publish(runner):
    runner.run("publish_events", SCHEDULED)


def _alias(runner):
    answer = runner.api("GET", "/aliases/{alias}", {"alias": "rehearsal"})
    assert answer["status"] == 200, answer


def _metrics(runner):
    answer = runner.api("GET", "/aliases/{alias}/metrics", {"alias": "rehearsal"})
    assert answer["status"] == 200, answer


@pytest.mark.parametrize("handler, action, step", [
    ("app", "dynamodb:Query", _models),
    ("app", "dynamodb:GetItem", _alias),
    ("app", "cloudwatch:GetMetricData", _metrics),
    ("sweep_incoming", "s3:ListBucket", _sweep),
    ("publish_events", "sqs:GetQueueUrl", _publish),
    ("publish_events", "dynamodb:Query", _publish),
])
def test_a_grant_taken_from_a_role_fails_its_function_with_the_action_named(deployed, enforced, handler, action,
                                                                              step):
    admin, runner, _, _ = enforced
    role = runner.functions[handler].role_arn
    step(runner)  # GIVEN the step passes under the deployed role
    # WHEN the role loses one grant
    with rehearsal.without_grant(admin.client("iam"), role, action):
        # THEN the step fails, and what IAM denied is that action, by that role
        with pytest.raises(AssertionError):
            step(runner)
        assert any(denial.endswith(f" {action}") and role.rsplit("/", 1)[1] in denial for denial in runner.denied), \
            runner.denied
    step(runner)


def test_a_deferred_registration_needs_the_ingest_role_to_read_what_the_api_accepts(deployed, enforced):
    """The ingest role reading only incoming/, models/ and rejected/ (as before) dead-letters every registration
    over the deferred threshold: the API accepts only sources outside them."""
    admin, runner, outputs, _ = enforced
    s3, sqs = admin.client("s3"), admin.client("sqs")
    bucket = outputs["Bucket"]
    queue = sqs.get_queue_url(QueueName=outputs["IngestQueueName"])["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_object(Bucket=bucket, Key="staging/narrow.tar.gz", Body=valid_mxnet(prefix="e"))
    registered = runner.api("POST", "/models/{name}/versions", {"name": "narrow"},
                            {"source": f"s3://{bucket}/staging/narrow.tar.gz"}, **LOW_THRESHOLD)
    assert registered["status"] == 202, registered
    owned = [f"{outputs['BucketArn']}/{prefix}*" for prefix in ("incoming/", "models/", "rejected/")]
    with rehearsal.without_grant(admin.client("iam"), runner.functions["ingest_uploads"].role_arn, "s3:GetObject",
                                 keep_resources=lambda _: owned):
        with pytest.raises(AssertionError):
            runner.deliver(admin, queue, queue_arn)
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=runner.receipt, VisibilityTimeout=0)  # time passes
    assert any(d.endswith(" s3:GetObject") or d.endswith(" s3:GetObjectVersion") for d in runner.denied), runner.denied
    assert runner.deliver(admin, queue, queue_arn) == 1  # the redelivery, with the template's grant, is accepted
    assert runner.api("GET", "/models/{name}/versions/{n}", {"name": "narrow", "n": "1"})["status"] == 200
