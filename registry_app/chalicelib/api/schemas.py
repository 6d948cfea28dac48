"""The API's request and response bodies; the OpenAPI document is generated from these models.

Requests forbid unknown fields (a typo like `expected_revison` must not silently turn a
compare-and-set into an unconditional write); responses are built from domain records by
the `of` constructors, so storage fields never leak by accident.
"""
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from .. import names
from .fields import AliasName, ExistingRevision, ModelName, PageToken, Revision, Rule, Version, integer
from ..aliases.alias_store import MAX_TARGETS, AliasChange, AliasRecord, AliasReference, AliasState, AliasTarget
from ..aliases.policy import (MAX_DIFF, MAX_K, MAX_PATTERNS, PATTERN, RATIO, THRESHOLDS, AliasPolicy, PolicyRecord,
                              Requirement, ShadowThresholds, shadow_problem)
from ..aliases.routes import Route
from ..errors import InvalidInput
from ..records import (MAX_METADATA_BYTES, MAX_REQUESTED_ALIASES, Approval, ApprovalStatus, ModelCard, ModelRecord,
                       UploadRecord, VersionRecord, metadata_bytes)
from ..versions import metadata_rules as rules
from ..versions.metadata_rules import said_metadata
from ..versions.search import check_search_tag
from ..validation.samples import MAX_SAMPLES

MAX_LIMIT = 1000
DEFAULT_LIMIT = 50
MAX_WEIGHT = 1_000_000  # relative weights: 90 and 10, 9 and 1, or 3 and 1 (a quarter) all say what they mean


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# requests -------------------------------------------------------------------
class PageQuery(Request):
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    next_token: PageToken | None = None


class DeleteAliasQuery(Request):
    expected_revision: Annotated[int, Field(ge=1, le=names.MAX_NUMBER)] | None = None


class WeightedTarget(Request):
    model: ModelName
    version: Version
    weight: integer(ge=1, le=MAX_WEIGHT, description="relative, as SageMaker's variant weights: each target gets "
                    "weight / (sum of the weights) of the traffic (90 and 10, or 9 and 1: a tenth to the second)")


# Either model + version, or targets (a null counts as absent). JSON Schema cannot compare targets by key,
# so "each version once" is stated in the description only.
_ONE_WAY = [
    {"required": ["model", "version"], "properties": {"model": {"type": "string"}, "version": {"not": {"type": "null"}},
                                                      "targets": {"type": "null"}}},
    {"required": ["targets"], "properties": {"targets": {"type": "array"}, "model": {"type": "null"},
                                             "version": {"type": "null"}}},
]


class PutAlias(Request):
    """Either `model` + `version` (a number, or "latest" to follow every new version), or weighted `targets`
    (relative weights, traffic in proportion; each version once)."""

    model_config = ConfigDict(json_schema_extra={"oneOf": _ONE_WAY})

    model: ModelName | None = None
    version: Version | Literal["latest"] | None = None
    targets: Annotated[list[WeightedTarget], Field(min_length=1, max_length=MAX_TARGETS)] | None = None
    expected_revision: Revision | None = Field(None, description="omit for an unconditional write")

    @model_validator(mode="after")
    def one_way_to_say_where(self) -> "PutAlias":
        if self.targets is None:
            if self.model is None or self.version is None:
                raise ValueError("give either 'model' and 'version', or 'targets'")
            return self
        if self.model is not None or self.version is not None:
            raise ValueError("give either 'model' and 'version', or 'targets', not both")
        if len({(t.model, t.version) for t in self.targets}) != len(self.targets):
            raise ValueError("'targets' names the same version twice")
        return self

    @property
    def follow_latest(self) -> bool:
        return self.version == "latest"

    def alias_targets(self) -> list[AliasTarget]:
        if self.targets is not None:
            return [AliasTarget(model=t.model, version=t.version, weight=t.weight) for t in self.targets]
        return [AliasTarget(model=self.model, version=0 if self.follow_latest else self.version)]


