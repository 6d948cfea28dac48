"""DynamoDB adapter for models, versions and upload outcomes (one table, pk/sk).

Item layout (every read is a GetItem or a Query):
  pk=MODELS          sk=<name>                      the model: counters, latest version
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
                        sha256: str | None = None, source_version: str | None = None) -> int:
        """Hands out the model's next version number and records it on the claim, in one transaction.

        Compare-and-set on the counter keeps numbers free of duplicates under concurrency;
        writing the number onto the claim in the same transaction means a retry after a crash
        reuses it instead of taking another. The counter also keeps the SHA-256 of the bytes the
        last number went to and the upload it went to: two deliveries of the same bytes racing
        each other make one version, and the loser raises IdenticalToLatest once that version is
        recorded (TransientError while its run may still record it). A number whose run finished
        without recording it (superseded) identifies nothing: the same bytes get a new number.
        """
        if claim.reserved_version is not None:
            return claim.reserved_version
        for _ in range(RESERVE_ATTEMPTS):
            model = self.get_model(name)
            if sha256 is not None and model is not None and model.last_sha256 == sha256:
                if self._recorded(model, claims):
                    raise IdenticalToLatest(model.next_version)
            current = model.next_version if model else 0
            version = current + 1
            values = {":v": to_value(version), ":name": to_value(name), ":now": to_value(now.isoformat()),
                      ":event": to_value(claim.event_id)}
            if model is None:
                condition = "attribute_not_exists(pk)"
            else:
                condition, values[":current"] = "next_version = :current", to_value(current)
            update = ("SET next_version = :v, #n = :name, updated_at = :now,"
                      " created_at = if_not_exists(created_at, :now), last_event_id = :event")
            if sha256 is not None:
                update += ", last_sha256 = :sha"
                values[":sha"] = to_value(sha256)
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
        raise TransientError(f"could not reserve a version of {name}: too much contention", {"model": name})

    def _recorded(self, model: ModelRecord, claims: ClaimStore) -> bool:
        """Whether the model's last number is a recorded version. The claim is read first: a run completes its
        claim only after recording its version, so a completed claim and no version means the number went unused."""
        if model.last_event_id is not None:
            holder = claims.get(model.last_event_id)
            if holder is not None and holder.get("status") != COMPLETED:
                raise TransientError(f"identical bytes are being registered as {model.name} v{model.next_version} "
                                     "by another upload; retry", {"model": model.name, "version": model.next_version})
        return self.get_version(model.name, model.next_version) is not None

    def mark_latest(self, name: str, version: int, now: datetime) -> None:
        """Moves the model's latest pointer forward (never back: versions can finish out of order)."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=to_item({"pk": MODELS_PK, "sk": name}),
                UpdateExpression="SET latest_version = :v, updated_at = :now",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(latest_version) OR latest_version < :v)",
                ExpressionAttributeValues={":v": to_value(version), ":now": to_value(now.isoformat())},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    # versions ---------------------------------------------------------------
    def put_version(self, record: VersionRecord) -> None:
        """Writes a version once; the same event writing it again is a no-op, anything else a conflict."""
        put = {"TableName": self._table, "Item": version_item(record),
               "ConditionExpression": "attribute_not_exists(pk)"}
        announce = outbox.put(self._table, changes.version_registered(record, record.uploader))
        tags = index_writes(self._table, record, {})  # its upload's tags are searchable from the start
        try:
            self._db.transact_write_items(TransactItems=[{"Put": put}, *tags, announce])
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            existing = self.get_version(record.name, record.version)
            if existing is None or existing.event_id != record.event_id:
                raise Conflict(f"{record.name} v{record.version} already exists", {"version": record.version}) from error

    def mark_warmed(self, name: str, version: int, at: datetime) -> None:
        """Records a successful warm-up invoke: what an alias policy's `warmed` requires."""
        self._db.update_item(TableName=self._table, Key=to_item({"pk": model_pk(name), "sk": version_sk(version)}),
                             UpdateExpression="SET warmed_at = :at", ConditionExpression="attribute_exists(pk)",
                             ExpressionAttributeValues={":at": to_value(at.isoformat())})

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
        record = record.fitted()
        item = {"pk": model_pk(record.name), "sk": upload_sk(record.started_at, record.event_id)}
        event = changes.for_upload(record, actor)
        if event is None:
            self._db.put_item(TableName=self._table, Item=to_item({**item, **record.model_dump(mode="json")}))
            return
        put = {"TableName": self._table, "Item": to_item({**item, **record.model_dump(mode="json")}),
               "ConditionExpression": "attribute_not_exists(pk) OR outcome IN (:failed, :queued)",
               "ExpressionAttributeValues": {":failed": to_value("failed"), ":queued": to_value("queued")}}
        try:
            self._db.transact_write_items(TransactItems=[{"Put": put}, outbox.put(self._table, event)])
        except ClientError as error:
            if not is_condition_failure(error):
                raise

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
