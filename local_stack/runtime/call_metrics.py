"""The local gateway's per-model metrics: the calls of plain boto3 callers (the notebooks, a user's script), so
they appear beside the AliasClient's, each call counted once.

Which calls: an InvokeEndpoint whose CustomAttributes carry no `mme-registry-` mark (names.MARK_PREFIX: an
AliasClient marks its calls, mirrors included, and records them itself; the registry marks its warm-up, which is
no application's call and which nothing records on AWS either) and whose TargetModel names a
registry version (`<model>_v<N>.tar.gz`, what the registry writes under models/; another name is no version and
has no Model and Version to be filed under). Each is recorded under Alias names.DIRECT, the TargetModel's model
and version, with the gateway's own latency (from the request read to the answer), the outcome it answered
(client/metrics.py's classes), and ColdLoads when the gateway loaded the model for that call: it knows for sure.
Sent to the emulator's CloudWatch every FLUSH_SECONDS by the client's publisher (the same sums and batches).
"""
from __future__ import annotations

import re
from typing import Callable

from chalicelib.errors import InvalidInput
from chalicelib.metrics import names
from chalicelib.names import parse_target_model
from client.metrics import CloudWatchPublisher, Dims, call_counts, outcome_for

FLUSH_SECONDS = 2.0  # local: a test or a person sees a call within seconds; nothing is sent while idle
_MARKED = re.compile(rf"(?:^|,)\s*{re.escape(names.MARK_PREFIX)}")


def direct_call(target_model: str | None, custom_attributes: str | None) -> Dims | None:
    """The dimensions to record an unmarked call to a registry version under; None for any other call."""
    if not target_model or (custom_attributes and _MARKED.search(custom_attributes)):
        return None
    try:
        model, version = parse_target_model(target_model)
    except InvalidInput:
        return None
    return Dims(names.DIRECT, model, str(version))


class GatewayCalls:
    """Records the gateway's direct calls through the client's CloudWatch publisher."""

    def __init__(self, cloudwatch: Callable[[], object], flush_seconds: float = FLUSH_SECONDS):
        self.publisher = CloudWatchPublisher(cloudwatch, flush_seconds)

    def answered(self, dims: Dims, latency_ms: float, loaded: bool) -> None:
        self.publisher.record(dims, call_counts("ok", loaded), latency_ms)

    def failed(self, dims: Dims, latency_ms: float, code: str, status: int, original_status=None) -> None:
        self.publisher.record(dims, call_counts(outcome_for(code, status, original_status)), latency_ms)

    def close(self) -> None:
        self.publisher.close()
