"""The shadow gate: before a protected alias moves to a version it does not point at yet, that candidate and each
current target answer the same reference samples, and the move goes ahead only if the numbers meet the policy.

SageMaker's shadow tests exclude multi-model endpoints; the registry sees every move of an alias, so it compares
there, through the same InvokeEndpoint the warm-up uses (versions/warmup.invoke: ModelNotReadyException retried).
Samples: the candidate's own (its tarball's samples/), else its model's (POST /models/{name}/samples). Each model
is invoked once untimed first (a load is not latency), then the samples in turns (incumbent first on even ones).
A comparison recorded for the same alias, incumbent, candidate and samples within `reuse_seconds` is reused and
judged again by today's thresholds. An alias with no current target has nothing to compare: the move goes ahead.
"""
from __future__ import annotations

import json
import math
import statistics
import time
from datetime import timedelta
from typing import Callable

from ..errors import Conflict, NoEndpoint, PolicyUnmet
from ..frameworks import Endpoints
from ..metrics.compare import NotComparable, max_abs_diff, top1_agreement, topk_overlap
from ..records import VersionRecord, utcnow
from ..versions.reference_samples import SampleStore
from ..versions.store import RegistryStore
from ..versions.warmup import InvokeFailed, invoke
from .alias_store import AliasTarget
from .comparisons import Comparison, ComparisonStore, judge
from .policy import ShadowThresholds

NO_SAMPLES = "shadow.no_samples"


