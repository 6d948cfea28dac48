"""Failed ingest deliveries, kept where an operator finds them.

Every failed delivery notes its error on the upload's claim (a later delivery that dies
without a word, a Lambda timeout, still leaves the one before it). The last delivery the
queue allows (maxReceiveCount) also writes a `failed` upload record with the error and the
number of attempts, so an upload the dead-letter queue holds is never silent. A `failed`
record is not an outcome: a redriven message runs the upload again and replaces it.
"""
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from .claims import ClaimStore
from ..events import S3Upload
from ..records import UploadRecord, utcnow
from .store import RegistryStore

MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class DeadLetter:
    """One upload of a dead-lettered message, joined with its claim and its upload record."""

    name: str
    upload: S3Upload
    claim: dict | None
    record: UploadRecord | None

    @property
    def attempts(self) -> int | None:
        if self.record is not None and self.record.attempts is not None:
            return self.record.attempts
        return self.claim.get("attempts") if self.claim else None

    @property
    def last_error(self) -> str | None:
        if self.record is not None and self.record.error:
            return self.record.error
        return self.claim.get("last_error") if self.claim else None

    @property
    def first_seen(self) -> datetime | None:
        return datetime.fromisoformat(self.claim["started_at"]) if self.claim and "started_at" in self.claim else None

    @property
    def outcome(self) -> str:
        if self.record is not None:
            return self.record.outcome
        return "in progress (no record yet)" if self.claim else "never claimed"


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]


class FailureLog:
    def __init__(self, store: RegistryStore, claims: ClaimStore, clock: Callable = utcnow):
        self._store = store
        self._claims = claims
        self._clock = clock

    def record(self, name: str, upload: S3Upload, error: BaseException, attempts: int,
               final: bool) -> UploadRecord | None:
        """Notes the failure on the claim; on the final delivery also records the upload as `failed`."""
        now, text = self._clock(), describe(error)
        self._claims.note_failure(upload.event_id, text, now)
        if not final:
            return None
        claim = self._claims.get(upload.event_id)
        started_at = datetime.fromisoformat(claim["started_at"]) if claim and "started_at" in claim else now
        record = UploadRecord(
            name=name, event_id=upload.event_id, source_key=upload.key, source_etag=upload.etag, outcome="failed",
            started_at=started_at, finished_at=now, error=text, attempts=attempts,
            message=f"ingest failed {attempts} times and the message went to the dead-letter queue; fix the cause, "
                    f"then: python -m publisher dead-letters redrive --event-id {upload.event_id}",
        )
        return record if self._store.put_pending_upload(record) else None

    def look_up(self, name: str, upload: S3Upload) -> DeadLetter:
        claim = self._claims.get(upload.event_id)
        record = None
        if claim and "started_at" in claim:
            record = self._store.get_upload(name, datetime.fromisoformat(claim["started_at"]), upload.event_id)
        return DeadLetter(name, upload, claim, record)
