"""Deferred REST registrations: sources too large to validate behind API Gateway's 29 s limit.

The API records the upload as `queued`, answers 202 with where to read its record, and puts
a registration command on the ingest queue; the ingest handler then runs the very use case a
synchronous registration runs, with the same identity (ingest.rest_upload), so a retried
POST, the queued run and a later synchronous call share one claim and make one version.
The queue rather than an asynchronous self-invoke: it works unchanged under `chalice local`
(the pump drains it), needs no lambda:InvokeFunction grant, and brings the handler's retries,
dead-letter queue and failure record with it.
"""
import json
import logging
from dataclasses import dataclass
from typing import Callable

from .claims import COMPLETED, ClaimStore
from ..events import S3Upload
from .ingest import rest_upload
from .ingest_queue import IngestQueue
from ..records import UploadRecord, utcnow
from .store import RegistryStore

log = logging.getLogger(__name__)

COMMAND = "register"


@dataclass(frozen=True)
class QueuedRegistration:
    name: str
    upload: S3Upload
    aliases: list[str]
    metadata: dict[str, str]
    actor: str | None

    def body(self) -> str:
        upload = self.upload
        return json.dumps({"registry": COMMAND, "name": self.name, "bucket": upload.bucket, "key": upload.key,
                           "etag": upload.etag, "size": upload.size, "aliases": self.aliases,
                           "metadata": self.metadata, "actor": self.actor})


def decode_registration(message) -> QueuedRegistration | None:
    """The command in a message body already parsed from JSON; None when the message is something else."""
    if not isinstance(message, dict) or message.get("registry") != COMMAND:
        return None
    try:
        upload = S3Upload(bucket=message["bucket"], key=message["key"], etag=message["etag"], size=int(message["size"]),
                          principal=message.get("actor"), sequencer=f"rest:{message['name']}")
        return QueuedRegistration(message["name"], upload, list(message.get("aliases") or []),
                                  dict(message.get("metadata") or {}), message.get("actor"))
    except (KeyError, TypeError, ValueError):
        log.warning("skipping a malformed registration command: %.200r", message)
        return None


class DeferredRegistrations:
    def __init__(self, artifacts, claims: ClaimStore, store: RegistryStore, queue: IngestQueue, threshold_bytes: int,
                 clock: Callable = utcnow):
        self._artifacts = artifacts
        self._claims = claims
        self._store = store
        self._queue = queue
        self._threshold = threshold_bytes
        self._clock = clock

    def defer(self, name: str, bucket: str, key: str, aliases: list[str], metadata: dict[str, str],
              actor: str | None) -> UploadRecord | None:
        """Queues the registration when its source is too large; None when it should run synchronously."""
        info = self._artifacts.require(key, bucket)
        if info.size <= self._threshold:
            return None
        upload = rest_upload(name, bucket, key, info, actor)
        claim = self._claims.get(upload.event_id)
        if claim is not None and claim.get("status") == COMPLETED:
            return None  # it already ran: the synchronous path answers from its record at once
        now = self._clock()
        record = UploadRecord(
            name=name, event_id=upload.event_id, source_key=key, source_etag=info.etag, outcome="queued",
            message=f"{info.size} bytes is more than the API validates while you wait ({self._threshold}): "
                    "queued for the ingest handler; read this record again for the outcome",
            started_at=self._claims.open(upload.event_id, now), finished_at=now,
        )
        if not self._store.put_pending_upload(record):
            return None  # a run finished it meanwhile
        self._queue.send(QueuedRegistration(name, upload, aliases, metadata, actor).body())
        log.info("queued the registration of s3://%s/%s (%d bytes) as %s", bucket, key, info.size, name)
        return record
