"""The planner checked against the local gateway: one trace of invokes replayed through real MMS behind the
gateway (its memory budget, LRU unloading) and through `client.plan`'s simulator configured as one instance with
that budget and the same models' sizes. What each counts is compared: hits and cold loads.

The models are real MXNet classifiers of a dozen sizes (`digits_h<N>`, N hidden units: 30 kB to 30 MB); the
AWS side is the emulator as a child process; the endpoint is created with plain boto3, as a user would.
"""
from __future__ import annotations

import os
import sys
import tarfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import boto3
import botocore.session

from chalicelib.versions.sample_inputs import payload_for
from client.plan.simulator import InstanceSpec, Model, Result, Trace, simulate
from client.plan.traffic import zipf_trace
from local_stack.demo.sample_models import cached_tarball
from local_stack.processes.children import ChildProcess, free_port
from local_stack.runtime.gateway import GatewayServer
from local_stack.runtime.mms.backend import start_mms
from local_stack.runtime.model_cache import Budget

BUCKET = ENDPOINT = "plan-agreement"
PREFIX = "models/"
HIDDEN_UNITS = [int(16 * 2.2**i) for i in range(12)]  # 16 .. 93,439: parameters of 30 kB to 30 MB
INPUTS = [{"name": "data", "shape": [1, 64]}]


@dataclass(frozen=True)
class Agreement:
    requests: int
    measured_hits: int
    measured_loads: int
    predicted: Result

    @property
    def hit_rate_points(self) -> float:
        """Predicted minus measured hit rate, in percentage points."""
        return (self.predicted.hit_rate - self.measured_hits / self.requests) * 100

    @property
    def loads_error(self) -> float:
        """Predicted cold loads relative to the measured ones (0.1: 10 % more)."""
        return (self.predicted.loads - self.measured_loads) / max(1, self.measured_loads)

    def describe(self) -> str:
        return (f"{self.requests} requests: hit rate measured {self.measured_hits / self.requests:.1%}, predicted "
                f"{self.predicted.hit_rate:.1%}; cold loads measured {self.measured_loads}, predicted "
                f"{self.predicted.loads}")


def model_tarballs(count: int = 12) -> list[Path]:
    """`count` real models of growing size, each trained once and cached (.cache/models)."""
    return [cached_tarball(f"digits_h{hidden}") for hidden in HIDDEN_UNITS[:count]]


def unpacked_bytes(tarball: Path) -> int:
    """What the gateway counts for a loaded model: the bytes of the files it extracts."""
    with tarfile.open(tarball) as archive:
        return sum(member.size for member in archive if member.isfile())


def zipf_sequence(models: int, requests: int, skew: float = 1.1, seed: int = 1) -> list[int]:
    """Which model each request asks for: the planner's seeded Zipf stream, its times dropped (replayed in turn)."""
    return zipf_trace(models, 1.0, skew, requests, seed).models


def predict(tarballs: list[Path], sequence: list[int], budget_bytes: int) -> Result:
    """The simulator as the gateway: one instance, the gateway's memory budget, one request at a time."""
    models = [Model(path.name, path.stat().st_size, unpacked_bytes(path), 0.0, 0.0) for path in tarballs]
    spec = InstanceSpec("local gateway", 1, budget_bytes, 10**15)
    return simulate(spec, 1, models, Trace([float(i) for i in range(len(sequence))], sequence))


@contextmanager
def local_endpoint(workdir: Path, budget_bytes: int) -> Iterator[tuple[boto3.Session, GatewayServer]]:
    """The emulator (a child process), one MMS and a gateway with `budget_bytes`, all stopped on leaving."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}
    argv = [sys.executable, "-m", "local_stack.aws.emulator", "--port", str(port)]
    emulator = ChildProcess("the AWS emulator", argv, workdir / "emulator.log", env=env).start()
    try:
        url = f"http://127.0.0.1:{port}"
        emulator.wait_for_http(f"{url}/moto-api/", 60)
        config = workdir / "aws-config"
        config.write_text(f"[default]\nregion = us-east-1\nendpoint_url = {url}\n"
                          "aws_access_key_id = testing\naws_secret_access_key = testing\n")
        core = botocore.session.Session()
        core.set_config_variable("config_file", str(config))
        session = boto3.Session(botocore_session=core, region_name="us-east-1")
        with start_mms(workdir / "mms", env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}) as mms:
            with GatewayServer(mms.url, session, workdir / "gateway", Budget(budget_bytes)) as gateway:
                yield session, gateway
    finally:
        emulator.stop()


def replay(session: boto3.Session, gateway: GatewayServer, tarballs: list[Path],
           sequence: list[int]) -> tuple[int, int]:
    """Uploads the models, creates a MultiModel endpoint over them, invokes `sequence` in turn through the gateway
    with boto3, and returns the gateway's (hits, cold loads) for it, from its status route's counts."""
    s3, sagemaker = session.client("s3"), session.client("sagemaker")
    s3.create_bucket(Bucket=BUCKET)
    for path in tarballs:
        s3.upload_file(str(path), BUCKET, PREFIX + path.name)
    container = {"Image": "mme-registry-container:local", "Mode": "MultiModel",
                 "ModelDataUrl": f"s3://{BUCKET}/{PREFIX}"}
    sagemaker.create_model(ModelName=ENDPOINT, ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                           PrimaryContainer=container)
    sagemaker.create_endpoint_config(EndpointConfigName=ENDPOINT, ProductionVariants=[
        {"InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1, "ModelName": ENDPOINT, "VariantName": "All"}])
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=ENDPOINT)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=ENDPOINT,
                                                     WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    runtime = session.client("sagemaker-runtime", endpoint_url=gateway.url)
    body, content_type = payload_for("mxnet", INPUTS)
    before = gateway.gateway.status()["backends"][0]
    for index in sequence:
        answer = runtime.invoke_endpoint(EndpointName=ENDPOINT, TargetModel=tarballs[index].name, Body=body,
                                         ContentType=content_type)
        answer["Body"].read()
    after = gateway.gateway.status()["backends"][0]
    return after["hits"] - before["hits"], after["misses"] - before["misses"]


def agreement(workdir: Path, tarballs: list[Path], sequence: list[int], budget_bytes: int) -> Agreement:
    with local_endpoint(workdir, budget_bytes) as (session, gateway):
        hits, loads = replay(session, gateway, tarballs, sequence)
    return Agreement(len(sequence), hits, loads, predict(tarballs, sequence, budget_bytes))