class Rollback(Request):
    expected_revision: ExistingRevision | None = None


# The limits below are stated in the document (json_schema_extra) and enforced by the rules of
# versions/metadata_rules.py, so that a 422 names the rule it broke.
URL_PATTERN = f"^[Hh][Tt][Tt][Pp][Ss]?://[\\x21-\\x7e]{{1,{rules.MAX_URL - 8}}}$"
METRIC = {"anyOf": [{"type": "number", "const": 0},
                    {"type": "number", "minimum": rules.METRIC_RANGE[0], "maximum": rules.METRIC_RANGE[1]},
                    {"type": "number", "minimum": -rules.METRIC_RANGE[1], "maximum": -rules.METRIC_RANGE[0]}]}
CardText = Annotated[str, Field(json_schema_extra={"maxLength": rules.MAX_CARD_TEXT})] | None
Metric = Annotated[float, Field(strict=True)]  # a number, not true (pydantic's lax float takes a bool)


def stated(**schema: Any) -> Any:
    """A Field whose limits the document states and a rule of metadata_rules enforces."""
    return Field(json_schema_extra=schema)


class LinkBody(Request):
    title: Annotated[str, stated(maxLength=rules.MAX_LINK_TITLE)] = ""
    url: Annotated[str, stated(pattern=URL_PATTERN, maxLength=rules.MAX_URL)]


class CardBody(Request):
    """A model card; every field optional. Besides the limits stated here, the whole card takes at most
    48 KB in UTF-8 (rule card.size)."""

    intended_use: CardText = None
    training_data: CardText = None
    metrics: Annotated[dict[str, Metric], stated(
        maxProperties=rules.MAX_METRICS, additionalProperties=False,
        patternProperties={f"^[\\s\\S]{{1,{rules.MAX_METRIC_NAME}}}$": METRIC})] = {}
    limitations: CardText = None
    owner: CardText = None
    license: CardText = None
    links: Annotated[list[LinkBody], stated(maxItems=rules.MAX_LINKS)] = []


TagKey = Annotated[str, Rule(rules.TAG_KEY_PATTERN, rules.MAX_TAG_KEY, rules.check_tag_key)]
UploadTagKey = Annotated[str, Rule(rules.UPLOAD_TAG_KEY_PATTERN, rules.MAX_TAG_KEY, rules.check_upload_tag_key)]
TagValue = Annotated[str, Rule(rules.TAG_VALUE_PATTERN, rules.MAX_TAG_VALUE, rules.check_tag_value, min_length=0)]
TAGS = f"tags, key -> value: {rules.LIMITS['tags']}"
Description = Annotated[str, Field(description=rules.LIMITS["description"],
                                   json_schema_extra={"maxLength": rules.MAX_DESCRIPTION})]


class SaysOfItself(Request):
    """What an upload or a registration says of its version (checked by versions/metadata_rules.py)."""

    description: Description = ""
    tags: Annotated[dict[UploadTagKey, TagValue], stated(maxProperties=rules.MAX_TAGS, additionalProperties=False)] \
        = Field({}, description=TAGS + " (no '=' in a key)")
    card: CardBody | None = None

    @model_validator(mode="after")
    def within_limits(self) -> "SaysOfItself":
        try:
            self.said()
        except InvalidInput as error:
            raise ValueError(error.message) from None
        return self

    def said(self) -> dict[str, str]:
        """The object metadata that carries these to the ingest (description, tags as k=v;k=v, card as JSON)."""
        return said_metadata(self.description, self.tags, self.card.model_dump() if self.card else None)


