"""DynamoDB adapter for models, versions and upload outcomes (one table, pk/sk).

Item layout (every read is a GetItem or a Query):
  pk=MODELS          sk=<name>                      the model: counters, latest version and its SHA-256,
                                                    whether an alias follows it
  pk=MODEL#<name>    sk=V#<version, 10 digits>      one version record
  pk=MODEL#<name>    sk=U#<started_at>#<event_id>   one upload outcome
"""
from datetime import datetime

from botocore.exceptions import ClientError

from .claims import COMPLETED, Claim, ClaimStore
from ..dynamo import get_item, is_condition_failure, item_size, query_page, to_item, to_value
from ..errors import Conflict, TransientError
from ..outbox import changes, items as outbox
from ..records import ModelRecord, UploadRecord, VersionRecord
from .tag_index import index_writes

MODELS_PK = "MODELS"
RESERVE_ATTEMPTS = 25
UNREAD = object()  # reserve_version's model argument when the caller has not read the model


class IdenticalToLatest(Exception):
    """The bytes are the ones the model's last version number went to: no new version."""

    def __init__(self, version: int):
        super().__init__(f"identical to v{version}")
        self.version = version


def model_pk(name: str) -> str:
    return f"MODEL#{name}"


def version_sk(version: int) -> str:
    return f"V#{version:010d}"


def upload_sk(started_at: datetime, event_id: str) -> str:
    return f"U#{started_at.isoformat()}#{event_id}"


def version_item(record: VersionRecord) -> dict:
    """A version record as its DynamoDB item."""
    return to_item({"pk": model_pk(record.name), "sk": version_sk(record.version), **record.model_dump(mode="json")})


def model_item(record: ModelRecord) -> dict:
    """A model record as its DynamoDB item (what reserve_version and mark_latest leave behind, field by field)."""
    return to_item({"pk": MODELS_PK, "sk": record.name, **record.model_dump(mode="json")})


def upload_item(record: UploadRecord) -> dict:
    """An upload outcome as its DynamoDB item (what put_upload writes)."""
    return to_item({"pk": model_pk(record.name), "sk": upload_sk(record.started_at, record.event_id),
                    **record.model_dump(mode="json")})


def version_item_size(record: VersionRecord) -> int:
    """The bytes `record` comes to take with the stamps written after it (last referenced, retired): what the
    ingest holds to the version budget, for the record built with the longest number, before reserving one."""
    stamp = record.created_at
    return item_size(version_item(record.model_copy(update={"status": "retired", "last_referenced_at": stamp,
                                                            "retired_at": stamp})))


