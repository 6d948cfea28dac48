"""One message of the ingest queue, as the ingest Lambda receives it: decode, run, and leave a trace on failure.

A message is an S3 notification. A fault re-raises
so SQS retries; before that it is written down (deadletters.FailureLog), and on the last
delivery the queue allows it becomes a `failed` upload record, so a dead-lettered upload is
never silent.
"""
from dataclasses import dataclass

from . import names
from .deadletters import FailureLog
from .errors import InvalidInput
from .events import S3Upload, decode_sqs_records
from .ingest import UNNAMED, Ingestor


@dataclass(frozen=True)
class Job:
    name: str  # the model its records are filed under
    upload: S3Upload


def jobs_of(body: str, incoming_prefix: str) -> list[Job]:
    """What a message asks for; an empty list for test events and bodies that are not ours."""
    return [Job(model_of(upload.key, incoming_prefix), upload) for upload in decode_sqs_records(body)]


def model_of(key: str, incoming_prefix: str) -> str:
    try:
        return names.parse_incoming_key(key, incoming_prefix).model
    except InvalidInput:
        return UNNAMED


def receive_count(record: dict) -> int:
    """SQS's ApproximateReceiveCount of a Lambda SQS record: 1 on the first delivery."""
    return int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1))


class Deliveries:
    def __init__(self, ingestor: Ingestor, failures: FailureLog, incoming_prefix: str, max_receives: int):
        self._ingestor = ingestor
        self._failures = failures
        self._prefix = incoming_prefix
        self._max_receives = max_receives

    def handle(self, body: str, receive_count: int) -> None:
        """Runs every upload of one message; a fault is recorded, then re-raised for SQS to retry."""
        final = receive_count >= self._max_receives
        for job in jobs_of(body, self._prefix):
            try:
                self._ingestor.ingest(job.upload)
            except Exception as error:
                self._failures.record(job.name, job.upload, error, receive_count, final)
                raise