class RegisterVersion(SaysOfItself):
    source: Annotated[str, Field(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+", max_length=1100,
                                 description="s3://bucket/key of a .tar.gz")]
    aliases: Annotated[list[AliasName], Field(max_length=MAX_REQUESTED_ALIASES)] = []
    metadata: Annotated[dict[Annotated[str, Field(max_length=128)], Annotated[str, Field(max_length=1024)]],
                        Field(max_length=32, description=f"at most {MAX_METADATA_BYTES} bytes of keys and values "
                                                         "(UTF-8), as S3 allows an object's user metadata")] = {}

    @model_validator(mode="after")
    def metadata_fits(self) -> "RegisterVersion":
        if metadata_bytes(self.metadata) > MAX_METADATA_BYTES:
            raise ValueError(f"'metadata' takes {metadata_bytes(self.metadata)} bytes (keys and values, UTF-8); "
                             f"a version keeps at most {MAX_METADATA_BYTES}, as S3 allows an object's user metadata")
        return self

    @classmethod
    def sourced_from(cls, pattern: str) -> "type[RegisterVersion]":
        """This body as one deployment reads it: `source` documented with the registrar's own rule."""
        source = Annotated[str, Field(max_length=1100, description="s3://bucket/key of a .tar.gz",
                                      json_schema_extra={"pattern": pattern})]
        return create_model(cls.__name__, __base__=cls, __doc__=cls.__doc__, source=(source, ...))


class RequestUpload(SaysOfItself):
    """Description, tags and card travel as the object's metadata, which S3 keeps as printable ASCII headers of
    at most 2,048 bytes in all, with the aliases and the caller (rule upload.metadata_size); the card as ASCII JSON."""

    description: Annotated[str, Field(description="printable ASCII (S3 metadata)"), stated(
        maxLength=rules.MAX_DESCRIPTION, pattern="^[\\x20-\\x7e]*$")] = ""
    aliases: Annotated[list[AliasName], Field(max_length=MAX_REQUESTED_ALIASES)] = []
    expires_in: integer(ge=60, le=43200, description="seconds the link stays valid") = 3600


class PatchVersion(Request):
    """Only the fields given change: `tags` is a patch (a null value removes the key), `card` replaces the card."""

    description: Description | None = None
    tags: Annotated[dict[TagKey, TagValue | None], stated(additionalProperties=False)] | None = Field(
        None, description=TAGS + "; null removes a key")
    card: CardBody | None = None
    expected_revision: integer(ge=0, le=names.MAX_NUMBER, description="the metadata_revision the caller read")


class PutApproval(Request):
    status: ApprovalStatus
    reason: Annotated[str, stated(maxLength=rules.MAX_REASON)] | None = None


Pattern = Annotated[str, Field(pattern=PATTERN, description="an IAM ARN; `*` matches any run of characters")]


class ShadowBody(Request):
    """The shadow gate's thresholds as a request states them (numbers only, no true/false); each optional."""

    min_top1_agreement: Annotated[float, Field(strict=True, ge=0, le=1)] | None = Field(
        None, description="share of samples whose best class agrees (kept to 6 decimals)")
    min_topk_overlap: Annotated[float, Field(strict=True, ge=0, le=1)] | None = Field(
        None, description="mean share of the k best classes in common (kept to 6 decimals)")
    k: integer(ge=1, le=MAX_K, description="the k of min_topk_overlap") = 5
    max_abs_diff: Annotated[float, Field(strict=True, ge=0, le=MAX_DIFF)] | None = Field(
        None, description="largest absolute difference of any output number (kept to 12 decimals)")
    max_latency_ratio: Annotated[float, Field(strict=True, ge=RATIO[0], le=RATIO[1])] | None = Field(
        None, description="candidate's median latency / incumbent's")
    samples: integer(ge=1, le=MAX_SAMPLES, description="at most this many samples are sent to each") = 50


# require "shadow" needs a `shadow` with at least one threshold (rule policy.shadow_thresholds), said in the schema
_SHADOW_NEEDS_A_THRESHOLD = {
    "if": {"required": ["require"], "properties": {"require": {"contains": {"const": "shadow"}}}},
    "then": {"required": ["shadow"], "properties": {"shadow": {"type": "object", "anyOf": [
        {"required": [name], "properties": {name: {"type": "number"}}} for name in THRESHOLDS]}}},
}


