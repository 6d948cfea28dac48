"""The AWS emulator: a moto server on 127.0.0.1 that answers one request at a time.

DynamoDB evaluates every conditional write and transaction atomically; moto's
backends take no locks, so two threads can both pass the same condition. Serialising
requests gives the emulator the atomicity the registry's compare-and-set relies on
(clients still race exactly as they would against AWS).

It fills two gaps of moto 5.2.5's SageMaker control plane, so sagemaker-core
(the publisher) works against it as against AWS:
- moto describes unset structures as empty objects (`VpcConfig: {}` on a Model,
  `DataCaptureConfig: {}` on an EndpointConfig and an Endpoint) where AWS omits them,
  and sagemaker-core's shapes reject those (required members missing): the describe
  answers drop them;
- moto has no UpdateEndpoint: it is added, answering InService at once as moto's
  CreateEndpoint does (AWS passes through Updating first), and keeping the request's
  DeploymentConfig as the endpoint's LastDeploymentConfig, as DescribeEndpoint reports it.
  It never fails, so it never rolls back: tests drive a failed update through moto's
  backend (tests/integration/test_publisher_outcome.py).
And one gap of its S3 notifications: moto leaves `versionId` out of the event of a versioned
bucket, where S3 always puts it. Without it the ingest must find the version by listing the
key's versions (deliveries.identified), and moto answers ListObjectVersions by deep-copying
every version of every key in the bucket, bytes included: seconds per event once the bucket
holds a few large models. The events carry it, as S3's do.
And two of its S3 copies (`s3_copy_gaps`), where S3 refuses with 412 PreconditionFailed and moto
copies: CopyObject with `If-None-Match: *` onto a key that exists (moto honours it on PutObject and
CompleteMultipartUpload only; the ingest copies to models/ on that condition alone, with no HEAD
first), and CopyObject or UploadPartCopy with `x-amz-copy-source-if-match` on a source that changed
(the import copies what it listed, or nothing).

And two of its EventBridge PutEvents: moto accepts a call of any size, where EventBridge refuses
a call whose entries add up to more than 256 KB (ValidationException, nothing published); and
moto never fails one entry of an accepted call, where EventBridge answers 200 with an ErrorCode
on the entries it did not take (InternalFailure, ThrottlingException). `events_gaps` enforces the
limit and lets a test choose entries to fail that way.

And two of its DynamoDB (dynamodb_gaps.py, beside this module), costs rather than answers: moto walks and sorts every
item of the table for each Query, where DynamoDB reads the partition asked for, and deep-copies
every table a transaction touches (kept, so memory grew with each alias move). A Query walks its
partition and a transaction keeps only its items to undo, so a seeded registry of 100,000 versions
(local_stack/aws/seed.py) answers in milliseconds as DynamoDB would.

Two gaps of its CloudFormation and IAM, filled only for the deploy rehearsal
(tests/e2e/test_deploy_rehearsal.py, `--sam-translator`, `--iam-resources`):
- moto does not run CloudFormation's transforms: a template declaring
  `Transform: AWS::Serverless-2016-10-31` (Chalice's) is expanded by AWS's own SAM translator
  (`samtranslator`, in the rehearsal's tools venv) before moto reads it, as CloudFormation does;
  and a TemplateURL on the emulator's own address (path-style, as the CLI uploads it with
  AWS_ENDPOINT_URL set) is read as bucket/key, where moto takes the host's first label as the bucket;
  and a stack made by executing a change set (what `aws cloudformation deploy` does) imports
  other stacks' exports and gets its own Outputs and Exports, as moto's CreateStack does; and an
  AWS::ApiGateway::RestApi defined by its OpenAPI Body takes its name from the Body's title and
  its routes from the Body's paths, as AWS does, where moto requires a Name and imports no Body;
  and `Ref` of an AWS::Events::EventBus is its name, as in AWS (moto answers the object's repr);
  and an AWS::S3::Bucket gets its VersioningConfiguration and its NotificationConfiguration's
  queues, which moto's CloudFormation ignores (it applies only encryption and tags; lifecycle
  rules and the public access block stay unapplied: nothing in the emulator expires or is public);
- moto authorises a request against its resource's ARN only for S3 and SQS; every other
  action is checked against `*`, which no least-privilege grant matches. DynamoDB (the
  TableName), EventBridge PutEvents (the entries' bus) and SageMaker InvokeEndpoint (the
  endpoint) name their ARN as AWS does; a DynamoDB transaction is authorised item by item
  (dynamodb:PutItem, UpdateItem, ... on each item's table), as AWS does, where moto asks for
  a dynamodb:TransactWriteItems action IAM does not have; SQS GetQueueUrl names the queue of
  its QueueName (moto finds no queue and checks `*`). Every decision is also written to stderr,
  `allowed: <principal> <action>` or `denied: ...`: S3 answers a HEAD with a bare 403, naming no
  action, and the rehearsal checks that its walk used every grant. moto evaluates
  no condition but StringEquals on a trust policy (dynamodb:LeadingKeys is not checked). A role's
  inline policy that CloudFormation made is kept as a document where PutRolePolicy keeps text,
  and moto's authoriser reads only text: it reads both. And moto names an action by the request's
  signing name (monitoring:GetMetricData) where IAM uses the service's prefix (cloudwatch:GetMetricData).

This is the one place moto is patched; tests apply `sagemaker_gaps()`, `s3_event_gaps()`, `events_gaps()`,
`dynamodb_gaps()` and `cloudwatch_gaps()` with monkeypatch, and `s3_copy_gaps()` to every test's emulator.

Run alone with `python -m local_stack.aws.emulator --port 4566` (the gaps filled).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
from urllib.parse import parse_qs, unquote, urlparse

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local_stack.aws.cloudwatch_gaps import cloudwatch_gaps
from local_stack.aws.dynamodb_gaps import dynamodb_gaps


EMPTY_WHEN_UNSET = ("VpcConfig", "DataCaptureConfig")


def _without_empty_structures(describe):
    from moto.core.responses import ActionResult

    def patched(self):
        document = describe(self).result
        return ActionResult({k: v for k, v in document.items() if not (k in EMPTY_WHEN_UNSET and v == {})})

    return patched


def _backend_update_endpoint(self, endpoint_name: str, endpoint_config_name: str, deployment_config=None):
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import FakeEndpoint

    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    config = self.describe_endpoint_config(endpoint_config_name)  # raises ValidationError when missing
    endpoint.endpoint_config_name = endpoint_config_name
    endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
    endpoint.last_modified_time = utcnow()
    if deployment_config:
        endpoint.last_deployment_config = deployment_config
    return endpoint


def _response_update_endpoint(self):
    from moto.core.responses import ActionResult

    endpoint = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        deployment_config=self._get_param("DeploymentConfig"),
    )
    return ActionResult({"EndpointArn": endpoint.arn})


def sagemaker_gaps() -> list[tuple[type, str, object]]:
    """(class, attribute, replacement) for each gap, to apply with setattr or monkeypatch.setattr."""
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    gaps = [(SageMakerModelBackend, "update_endpoint", _backend_update_endpoint),
            (SageMakerResponse, "update_endpoint", _response_update_endpoint)]
    for name in ("describe_model", "describe_endpoint_config", "describe_endpoint"):
        gaps.append((SageMakerResponse, name, _without_empty_structures(getattr(SageMakerResponse, name))))
    return gaps


def _with_version_id(get_s3_event):
    def patched(event_name, bucket, key, notification_id):
        event = get_s3_event(event_name, bucket, key, notification_id)
        if bucket.is_versioned and key.version_id not in (None, "null"):
            for record in event["Records"]:
                record["s3"]["object"]["versionId"] = key.version_id
        return event

    return patched


def s3_event_gaps() -> list[tuple[object, str, object]]:
    """(module, attribute, replacement), as sagemaker_gaps: S3 events of a versioned bucket name the version."""
    from moto.s3 import notifications

    return [(notifications, "_get_s3_event", _with_version_id(notifications._get_s3_event))]


def _copy_refusing_an_existing_target(copy_object):
    def patched(self):
        from moto.s3.exceptions import PreconditionFailed

        if (self.headers.get("If-None-Match") == "*"
                and self.backend.get_object(self.bucket_name, self.parse_key_name()) is not None):
            raise PreconditionFailed("If-None-Match")
        return copy_object(self)

    return patched


def _copy_source_if_match(copy):
    def patched(self):
        wanted = self.headers.get("x-amz-copy-source-if-match")
        if wanted:
            from moto.s3.exceptions import PreconditionFailed

            source = self.headers.get("x-amz-copy-source")
            parsed = urlparse(source.decode() if isinstance(source, bytes) else source)
            bucket, key = unquote(parsed.path).lstrip("/").split("/", 1)
            found = self.backend.get_object(bucket, key, version_id=parse_qs(parsed.query).get("versionId", [None])[0])
            if found is not None and found.etag.strip('"') != wanted.strip('"'):
                raise PreconditionFailed(failed_condition="x-amz-copy-source-If-Match")
        return copy(self)

    return patched


def s3_copy_gaps() -> list[tuple[type, str, object]]:
    """(class, attribute, replacement), as sagemaker_gaps: CopyObject with IfNoneMatch='*' never replaces a key;
    CopyObject and UploadPartCopy honour x-amz-copy-source-if-match (S3 refuses the copy with 412
    PreconditionFailed when the source's ETag differs; moto copies whatever is there), so a copy of a source
    replaced since it was listed fails here too."""
    from moto.s3.responses import S3Response

    return [(S3Response, "copy_object",
             _copy_refusing_an_existing_target(_copy_source_if_match(S3Response.copy_object))),
            (S3Response, "upload_part_copy", _copy_source_if_match(S3Response.upload_part_copy))]


PUT_EVENTS_CALL_LIMIT = 256 * 1024


def _put_events_as_eventbridge(put_events, failing):
    from moto.events.exceptions import ValidationException

    def size(entry: dict) -> int:  # EventBridge's count, kept apart from the publisher's own (sizes.entry_size)
        texts = [entry.get(name) or "" for name in ("Source", "DetailType", "Detail")] + (entry.get("Resources") or [])
        return sum(len(text.encode()) for text in texts) + (14 if entry.get("Time") is not None else 0)

    def patched(self, events):
        if sum(size(event) for event in events) > PUT_EVENTS_CALL_LIMIT:
            raise ValidationException("Total size of the entries in the request is over the limit.")
        refused = [index for index, event in enumerate(events) if failing(event)]
        accepted = iter(put_events(self, [e for index, e in enumerate(events) if index not in refused]))
        return [{"ErrorCode": "InternalFailure", "ErrorMessage": "Internal service error."} if index in refused
                else next(accepted) for index in range(len(events))]

    return patched


def events_gaps(failing=lambda entry: False) -> list[tuple[type, str, object]]:
    """(class, attribute, replacement), as sagemaker_gaps: PutEvents' call size limit, and an InternalFailure
    answered (nothing delivered) for each entry `failing(entry)` picks, as EventBridge answers one it did not take."""
    from moto.events.models import EventsBackend

    return [(EventsBackend, "put_events", _put_events_as_eventbridge(EventsBackend.put_events, failing))]


SERVERLESS = "AWS::Serverless-2016-10-31"
TRANSLATE = ("import json, sys; from samtranslator.translator.transform import transform; "
             "print(json.dumps(transform(json.load(sys.stdin), {}, None)))")


def _expanding_serverless(parse, translator_python: str):
    def patched(template):
        document = parse(template)
        declared = document.get("Transform", []) if isinstance(document, dict) else []
        if SERVERLESS not in ([declared] if isinstance(declared, str) else declared):
            return document
        done = subprocess.run([translator_python, "-c", TRANSLATE], input=json.dumps(document), capture_output=True,
                              text=True, env={**os.environ, "AWS_DEFAULT_REGION": os.environ.get(
                                  "AWS_DEFAULT_REGION", "us-east-1")})
        if done.returncode:
            raise ValueError(f"the SAM transform failed: {done.stderr.strip().splitlines()[-1]}")
        return json.loads(done.stdout)

    return staticmethod(patched)


def _path_style_template_url(get_stack):
    def patched(self, template_url: str) -> str:
        parts = urlparse(template_url)
        if parts.hostname in ("127.0.0.1", "localhost"):
            template_url = f"http://localhost{parts.path}"  # moto reads localhost URLs as path-style
        return get_stack(self, template_url)

    return patched


def _with_outputs(execute):
    def patched(self, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.change_sets.get(change_set_name) or next(
            c for c in self.change_sets.values() if c.change_set_name == change_set_name)
        stack = self.stacks[change_set.stack_id]
        stack.cross_stack_resources = stack.resource_map.cross_stack_resources = self.exports
        execute(self, change_set_name, stack_name)
        stack.template_dict = change_set.template_dict
        stack.output_map = stack._create_output_map()
        for export in stack.exports:
            self.exports[export.name] = export

    return patched


def _named_from_body(create):
    def patched(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        if "Name" not in properties and isinstance(properties.get("Body"), dict):
            properties["Name"] = properties["Body"].get("info", {}).get("title", resource_name)
        api = create.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        body = properties.get("Body")
        if isinstance(body, dict) and body.get("paths"):
            # moto imports OpenAPI 3 only; its import reads just paths and methods, which Swagger 2 shares
            document = {**{k: v for k, v in body.items() if k != "swagger"}, "openapi": "3.0.1"}
            from moto.apigateway.models import apigateway_backends

            apigateway_backends[account_id][region_name].put_rest_api(api.id, document, False, mode="overwrite")
        return api

    return classmethod(patched)


def _configured_bucket(create):
    def patched(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.s3.models import s3_backends

        bucket = create.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        properties = cloudformation_json.get("Properties", {})
        backend = s3_backends[account_id]["aws"]
        if "VersioningConfiguration" in properties:
            backend.put_bucket_versioning(bucket.name, properties["VersioningConfiguration"]["Status"])
        queues = properties.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
        if queues:  # CloudFormation's shape → the S3 API's, which moto reads
            backend.put_bucket_notification_configuration(bucket.name, {"QueueConfiguration": [
                {"Queue": q["Queue"], "Event": [q["Event"]],
                 **({"Filter": {"S3Key": {"FilterRule": q["Filter"]["S3Key"]["Rules"]}}} if "Filter" in q else {})}
                for q in queues]})
        return bucket

    return classmethod(patched)


def cloudformation_gaps(translator_python: str) -> list[tuple[type, str, object]]:
    """(owner, attribute, replacement): templates declaring the SAM transform are expanded by AWS's translator,
    and templates uploaded to the emulator's own address are found."""
    from moto.apigateway.models import RestAPI
    from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Stack
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.events.models import EventBus
    from moto.s3.models import FakeBucket

    parse = _expanding_serverless(Stack.parse_template, translator_python)

    def change_set_parse(self):
        self.template_dict = parse.__func__(self.template)

    return [(Stack, "parse_template", parse), (ChangeSet, "_parse_template", change_set_parse),
            (CloudFormationResponse, "_get_stack_from_s3_url",
             _path_style_template_url(CloudFormationResponse._get_stack_from_s3_url)),
            (CloudFormationBackend, "execute_change_set", _with_outputs(CloudFormationBackend.execute_change_set)),
            (RestAPI, "create_from_cloudformation_json", _named_from_body(RestAPI.create_from_cloudformation_json)),
            (EventBus, "physical_resource_id", property(lambda bus: bus.name)),
            (FakeBucket, "create_from_cloudformation_json",
             _configured_bucket(FakeBucket.create_from_cloudformation_json))]


def _table_arn(self, table: str | None) -> str:
    return f"arn:aws:dynamodb:{self.region}:{self.current_account}:table/{table}" if table else "*"


def _dynamodb_resource(self) -> str:
    body = self.body if isinstance(self.body, dict) else {}
    table = body.get("TableName") or next(iter(body.get("RequestItems") or {}), None)
    return _table_arn(self, table)


def _sqs_resource(determine):
    def patched(self) -> str:
        name = self._get_param("QueueName")
        if name and self._get_action() == "GetQueueUrl":
            return f"arn:aws:sqs:{self.region}:{self.current_account}:{name}"
        return determine(self)

    return patched


TRANSACTION_ITEMS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def _item_by_item(authorize):
    def patched(self, resource: str = "*") -> None:
        body = self.body if isinstance(self.body, dict) else {}
        if self._get_action() not in ("TransactWriteItems", "TransactGetItems"):
            return authorize(self, resource)
        try:
            for item in body.get("TransactItems", []):
                (kind, spec), = item.items()
                self._get_action = lambda kind=kind: TRANSACTION_ITEMS[kind]
                authorize(self, _table_arn(self, spec.get("TableName")))
        finally:
            self.__dict__.pop("_get_action", None)

    return patched


def _events_resource(self) -> str:
    entries = self._get_param("Entries") or []
    bus = (entries[0].get("EventBusName") if entries else None) or self._get_param("EventBusName") or "default"
    return bus if bus.startswith("arn:") else f"arn:aws:events:{self.region}:{self.current_account}:event-bus/{bus}"


def _sagemaker_runtime_resource(self) -> str:
    name = self.path.split("/")[2] if self.path.startswith("/endpoints/") else None
    return f"arn:aws:sagemaker:{self.region}:{self.current_account}:endpoint/{name.lower()}" if name else "*"


def _reading_documents(init):
    def patched(self, policy):
        is_document = isinstance(policy, dict) and "Statement" in policy
        init(self, json.dumps(policy) if is_document else policy)

    return patched


def _logging_decisions(check):
    def patched(self, resource: str) -> None:
        try:
            check(self, resource)
        except Exception:
            print(f"denied: {self._access_key.arn} {self._action}", file=sys.stderr, flush=True)
            raise
        print(f"allowed: {self._access_key.arn} {self._action}", file=sys.stderr, flush=True)

    return patched


# Services whose signing name is not their IAM prefix: CloudWatch signs as "monitoring", IAM calls it "cloudwatch".
IAM_PREFIXES = {"monitoring": "cloudwatch"}


def _iam_prefixed(init):
    """moto names the action by the request's signing name (monitoring:GetMetricData); IAM by the service's
    prefix (cloudwatch:GetMetricData), which is what a policy grants."""
    def patched(self, *args, **kwargs):
        init(self, *args, **kwargs)
        service, _, action = self._action.partition(":")
        self._action = f"{IAM_PREFIXES.get(service, service)}:{action}"

    return patched


def iam_resource_gaps() -> list[tuple[type, str, object]]:
    """(owner, attribute, replacement): the services the registry calls name their resource's ARN to IAM,
    and the policies of roles CloudFormation made are read."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.iam.access_control import IAMPolicy, IAMRequestBase
    from moto.events.responses import EventsHandler
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse
    from moto.sqs.responses import SQSResponse

    return [(DynamoHandler, "_determine_resource", _dynamodb_resource),
            (DynamoHandler, "_authenticate_and_authorize_normal_action",
             _item_by_item(DynamoHandler._authenticate_and_authorize_normal_action)),
            (EventsHandler, "_determine_resource", _events_resource),
            (SageMakerRuntimeResponse, "_determine_resource", _sagemaker_runtime_resource),
            (IAMPolicy, "__init__", _reading_documents(IAMPolicy.__init__)),
            (SQSResponse, "_determine_resource", _sqs_resource(SQSResponse._determine_resource)),
            (IAMRequestBase, "check_action_permitted", _logging_decisions(IAMRequestBase.check_action_permitted)),
            (IAMRequestBase, "__init__", _iam_prefixed(IAMRequestBase.__init__))]


class EmulatorServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        backend = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def serialised(environ, start_response):
            with lock:
                return list(backend(environ, start_response))

        self._server = make_server(host, port, serialised, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-emulator", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "EmulatorServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local_stack.aws.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--sam-translator", metavar="PYTHON",
                        help="a Python with samtranslator: expand SAM templates as CloudFormation does")
    parser.add_argument("--iam-resources", action="store_true",
                        help="authorise DynamoDB, EventBridge and SageMaker runtime calls against their resource")
    args = parser.parse_args(argv)
    gaps = sagemaker_gaps() + s3_event_gaps() + s3_copy_gaps() + events_gaps() + cloudwatch_gaps() + dynamodb_gaps()
    gaps += cloudformation_gaps(args.sam_translator) if args.sam_translator else []
    gaps += iam_resource_gaps() if args.iam_resources else []
    for owner, name, replacement in gaps:
        setattr(owner, name, replacement)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # the stack stops us with SIGTERM: exit cleanly
    server = EmulatorServer(args.host, args.port).start()
    print(f"AWS emulator on {server.url}", flush=True)
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
