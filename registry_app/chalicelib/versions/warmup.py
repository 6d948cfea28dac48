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

import json
import random
import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

JSON = "application/json"
MAX_RANK = 32  # deeper nesting than any real input; deeper would hit Python's recursion limit
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # InvokeEndpoint's request limit for real-time endpoints
RETRYABLE = frozenset({"ModelNotReadyException", "ThrottlingException", "ServiceUnavailable", "InternalFailure"})
FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 16.0


def _nested(shape: list[int], leaf) -> list:
    if len(shape) == 1:
        return [leaf() for _ in range(shape[0])]
    return [_nested(shape[1:], leaf) for _ in range(shape[0])]


def sample_payload(input_shapes: list[dict], *, fill: str = "zeros", seed: int = 0) -> tuple[bytes, str]:
    """A batch of 1 for the inputs of a `<p>-shapes.json`, in the form the container takes:
    `{"instances": [...]}` for one input, `{"inputs": {"<name>": [...], ...}}` for several.

    `fill` is "zeros" (the smallest body) or "random" (uniform in [0, 1), seeded).
    """
    if not isinstance(input_shapes, list) or not input_shapes or not all(isinstance(e, dict) for e in input_shapes):
        raise ValueError('input_shapes must be [{"name": ..., "shape": [...]}, ...] with at least one input')
    names = [entry.get("name") for entry in input_shapes]
    if len(names) > 1 and (not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names)):
        raise ValueError(f"several inputs need distinct names, got {names!r}")
    elements = 0
    for entry in input_shapes:
        elements += _checked_elements(entry.get("shape"), elements)
    if fill == "zeros":
        leaf = float  # float() == 0.0
    elif fill == "random":
        rng = random.Random(seed)
        leaf = lambda: round(rng.random(), 4)  # noqa: E731 - four digits keep the body small
    else:
        raise ValueError(f"fill must be 'zeros' or 'random', not {fill!r}")
    samples = [_nested([1] + entry["shape"][1:], leaf) for entry in input_shapes]
    document = {"instances": samples[0]} if len(samples) == 1 else {"inputs": dict(zip(names, samples))}
    return json.dumps(document, separators=(",", ":")).encode(), JSON


def _checked_elements(shape, before: int) -> int:
    """The elements of one input's sample (batch 1), refusing shapes no request could carry."""
    if not isinstance(shape, list) or len(shape) < 2 or not all(isinstance(d, int) and d > 0 for d in shape):
        raise ValueError(f"the shape must be a list of positive integers, batch first, got {shape!r}")
    if len(shape) > MAX_RANK:
        raise ValueError(f"the shape has rank {len(shape)}; a sample input is built for rank {MAX_RANK} at most")
    elements = 1
    for dimension in shape[1:]:
        elements *= dimension
        if (before + elements) * 4 > MAX_PAYLOAD_BYTES:  # at least "0.0," per element
            raise ValueError(f"a sample input of shape {shape[:MAX_RANK]!r} exceeds InvokeEndpoint's "
                             f"{MAX_PAYLOAD_BYTES // 2**20} MB request limit")
    return elements


@dataclass(frozen=True)
class WarmResult:
    ok: bool
    target_model: str
    seconds: float
    error: str | None = None  # why it failed, in words fit for an upload record
    status_code: int | None = None  # the container's status, for a ModelError


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


def warm(runtime_client, endpoint: str, target_model: str, input_shapes: list[dict], *,
         budget_seconds: float = 120.0, sleep=time.sleep, clock=time.monotonic) -> WarmResult:
    """Invokes `target_model` with a zero input until it answers, a non-retryable error, or the budget; never raises."""
    started = clock()
    delay, attempts = FIRST_DELAY_SECONDS, 0
    while True:
        attempts += 1
        try:
            body, content_type = sample_payload(input_shapes)
            response = runtime_client.invoke_endpoint(
                EndpointName=endpoint, TargetModel=target_model, Body=body, ContentType=content_type, Accept=JSON
            )
            response["Body"].read()
            return WarmResult(True, target_model, clock() - started)
        except Exception as exc:  # noqa: BLE001 - see the module docstring: a warm-up fails, it never crashes
            if _retryable(exc) and clock() - started + delay <= budget_seconds:
                sleep(delay)
                delay = min(delay * 2, MAX_DELAY_SECONDS)
                continue
            error, status = _describe(exc)
            if attempts > 1:
                error += f" (after {attempts} attempts in {clock() - started:.0f} s)"
            return WarmResult(False, target_model, clock() - started, error, status)
