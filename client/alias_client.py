"""Invoke models by alias: the caller names `digits`, never `digits_v2.tar.gz`.

The alias is resolved through the registry (`GET /aliases/{alias}`, cached), one
target is picked per request, and the call is an ordinary SageMaker
`InvokeEndpoint` with `TargetModel`, so the same code runs against AWS and the
local stack (`AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`).

Every call is recorded as per-model metrics (client/metrics.py) unless turned off, and may be mirrored to
a candidate version (client/mirror.py). Each call carries the alias in SageMaker's CustomAttributes
(`mme-registry-alias=<alias>`, after the caller's own attributes), so the local gateway, which records the
calls of plain boto3 callers, does not count these twice.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

from .config import ClientSettings
from .errors import AliasClientError, ModelInvocationError, ModelNotReady, RegistryRequestError, UnknownAlias
from .metrics import CloudWatchPublisher, ColdLoadJudge, Dims, EmfWriter, call_counts, outcome_of
from .mirror import Mirrors, MirrorSpec, agrees, candidate_target
from .registry_api import RegistryApi
from .registry_code import metric_names as names
from .routing import AliasCache, ResolvedAlias, Target, pick_target, resolved_from

JSON = "application/json"
NOT_READY = "ModelNotReadyException"
MARK = names.ALIAS_MARK  # in CustomAttributes: this call is an AliasClient's, already recorded
MAX_CUSTOM_ATTRIBUTES = 1024  # SageMaker's limit on CustomAttributes


def marked(custom_attributes: str | None, alias: str) -> str | None:
    """The caller's CustomAttributes with the alias mark after them; unmarked if that would pass the limit."""
    mark = MARK + alias
    combined = f"{custom_attributes},{mark}" if custom_attributes else mark
    return combined if len(combined) <= MAX_CUSTOM_ATTRIBUTES else custom_attributes


