"""Shadow comparisons: what a candidate's answers came to beside an alias's current target, judged, and recorded.

Item layout (beside the candidate's version record; one item per (alias, incumbent), the latest run):
  pk=MODEL#<candidate>   sk=S#<version, 10 digits>#<alias>#<incumbent model>#<incumbent version, 10 digits>
Each write is one transaction with its ShadowCompared event (the outbox). `judge` is pure: the verdict of
some numbers against the thresholds, so a reused comparison is judged again by the policy of the day.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ..dynamo import get_item, query_page, to_item
from ..outbox import changes, items as outbox
from ..records import MAX_RECORDED_BYTES, shortened
from ..versions.store import model_pk
from .policy import ShadowThresholds

PREFIX = "S#"
Verdict = Literal["passed", "failed", "not judged"]


class Comparison(BaseModel):
    alias: str
    model: str = Field(description="the candidate")
    version: int
    incumbent_model: str
    incumbent_version: int
    at: datetime
    actor: str | None = None
    samples: int = Field(description="samples both answered")
    samples_source: Literal["version", "model"] = Field(description="the candidate's own samples, or its model's")
    samples_key: str = Field(description="the S3 prefix the samples were read from")
    k: int
    top1_agreement: float | None = Field(None, description="share of samples whose best class agrees (0..1)")
    topk_overlap: float | None = Field(None, description="mean share of the k best classes in common (0..1)")
    max_abs_diff: float | None = Field(None, description="largest absolute difference; null: shapes differ")
    latency_ratio: float | None = Field(None, description="candidate's median latency / incumbent's")
    candidate_median_ms: float | None = None
    incumbent_median_ms: float | None = None
    not_comparable: int = Field(0, description="samples whose two answers were not of one comparable shape")
    error: str | None = Field(None, description="why the comparison could not be made (an invoke failed)")
    thresholds: dict[str, float] = Field(default_factory=dict, description="the thresholds it was judged by")
    verdict: Verdict = "not judged"
    failures: list[str] = Field(default_factory=list, description="each threshold not met, with its numbers")
    reused: bool = Field(False, description="answered from a recorded comparison instead of run again")


NUMBERS = {  # threshold -> (the number it bounds, how it reads, the bound's direction)
    "min_top1_agreement": ("top1_agreement", "top-1 agreement", "min"),
    "min_topk_overlap": ("topk_overlap", "top-k overlap", "min"),
    "max_abs_diff": ("max_abs_diff", "max absolute difference", "max"),
    "max_latency_ratio": ("latency_ratio", "latency ratio", "max"),
}


def judge(comparison: Comparison, thresholds: ShadowThresholds | None) -> Comparison:
    """The comparison with its verdict against `thresholds` (None: not judged); a number missing fails its bound."""
    given = thresholds.given() if thresholds else {}
    if not given:
        return comparison.model_copy(update={"thresholds": {}, "verdict": "not judged", "failures": []})
    failures = [comparison.error] if comparison.error else []
    for threshold, bound in given.items():
        field, words, direction = NUMBERS[threshold]
        value = getattr(comparison, field)
        label = f"{words} (k={comparison.k})" if field == "topk_overlap" else words
        if value is None:
            failures.append(f"{label} could not be measured (the answers are not comparable), "
                            f"{direction} {bound:g} required")
        elif (direction == "min" and value < bound) or (direction == "max" and value > bound):
            failures.append(f"{label} {value:.4g} {'<' if direction == 'min' else '>'} {bound:g}")
    failures = [shortened(text, MAX_RECORDED_BYTES // 4) for text in failures]
    return comparison.model_copy(update={"thresholds": given, "verdict": "failed" if failures else "passed",
                                         "failures": failures})


def comparison_sk(version: int, alias: str, incumbent_model: str, incumbent_version: int) -> str:
    return f"{PREFIX}{version:010d}#{alias}#{incumbent_model}#{incumbent_version:010d}"


class ComparisonStore:
    def __init__(self, client, table: str):
        self._db = client
        self._table = table

    def put(self, comparison: Comparison) -> None:
        """The comparison (the latest for its alias and incumbent) and its event, in one transaction."""
        key = {"pk": model_pk(comparison.model), "sk": comparison_sk(comparison.version, comparison.alias,
                                                                     comparison.incumbent_model,
                                                                     comparison.incumbent_version)}
        record = comparison.model_dump(mode="json", exclude={"reused"})
        self._db.transact_write_items(TransactItems=[
            {"Put": {"TableName": self._table, "Item": to_item({**key, **record})}},
            outbox.put(self._table, changes.shadow_compared(record)),
        ])

    def get(self, model: str, version: int, alias: str, incumbent_model: str, incumbent_version: int
            ) -> Comparison | None:
        item = get_item(self._db, self._table, model_pk(model),
                        comparison_sk(version, alias, incumbent_model, incumbent_version))
        return Comparison(**item) if item else None

    def of_version(self, model: str, version: int, limit: int, token: str | None
                   ) -> tuple[list[Comparison], str | None]:
        items, next_token = query_page(self._db, self._table, model_pk(model), f"{PREFIX}{version:010d}#", limit,
                                       token, newest_first=False)
        return [Comparison(**item) for item in items], next_token
