"""Hands outbox events to EventBridge: at least once, each alias's events in revision order, none dropped.

Each round sends the oldest waiting event of up to ten streams (one PutEvents: ten entries
and 256 KB at most, counted as EventBridge counts them, sizes.py), so two events of one alias
are never in flight together and cannot overtake each other, and one large event never fails
the others of its call. A published event leaves the outbox after PutEvents accepted it: a
crash in between publishes it again with the same event_id (consumers de-duplicate). A
failed event stays, its stream waits for the next run; past `budget` failures it goes to
the dead-letter queue (an alarm watches it) and its stream moves on, the revision gap
telling consumers what is missing until someone re-drives it. A run reads the whole outbox,
a batch at a time, within its time budget: one batch a run (500) fell behind 1,000 alias moves
a minute with a run a minute (bench/scale.py measures the drain).
"""
import json
import logging
import time
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from .items import Outbox, Pending
from .sizes import CALL_LIMIT, entry, entry_size

log = logging.getLogger(__name__)

ENTRIES_PER_CALL = 10  # the PutEvents maximum


@dataclass
class Drained:
    published: list[str] = field(default_factory=list)  # event ids
    failed: list[str] = field(default_factory=list)
    dead_lettered: list[str] = field(default_factory=list)


class OutboxPublisher:
    def __init__(self, outbox: Outbox, events_client, bus: str, sqs_client, dead_letter_queue_url: str,
                 budget: int, batch: int = 500, seconds: float = 40.0, timer=time.monotonic):
        self._outbox = outbox
        self._events = events_client
        self._bus = bus
        self._sqs = sqs_client
        self._dead_letters = dead_letter_queue_url
        self._budget = budget
        self._batch = batch
        self._seconds = seconds  # within the scheduled function's timeout (50 s, .chalice/config.json)
        self._timer = timer

    def run(self) -> Drained:
        """Publishes what is waiting, reading the outbox `batch` events at a time from its start to its end, or
        until `seconds` have passed (the next run starts again from the start). A stream whose head failed waits
        for the next run, and so do the events behind it, in this batch and the ones after."""
        done, held, after = Drained(), set(), None
        stop = self._timer() + self._seconds
        while self._timer() < stop:
            waiting = self._outbox.pending(self._batch, after)
            streams: dict[str, list[Pending]] = {}
            for pending in waiting:
                if pending.stream not in held:
                    streams.setdefault(pending.stream, []).append(pending)
            self._publish(streams, done, held, stop)
            if len(waiting) < self._batch or streams:  # the end of the outbox, or of the time
                break
            after = waiting[-1].sk
        return done

    def _publish(self, streams: dict[str, list[Pending]], done: Drained, held: set[str], stop: float) -> None:
        while streams and self._timer() < stop:
            heads, entries = self._next_call(streams)
            for pending, error in zip(heads, self._put(entries)):
                queue = streams[pending.stream]
                if error is None:
                    self._outbox.published(pending)
                    done.published.append(pending.event["event_id"])
                elif self._outbox.failed(pending, error) >= self._budget:
                    self._dead_letter(pending, error)
                    done.dead_lettered.append(pending.event["event_id"])
                else:
                    done.failed.append(pending.event["event_id"])
                    held.add(pending.stream)
                    del streams[pending.stream]  # keep the order: nothing after it goes before it
                    continue
                queue.pop(0)
                if not queue:
                    del streams[pending.stream]

    def _next_call(self, streams: dict[str, list[Pending]]) -> tuple[list[Pending], list[dict]]:
        """The heads of the first streams, in order, as many as one PutEvents takes (at least one)."""
        heads, entries, size = [], [], 0
        for queue in streams.values():
            candidate = entry(queue[0].event, self._bus)
            if heads and (len(heads) == ENTRIES_PER_CALL or size + entry_size(candidate) > CALL_LIMIT):
                break
            heads.append(queue[0])
            entries.append(candidate)
            size += entry_size(candidate)
        return heads, entries

    def _put(self, entries: list[dict]) -> list[str | None]:
        """One PutEvents; the error of each entry, None where EventBridge accepted it."""
        try:
            answer = self._events.put_events(Entries=entries)
        except (ClientError, BotoCoreError) as error:
            log.warning("PutEvents failed for %d events: %s", len(entries), error)
            return [str(error)] * len(entries)
        return [f"{r['ErrorCode']}: {r.get('ErrorMessage', '')}" if r.get("ErrorCode") else None
                for r in answer["Entries"]]

    def _dead_letter(self, pending: Pending, error: str) -> None:
        """Parks the event where the alarm sees it; only then leaves the outbox (a failure here raises, it stays)."""
        log.error("event %s dead-lettered after %d failed publishes: %s", pending.event["event_id"],
                  self._budget, error)
        self._sqs.send_message(QueueUrl=self._dead_letters, MessageBody=json.dumps(pending.event, sort_keys=True),
                               MessageAttributes={"error": {"DataType": "String", "StringValue": error[:1000]}})
        self._outbox.published(pending)
