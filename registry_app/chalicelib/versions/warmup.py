"""Warm-up: one invoke with a sample input right after a version is published, so the
model is downloaded and loaded before the first real caller pays for it.

boto3 only (no numpy, no sagemaker-core): it runs inside the ingest Lambda. A big model's
first load on an MME answers ModelNotReadyException until it is loaded; that is retried
with backoff within a time budget. botocore's retry modes do not count that error as
retryable and cannot be told to without patching its data files, hence the small loop.
A warm-up never raises: whatever goes wrong (an AWS error, an input too large to build,
RecursionError, MemoryError) is a failed warm-up, and the version's aliases stay put.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from ..errors import NoEndpoint
from ..frameworks import Endpoints
from ..metrics.names import WARMUP_MARK
from .sample_inputs import JSON, payload_for

RETRYABLE = frozenset({"ModelNotReadyException", "ThrottlingException", "ServiceUnavailable", "InternalFailure"})
FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 16.0


@dataclass(frozen=True)
class WarmResult:
    ok: bool
    target_model: str
    seconds: float
    error: str | None = None  # why it failed, in words fit for an upload record
    status_code: int | None = None  # the container's status, for a ModelError


def warm_version(runtime_client, endpoints: Endpoints, framework: str, target_model: str, inputs: list[dict],
                 budget_seconds: float = 120.0) -> WarmResult:
    """Warms `target_model` on the endpoint serving `framework`; a framework with no endpoint is a failed warm-up."""
    try:
        endpoint = endpoints.for_framework(framework, target_model)
    except NoEndpoint as error:
        return WarmResult(False, target_model, 0.0, error.message)
    return warm(runtime_client, endpoint, target_model, inputs, framework=framework, budget_seconds=budget_seconds)


def _describe(exc: Exception) -> tuple[str, int | None]:
    if isinstance(exc, ClientError):
        response = exc.response
        code = response.get("Error", {}).get("Code", "")
        message = response.get("Error", {}).get("Message", str(exc))
        original = response.get("OriginalStatusCode")
        if original is not None:
            detail = response.get("OriginalMessage") or message
            return f"{code}: the model answered {original}: {detail}", int(original)
        return f"{code}: {message}", None
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - an exception that cannot even describe itself is still a failed warm-up
        text = "(no description)"
    return f"{type(exc).__name__}: {text[:500]}", None


def _retryable(exc: Exception) -> bool:
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code", "") in RETRYABLE


class InvokeFailed(Exception):
    """An invoke that failed for good: `error` in words, the container's `status_code` for a ModelError."""

    def __init__(self, error: str, status_code: int | None, seconds: float):
        super().__init__(error)
        self.error, self.status_code, self.seconds = error, status_code, seconds


def invoke(runtime_client, endpoint: str, target_model: str, build, *, budget_seconds: float = 120.0,
           sleep=time.sleep, clock=time.monotonic) -> tuple[bytes, float]:
    """Invokes `target_model` with the body `build()` gives ((bytes, content type)), retrying a model still
    loading (ModelNotReadyException) and throttling with backoff within the budget; answers the response body
    and the seconds of the call that answered. Whatever else goes wrong raises InvokeFailed, never another error
    (see the module docstring)."""
    started = clock()
    delay, attempts = FIRST_DELAY_SECONDS, 0
    while True:
        attempts += 1
        try:
            body, content_type = build()
            begun = clock()
            response = runtime_client.invoke_endpoint(
                EndpointName=endpoint, TargetModel=target_model, Body=body, ContentType=content_type, Accept=JSON,
                CustomAttributes=WARMUP_MARK,  # not an application's call: per-model metrics leave it out
            )
            return response["Body"].read(), clock() - begun
        except Exception as exc:  # noqa: BLE001 - see the module docstring: a warm-up fails, it never crashes
            if _retryable(exc) and clock() - started + delay <= budget_seconds:
                sleep(delay)
                delay = min(delay * 2, MAX_DELAY_SECONDS)
                continue
            error, status = _describe(exc)
            if attempts > 1:
                error += f" (after {attempts} attempts in {clock() - started:.0f} s)"
            raise InvokeFailed(error, status, clock() - started) from None


def warm(runtime_client, endpoint: str, target_model: str, input_shapes: list[dict], *, framework: str = "mxnet",
         budget_seconds: float = 120.0, sleep=time.sleep, clock=time.monotonic) -> WarmResult:
    """Invokes `target_model` with a zero input of its framework's form (sample_inputs.py) until it answers,
    a non-retryable error, or the budget; never raises."""
    started = clock()
    try:
        invoke(runtime_client, endpoint, target_model, lambda: payload_for(framework, input_shapes),
               budget_seconds=budget_seconds, sleep=sleep, clock=clock)
    except InvokeFailed as failed:
        return WarmResult(False, target_model, clock() - started, failed.error, failed.status_code)
    return WarmResult(True, target_model, clock() - started)
