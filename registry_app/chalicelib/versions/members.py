"""What a version's tarball holds, member by member: name, kind, size and SHA-256.

For comparing two versions ("what did this upload change?"). Read on request, not stored at
ingest: the answer costs one streamed read of the object, which is why it is refused above the
size the API can read within API Gateway's 29 s (the `deferred_registration_bytes` threshold).
`tarfile` reads it: the version already passed the validator, and the extraction property test
holds the validator and `tarfile` to the same member list.
"""
import hashlib
import tarfile
from dataclasses import dataclass

from botocore.exceptions import ClientError

from ..errors import NotFound, PayloadTooLarge
from ..records import VersionRecord
from .artifacts import is_missing

CHUNK = 1 << 20


@dataclass(frozen=True)
class Member:
    name: str
    kind: str  # "file" or "dir"
    size: int
    sha256: str | None  # files only


class VersionMembers:
    def __init__(self, s3, bucket: str, max_bytes: int):
        self._s3 = s3
        self._bucket = bucket
        self._max_bytes = max_bytes

    def list(self, version: VersionRecord) -> list[Member]:
        if version.size > self._max_bytes:
            raise PayloadTooLarge(f"{version.name} v{version.version} is {version.size} bytes; members are listed "
                                  f"only up to {self._max_bytes} bytes (the API's time limit)",
                                  {"size": version.size, "limit": self._max_bytes})
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=version.target_key)["Body"]
        except ClientError as error:
            if not is_missing(error):
                raise
            raise NotFound(f"{version.name} v{version.version} is recorded, but "
                           f"s3://{self._bucket}/{version.target_key} is not in the bucket",
                           {"key": version.target_key}) from None
        members = []
        with tarfile.open(fileobj=body, mode="r|gz") as archive:
            for entry in archive:
                if entry.name.removeprefix("./").strip("/") not in ("", "."):  # the archive root is no member
                    members.append(_member(archive, entry))
        return members


def _member(archive: tarfile.TarFile, entry: tarfile.TarInfo) -> Member:
    name = entry.name.removeprefix("./")
    if not entry.isfile():
        return Member(name, "dir", 0, None)
    digest = hashlib.sha256()
    stream = archive.extractfile(entry)
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return Member(name, "file", entry.size, digest.hexdigest())
