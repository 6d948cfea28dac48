"""The registry's domain records: what a model, a version and an upload outcome are."""
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ModelRecord(BaseModel):
    name: str
    latest_version: int | None = None
    # The last number handed out; versions are numbered 1..next_version with no gaps.
    next_version: int = 0
    # The SHA-256 of the bytes the last number went to: "identical to the latest" is decided against it.
    last_sha256: str | None = None
    created_at: datetime
    updated_at: datetime


class VersionRecord(BaseModel):
    name: str
    version: int
    target_key: str = Field(description="S3 key under the endpoint's models/ prefix")
    target_model: str = Field(description="The SageMaker TargetModel, e.g. resnet_18_v2.tar.gz")
    sha256: str
    size: int
    # Its archive's layout decides it, and so which endpoint serves it. Stored as `framework`; records written
    # before it had that name say `layout`, and still read.
    framework: Literal["mxnet", "tensorflow"] = Field(validation_alias=AliasChoices("framework", "layout"))
    # MXNet: its shapes.json; TensorFlow: serving_default's inputs ({"name", "dtype", "shape"}, -1 unknown).
    input_shapes: list[dict[str, Any]] | None = None
    outputs: list[dict[str, Any]] | None = Field(default=None, description="TensorFlow: serving_default's outputs")
    labels_count: int | None = None
    source_key: str
    source_etag: str
    event_id: str
    created_at: datetime
    uploader: str | None = Field(default=None, description="the verified actor: S3 event principal or API caller")
    claimed_uploader: str | None = Field(default=None, description="x-amz-meta-uploader as typed: a note, not an actor")
    requested_aliases: list[str] = Field(default_factory=list, description="aliases its upload asked to move")
    metadata: dict[str, str] = Field(default_factory=dict)
    status: Literal["active", "retired"] = "active"
    # When an alias last pointed at (or moved away from) this version; retirement counts its grace from here.
    last_referenced_at: datetime | None = None
    retired_at: datetime | None = None


UploadOutcome = Literal["accepted", "unchanged", "rejected", "superseded", "failed", "queued"]
# Not outcomes yet: `failed` (every delivery failed; the message is in the dead-letter queue) and `queued`
# (a REST registration waiting for the ingest handler). A later run replaces either with a real outcome.
PENDING_OUTCOMES = ("failed", "queued")


class UploadRecord(BaseModel):
    """What became of one drop-folder upload (or one REST registration)."""

    name: str
    event_id: str
    source_key: str
    source_etag: str
    outcome: UploadOutcome
    version: int | None = None
    equals_version: int | None = None
    rules: list[str] = Field(default_factory=list)
    failures: list[dict[str, str]] = Field(default_factory=list, description="rule id and sentence of each failure")
    rejected_key: str | None = None
    report_key: str | None = None
    message: str | None = None
    aliases: dict[str, str] = Field(default_factory=dict, description="requested alias -> what happened to it")
    warmup: str | None = Field(default=None, description="how the warm-up invoke went, when one ran")
    started_at: datetime
    finished_at: datetime
    error: str | None = Field(default=None, description="the last fault of a failed upload")
    attempts: int | None = Field(default=None, description="deliveries a failed upload was given")

    @property
    def final(self) -> bool:
        """True once a run finished it; a failed or queued record still waits for one."""
        return self.outcome not in PENDING_OUTCOMES