class PutPolicy(Request):
    """Who may move the alias (and change its policy), and what a target version must have."""

    model_config = ConfigDict(json_schema_extra={"allOf": [_SHADOW_NEEDS_A_THRESHOLD]})

    movers: Annotated[list[Pattern], Field(max_length=MAX_PATTERNS)] = Field(
        [], description="empty: anyone who may call the API")
    approvers: Annotated[list[Pattern], Field(max_length=MAX_PATTERNS)] = Field(
        [], description="with `approved`: whose approval counts (empty: anyone's)")
    require: list[Requirement] = Field([], description="approved: every target Approved; warmed: every target "
                                                       "has a successful warm-up recorded; shadow: a new target "
                                                       "meets `shadow` beside the current ones")
    shadow: ShadowBody | None = Field(None, description="the shadow gate's thresholds (at least one with "
                                                        "require shadow)")
    expected_revision: integer(ge=0, le=names.MAX_NUMBER, description="the policy's revision the caller read; "
                                                                      "0: the alias has no policy yet") | None = None

    @model_validator(mode="after")
    def shadow_has_a_threshold(self) -> "PutPolicy":
        problem = shadow_problem(self.require, ShadowThresholds(**self.shadow.model_dump()) if self.shadow else None)
        if problem:
            raise ValueError(problem)
        return self

    def policy(self) -> AliasPolicy:
        shadow = ShadowThresholds(**self.shadow.model_dump()) if self.shadow else None
        return AliasPolicy(movers=self.movers, approvers=self.approvers, require=list(dict.fromkeys(self.require)),
                           shadow=shadow)


class PolicyQuery(Request):
    expected_revision: Annotated[int, Field(ge=1, le=names.MAX_NUMBER)] | None = None


MAX_SEARCH_TAGS = 10
SearchTag = Annotated[str, Field(description="key:value"), Rule("^[^:]+:[\\s\\S]*$", 400, check_search_tag, 2)]
SearchTags = Annotated[list[SearchTag], Field(max_length=MAX_SEARCH_TAGS, description="key:value (split at the "
                                              "first colon); repeat to require every one")]


class SearchModels(PageQuery):
    tag: SearchTags = []
    framework: Literal["mxnet", "tensorflow"] | None = None
    q: Annotated[str, Field(max_length=200)] | None = Field(None, description="part of the model's name, any case")


class SearchVersions(PageQuery):
    tag: SearchTags = []
    approval: ApprovalStatus | None = None


# responses ------------------------------------------------------------------
class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. not_found, conflict, invalid_input")
    message: str
    details: dict[str, Any] = {}


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    endpoint: str = Field(description="the MXNet endpoint (REGISTRY_ENDPOINT)")
    endpoints: dict[str, str | None] = Field(description="framework -> the endpoint serving it (null: none)")


class TargetView(BaseModel):
    model: str
    version: int
    weight: int
    target_model: str = Field(description="the SageMaker TargetModel, e.g. resnet_18_v2.tar.gz")

    @classmethod
    def of(cls, target: AliasTarget) -> "TargetView":
        return cls(model=target.model, version=target.version, weight=target.weight,
                   target_model=names.target_model(target.model, target.version))


class RoutedTargetView(TargetView):
    framework: Literal["mxnet", "tensorflow"]
    endpoint: str | None = Field(description="the endpoint to invoke this target on (null in a listing when no "
                                             "endpoint serves its framework)")

    @classmethod
    def routed(cls, target: AliasTarget, route: Route) -> "RoutedTargetView":
        return cls(**TargetView.of(target).model_dump(), framework=route.framework, endpoint=route.endpoint)


class PolicyView(BaseModel):
    alias: str
    policy: AliasPolicy
    revision: int
    actor: str | None
    at: datetime

    @classmethod
    def of(cls, record: PolicyRecord) -> "PolicyView":
        return cls(**record.model_dump())


