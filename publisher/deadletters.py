"""`python -m publisher dead-letters list|redrive`: uploads the ingest queue gave up on, and sending them back.

`list` shows each dead-lettered upload joined with what the registry knows of it: its claim
(deliveries, the last error, even when the last delivery died without a word) and its
`failed` upload record. `redrive` moves messages back to the ingest queue by receive, send
and delete rather than SQS's StartMessageMoveTask, because it can then pick single uploads
(--event-id); the ingest handler runs them again and the rerun replaces the `failed` record.
The queues are named by --stack (the resources stack's Outputs), --queue or REGISTRY_QUEUE, and the
dead-letter queue by --dead-letter-queue, the stack or the ingest queue's redrive policy: no local name
is assumed.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from rich.console import Console
from rich.table import Table

from . import stack

HOLD_SECONDS = 60  # how long read messages stay hidden while a command works on them
LIMIT = 1000


class QueueSetupError(ValueError):
    """A queue the command cannot find or tell apart."""


class DeadLetterQueue:
    """The ingest queue's dead-letter queue, read without losing a message: what is not moved is released."""

    def __init__(self, sqs, queue: str, dead_letter_queue: str | None = None):
        self._sqs = sqs
        self.queue_url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        self.url = sqs.get_queue_url(QueueName=dead_letter_queue or self._target_of(queue))["QueueUrl"]

    def _target_of(self, queue: str) -> str:
        attributes = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"])
        policy = attributes.get("Attributes", {}).get("RedrivePolicy")
        if not policy:
            raise QueueSetupError(f"{queue} has no redrive policy: name its dead-letter queue with --dead-letter-queue")
        return json.loads(policy)["deadLetterTargetArn"].rsplit(":", 1)[-1]

    def receive_all(self, limit: int = LIMIT) -> list[dict]:
        """Every message (up to `limit`), each hidden for HOLD_SECONDS; long polls so no SQS host is skipped."""
        messages: list[dict] = []
        while len(messages) < limit:
            batch = self._sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=min(10, limit - len(messages)), WaitTimeSeconds=1,
                VisibilityTimeout=HOLD_SECONDS, AttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                return messages
            messages += batch
        return messages

    def release(self, messages: list[dict]) -> None:
        for message in messages:
            self._sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"],
                                                VisibilityTimeout=0)

    def move_back(self, message: dict) -> None:
        """Sent before it is deleted: a crash in between leaves a duplicate, which the claim absorbs, never a loss."""
        self._sqs.send_message(QueueUrl=self.queue_url, MessageBody=message["Body"])
        self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])


@dataclass(frozen=True)
class Entry:
    message: dict
    letters: list  # chalicelib.versions.deadletters.DeadLetter, one per upload the message names


