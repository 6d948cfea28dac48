"""The publisher's integration fixtures: moto with the emulator's SageMaker gaps filled
(see local_stack/aws/emulator.py), the publisher's session, a recorder of its calls, and a
`deploy(...)` that runs the command line with every required setting given.

The gaps patch moto's classes, so they reach `mock_aws` and an in-process emulator server alike.
"""
from __future__ import annotations

import os

import boto3
import pytest
from moto import mock_aws

from local_stack.aws.emulator import sagemaker_gaps
from publisher.cli import main

WRITE_PREFIXES = ("Create", "Update", "Delete", "Put", "Add", "Start", "Stop")
ENDPOINT = "mme-test"
REQUIRED = {"endpoint_name": ENDPOINT, "bucket": "models-bucket", "instance_type": "ml.m5.large",
            "role_arn": "arn:aws:iam::123456789012:role/mme-test"}


def patch_moto_sagemaker(monkeypatch: pytest.MonkeyPatch) -> None:
    for owner, name, replacement in sagemaker_gaps():
        monkeypatch.setattr(owner, name, replacement, raising=False)


class SageMakerCalls:
    """Every SageMaker operation the publisher's boto3 clients send, in order."""

    def __init__(self, session: boto3.Session):
        self.names: list[str] = []
        session.events.register("before-call.sagemaker", self._record)

    def _record(self, model, **_):
        self.names.append(model.name)

    @property
    def writes(self) -> list[str]:
        return [name for name in self.names if name.startswith(WRITE_PREFIXES)]


def without_publisher_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PUBLISHER_"):
            monkeypatch.delenv(name)


@pytest.fixture
def sagemaker(monkeypatch):
    """moto (with the publisher's gaps filled), the publisher's session and a call recorder."""
    patch_moto_sagemaker(monkeypatch)
    without_publisher_environment(monkeypatch)
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        calls = SageMakerCalls(session)
        monkeypatch.setattr("publisher.cli.boto3.Session", lambda **_: session)
        yield session.client("sagemaker"), calls


def flags_for(values: dict) -> list[str]:
    return [f"--{name.replace('_', '-')}={value}" for name, value in values.items()]


def deploy(*flags: str, required: dict = REQUIRED) -> int:
    return main(["deploy", "--poll-seconds", "1", *flags_for(required), *flags])
