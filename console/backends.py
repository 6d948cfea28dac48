"""What the console talks to: the registry API, the client library, and (locally) the gateway's status route.

Built once per console process; every page reads through these and nothing else. AWS calls
(InvokeEndpoint for "Try it", DescribeEndpoint for the endpoint page) are the client library's,
made with the console user's own credentials, as the user's applications make them.
"""
from __future__ import annotations

from dataclasses import dataclass

import requests

from client.alias_client import AliasClient
from client.endpoints import EndpointState, describe_endpoints
from client.registry_api import RegistryApi


@dataclass
class Backends:
    api: RegistryApi
    aliases: AliasClient  # "Try it": resolves and invokes exactly as an application would
    sagemaker: object  # boto3 `sagemaker` client: the endpoints' status
    gateway_url: str | None = None  # the local MME runtime gateway (its read-only /status), when there is one

    @classmethod
    def build(cls, registry_url: str, auth=None, gateway_url: str | None = None, timeout: float = 10.0,
              session=None, actor: str | None = None) -> "Backends":
        """`session`: the boto3 session for AWS calls (default: the environment's, AWS_ENDPOINT_URL* included).
        `actor`: who started the console; unsigned, every change made through its pages is recorded under it."""
        import boto3

        session = session or boto3.Session()
        region = session.region_name or "us-east-1"
        api = RegistryApi(registry_url, timeout=timeout, auth=auth, actor=actor)
        # TTL 0: "Try it" must show the version the alias points at now, not one cached a moment ago.
        client = AliasClient(registry_url, cache_ttl=0, fetch_alias=api.get_alias,
                             runtime_client=session.client("sagemaker-runtime", region_name=region))
        return cls(api, client, session.client("sagemaker", region_name=region), gateway_url)

    def endpoint_states(self) -> list[EndpointState]:
        by_framework = {item["framework"]: item["name"] for item in self.api.endpoints()["items"]}
        return describe_endpoints(self.sagemaker, by_framework)

    def gateway_status(self) -> dict | None:
        """The loaded TargetModels and hit/miss/eviction counts; None when there is no local gateway."""
        if not self.gateway_url:
            return None
        try:
            response = requests.get(f"{self.gateway_url.rstrip('/')}/status", timeout=5)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as error:
            return {"error": f"the gateway at {self.gateway_url} did not answer: {error}"}
