"""Warm-up: one invoke with a sample input right after a version is published, so the
model is downloaded and loaded before the first real caller pays for it.

boto3 only (no numpy, no sagemaker-core): it runs inside the ingest Lambda.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

JSON = "application/json"


def _nested(shape: list[int], leaf) -> list:
    if len(shape) == 1:
        return [leaf() for _ in range(shape[0])]
    return [_nested(shape[1:], leaf) for _ in range(shape[0])]


def sample_payload(input_shapes: list[dict], *, fill: str = "zeros", seed: int = 0) -> tuple[bytes, str]:
    """`{"instances": [...]}` for the one input of a `<p>-shapes.json`, with a batch of 1.

    `fill` is "zeros" (the smallest body) or "random" (uniform in [0, 1), seeded).
    """
    if not isinstance(input_shapes, list) or len(input_shapes) != 1 or not isinstance(input_shapes[0], dict):
        raise ValueError('input_shapes must be [{"name": ..., "shape": [...]}] with exactly one input')
    shape = input_shapes[0].get("shape")
    if not isinstance(shape, list) or len(shape) < 2 or not all(isinstance(d, int) and d > 0 for d in shape):
        raise ValueError(f"the shape must be a list of positive integers, batch first, got {shape!r}")
    if fill == "zeros":
        leaf = float  # float() == 0.0
    elif fill == "random":
        rng = random.Random(seed)
        leaf = lambda: round(rng.random(), 4)  # noqa: E731 - four digits keep the body small
    else:
        raise ValueError(f"fill must be 'zeros' or 'random', not {fill!r}")
    body = json.dumps({"instances": _nested([1] + shape[1:], leaf)}, separators=(",", ":"))
    return body.encode(), JSON


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
    return f"{type(exc).__name__}: {exc}", None


def warm(runtime_client, endpoint: str, target_model: str, input_shapes: list[dict]) -> WarmResult:
    """Invokes `target_model` once with a zero input; never raises for an AWS or model error."""
    started = time.monotonic()
    try:
        body, content_type = sample_payload(input_shapes)
        response = runtime_client.invoke_endpoint(
            EndpointName=endpoint, TargetModel=target_model, Body=body, ContentType=content_type, Accept=JSON
        )
        response["Body"].read()
    except (ClientError, BotoCoreError, ValueError) as exc:
        error, status = _describe(exc)
        return WarmResult(False, target_model, time.monotonic() - started, error, status)
    return WarmResult(True, target_model, time.monotonic() - started)
