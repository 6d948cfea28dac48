"""Alias policies: who may move an alias, and what a version must have before the alias may point at it.

`check` is the one check every move goes through (Aliases._change calls it, whichever path moves
the alias: the API, rollback, an upload's x-amz-meta-alias, follow-latest, a re-run warm-up).
Item layout (same table, beside the alias's history):
  pk=ALIAS#<alias>   sk=POLICY                       the policy now, with its revision
  pk=ALIAS#<alias>   sk=P#<revision, 10 digits>      one change of it: who, when, the policy after
"""
import re
from datetime import datetime
from functools import lru_cache
from typing import Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field, field_validator, model_validator

from ..dynamo import get_item, is_condition_failure, to_item, to_value
from ..errors import NotFound, PolicyMover, PolicyUnmet, RevisionConflict
from ..outbox import changes, items as outbox
from ..records import VersionRecord
from ..validation.samples import MAX_SAMPLES
from .alias_store import history_pk

POLICY_SK = "POLICY"
POLICY_HISTORY_PREFIX = "P#"
MAX_PATTERNS = 10
MAX_PATTERN = 2048  # an IAM ARN's length
PATTERN = r"^[\x21-\x7e]{1,2048}$"  # printable ASCII, as ARNs are; `*` matches any run of characters
Requirement = Literal["approved", "warmed", "shadow"]
THRESHOLDS = ("min_top1_agreement", "min_topk_overlap", "max_abs_diff", "max_latency_ratio")
MAX_K = 100
MAX_DIFF = 1e100  # DynamoDB holds numbers up to 9.9e125
RATIO = (0.01, 1000.0)


class ShadowThresholds(BaseModel):
    """What a candidate's answers must come to beside the incumbent's on the reference samples (aliases/shadow.py).

    Each threshold is optional; those given must all hold. Ranges are stated in the schema and checked by it;
    shares are kept to 6 decimals and differences to 12, so that a number such as 5e-324 (valid JSON, below what
    DynamoDB stores) is 0 rather than a failed write.
    """

    min_top1_agreement: float | None = Field(None, ge=0, le=1, description="share of samples whose best class agrees")
    min_topk_overlap: float | None = Field(None, ge=0, le=1, description="mean share of the k best classes in common")
    k: int = Field(5, ge=1, le=MAX_K, description="the k of min_topk_overlap")
    max_abs_diff: float | None = Field(None, ge=0, le=MAX_DIFF, description="largest absolute difference of any "
                                                                             "output number")
    max_latency_ratio: float | None = Field(None, ge=RATIO[0], le=RATIO[1], description="candidate's median latency "
                                                                                        "/ incumbent's")
    samples: int = Field(50, ge=1, le=MAX_SAMPLES, description="at most this many samples are sent to each")

    @field_validator("min_top1_agreement", "min_topk_overlap")
    @classmethod
    def _share(cls, value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    @field_validator("max_abs_diff")
    @classmethod
    def _difference(cls, value: float | None) -> float | None:
        return None if value is None else round(value, 12)

    def given(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in THRESHOLDS if getattr(self, name) is not None}


class AliasPolicy(BaseModel):
    movers: list[str] = Field(default_factory=list, description="who may move the alias or change its policy")
    approvers: list[str] = Field(default_factory=list, description="whose approval counts (empty: anyone's)")
    require: list[Requirement] = Field(default_factory=list)
    shadow: ShadowThresholds | None = Field(None, description="with require shadow: the thresholds (at least one)")

    @model_validator(mode="after")
    def shadow_has_a_threshold(self) -> "AliasPolicy":
        problem = shadow_problem(self.require, self.shadow)
        if problem:
            raise ValueError(problem)
        return self


def shadow_problem(require: list[str], shadow: ShadowThresholds | None) -> str | None:
    """Rule policy.shadow_thresholds: requiring a shadow comparison means saying what it must come to."""
    if "shadow" in require and (shadow is None or not shadow.given()):
        return (f"rule policy.shadow_thresholds: require 'shadow' needs at least one of shadow."
                f"{', shadow.'.join(THRESHOLDS)}")
    return None


class PolicyRecord(BaseModel):
    alias: str
    policy: AliasPolicy
    revision: int
    actor: str | None = None
    at: datetime


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.ASCII | re.DOTALL)


def matches(patterns: list[str], actor: str | None) -> bool:
    """Whether `actor` matches one of `patterns` (`*` matches any run of characters, nothing else is special)."""
    return actor is not None and any(_compiled(p).fullmatch(actor) for p in patterns)


def check_mover(alias: str, policy: PolicyRecord | None, actor: str | None) -> None:
    if policy is not None and policy.policy.movers and not matches(policy.policy.movers, actor):
        raise PolicyMover(f"{actor} may not move alias {alias} or change its policy: its policy names who may "
                          f"(movers: {', '.join(policy.policy.movers)})",
                          {"alias": alias, "actor": actor, "movers": policy.policy.movers})


