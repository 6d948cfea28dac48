"""Integration fixtures: the registry's resources in moto (in-process), the app wired to them."""
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib.settings import Settings
from local_stack.provision import provision


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def aws_session(settings):
    """A boto3 session whose calls go to moto, with bucket, tables, queues and notification created."""
    with mock_aws():
        session = boto3.Session(region_name=settings.region)
        provision(session, settings)
        yield session


def _fresh_app():
    import app

    for getter in (getattr(app, name) for name in dir(app) if name.startswith("get_")):
        if hasattr(getter, "cache_clear"):
            getter.cache_clear()
    return app


@pytest.fixture
def app_module(aws_session):
    """The Chalice app module with its cached adapters rebuilt inside this test's moto."""
    return _fresh_app()


@pytest.fixture
def api(app_module):
    """Chalice's test client for the local stage."""
    from chalice.test import Client

    project_dir = str(Path(app_module.__file__).parent)
    with Client(app_module.app, stage_name="local", project_dir=project_dir) as client:
        yield client


@pytest.fixture(scope="session")
def moto_server():
    """One moto server per test worker, on 127.0.0.1 and a free port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def emulator(moto_server, monkeypatch, settings):
    """A clean emulator for this test, reached through the standard AWS_ENDPOINT_URL setting."""
    import requests

    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    session = boto3.Session(region_name=settings.region)
    resources = provision(session, settings)
    return Emulator(session, settings, resources)


class Emulator:
    """Handles on the provisioned emulator that tests read from."""

    def __init__(self, session, settings, resources):
        self.session = session
        self.settings = settings
        self.s3 = session.client("s3")
        self.sqs = session.client("sqs")
        self.queue_url = resources["queue_url"]
        self.dlq_url = resources["dlq_url"]

    def keys(self, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.settings.bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def drop(self, key: str, body: bytes, metadata: dict | None = None) -> str:
        answer = self.s3.put_object(Bucket=self.settings.bucket, Key=key, Body=body, Metadata=metadata or {})
        return answer["ETag"].strip('"')

    def read(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.settings.bucket, Key=key)["Body"].read()


@pytest.fixture
def emulated_app(emulator):
    """The Chalice app module with its adapters talking to the emulator."""
    return _fresh_app()


@pytest.fixture
def pump(emulator, emulated_app):
    """Feeds the emulator's ingest queue to the app's SQS handler, as Lambda would."""
    from local_stack.pump import EventPump

    return EventPump(emulator.sqs, emulator.queue_url, emulated_app.ingest_uploads, retry_delay_seconds=0)