class DeadLetters:
    """The dead-letter queue joined with the registry's claims and upload records."""

    def __init__(self, queue: DeadLetterQueue, failures, artifacts, incoming_prefix: str):
        self.queue = queue
        self._failures = failures
        self._artifacts = artifacts
        self._prefix = incoming_prefix

    def entries(self, messages: list[dict]) -> list[Entry]:
        from .registry_code import claimed_as, jobs_of

        entries = []
        for message in messages:
            letters = []
            for job in jobs_of(message["Body"], self._prefix):
                letters.append(self._failures.look_up(job.name, claimed_as(job, self._artifacts)))
            entries.append(Entry(message, letters))
        return entries

    def redrive(self, event_ids: set[str] | None) -> tuple[list[Entry], set[str]]:
        """Moves back every message (`event_ids` None) or those naming one of `event_ids`.

        Returns what was moved and the ids no message named.
        """
        messages = self.queue.receive_all()
        moved, kept, found = [], [], set()
        for entry in self.entries(messages):
            ids = {letter.upload.event_id for letter in entry.letters}
            if event_ids is None or ids & event_ids:
                self.queue.move_back(entry.message)
                moved.append(entry)
                found |= ids
            else:
                kept.append(entry.message)
        self.queue.release(kept)
        return moved, (event_ids or set()) - found


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "dead-letters", help="list or redrive uploads the ingest queue dead-lettered",
        description="Uploads whose ingest failed on every delivery. The registry's tables, bucket and queues come "
        "from --stack, or from the REGISTRY_* environment (see chalicelib/settings.py).")
    parser.add_argument("action", choices=["list", "redrive"])
    stack.add_options(parser)
    parser.add_argument("--queue", help="the ingest queue's name (default: --stack's, or REGISTRY_QUEUE)")
    parser.add_argument("--dead-letter-queue",
                        help="its dead-letter queue (default: --stack's, or the queue's redrive policy)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="redrive every message")
    which.add_argument("--event-id", action="append", help="redrive the message of this upload (repeatable)")


def run(args: argparse.Namespace, console: Console) -> int:
    from .registry_code import Artifacts, ClaimStore, FailureLog, RegistryStore

    if args.action == "redrive" and not (args.all or args.event_id):
        console.print("[red]error:[/] redrive needs --all or --event-id ID (see `dead-letters list`)")
        return 2
    target = stack.registry(args.stack, args.region, needs=("bucket", "table", "events_table"))
    registry, session = target.settings, target.session
    queue = args.queue or (registry.queue if "queue" in registry.model_fields_set else None)
    if not queue:
        console.print("[red]error:[/] name the ingest queue: --stack STACK, --queue NAME or REGISTRY_QUEUE=NAME "
                      "(the local stack's is mme-registry-local-ingest)")
        return 2
    dead_letter_queue = args.dead_letter_queue or (target.outputs.dead_letter_queue if target.outputs else None)
    dynamodb = session.client("dynamodb")
    try:
        dead = DeadLetterQueue(session.client("sqs"), queue, dead_letter_queue)
    except QueueSetupError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    failures = FailureLog(RegistryStore(dynamodb, registry.table),
                          ClaimStore(dynamodb, registry.events_table, registry.claim_timeout_seconds))
    letters = DeadLetters(dead, failures, Artifacts(session.client("s3"), registry.bucket), registry.incoming_prefix)
    if args.action == "list":
        messages = dead.receive_all()
        try:
            console.print(listing(letters.entries(messages), f"Dead letters of {queue}"))
        finally:
            dead.release(messages)
        where = f"--stack {args.stack}" if args.stack else f"--queue {queue}"
        console.print(f"{len(messages)} message(s). Fix the cause, then: python -m publisher dead-letters redrive "
                      f"{where} --all (or --event-id ID)")
        return 0
    moved, missing = letters.redrive(None if args.all else set(args.event_id))
    console.print(listing(moved, f"Moved back to {queue}"))
    console.print(f"{len(moved)} message(s) moved back; the ingest handler runs them again.")
    if missing:
        console.print(f"[red]not in the dead-letter queue:[/] {', '.join(sorted(missing))}")
        return 1
    return 0


def listing(entries: list[Entry], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("event id", "source", "model", "attempts", "last error", "age", "record"):
        table.add_column(column, overflow="fold")
    now = datetime.now(timezone.utc)
    for entry in entries:
        sent = int(entry.message.get("Attributes", {}).get("SentTimestamp", 0)) / 1000
        for letter in entry.letters:
            since = letter.first_seen or (datetime.fromtimestamp(sent, timezone.utc) if sent else None)
            table.add_row(letter.upload.event_id, f"s3://{letter.upload.bucket}/{letter.upload.key}", letter.name,
                          str(letter.attempts or "?"), letter.last_error or "none recorded (the run died or timed out)",
                          age(now - since) if since else "?", letter.outcome)
        if not entry.letters:
            table.add_row("-", entry.message["Body"][:80], "-", "-", "not an upload: it cannot be redriven usefully",
                          "-", "-")
    return table


def age(delta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
