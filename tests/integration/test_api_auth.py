"""Auth per stage: `prod` puts every route behind API Gateway's IAM authorizer (SigV4); `local` has none.

The stage decides at import time (settings come from the stage's environment), so each
stage is loaded in a fresh interpreter the way the chalice CLI loads it for a deploy,
and the API Gateway definition it would deploy is inspected.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2] / "registry_app"

DESCRIBE = r"""
import json, os, sys
from chalice.cli.factory import CLIFactory
from chalice.deploy.swagger import SwaggerGenerator

factory = CLIFactory(sys.argv[1], environ=os.environ)  # as `chalice deploy` builds it
app = factory.create_config_obj(chalice_stage_name=sys.argv[2]).chalice_app
swagger = SwaggerGenerator("us-east-1", {"api_handler_arn": "arn:aws:lambda:us-east-1:1:function:api"})
document = swagger.generate_swagger(app)
print(json.dumps({
    "methods": {f"{method.upper()} {path}": operation.get("security")
                for path, operations in document["paths"].items()
                for method, operation in operations.items() if method != "options"},
    "schemes": document.get("securityDefinitions", {}),
}))
"""


def deployed_api(stage: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    answer = subprocess.run([sys.executable, "-c", DESCRIBE, str(PROJECT), stage], capture_output=True, text=True,
                            env=env, timeout=120, check=True)
    return json.loads(answer.stdout)


@pytest.fixture(scope="module")
def prod():
    return deployed_api("prod")


def test_every_prod_route_and_method_requires_sigv4(prod):
    assert len(prod["methods"]) > 15
    assert {json.dumps(security) for security in prod["methods"].values()} == {json.dumps([{"sigv4": []}])}
    assert prod["schemes"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"


def test_the_local_stage_has_no_authorizer():
    local = deployed_api("local")

    assert set(local["methods"].values()) == {None}
    assert "GET /aliases/{alias}" in local["methods"]
