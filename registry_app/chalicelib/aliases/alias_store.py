"""DynamoDB adapter for aliases: current state, history and a per-model reverse index (same table as RegistryStore).

Item layout (every read is a GetItem or a Query):
  pk=ALIASES         sk=<alias>                    the alias now: targets, revision, who and when
  pk=ALIAS#<alias>   sk=H#<revision, 10 digits>    one change: from, to, action, who and when
  pk=ALIAS#<alias>   sk=E#<event id>               "this event moved this alias" (once per event)
  pk=MODEL#<name>    sk=A#<alias>                  "this alias points at versions of this model"

Every change is ONE TransactWriteItems: the current item (conditional on the revision the
caller read), the history entry (conditional on its revision being free), the reverse-index
items, and a check that each target version exists and is active (and, for an alias that follows
a model's latest version, the model's `followed` mark). History and current state therefore
cannot diverge, and two writers that read the same revision cannot both win.
"""
from datetime import datetime

from botocore.exceptions import ClientError
from pydantic import BaseModel

from ..dynamo import every_item, get_item, is_condition_failure, query_page, to_item, to_value
from ..errors import Conflict, NotFound
from ..outbox import changes, items as outbox
from ..versions.store import MODELS_PK, model_pk, version_sk

ALIASES_PK = "ALIASES"
HISTORY_PREFIX = "H#"
REFERENCE_PREFIX = "A#"
EVENT_PREFIX = "E#"
MAX_TARGETS = 10  # targets of one alias: keeps its record and each history entry within their budgets (records.py)


def history_pk(alias: str) -> str:
    return f"ALIAS#{alias}"


def history_sk(revision: int) -> str:
    return f"{HISTORY_PREFIX}{revision:010d}"


def reference_sk(alias: str) -> str:
    return f"{REFERENCE_PREFIX}{alias}"


class AliasTarget(BaseModel):
    model: str
    version: int
    weight: int = 100


class AliasState(BaseModel):
    """Where an alias points: one target (weight 100) or a weighted split; maybe following the latest version."""

    targets: list[AliasTarget]
    tracks_latest: bool = False

    @property
    def models(self) -> set[str]:
        return {target.model for target in self.targets}


class AliasRecord(AliasState):
    alias: str
    revision: int
    created_at: datetime
    updated_at: datetime
    updated_by: str | None = None

    @property
    def state(self) -> AliasState:
        return AliasState(targets=self.targets, tracks_latest=self.tracks_latest)


class AliasChange(BaseModel):
    """One entry of an alias's history; `before` is None for a creation, `after` None for a deletion."""

    alias: str
    revision: int
    action: str
    before: AliasState | None = None
    after: AliasState | None = None
    at: datetime
    by: str | None = None  # a verified identity (API caller, S3 event principal), never a claim
    event_id: str | None = None  # the upload event that made this change, when ingestion made it
    reason: str | None = None  # why a rollout made this change (action "rollout"): its step or its breach


class AliasReference(BaseModel):
    """The reverse-index entry: an alias and the versions of one model it points at."""

    alias: str
    model: str
    versions: list[int]
    tracks_latest: bool = False
    revision: int


class StaleRevision(Conflict):
    """The alias changed since the caller read it (or appeared, or vanished)."""


class AlreadyApplied(Conflict):
    """This event already moved this alias once; doing it again would undo whatever changed it since."""


