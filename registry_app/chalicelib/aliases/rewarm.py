"""Re-running a version's warm-up, then the alias moves its upload asked for.

A warm-up that failed or ran out of budget (a big model's first load on an MME can take
minutes) leaves the requested aliases where they were; this lets an operator try again
without re-uploading. It may move only the aliases the version's upload requested (and
those that track the model's latest version), under the same rule as ingestion
(alias_rules): create, or move forward within the model; never take one over. The moves
carry the upload's event id, so each alias moves at most once for that upload, whether the
ingest or a re-run moved it: an operator's rollback after that move stays put (DESIGN invariant 12).
"""
from dataclasses import dataclass

from .. import names
from .aliases import Aliases
from ..errors import Conflict, NotFound
from ..frameworks import Endpoints
from ..records import VersionRecord, utcnow
from ..settings import Settings
from ..versions.store import RegistryStore
from ..versions.warmup import warm_version


@dataclass(frozen=True)
class Rewarmed:
    version: VersionRecord
    ok: bool
    warmup: str  # "ok in 1.23 s" or "failed: <why>"
    aliases: dict[str, str]  # alias -> what happened to it


class Rewarmer:
    def __init__(self, store: RegistryStore, aliases: Aliases, runtime, settings: Settings):
        """`runtime` is a sagemaker-runtime client; the invoke goes through the endpoint of the version's framework."""
        self._store = store
        self._aliases = aliases
        self._runtime = runtime
        self._settings = settings

    def run(self, name: str, version: int, actor: str | None) -> Rewarmed:
        record = self._store.get_version(names.validate_model_name(name), version)
        if record is None:
            raise NotFound(f"{name} v{version} does not exist", {"model": name, "version": version})
        if record.status != "active":
            raise Conflict(f"{name} v{version} is {record.status} and can no longer be served",
                           {"model": name, "version": version, "status": record.status})
        if not record.input_shapes:
            raise Conflict(f"{name} v{version} has no input shapes to build a warm-up input from",
                           {"model": name, "version": version})
        result = warm_version(self._runtime, Endpoints.from_settings(self._settings), record.framework,
                              record.target_model, record.input_shapes, self._settings.warmup_budget_seconds)
        if not result.ok:
            held = {alias: "not moved: the warm-up failed" for alias in record.requested_aliases}
            return Rewarmed(record, False, f"failed: {result.error}", held)
        self._store.mark_warmed(record.name, record.version, utcnow(), result.seconds)
        moved = self._aliases.follow_new_version(record.name, record.version, record.requested_aliases, actor,
                                                 record.event_id)
        return Rewarmed(record, True, f"ok in {result.seconds:.2f} s", moved)
