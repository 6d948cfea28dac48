"""Reference samples in S3: a version's (from its tarball's samples/) and a model's (POST /models/{name}/samples).

Bodies live in S3, never in DynamoDB: a version record holds how many its tarball carried (keys follow from
the count: <prefix><model>/v<N>/<index>.json), a model record how many it has and their prefix. A model's set
is written under a prefix named by the hash of its bodies, then the model record points at it: a comparison
reading the set while it is replaced reads the old set or the new one, never a mix. Precedence: a version's
own samples, else its model's.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from botocore.exceptions import ClientError

from ..dynamo import is_condition_failure, to_item, to_value
from ..errors import Conflict, InvalidInput, NotFound
from ..records import ModelRecord, VersionRecord
from ..validation.samples import CONTENT_TYPE, check_bodies
from .artifacts import Artifacts, is_missing
from .store import MODELS_PK


def _key(prefix: str, index: int) -> str:
    return f"{prefix}{index:03d}.json"


class SampleStore:
    def __init__(self, artifacts: Artifacts, dynamodb, table: str, prefix: str):
        self._artifacts = artifacts
        self._db = dynamodb
        self._table = table
        self._prefix = prefix

    def version_prefix(self, name: str, version: int) -> str:
        return f"{self._prefix}{name}/v{version}/"

    def put_version(self, name: str, version: int, bodies: list[bytes]) -> None:
        """A version's samples under keys its number reserves: a retried ingest writes the same bytes again."""
        for index, body in enumerate(bodies):
            self._artifacts.put_bytes(_key(self.version_prefix(name, version), index), body, CONTENT_TYPE)

    def put_model(self, name: str, bodies: list[bytes], now: datetime) -> tuple[str, int]:
        """Replaces the model's samples (all of them, in one call); InvalidInput naming the rule, NotFound."""
        failures = check_bodies(bodies)
        if failures:
            rule, message = failures[0]
            raise InvalidInput(f"{message} (rule {rule})", {"rule": rule})
        if not bodies:
            raise InvalidInput("give at least one sample (rule samples.count)", {"rule": "samples.count"})
        digest = hashlib.sha256(b"\0".join(hashlib.sha256(body).digest() for body in bodies)).hexdigest()[:16]
        prefix = f"{self._prefix}{name}/set-{digest}/"
        for index, body in enumerate(bodies):
            self._artifacts.put_bytes(_key(prefix, index), body, CONTENT_TYPE)
        try:
            self._db.update_item(
                TableName=self._table, Key=to_item({"pk": MODELS_PK, "sk": name}),
                UpdateExpression="SET samples = :n, samples_key = :k, updated_at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":n": to_value(len(bodies)), ":k": to_value(prefix),
                                           ":now": to_value(now.isoformat())})
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            raise NotFound(f"model {name} does not exist: register a version first", {"model": name}) from None
        return prefix, len(bodies)

    def source_of(self, version: VersionRecord, model: ModelRecord | None) -> tuple[str, str | None, int]:
        """Whose samples a version is compared on: ("version"|"model"|"none", their prefix, how many)."""
        if version.samples:
            return "version", self.version_prefix(version.name, version.version), version.samples
        if model is not None and model.samples and model.samples_key:
            return "model", model.samples_key, model.samples
        return "none", None, 0

    def read(self, prefix: str, count: int) -> list[bytes]:
        """The first `count` samples under `prefix`; Conflict naming the rule when one is gone from S3."""
        try:
            return [self._artifacts.read_whole(_key(prefix, index)) for index in range(count)]
        except ClientError as error:
            if not is_missing(error):
                raise
            raise Conflict(f"the reference samples under {prefix} are no longer all in S3: set them again "
                           "(POST /models/{name}/samples) or upload the version again (rule shadow.samples_missing)",
                           {"rule": "shadow.samples_missing", "samples_key": prefix}) from None