class AliasStore:
    def __init__(self, client, table: str):
        self._db = client
        self._table = table

    # reads ------------------------------------------------------------------
    def get(self, alias: str) -> AliasRecord | None:
        item = get_item(self._db, self._table, ALIASES_PK, alias)
        return AliasRecord(**item) if item else None

    def list_aliases(self, limit: int, token: str | None) -> tuple[list[AliasRecord], str | None]:
        items, next_token = self._query(ALIASES_PK, None, limit, token, newest_first=False)
        return [AliasRecord(**item) for item in items], next_token

    def history(self, alias: str, limit: int, token: str | None) -> tuple[list[AliasChange], str | None]:
        items, next_token = self._query(history_pk(alias), HISTORY_PREFIX, limit, token, newest_first=True)
        return [AliasChange(**item) for item in items], next_token

    def last_change(self, alias: str) -> AliasChange | None:
        changes, _ = self.history(alias, 1, None)
        return changes[0] if changes else None

    def references(self, model: str) -> list[AliasReference]:
        """Every alias pointing at some version of `model` (one Query per page of 1,000)."""
        def page(limit: int, token: str | None):
            return self._query(model_pk(model), REFERENCE_PREFIX, limit, token, newest_first=False)

        return [AliasReference(**item) for item in every_item(page, page_size=1000)]

    def references_page(self, model: str, limit: int, token: str | None) -> tuple[list[AliasReference], str | None]:
        """One page of the aliases pointing at `model`, by alias name: what a page showing the model reads."""
        items, next_token = self._query(model_pk(model), REFERENCE_PREFIX, limit, token, newest_first=False)
        return [AliasReference(**item) for item in items], next_token

    # the one write ----------------------------------------------------------
    def write(self, change: AliasChange, current: AliasRecord | None, guards: list[dict] = (),
              pinned: dict[tuple[str, int], int] | None = None) -> AliasRecord | None:
        """Applies `change` on top of `current` (what the caller read) in one transaction; returns the new state.

        Raises StaleRevision when the alias is no longer at `current`, or a guard (the policy read for the
        move) or a pinned target's metadata_revision (its approval, as the policy was checked) changed; NotFound
        when a target version vanished or was retired meanwhile.
        """
        record = after_change(change, current)
        items = [self._current_item(change, record, current), self._history_item(change)]
        items += self._event_items(change)
        items += self._reference_items(change, current)
        items += self._released_versions(change, current)
        checks = self._version_checks(change, pinned or {})
        announce = [outbox.put(self._table, changes.alias_moved(change))]  # last: failures index items and checks
        try:
            self._db.transact_write_items(TransactItems=items + checks + list(guards) + announce)
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            failed_checks = [i for i, code in enumerate(reasons)
                             if code == "ConditionalCheckFailed" and len(items) <= i < len(items) + len(checks)]
            if change.event_id and len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                raise AlreadyApplied(f"event {change.event_id} already moved alias {change.alias}",
                                     {"alias": change.alias, "event_id": change.event_id}) from error
            if failed_checks:
                target = change.after.targets[failed_checks[0] - len(items)]
                if (target.model, target.version) in (pinned or {}) and self._active(target):
                    raise StaleRevision(f"{target.model} v{target.version} changed since the alias policy was checked",
                                        {"model": target.model, "version": target.version}) from error
                raise NotFound(f"{target.model} v{target.version} does not exist or is retired",
                               {"model": target.model, "version": target.version}) from error
            raise StaleRevision(f"alias {change.alias} changed meanwhile",
                                {"expected_revision": current.revision if current else 0}) from error
        return record

    def puts(self, change: AliasChange, current: AliasRecord | None) -> list[dict]:
        """The items `write` puts for `change` (the alias, its history entry, event marker and reverse index), as
        they are written: what local_stack/aws/seed.py writes in bulk, so seeded aliases cannot drift from real ones."""
        elements = [self._current_item(change, after_change(change, current), current), self._history_item(change),
                    *self._event_items(change), *self._reference_items(change, current)]
        return [element["Put"]["Item"] for element in elements if "Put" in element]

    def _current_item(self, change: AliasChange, record: AliasRecord | None, current: AliasRecord | None) -> dict:
        key = to_item({"pk": ALIASES_PK, "sk": change.alias})
        if current is None:
            guard = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            guard = {"ConditionExpression": "revision = :expected",
                     "ExpressionAttributeValues": {":expected": to_value(current.revision)}}
        if record is None:
            return {"Delete": {"TableName": self._table, "Key": key, **guard}}
        item = {**key, **to_item(record.model_dump(mode="json"))}
        return {"Put": {"TableName": self._table, "Item": item, **guard}}

    def _history_item(self, change: AliasChange) -> dict:
        item = {"pk": history_pk(change.alias), "sk": history_sk(change.revision), **change.model_dump(mode="json")}
        return {"Put": {"TableName": self._table, "Item": to_item(item),
                        "ConditionExpression": "attribute_not_exists(pk)"}}

    def _event_items(self, change: AliasChange) -> list[dict]:
        """The once-per-event marker: a second move by the same event fails the whole transaction."""
        if not change.event_id:
            return []
        item = {"pk": history_pk(change.alias), "sk": f"{EVENT_PREFIX}{change.event_id}",
                "revision": change.revision, "at": change.at.isoformat()}
        return [{"Put": {"TableName": self._table, "Item": to_item(item),
                         "ConditionExpression": "attribute_not_exists(pk)"}}]

    def _reference_items(self, change: AliasChange, current: AliasRecord | None) -> list[dict]:
        before = current.models if current else set()
        after = change.after.models if change.after else set()
        items = []
        for model in sorted(before - after):
            key = to_item({"pk": model_pk(model), "sk": reference_sk(change.alias)})
            items.append({"Delete": {"TableName": self._table, "Key": key}})
        for model in sorted(after):
            reference = AliasReference(
                alias=change.alias, model=model, revision=change.revision, tracks_latest=change.after.tracks_latest,
                versions=sorted(t.version for t in change.after.targets if t.model == model),
            )
            item = {"pk": model_pk(model), "sk": reference_sk(change.alias), **reference.model_dump(mode="json")}
            items.append({"Put": {"TableName": self._table, "Item": to_item(item)}})
            if reference.tracks_latest and not (current and current.state.tracks_latest and model in before):
                items.append(self._followed_item(model))  # when it starts following: the mark stays once set
        return items

    def _followed_item(self, model: str) -> dict:
        """Marks the model as followed (ModelRecord.followed), in the write that makes an alias follow it: an upload
        that saw it unfollowed records its version only while it still is, or finds this follower."""
        return {"Update": {"TableName": self._table, "Key": to_item({"pk": MODELS_PK, "sk": model}),
                           "UpdateExpression": "SET followed = :true", "ConditionExpression": "attribute_exists(pk)",
                           "ExpressionAttributeValues": {":true": to_value(True)}}}

    def _active(self, target: AliasTarget) -> bool:
        item = get_item(self._db, self._table, model_pk(target.model), version_sk(target.version))
        return item is not None and item.get("status", "active") == "active"

    def _version_checks(self, change: AliasChange, pinned: dict[tuple[str, int], int]) -> list[dict]:
        """Each target must exist and be active; stamping it as referenced now is what makes a
        concurrent retirement (conditional on that stamp being old) fail instead of racing. A pinned
        target must still be at the metadata revision its policy check read."""
        if change.after is None:
            return []
        return [self._version_check(change, t, pinned.get((t.model, t.version))) for t in change.after.targets]

    def _version_check(self, change: AliasChange, t: AliasTarget, revision: int | None) -> dict:
        condition = "attribute_exists(pk) AND (attribute_not_exists(#s) OR #s = :active)"
        values = {":active": to_value("active"), ":at": to_value(change.at.isoformat())}
        if revision is not None:
            condition += " AND " + ("(attribute_not_exists(metadata_revision) OR metadata_revision = :r)"
                                    if revision == 0 else "metadata_revision = :r")
            values[":r"] = to_value(revision)
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item({"pk": model_pk(t.model), "sk": version_sk(t.version)}),
                "UpdateExpression": "SET last_referenced_at = :at",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": values,
            }
        }

    def _released_versions(self, change: AliasChange, current: AliasRecord | None) -> list[dict]:
        """Versions this change stops pointing at: their retirement grace period starts now."""
        before = {(t.model, t.version) for t in current.targets} if current else set()
        after = {(t.model, t.version) for t in change.after.targets} if change.after else set()
        return [{
            "Update": {
                "TableName": self._table,
                "Key": to_item({"pk": model_pk(model), "sk": version_sk(version)}),
                "UpdateExpression": "SET last_referenced_at = :at",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":at": to_value(change.at.isoformat())},
            }
        } for model, version in sorted(before - after)]

    def _query(self, pk: str, prefix: str | None, limit: int, token: str | None, newest_first: bool):
        return query_page(self._db, self._table, pk, prefix, limit, token, newest_first, consistent=True)


def after_change(change: AliasChange, current: AliasRecord | None) -> AliasRecord | None:
    """The alias as it is once `change` is applied on top of `current` (None once deleted)."""
    if change.after is None:
        return None
    created_at = current.created_at if current else change.at
    return AliasRecord(alias=change.alias, revision=change.revision, created_at=created_at, updated_at=change.at,
                       updated_by=change.by, **change.after.model_dump())
