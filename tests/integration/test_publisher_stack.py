"""Operations commands against a deployed registry: names from the resources stack's Outputs, region from the caller.

deploy/resources.yaml is created by the emulator's CloudFormation in eu-west-1 with a Prefix that is not the local
stack's, so a command that fell back on the local names or on us-east-1 would find nothing there. moto 5.2.5's
CloudFormation cannot create the template's example consumer (its rule's `EventBusName: !Ref EventBus` resolves to
moto's Python object, not the bus name, and the request fails with a 500): the stack is created without the
ExampleAliasMoved* resources and outputs, which no command reads. `deploy --stack` needs the execution role and
image repository outputs too: a small stack holds those (see `images`).
"""
import json
import os
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from cfnlint.decode import decode_str

from chalicelib.events import S3Upload, notification_body
from chalicelib.settings import Settings
from local_stack.aws.emulator import EmulatorServer
from publisher.cli import main as publisher

pytestmark = pytest.mark.xdist_group("moto-server")

ROOT = Path(__file__).resolve().parents[2]
REGION, STACK, PREFIX = "eu-west-1", "acme-registry-resources", "acme-registry"
IMAGES_STACK = "acme-registry-images"
IMAGES_TEMPLATE = """
Resources:
  ModelBucket: {Type: AWS::S3::Bucket, Properties: {BucketName: acme-models}}
  ExecutionRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {Service: sagemaker.amazonaws.com}, Action: "sts:AssumeRole"}]
  ImageRepository: {Type: AWS::ECR::Repository, Properties: {RepositoryName: acme-registry}}
Outputs:
  Bucket: {Value: !Ref ModelBucket}
  ExecutionRoleArn: {Value: !GetAtt ExecutionRole.Arn}
  ImageRepositoryUri: {Value: !GetAtt ImageRepository.RepositoryUri}
"""


def resources_template() -> str:
    template, problems = decode_str((ROOT / "deploy" / "resources.yaml").read_text())
    assert not problems
    for section in ("Resources", "Outputs"):
        for name in [name for name in template[section] if name.startswith("ExampleAliasMoved")]:
            del template[section][name]
    return json.dumps(template)


@pytest.fixture(scope="module")
def stack():
    """The resources stack in eu-west-1, reached as an operator's shell would: AWS_DEFAULT_REGION, no REGISTRY_*."""
    with pytest.MonkeyPatch.context() as patch, EmulatorServer() as server:
        patch.setenv("AWS_ENDPOINT_URL", server.url)
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        for name in [name for name in os.environ if name.startswith("REGISTRY_")]:
            patch.delenv(name)
        session = boto3.Session()
        session.client("cloudformation").create_stack(
            StackName=STACK, TemplateBody=resources_template(),
            Parameters=[{"ParameterKey": "Prefix", "ParameterValue": PREFIX}])
        yield SimpleNamespace(session=session, settings=Settings(
            bucket=f"{PREFIX}-123456789012-{REGION}", table=PREFIX, events_table=f"{PREFIX}-events",
            queue=f"{PREFIX}-ingest", region=REGION))


def queue_url(session, name: str) -> str:
    return session.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def messages_in(session, name: str) -> list[str]:
    answer = session.client("sqs").receive_message(QueueUrl=queue_url(session, name), MaxNumberOfMessages=10,
                                                   VisibilityTimeout=0)
    return [message["Body"] for message in answer.get("Messages", [])]


def test_retire_with_a_stack_retires_from_that_stacks_table_and_bucket_in_the_callers_region(stack, make_seeder):
    from chalicelib.versions.store import RegistryStore

    # GIVEN three versions of digits in the stack's table, each with its key in the stack's bucket
    dynamodb, s3 = stack.session.client("dynamodb"), stack.session.client("s3")
    app = SimpleNamespace(settings=stack.settings, get_session=lambda: stack.session,
                          get_store=lambda: RegistryStore(dynamodb, PREFIX))
    seed = make_seeder(app)
    for _ in range(3):
        s3.put_object(Bucket=stack.settings.bucket, Key=seed.version("digits").target_key, Body=b"model bytes")

    # WHEN the operator retires with --stack and nothing else
    assert publisher(["retire", "--stack", STACK, "--older-than", "0s"]) == 0

    # THEN the two older versions left the stack's bucket and the latest stayed
    keys = [obj["Key"] for obj in s3.list_objects_v2(Bucket=stack.settings.bucket, Prefix="models/")["Contents"]]
    assert keys == ["models/digits_v3.tar.gz"]


