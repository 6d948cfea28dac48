"""Each Lambda function's IAM policy grants exactly the AWS actions its code reaches, on the right resources.

The actions come from the code (tests/iam_calls.py), so a new boto3 call, module or
handler without a matching grant fails here before it fails in AWS with AccessDenied.
Resources are checked on their rendered form: an import of the resources stack's export
`X` reads `<X>`, a `Fn::GetAtt [R, Arn]` reads `<R.Arn>`.
"""
import json
import re
from fnmatch import fnmatchcase

import pytest

import iam_calls

CHALICE_DIR = iam_calls.APP_DIR / ".chalice"
# Reached by a module-level scan but never by this function, with the reason; kept out of its policy.
NOT_REACHED = {
    ("api_handler", "s3:DeleteObject"): "Ingestor deletes only drop-folder uploads (Source.owned); "
                                        "REST registration never owns its source",
    ("api_handler", "s3:ListBucketVersions"): "Artifacts.version_of serves only Deliveries, in the ingest handler",
    ("ingest_uploads", "sqs:GetQueueUrl"): "deliveries imports deferred for the queued message's format only; "
                                           "the API and the sweep put messages on the queue, ingest never does",
    ("ingest_uploads", "sqs:SendMessage"): "as sqs:GetQueueUrl",
    **{("sweep_incoming", action): "the sweep calls Artifacts.head and ClaimStore.get only; the rest of "
                                   "those adapters' modules serves ingest"
       for action in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "s3:AbortMultipartUpload",
                      "s3:DeleteObject", "s3:PutObject", "s3:GetObjectVersion", "s3:ListBucketVersions")},
    ("advance_rollouts", "sqs:GetQueueUrl"): "app.py's get_event_publisher looks up the events dead-letter "
                                             "queue; the advancer never builds the publisher",
    **{("advance_rollouts", action): "the shadow gate (reference samples in S3, invokes) runs only for a target "
                                     "not yet on the alias; the advancer re-weights the targets a rollout's start "
                                     "put there (the API's move, which the gate checked)"
       for action in ("s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions", "s3:PutObject",
                      "s3:DeleteObject", "s3:AbortMultipartUpload", "sagemaker:InvokeEndpoint")},
    ("publish_events", "dynamodb:GetItem"): "the outbox imports dynamo's codec; get_item serves the stores",
    ("publish_events", "dynamodb:PutItem"): "outbox.items.put builds an element of the stores' transactions; "
                                            "the publisher only reads, updates and deletes outbox items",
}
# Actions IAM authorises on no resource but "*" (the Service Authorization Reference lists no resource type
# for them), so "*" is the only grant that works: the one place a policy may say it, and for these alone.
ONLY_ON_EVERY_RESOURCE = {"cloudwatch:GetMetricData"}
WRITERS = ["api_handler", "ingest_uploads"]  # the functions that register versions and park rejects


def prod_functions() -> dict:
    return json.loads((CHALICE_DIR / "config.json").read_text())["stages"]["prod"]["lambda_functions"]


def policy(function: str) -> dict:
    return json.loads((CHALICE_DIR / prod_functions()[function]["iam_policy_file"]).read_text())


def render(value) -> str | list:
    """A policy Resource with its CloudFormation intrinsics spelled out, e.g. `<BucketArn>/models/*`."""
    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, str):
        return value
    (function, argument), = value.items()
    if function == "Fn::ImportValue":
        return "<" + re.sub(r"^\$\{ResourcesStack\}-", "", argument["Fn::Sub"]) + ">"
    if function == "Fn::GetAtt":
        return f"<{argument[0]}.{argument[1]}>"
    if function == "Fn::Sub":
        template, variables = (argument, {}) if isinstance(argument, str) else argument
        return re.sub(r"\$\{([^}]+)\}", lambda m: render(variables[m[1]]) if m[1] in variables else f"<{m[1]}>",
                      template)
    raise AssertionError(f"unexpected intrinsic {function}")


