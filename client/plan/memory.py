"""What a loaded model costs in memory: one rule for the planner's simulator and the local gateway's budget.

SageMaker documents no formula; it unloads models "when a container runs out of memory" for a new one
(multi-model-caching.html). This is the estimate both sides use, so a plan and the local gateway agree:

- `MEMORY_FACTOR` times the model's unpacked bytes: the framework holds its parameters deserialized
  (about their file size) plus its buffers and graph (a documented guess of a fifth more);
- `MODEL_OVERHEAD_BYTES` per model: Multi Model Server gives every loaded model its own worker, a
  Python process with the framework imported; 128 MiB is an estimate to check against a real
  instance's memory metric (CloudWatch `MemoryUtilization` of the endpoint).
"""
from __future__ import annotations

import math

MIB = 1 << 20
GIB = 1 << 30
MEMORY_FACTOR = 1.2
MODEL_OVERHEAD_BYTES = 128 * MIB


def memory_cost(unpacked_bytes: int) -> int:
    """Bytes of instance memory one loaded model takes, from the bytes its archive unpacks to."""
    if unpacked_bytes < 0:
        raise ValueError(f"a model cannot unpack to {unpacked_bytes} bytes")
    return MODEL_OVERHEAD_BYTES + math.ceil(unpacked_bytes * MEMORY_FACTOR)


def budget_for(models: int, unpacked_bytes: int) -> int:
    """The memory that holds `models` models of up to `unpacked_bytes` each; never more than `models` models
    of any size while `unpacked_bytes × MEMORY_FACTOR` stays under half of `MODEL_OVERHEAD_BYTES`."""
    return models * memory_cost(unpacked_bytes)