@dataclass(frozen=True)
class _Attempt:
    """One call as the caller saw it: the answer or the error, the wall time, the not-ready retries."""

    answer: dict | None
    body: bytes
    error: Exception | None
    latency_ms: float
    retries: int


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
                 rng: random.Random | None = None, settings: ClientSettings | None = None,
                 metrics: bool | None = None, recorder=None, cloudwatch_client=None,
                 mirror: dict | list[dict] | None = None):
        """`fetch_alias(alias) -> dict` replaces the HTTP registry (same document as `GET /aliases/{alias}`).

        `metrics=False` (or MME_METRICS=false) records nothing; `recorder` replaces where the metrics go (an
        object with record(dims, counts, latency_ms) and close()); `cloudwatch_client` replaces the boto3
        client they are sent with. `mirror={"alias", "to": "model:version", "fraction"}` (or a list of them)
        sends that share of the alias's calls to the candidate version too (client/mirror.py); the candidate
        must be a registered version.

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
        self._cloudwatch = cloudwatch_client
        self.recorder = recorder if recorder is not None else self._recorder(settings, metrics)
        self._cold = ColdLoadJudge()
        self.mirrors = self._mirrors(mirror) if mirror else None

    def _recorder(self, settings: ClientSettings, enabled: bool | None):
        if not (settings.metrics if enabled is None else enabled):
            return None
        if settings.lambda_function_name:
            return EmfWriter()
        return CloudWatchPublisher(self._cloudwatch_client, settings.metrics_flush_seconds)

    def _cloudwatch_client(self):
        """boto3 `cloudwatch` as the runtime client is built (AWS_ENDPOINT_URL applies), in the runtime's region."""
        if self._cloudwatch is None:
            import boto3
            from botocore.config import Config

            session = boto3.Session()
            region = self._runtime.meta.region_name if self._runtime is not None else session.region_name
            config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})
            self._cloudwatch = session.client("cloudwatch", region_name=region or "us-east-1", config=config)
        return self._cloudwatch

    def _mirrors(self, mirror: dict | list[dict]) -> Mirrors:
        """Checks each mirror's candidate against the registry: it must be a version, served by an endpoint."""
        candidates, served = {}, None
        for spec in map(MirrorSpec.parse, mirror if isinstance(mirror, list) else [mirror]):
            try:
                version = self.registry.get_version(spec.model, spec.version)
            except RegistryRequestError as error:
                if error.status == 404:
                    raise AliasClientError(f"mirror: {spec.model}:{spec.version} is not a registered version "
                                           f"({error.message})") from error
                raise
            if served is None and not self._endpoint:  # GET /endpoints: which endpoint serves which framework
                served = {item["framework"]: item["name"] for item in self.registry.endpoints().get("items", [])}
            endpoint = self._endpoint or served.get(version.get("framework"))
            candidates[spec.alias] = (spec, candidate_target(spec, version, endpoint))
        return Mirrors(candidates, self._mirror_call)

    def close(self) -> None:
        """Sends the queued mirrors and the metrics not yet sent (also done at interpreter exit)."""
        if self.mirrors is not None:
            self.mirrors.close()
        if self.recorder is not None:
            self.recorder.close()

    def __enter__(self) -> "AliasClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

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
        attributes = marked(custom_attributes, alias) if self.recorder is not None else custom_attributes
        if attributes:
            params["CustomAttributes"] = attributes
        attempt = self._attempt(alias, target, params)
        self._record(alias, target, attempt)
        if attempt.error is not None:
            raise attempt.error
        answer = attempt.answer
        if self.mirrors is not None:
            self.mirrors.offer(alias, params, attempt.body)
        return InvokeResult(
            body=attempt.body, content_type=answer.get("ContentType", ""), alias=alias,
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

    def _attempt(self, alias: str, target: Target, params: dict) -> _Attempt:
        """The call, its body read, timed as the caller waits for it; a failure is returned, not raised."""
        started = time.perf_counter()
        retries: list[int] = []
        try:
            answer = self._call(alias, target, params, retries)
            body = answer["Body"].read()
        except Exception as error:  # noqa: BLE001 - recorded, then raised to the caller by invoke
            return _Attempt(None, b"", error, (time.perf_counter() - started) * 1000, len(retries))
        return _Attempt(answer, body, None, (time.perf_counter() - started) * 1000, len(retries))

    def _record(self, alias: str, target: Target, attempt: _Attempt, extra: dict[str, int] | None = None) -> None:
        """The call's metrics (client/metrics.py says how a cold load is told); nothing when metrics are off."""
        if self.recorder is None:
            return
        error = attempt.error
        outcome = outcome_of(error.__cause__ if isinstance(error, ModelInvocationError) else error)
        dims = Dims(alias, target.model, str(target.version))
        key = f"{target.endpoint}/{target.target_model}"
        cold, judged = outcome == "ok" and attempt.retries > 0, None
        if cold:
            self._cold.loaded(key)
        elif outcome == "ok":
            judged = self._cold.answered(key, dims, attempt.latency_ms)
        self.recorder.record(dims, {**call_counts(outcome, cold), **(extra or {})}, attempt.latency_ms)
        if judged is not None:
            self.recorder.record(judged, {names.COLD_LOADS: 1})

    def _mirror_call(self, alias: str, candidate: Target, params: dict, given: bytes) -> None:
        """The mirror's worker: the candidate's call, compared with the answer given, recorded."""
        attempt = self._attempt(alias, candidate, params)
        agreed = attempt.error is None and agrees(given, attempt.body)
        self._record(alias, candidate, attempt, {names.MIRRORED: 1, names.MIRROR_AGREED: int(agreed)})

    def _call(self, alias: str, target: Target, params: dict, retries: list[int] | None = None) -> dict:
        for attempt in range(self._max_attempts):
            try:
                return self.runtime.invoke_endpoint(**params)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                if code == NOT_READY and attempt + 1 < self._max_attempts:
                    if retries is not None:
                        retries.append(attempt)
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