def granted(function: str) -> dict[str, list[str]]:
    """Action → the resources it is allowed on."""
    grants: dict[str, list[str]] = {}
    for statement in policy(function)["Statement"]:
        assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        resources = render(statement["Resource"])
        for action in actions:
            assert "*" not in action, f"{function}: wildcard action {action}"
            assert action in ONLY_ON_EVERY_RESOURCE or "*" not in (
                resources if isinstance(resources, list) else [resources]), f"{function}: {action} on every resource"
            grants.setdefault(action, []).extend([resources] if isinstance(resources, str) else resources)
    return grants


def allowed(function: str, action: str, resource: str) -> bool:
    return any(fnmatchcase(resource, pattern) for pattern in granted(function).get(action, []))


def needed(function: str) -> dict[str, list[str]]:
    calls: dict[str, list[str]] = {}
    for call in iam_calls.reached_calls(iam_calls.functions()[function]):
        calls.setdefault(call.action, []).append(call.where)
    return calls


FUNCTIONS = sorted(iam_calls.functions())


def test_the_scan_finds_the_api_and_the_ingest_handler():
    assert {"api_handler", "ingest_uploads"} <= set(FUNCTIONS)
    assert {"s3:PutObject", "dynamodb:UpdateItem", "sqs:ReceiveMessage"} <= set(needed("ingest_uploads"))


def test_every_function_has_a_policy_of_its_own():
    files = {name: entry.get("iam_policy_file") for name, entry in prod_functions().items()}
    missing = [name for name in FUNCTIONS if not files.get(name)]
    assert not missing, f"add lambda_functions.<name>.iam_policy_file to the prod stage for {missing}"
    assert len({files[name] for name in FUNCTIONS}) == len(FUNCTIONS), "functions share a policy file"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_function_may_call_every_action_its_code_reaches(function):
    grants = granted(function)
    missing = {action: where for action, where in needed(function).items()
               if action not in grants and (function, action) not in NOT_REACHED}
    assert not missing, f"{function}'s policy lacks actions its code calls (action: where): {missing}"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_function_is_granted_no_action_its_code_never_calls(function):
    unused = set(granted(function)) - set(needed(function))
    assert not unused, f"{function}'s policy grants actions nothing calls: {sorted(unused)}"


def test_every_documented_exception_is_still_reached_by_the_scan():
    stale = [key for key in NOT_REACHED if key[1] not in needed(key[0])]
    assert not stale, f"drop these NOT_REACHED entries, the code no longer calls them: {stale}"


@pytest.mark.parametrize("function, log_group", [("api_handler", "APIHandlerLogGroup"),
                                                 ("ingest_uploads", "IngestUploadsLogGroup"),
                                                 ("sweep_incoming", "SweepIncomingLogGroup"),
                                                 ("publish_events", "PublishEventsLogGroup"),
                                                 ("advance_rollouts", "AdvanceRolloutsLogGroup")])
def test_a_function_writes_only_to_its_own_log_group(function, log_group):
    assert granted(function)["logs:PutLogEvents"] == [f"<{log_group}.Arn>"]
    assert granted(function)["logs:CreateLogStream"] == [f"<{log_group}.Arn>"]


def test_ingest_may_not_write_into_the_drop_folder_but_may_clear_it():
    assert not allowed("ingest_uploads", "s3:PutObject", "<BucketArn>/incoming/m.tar.gz")
    assert allowed("ingest_uploads", "s3:DeleteObject", "<BucketArn>/incoming/m.tar.gz")
    for function in FUNCTIONS:
        assert not allowed(function, "s3:DeleteObject", "<BucketArn>/models/m_v1.tar.gz")


def test_the_api_signs_uploads_into_the_drop_folder_only():
    assert allowed("api_handler", "s3:PutObject", "<BucketArn>/incoming/m.tar.gz")
    assert not allowed("api_handler", "s3:PutObject", "<BucketArn>/elsewhere/m.tar.gz")


@pytest.mark.parametrize("function", WRITERS)
@pytest.mark.parametrize("key", ["models/m_v1.tar.gz", "rejected/m/20260101T000000Z-0123abcd.tar.gz"])
def test_writers_of_versions_and_rejects_may_abort_their_multipart_copies(function, key):
    assert allowed(function, "s3:PutObject", f"<BucketArn>/{key}")
    assert allowed(function, "s3:AbortMultipartUpload", f"<BucketArn>/{key}")


