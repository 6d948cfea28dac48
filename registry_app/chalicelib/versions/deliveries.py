"""One message of the ingest queue, as the ingest Lambda receives it: decode, run, and leave a trace on failure.

A message is an S3 notification (sent by S3, or re-announced by the sweep) or a queued REST
registration (deferred.py). A fault re-raises so SQS retries; before that it is written down
(deadletters.FailureLog), and on the last delivery the queue allows it becomes a `failed`
upload record, so a dead-lettered upload is never silent.
"""
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime

from .. import names
from .artifacts import Artifacts
from .deadletters import FailureLog
from .deferred import QueuedRegistration, decode_registration
from ..errors import InvalidInput
from ..events import S3Upload, decode_sqs_records
from .ingest import UNNAMED, Ingestor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str  # the model its records are filed under
    upload: S3Upload
    registration: QueuedRegistration | None = None


def jobs_of(body: str, incoming_prefix: str) -> list[Job]:
    """What a message asks for; an empty list for test events and bodies that are not ours."""
    try:
        registration = decode_registration(json.loads(body))
    except (TypeError, ValueError):
        registration = None
    if registration is not None:
        return [Job(registration.name, registration.upload, registration)]
    return [Job(model_of(upload.key, incoming_prefix), upload) for upload in decode_sqs_records(body)]


def model_of(key: str, incoming_prefix: str) -> str:
    try:
        return names.parse_incoming_key(key, incoming_prefix).model
    except InvalidInput:
        return UNNAMED


def receive_count(record: dict) -> int:
    """SQS's ApproximateReceiveCount of a Lambda SQS record: 1 on the first delivery."""
    return int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1))


def identified(upload: S3Upload, artifacts: Artifacts) -> S3Upload:
    """Gives an event without a version id the id of the object version it announced.

    S3 puts versionId in every event of a versioned bucket, and the sweep builds the same identity;
    emulators leave it out. Here the version is found by the announced ETag among the key's versions
    (still there after the upload was cleared), so every delivery of one event, a sweep's
    re-announcement and a late real event all share one claim. No versioning: the event's own identity.
    """
    if upload.version_id or upload.bucket != artifacts.bucket:
        return upload
    try:
        sent = datetime.fromisoformat(upload.event_time) if upload.event_time else None
    except ValueError:
        sent = None
    version_id = artifacts.version_of(upload.key, upload.etag, sent, upload.bucket)
    return replace(upload, version_id=version_id) if version_id else upload


def claimed_as(job: Job, artifacts: Artifacts) -> S3Upload:
    """The upload under the identity its run claims: whoever looks for that claim (a restarted pump, the
    dead-letter tools) must name it as the handler did."""
    return job.upload if job.registration is not None else identified(job.upload, artifacts)


class Deliveries:
    def __init__(self, ingestor: Ingestor, artifacts: Artifacts, failures: FailureLog, incoming_prefix: str,
                 max_receives: int):
        self._ingestor = ingestor
        self._artifacts = artifacts
        self._failures = failures
        self._prefix = incoming_prefix
        self._max_receives = max_receives

    def handle(self, body: str, receive_count: int) -> None:
        """Runs every upload of one message; a fault is recorded, then re-raised for SQS to retry."""
        final = receive_count >= self._max_receives
        for job in jobs_of(body, self._prefix):
            try:
                job = replace(job, upload=claimed_as(job, self._artifacts))
                self._run(job)
            except Exception as error:
                self._record(job, error, receive_count, final)
                raise

    def claim_ids(self, body: str) -> list[str]:
        """The claims the runs of this message take: what a host that saw those runs die may abandon."""
        return [claimed_as(job, self._artifacts).event_id for job in jobs_of(body, self._prefix)]

    def _record(self, job: Job, error: Exception, receive_count: int, final: bool) -> None:
        """Never lets the bookkeeping hide the fault itself: a failure to record is logged, the fault re-raised."""
        try:
            self._failures.record(job.name, job.upload, error, receive_count, final)
        except Exception:
            log.exception("could not record the failure of s3://%s/%s", job.upload.bucket, job.upload.key)

    def _run(self, job: Job) -> None:
        command = job.registration
        if command is None:
            self._ingestor.ingest(job.upload)
        else:
            self._ingestor.run_registration(command.name, command.upload, command.aliases, command.metadata,
                                            command.actor)