class AliasView(BaseModel):
    """`model`, `version`, `target_model` and `endpoint` name the heaviest target; `targets` lists them all,
    each with the endpoint serving its framework (a weighted alias may span two endpoints)."""

    alias: str
    model: str
    version: int
    target_model: str
    endpoint: str | None
    revision: int
    updated_at: datetime
    updated_by: str | None
    tracks_latest: bool
    targets: list[RoutedTargetView]
    policy: AliasPolicy | None = Field(None, description="who may move it and what a target must have (GET "
                                                         "/aliases/{alias}; null: none, or a listing)")

    @classmethod
    def of(cls, record: AliasRecord, routes: list[Route]) -> "AliasView":
        targets = [RoutedTargetView.routed(t, route) for t, route in zip(record.targets, routes, strict=True)]
        main = max(targets, key=lambda t: t.weight)
        return cls(alias=record.alias, model=main.model, version=main.version, target_model=main.target_model,
                   endpoint=main.endpoint, revision=record.revision, updated_at=record.updated_at,
                   updated_by=record.updated_by, tracks_latest=record.tracks_latest, targets=targets)


class AliasList(BaseModel):
    items: list[AliasView]
    next_token: str | None


class StateView(BaseModel):
    targets: list[TargetView]
    tracks_latest: bool

    @classmethod
    def of(cls, state: AliasState | None) -> "StateView | None":
        if state is None:
            return None
        return cls(targets=[TargetView.of(t) for t in state.targets], tracks_latest=state.tracks_latest)


class ChangeView(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    revision: int
    action: Literal["create", "update", "follow", "rollback", "delete", "rollout"]
    from_: StateView | None = Field(alias="from", description="null when this change created the alias")
    to: StateView | None = Field(description="null when this change deleted the alias")
    at: datetime
    by: str | None
    reason: str | None = Field(None, description="action rollout: which rollout, and its step or breach (`by` is "
                                                 "who started the rollout)")

    @classmethod
    def of(cls, change: AliasChange) -> "ChangeView":
        return cls(revision=change.revision, action=change.action, from_=StateView.of(change.before),
                   to=StateView.of(change.after), at=change.at, by=change.by, reason=change.reason)


class ChangeList(BaseModel):
    alias: str
    items: list[ChangeView]
    next_token: str | None


class VersionView(BaseModel):
    name: str
    version: int
    target_model: str
    target_key: str
    sha256: str
    size: int
    unpacked_size: int | None = Field(None, description="bytes its files unpack to (null: recorded before it was)")
    framework: Literal["mxnet", "tensorflow"] = Field(description="decided by its layout; which endpoint serves it")
    input_shapes: list[dict[str, Any]] | None = Field(description='MXNet: its shapes.json; TensorFlow: the '
                                                      'serving_default inputs, {"name", "dtype", "shape"} (-1: any)')
    outputs: list[dict[str, Any]] | None = Field(None, description="TensorFlow: the serving_default outputs")
    labels_count: int | None
    source_key: str
    created_at: datetime
    uploader: str | None = Field(description="who uploaded it, as S3 or the API verified")
    claimed_uploader: str | None = Field(default=None, description="x-amz-meta-uploader as typed (unverified)")
    metadata: dict[str, str]
    status: str
    description: str
    tags: dict[str, str]
    card: ModelCard
    approval: Approval
    metadata_revision: int = Field(description="send it as expected_revision to change description, tags or card")
    warmed_at: datetime | None = Field(None, description="when a warm-up invoke last succeeded")
    warmup_seconds: float | None = Field(None, description="how long that warm-up took (download, load, invoke)")

    @classmethod
    def of(cls, record: VersionRecord) -> "VersionView":
        return cls(**record.model_dump(include=set(cls.model_fields)))


class VersionList(BaseModel):
    items: list[VersionView]
    next_token: str | None


class HistoryEntry(BaseModel):
    revision: int
    at: datetime
    actor: str | None
    kind: Literal["metadata", "approval"]
    change: dict[str, Any]


class HistoryList(BaseModel):
    entries: list[HistoryEntry]
    next_token: str | None


class Registration(BaseModel):
    outcome: Literal["accepted", "unchanged"]
    message: str | None
    event_id: str = Field(description="the registration's upload record: GET /models/{name}/uploads/{event_id}")
    version: VersionView
    aliases: dict[str, str] = Field(description="requested or following alias -> what happened to it")


class ModelSummary(BaseModel):
    name: str
    latest_version: int | None
    versions: int = Field(description="version numbers handed out so far (1..versions)")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: ModelRecord) -> "ModelSummary":
        return cls(name=record.name, latest_version=record.latest_version, versions=record.next_version,
                   created_at=record.created_at, updated_at=record.updated_at)


