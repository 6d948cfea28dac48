"""The served /openapi.json says what the server enforces: schemathesis with every check, against the
real dev server (local_stack.aws.devserver + the AWS emulator, over HTTP), finds nothing.

"Every check" includes both directions: a request the document allows must not be refused
(positive_data_acceptance), a request it forbids must be (negative_data_rejection), answers
must match their schemas, and a method the document does not list must get a 405.
"""
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from chalicelib import names
from chalicelib.errors import InvalidInput
from local_stack.api_stack import ApiStack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api-contract")]

HERE = Path(__file__).resolve().parent
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
MAX_EXAMPLES = 40  # per operation and phase: about a minute of requests on a busy two-core machine
SEED = 20261130  # the same cases every run: a failure is reproducible, not a flake


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with ApiStack(tmp_path_factory.mktemp("api-stack")) as stack:
        seed(stack)
        yield stack


def seed(stack: ApiStack) -> None:
    """Two versions of a model and an alias with history, registered through the API itself, so that
    listings have items and schemathesis's stateful phase follows them to real records."""
    import boto3

    from chalicelib.settings import Settings
    from hostile_tarballs import valid_mxnet

    bucket = Settings().bucket
    with stack.aws():
        s3 = boto3.Session(region_name="us-east-1").client("s3")
        for number, prefix in ((1, "model"), (2, "resnet")):
            s3.put_object(Bucket=bucket, Key=f"seed/resnet_18-{number}.tar.gz", Body=valid_mxnet(prefix=prefix))
    for number in (1, 2):
        registered = requests.post(f"{stack.url}/models/resnet_18/versions", timeout=60,
                                   json={"source": f"s3://{bucket}/seed/resnet_18-{number}.tar.gz"})
        assert registered.status_code == 201, registered.text
        moved = requests.put(f"{stack.url}/aliases/prod", json={"model": "resnet_18", "version": number}, timeout=10)
        assert moved.status_code == 200, moved.text


def schemathesis_run(url: str, reports: Path, *options: str, max_examples: int = MAX_EXAMPLES,
                     calls: Path | None = None) -> subprocess.CompletedProcess:
    argv = [str(SCHEMATHESIS), "run", f"{url}/openapi.json", "--checks", "all", "--max-examples", str(max_examples),
            "--seed", str(SEED), "--workers", "1", "--report", "junit", "--report-dir", str(reports),
            "--no-color", *options]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "contract_hooks", "PYTHONPATH": str(HERE)}
    if calls is not None:
        env["CONTRACT_CALLS"] = str(calls)
    return subprocess.run(argv, env=env, cwd=reports, capture_output=True, text=True, timeout=600)  # its cache too


def test_schemathesis_with_every_check_finds_no_failure(api, tmp_path):
    started = time.monotonic()

    result = schemathesis_run(api.url, tmp_path)

    elapsed = time.monotonic() - started
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    [report] = tmp_path.glob("*.xml")
    cases = ElementTree.parse(report).getroot().iter("testcase")
    documented = requests.get(f"{api.url}/openapi.json", timeout=10).json()["paths"]
    operations = {f"{method.upper()} {path}" for path, methods in documented.items() for method in methods
                  if path != "/openapi.json"}  # the document itself is what schemathesis reads, not a test target
    tested = {case.get("name") for case in cases}
    assert operations <= tested, f"not tested: {operations - tested}"
    summary = result.stdout[result.stdout.rfind("SUMMARY"):]
    print(f"schemathesis: {len(operations)} operations, every check, in {elapsed:.0f} s\n{summary}")


LINKED = ["GET /models/{name}", "GET /models/{name}/versions", "GET /models/{name}/versions/{n}",
          "GET /models/{name}/versions/{n}/members", "GET /models/{name}/uploads",
          "GET /models/{name}/uploads/{event_id}", "GET /aliases/{alias}", "GET /aliases/{alias}/history",
          "PUT /aliases/{alias}"]


def test_the_stateful_phase_follows_the_links_to_existing_models_and_aliases_and_finds_nothing(api, tmp_path):
    # GIVEN the seeded registry (resnet_18 v1 and v2, alias prod with history)
    calls = tmp_path / "calls.tsv"
    started = time.monotonic()
    # WHEN schemathesis runs its stateful phase alone, every check, bounded in steps and time
    result = schemathesis_run(api.url, tmp_path, "--phases", "stateful", "--max-time", "90", max_examples=20,
                              calls=calls)
    elapsed = time.monotonic() - started
    # THEN it finds no failure, and each operation the links lead to answered something other than 404
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    answered: dict[str, set[int]] = {}
    for line in calls.read_text().splitlines():
        operation, status = line.rsplit("\t", 1)
        answered.setdefault(operation, set()).add(int(status))
    reached = {operation: statuses for operation, statuses in answered.items() if statuses - {404}}
    assert [operation for operation in LINKED if operation not in reached] == [], answered
    assert any(200 in answered.get(operation, ()) for operation in ("GET /models/{name}", "GET /aliases/{alias}"))
    print(f"stateful phase: {sum(1 for _ in calls.open())} calls in {elapsed:.0f} s; reached {sorted(reached)}")


def raw_request(url: str, method: str, path: str) -> tuple[int, dict, dict]:
    """Any method, as sent by a client (requests and urllib special-case some)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("method, path, allowed", [
    ("TRACE", "/health", "GET"),
    ("TRACE", "/aliases/prod", "DELETE, GET, PUT"),
    ("CONNECT", "/models/resnet_18/versions", "GET, POST"),
    ("PROPFIND", "/models", "GET"),
])
def test_a_method_the_dev_server_does_not_know_is_a_json_405(api, method, path, allowed):
    status, headers, body = raw_request(api.url, method, path)

    assert status == 405
    assert headers["Content-Type"] == "application/json"
    assert body["error"]["code"] == "method_not_allowed" and set(body["error"]) == {"code", "message", "details"}
    assert headers["Allow"] == allowed and body["error"]["details"]["allowed"] == allowed.split(", ")


def test_the_name_and_alias_patterns_mean_the_same_to_javascript():
    """ECMA 262 itself (Node's RegExp, `u` flag), on the edge cases of both rules."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node is not installed; tests/unit/test_contract_rules.py reads the patterns as ECMA 262")
    samples = ["resnet_18", "team-a/squeezenet_v1.0", "a..b", "m_v2", "m_v2\n", "é", "a/b/c/d/e", "latest",
               "Latest", "v12", "v1a", "prod@eu", "a\u2028", "K" * 128, "a" * 129, "x" * 64 + "y", "٣"]
    script = ("const [p, s] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "const r = new RegExp(p, 'u'); console.log(JSON.stringify(s.map(x => r.test(x))));")
    for pattern, check in ((names.NAME_PATTERN, names.validate_model_name),
                           (names.ALIAS_PATTERN, names.validate_alias_name)):
        answer = subprocess.run([node, "-e", script], input=json.dumps([pattern, samples]), capture_output=True,
                                text=True, timeout=30, check=True)
        in_length = [len(s) <= 200 for s in samples]  # maxLength is its own keyword; names stay under it here
        expected = [accepts(check, s) for s in samples]
        assert [a and n for a, n in zip(json.loads(answer.stdout), in_length)] == expected, pattern


def accepts(check, value: str) -> bool:
    try:
        check(value)
        return True
    except InvalidInput:
        return False
