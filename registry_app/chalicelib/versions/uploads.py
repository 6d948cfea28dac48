"""Presigned PUTs into the drop folder, so users upload without S3 credentials of their own.

The requested aliases and the verified caller travel as object metadata (x-amz-meta-alias,
x-amz-meta-registry-actor): they are part of the signature, so the uploader must send exactly
those headers, and ingestion reads them back from the object. The caller is trusted as the
version's author only because the API role signed it (ingest.py, `_with_object_metadata`).
"""
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from .. import names
from ..errors import InvalidInput
from .ingest import ACTOR_METADATA, ALIAS_METADATA
from ..records import utcnow

MAX_METADATA_BYTES = 2048  # S3 allows 2 KiB of user metadata per object
PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*", re.ASCII)  # what an HTTP header of S3 user metadata carries as sent


@dataclass(frozen=True)
class PresignedUpload:
    url: str
    method: str
    bucket: str
    key: str
    headers: dict[str, str]
    expires_at: datetime


class UploadLinks:
    def __init__(self, client, bucket: str, incoming_prefix: str, clock: Callable = utcnow):
        self._s3 = client
        self._bucket = bucket
        self._prefix = incoming_prefix
        self._clock = clock

    def presign(self, name: str, aliases: list[str], actor: str | None, expires_in: int,
                said: dict[str, str] | None = None) -> PresignedUpload:
        """A PUT of `incoming/<name>.tar.gz`, valid for `expires_in` seconds, vouching for `actor` (the API caller);
        `said` is what the upload says of its version (metadata_rules.said_metadata), signed in like the aliases."""
        key = f"{self._prefix}{names.validate_model_name(name)}{names.SUFFIX}"
        metadata = dict(said or {})
        if aliases:
            metadata[ALIAS_METADATA] = ",".join(names.validate_alias_name(alias) for alias in dict.fromkeys(aliases))
        if actor:
            metadata[ACTOR_METADATA] = actor
        for field_name, value in metadata.items():
            if not PRINTABLE_ASCII.fullmatch(value):
                raise InvalidInput(f"the upload's {field_name} holds characters S3 object metadata cannot carry (rule "
                                   "upload.metadata_ascii: printable ASCII only): set it after the upload (PATCH "
                                   "the version)", {"rule": "upload.metadata_ascii", "field": field_name})
        if sum(len(k) + len(v) for k, v in metadata.items()) > MAX_METADATA_BYTES:
            raise InvalidInput(f"aliases, description, tags, card and the caller exceed S3's {MAX_METADATA_BYTES} "
                               "bytes of object metadata (rule upload.metadata_size): set the rest after the upload",
                               {"rule": "upload.metadata_size"})
        params = {"Bucket": self._bucket, "Key": key}
        if metadata:
            params["Metadata"] = metadata
        url = self._s3.generate_presigned_url("put_object", Params=params, ExpiresIn=expires_in, HttpMethod="PUT")
        headers = {f"x-amz-meta-{k}": v for k, v in metadata.items()}
        return PresignedUpload(url=url, method="PUT", bucket=self._bucket, key=key, headers=headers,
                               expires_at=self._clock() + timedelta(seconds=expires_in))