class ModelList(BaseModel):
    items: list[ModelSummary]
    next_token: str | None


class AliasPointer(BaseModel):
    alias: str
    versions: list[int]
    tracks_latest: bool

    @classmethod
    def of(cls, reference: AliasReference) -> "AliasPointer":
        return cls(alias=reference.alias, versions=reference.versions, tracks_latest=reference.tracks_latest)


class ModelDetail(ModelSummary):
    latest: VersionView | None
    aliases: list[AliasPointer] = Field(description="aliases pointing at versions of this model (the first 100)")
    aliases_next_token: str | None = Field(None, description="more aliases: GET /models/{name}/aliases?next_token=")


class AliasPointerList(BaseModel):
    items: list[AliasPointer]
    next_token: str | None


class UploadView(BaseModel):
    outcome: Literal["accepted", "unchanged", "rejected", "superseded", "failed", "queued"] = Field(
        description="failed: every delivery failed and the upload waits in the dead-letter queue; "
                    "queued: a large registration the ingest handler has not finished yet")
    version: int | None = Field(description="the version it became (accepted)")
    equals_version: int | None = Field(description="the version it is identical to (unchanged)")
    rules: list[str] = Field(description="the rule ids it broke (rejected)")
    failures: list[dict[str, str]] = Field(description="each broken rule with a sentence saying what to fix")
    rejected_key: str | None
    report_key: str | None
    message: str | None
    aliases: dict[str, str]
    warmup: str | None = Field(description="how the warm-up invoke went, when one ran")
    source_key: str
    source_etag: str
    started_at: datetime
    finished_at: datetime
    event_id: str = Field(description="the upload's id: GET /models/{name}/uploads/{event_id}")
    error: str | None = Field(None, description="the last fault (failed)")
    attempts: int | None = Field(None, description="deliveries it was given (failed)")

    @classmethod
    def of(cls, record: UploadRecord) -> "UploadView":
        return cls(**record.model_dump(include=set(cls.model_fields)))


class UploadList(BaseModel):
    items: list[UploadView]
    next_token: str | None


class UploadLink(BaseModel):
    url: str
    method: Literal["PUT"]
    bucket: str
    key: str
    headers: dict[str, str] = Field(description="send exactly these headers with the PUT: they are signed")
    expires_at: datetime


class WarmupRun(BaseModel):
    """What a re-run warm-up did: whether the version answered, and the aliases its upload requested."""

    name: str
    version: int
    ok: bool
    warmup: str = Field(description='"ok in 1.23 s" or "failed: <why>"')
    aliases: dict[str, str] = Field(description="requested or following alias -> what happened to it")


class MemberView(BaseModel):
    name: str
    kind: Literal["file", "dir"]
    size: int
    sha256: str | None = Field(description="SHA-256 of the member's bytes (files only)")


class MemberList(BaseModel):
    """A version's tarball, member by member, in archive order."""

    name: str
    version: int
    items: list[MemberView]


class EndpointView(BaseModel):
    framework: str = Field(description="what the endpoint's container serves, e.g. mxnet")
    name: str = Field(description="the SageMaker endpoint name")


class EndpointList(BaseModel):
    items: list[EndpointView]
