"""The registry's change events (schemas: events/schemas/v1/<type>.json), built from the records they announce.

An event_id is a hash of what identifies the change itself (an alias and its revision, a
model and version, an upload's event id), never of when it was seen: a retried write or a
second delivery of the same upload builds the same id, so consumers can de-duplicate.
"""
import hashlib
from datetime import datetime
from typing import Any

SCHEMA_VERSION = "1"
SOURCE = "mme-registry"
TYPES = ("ModelVersionRegistered", "UploadRejected", "UploadUnchanged", "AliasMoved", "VersionRetired",
         "WarmupFailed", "VersionMetadataChanged", "VersionApprovalChanged", "AliasPolicyChanged", "RolloutChanged",
         "ShadowCompared")

Event = dict[str, Any]


def event_id(kind: str, *identity: object) -> str:
    """32 hex digits that depend only on the type and the identity of the change."""
    text = "\x1f".join([kind, *(str(part) for part in identity)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _event(kind: str, identity: tuple, time: datetime, actor: str | None, **fields) -> Event:
    return {"schema_version": SCHEMA_VERSION, "type": kind, "event_id": event_id(kind, *identity),
            "time": time.isoformat(), "actor": actor, **fields}


def version_registered(version, actor: str | None) -> Event:
    """`version` is a VersionRecord (records.py)."""
    return _event("ModelVersionRegistered", (version.name, version.version), version.created_at, actor,
                  model=version.name, version=version.version, target_model=version.target_model,
                  target_key=version.target_key, sha256=version.sha256, size=version.size, layout=version.framework,
                  source_key=version.source_key, upload_event_id=version.event_id,
                  requested_aliases=list(version.requested_aliases))


def upload_rejected(upload, actor: str | None) -> Event:
    """`upload` is a rejected UploadRecord; the rule ids say why, rejected_key where the bytes went."""
    return _event("UploadRejected", (upload.name, upload.event_id), upload.finished_at, actor,
                  model=upload.name, upload_event_id=upload.event_id, source_key=upload.source_key,
                  rules=list(upload.rules), rejected_key=upload.rejected_key, report_key=upload.report_key,
                  message=upload.message)


def upload_unchanged(upload, actor: str | None) -> Event:
    return _event("UploadUnchanged", (upload.name, upload.event_id), upload.finished_at, actor,
                  model=upload.name, upload_event_id=upload.event_id, source_key=upload.source_key,
                  equals_version=upload.equals_version)


def warmup_failed(upload, actor: str | None) -> Event:
    """An accepted upload whose warm-up failed: the version exists, its requested aliases did not move."""
    return _event("WarmupFailed", (upload.name, upload.version, upload.event_id), upload.finished_at, actor,
                  model=upload.name, version=upload.version, upload_event_id=upload.event_id,
                  error=(upload.warmup or "").removeprefix("failed: "),
                  held_aliases=sorted(upload.aliases))


def _state(state) -> dict | None:
    if state is None:
        return None
    return {"targets": [t.model_dump() for t in state.targets], "tracks_latest": state.tracks_latest}


def alias_moved(change) -> Event:
    """`change` is an AliasChange (alias_store.py); its revision orders an alias's events and exposes gaps."""
    models = sorted({t.model for s in (change.before, change.after) if s for t in s.targets})
    action = "update" if change.action == "create" else change.action
    return _event("AliasMoved", (change.alias, change.revision), change.at, change.by,
                  alias=change.alias, revision=change.revision, action=action,
                  created=change.before is None and change.after is not None,
                  models=models, **{"from": _state(change.before), "to": _state(change.after)},
                  upload_event_id=change.event_id, **({"reason": change.reason} if change.reason else {}))


def version_retired(name: str, version: int, at: datetime, actor: str | None) -> Event:
    return _event("VersionRetired", (name, version), at, actor, model=name, version=version)


def version_metadata_changed(version, at: datetime, actor: str | None, change: dict) -> Event:
    """`version` is the VersionRecord after the change; `tags` says {"set", "removed"}; the card itself is read from
    the API (it can take 48 KB)."""
    return _event("VersionMetadataChanged", (version.name, version.version, version.metadata_revision), at, actor,
                  model=version.name, version=version.version, revision=version.metadata_revision,
                  changed=sorted(change), description=change.get("description"), tags=change.get("tags"))


def version_approval_changed(version, at: datetime, actor: str | None) -> Event:
    approval = version.approval
    return _event("VersionApprovalChanged", (version.name, version.version, version.metadata_revision), at, actor,
                  model=version.name, version=version.version, revision=version.metadata_revision,
                  status=approval.status, reason=approval.reason)


def alias_policy_changed(alias: str, revision: int, policy, at: datetime, actor: str | None) -> Event:
    """`policy` is an AliasPolicy (aliases/policy.py), or None when it was deleted."""
    return _event("AliasPolicyChanged", (alias, "policy", revision), at, actor, alias=alias, revision=revision,
                  policy=policy.model_dump(mode="json") if policy else None)


def rollout_changed(rollout, action: str, at: datetime, actor: str | None) -> Event:
    """`rollout` is a Rollout (rollouts/state.py) after the change; `action` what happened to it: started, step,
    promoted, rolled_back, cancelled or superseded. Its revision orders the rollout's events."""
    last = rollout.decisions[-1] if rollout.decisions else None
    return _event("RolloutChanged", (rollout.alias, rollout.number, rollout.revision), at, actor,
                  alias=rollout.alias, rollout=rollout.number, revision=rollout.revision, action=action,
                  status=rollout.status, percent=rollout.percent, alias_revision=rollout.alias_revision,
                  reason=last.reason if last else None, candidate=rollout.candidate.model_dump(),
                  incumbent=rollout.incumbent.model_dump(), numbers=last.numbers() if last else None)
def shadow_compared(comparison: dict) -> Event:
    """`comparison` is a recorded Comparison (aliases/comparisons.py) as JSON: a candidate beside an alias's target."""
    numbers = ("samples", "samples_source", "k", "top1_agreement", "topk_overlap", "max_abs_diff", "latency_ratio",
               "candidate_median_ms", "incumbent_median_ms", "not_comparable", "error", "thresholds", "verdict",
               "failures")
    identity = (comparison["model"], comparison["version"], comparison["alias"], comparison["incumbent_model"],
                comparison["incumbent_version"], comparison["at"])
    kind = "ShadowCompared"
    return {"schema_version": SCHEMA_VERSION, "type": kind, "event_id": event_id(kind, *identity),
            "time": comparison["at"], "actor": comparison["actor"],
            "model": comparison["model"], "version": comparison["version"], "alias": comparison["alias"],
            "incumbent": {"model": comparison["incumbent_model"], "version": comparison["incumbent_version"]},
            **{name: comparison[name] for name in numbers}}


def for_upload(upload, actor: str | None) -> Event | None:
    """The event an upload outcome announces, if any (an accepted one is announced by its version)."""
    if upload.outcome == "rejected":
        return upload_rejected(upload, actor)
    if upload.outcome == "unchanged":
        return upload_unchanged(upload, actor)
    if upload.outcome == "accepted" and (upload.warmup or "").startswith("failed"):
        return warmup_failed(upload, actor)
    return None
