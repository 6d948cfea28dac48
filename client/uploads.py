"""Uploading a tarball into the drop folder and waiting for what the registry made of it.

The upload is an ordinary S3 (multipart) upload to `incoming/<name>.tar.gz`, with the
requested aliases as object metadata; the outcome is read back from
`GET /models/{name}/uploads` once the ingest handler has recorded it.
"""
from __future__ import annotations

import getpass
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from .config import ClientSettings
from .errors import AliasClientError, RegistryRequestError
from .registry_api import RegistryApi

MB = 1024**2
CHUNK = 8 * MB


class UploadTimeout(AliasClientError):
    """No outcome was recorded in time (is the ingest queue being drained?)."""


@dataclass(frozen=True)
class UploadOutcome:
    name: str
    key: str
    etag: str
    record: dict  # the registry's upload record (UploadView)
    report: dict | None = None  # the rejection report kept beside the rejected tarball

    @property
    def outcome(self) -> str:
        return self.record["outcome"]

    @property
    def accepted(self) -> bool:
        return self.outcome in ("accepted", "unchanged")

    @property
    def version(self) -> int | None:
        return self.record.get("version") or self.record.get("equals_version")


def drop_key(name: str, settings: ClientSettings) -> str:
    from .registry_code import validate_model_name  # the registry's own rule, checked before any byte moves

    return f"{settings.incoming_prefix}{validate_model_name(name)}.tar.gz"


def upload_to_drop_folder(path: Path, name: str, aliases: list[str], settings: ClientSettings, s3=None,
                          uploader: str | None = None, on_bytes: Callable[[int], None] | None = None,
                          said: dict[str, str] | None = None) -> tuple[str, str]:
    """Uploads `path` (multipart above 8 MB) and returns (key, ETag); `said` is more object metadata
    (`description`, `tags` as `k=v;k=v`) that the registry checks and records on the version."""
    import boto3
    from boto3.s3.transfer import TransferConfig

    key = drop_key(name, settings)
    metadata = {"uploader": uploader or getpass.getuser()}
    if aliases:
        metadata["alias"] = ",".join(aliases)
    metadata.update(said or {})
    s3 = s3 or boto3.client("s3")
    etags: list[str] = []

    def remember_etag(parsed=None, **_):
        # PutObject (small files) or CompleteMultipartUpload (large ones) answers the object's ETag.
        if parsed and parsed.get("ETag"):
            etags.append(parsed["ETag"].strip('"'))

    events = ("after-call.s3.PutObject", "after-call.s3.CompleteMultipartUpload")
    for event in events:
        s3.meta.events.register(event, remember_etag)
    try:
        s3.upload_file(str(path), settings.bucket, key, ExtraArgs={"Metadata": metadata}, Callback=on_bytes,
                       Config=TransferConfig(multipart_threshold=CHUNK, multipart_chunksize=CHUNK, max_concurrency=4))
    finally:
        for event in events:
            s3.meta.events.unregister(event, remember_etag)
    return key, etags[-1] if etags else ""


def wait_for_outcome(api: RegistryApi, name: str, key: str, etag: str, since: datetime,
                     known: frozenset = frozenset(), timeout: float = 120, poll: float = 0.25, s3=None,
                     bucket: str | None = None) -> UploadOutcome:
    """Polls the model's upload records for this upload's outcome: same key, new, handled after `since`."""
    deadline = time.monotonic() + timeout
    while True:
        record = _find_record(api, name, key, etag, since, known)
        if record is not None:
            report = _read_report(s3, bucket, record.get("report_key")) if record["outcome"] == "rejected" else None
            return UploadOutcome(name, key, etag, record, report)
        if time.monotonic() > deadline:
            raise UploadTimeout(f"no outcome recorded for s3://{bucket or '?'}/{key} after {timeout:.0f} s; is the "
                                "ingest queue being drained (make up runs the event pump)? The upload is still "
                                "in the drop folder and will be processed when it is.")
        time.sleep(poll)


def upload_records(api: RegistryApi, name: str) -> list[dict]:
    """The model's newest 20 upload records; none yet (404) is an empty list."""
    try:
        return api.list_uploads(name, limit=20).get("items", [])
    except RegistryRequestError as error:
        if error.status == 404:  # the model has no record at all yet
            return []
        raise


def record_identity(record: dict) -> tuple:
    return record.get("source_key"), record.get("started_at")


def _find_record(api: RegistryApi, name: str, key: str, etag: str, since: datetime, known: frozenset) -> dict | None:
    return record_of_upload(upload_records(api, name), key, etag, since, known)


def record_of_upload(items: list[dict], key: str, etag: str, since: datetime, known: frozenset) -> dict | None:
    """The record that says what became of this upload: same key and ETag, new, handled after `since`.

    One object can have more than one record: an emulator that sends two notifications for one
    multipart upload, neither naming the object version, gives them two identities. The first run
    makes the version and clears incoming/; the second finds the object gone and records
    `superseded`. That record is about a notification, not about the bytes, so the uploader is told
    `superseded` only when no other record speaks of this upload.
    """
    mine = [item for item in items  # newest first
            if item.get("source_key") == key and item.get("source_etag") == etag and record_identity(item) not in known
            and datetime.fromisoformat(item["started_at"].replace("Z", "+00:00")) >= since]
    return next((item for item in mine if item["outcome"] != "superseded"), mine[0] if mine else None)


def _read_report(s3, bucket: str | None, report_key: str | None) -> dict | None:
    if s3 is None or not bucket or not report_key:
        return None
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=report_key)["Body"].read())
    except Exception:  # noqa: BLE001 - the record alone still says why; the report is a bonus
        return None


def upload_model(path: Path, name: str, aliases: list[str] | None = None, settings: ClientSettings | None = None,
                 uploader: str | None = None, on_bytes: Callable[[int], None] | None = None,
                 timeout: float = 120, api: RegistryApi | None = None,
                 said: dict[str, str] | None = None) -> UploadOutcome:
    """Drops `path` as model `name` and returns what the registry made of it."""
    import boto3

    settings = settings or ClientSettings()
    api = api or RegistryApi.from_settings(settings)
    s3 = boto3.client("s3")
    drop_key(name, settings)  # a bad name fails here, before the baseline read
    known = frozenset(record_identity(record) for record in upload_records(api, name))
    key, etag = upload_to_drop_folder(Path(path), name, aliases or [], settings, s3=s3, uploader=uploader,
                                      on_bytes=on_bytes, said=said)
    # The registry handles an upload only after it completed; the slack absorbs clock skew.
    since = datetime.now(timezone.utc) - timedelta(seconds=0.5)
    return wait_for_outcome(api, name, key, etag, since, known, timeout=timeout, s3=s3, bucket=settings.bucket)
