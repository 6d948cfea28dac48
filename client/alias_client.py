"""Invoke models by alias: the caller names `digits`, never `digits_v2.tar.gz`.

The alias is resolved through the registry (`GET /aliases/{alias}`, cached), one
target is picked per request, and the call is an ordinary SageMaker
`InvokeEndpoint` with `TargetModel`, so the same code runs against AWS and the
local stack (`AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`).
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

from .config import ClientSettings
from .errors import ModelInvocationError, ModelNotReady, RegistryRequestError, UnknownAlias
from .registry_api import RegistryApi
from .routing import AliasCache, ResolvedAlias, Target, pick_target, resolved_from

JSON = "application/json"
NOT_READY = "ModelNotReadyException"


@dataclass(frozen=True)
class InvokeResult:
    """The model's answer and which version produced it."""

    body: bytes
    content_type: str
    alias: str
    model: str
    version: int
    target_model: str
    invoked_variant: str | None = None
    custom_attributes: str | None = None
    endpoint: str | None = None  # the endpoint it was invoked on

    def json(self) -> Any:
        return json.loads(self.body)


class AliasClient:
    def __init__(self, registry_url: str | None = None, endpoint: str | None = None, runtime_client=None,
                 cache_ttl: float | None = None, *, fetch_alias: Callable[[str], dict] | None = None,
                 max_attempts: int = 12, backoff: float = 0.2, max_backoff: float = 3.0,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None, settings: ClientSettings | None = None):
        """`fetch_alias(alias) -> dict` replaces the HTTP registry (same document as `GET /aliases/{alias}`).

        ModelNotReadyException is retried up to `max_attempts` times with jittered pauses growing from
        `backoff` to `max_backoff` seconds: 12 attempts wait 12-24 s in all, longer than a model server
        restart (6-11 s on the local stack) or a mid-sized model's first load on an MME.
        """
        settings = settings or ClientSettings()
        self.registry = RegistryApi(registry_url or settings.registry_url, timeout=settings.registry_timeout)
        self._fetch_document = fetch_alias or self._fetch_from_registry
        self._endpoint = endpoint
        self._runtime = runtime_client
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._sleep = sleep
        self._rng = rng or random.Random()
        ttl = settings.cache_ttl if cache_ttl is None else cache_ttl
        self.cache = AliasCache(self._resolve_uncached, ttl=ttl, clock=clock)

    @property
    def runtime(self):
        """boto3 `sagemaker-runtime`, built on first use so AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME applies."""
        if self._runtime is None:
            import boto3

            session = boto3.Session()
            self._runtime = session.client("sagemaker-runtime", region_name=session.region_name or "us-east-1")
        return self._runtime

    # resolving -------------------------------------------------------------
    def resolve(self, alias: str) -> ResolvedAlias:
        """The alias's endpoint and targets (cached for the TTL; stale while the registry is down)."""
        return self.cache.get(alias)

    def _resolve_uncached(self, alias: str) -> ResolvedAlias:
        return resolved_from(self._fetch_document(alias), self._endpoint)

    def _fetch_from_registry(self, alias: str) -> dict:
        try:
            return self.registry.get_alias(alias)
        except RegistryRequestError as error:
            if error.status == 404:
                raise UnknownAlias(alias, error.message) from error
            raise

    # invoking --------------------------------------------------------------
    def invoke(self, alias: str, body: bytes | str, content_type: str = JSON, accept: str | None = None,
               key: str | None = None, custom_attributes: str | None = None) -> InvokeResult:
        """Calls the version `alias` points at; `key` pins a caller to one target of a weighted alias."""
        resolved = self.resolve(alias)
        target = pick_target(resolved, key, self._rng)
        params = {"EndpointName": target.endpoint or resolved.endpoint, "TargetModel": target.target_model,
                  "Body": body, "ContentType": content_type}
        if accept:
            params["Accept"] = accept
        if custom_attributes:
            params["CustomAttributes"] = custom_attributes
        answer = self._call(alias, target, params)
        return InvokeResult(
            body=answer["Body"].read(), content_type=answer.get("ContentType", ""), alias=alias,
            model=target.model, version=target.version, target_model=target.target_model,
            invoked_variant=answer.get("InvokedProductionVariant"), custom_attributes=answer.get("CustomAttributes"),
            endpoint=params["EndpointName"],
        )

    def predict(self, alias: str, instances, key: str | None = None) -> list:
        """JSON in, predictions out: `{"instances": [...]}` → the container's `predictions`."""
        rows = instances.tolist() if hasattr(instances, "tolist") else instances
        result = self.invoke(alias, json.dumps({"instances": rows}), content_type=JSON, accept=JSON, key=key)
        document = result.json()
        return document["predictions"] if isinstance(document, dict) and "predictions" in document else document

    def _call(self, alias: str, target: Target, params: dict) -> dict:
        for attempt in range(self._max_attempts):
            try:
                return self.runtime.invoke_endpoint(**params)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                if code == NOT_READY and attempt + 1 < self._max_attempts:
                    delay = min(self._max_backoff, self._backoff * 2**attempt)
                    self._sleep(delay * self._rng.uniform(0.5, 1.0))  # jitter: callers do not retry in step
                    continue
                raise _invocation_error(alias, target, error) from error
            except BotoCoreError as error:
                raise ModelInvocationError(alias, target.target_model, None, str(error), type(error).__name__) from error
        raise AssertionError("unreachable")  # the last attempt either returns or raises


def _invocation_error(alias: str, target: Target, error: ClientError) -> ModelInvocationError:
    """ModelError carries the container's own status and message (OriginalStatusCode, OriginalMessage)."""
    response = error.response
    code = response.get("Error", {}).get("Code", "Unknown")
    message = response.get("OriginalMessage") or response.get("Error", {}).get("Message", str(error))
    status = response.get("OriginalStatusCode") or response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    kind = ModelNotReady if code == NOT_READY else ModelInvocationError
    return kind(alias, target.target_model, int(status) if status is not None else None, message, code)