def test_dead_letters_with_a_stack_list_and_redrive_the_stacks_queues(stack, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    # GIVEN a dead-lettered notification of an upload to the stack's bucket
    upload = S3Upload(bucket=stack.settings.bucket, key="incoming/digits.tar.gz", etag="0" * 32, size=10,
                      sequencer="01")
    sqs = stack.session.client("sqs")
    sqs.send_message(QueueUrl=queue_url(stack.session, f"{PREFIX}-ingest-dlq"), MessageBody=notification_body(upload))

    # WHEN the operator lists them with --stack
    assert publisher(["dead-letters", "list", "--stack", STACK]) == 0
    # THEN the listing names the upload and says how to redrive with the same stack
    listed = capsys.readouterr().out
    assert upload.event_id in listed and f"s3://{stack.settings.bucket}/incoming/digits.tar.gz" in listed
    assert f"dead-letters redrive --stack {STACK} --all" in listed

    # WHEN the operator redrives them, THEN the message is back in the stack's ingest queue
    assert publisher(["dead-letters", "redrive", "--stack", STACK, "--all"]) == 0
    assert messages_in(stack.session, f"{PREFIX}-ingest") == [notification_body(upload)]
    assert messages_in(stack.session, f"{PREFIX}-ingest-dlq") == []


def test_events_redrive_with_a_stack_moves_the_stacks_dead_letters_into_its_outbox(stack):
    from change_events import outbox_events

    from chalicelib.outbox.changes import version_retired
    from chalicelib.records import utcnow

    # GIVEN a change event in the stack's events dead-letter queue, as the publisher parks one
    event = version_retired("digits", 1, utcnow(), "ops")
    stack.session.client("sqs").send_message(QueueUrl=queue_url(stack.session, f"{PREFIX}-events-dlq"),
                                             MessageBody=json.dumps(event, sort_keys=True))

    # WHEN the operator redrives with --stack
    assert publisher(["events-redrive", "--stack", STACK]) == 0

    # THEN the event is in the stack's outbox and its dead-letter queue is empty
    assert event["event_id"] in {e["event_id"] for e in outbox_events(stack.session.client("dynamodb"), PREFIX)}
    assert messages_in(stack.session, f"{PREFIX}-events-dlq") == []


def test_a_stack_is_looked_up_in_the_callers_region_not_in_us_east_1(stack, capsys, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    assert publisher(["events-redrive", "--stack", STACK]) == 2
    assert f"no stack {STACK} in us-east-1" in capsys.readouterr().out.replace("\n", " ")
    assert publisher(["events-redrive", "--stack", STACK, "--region", REGION]) == 0


@pytest.mark.parametrize("command", [["retire", "--older-than", "7d"], ["dead-letters", "list"], ["events-redrive"]])
def test_against_aws_without_a_stack_or_names_a_command_refuses_rather_than_use_the_local_names(
        command, capsys, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name in [name for name in os.environ if name.startswith("REGISTRY_")]:
        monkeypatch.delenv(name)

    assert publisher(command) == 2
    out = capsys.readouterr().out.replace("\n", " ")
    assert "give --stack STACK" in out and "REGISTRY_TABLE" in out


@pytest.fixture(scope="module")
def images(stack):
    """A stack with the deploy outputs (bucket, execution role, image repository) and an image pushed as `latest`."""
    from conftest_publisher import patch_moto_sagemaker

    with pytest.MonkeyPatch.context() as patch:
        patch_moto_sagemaker(patch)
        cloudformation = stack.session.client("cloudformation")
        cloudformation.create_stack(StackName=IMAGES_STACK, TemplateBody=IMAGES_TEMPLATE)
        outputs = {o["OutputKey"]: o["OutputValue"]
                   for o in cloudformation.describe_stacks(StackName=IMAGES_STACK)["Stacks"][0]["Outputs"]}
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                               "digest": "sha256:" + "1" * 64}, "layers": []}
        pushed = stack.session.client("ecr").put_image(repositoryName="acme-registry", imageTag="latest",
                                                       imageManifest=json.dumps(manifest))["image"]["imageId"]
        yield SimpleNamespace(outputs=outputs, digest=pushed["imageDigest"])


def test_deploy_with_a_stack_takes_bucket_role_and_image_from_it_and_pins_the_image(stack, images):
    sagemaker = stack.session.client("sagemaker")

    assert publisher(["deploy", "--stack", IMAGES_STACK, "--endpoint-name", "acme-mme", "--instance-type",
                      "ml.m5.large", "--poll-seconds", "1"]) == 0

    config = sagemaker.describe_endpoint_config(
        EndpointConfigName=sagemaker.describe_endpoint(EndpointName="acme-mme")["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["ExecutionRoleArn"] == images.outputs["ExecutionRoleArn"]
    assert model["PrimaryContainer"]["Image"] == f"{images.outputs['ImageRepositoryUri']}@{images.digest}"
    assert model["PrimaryContainer"]["ModelDataUrl"] == "s3://acme-models/models/"
    assert f":sagemaker:{REGION}:" in model["ModelArn"]


def test_deploy_with_a_stack_refuses_a_tag_never_pushed_before_any_change_and_flags_still_win(stack, images, capsys):
    sagemaker = stack.session.client("sagemaker")

    assert publisher(["deploy", "--stack", IMAGES_STACK, "--image-tag", "v9", "--endpoint-name", "acme-mme-2",
                      "--instance-type", "ml.m5.large"]) == 2
    assert "acme-registry:v9 is not there" in capsys.readouterr().out.replace("\n", "")
    assert sagemaker.list_endpoints(NameContains="acme-mme-2")["Endpoints"] == []

    assert publisher(["deploy", "--stack", IMAGES_STACK, "--image", "example.com/mme:1", "--bucket", "other-bucket",
                      "--endpoint-name", "acme-mme-2", "--instance-type", "ml.m5.large", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "example.com/mme:1" in out and "s3://other-bucket/models/" in out
