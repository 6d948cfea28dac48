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
    assert all(not rule.get("Prefix", "").startswith("models/") for rule in rules.values()), "versions never expire"


def _imports(document) -> set[str]:
    """Every export name imported anywhere in a template fragment or policy (`${ResourcesStack}-X` → X)."""
    text = json.dumps(document)
    return set(re.findall(r'"Fn::ImportValue": \{"Fn::Sub": "\$\{ResourcesStack\}-(\w+)"\}', text))


def test_the_lambda_stack_imports_only_what_the_resources_stack_exports(resources):
    exported = {name for name, output in resources["Outputs"].items()
                if output["Export"] == {"Name": {"Fn::Sub": "${AWS::StackName}-" + name}}}
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
