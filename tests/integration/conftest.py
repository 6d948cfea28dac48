"""Integration fixtures: the registry's resources in moto (in-process), the app wired to them."""
import os
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib.errors import TransientError
from chalicelib.settings import Settings
from chalicelib.versions.artifacts import Artifacts
from local_stack.aws.provision import provision


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
    """One emulator (moto server) per test worker, on 127.0.0.1 and a free port; its CopyObject honours
    IfNoneMatch, as S3's does."""
    from local_stack.aws.emulator import EmulatorServer, s3_copy_gaps

    with pytest.MonkeyPatch.context() as patch, EmulatorServer() as server:
        for owner, name, replacement in s3_copy_gaps():
            patch.setattr(owner, name, replacement)
        yield server.url


@pytest.fixture
def cloudwatch_answers(monkeypatch):
    """The emulator's CloudWatch as the local stack runs it: percentiles, periods on the clock's minutes
    (local_stack/aws/cloudwatch_gaps.py)."""
    from local_stack.aws.cloudwatch_gaps import cloudwatch_gaps

    for owner, name, replacement in cloudwatch_gaps():
        monkeypatch.setattr(owner, name, replacement)


@pytest.fixture
def emulator(moto_server, monkeypatch, settings):
    """A clean emulator for this test, reached through the standard AWS_ENDPOINT_URL setting."""
    import requests

    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    session = boto3.Session(region_name=settings.region)
    resources = provision(session, settings)
    # S3 announces a new notification configuration with an s3:TestEvent; start each test with an empty queue.
    session.client("sqs").purge_queue(QueueUrl=resources["queue_url"])
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
def reconfigure(emulated_app, monkeypatch):
    """Sets REGISTRY_* variables for this test and rebuilds the app's settings and adapters from them."""
    def apply(**env: str):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(emulated_app, "settings", Settings())
        return _fresh_app()

    return apply


@pytest.fixture
def pump(emulator, emulated_app):
    """Feeds the emulator's ingest queue to the app's SQS handler, as Lambda would."""
    from local_stack.aws.pump import EventPump

    return EventPump(emulator.sqs, emulator.queue_url, emulated_app.ingest_uploads, retry_delay_seconds=0)


@pytest.fixture
def serialized_dynamodb(monkeypatch):
    """Makes moto's DynamoDB handle one request at a time, as DynamoDB's own isolation does.

    moto applies a TransactWriteItems without a lock: 20 threads racing on one condition
    saw up to four winners, and a failed transaction restores a table snapshot over other
    threads' writes. Serializing the emulator's request handling removes that artefact
    without touching the code under test.
    """
    import threading

    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self):
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)


INPUTS = {"mxnet": [{"name": "data", "shape": [1, 64]}],
          "tensorflow": [{"name": "image", "dtype": "float32", "shape": [-1, 8, 8, 1]}]}


class Seeder:
    """Records versions the way ingestion does (claim, reserve, record), without tarballs."""

    def __init__(self, store, claims):
        self.store = store
        self.claims = claims

    def version(self, name: str, status: str = "active", framework: str = "mxnet"):
        import uuid

        from chalicelib import names
        from chalicelib.records import VersionRecord, utcnow

        now = utcnow()
        event_id = f"seed-{uuid.uuid4().hex}"
        claim = self.claims.claim(event_id, now)
        number = self.store.reserve_version(name, claim, self.claims, now)
        record = VersionRecord(
            name=name, version=number, target_key=names.target_key(name, number),
            target_model=names.target_model(name, number), sha256=f"{number:064x}", size=1000 + number,
            framework=framework, input_shapes=INPUTS[framework], labels_count=10 if framework == "mxnet" else None,
            source_key=f"incoming/{name}.tar.gz", source_etag=f"{number:032x}", event_id=event_id,
            created_at=now, uploader="seed", status=status,
        )
        self.store.record_version(record, now)
        self.claims.complete(claim, "accepted", now)
        return record


@pytest.fixture(scope="module")
def module_moto():
    """One moto per test module, provisioned once: the API tests empty it between tests instead of rebuilding it."""
    settings = Settings()
    with mock_aws():
        session = boto3.Session(region_name=settings.region)
        provision(session, settings)
        yield session, _fresh_app()


@pytest.fixture
def registry_app(module_moto, settings):
    """The Chalice app module on this module's moto, with empty tables and an empty bucket."""
    session, app = module_moto
    dynamodb, s3 = session.client("dynamodb"), session.client("s3")
    for table, keys in ((settings.table, ("pk", "sk")), (settings.events_table, ("pk",))):
        for page in dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression=", ".join(keys)):
            for item in page["Items"]:
                dynamodb.delete_item(TableName=table, Key=item)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=settings.bucket, Key=obj["Key"])
    return app


@pytest.fixture
def client(registry_app):
    """Chalice's test client for the local stage, on this module's moto.

    The client swaps `os.environ` for a plain dict during each request and puts back what it found;
    requests from several threads can put back another request's dict, which would leave the process
    with an os.environ that no longer reaches child processes. The real one is put back here.
    """
    from chalice.test import Client

    environ = os.environ
    project_dir = str(Path(registry_app.__file__).parent)
    try:
        with Client(registry_app.app, stage_name="local", project_dir=project_dir) as test_client:
            yield test_client.http
    finally:
        os.environ = environ


def seeder_for(app) -> Seeder:
    from chalicelib.versions.claims import ClaimStore

    settings = app.settings
    claims = ClaimStore(app.get_session().client("dynamodb"), settings.events_table, settings.claim_timeout_seconds)
    return Seeder(app.get_store(), claims)


@pytest.fixture(scope="session")
def make_seeder():
    """For module-scoped fixtures: a Seeder for a given app module."""
    return seeder_for


@pytest.fixture
def seed(registry_app):
    """Adds versions to the registry the app under test reads (versions only: no S3 objects)."""
    return seeder_for(registry_app)


class UnreachableS3(Artifacts):
    """Reading an upload times out, every time: the kind of fault SQS retries and then gives up on."""

    def read(self, key, etag, bucket=None, version_id=None):
        raise TransientError("reading the upload timed out", {"key": key})


@pytest.fixture
def failing_s3(emulated_app, monkeypatch):
    """The app's S3 adapter swapped for UnreachableS3 until `restore()`."""
    real = emulated_app.get_artifacts

    def swap(factory):
        monkeypatch.setattr(emulated_app, "get_artifacts", factory)
        for getter in (emulated_app.get_ingestor, emulated_app.get_deliveries):
            getter.cache_clear()

    swap(lambda: UnreachableS3(emulated_app.get_session().client("s3"), emulated_app.settings.bucket))
    return lambda: swap(real)
