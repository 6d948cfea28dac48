"""The registry's domain records: what a model, a version and an upload outcome are, and how large each may be."""
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field

KB = 1024
# Every record the registry writes has a budget: the most bytes its item may take as DynamoDB counts them
# (dynamo.item_size), well under DynamoDB's 400 KB item limit. The rules on each record's inputs keep it
# there, or refuse the input before a version number is reserved (DESIGN invariant 10). The change events
# of the outbox are budgeted in outbox/. tests/integration/test_record_budgets.py drives each to its largest.
BUDGETS = {
    # Up to ~64 KB of signature (the validator's bounds make at most 22 KB of it), metadata (2 KB), the longest
    # name and keys, 10 requested aliases, the uploader's ARN (IAM: 2,048) and the stamps written later.
    # With what people say of it: a 1,024-character description, 50 tags (19 KB), a model card (48 KB) and an
    # approval (reason 1,024 characters, the approver's ARN): 150 KB at most, still well under 400 KB.
    "version": 160 * KB,
    "version_history": 80 * KB,  # one metadata or approval change: the new description, tag changes, card
    "tag_index": 2 * KB,  # one (tag, version) index item: the key, the value, the model's name, the framework
    "alias_policy": 48 * KB,  # 10 movers and 10 approvers of 2,048 characters each, the writer's ARN
    # Sentences, failures and alias outcomes are cut on the record (UploadRecord.fitted); the report beside a
    # rejected upload keeps them whole.
    "upload": 96 * KB,
    "claim": 8 * KB,  # ids, stamps, the S3 version id (1,024) and the last error (1,000 characters)
    "alias": 12 * KB,  # 10 targets of 200-character model names, the writer's ARN (2,048)
    "alias_history": 24 * KB,  # a change: the targets before and after, who, which upload
    # A rollout (rollouts/state.py): two targets, 10 steps, a decision of each with its numbers and reason (an
    # ARN in a cancel's), the last wait, the starter's ARN, the last error cut to MAX_RECORDED_BYTES.
    "rollout": 24 * KB,
    # One shadow comparison (aliases/shadow.py): two version keys, the alias, the numbers, the thresholds, the
    # actor's ARN (2,048) and at most MAX_RECORDED_BYTES of failures.
    "shadow_comparison": 8 * KB,
}
MAX_METADATA_BYTES = 2048  # a version's metadata, keys and values in UTF-8: what S3 allows an object's user metadata
MAX_REQUESTED_ALIASES = 10  # aliases one upload may ask to move (x-amz-meta-alias, a registration's `aliases`)
MAX_RECORDED_BYTES = 2000  # a message kept on a record (UTF-8)
MAX_RECORDED_ITEM_BYTES = 600  # one failure's sentence, or what happened to one alias
MAX_RECORDED_ENTRIES = 40  # failures and alias outcomes kept on one upload record; the rest are counted


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def metadata_bytes(metadata: dict[str, str]) -> int:
    return sum(len(key.encode()) + len(value.encode()) for key, value in metadata.items())


def shortened(text: str | None, limit: int) -> str | None:
    """`text` cut to `limit` bytes of UTF-8 (what DynamoDB counts), saying how many more characters there were."""
    if text is None or len(text.encode()) <= limit:
        return text
    kept = text.encode()[:limit].decode(errors="ignore")
    return f"{kept}… ({len(text) - len(kept):,} more characters)"


class CardLink(BaseModel):
    title: str = ""
    url: str


class ModelCard(BaseModel):
    """What a version is for and how it was judged (SageMaker's model card, in short); every field optional."""

    intended_use: str | None = None
    training_data: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict, description="evaluation metric name -> number")
    limitations: str | None = None
    owner: str | None = None
    license: str | None = None
    links: list[CardLink] = Field(default_factory=list, description="the training run, the commit, a report")


ApprovalStatus = Literal["PendingManualApproval", "Approved", "Rejected"]


class Approval(BaseModel):
    status: ApprovalStatus = "PendingManualApproval"
    reason: str | None = None
    actor: str | None = Field(default=None, description="the verified caller who set it")
    at: datetime | None = None


class ModelRecord(BaseModel):
    name: str
    latest_version: int | None = None
    # The last number handed out; versions are numbered 1..next_version with no gaps.
    next_version: int = 0
    # The SHA-256 of the bytes the last number went to, and the upload (event) it went to: "identical" is said
    # of that number only once its version is recorded (DESIGN invariant 11).
    last_sha256: str | None = None
    last_event_id: str | None = None
    # The SHA-256 of the latest version's bytes, moved with latest_version: "identical to the latest" without
    # reading that version. Absent on models whose latest version was recorded before it was kept.
    latest_sha256: str | None = None
    # False: no alias has ever followed this model's latest version, so an upload needs not look for followers.
    # Set when an alias starts following it (alias_store); absent (unknown) on models created before it was kept.
    followed: bool | None = None
    created_at: datetime
    updated_at: datetime
    # The model's reference samples (POST /models/{name}/samples): how many, and their S3 prefix; a version
    # with none of its own is compared on these.
    samples: int = 0
    samples_key: str | None = None


class VersionRecord(BaseModel):
    name: str
    version: int
    target_key: str = Field(description="S3 key under the endpoint's models/ prefix")
    target_model: str = Field(description="The SageMaker TargetModel, e.g. resnet_18_v2.tar.gz")
    sha256: str
    size: int
    unpacked_size: int | None = Field(default=None, description="bytes its files unpack to (what a loaded model's "
                                      "memory is estimated from); None in records written before it was kept")
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
    # What people say of it (versions/metadata.py), changed by compare-and-set on metadata_revision; records
    # written before these fields read with the defaults.
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    card: ModelCard = Field(default_factory=ModelCard)
    approval: Approval = Field(default_factory=Approval)
    metadata_revision: int = 0
    warmed_at: datetime | None = Field(default=None, description="when a warm-up invoke last succeeded")
    warmup_seconds: float | None = Field(default=None, description="how long that warm-up took: its download, load "
                                         "and first invoke, what `mme-registry plan` fits load times on")
    samples: int = Field(default=0, description="reference samples its tarball carried (samples/*.json), in S3")


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

    def fitted(self) -> "UploadRecord":
        """This record within its budget whatever its inputs: sentences cut, and past MAX_RECORDED_ENTRIES
        failures or alias outcomes only counted in the message (the rejection report keeps every failure)."""
        failures = [{k: shortened(v, MAX_RECORDED_ITEM_BYTES) for k, v in failure.items()}
                    for failure in self.failures[:MAX_RECORDED_ENTRIES]]
        aliases = {alias: shortened(outcome, MAX_RECORDED_ITEM_BYTES)
                   for alias, outcome in list(self.aliases.items())[:MAX_RECORDED_ENTRIES]}
        notes = [f"{count:,} more {what} not listed here" for count, what in (
            (len(self.failures) - len(failures), "failures (see the report)"),
            (len(self.aliases) - len(aliases), "aliases followed this version (see GET /aliases)")) if count > 0]
        said = [shortened(self.message, MAX_RECORDED_BYTES)] if self.message else []
        message = "; ".join(said + notes) or None
        return self.model_copy(update={
            "failures": failures, "aliases": aliases, "message": message, "rules": self.rules[:MAX_RECORDED_ENTRIES],
            "warmup": shortened(self.warmup, MAX_RECORDED_ITEM_BYTES),
            "error": shortened(self.error, MAX_RECORDED_BYTES)})
