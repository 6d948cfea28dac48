"""Who the actor is, per stage: on the local stage the name the caller sends in X-Registry-Actor, as
`local:<name>`; on the IAM stage the SigV4 principal API Gateway verified, whatever the header says."""
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from test_alias_policy import approve
from test_version_metadata import call, outbox_events

pytestmark = pytest.mark.xdist_group("local_actor")

PROJECT = Path(__file__).resolve().parents[2] / "registry_app"


def as_(client, name: str, method: str, path: str, body=None):
    """A call that says who is calling, as the CLI and the console do on the local stage."""
    data = json.dumps(body) if body is not None else None
    response = client.request(method, path, body=data,
                              headers={"Content-Type": "application/json", "X-Registry-Actor": name})
    return response.status_code, json.loads(response.body) if response.body else None


def test_the_local_stage_records_the_name_the_caller_sends_as_local_name(client, seed, registry_app):
    seed.version("fraud")

    status, version = as_(client, "alice", "PUT", "/models/fraud/versions/1/approval",
                          {"status": "Approved", "reason": "passed evaluation"})

    assert status == 200 and version["approval"]["actor"] == "local:alice"
    _, history = call(client, "GET", "/models/fraud/versions/1/history")
    assert [(e["kind"], e["actor"]) for e in history["entries"]] == [("approval", "local:alice")]
    assert [e["actor"] for e in outbox_events(registry_app, "VersionApprovalChanged")] == ["local:alice"]


def test_a_name_sent_with_its_local_prefix_is_recorded_once_prefixed(client, seed):
    seed.version("fraud")

    status, version = as_(client, "local:alice", "PUT", "/models/fraud/versions/1/approval", {"status": "Approved"})

    assert status == 200 and version["approval"]["actor"] == "local:alice"


@pytest.mark.parametrize("name", ["", "alice smith", "arn:aws:iam::123456789012:role/ops", "a" * 65, "al*ce",
                                  "-alice", "local:"])
def test_a_name_outside_the_rule_is_a_422_naming_the_rule_and_changes_nothing(client, seed, name):
    seed.version("fraud")

    status, error = as_(client, name, "PUT", "/models/fraud/versions/1/approval", {"status": "Approved"})

    assert (status, error["error"]["code"]) == (422, "invalid_input")
    assert error["error"]["message"].startswith("X-Registry-Actor: invalid local identity")
    assert "1 to 64 ASCII characters" in error["error"]["message"]
    assert call(client, "GET", "/models/fraud/versions/1")[1]["approval"]["status"] == "PendingManualApproval"


def test_movers_naming_a_local_person_let_that_person_move_the_alias_and_no_one_else(client, seed):
    # GIVEN alias fraud-prod at v1, whose policy alice set to name only herself
    seed.version("fraud"), seed.version("fraud")
    call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})
    assert as_(client, "alice", "PUT", "/aliases/fraud-prod/policy", {"movers": ["local:alice"]})[0] == 200
    # WHEN bob, then a caller who names no one, then alice move it to v2
    bob = as_(client, "bob", "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 2})
    nobody = call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 2})
    alice = as_(client, "alice", "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 2})
    # THEN only alice's move is taken, and the alias records her as its mover
    assert (bob[0], bob[1]["error"]["code"]) == (nobody[0], nobody[1]["error"]["code"]) == (403, "alias_policy_mover")
    assert "local:bob may not move alias fraud-prod" in bob[1]["error"]["message"]
    assert alice[0] == 200 and (alice[1]["version"], alice[1]["updated_by"]) == (2, "local:alice")


def test_approvers_naming_a_local_person_count_only_that_persons_approval(client, seed, registry_app):
    seed.version("fraud")
    approve(client, "fraud", 1)  # anonymous
    as_(client, "alice", "PUT", "/aliases/fraud-prod/policy", {"require": ["approved"], "approvers": ["local:alice"]})

    refused = call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})
    as_(client, "alice", "PUT", "/models/fraud/versions/1/approval", {"status": "Approved"})
    moved = call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})

    assert refused[0] == 409 and "approved by anonymous, who is not among the alias's approvers" in \
        refused[1]["error"]["message"]
    assert moved[0] == 200


IAM_STAGE = r"""
import json, sys
import boto3
from moto import mock_aws

with mock_aws():
    from chalicelib.settings import Settings
    from local_stack.aws.provision import provision

    provision(boto3.Session(region_name="us-east-1"), Settings())
    import app

    print(json.dumps([app.app(json.loads(line), None) for line in sys.stdin]))
"""


OPS = "arn:aws:iam::123456789012:user/ops"


def signed_call(alias: str, actor_header: str, principal: str | None = OPS) -> dict:
    """An API Gateway REST proxy event for PUT /aliases/{alias}/policy as the IAM authorizer passes it on:
    the SigV4 principal it verified in requestContext.identity, and the caller's own headers."""
    identity = {"sourceIp": "127.0.0.1", **({"userArn": principal} if principal else {})}
    headers = {"Content-Type": "application/json", "X-Registry-Actor": actor_header}
    path = f"/aliases/{alias}/policy"
    return {
        "resource": "/aliases/{alias}/policy", "path": path, "httpMethod": "PUT", "isBase64Encoded": False,
        "body": json.dumps({"require": ["approved"]}), "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": {"alias": alias}, "stageVariables": None,
        "requestContext": {"resourcePath": "/aliases/{alias}/policy", "httpMethod": "PUT", "path": f"/api{path}",
                           "stage": "api", "requestId": str(uuid.uuid4()),
                           "identity": identity},
    }


def test_the_iam_stage_ignores_the_header_and_records_the_sigv4_principal():
    # GIVEN the app as the IAM stage loads it (the stage is decided at import, so in a fresh interpreter)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}, "REGISTRY_AUTH": "iam",
           "PYTHONPATH": os.pathsep.join([str(PROJECT), os.environ.get("PYTHONPATH", "")])}
    events = [signed_call("fraud-prod", "alice"), signed_call("fraud-beta", "not a name at all"),
              signed_call("fraud-gamma", "alice", principal=None)]
    # WHEN calls carry X-Registry-Actor: signed, signed with a name the local stage refuses, and with no principal
    done = subprocess.run([sys.executable, "-c", IAM_STAGE], input="\n".join(json.dumps(e) for e in events),
                          capture_output=True, text=True, env=env, timeout=120)
    # THEN each is recorded under the principal API Gateway verified, or none: the header never names anyone
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout.splitlines()[-1])
    assert [a["statusCode"] for a in answers] == [200, 200, 200], answers
    assert [json.loads(a["body"])["actor"] for a in answers] == [OPS, OPS, "anonymous"]
