"""REST registration: the checks a `POST /models/{name}/versions` needs before and after the ingest use case.

Sources must sit in the registry's own bucket: the API's role may read only there (least
privilege), so any other bucket would fail deep inside S3 instead of with a clear answer.
Not in the drop folder either: an object there is ingested by its S3 event already, and two
runs over the same bytes could race to two versions.
"""
import re
from dataclasses import dataclass

from .. import names
from .deferred import DeferredRegistrations
from ..errors import Conflict, InvalidInput
from ..names import ecma_escape
from .ingest import Ingestor
from ..records import UploadRecord, VersionRecord


@dataclass(frozen=True)
class Registered:
    upload: UploadRecord
    version: VersionRecord | None  # None while queued

    @property
    def created(self) -> bool:
        return self.upload.outcome == "accepted"

    @property
    def queued(self) -> bool:
        """Too large to validate while the caller waits: the ingest handler finishes it (deferred.py)."""
        return self.upload.outcome == "queued"


def source_pattern(bucket: str, owned_prefixes: tuple[str, ...]) -> str:
    """Which sources this registry registers, as one pattern: /openapi.json publishes it, _locate fullmatches it.

    A key is any text without control characters (`.` would differ: ECMA's stops at \\r, Python's does not).
    """
    owned = "|".join(ecma_escape(prefix) for prefix in owned_prefixes)
    return f"^s3://{ecma_escape(bucket)}/(?!{owned})[^\\x00-\\x1f]+$"


class Registrar:
    def __init__(self, ingestor: Ingestor, bucket: str, owned_prefixes: tuple[str, ...],
                 deferred: DeferredRegistrations | None = None):
        self._ingestor = ingestor
        self._deferred = deferred
        self._bucket = bucket
        self._owned_prefixes = owned_prefixes
        self.source_pattern = source_pattern(bucket, owned_prefixes)
        self._source = re.compile(self.source_pattern)

    def register(self, name: str, source: str, aliases: list[str], metadata: dict[str, str],
                 actor: str | None) -> Registered:
        """Validates, copies and records `source` as the next version of `name` (or finds it identical to one)."""
        bucket, key = self._locate(source)
        if self._deferred is not None:
            queued = self._deferred.defer(names.validate_model_name(name), bucket, key, aliases, metadata, actor)
            if queued is not None:
                return Registered(queued, None)
        upload, version = self._ingestor.register(name, bucket, key, aliases, metadata, actor)
        if version is None:  # replaced or deleted while it was read
            raise Conflict(upload.message or "the source changed while it was being registered; try again",
                           {"outcome": upload.outcome, "source": source})
        return Registered(upload, version)

    def _locate(self, source: str) -> tuple[str, str]:
        bucket, _, key = source.removeprefix("s3://").partition("/")
        if bucket != self._bucket:
            raise InvalidInput(f"the registry reads sources only from its own bucket: s3://{self._bucket}/...",
                               {"source": source, "bucket": self._bucket})
        if not key or key.startswith(self._owned_prefixes):
            owned = ", ".join(self._owned_prefixes)
            raise InvalidInput(f"{source} cannot be registered: {owned} belong to the registry (drop folder, "
                               "versions, rejects); put the source elsewhere in the bucket, or drop it into the "
                               "drop folder instead", {"source": source})
        if not self._source.fullmatch(source):
            raise InvalidInput(f"{source!r} cannot be registered: an S3 key has no control characters",
                               {"source": source})
        return bucket, key
