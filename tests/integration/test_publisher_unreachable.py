"""`publisher deploy` against a SageMaker it cannot reach: a plain message in seconds, after the
few attempts its client config allows (sagemaker-core's own clients would make ten)."""
from __future__ import annotations

import time

import boto3

from conftest_publisher import deploy, without_publisher_environment
from local_stack.processes.children import free_port
from publisher.connection import MAX_ATTEMPTS


def test_an_endpoint_url_nothing_listens_on_fails_after_the_bounded_attempts(monkeypatch, capsys):
    # GIVEN an AWS_ENDPOINT_URL where nothing listens
    without_publisher_environment(monkeypatch)
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    session = boto3.Session(region_name="us-east-1")
    attempts: list[str] = []
    session.events.register("before-send.sagemaker", lambda request, **_: attempts.append(request.url))
    monkeypatch.setattr("publisher.cli.boto3.Session", lambda **_: session)

    # WHEN a deploy runs
    started = time.monotonic()
    code = deploy("--image", "registry/mme:1")
    elapsed = time.monotonic() - started

    # THEN it fails on its first call, after MAX_ATTEMPTS tries, naming the URL and the region
    out = " ".join(capsys.readouterr().out.split())
    assert code == 1
    assert f"cannot reach SageMaker at {url} in us-east-1" in out and "AWS_ENDPOINT_URL" in out
    assert len(attempts) == MAX_ATTEMPTS and all(a.startswith(url) for a in attempts)
    assert elapsed < 20, f"took {elapsed:.1f} s"  # a generous bound: the backoff is random