def test_only_the_ingest_function_reads_the_queue_and_others_only_send_to_it():
    assert allowed("ingest_uploads", "sqs:ReceiveMessage", "<IngestQueueArn>")
    for function in ("api_handler", "sweep_incoming"):
        sqs = {action: resources for action, resources in granted(function).items() if action.startswith("sqs:")}
        assert sqs == {"sqs:GetQueueUrl": ["<IngestQueueArn>"], "sqs:SendMessage": ["<IngestQueueArn>"]}


def test_the_sweep_only_lists_and_reads_the_drop_folder():
    assert allowed("sweep_incoming", "s3:GetObject", "<BucketArn>/incoming/m.tar.gz")
    assert not allowed("sweep_incoming", "s3:GetObject", "<BucketArn>/models/m_v1.tar.gz")
    assert not any(action in granted("sweep_incoming") for action in ("s3:PutObject", "s3:DeleteObject"))


def test_pinned_reads_of_an_object_version_are_granted_where_versions_are_read():
    """Ingestion reads and copies the notified object version (VersionId), which IAM calls s3:GetObjectVersion."""
    assert allowed("ingest_uploads", "s3:GetObjectVersion", "<BucketArn>/incoming/m.tar.gz")
    assert allowed("api_handler", "s3:GetObjectVersion", "<BucketArn>/team/m.tar.gz")


def test_event_claims_live_in_the_events_table_only():
    for function in WRITERS:
        assert allowed(function, "dynamodb:PutItem", "<EventsTableArn>")
        assert not allowed(function, "dynamodb:DeleteItem", "<EventsTableArn>")
        assert allowed(function, "dynamodb:Query", "<TableArn>")


def test_warm_up_may_invoke_only_the_registry_endpoints_one_per_framework():
    for function in WRITERS:
        expected = [f"arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:endpoint/<{name}>"
                    for name in ("EndpointName", "TensorFlowEndpointName")]
        assert granted(function)["sagemaker:InvokeEndpoint"] == expected


def test_the_publisher_touches_only_outbox_items_and_puts_only_on_the_registry_bus():
    [outbox] = [st for st in policy("publish_events")["Statement"] if "dynamodb:Query" in st["Action"]]
    assert outbox["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["OUTBOX"]}}
    assert granted("publish_events")["events:PutEvents"] == ["<EventBusArn>"]
    assert not any(action.startswith("s3:") for action in granted("publish_events"))


@pytest.mark.parametrize("key", ["staging/m.tar.gz", "team/a/m.tar.gz", "m.tar.gz"])
def test_ingest_may_read_every_source_the_api_accepts_for_a_deferred_registration(key):
    """A registration over the deferred threshold is finished by the ingest function: it must read
    exactly the sources the API accepts (registration.source_pattern), or it dead-letters."""
    from chalicelib.settings import Settings
    from chalicelib.versions.registration import source_pattern

    settings = Settings()
    owned = (settings.incoming_prefix, settings.models_prefix, settings.rejected_prefix)
    assert re.fullmatch(source_pattern(settings.bucket, owned), f"s3://{settings.bucket}/{key}")
    for action in ("s3:GetObject", "s3:GetObjectVersion"):
        assert allowed("api_handler", action, f"<BucketArn>/{key}")
        assert allowed("ingest_uploads", action, f"<BucketArn>/{key}"), f"ingest may not {action} {key}"


def test_only_the_api_and_the_advancer_read_metrics_and_only_resourceless_actions_are_granted_on_every_resource():
    for function in FUNCTIONS:
        on_everything = {action for action, resources in granted(function).items() if "*" in resources}
        assert on_everything <= ONLY_ON_EVERY_RESOURCE, f"{function}: {on_everything - ONLY_ON_EVERY_RESOURCE}"
    readers = {"api_handler", "advance_rollouts"}
    assert all(granted(f)["cloudwatch:GetMetricData"] == ["*"] for f in readers)
    assert not any("cloudwatch:GetMetricData" in granted(f) for f in FUNCTIONS if f not in readers)
