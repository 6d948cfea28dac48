"""The REST API's requests and answers of safe promotion: reference samples and shadow runs, per-model metrics,
canary rollouts. Beside schemas.py (the registry's other routes), whose base classes and views these build on.
"""
import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from .fields import ModelName, Version
from .schemas import Request, TargetView, stated
from ..aliases.alias_metrics import DEFAULT_MINUTES, MAX_MINUTES, MIN_MINUTES, AliasMetrics
from ..aliases.comparisons import Comparison
from ..aliases.policy import ShadowThresholds
from ..errors import InvalidInput
from ..rollouts import rules as rollout_rules
from ..rollouts.state import Judgement, Rollout, Status as RolloutStatus
from ..validation.samples import MAX_SAMPLE_BYTES, MAX_SAMPLES


class PutSamples(Request):
    """A model's reference samples, replacing those it had: each a JSON request body as a caller sends it."""

    samples: Annotated[list[Any], Field(min_length=1, max_length=MAX_SAMPLES)] = Field(
        description=f"1 to {MAX_SAMPLES} JSON request bodies of at most {MAX_SAMPLE_BYTES // 1024} KiB each "
                    "(rule samples.size), the whole body within the API's 256 KiB")

    def bodies(self) -> list[bytes]:
        return [json.dumps(sample, separators=(",", ":")).encode() for sample in self.samples]


class RunShadow(Request):
    """A candidate to compare with the alias's current target(s) on the reference samples, without moving."""

    model: ModelName
    version: Version
    fresh: Annotated[bool, Field(strict=True)] = Field(False, description="run it again even when a recent "
                                                                          "comparison is recorded")


class StartRollout(Request):
    """A canary rollout of the alias to `model` `version`: the candidate's share of the traffic goes through
    `steps`, each held for `bake_seconds` and judged on the calls made meanwhile (rules: rollouts/rules.py)."""

    model: ModelName
    version: Version
    steps: Annotated[list[int], stated(minItems=2, maxItems=rollout_rules.MAX_STEPS, uniqueItems=True,
                                       contains={"const": 100}, items={"type": "integer", "minimum": 1,
                                                                        "maximum": 100})] = Field(
        description="the candidate's percent at each step, in increasing order (so ending at 100: promoted)")
    bake_seconds: Annotated[int, stated(minimum=rollout_rules.MIN_BAKE_SECONDS,
                                        maximum=rollout_rules.MAX_BAKE_SECONDS)]
    max_error_rate: Annotated[float, stated(minimum=0, exclusiveMaximum=1)] = Field(
        description="the candidate's failures (5xx, not ready) over its calls above this: a breach, rolled back")
    max_p99_ratio: Annotated[float, stated(minimum=1, maximum=rollout_rules.MAX_P99_RATIO)] = Field(
        description="the candidate's p99 latency above this times the incumbent's: a breach")
    min_requests: Annotated[int, stated(minimum=1, maximum=rollout_rules.MAX_MIN_REQUESTS)] = Field(
        rollout_rules.DEFAULT_MIN_REQUESTS, description="a step is never passed on fewer candidate calls: it "
                                                        "bakes on until it has them")

    @model_validator(mode="after")
    def within_rules(self) -> "StartRollout":
        try:
            rollout_rules.check_plan(self.plan())
        except InvalidInput as error:
            raise ValueError(error.message) from None
        return self

    def plan(self) -> rollout_rules.Plan:
        return rollout_rules.Plan(tuple(self.steps), self.bake_seconds, self.max_error_rate, self.max_p99_ratio,
                                  self.min_requests)


class SamplesView(BaseModel):
    model: str
    samples: int
    samples_key: str = Field(description="the S3 prefix the samples were written under")


class ShadowRun(BaseModel):
    alias: str
    model: str
    version: int
    thresholds: ShadowThresholds | None = Field(description="the alias policy's (null: none, numbers unjudged)")
    comparisons: list[Comparison]


class ComparisonList(BaseModel):
    items: list[Comparison]
    next_token: str | None = None


