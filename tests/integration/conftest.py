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


@pytest.fixture
def app_module(aws_session):
    """The Chalice app module with its cached adapters rebuilt inside this test's moto."""
    import app

    for getter in (getattr(app, name) for name in dir(app) if name.startswith("get_")):
        if hasattr(getter, "cache_clear"):
            getter.cache_clear()
    return app


@pytest.fixture
def api(app_module):
    """Chalice's test client for the local stage."""
    from chalice.test import Client

    project_dir = str(Path(app_module.__file__).parent)
    with Client(app_module.app, stage_name="local", project_dir=project_dir) as client:
        yield client
