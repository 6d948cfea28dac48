"""A discrete-event simulation of one multi-model endpoint's instances serving a trace of invokes.

What it models, after SageMaker's documentation of MME behaviour (pages cited in `client/plan/__init__.py`):

- routing: a request goes to an instance that has its model loaded; a model loaded nowhere goes to
  the instance with the most free memory for models (then the one whose first worker frees soonest,
  then the lowest index), so a load unloads as little as it can. SageMaker routes to instances where
  the model is already loaded; which instance loads a model loaded nowhere it does not say;
- memory: each instance holds loaded models up to its memory for models, each costing
  `memory.memory_cost(unpacked)`; a load that does not fit unloads least-recently-used models first;
- disk: each instance keeps downloaded artifacts on its volume (LRU by compressed size), so a model
  unloaded from memory but still on disk loads without a download;
- time: a cold request waits for the download (compressed bytes at the instance's S3 rate) and the
  load (`Model.load_seconds`), then its invoke (`Model.invoke_seconds`); requests for a model that
  is still loading wait for it. Each instance runs `vcpu` requests at once (the vCPU count is the
  documented concurrency limit for CPU-bound invokes); more wait in a FIFO queue.

Not modelled: a hot model loaded on several instances at once, auto scaling, the network between
caller and endpoint, GPU memory, the container refusing a load (507) other than by the memory rule, and
an instance's disk also holding the unpacked model. A model bigger than an instance's memory for models
is counted in `too_large` and served as if it fitted (SageMaker would fail it): a plan with any is refused.
"""
from __future__ import annotations

import bisect
import heapq
import math
from collections import OrderedDict
from dataclasses import dataclass, field

from .memory import memory_cost

DEFAULT_DOWNLOAD_RATE = 100 * 10**6  # bytes/s from S3 to one instance: an assumption, see the capacity page


@dataclass(frozen=True)
class InstanceSpec:
    """One instance type as the simulator sees it: memory for models is its memory less a reserve."""

    type: str
    vcpu: int
    model_memory: int
    volume: int
    price_per_hour: float = 0.0


@dataclass(frozen=True)
class Model:
    target_model: str
    compressed: int
    unpacked: int
    load_seconds: float
    invoke_seconds: float


@dataclass(frozen=True)
class Trace:
    """Requests in time order: `times[i]` (seconds from the start) asks for `models[i]` (an index)."""

    times: list[float]
    models: list[int]

    @property
    def duration(self) -> float:
        return self.times[-1] - self.times[0] if len(self.times) > 1 else 0.0


@dataclass
class Result:
    type: str
    count: int
    requests: int = 0
    memory_hits: int = 0
    disk_hits: int = 0
    loads: int = 0
    evictions: int = 0
    disk_evictions: int = 0
    too_large: int = 0
    p50: float = 0.0
    p99: float = 0.0
    duration: float = 0.0
    price_per_hour: float = 0.0
    peak_loaded: list[int] = field(default_factory=list)

    @property
    def hit_rate(self) -> float:
        """Requests whose model was loaded (or loading) on the instance they went to."""
        return self.memory_hits / self.requests if self.requests else 0.0

    @property
    def disk_hit_rate(self) -> float:
        """Of the loads, those whose artifact was still on the instance's disk."""
        return self.disk_hits / self.loads if self.loads else 0.0

    @property
    def loads_per_hour(self) -> float:
        return self.loads * 3600 / self.duration if self.duration else float(self.loads)


class _Instance:
    __slots__ = ("spec", "memory", "memory_used", "disk", "disk_used", "workers", "peak")

    def __init__(self, spec: InstanceSpec):
        self.spec = spec
        self.memory: OrderedDict[int, int] = OrderedDict()  # model -> memory cost, least recently used first
        self.memory_used = 0
        self.disk: OrderedDict[int, int] = OrderedDict()  # model -> compressed bytes, least recently used first
        self.disk_used = 0
        self.workers = [0.0] * max(1, spec.vcpu)  # when each worker is next free (a heap)
        self.peak = 0