# metrics --------------------------------------------------------------------
class MetricsQuery(Request):
    minutes: Annotated[int, Field(ge=MIN_MINUTES, le=MAX_MINUTES, description=f"the window: the last N minutes, "
                                  f"{MIN_MINUTES} to {MAX_MINUTES}")] = DEFAULT_MINUTES


class WindowTotals(BaseModel):
    requests: int
    errors_4xx: int = Field(description="refused requests: the caller's bad input")
    errors_5xx: int
    throttles: int
    not_ready: int
    cold_loads: int
    failures: int = Field(description="the model's own failures: 5xx and not ready")
    failure_rate: float | None = Field(description="failures / requests; null without requests")
    p50_ms: float | None = Field(description="CloudWatch's median latency over the whole window")
    p99_ms: float | None = Field(description="CloudWatch's p99 latency over the whole window")


class VersionSeries(BaseModel):
    model: str
    version: int
    current: bool = Field(description="a target of the alias now (else: served earlier in the window)")
    requests: list[int] = Field(description="one value per timestamp, as every series here")
    errors_4xx: list[int]
    errors_5xx: list[int]
    throttles: list[int]
    not_ready: list[int]
    cold_loads: list[int]
    p50_ms: list[float | None] = Field(description="null where no call was recorded")
    p99_ms: list[float | None]
    totals: WindowTotals


class AliasMetricsView(BaseModel):
    alias: str
    minutes: int
    period_seconds: int = Field(description="the length of each point, chosen so a series has at most 120")
    start: datetime
    end: datetime
    timestamps: list[datetime] = Field(description="each point's start, oldest first")
    versions: list[VersionSeries] = Field(description="the alias's targets now, then the versions it pointed at "
                                                      "earlier in the window")

    @classmethod
    def of(cls, found: AliasMetrics) -> "AliasMetricsView":
        versions = []
        for line in found.series:
            t = line.totals
            totals = WindowTotals(requests=t.requests, errors_4xx=t.errors_4xx, errors_5xx=t.errors_5xx,
                                  throttles=t.throttles, not_ready=t.not_ready, cold_loads=t.cold_loads,
                                  failures=t.failures, failure_rate=t.failure_rate, p50_ms=t.p50_ms, p99_ms=t.p99_ms)
            versions.append(VersionSeries(
                model=line.model, version=line.version, current=(line.model, line.version) in found.current,
                requests=line.requests, errors_4xx=line.errors["4xx"], errors_5xx=line.errors["5xx"],
                throttles=line.errors["throttled"], not_ready=line.errors["not_ready"], cold_loads=line.cold_loads,
                p50_ms=line.p50, p99_ms=line.p99, totals=totals))
        return cls(alias=found.alias, minutes=found.minutes, period_seconds=found.period, start=found.start,
                   end=found.end, timestamps=found.series[0].timestamps if found.series else [], versions=versions)


class RolloutView(BaseModel):
    alias: str
    number: int
    status: RolloutStatus
    incumbent: TargetView
    candidate: TargetView
    steps: list[int]
    percent: int = Field(description="the candidate's share of the traffic now (its last step once ended)")
    step_started_at: datetime
    bake_seconds: int
    max_error_rate: float
    max_p99_ratio: float
    min_requests: int
    alias_revision: int = Field(description="the alias revision this rollout last wrote")
    started_by: str | None
    started_at: datetime
    ended_at: datetime | None
    decisions: list[Judgement] = Field(description="the start, each step's judgement with its numbers, the end")
    waiting: Judgement | None = Field(description="the running step's last look: too few calls yet")
    last_error: str | None

    @classmethod
    def of(cls, rollout: Rollout) -> "RolloutView":
        fields = rollout.model_dump(exclude={"incumbent", "candidate", "revision", "step"})
        percent = 0 if rollout.status in ("rolled_back", "cancelled") else rollout.percent
        return cls(**fields, incumbent=TargetView.of(rollout.incumbent), candidate=TargetView.of(rollout.candidate),
                   percent=percent)


class RolloutList(BaseModel):
    alias: str
    current: RolloutView | None = Field(description="the running rollout, if any")
    items: list[RolloutView] = Field(description="every rollout of the alias, newest first")
    next_token: str | None