def check(alias: str, policy: PolicyRecord | None, actor: str | None, targets: list[VersionRecord]) -> None:
    """Raises PolicyMover (who) or PolicyUnmet (what: the requirement and the version) unless the move may happen."""
    check_mover(alias, policy, actor)
    if policy is None:
        return
    rules = policy.policy
    for version in targets:
        label = f"{version.name} v{version.version}"
        if "approved" in rules.require:
            approval = version.approval
            if approval.status != "Approved":
                raise _unmet(alias, "approved", version, f"{label} is {approval.status}, not Approved")
            if rules.approvers and not matches(rules.approvers, approval.actor):
                raise _unmet(alias, "approved", version, f"{label} was approved by {approval.actor}, who is not "
                             f"among the alias's approvers ({', '.join(rules.approvers)})")
        if "warmed" in rules.require and version.warmed_at is None:
            raise _unmet(alias, "warmed", version, f"{label} has no successful warm-up recorded "
                         "(POST /models/{name}/versions/{n}/warmup runs one)")


def _unmet(alias: str, requirement: str, version: VersionRecord, why: str) -> PolicyUnmet:
    return PolicyUnmet(f"alias {alias} requires {requirement!r}: {why}",
                       {"alias": alias, "requirement": requirement, "model": version.name,
                        "version": version.version})


class PolicyStore:
    def __init__(self, client, table: str):
        self._db = client
        self._table = table

    def get(self, alias: str) -> PolicyRecord | None:
        item = get_item(self._db, self._table, history_pk(alias), POLICY_SK)
        return PolicyRecord(**item) if item else None

    def guard(self, alias: str, policy: PolicyRecord | None) -> dict:
        """A transaction element that holds only while the policy is still the one read (none, or its revision)."""
        key = to_item({"pk": history_pk(alias), "sk": POLICY_SK})
        if policy is None:
            return {"ConditionCheck": {"TableName": self._table, "Key": key,
                                       "ConditionExpression": "attribute_not_exists(pk)"}}
        return {"ConditionCheck": {"TableName": self._table, "Key": key, "ConditionExpression": "revision = :r",
                                   "ExpressionAttributeValues": {":r": to_value(policy.revision)}}}

    def write(self, alias: str, policy: AliasPolicy | None, current: PolicyRecord | None, revision: int,
              actor: str | None, at: datetime) -> PolicyRecord | None:
        """Sets (or with None deletes) the policy over `current`, with its history entry and event, in one
        transaction; RevisionConflict when the policy changed since it was read."""
        key = to_item({"pk": history_pk(alias), "sk": POLICY_SK})
        record = PolicyRecord(alias=alias, policy=policy, revision=revision, actor=actor, at=at) if policy else None
        guard = self.guard(alias, current)["ConditionCheck"]
        condition = {k: v for k, v in guard.items() if k not in ("TableName", "Key")}
        if record is None:
            main = {"Delete": {"TableName": self._table, "Key": key, **condition}}
        else:
            main = {"Put": {"TableName": self._table, "Item": {**key, **to_item(record.model_dump(mode="json"))},
                            **condition}}
        entry = {"pk": history_pk(alias), "sk": f"{POLICY_HISTORY_PREFIX}{revision:010d}", "revision": revision,
                 "actor": actor, "at": at.isoformat(), "policy": policy.model_dump(mode="json") if policy else None}
        history = {"Put": {"TableName": self._table, "Item": to_item(entry),
                           "ConditionExpression": "attribute_not_exists(pk)"}}
        event = outbox.put(self._table, changes.alias_policy_changed(alias, revision, policy, at, actor))
        try:
            self._db.transact_write_items(TransactItems=[main, history, event])
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            now = self.get(alias)
            raise RevisionConflict(f"the policy of alias {alias} is at revision {now.revision if now else 0}, not "
                                   f"{current.revision if current else 0}: read it again and retry",
                                   {"alias": alias, "current_revision": now.revision if now else 0}) from None
        return record

    def last_revision(self, alias: str) -> int:
        answer = self._db.query(TableName=self._table, KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
                                ExpressionAttributeValues={":pk": to_value(history_pk(alias)),
                                                           ":p": to_value(POLICY_HISTORY_PREFIX)},
                                ScanIndexForward=False, Limit=1, ConsistentRead=True)
        items = answer.get("Items", [])
        return int(items[0]["revision"]["N"]) if items else 0


class Policies:
    """The policy use cases: set, read, delete; each restricted to the policy's movers."""

    def __init__(self, store: PolicyStore, clock):
        self._store = store
        self._clock = clock

    def get(self, alias: str) -> PolicyRecord:
        record = self._store.get(alias)
        if record is None:
            raise NotFound(f"alias {alias} has no policy", {"alias": alias})
        return record

    def put(self, alias: str, policy: AliasPolicy, expected_revision: int | None, actor: str | None) -> PolicyRecord:
        return self._change(alias, policy, expected_revision, actor)

    def delete(self, alias: str, expected_revision: int | None, actor: str | None) -> None:
        self.get(alias)
        self._change(alias, None, expected_revision, actor)

    def _change(self, alias: str, policy: AliasPolicy | None, expected: int | None, actor: str | None):
        current = self._store.get(alias)
        check_mover(alias, current, actor)
        now = current.revision if current else 0
        if expected is not None and expected != now:
            raise RevisionConflict(f"the policy of alias {alias} is at revision {now}, not {expected}: read it again "
                                   "and retry", {"alias": alias, "current_revision": now})
        revision = (current.revision if current else self._store.last_revision(alias)) + 1
        return self._store.write(alias, policy, current, revision, actor, self._clock())
