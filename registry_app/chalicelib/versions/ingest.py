"""The ingest use case: one upload becomes exactly one version, one "unchanged", or one rejection.

Safe to run any number of times for the same S3 object version: the event is claimed
once; what a crashed run reserved (its start stamp, its version number) is inherited
by the retry, so every write lands on the same keys; the upload is deleted from the
drop folder only after its outcome is recorded.
"""
import logging
from datetime import datetime
from dataclasses import dataclass, field, replace
from typing import Callable

from .. import names
from .artifacts import EVENT_METADATA, Artifacts, ObjectInfo, SourceChanged
from .claims import Claim, ClaimStore
from ..errors import InvalidInput, ValidationFailed
from ..events import S3Upload
from ..frameworks import Endpoints
from ..records import BUDGETS, MAX_REQUESTED_ALIASES, ModelCard, UploadRecord, VersionRecord, utcnow
from ..settings import Settings
from .reference_samples import SampleStore
from .store import UNREAD, IdenticalToLatest, RegistryStore, version_item_size
from ..validation import Limits, RuleFailure, ValidationReport, human_size, validate_stream
from .metadata_rules import (CARD_METADATA, DESCRIPTION_METADATA, TAGS_METADATA, check_card, check_description,
                             parse_card, parse_tags_header)
from .warmup import warm_version

log = logging.getLogger(__name__)

ALIAS_METADATA = "alias"
UPLOADER_METADATA = "uploader"
ACTOR_METADATA = "registry-actor"  # the caller the API signed into a presigned upload (uploads.py)
WARMUP_METADATA = "warmup"
UNNAMED = "invalid-names"  # the model name under which uploads whose key gives no valid name are parked


@dataclass(frozen=True)
class Source:
    """One object to ingest, from the drop folder (owned: moved away afterwards) or named by a REST call."""

    name: str
    upload: S3Upload
    owned: bool
    aliases: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    uploader: str | None = None  # the verified actor: the S3 event's principal or the API caller
    claimed_uploader: str | None = None  # what the uploader typed (x-amz-meta-uploader), kept as a note only
    version_hint: int | None = None
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    card: ModelCard = field(default_factory=ModelCard)
    said_error: InvalidInput | None = None  # what the upload says of itself breaks a rule: rejected before a number


def with_said(source: Source) -> Source:
    """The description, tags and card taken out of the upload's metadata and checked by their rules."""
    keys = (DESCRIPTION_METADATA, TAGS_METADATA, CARD_METADATA)
    said = {k: source.metadata[k] for k in keys if k in source.metadata}
    if not said:
        return source
    rest = {k: v for k, v in source.metadata.items() if k not in said}
    try:
        description = check_description(said.get(DESCRIPTION_METADATA, ""))
        tags = parse_tags_header(said.get(TAGS_METADATA, ""))
        card = ModelCard(**check_card(parse_card(said[CARD_METADATA]))) if CARD_METADATA in said else ModelCard()
    except InvalidInput as error:
        return replace(source, metadata=rest, said_error=error)
    return replace(source, metadata=rest, description=description, tags=tags, card=card)


def rest_upload(name: str, bucket: str, key: str, info: ObjectInfo, actor: str | None) -> S3Upload:
    """A REST registration's identity; the sequencer slot keeps it apart from a drop-folder event of the same object."""
    return S3Upload(bucket=bucket, key=key, etag=info.etag, size=info.size, principal=actor, sequencer=f"rest:{name}")


