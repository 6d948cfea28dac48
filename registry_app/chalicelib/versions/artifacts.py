"""S3 adapter for tarballs: stream an upload, copy it to an immutable key, park rejects.

Immutability of models/ rests on two things: every target key is reserved for one
event before it is written, and every write to it is conditional (`IfNoneMatch='*'`)
so S3 itself refuses a second write where it enforces conditions.
"""
import json
from dataclasses import dataclass
from datetime import datetime

from botocore.exceptions import ClientError

from ..errors import Conflict, NotFound

GB = 1000**3
MULTIPART_COPY_THRESHOLD = 5 * GB  # CopyObject's limit
PART_SIZE = 512 * 1024 * 1024
EVENT_METADATA = "registry-event"


class SourceChanged(Exception):
    """The incoming object was replaced or deleted after its notification was sent."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    etag: str
    size: int
    metadata: dict[str, str]
    # The S3 object version, in a versioned bucket (an overwrite leaves it readable); None in an
    # unversioned bucket ("null" when versioning was suspended).
    version_id: str | None = None


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def is_missing(error: ClientError) -> bool:
    return _code(error) in ("404", "NoSuchKey", "NotFound")


class Artifacts:
    def __init__(self, client, bucket: str, multipart_threshold: int = MULTIPART_COPY_THRESHOLD, part_size: int = PART_SIZE):
        self._s3 = client
        self.bucket = bucket
        self._threshold = multipart_threshold
        self._part_size = part_size

    def head(self, key: str, bucket: str | None = None, version_id: str | None = None) -> ObjectInfo | None:
        """The object now, or the given version of it."""
        pinned = {"VersionId": version_id} if version_id else {}
        try:
            answer = self._s3.head_object(Bucket=bucket or self.bucket, Key=key, **pinned)
        except ClientError as error:
            if is_missing(error) or (version_id and _code(error) in ("400", "InvalidArgument")):
                return None
            raise
        return ObjectInfo(key, answer["ETag"].strip('"'), answer["ContentLength"], answer.get("Metadata", {}),
                          answer.get("VersionId") or version_id)

    def version_of(self, key: str, etag: str, not_after: datetime | None, bucket: str | None = None) -> str | None:
        """The id of the newest version of `key` with `etag` written no later than `not_after`; None if unversioned.

        Still answers after the upload was deleted (a delete marker hides it, the version stays).
        Reads one page of versions (the newest 1,000 of the key).
        """
        answer = self._s3.list_object_versions(Bucket=bucket or self.bucket, Prefix=key)
        for version in answer.get("Versions", []):
            if version["Key"] != key or version["ETag"].strip('"') != etag or version["VersionId"] == "null":
                continue
            if not_after is None or version["LastModified"] <= not_after:
                return version["VersionId"]
        return None

    def read(self, key: str, etag: str | None, bucket: str | None = None,
             version_id: str | None = None) -> tuple[ObjectInfo, object]:
        """The object (the given version, when known) and its body as a stream, only while it has `etag`.

        One GetObject answers what a HeadObject would (ETag, size, version, the uploader's metadata) with the
        bytes, so the ingest reads an upload once. Raises SourceChanged when it is gone or has other bytes.
        """
        pinned = {"VersionId": version_id} if version_id else {}
        if etag:
            pinned["IfMatch"] = f'"{etag}"'
        try:
            answer = self._s3.get_object(Bucket=bucket or self.bucket, Key=key, **pinned)
        except ClientError as error:
            if is_missing(error) or _code(error) in ("PreconditionFailed", "412", "NoSuchVersion"):
                raise SourceChanged(key) from error
            if version_id and _code(error) in ("400", "InvalidArgument"):
                raise SourceChanged(key) from error
            raise
        info = ObjectInfo(key, answer["ETag"].strip('"'), answer["ContentLength"], answer.get("Metadata", {}),
                          answer.get("VersionId") or version_id)
        return info, answer["Body"]

    def copy_once(self, source: ObjectInfo, target_key: str, event_id: str, metadata: dict[str, str],
                  source_bucket: str | None = None) -> None:
        """Copies `source` to `target_key` unless this event already did; any other writer is a conflict.

        The copy is conditional (IfNoneMatch), so a key already there costs no HEAD first; only a copy in parts
        looks before it starts, so that a retry does not copy gigabytes again to learn the key is taken.
        """
        if source.size > self._threshold:
            existing = self.head(target_key)
            if existing is not None:
                self._check_owner(existing, event_id)
                return
        tagged = {**metadata, EVENT_METADATA: event_id}
        copy_source = {"Bucket": source_bucket or self.bucket, "Key": source.key}
        if source.version_id:  # the exact bytes that were validated, even if the key was overwritten since
            copy_source["VersionId"] = source.version_id
        try:
            if source.size > self._threshold:
                self._multipart_copy(copy_source, source, target_key, tagged)
            else:
                self._s3.copy_object(
                    Bucket=self.bucket, Key=target_key, CopySource=copy_source, CopySourceIfMatch=f'"{source.etag}"',
                    IfNoneMatch="*", MetadataDirective="REPLACE", Metadata=tagged, ContentType="application/gzip",
                )
        except ClientError as error:
            if _code(error) not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise
            existing = self.head(target_key)
            if existing is None:
                raise SourceChanged(source.key) from error
            self._check_owner(existing, event_id)

    def _multipart_copy(self, copy_source: dict, source: ObjectInfo, target_key: str, metadata: dict[str, str]) -> None:
        upload_id = self._s3.create_multipart_upload(
            Bucket=self.bucket, Key=target_key, Metadata=metadata, ContentType="application/gzip"
        )["UploadId"]
        try:
            parts = []
            for number, start in enumerate(range(0, source.size, self._part_size), start=1):
                end = min(start + self._part_size, source.size) - 1
                answer = self._s3.upload_part_copy(
                    Bucket=self.bucket, Key=target_key, UploadId=upload_id, PartNumber=number,
                    CopySource=copy_source, CopySourceRange=f"bytes={start}-{end}", CopySourceIfMatch=f'"{source.etag}"',
                )
                parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
            self._s3.complete_multipart_upload(
                Bucket=self.bucket, Key=target_key, UploadId=upload_id, MultipartUpload={"Parts": parts}, IfNoneMatch="*"
            )
        except BaseException:
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=target_key, UploadId=upload_id)
            raise

    def _check_owner(self, existing: ObjectInfo, event_id: str) -> None:
        if existing.metadata.get(EVENT_METADATA) != event_id:
            raise Conflict(f"{existing.key} already exists and belongs to another upload: versions are never overwritten",
                           {"key": existing.key})

    def put_json(self, key: str, document: dict) -> None:
        body = json.dumps(document, indent=2, default=str).encode()
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def read_whole(self, key: str) -> bytes:
        """A small object of the registry's own (a reference sample), whole."""
        return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def delete_if_unchanged(self, key: str, etag: str, bucket: str | None = None) -> None:
        """Deletes an upload only while it holds the bytes we processed; a newer upload to the same key stays."""
        try:
            self._s3.delete_object(Bucket=bucket or self.bucket, Key=key, IfMatch=f'"{etag}"')
        except ClientError as error:
            if not (is_missing(error) or _code(error) in ("PreconditionFailed", "412")):
                raise

    def require(self, key: str, bucket: str | None = None) -> ObjectInfo:
        """The object a caller named; missing, in a missing bucket or unreadable is a 404, not a fault."""
        source = f"s3://{bucket or self.bucket}/{key}"
        try:
            info = self.head(key, bucket)
        except ClientError as error:
            if _code(error) not in ("NoSuchBucket", "403", "AccessDenied", "Forbidden"):
                raise
            info = None
        if info is None:
            raise NotFound(f"{source} does not exist or the registry may not read it", {"source": source})
        return info
