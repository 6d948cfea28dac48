"""The Lambda package as AWS would run it: built by `make package`'s code, unzipped, imported by
Python 3.13 with nothing else on its path, and driven with real events against the AWS emulator.

The S3 → SQS message body is the one the emulator's bucket notification produced for a real
upload, wrapped in the SQS event envelope Lambda hands to `ingest_uploads`; the API is driven
through the packaged Chalice app object with API Gateway proxy events.
"""
import importlib.util
import json
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
import requests

from chalicelib.settings import Settings
from hostile_tarballs import valid_mxnet
from local_stack.aws.emulator import EmulatorServer
from local_stack.aws.provision import provision

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("lambda_package")]  # one worker builds it
ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("lambda_driver.py")


def _package_module():
    spec = importlib.util.spec_from_file_location("lambda_package", ROOT / "deploy" / "package.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built():
    """(package folder, python3.13): the cached build for the current inputs, built if missing."""
    package = _package_module()
    return package.build(), package.find_python313()


@pytest.fixture(scope="module")
def unzipped(built, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lambda")
    with zipfile.ZipFile(built[0] / "deployment.zip") as archive:
        archive.extractall(folder)
    return folder


@pytest.fixture
def aws(monkeypatch):
    """A provisioned emulator (moto server) and the environment the packaged functions get in AWS."""
    settings = Settings()
    with EmulatorServer() as server:
        # moto's state lives in this process, not in the server: start from a clean one
        requests.post(f"{server.url}/moto-api/reset", timeout=10).raise_for_status()
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        session = boto3.Session(region_name=settings.region)
        resources = provision(session, settings)
        session.client("sqs").purge_queue(QueueUrl=resources["queue_url"])  # the s3:TestEvent
        env = {"AWS_ENDPOINT_URL": server.url, "AWS_DEFAULT_REGION": settings.region,
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
               "REGISTRY_AUTH": "iam", "REGISTRY_BUCKET": settings.bucket, "REGISTRY_TABLE": settings.table,
               "REGISTRY_EVENTS_TABLE": settings.events_table, "REGISTRY_QUEUE": settings.queue,
               "REGISTRY_ENDPOINT": settings.endpoint, "REGISTRY_REGION": settings.region}
        yield session, settings, resources, env


def invoke(built, unzipped, env, handler: str, event: dict) -> dict:
    done = subprocess.run([str(built[1]), "-I", "-S", str(DRIVER), str(unzipped), handler], input=json.dumps(event),
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, f"the packaged {handler} failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.splitlines()[-1])


def sqs_event(message: dict, queue_arn: str) -> dict:
    """The envelope Lambda's SQS event source wraps around each received message."""
    return {"Records": [{
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "s3",
                       "ApproximateFirstReceiveTimestamp": "0"},
        "messageAttributes": {}, "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn, "awsRegion": "us-east-1",
    }]}


def api_event(method: str, resource: str, path_parameters: dict | None = None) -> dict:
    """An API Gateway REST proxy event, as the IAM-authorised prod API passes it on."""
    path = resource.format(**(path_parameters or {}))
    return {
        "resource": resource, "path": path, "httpMethod": method, "body": None, "isBase64Encoded": False,
        "headers": {"Host": "example.execute-api.us-east-1.amazonaws.com"},
        "multiValueHeaders": {"Host": ["example.execute-api.us-east-1.amazonaws.com"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters, "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": method, "path": f"/api{path}", "stage": "api",
                           "requestId": str(uuid.uuid4()),
                           "identity": {"userArn": "arn:aws:iam::123456789012:user/tester", "sourceIp": "127.0.0.1"}},
    }


def test_the_packaged_ingest_handler_turns_a_dropped_upload_into_a_version(built, unzipped, aws):
    # GIVEN an upload in the drop folder and the notification S3 sent for it
    session, settings, resources, env = aws
    s3, sqs = session.client("s3"), session.client("sqs")
    tarball = valid_mxnet()
    s3.put_object(Bucket=settings.bucket, Key="incoming/smoke.tar.gz", Body=tarball)
    messages = sqs.receive_message(QueueUrl=resources["queue_url"], WaitTimeSeconds=2).get("Messages", [])
    assert len(messages) == 1 and "ObjectCreated" in messages[0]["Body"]

    # WHEN the packaged handler receives it under Python 3.13
    answer = invoke(built, unzipped, env, "ingest_uploads", sqs_event(messages[0], resources["queue_arn"]))

    # THEN it ran on the package's own botocore, and the upload became version 1
    assert answer["python"] == [3, 13]
    assert answer["botocore_file"].startswith(str(unzipped)) and answer["botocore"] == "1.44.5"
    assert s3.get_object(Bucket=settings.bucket, Key="models/smoke_v1.tar.gz")["Body"].read() == tarball
    version = invoke(built, unzipped, env, "app",
                     api_event("GET", "/models/{name}/versions/{n}", {"name": "smoke", "n": "1"}))["answer"]
    assert version["statusCode"] == 200, version
    assert json.loads(version["body"])["target_model"] == "smoke_v1.tar.gz"
    listed = s3.list_objects_v2(Bucket=settings.bucket, Prefix="incoming/").get("Contents", [])
    assert listed == []  # the drop folder is cleared once the version is recorded


def test_the_packaged_api_answers_health_and_lists_models(built, unzipped, aws):
    env = aws[3]

    health = invoke(built, unzipped, env, "app", api_event("GET", "/health"))["answer"]
    models = invoke(built, unzipped, env, "app", api_event("GET", "/models"))["answer"]

    assert health["statusCode"] == 200 and json.loads(health["body"])["endpoint"] == Settings().endpoint
    assert models["statusCode"] == 200 and json.loads(models["body"])["items"] == []


def test_the_package_holds_python_313_wheels_and_no_other(built):
    with zipfile.ZipFile(built[0] / "deployment.zip") as archive:
        extensions = [name for name in archive.namelist() if name.endswith(".so")]
    assert extensions, "pydantic_core and isal ship compiled extensions"
    assert all("cpython-313-x86_64-linux-gnu" in name for name in extensions), extensions


def test_cfn_lint_finds_nothing_in_the_generated_and_the_resources_template(built):
    done = subprocess.run([str(Path(sys.executable).with_name("cfn-lint")),
                           str(built[0] / "sam.yaml"), str(ROOT / "deploy" / "resources.yaml")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_generated_template_runs_python_313_bound_to_the_resources_stack(built):
    import yaml

    resources = yaml.safe_load((built[0] / "sam.yaml").read_text())["Resources"]
    functions = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    trigger = functions["IngestUploads"]["Events"]["IngestUploadsSqsEventSource"]["Properties"]

    assert {f["Runtime"] for f in functions.values()} == {"python3.13"}
    assert trigger["Queue"] == {"Fn::Sub": ["${QueueArn}", {
        "QueueArn": {"Fn::ImportValue": {"Fn::Sub": "${ResourcesStack}-IngestQueueArn"}}}]}
    assert trigger["BatchSize"] == 1 and trigger["ScalingConfig"]["MaximumConcurrency"] >= 2
    assert {f["LoggingConfig"]["LogGroup"]["Ref"] for f in functions.values()} == {
        "APIHandlerLogGroup", "IngestUploadsLogGroup", "SweepIncomingLogGroup", "PublishEventsLogGroup",
        "AdvanceRolloutsLogGroup"}
    roles = {f["Role"]["Fn::GetAtt"][0] for f in functions.values()}
    assert len(roles) == len(functions) == 5, "one role per function"
    # reserved only when asked (ReservePublisherConcurrency): a low-quota account cannot reserve any
    assert functions["PublishEvents"]["ReservedConcurrentExecutions"] == {
        "Fn::If": ["ReservePublisher", 1, {"Ref": "AWS::NoValue"}]}