class Ingestor:
    def __init__(self, store: RegistryStore, claims: ClaimStore, artifacts: Artifacts, settings: Settings,
                 aliases=None, runtime=None, clock: Callable = utcnow):
        """`aliases` moves aliases after a version is accepted; `runtime` (a sagemaker-runtime client) warms it first."""
        self._store = store
        self._claims = claims
        self._artifacts = artifacts
        self._settings = settings
        self._aliases = aliases
        self._runtime = runtime
        self._clock = clock
        self._limits = Limits.from_settings(settings)
        # Ingest only writes a version's samples (S3); the model-level set is the API's (no table needed here).
        self._samples = SampleStore(artifacts, None, settings.table, settings.samples_prefix)

    # entry points -----------------------------------------------------------
    def ingest(self, upload: S3Upload) -> UploadRecord | None:
        """Handles one drop-folder notification; None when it was already handled or is not ours."""
        if upload.bucket != self._artifacts.bucket or not upload.key.startswith(self._settings.incoming_prefix):
            log.info("ignoring s3://%s/%s: not in the drop folder", upload.bucket, upload.key)
            return None
        try:
            parsed = names.parse_incoming_key(upload.key, self._settings.incoming_prefix)
            source = Source(parsed.model, upload, owned=True, version_hint=parsed.version_hint)
        except InvalidInput as error:
            source = Source(UNNAMED, upload, owned=True)
            return self._run(source, name_error=error)
        return self._run(source)

    def register(self, name: str, bucket: str, key: str, aliases: list[str], metadata: dict[str, str],
                 actor: str | None) -> tuple[UploadRecord, VersionRecord | None]:
        """REST registration: the same path, synchronously; the caller's object stays where it is."""
        name = names.validate_model_name(name)
        upload = rest_upload(name, bucket, key, self._artifacts.require(key, bucket), actor)
        source = Source(name, upload, owned=False, aliases=aliases, metadata=metadata, uploader=actor)
        record = self._run(source)
        if record is None:  # the same registration already ran: answer what it produced
            record = self._recorded(source, self._claims.get(upload.event_id))
        if record.outcome == "rejected":
            raise ValidationFailed(record.message or "the tarball failed validation",
                                   {"rules": record.rules, "failures": record.failures})
        version = record.version or record.equals_version
        return record, self._store.get_version(name, version) if version else None

    def run_registration(self, name: str, upload: S3Upload, aliases: list[str], metadata: dict[str, str],
                         actor: str | None) -> UploadRecord | None:
        """A queued REST registration (deferred.py): register()'s run, answered through its upload record."""
        source = Source(name, upload, owned=False, aliases=aliases, metadata=metadata, uploader=actor)
        return self._run(source)

    # the run ----------------------------------------------------------------
    def _run(self, source: Source, name_error: InvalidInput | None = None) -> UploadRecord | None:
        claim = self._claims.claim(source.upload.event_id, self._clock())
        if claim is None:
            log.info("event %s was already handled", source.upload.event_id)
            return None
        try:
            record = self._process(source, claim, name_error)
        except BaseException:
            self._claims.release(claim, self._clock())
            raise
        self._claims.complete(claim, record.outcome, self._clock())
        return record

    def _process(self, source: Source, claim: Claim, name_error: InvalidInput | None) -> UploadRecord:
        if claim.taken_over:  # a crashed run may have recorded the outcome; only the clean-up may be missing
            done = self._store.get_upload(source.name, claim.started_at, claim.event_id)
            if done is not None and done.final:
                self._discard(source)
                return done
        upload, reserved = source.upload, claim.reserved_version is not None
        # Once this event holds a version number, the number is delivered from the object version it was
        # reserved for (an overwrite leaves that version readable): numbers never go unused. Before that, an
        # object replaced since its notification is superseded, and the newer upload's own event handles it.
        try:
            info, stream = self._artifacts.read(upload.key, upload.etag, upload.bucket,
                                                claim.source_version if reserved else None)
        except SourceChanged:
            if reserved:
                return self._deliver_copy(source, claim)
            return self._finish(source, claim, "superseded",
                                message="the object was replaced or deleted before it was processed")
        source = with_said(self._with_object_metadata(source, info))
        report = self._validate(stream, name_error)
        if not report.valid:
            return self._reject(source, claim, report)
        if reserved:  # a number this event already holds is always delivered
            return self._accept(source, claim, info, report)
        model = self._store.get_model(source.name)  # read once: the latest's bytes, the counter, its followers
        same = self._store.identical_latest(model, report.sha256)
        if same is not None:
            return self._finish(source, claim, "unchanged", equals_version=same,
                                message=f"identical to v{same}: no new version")
        return self._accept(source, claim, info, report, model=model)

    def _deliver_copy(self, source: Source, claim: Claim) -> UploadRecord:
        """The object version this event holds a number for is gone (deleted with its VersionId). If this event
        already copied it under models/, that copy is the version: record it, so the key is no orphan and the
        number is delivered. Otherwise the upload is superseded and its number stays unused (no one else's)."""
        target_key = names.target_key(source.name, claim.reserved_version, self._settings.models_prefix)
        try:
            copy, stream = self._artifacts.read(target_key, None)
        except SourceChanged:
            copy = stream = None
        if copy is None or copy.metadata.get(EVENT_METADATA) != source.upload.event_id:
            if stream is not None:
                stream.close()
            return self._finish(source, claim, "superseded",
                                message="the object was replaced or deleted before it was processed")
        report = self._validate(stream, None)
        if not report.valid:  # only if the limits changed since the copy was validated
            return self._finish(source, claim, "superseded", message="the object was deleted before it was "
                                f"recorded, and its copy {target_key} no longer validates")
        note = "its object version was deleted after it was copied: recorded from the copy"
        if source.owned:  # the object's metadata went with it
            source = replace(source, uploader=source.upload.principal)
            note += "; the aliases it asked for are unknown"
        return self._accept(source, claim, copy, report, note=note)

    def _validate(self, stream, name_error: InvalidInput | None) -> ValidationReport:
        try:
            report = validate_stream(stream, self._limits)
        finally:
            stream.close()
        if name_error is not None:
            failure = RuleFailure(rule="name.invalid", message=name_error.message)
            report = report.with_failure(failure)
        return report

    def _accept(self, source: Source, claim: Claim, info: ObjectInfo, report: ValidationReport,
                note: str | None = None, model=UNREAD) -> UploadRecord:
        """Reserves a number, copies the bytes under it, records the version; then warms it and moves the aliases
        it concerns, if any, before recording the upload. `model` is the model as _process read it."""
        upload = source.upload
        refusal = self._unrecordable(source, claim, report)
        if refusal is not None:
            return self._reject(source, claim, report.with_failure(refusal))
        try:
            version = self._store.reserve_version(source.name, claim, self._claims, self._clock(), report.sha256,
                                                  info.version_id, model=model)
        except IdenticalToLatest as same:  # an identical upload took the number first
            return self._finish(source, claim, "unchanged", equals_version=same.version,
                                message=f"identical to v{same.version}: no new version")
        claim = replace(claim, reserved_version=version, source_version=info.version_id)
        record = self._version_record(source, claim, version, report)
        self._artifacts.copy_once(info, record.target_key, upload.event_id,
                                  {"model": source.name, "version": str(version), "sha256": report.sha256},
                                  source_bucket=upload.bucket)
        if report.samples:  # before the record that counts them: a version never names samples not yet in S3
            self._samples.put_version(source.name, version, [sample.body for sample in report.samples])
        message = f"registered as v{version}" + (f" ({note})" if note else "")
        if source.version_hint is not None and source.version_hint != version:
            message += f" (the file name suggested v{source.version_hint}; the registry numbers versions itself)"
        if self._nothing_follows(source, model, report):  # the upload's record goes in the version's transaction
            done = self._outcome(source, claim, "accepted", version=version, message=message)
            if self._store.record_version(record, self._clock(), done, unfollowed=self._aliases is not None):
                self._discard(source)
                return done
        self._store.record_version(record, self._clock())
        warmup = self._warm(source, version, report)
        if warmup is not None and not warmup.ok:
            held = {alias: "not moved: the warm-up failed" for alias in source.aliases}
            message += f"; the warm-up failed, so no alias moved: {warmup.error}"
            return self._finish(source, claim, "accepted", version=version, aliases=held, message=message,
                                warmup=f"failed: {warmup.error}")
        if warmup is not None:
            self._store.mark_warmed(source.name, version, self._clock(), warmup.seconds)
        aliases = self._move_aliases(source, record)
        return self._finish(source, claim, "accepted", version=version, aliases=aliases, message=message,
                            warmup=f"ok in {warmup.seconds:.2f} s" if warmup else None)

    def _nothing_follows(self, source: Source, model, report: ValidationReport) -> bool:
        """No warm-up and no alias to move: asked for none, and the model as read had no follower (a new model
        has none). record_version holds the model to that, or says a follower appeared."""
        if source.aliases or self._wants_warmup(source, report):
            return False
        return self._aliases is None or model is None or (model is not UNREAD and model.followed is False)

    def _version_record(self, source: Source, claim: Claim, version: int, report: ValidationReport) -> VersionRecord:
        upload = source.upload
        return VersionRecord(
            name=source.name, version=version, target_key=names.target_key(source.name, version,
                                                                            self._settings.models_prefix),
            target_model=names.target_model(source.name, version), sha256=report.sha256,
            size=report.compressed_bytes, unpacked_size=sum(m.size for m in report.members if m.type == "file"),
            framework=report.layout, input_shapes=report.input_shapes,
            outputs=report.outputs, labels_count=report.labels_count, source_key=upload.key, source_etag=upload.etag,
            event_id=upload.event_id, created_at=claim.started_at, uploader=source.uploader,
            claimed_uploader=source.claimed_uploader, requested_aliases=source.aliases, metadata=source.metadata,
            description=source.description, tags=source.tags, card=source.card, samples=len(report.samples),
        )

    def _unrecordable(self, source: Source, claim: Claim, report: ValidationReport) -> RuleFailure | None:
        """The rule an accepted upload's records would break, checked before a number is reserved (DESIGN
        invariant 10): a version record over its budget would fail to write after the copy, on every delivery."""
        if source.said_error is not None:
            return RuleFailure(source.said_error.details.get("rule", "metadata"), source.said_error.message)
        if len(source.aliases) > MAX_REQUESTED_ALIASES:
            return RuleFailure("upload.too_many_aliases", f"the upload asks to move {len(source.aliases)} aliases; "
                               f"one upload may ask for at most {MAX_REQUESTED_ALIASES}: move the others through "
                               "the API (PUT /aliases/{alias})")
        size = version_item_size(self._version_record(source, claim, names.MAX_NUMBER, report))
        if size > BUDGETS["version"]:
            return RuleFailure("record.version_too_large", f"the version's record would take {human_size(size)}, "
                               f"more than the {human_size(BUDGETS['version'])} a version record may: its serving "
                               "signature (input and output names and shapes) and its metadata are too large to "
                               "record; declare fewer, shorter inputs and outputs, or less metadata")
        return None

    def _wants_warmup(self, source: Source, report: ValidationReport) -> bool:
        wanted = source.metadata.get(WARMUP_METADATA, str(self._settings.warmup)).lower() in ("1", "true", "yes")
        return wanted and self._runtime is not None and bool(report.input_shapes)

    def _warm(self, source: Source, version: int, report: ValidationReport):
        """One invoke through the endpoint, so aliases only ever point at a version that answers."""
        if not self._wants_warmup(source, report):
            return None
        return warm_version(self._runtime, Endpoints.from_settings(self._settings), report.layout,
                            names.target_model(source.name, version), report.input_shapes,
                            self._settings.warmup_budget_seconds)

    def _move_aliases(self, source: Source, record: VersionRecord) -> dict[str, str]:
        if self._aliases is None:
            return {}
        actor = source.uploader or "ingest"
        return self._aliases.follow_new_version(source.name, record.version, source.aliases, actor,
                                                source.upload.event_id, recorded=record)

    def _reject(self, source: Source, claim: Claim, report: ValidationReport) -> UploadRecord:
        rules = [failure.rule for failure in report.failures]
        message = "; ".join(failure.message for failure in report.failures)
        rejected_key = report_key = None
        if source.owned:
            upload = source.upload
            rejected_key = names.rejected_key(source.name, claim.started_at, upload.etag, upload.event_id,
                                              self._settings.rejected_prefix)
            report_key = names.report_key(rejected_key)
            info = ObjectInfo(upload.key, upload.etag, upload.size, {})
            self._artifacts.copy_once(info, rejected_key, upload.event_id, {"rules": ",".join(rules)[:1024]},
                                      source_bucket=upload.bucket)
            self._artifacts.put_json(report_key, {
                "source": f"s3://{upload.bucket}/{upload.key}", "etag": upload.etag, "model": source.name,
                "rejected_at": claim.started_at.isoformat(), "rules": rules, "report": report.as_json(),
            })
        failures = [failure.as_json() for failure in report.failures]
        return self._finish(source, claim, "rejected", rules=rules, failures=failures, rejected_key=rejected_key,
                            report_key=report_key, message=message)

    def _outcome(self, source: Source, claim: Claim, outcome: str, **fields) -> UploadRecord:
        upload = source.upload
        return UploadRecord(name=source.name, event_id=upload.event_id, source_key=upload.key,
                            source_etag=upload.etag, outcome=outcome, started_at=claim.started_at,
                            finished_at=self._clock(), **fields)

    def _finish(self, source: Source, claim: Claim, outcome: str, **fields) -> UploadRecord:
        """Records the outcome, then (and only then) clears the drop folder."""
        record = self._outcome(source, claim, outcome, **fields)
        self._store.put_upload(record, source.uploader)
        if outcome != "superseded":
            self._discard(source)
        return record

    def _discard(self, source: Source) -> None:
        if source.owned:
            self._artifacts.delete_if_unchanged(source.upload.key, source.upload.etag, source.upload.bucket)

    def _with_object_metadata(self, source: Source, info: ObjectInfo) -> Source:
        """Requested aliases travel as object metadata (x-amz-meta-alias).

        The actor is the principal S3 verified for the PUT, unless that principal is the API role:
        then the PUT is a presigned upload, and the caller the API signed into it
        (x-amz-meta-registry-actor) is the author. From anyone else that field, like
        x-amz-meta-uploader, is anyone's to type: kept as `claimed_uploader`, it never acts.
        """
        if not source.owned:
            return source
        requested = [a.strip() for a in info.metadata.get(ALIAS_METADATA, "").split(",") if a.strip()]
        metadata = {k: v for k, v in info.metadata.items() if k not in (UPLOADER_METADATA, ACTOR_METADATA)}
        vouched = info.metadata.get(ACTOR_METADATA)
        if vouched and source.upload.made_by_role(self._settings.api_role_id):
            actor, claimed = vouched, info.metadata.get(UPLOADER_METADATA)
        else:
            actor, claimed = source.upload.principal, info.metadata.get(UPLOADER_METADATA) or vouched
        return replace(source, aliases=requested, uploader=actor, claimed_uploader=claimed, metadata=metadata)

    def _recorded(self, source: Source, claim_item: dict) -> UploadRecord:
        started_at = datetime.fromisoformat(claim_item["started_at"])
        return self._store.get_upload(source.name, started_at, source.upload.event_id)
