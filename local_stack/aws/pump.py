"""The event pump: what Lambda's SQS event source mapping does, for the local stack.

It long-polls the ingest queue that the emulator's S3 notifications feed, hands each
message to the Chalice SQS handler in the Lambda event shape, deletes it on success,
and on failure makes it visible again after a short delay, so retries and the
dead-letter queue's receive count behave as they do in AWS. It also runs the app's
scheduled handlers (the incoming/ sweep, the change-event publisher, the rollout advancer) as
EventBridge would: the sweep at its rate, the publisher and the advancer every few seconds
(production: every minute), so a change reaches `python -m client events tail` while one
watches, and a rollout with a bake of seconds moves in seconds.

The local stack runs it as its own process (`python -m local_stack.aws.pump`), as Lambda
runs the handler apart from everything else, so it can be killed and restarted alone.
"""
import argparse
import logging
import os
import signal
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

RETRY_DELAY_SECONDS = 2


def lambda_sqs_event(message: dict, queue_arn: str, region: str) -> dict:
    return {"Records": [{
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }]}


def scheduled_event(region: str) -> dict:
    """The EventBridge "Scheduled Event" a Chalice @app.schedule handler receives."""
    return {"version": "0", "id": uuid.uuid4().hex, "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region, "resources": [], "detail": {}}


class _Context:
    """The few attributes of a Lambda context that handlers read."""

    function_name = "mme-registry-local-ingest_uploads"
    memory_limit_in_mb = 1024

    def __init__(self):
        self.aws_request_id = uuid.uuid4().hex

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


class EventPump:
    def __init__(self, sqs_client, queue_url: str, handler, region: str = "us-east-1",
                 retry_delay_seconds: int = RETRY_DELAY_SECONDS, scheduled: tuple = (), journal=None):
        """`scheduled`: (handler, every_seconds) pairs run from the polling thread, first after one period."""
        self._journal = journal  # pump_journal.InFlightJournal, or None: nothing recorded
        self._retry_delay = retry_delay_seconds
        self._scheduled = [[handler_, every, time.monotonic() + every] for handler_, every in scheduled]
        self._sqs = sqs_client
        self._queue_url = queue_url
        self._handler = handler
        self._region = region
        self._arn = sqs_client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def drain_once(self, wait_seconds: int = 0) -> int:
        """Receives one batch and handles it; returns how many messages succeeded."""
        answer = self._sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds, AttributeNames=["All"]
        )
        handled = 0
        messages = answer.get("Messages", [])
        if self._journal and messages:
            self._journal.hold(messages)
        for message in messages:
            try:
                self._handler(lambda_sqs_event(message, self._arn, self._region), _Context())
            except Exception:
                log.exception("ingest failed; the message will be retried")
                self._sqs.change_message_visibility(
                    QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=self._retry_delay
                )
            else:
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
                handled += 1
            if self._journal:
                self._journal.settle(message["ReceiptHandle"])
        return handled

    def drain(self) -> int:
        """Handles messages until the queue has none visible."""
        total = 0
        while True:
            answer = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["ApproximateNumberOfMessages"])
            if int(answer["Attributes"]["ApproximateNumberOfMessages"]) == 0:
                return total
            total += self.drain_once()

    def start(self, interval: float = 0.1, on_error=None) -> None:
        """Polls in a thread until stop(). Short polls, not long ones: the emulator answers one
        request at a time, and a long poll would hold every other AWS call for its whole wait."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(interval, on_error), name="event-pump", daemon=True)
        self._thread.start()

    def _run(self, interval: float, on_error) -> None:
        while not self._stop.wait(interval):
            try:
                self._run_due()
                while self.drain_once(wait_seconds=0):
                    pass
            except Exception as error:  # keep pumping: the emulator may be restarting or stopping
                if not self._stop.is_set():
                    log.exception("event pump: receive failed")
                    if on_error:
                        on_error(error)

    def _run_due(self) -> None:
        for entry in self._scheduled:
            handler, every, due = entry
            if time.monotonic() >= due:
                entry[2] = time.monotonic() + every
                handler(scheduled_event(self._region), _Context())

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
            self._thread = None


def registry_app():
    """The Chalice app module, imported the way Lambda runs it: with the local stage's environment."""
    import json

    app_dir = Path(__file__).resolve().parents[2] / "registry_app"
    stage = json.loads((app_dir / ".chalice" / "config.json").read_text())["stages"]["local"]
    os.environ.update(stage.get("environment_variables", {}))
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    import app

    return app


def main(argv: list[str] | None = None) -> None:
    """Pumps until SIGTERM, after handing on whatever a crashed predecessor left in flight."""
    import boto3

    from local_stack.aws.pump_journal import InFlightJournal, hand_on_abandoned

    parser = argparse.ArgumentParser(prog="python -m local_stack.aws.pump", description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--journal", type=Path, required=True, help="where the messages in flight are recorded")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--publish-every", type=float, default=2.0, help="seconds between change-event publishes")
    parser.add_argument("--advance-every", type=float, default=2.0, help="seconds between rollout advancer runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    app = registry_app()
    from chalicelib.versions.claims import ClaimStore
    from chalicelib.settings import get_settings

    session = boto3.Session(region_name=args.region)
    sqs, settings = session.client("sqs"), get_settings()
    journal = InFlightJournal(args.journal)
    claims = ClaimStore(session.client("dynamodb"), settings.events_table, settings.claim_timeout_seconds)
    if handed_on := hand_on_abandoned(journal, sqs, args.queue_url, claims, app.get_deliveries().claim_ids):
        log.warning("handed on %d message(s) a previous pump left in flight", handed_on)
    sweep = (app.sweep_incoming, settings.sweep_every_minutes * 60)
    pump = EventPump(sqs, args.queue_url, app.ingest_uploads, args.region, retry_delay_seconds=1,
                     scheduled=[sweep, (app.publish_events, args.publish_every),
                                (app.advance_rollouts, args.advance_every)], journal=journal)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    pump.start()
    print(f"event pump: draining {args.queue_url}; sweeping incoming/ every {settings.sweep_every_minutes} min;"
          f" publishing change events every {args.publish_every:g} s; advancing rollouts every"
          f" {args.advance_every:g} s", flush=True)
    while not stopped.wait(1):
        pass
    pump.stop()


if __name__ == "__main__":
    main()