class RegistryStore:
    def __init__(self, client, table: str):
        self._db = client
        self._table = table

    # models -----------------------------------------------------------------
    def get_model(self, name: str) -> ModelRecord | None:
        item = self._get(MODELS_PK, name)
        return ModelRecord(**item) if item else None

    def list_models(self, limit: int, token: str | None) -> tuple[list[ModelRecord], str | None]:
        items, next_token = self._query(MODELS_PK, None, limit, token, newest_first=False)
        return [ModelRecord(**item) for item in items], next_token

    def reserve_version(self, name: str, claim: Claim, claims: ClaimStore, now: datetime,
                        sha256: str | None = None, source_version: str | None = None, model=UNREAD) -> int:
        """Hands out the model's next version number and records it on the claim, in one transaction.

        Compare-and-set on the counter keeps numbers free of duplicates under concurrency;
        writing the number onto the claim in the same transaction means a retry after a crash
        reuses it instead of taking another. The counter also keeps the SHA-256 of the bytes the
        last number went to and the upload it went to: two deliveries of the same bytes racing
        each other make one version, and the loser raises IdenticalToLatest once that version is
        recorded (TransientError while its run may still record it). A number whose run finished
        without recording it (superseded) identifies nothing: the same bytes get a new number.
        `model` is the model as the caller just read it (get_model), for the first attempt; a lost
        compare-and-set reads it again.
        """
        if claim.reserved_version is not None:
            return claim.reserved_version
        for _ in range(RESERVE_ATTEMPTS):
            model = self.get_model(name) if model is UNREAD else model
            if sha256 is not None and model is not None and model.last_sha256 == sha256:
                if self._recorded(model, claims):
                    raise IdenticalToLatest(model.next_version)
            current = model.next_version if model else 0
            version = current + 1
            values = {":v": to_value(version), ":name": to_value(name), ":now": to_value(now.isoformat()),
                      ":event": to_value(claim.event_id)}
            if model is None:  # a new model: no alias can follow it before its first version is recorded
                condition, values[":false"] = "attribute_not_exists(pk)", to_value(False)
            else:
                condition, values[":current"] = "next_version = :current", to_value(current)
            update = ("SET next_version = :v, #n = :name, updated_at = :now,"
                      " created_at = if_not_exists(created_at, :now), last_event_id = :event")
            if sha256 is not None:
                update += ", last_sha256 = :sha"
                values[":sha"] = to_value(sha256)
            if model is None:
                update += ", followed = :false"
            counter = {
                "TableName": self._table,
                "Key": to_item({"pk": MODELS_PK, "sk": name}),
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#n": "name"},
                "ExpressionAttributeValues": values,
            }
            try:
                self._db.transact_write_items(TransactItems=[{"Update": counter}, claims.reservation_update(claim, version, source_version)])
                return version
            except ClientError as error:
                if not is_condition_failure(error):
                    raise
            model = UNREAD
        raise TransientError(f"could not reserve a version of {name}: too much contention", {"model": name})

    def identical_latest(self, model: ModelRecord | None, sha256: str) -> int | None:
        """The model's latest version if it holds these bytes. The model item keeps the latest's SHA-256; only
        a latest recorded before it was kept there is read."""
        if model is None or model.latest_version is None:
            return None
        latest = model.latest_sha256
        if latest is None:
            recorded = self.get_version(model.name, model.latest_version)
            latest = recorded.sha256 if recorded else None
        return model.latest_version if latest == sha256 else None

    def _recorded(self, model: ModelRecord, claims: ClaimStore) -> bool:
        """Whether the model's last number is a recorded version. The claim is read first: a run completes its
        claim only after recording its version, so a completed claim and no version means the number went unused."""
        if model.last_event_id is not None:
            holder = claims.get(model.last_event_id)
            if holder is not None and holder.get("status") != COMPLETED:
                raise TransientError(f"identical bytes are being registered as {model.name} v{model.next_version} "
                                     "by another upload; retry", {"model": model.name, "version": model.next_version})
        return self.get_version(model.name, model.next_version) is not None

    # versions ---------------------------------------------------------------
    def record_version(self, record: VersionRecord, now: datetime, upload: UploadRecord | None = None,
                       unfollowed: bool = False) -> bool:
        """Records a version, its change event and tag index, and moves the model's latest pointer to it (never
        back: versions can finish out of order), in one transaction; with `upload`, its upload's record too.

        The same event recording it again is a no-op, any other a conflict. `unfollowed` asks that the model still
        has no follower (ModelRecord.followed): when one appeared meanwhile nothing is written and False comes
        back, so the caller moves the follower before it records the upload.
        """
        version, latest = self._version_writes(record), self._latest_update(record, now, unfollowed)
        for _ in range(RESERVE_ATTEMPTS):
            items = version + [latest] + ([self._upload_put(upload)] if upload else [])
            try:
                self._db.transact_write_items(TransactItems=items)
                return True
            except ClientError as error:
                if not is_condition_failure(error):
                    raise
                failed = [reason.get("Code") == "ConditionalCheckFailed"
                          for reason in error.response.get("CancellationReasons", [])]
            pointer = len(version)  # the pointer's index in the transaction
            if version and failed[:1] == [True]:
                existing = self.get_version(record.name, record.version)
                if existing is None or existing.event_id != record.event_id:
                    raise Conflict(f"{record.name} v{record.version} already exists",
                                   {"version": record.version}) from error
                version = []
            if len(failed) > pointer and failed[pointer]:  # the pointer's condition: read why
                model = self.get_model(record.name)
                if unfollowed and (model is None or model.followed is not False):
                    return False
                if model is not None and (model.latest_version or 0) >= record.version:
                    latest = self._latest_check(record, unfollowed)
        raise TransientError(f"could not record {record.name} v{record.version}: too much contention",
                             {"model": record.name})

    def _version_writes(self, record: VersionRecord) -> list[dict]:
        """The version's item (written once), its tag index (its upload's tags are searchable from the start) and
        its ModelVersionRegistered event."""
        put = {"TableName": self._table, "Item": version_item(record),
               "ConditionExpression": "attribute_not_exists(pk)"}
        return [{"Put": put}, *index_writes(self._table, record, {}),
                outbox.put(self._table, changes.version_registered(record, record.uploader))]

    def _latest_update(self, record: VersionRecord, now: datetime, unfollowed: bool) -> dict:
        condition = "attribute_exists(pk) AND (attribute_not_exists(latest_version) OR latest_version < :v)"
        values = {":v": to_value(record.version), ":now": to_value(now.isoformat()), ":sha": to_value(record.sha256)}
        if unfollowed:
            condition, values[":false"] = condition + " AND followed = :false", to_value(False)
        return {"Update": {"TableName": self._table, "Key": to_item({"pk": MODELS_PK, "sk": record.name}),
                           "UpdateExpression": "SET latest_version = :v, latest_sha256 = :sha, updated_at = :now",
                           "ConditionExpression": condition, "ExpressionAttributeValues": values}}

    def _latest_check(self, record: VersionRecord, unfollowed: bool) -> dict:
        """What is left of the pointer's update once a newer version holds it: the model exists (and, if asked,
        still has no follower)."""
        condition = "attribute_exists(pk)" + (" AND followed = :false" if unfollowed else "")
        check = {"TableName": self._table, "Key": to_item({"pk": MODELS_PK, "sk": record.name}),
                 "ConditionExpression": condition}
        if unfollowed:
            check["ExpressionAttributeValues"] = {":false": to_value(False)}
        return {"ConditionCheck": check}

    def mark_warmed(self, name: str, version: int, at: datetime, seconds: float | None = None) -> None:
        """Records a successful warm-up invoke (what an alias policy's `warmed` requires) and how long it took."""
        took = None if seconds is None else round(seconds, 3)
        values = {":at": to_value(at.isoformat()), ":seconds": to_value(took)}
        self._db.update_item(TableName=self._table, Key=to_item({"pk": model_pk(name), "sk": version_sk(version)}),
                             UpdateExpression="SET warmed_at = :at, warmup_seconds = :seconds",
                             ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues=values)

    def get_version(self, name: str, version: int) -> VersionRecord | None:
        item = self._get(model_pk(name), version_sk(version))
        return VersionRecord(**item) if item else None

    def latest_version(self, name: str) -> VersionRecord | None:
        model = self.get_model(name)
        if model is None or model.latest_version is None:
            return None
        return self.get_version(name, model.latest_version)

    def list_versions(self, name: str, limit: int, token: str | None) -> tuple[list[VersionRecord], str | None]:
        items, next_token = self._query(model_pk(name), "V#", limit, token, newest_first=True)
        return [VersionRecord(**item) for item in items], next_token

    def retire_version(self, name: str, version: int, cutoff: datetime, now: datetime,
                       actor: str | None = None) -> bool:
        """Marks a version retired unless an alias referenced it after `cutoff`, or it is the model's
        latest (or last numbered) version; False when it was kept.

        Alias writes stamp `last_referenced_at` and require `active` in the same item, so
        this condition and an alias pointing at the version cannot both succeed. The latest
        version stays because a re-upload of its bytes is answered "unchanged, equals it".
        """
        mark = {
            "TableName": self._table,
            "Key": to_item({"pk": model_pk(name), "sk": version_sk(version)}),
            "UpdateExpression": "SET #s = :retired, retired_at = :now",
            "ConditionExpression": (
                "attribute_exists(pk) AND #s = :active AND created_at < :cutoff"
                " AND (attribute_not_exists(last_referenced_at) OR last_referenced_at < :cutoff)"
            ),
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {
                ":retired": to_value("retired"), ":active": to_value("active"),
                ":cutoff": to_value(cutoff.isoformat()), ":now": to_value(now.isoformat()),
            },
        }
        not_latest = {
            "TableName": self._table,
            "Key": to_item({"pk": MODELS_PK, "sk": name}),
            "ConditionExpression": "latest_version <> :v AND next_version <> :v",
            "ExpressionAttributeValues": {":v": to_value(version)},
        }
        try:
            announce = outbox.put(self._table, changes.version_retired(name, version, now, actor))
            self._db.transact_write_items(TransactItems=[{"Update": mark}, {"ConditionCheck": not_latest}, announce])
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            return False
        return True

    # uploads ----------------------------------------------------------------
    def put_upload(self, record: UploadRecord, actor: str | None = None) -> None:
        """Records an outcome (fitted to its budget); one that is announced (rejected, unchanged, warm-up failed)
        is written with its event, once: only over no record or a pending one, so a replay announces nothing twice."""
        event = changes.for_upload(record, actor)
        if event is None:
            self._db.put_item(**self._upload_put(record)["Put"])
            return
        record = record.fitted()
        item = {"pk": model_pk(record.name), "sk": upload_sk(record.started_at, record.event_id)}
        put = {"TableName": self._table, "Item": to_item({**item, **record.model_dump(mode="json")}),
               "ConditionExpression": "attribute_not_exists(pk) OR outcome IN (:failed, :queued)",
               "ExpressionAttributeValues": {":failed": to_value("failed"), ":queued": to_value("queued")}}
        try:
            self._db.transact_write_items(TransactItems=[{"Put": put}, outbox.put(self._table, event)])
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def _upload_put(self, record: UploadRecord) -> dict:
        """An outcome nothing announces (accepted), fitted to its budget, as a transaction element."""
        record = record.fitted()
        item = {"pk": model_pk(record.name), "sk": upload_sk(record.started_at, record.event_id)}
        return {"Put": {"TableName": self._table, "Item": to_item({**item, **record.model_dump(mode="json")})}}

    def put_pending_upload(self, record: UploadRecord) -> bool:
        """Writes a `failed` or `queued` record unless a run already recorded a real outcome there; False if one did."""
        record = record.fitted()
        item = {"pk": model_pk(record.name), "sk": upload_sk(record.started_at, record.event_id)}
        try:
            self._db.put_item(
                TableName=self._table, Item=to_item({**item, **record.model_dump(mode="json")}),
                ConditionExpression="attribute_not_exists(pk) OR outcome IN (:failed, :queued)",
                ExpressionAttributeValues={":failed": to_value("failed"), ":queued": to_value("queued")},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            return False
        return True

    def get_upload(self, name: str, started_at: datetime, event_id: str) -> UploadRecord | None:
        item = self._get(model_pk(name), upload_sk(started_at, event_id))
        return UploadRecord(**item) if item else None

    def list_uploads(self, name: str, limit: int, token: str | None) -> tuple[list[UploadRecord], str | None]:
        items, next_token = self._query(model_pk(name), "U#", limit, token, newest_first=True)
        return [UploadRecord(**item) for item in items], next_token

    # plumbing ---------------------------------------------------------------
    def _get(self, pk: str, sk: str) -> dict | None:
        return get_item(self._db, self._table, pk, sk)

    def _query(self, pk: str, sk_prefix: str | None, limit: int, token: str | None, newest_first: bool):
        return query_page(self._db, self._table, pk, sk_prefix, limit, token, newest_first)