class Shadow:
    def __init__(self, store: RegistryStore, samples: SampleStore, comparisons: ComparisonStore, runtime,
                 endpoints: Endpoints, reuse_seconds: float = 3600, invoke_budget_seconds: float = 20.0,
                 clock: Callable = utcnow, timer: Callable = time.monotonic):
        """`runtime` is a sagemaker-runtime client; each version is invoked on the endpoint of its framework."""
        self._store = store
        self._samples = samples
        self._comparisons = comparisons
        self._runtime = runtime
        self._endpoints = endpoints
        self._reuse = timedelta(seconds=reuse_seconds)
        self._budget = invoke_budget_seconds
        self._clock = clock
        self._timer = timer

    def gate(self, alias: str, thresholds: ShadowThresholds | None, before: list[AliasTarget],
             after: list[AliasTarget], actor: str | None) -> None:
        """Raises PolicyUnmet (requirement "shadow", with the numbers and thresholds) unless every new target
        meets `thresholds` beside every current one."""
        held = {(t.model, t.version) for t in before}
        incumbents = [v for v in (self._store.get_version(t.model, t.version) for t in before) if v is not None]
        if not incumbents:
            return  # a first move: nothing to compare with
        for target in after:
            if (target.model, target.version) in held:
                continue
            candidate = self._store.get_version(target.model, target.version)
            if candidate is None:
                continue  # the move itself says it does not exist
            try:
                done = self.compare(alias, incumbents, candidate, thresholds, actor)
            except Conflict as error:
                raise PolicyUnmet(f"alias {alias} requires 'shadow': {error.message}",
                                  {"alias": alias, "requirement": "shadow", "model": candidate.name,
                                   "version": candidate.version, **error.details}) from None
            failed = [c for c in done if c.verdict != "passed"]
            if failed:
                raise _refusal(alias, candidate, failed)

    def preview(self, alias: str, before: list[AliasTarget], thresholds: ShadowThresholds | None,
                candidate: VersionRecord, actor: str | None, fresh: bool = False) -> list[Comparison]:
        """The comparisons a move of `alias` to `candidate` would be judged by, run (or reused) without moving."""
        if any((t.model, t.version) == (candidate.name, candidate.version) for t in before):
            raise Conflict(f"alias {alias} already points at {candidate.name} v{candidate.version}: nothing to "
                           "compare it with", {"alias": alias})
        incumbents = [v for v in (self._store.get_version(t.model, t.version) for t in before) if v is not None]
        if not incumbents:
            raise Conflict(f"alias {alias} has no current target to compare with", {"alias": alias})
        return self.compare(alias, incumbents, candidate, thresholds, actor, reuse=not fresh)

    def compare(self, alias: str, incumbents: list[VersionRecord], candidate: VersionRecord,
                thresholds: ShadowThresholds | None, actor: str | None, reuse: bool = True) -> list[Comparison]:
        """The candidate beside each incumbent (recorded, or reused); Conflict when there is no sample."""
        settings = thresholds or ShadowThresholds()
        source, prefix, count = self._samples.source_of(candidate, self._store.get_model(candidate.name))
        if prefix is None:
            raise Conflict(f"{candidate.name} v{candidate.version} has no reference samples, nor has its model: "
                           "put samples/*.json in its tarball or POST /models/{name}/samples",
                           {"rule": NO_SAMPLES, "model": candidate.name, "version": candidate.version})
        used = min(count, settings.samples)
        bodies = None
        done = []
        for incumbent in incumbents:
            if (incumbent.name, incumbent.version) == (candidate.name, candidate.version):
                continue
            recorded = self._comparisons.get(candidate.name, candidate.version, alias, incumbent.name,
                                             incumbent.version) if reuse else None
            if (recorded is not None and recorded.at >= self._clock() - self._reuse and recorded.samples_key == prefix
                    and recorded.samples == used and recorded.k == settings.k and recorded.error is None):
                done.append(judge(recorded, thresholds).model_copy(update={"reused": True}))
                continue
            bodies = bodies if bodies is not None else self._samples.read(prefix, used)
            comparison = self._run(alias, incumbent, candidate, bodies, settings.k, actor)
            comparison = judge(comparison.model_copy(update={"samples_source": source, "samples_key": prefix}),
                               thresholds)
            self._comparisons.put(comparison)
            done.append(comparison)
        return done

    def _run(self, alias: str, incumbent: VersionRecord, candidate: VersionRecord, bodies: list[bytes], k: int,
             actor: str | None) -> Comparison:
        base = Comparison(alias=alias, model=candidate.name, version=candidate.version,
                          incumbent_model=incumbent.name, incumbent_version=incumbent.version, at=self._clock(),
                          actor=actor, samples=0, samples_source="version", samples_key="", k=k)
        try:
            answers = self._answers([incumbent, candidate], bodies)
        except InvokeFailed as failed:
            return base.model_copy(update={"error": f"an invoke failed: {failed.error}"[:1000]})
        except NoEndpoint as error:
            return base.model_copy(update={"error": error.message[:1000]})
        (old, old_seconds), (new, new_seconds) = answers
        agreed = overlap = 0.0
        differences, not_comparable = [], 0
        for a, b in zip(old, new):
            try:  # all three or none: a sample one of them cannot compare counts as not comparable only
                scores = top1_agreement(a, b), topk_overlap(a, b, k), max_abs_diff(a, b)
            except NotComparable:
                not_comparable += 1
                continue
            agreed, overlap = agreed + scores[0], overlap + scores[1]
            differences.append(scores[2])
        n = len(bodies)
        old_median, new_median = statistics.median(old_seconds), statistics.median(new_seconds)
        largest = max(differences) if differences and not not_comparable else None
        return base.model_copy(update={
            "samples": n, "top1_agreement": round(agreed / n, 6), "topk_overlap": round(overlap / n, 6),
            # kept to 12 decimals, and none when not finite: DynamoDB holds neither 5e-324 nor NaN
            "max_abs_diff": round(largest, 12) if largest is not None and math.isfinite(largest) else None,
            "latency_ratio": round(new_median / max(old_median, 1e-6), 4),
            "candidate_median_ms": round(new_median * 1000, 3), "incumbent_median_ms": round(old_median * 1000, 3),
            "not_comparable": not_comparable})

    def _answers(self, versions: list[VersionRecord], bodies: list[bytes]) -> list[tuple[list, list[float]]]:
        """Each version's decoded answers to `bodies` and the seconds of each call."""
        endpoints = [self._endpoints.for_framework(v.framework, f"{v.name} v{v.version}") for v in versions]
        for version, endpoint in zip(versions, endpoints):  # untimed: the first call may load the model
            self._invoke(endpoint, version, bodies[0])
        answers: list[tuple[list, list[float]]] = [([], []) for _ in versions]
        for index, body in enumerate(bodies):
            order = range(len(versions)) if index % 2 == 0 else reversed(range(len(versions)))
            for which in order:
                output, seconds = self._invoke(endpoints[which], versions[which], body)
                answers[which][0].append(output)
                answers[which][1].append(seconds)
        return answers

    def _invoke(self, endpoint: str, version: VersionRecord, body: bytes):
        raw, seconds = invoke(self._runtime, endpoint, version.target_model, lambda: (body, "application/json"),
                              budget_seconds=self._budget, clock=self._timer)
        try:
            return json.loads(raw), seconds
        except ValueError:
            return raw.decode(errors="replace"), seconds  # compared as not comparable


def _refusal(alias: str, candidate: VersionRecord, failed: list[Comparison]) -> PolicyUnmet:
    said = "; ".join(f"beside {c.incumbent_model} v{c.incumbent_version} on {c.samples} samples: "
                     f"{', '.join(c.failures)}" for c in failed)
    return PolicyUnmet(f"alias {alias} requires 'shadow': {candidate.name} v{candidate.version} {said}",
                       {"alias": alias, "requirement": "shadow", "model": candidate.name,
                        "version": candidate.version, "thresholds": failed[0].thresholds,
                        "comparisons": [c.model_dump(mode="json") for c in failed]})