def simulate(spec: InstanceSpec, count: int, models: list[Model], trace: Trace,
             download_rate: float = DEFAULT_DOWNLOAD_RATE, warm_up: float = 0.0) -> Result:
    """Replays `trace` through `count` instances of `spec`; pure and deterministic. Requests in the first
    `warm_up` seconds fill the caches but are not counted: an endpoint in service is not empty."""
    if count < 1:
        raise ValueError("an endpoint has at least one instance")
    endpoint = _Endpoint(spec, count, models, download_rate)
    split = bisect.bisect_left(trace.times, trace.times[0] + warm_up) if warm_up > 0 and trace.times else 0
    endpoint.serve(trace.times[:split], trace.models[:split], Result(spec.type, count))
    result = Result(spec.type, count, price_per_hour=spec.price_per_hour * count)
    latencies = endpoint.serve(trace.times[split:], trace.models[split:], result)
    result.duration = trace.times[-1] - trace.times[split] if len(latencies) > 1 else 0.0
    result.peak_loaded = [instance.peak for instance in endpoint.instances]
    if latencies:
        latencies.sort()
        result.p50, result.p99 = _nearest_rank(latencies, 0.50), _nearest_rank(latencies, 0.99)
    return result


class _Endpoint:
    """The instances and where each model is loaded, kept across the warm-up and the measured requests."""

    def __init__(self, spec: InstanceSpec, count: int, models: list[Model], download_rate: float):
        self.spec, self.models, self.download_rate = spec, models, download_rate
        self.instances = [_Instance(spec) for _ in range(count)]
        self.costs = [memory_cost(model.unpacked) for model in models]
        self.invokes = [model.invoke_seconds for model in models]
        self.where: dict[int, _Instance] = {}  # model -> the instance that has it loaded
        self.ready: dict[int, float] = {}  # model -> when its load finishes

    def serve(self, times: list[float], asked: list[int], result: Result) -> list[float]:
        """Serves the requests in order, counting into `result`; returns their latencies."""
        instances, models, costs, invokes, ready = self.instances, self.models, self.costs, self.invokes, self.ready
        where, rate, count = self.where, self.download_rate, len(self.instances)
        capacity, volume = self.spec.model_memory, self.spec.volume
        latencies = [0.0] * len(times)
        replace, find, hits, index = heapq.heapreplace, where.get, 0, 0
        for now, m in zip(times, asked):  # the hot loop: locals only, one branch per request
            instance = find(m)
            if instance is not None:
                instance.memory.move_to_end(m)
                hits += 1
                workers = instance.workers
                start = workers[0]
                if start < now:
                    start = now
                if ready[m] > start:
                    start = ready[m]
                finish = start + invokes[m]
            else:
                instance = instances[0] if count == 1 else min(instances, key=_least_loaded)
                workers = instance.workers
                start = workers[0] if workers[0] > now else now
                load = _cold(instance, m, models[m], costs[m], capacity, volume, where, result, rate)
                ready[m] = start + load
                finish = start + load + invokes[m]
            replace(workers, finish)
            latencies[index] = finish - now
            index += 1
        result.memory_hits += hits
        result.requests += len(latencies)
        return latencies


def _nearest_rank(ordered: list[float], quantile: float) -> float:
    """The smallest value with at least `quantile` of the values at or below it."""
    return ordered[max(0, math.ceil(quantile * len(ordered)) - 1)]


def _least_loaded(instance: _Instance) -> tuple[int, float]:
    return instance.memory_used, instance.workers[0]


def _cold(instance: _Instance, m: int, model: Model, cost: int, capacity: int, volume: int,
          where: dict[int, _Instance], result: Result, download_rate: float) -> float:
    """Loads `m` on `instance` (unloading LRU models to make room); returns the seconds the load takes."""
    result.loads += 1
    seconds = model.load_seconds
    if m in instance.disk:
        instance.disk.move_to_end(m)
        result.disk_hits += 1
    else:
        seconds += model.compressed / download_rate
        disk = instance.disk
        while disk and instance.disk_used + model.compressed > volume:
            _, size = disk.popitem(last=False)
            instance.disk_used -= size
            result.disk_evictions += 1
        disk[m] = model.compressed
        instance.disk_used += model.compressed
    if cost > capacity:
        result.too_large += 1
    memory = instance.memory
    while memory and instance.memory_used + cost > capacity:
        victim, freed = memory.popitem(last=False)
        instance.memory_used -= freed
        del where[victim]
        result.evictions += 1
    memory[m] = cost
    instance.memory_used += cost
    where[m] = instance
    if len(memory) > instance.peak:
        instance.peak = len(memory)
    return seconds
