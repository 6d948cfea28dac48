"""The outbox: events waiting to be published, as items of the registry table.

Item layout (one partition, read in sort-key order by the publisher):
  pk=OUTBOX   sk=ALIAS#<alias>#<revision, 10 digits>       an AliasMoved event
  pk=OUTBOX   sk=ROLLOUT#<alias>#<number>#<revision>         a RolloutChanged event (numbers 10 digits)
  pk=OUTBOX   sk=MODEL#<name>#<time>#<event id>           every other event

The sort key groups each alias's events into one stream in revision order, so the
publisher can hand them on in that order. `put` is a TransactWriteItems element: the
caller adds it to the transaction that makes the change, and a cancelled change leaves
no event behind. One partition is enough for a registry's write rate (a few per second).
An item holds the event fitted to its budget (sizes.py): far below DynamoDB's 400 KB, whatever the event.
"""
import json
from dataclasses import dataclass

from ..dynamo import from_item, to_item, to_value
from .changes import Event
from .sizes import detail, fitted

OUTBOX_PK = "OUTBOX"


def stream_of(event: Event) -> str:
    """The ordering stream: one per alias, one per model for the other events."""
    if event["type"] == "AliasMoved":
        return f"ALIAS#{event['alias']}"
    if event["type"] == "AliasPolicyChanged":  # one stream per alias's policy, apart from its moves
        return f"POLICY#{event['alias']}"
    if event["type"] == "RolloutChanged":  # one stream per alias's rollouts, in their revision order
        return f"ROLLOUT#{event['alias']}"
    return f"MODEL#{event['model']}"


def outbox_sk(event: Event) -> str:
    if event["type"] == "AliasMoved":
        return f"{stream_of(event)}#{event['revision']:010d}"
    if event["type"] == "RolloutChanged":
        return f"{stream_of(event)}#{event['rollout']:010d}#{event['revision']:010d}"
    return f"{stream_of(event)}#{event['time']}#{event['event_id']}"


@dataclass(frozen=True)
class Pending:
    """One outbox item: the event, its stream, and how many publishes of it failed so far."""

    sk: str
    stream: str
    event: Event
    attempts: int


def put(table: str, event: Event) -> dict:
    """The transaction element that parks `event`; conditional, so a replayed transaction cannot add it twice."""
    item = {"pk": OUTBOX_PK, "sk": outbox_sk(event), "stream": stream_of(event), "event_id": event["event_id"],
            "detail_type": event["type"], "event": detail(fitted(event)), "attempts": 0}
    return {"Put": {"TableName": table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}}


class Outbox:
    """Reads and retires outbox items for the publisher."""

    def __init__(self, client, table: str):
        self._db = client
        self._table = table

    def pending(self, limit: int, after: str | None = None) -> list[Pending]:
        """Up to `limit` waiting events, in stream order (each alias's by revision); those after the sort key
        `after` (the last of the batch before) when given."""
        items: list[Pending] = []
        kwargs = {"TableName": self._table, "KeyConditionExpression": "pk = :pk",
                  "ExpressionAttributeValues": {":pk": to_value(OUTBOX_PK)}, "ConsistentRead": True}
        if after is not None:
            kwargs["ExclusiveStartKey"] = to_item({"pk": OUTBOX_PK, "sk": after})
        while len(items) < limit:
            answer = self._db.query(**kwargs, Limit=limit - len(items))
            for raw in answer.get("Items", []):
                item = from_item(raw)
                items.append(Pending(item["sk"], item["stream"], json.loads(item["event"]), item.get("attempts", 0)))
            if "LastEvaluatedKey" not in answer:
                break
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return items

    def published(self, pending: Pending) -> None:
        self._db.delete_item(TableName=self._table, Key=to_item({"pk": OUTBOX_PK, "sk": pending.sk}))

    def failed(self, pending: Pending, error: str) -> int:
        """Counts one failed publish; answers the attempts so far."""
        answer = self._db.update_item(
            TableName=self._table, Key=to_item({"pk": OUTBOX_PK, "sk": pending.sk}),
            UpdateExpression="ADD attempts :one SET last_error = :error",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":one": to_value(1), ":error": to_value(error[:1000])},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["attempts"]["N"])
