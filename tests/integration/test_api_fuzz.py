"""Invariant 6, searched for: requests generated from /openapi.json (valid and invalid) never get a 5xx.

Schemathesis turns each operation of the served document into a Hypothesis strategy;
the cases go through Chalice's test client, in process, against moto.
"""
import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

import app as registry

pytestmark = pytest.mark.xdist_group("api-fuzz")  # one worker builds this module's moto once

EXAMPLES_PER_MODE = 15  # valid, invalid, known: up to 45 requests per operation, seconds in all
DOCUMENT = registry.openapi.build(registry.api.operations, title="mme-registry", version="1")
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
KNOWN = {"name": "resnet_18", "alias": "prod", "n": 1}  # what the test seeds, so valid cases also reach real records

# Invalid requests exist only where an input has a rule to break (a body, a query, a constrained path parameter);
# "known" cases keep the path on the seeded model and alias and vary the rest.
CASES = [(op.method.upper(), op.path, variant) for op in registry.api.operations
         for variant in ("valid", "invalid", "known")
         if variant == "valid"
         or (variant == "invalid" and (op.body or op.query or "{alias}" in op.path or "{n}" in op.path))
         or (variant == "known" and "{" in op.path)]


def send(client, case):
    body = case.body
    if isinstance(body, (bytes, bytearray)):
        raw = bytes(body)
    elif body is None or type(body).__name__ == "NotSet":
        raw = b""
    else:
        raw = json.dumps(body).encode()
    path = case.formatted_path + (f"?{urlencode(case.query, doseq=True)}" if case.query else "")
    headers = {"Content-Type": case.media_type or "application/json", **(case.headers or {})}
    return client.request(case.method, path, body=raw, headers={k: str(v) for k, v in headers.items()})


@pytest.fixture(scope="module")
def fuzzed(module_moto, make_seeder):
    """One registry for the whole run (cases need no isolation): two versions and an alias with history."""
    from chalice.test import Client

    _, app = module_moto
    seed = make_seeder(app)
    seed.version("resnet_18"), seed.version("resnet_18")
    client = Client(app.app, stage_name="local", project_dir=str(Path(app.__file__).parent)).http
    for version in (1, 2):
        body = json.dumps({"model": "resnet_18", "version": version}).encode()
        assert client.request("PUT", "/aliases/prod", body=body).status_code == 200
    return client


@pytest.mark.parametrize("method, path, variant", CASES, ids=[" ".join(case) for case in CASES])
def test_generated_requests_never_get_a_server_error(fuzzed, method, path, variant):
    client = fuzzed
    mode = GenerationMode.NEGATIVE if variant == "invalid" else GenerationMode.POSITIVE
    fixed = {k: v for k, v in KNOWN.items() if f"{{{k}}}" in path} if variant == "known" else None

    @settings(max_examples=EXAMPLES_PER_MODE, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=SCHEMA[path][method].as_strategy(generation_mode=mode, path_parameters=fixed))
    def check(case):
        response = send(client, case)
        assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.body)
        if response.status_code >= 400:
            error = json.loads(response.body)["error"]
            assert set(error) == {"code", "message", "details"}

    check()
