"""Idempotent processing of S3 events: one conditional write claims an event.

A claim is INPROGRESS (owned by one run, until it expires) or COMPLETED. A run that
crashed leaves INPROGRESS; a retry after the expiry takes the claim over and
inherits what the crashed run reserved (start stamp, version number), so every
side effect it repeats lands on the same keys.
"""
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from ..dynamo import from_item, is_condition_failure, to_item, to_value
from ..errors import TransientError

IN_PROGRESS = "INPROGRESS"
COMPLETED = "COMPLETED"
RETENTION = timedelta(days=14)  # completed claims outlive any S3 redelivery


@dataclass(frozen=True)
class Claim:
    event_id: str
    owner: str
    started_at: datetime
    reserved_version: int | None = None
    source_version: str | None = None  # the S3 object version the reserved number is for
    attempts: int = 1  # runs that took this claim, this one included: above 1, an earlier run may have left work

    @property
    def taken_over(self) -> bool:
        return self.attempts > 1


class ClaimStore:
    def __init__(self, client, table: str, timeout_seconds: int):
        self._db = client
        self._table = table
        self._timeout = timedelta(seconds=timeout_seconds)

    def claim(self, event_id: str, now: datetime) -> Claim | None:
        """Takes the event, or returns None when it was already completed.

        Raises TransientError while another live run holds it, so the message is retried later.
        """
        owner = uuid.uuid4().hex
        try:
            answer = self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": event_id}},
                UpdateExpression=(
                    "SET #s = :inprogress, #o = :owner, expires_at = :expires,"
                    " started_at = if_not_exists(started_at, :now), attempts = if_not_exists(attempts, :zero) + :one"
                ),
                ConditionExpression="attribute_not_exists(pk) OR (#s = :inprogress AND expires_at < :now)",
                ExpressionAttributeNames={"#s": "status", "#o": "owner"},
                ExpressionAttributeValues={
                    ":inprogress": {"S": IN_PROGRESS},
                    ":owner": {"S": owner},
                    ":expires": {"S": (now + self._timeout).isoformat()},
                    ":now": {"S": now.isoformat()},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",  # the claim that stood: no GetItem to learn it
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            current = from_item(error.response.get("Item"))
            if current and current["status"] == COMPLETED:
                return None
            raise TransientError(f"event {event_id} is being processed by another run", {"event_id": event_id}) from error
        item = from_item(answer["Attributes"])
        return Claim(event_id, owner, datetime.fromisoformat(item["started_at"]), item.get("reserved_version"),
                     item.get("source_version"), item.get("attempts", 1))

    def get(self, event_id: str) -> dict | None:
        answer = self._db.get_item(TableName=self._table, Key={"pk": {"S": event_id}}, ConsistentRead=True)
        return from_item(answer.get("Item"))

    def reservation_update(self, claim: Claim, version: int, source_version: str | None = None) -> dict:
        """The transaction item that records a version number on the claim (see RegistryStore.reserve_version),
        with the S3 object version it is for, so a retry copies those bytes even after an overwrite."""
        update = "SET reserved_version = :v" + (", source_version = :sv" if source_version else "")
        values = {":v": to_value(version), ":owner": {"S": claim.owner}}
        if source_version:
            values[":sv"] = to_value(source_version)
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": {"S": claim.event_id}},
                "UpdateExpression": update,
                "ConditionExpression": "#o = :owner AND attribute_not_exists(reserved_version)",
                "ExpressionAttributeNames": {"#o": "owner"},
                "ExpressionAttributeValues": values,
            }
        }

    def complete(self, claim: Claim, outcome: str, now: datetime) -> None:
        self._db.put_item(
            TableName=self._table,
            Item=to_item({
                "pk": claim.event_id,
                "status": COMPLETED,
                "outcome": outcome,
                "started_at": claim.started_at.isoformat(),
                "reserved_version": claim.reserved_version,
                "finished_at": now.isoformat(),
                "ttl": int((now + RETENTION).timestamp()),
            }),
        )

    def note_failure(self, event_id: str, error: str, now: datetime) -> None:
        """Keeps the last fault on an unfinished claim, so a run that later dies without a word still has a trace."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": event_id}},
                UpdateExpression="SET last_error = :error, last_failed_at = :now",
                ConditionExpression="attribute_exists(pk) AND #s <> :completed",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":error": {"S": error}, ":now": {"S": now.isoformat()},
                                           ":completed": {"S": COMPLETED}},
            )
        except ClientError as error_:
            if not is_condition_failure(error_):
                raise

    def open(self, event_id: str, now: datetime) -> datetime:
        """Fixes an event's start stamp before any run takes it (a queued registration's record sits there).

        The claim is written already expired, so the first run takes it over at once and inherits the stamp.
        Returns the stamp, the existing one if the event is known.
        """
        answer = self._db.update_item(
            TableName=self._table,
            Key={"pk": {"S": event_id}},
            UpdateExpression="SET started_at = if_not_exists(started_at, :now), #s = if_not_exists(#s, :inprogress),"
                             " expires_at = if_not_exists(expires_at, :now), attempts = if_not_exists(attempts, :zero)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":now": {"S": now.isoformat()}, ":inprogress": {"S": IN_PROGRESS},
                                       ":zero": {"N": "0"}},
            ReturnValues="ALL_NEW",
        )
        return datetime.fromisoformat(from_item(answer["Attributes"])["started_at"])

    def release(self, claim: Claim, now: datetime) -> None:
        """Lets a retry take the claim at once after a transient failure, keeping the reservation."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": claim.event_id}},
                UpdateExpression="SET expires_at = :now",
                ConditionExpression="#o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":now": {"S": now.isoformat()}, ":owner": {"S": claim.owner}},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def abandon(self, event_id: str, now: datetime) -> None:
        """Lets a retry take an in-progress claim at once: its run is known to be dead.

        Only a host that knows the run's process died may call this (the local event pump,
        restarted after a crash); in AWS the claim timeout stands in for that knowledge.
        A completed claim is left as it is.
        """
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": event_id}},
                UpdateExpression="SET expires_at = :now",
                ConditionExpression="#s = :inprogress",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":now": {"S": now.isoformat()}, ":inprogress": {"S": IN_PROGRESS}},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
