"""The publisher's SageMaker client: short connect timeouts and few retries, so a run that
cannot reach SageMaker (offline, wrong region, wrong AWS_ENDPOINT_URL) says so in seconds.

sagemaker-core builds its own clients with ten standard-mode attempts and no connect
timeout of ours (about 30 s of silent retrying before an offline run says anything), and
its resource calls take no client config. It caches one client set per (session, region)
(`SageMakerClient`, a documented cache); the publisher puts its own client, with its own
Config, into that entry before any resource call, so every call sagemaker-core makes for
this session goes through it.
"""
from __future__ import annotations

from botocore.config import Config
from botocore.exceptions import ConnectionError as BotoConnectionError

CONNECT_TIMEOUT_SECONDS = 2
MAX_ATTEMPTS = 3  # the first try and two retries (standard mode also retries throttling)
CLIENT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=60,
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
)

Unreachable = BotoConnectionError  # refused, timed out, DNS failure, proxy or TLS failure


def use_bounded_client(session, region: str):
    """Makes sagemaker-core use a client with CLIENT_CONFIG for (session, region); returns it."""
    from sagemaker.core.utils.utils import SageMakerClient

    client = session.client("sagemaker", region_name=region, config=CLIENT_CONFIG)
    SageMakerClient(session=session, region_name=region).sagemaker_client = client
    return client


def unreachable_message(error: BotoConnectionError, client) -> str:
    return (
        f"cannot reach SageMaker at {client.meta.endpoint_url} in {client.meta.region_name} ({error}).\n"
        "Check the network, the region (--region, PUBLISHER_REGION or AWS_REGION) and AWS_ENDPOINT_URL, "
        "then run again."
    )
