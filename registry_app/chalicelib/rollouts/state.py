"""A rollout's record and its DynamoDB adapter (the registry's table, beside the alias's own items).

Item layout:
  pk=ROLLOUTS        sk=<alias>                     "this alias has a running rollout": its number
  pk=ALIAS#<alias>   sk=RO#<number, 10 digits>      one rollout: plan, step, every decision with its numbers

Every write of a rollout is conditional on the revision it read (a new one: on its key and the
running marker being free), and is a TransactWriteItems element list: a step joins the alias's
own compare-and-set, so the alias and the rollout move together or not at all. Two advancers
that read the same revision cannot both write; the loser finds the work done on its next read.
Size: at most MAX_STEPS decisions of a few hundred bytes, two targets, the starter's ARN (2,048):
within records.BUDGETS["rollout"].
"""
from datetime import datetime, timedelta
from typing import Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from ..aliases.alias_store import AliasTarget, history_pk
from ..dynamo import get_item, is_condition_failure, query_page, to_item, to_value
from ..errors import Conflict
from ..outbox import changes, items as outbox

RUNNING_PK = "ROLLOUTS"
ROLLOUT_PREFIX = "RO#"
Status = Literal["running", "promoted", "rolled_back", "cancelled", "superseded"]


def rollout_sk(number: int) -> str:
    return f"{ROLLOUT_PREFIX}{number:010d}"


class Numbers(BaseModel):
    """One model's calls over a window, as the decision read them."""

    requests: int
    failures: int
    failure_rate: float | None = Field(None, description="failures / requests; null without requests")
    p50_ms: float | None = None
    p99_ms: float | None = None

    @classmethod
    def of(cls, stats) -> "Numbers":
        return cls(requests=stats.requests, failures=stats.failures, failure_rate=stats.failure_rate,
                   p50_ms=stats.p50_ms, p99_ms=stats.p99_ms)


class Judgement(BaseModel):
    """One decision: at a step's end (pass, breach, wait), or a cancel or a supersession."""

    at: datetime
    percent: int = Field(description="the candidate's share of the traffic during the step judged")
    verdict: Literal["started", "pass", "breach", "wait", "cancelled", "superseded"]
    reason: str
    candidate: Numbers | None = None
    incumbent: Numbers | None = None

    def numbers(self) -> dict | None:
        if self.candidate is None:
            return None
        return {"candidate": self.candidate.model_dump(), "incumbent": self.incumbent.model_dump()
                if self.incumbent else None}


class Rollout(BaseModel):
    alias: str
    number: int
    status: Status = "running"
    incumbent: AliasTarget
    candidate: AliasTarget
    steps: list[int]
    step: int = Field(0, description="index into steps of the step now running (or the last one run)")
    step_started_at: datetime
    bake_seconds: int
    max_error_rate: float
    max_p99_ratio: float
    min_requests: int
    alias_revision: int = Field(description="the alias revision this rollout last wrote")
    revision: int = 1
    started_by: str | None = None
    started_at: datetime
    ended_at: datetime | None = None
    decisions: list[Judgement] = Field(default_factory=list)
    waiting: Judgement | None = Field(None, description="the last wait: too few calls yet to judge the step")
    last_error: str | None = None

    @property
    def percent(self) -> int:
        return self.steps[self.step]

    @property
    def running(self) -> bool:
        return self.status == "running"

    def baked(self, now: datetime) -> bool:
        return now >= self.step_started_at + timedelta(seconds=self.bake_seconds)

    def targets(self, percent: int) -> list[AliasTarget]:
        """The alias's targets with `percent` of the traffic on the candidate (100: the candidate alone)."""
        candidate = AliasTarget(model=self.candidate.model, version=self.candidate.version, weight=percent)
        incumbent = AliasTarget(model=self.incumbent.model, version=self.incumbent.version, weight=100 - percent)
        if percent >= 100:
            return [candidate.model_copy(update={"weight": 100})]
        return [incumbent.model_copy(update={"weight": 100})] if percent <= 0 else [incumbent, candidate]


class StaleRollout(Conflict):
    """The rollout changed since it was read (another advancer, a cancel), or one is already running."""


class RolloutStore:
    def __init__(self, client, table: str):
        self._db = client
        self._table = table

    # reads ------------------------------------------------------------------
    def current(self, alias: str) -> Rollout | None:
        marker = get_item(self._db, self._table, RUNNING_PK, alias)
        return self.get(alias, int(marker["number"])) if marker else None

    def get(self, alias: str, number: int) -> Rollout | None:
        item = get_item(self._db, self._table, history_pk(alias), rollout_sk(number))
        return Rollout(**item) if item else None

    def history(self, alias: str, limit: int, token: str | None) -> tuple[list[Rollout], str | None]:
        items, next_token = query_page(self._db, self._table, history_pk(alias), ROLLOUT_PREFIX, limit, token,
                                       newest_first=True, consistent=True)
        return [Rollout(**item) for item in items], next_token

    def running(self) -> list[str]:
        """The aliases with a running rollout (one Query per page of 1,000)."""
        aliases, token = [], None
        while True:
            items, token = query_page(self._db, self._table, RUNNING_PK, None, 1000, token, newest_first=False,
                                      consistent=True)
            aliases += [item["alias"] for item in items]
            if token is None:
                return aliases

    def last_number(self, alias: str) -> int:
        last, _ = self.history(alias, 1, None)
        return last[0].number if last else 0

    # writes -----------------------------------------------------------------
    def items(self, after: Rollout, before: Rollout | None, action: str, at: datetime, actor: str | None
              ) -> list[dict]:
        """The transaction elements that write `after` over `before` (None: a new rollout) and announce it."""
        record = {"pk": history_pk(after.alias), "sk": rollout_sk(after.number), **after.model_dump(mode="json")}
        if before is None:
            guard = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            guard = {"ConditionExpression": "revision = :r",
                     "ExpressionAttributeValues": {":r": to_value(before.revision)}}
        elements = [{"Put": {"TableName": self._table, "Item": to_item(record), **guard}}]
        marker_key = to_item({"pk": RUNNING_PK, "sk": after.alias})
        if before is None:
            marker = {**marker_key, **to_item({"alias": after.alias, "number": after.number})}
            elements.append({"Put": {"TableName": self._table, "Item": marker,
                                     "ConditionExpression": "attribute_not_exists(pk)"}})
        elif not after.running:
            elements.append({"Delete": {"TableName": self._table, "Key": marker_key}})
        if action == "wait":  # a note on the record, no change of state: nothing to announce
            return elements
        return elements + [outbox.put(self._table, changes.rollout_changed(after, action, at, actor))]

    def write(self, after: Rollout, before: Rollout | None, action: str, at: datetime, actor: str | None
              ) -> Rollout:
        """Writes the rollout alone (no alias move): a wait, a supersession; StaleRollout when it changed."""
        try:
            self._db.transact_write_items(TransactItems=self.items(after, before, action, at, actor))
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            raise StaleRollout(f"rollout {after.number} of alias {after.alias} changed meanwhile",
                               {"alias": after.alias, "rollout": after.number}) from error
        return after
