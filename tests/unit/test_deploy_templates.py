"""The deploy templates follow AWS's guidance for this shape of app, and the Lambda stack only
names what the resources stack exports (so no name is copied by hand between them)."""
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
API_GATEWAY_TIMEOUT = 29  # seconds: REST API integrations give up after this


class CloudFormationLoader(yaml.SafeLoader):
    """Reads `!Ref x` / `!Sub ...` short forms as their long `{"Fn::...": ...}` forms."""


def _intrinsic(loader, suffix, node):
    tag = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        return {tag: value.split(".", 1) if suffix == "GetAtt" else value}
    if isinstance(node, yaml.SequenceNode):
        return {tag: loader.construct_sequence(node, deep=True)}
    return {tag: loader.construct_mapping(node, deep=True)}


CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load(name: str) -> dict:
    return yaml.load((ROOT / "deploy" / name).read_text(), Loader=CloudFormationLoader)


@pytest.fixture(scope="module")
def resources() -> dict:
    return load("resources.yaml")


@pytest.fixture(scope="module")
def prod_functions() -> dict:
    config = json.loads((ROOT / "registry_app" / ".chalice" / "config.json").read_text())
    return config["stages"]["prod"]["lambda_functions"]


def test_the_queue_hides_a_delivery_for_six_ingest_timeouts(resources, prod_functions):
    queue = resources["Resources"]["IngestQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * prod_functions["ingest_uploads"]["lambda_timeout"]


def test_a_failing_upload_reaches_the_dead_letter_queue_and_raises_an_alarm(resources):
    queue = resources["Resources"]["IngestQueue"]["Properties"]
    alarm = resources["Resources"]["DeadLetterAlarm"]["Properties"]
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
                                      "maxReceiveCount": {"Ref": "MaxReceiveCount"}}
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}]
    assert (alarm["MetricName"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "ApproximateNumberOfMessagesVisible", "GreaterThanThreshold", 0)


def test_the_api_gives_up_before_api_gateway_does(prod_functions):
    assert prod_functions["api_handler"]["lambda_timeout"] < API_GATEWAY_TIMEOUT


def test_the_ingest_function_has_one_full_vcpu_and_the_longest_timeout(prod_functions):
    # 1,769 MB is where Lambda gives a function one full vCPU; the validator is single-threaded.
    assert prod_functions["ingest_uploads"]["lambda_memory_size"] == 1769
    assert prod_functions["ingest_uploads"]["lambda_timeout"] == 900


@pytest.mark.parametrize("resource", ["ModelBucket", "RegistryTable", "EventsTable"])
def test_a_stack_delete_or_replacement_keeps_the_data(resources, resource):
    definition = resources["Resources"][resource]
    assert (definition["DeletionPolicy"], definition["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_the_bucket_cleans_up_what_nobody_will_come_back_for(resources):
    rules = {rule["Id"]: rule for rule in
             resources["Resources"]["ModelBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert "Prefix" not in rules["abort-incomplete-multipart-uploads"]
    assert rules["incoming-noncurrent-versions"]["Prefix"] == "incoming/"
    assert rules["incoming-noncurrent-versions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": {"Ref": "IncomingNoncurrentDays"}}
    assert rules["rejected-expiry"]["Prefix"] == "rejected/"
    assert rules["rejected-expiry"]["ExpirationInDays"] == {"Ref": "RejectedExpiryDays"}
    assert all("ExpirationInDays" not in rule for rule in rules.values() if rule.get("Prefix", "").startswith(
        "models/")), "current versions never expire"


def _imports(document) -> set[str]:
    """Every export name imported anywhere in a template fragment or policy (`${ResourcesStack}-X` → X)."""
    text = json.dumps(document)
    return set(re.findall(r'"Fn::ImportValue": \{"Fn::Sub": "\$\{ResourcesStack\}-(\w+)"\}', text))


def test_the_lambda_stack_imports_only_what_the_resources_stack_exports(resources):
    exported = {name for name, output in resources["Outputs"].items()
                if output.get("Export") == {"Name": {"Fn::Sub": "${AWS::StackName}-" + name}}}
    policies = [json.loads(p.read_text()) for p in (ROOT / "registry_app" / ".chalice").glob("policy-prod-*.json")]
    imported = _imports(load("functions.yaml")) | set().union(*map(_imports, policies))
    assert {"Bucket", "Table", "EventsTable", "IngestQueueArn"} <= imported
    assert imported <= exported, f"not exported by deploy/resources.yaml: {imported - exported}"


def test_the_functions_read_every_name_from_the_stack_not_the_chalice_config():
    config = json.loads((ROOT / "registry_app" / ".chalice" / "config.json").read_text())
    variables = load("functions.yaml")["Globals"]["Function"]["Environment"]["Variables"]
    assert {"REGISTRY_BUCKET", "REGISTRY_TABLE", "REGISTRY_EVENTS_TABLE", "REGISTRY_QUEUE",
            "REGISTRY_ENDPOINT", "REGISTRY_REGION"} <= set(variables)
    assert set(config["stages"]["prod"]["environment_variables"]).isdisjoint(variables)


def _refs(document) -> set[str]:
    """Every name a fragment refers to: Ref targets, GetAtt resources and ${...} inside Fn::Sub."""
    text = json.dumps(document)
    found = set(re.findall(r'"Ref": "([\w:]+)"', text)) | set(re.findall(r'"Fn::GetAtt": \["(\w+)"', text))
    return found | {name.split(".")[0] for name in re.findall(r"\$\{([\w:.]+)\}", text)}


NAME_PROPERTIES = ("BucketName", "TableName", "QueueName", "Name", "RepositoryName", "RoleName", "AlarmName")


def test_a_parameter_that_can_change_in_place_feeds_no_export(resources):
    """CloudFormation refuses to change an export another stack imports: only names (Prefix, which
    makes a new registry) may reach one; MaxReceiveCount reaches the functions stack as a parameter."""
    feeding = set()
    for output in resources["Outputs"].values():
        if "Export" not in output:
            continue
        for name in _refs(output["Value"]):
            resource = resources["Resources"].get(name)
            props = resource.get("Properties", {}) if resource else {}
            feeding |= _refs([props.get(key) for key in NAME_PROPERTIES if key in props]) | {name}
    assert feeding & set(resources["Parameters"]) == {"Prefix"}
    assert "Export" not in resources["Outputs"]["MaxReceiveCount"]
    parameter = load("functions.yaml")["Parameters"]["MaxReceiveCount"]
    assert parameter["Default"] == resources["Parameters"]["MaxReceiveCount"]["Default"]


def test_the_bucket_name_is_unique_per_account_and_region(resources):
    assert resources["Resources"]["ModelBucket"]["Properties"]["BucketName"] == {
        "Fn::Sub": "${Prefix}-${AWS::AccountId}-${AWS::Region}"}
    [statement] = resources["Resources"]["IngestQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    condition = statement["Condition"]
    assert condition["ArnLike"]["aws:SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::${Prefix}-${AWS::AccountId}-${AWS::Region}"}


@pytest.mark.parametrize("prefix, allowed", [("mme-registry-prod", True), ("a" * 30, True), ("a" * 31, False),
                                             ("mme.registry", False), ("Mme-registry", False), ("-mme", False)])
def test_a_prefix_makes_valid_queue_and_bucket_names_or_is_refused(resources, prefix, allowed):
    pattern = resources["Parameters"]["Prefix"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, prefix)) is allowed
    if allowed:  # the longest region name AWS has today is 14 characters (ap-southeast-2)
        assert len(f"{prefix}-123456789012-ap-southeast-2") <= 63
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", f"{prefix}-events-dlq")


def test_no_function_reserves_concurrency_unless_asked(prod_functions):
    """Lambda keeps 100 units unreserved: an account with a low quota cannot reserve even one."""
    from chalicelib.settings import Settings

    publish = load("functions.yaml")["Resources"]["PublishEvents"]["Properties"]
    assert publish["ReservedConcurrentExecutions"] == {"Fn::If": ["ReservePublisher", 1, {"Ref": "AWS::NoValue"}]}
    assert load("functions.yaml")["Parameters"]["ReservePublisherConcurrency"]["Default"] == "false"
    # scheduled runs cannot overlap without it: one ends before the next starts
    assert prod_functions["publish_events"]["lambda_timeout"] < Settings().publish_every_minutes * 60


def test_the_bucket_refuses_requests_without_tls(resources):
    [statement] = resources["Resources"]["ModelBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "s3:*")
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statement["Resource"] == [{"Fn::GetAtt": ["ModelBucket", "Arn"]}, {"Fn::Sub": "${ModelBucket.Arn}/*"}]


def test_retired_bytes_and_stale_delete_markers_do_not_pile_up(resources):
    rules = {rule["Id"]: rule for rule in
             resources["Resources"]["ModelBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]}
    retired = rules["retired-versions"]
    assert retired["Prefix"] == "models/" and "ExpirationInDays" not in retired, "current versions never expire"
    assert retired["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "ModelsNoncurrentDays"}}
    assert retired["ExpiredObjectDeleteMarker"] is True
    assert rules["rejected-delete-markers"] == {"Id": "rejected-delete-markers", "Status": "Enabled",
                                                "Prefix": "rejected/", "ExpiredObjectDeleteMarker": True}


def test_the_endpoints_get_an_execution_role_and_an_image_repository(resources):
    """SageMaker needs a role to read models/, pull both images, write logs and metrics: nothing more."""
    role = resources["Resources"]["ExecutionRole"]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    [policy] = role["Policies"]
    grants = {}
    for statement in policy["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        for action in actions:
            grants[action] = statement
    assert set(grants) == {"s3:GetObject", "s3:ListBucket", "ecr:GetAuthorizationToken", "ecr:BatchGetImage",
                           "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "logs:CreateLogGroup",
                           "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams",
                           "cloudwatch:PutMetricData"}
    assert grants["s3:GetObject"]["Resource"] == {"Fn::Sub": "${ModelBucket.Arn}/models/*"}
    assert grants["s3:ListBucket"]["Condition"] == {"StringLike": {"s3:prefix": ["models/*"]}}
    pulls = grants["ecr:BatchGetImage"]["Resource"]
    assert pulls[0] == {"Fn::GetAtt": ["ImageRepository", "Arn"]}
    assert ":763104351884:repository/tensorflow-inference" in pulls[1]["Fn::Sub"]
    assert "Condition" in grants["cloudwatch:PutMetricData"]
    for statement in grants.values():
        if statement["Resource"] == "*":
            assert statement["Action"] in ("ecr:GetAuthorizationToken", "cloudwatch:PutMetricData")
    assert resources["Resources"]["ImageRepository"]["Type"] == "AWS::ECR::Repository"
    assert resources["Outputs"]["ExecutionRoleArn"]["Value"] == {"Fn::GetAtt": ["ExecutionRole", "Arn"]}
    assert resources["Outputs"]["ImageRepositoryUri"]["Value"] == {"Fn::GetAtt": ["ImageRepository", "RepositoryUri"]}


def test_aliases_move_only_after_a_warm_up_in_prod():
    config = json.loads((ROOT / "registry_app" / ".chalice" / "config.json").read_text())
    assert config["stages"]["prod"]["environment_variables"]["REGISTRY_WARMUP"] == "true"


def test_the_example_rule_and_its_queue_deploy_only_when_asked(resources):
    assert resources["Parameters"]["ExampleAlias"]["Default"] == ""
    assert resources["Conditions"]["HasExampleRule"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ExampleAlias"}, ""]}]}
    example = [name for name in resources["Resources"] if name.startswith("ExampleAliasMoved")]
    assert len(example) == 3
    for name in example:
        assert resources["Resources"][name]["Condition"] == "HasExampleRule", name
    for name, output in resources["Outputs"].items():
        if _refs(output["Value"]) & set(example):
            assert output["Condition"] == "HasExampleRule", name


def _camel(function: str) -> str:
    return "".join(part.capitalize() for part in function.split("_"))


def test_every_role_of_both_stacks_takes_the_permissions_boundary(resources, prod_functions):
    boundary = {"Fn::If": ["HasPermissionsBoundary", {"Ref": "PermissionsBoundary"}, {"Ref": "AWS::NoValue"}]}
    functions = load("functions.yaml")
    for template in (resources, functions):
        assert template["Parameters"]["PermissionsBoundary"]["Default"] == ""
        assert template["Conditions"]["HasPermissionsBoundary"] == {
            "Fn::Not": [{"Fn::Equals": [{"Ref": "PermissionsBoundary"}, ""]}]}
    roles = [name for name, r in resources["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
    assert roles == ["ExecutionRole"]
    assert resources["Resources"]["ExecutionRole"]["Properties"]["PermissionsBoundary"] == boundary
    # chalice package names each function's role <CamelCaseName>Role; the merge sets the boundary on it
    for function in prod_functions:
        assert functions["Resources"][f"{_camel(function)}Role"]["Properties"]["PermissionsBoundary"] == boundary
