"""Puts dead-lettered change events back in the outbox, for the publisher's next run.

An operator's step once the cause of the failures is fixed (`python -m publisher
events-redrive`), not the publisher's: each event returns under its own key, with its
own event_id and a fresh budget, so consumers that saw a revision gap get the missing
event, late but identifiable.
"""
import json

from botocore.exceptions import ClientError

from ..dynamo import is_condition_failure
from . import items


def redrive_events(sqs, dead_letter_queue_url: str, dynamodb, table: str, limit: int = 1000) -> list[str]:
    """Moves up to `limit` events from the dead-letter queue to the outbox; answers their event ids.

    A message leaves the queue only after its event is back in the outbox (or already was).
    """
    moved: list[str] = []
    while len(moved) < limit:
        messages = sqs.receive_message(QueueUrl=dead_letter_queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=0, VisibilityTimeout=60).get("Messages", [])
        if not messages:
            break
        for message in messages:
            event = json.loads(message["Body"])
            try:
                dynamodb.put_item(**items.put(table, event)["Put"])
            except ClientError as error:
                if not is_condition_failure(error):
                    raise
            sqs.delete_message(QueueUrl=dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"])
            moved.append(event["event_id"])
    return moved
