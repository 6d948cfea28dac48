"""The alias use cases: point, follow, delete, roll back; every change compare-and-set with history.

An alias maps a logical name to one version (or a weighted split of versions) so that
callers never hold a TargetModel key. Rules that need the registry (the version exists and
is active, the model has a latest version) are checked here; the store re-checks them
inside the write transaction so nothing can slip in between.
"""
from dataclasses import dataclass
from typing import Callable

from .. import names
from .alias_store import (MAX_TARGETS, AliasChange, AliasRecord, AliasState, AliasStore, AliasTarget, AlreadyApplied,
                          StaleRevision)
from .alias_rules import FollowDecision
from . import policy as policies
from .policy import PolicyRecord, PolicyStore
from ..errors import (Conflict, InvalidInput, NoEndpoint, NotFound, PolicyMover, PolicyUnmet, RegistryError,
                      TransientError)
from ..frameworks import Endpoints
from ..records import VersionRecord, utcnow
from ..settings import get_settings
from ..versions.store import RegistryStore

UNCONDITIONAL_ATTEMPTS = 25  # re-reads for writes that named no revision (the last writer wins)

Decide = Callable[[AliasRecord | None], AliasState | None]


@dataclass(frozen=True)
class Outcome:
    """What one change did: the change written (None if the alias already had that state) and the alias after it."""

    change: AliasChange | None
    record: AliasRecord | None
    before: AliasRecord | None


class Aliases:
    def __init__(self, store: RegistryStore, aliases: AliasStore, clock: Callable = utcnow,
                 endpoints: Endpoints | None = None, policies: PolicyStore | None = None, shadow=None):
        """`shadow` (aliases/shadow.Shadow) runs the comparison a policy's `require: shadow` asks for."""
        self._store = store
        self._shadow = shadow
        self._aliases = aliases
        self._clock = clock
        self._policies = policies
        self._endpoints = endpoints or Endpoints.from_settings(get_settings())

    # reads ------------------------------------------------------------------
    def get(self, alias: str) -> AliasRecord:
        record = self._aliases.get(names.validate_alias_name(alias))
        if record is None:
            raise NotFound(f"alias {alias} does not exist", {"alias": alias})
        return record

    def list_aliases(self, limit: int, token: str | None) -> tuple[list[AliasRecord], str | None]:
        return self._aliases.list_aliases(limit, token)

    def history(self, alias: str, limit: int, token: str | None) -> tuple[list[AliasChange], str | None]:
        changes, next_token = self._aliases.history(names.validate_alias_name(alias), limit, token)
        if not changes and token is None:
            raise NotFound(f"alias {alias} has no history", {"alias": alias})
        return changes, next_token

    # writes -----------------------------------------------------------------
    def point(self, alias: str, targets: list[AliasTarget], follow_latest: bool, expected_revision: int | None,
              actor: str | None) -> AliasRecord:
        """Points `alias` at `targets`; with follow_latest, at the one model's latest version, and keeps it there.

        expected_revision None: unconditional; 0: the alias must not exist yet; n: it must be at revision n.
        """
        names.validate_alias_name(alias)
        if not 1 <= len(targets) <= MAX_TARGETS:
            raise InvalidInput(f"an alias has 1 to {MAX_TARGETS} targets, not {len(targets)}",
                               {"alias": alias, "targets": len(targets)})
        if follow_latest:
            model = targets[0].model
            targets = [AliasTarget(model=model, version=self._latest_of(model))]
        for target in targets:
            self._require_servable(target.model, target.version)
        state = AliasState(targets=targets, tracks_latest=follow_latest)
        record = self._change(alias, lambda current: state, "update", expected_revision, actor).record
        if follow_latest:  # a version accepted while we wrote found no follower yet: catch up with it
            latest = self._latest_of(state.targets[0].model)
            if latest > state.targets[0].version:
                self.follow_new_version(state.targets[0].model, latest, [], actor)
                record = self._aliases.get(alias) or record
        return record

    def delete(self, alias: str, expected_revision: int | None, actor: str | None) -> AliasChange:
        names.validate_alias_name(alias)
        if expected_revision == 0:
            raise InvalidInput("expected_revision 0 means 'must not exist yet', which a deletion cannot satisfy")
        self.get(alias)  # an unknown alias is a 404 whatever revision was expected
        return self._change(alias, lambda current: None, "delete", expected_revision, actor).change

    def rollback(self, alias: str, expected_revision: int | None, actor: str | None) -> AliasRecord:
        """Back to the target before the latest change, pinned: a rollback says the newer target is unwanted.

        Rolling back a deletion restores the alias; rolling back twice returns to where it was.
        Without expected_revision the rollback is still conditional on the change it undoes.
        """
        names.validate_alias_name(alias)
        last = self._aliases.last_change(alias)
        if last is None:
            raise NotFound(f"alias {alias} does not exist", {"alias": alias})
        if last.before is None:
            raise Conflict(f"alias {alias} has nothing to roll back to: its latest change created it",
                           {"alias": alias, "current_revision": last.revision})
        if expected_revision is None:
            expected_revision = last.revision if last.after is not None else 0
        for target in last.before.targets:
            self._require_servable(target.model, target.version)
        state = AliasState(targets=last.before.targets, tracks_latest=False)
        return self._change(alias, lambda current: state, "rollback", expected_revision, actor).record

    def follow_new_version(self, model: str, version: int, requested: list[str], actor: str | None,
                           event_id: str | None = None, recorded: VersionRecord | None = None) -> dict[str, str]:
        """Moves the aliases an accepted version concerns and answers {alias: what happened}.

        Ingestion is not the API: an upload may create a requested alias, or move one that
        already follows its own model (every target a version of `model`), and only forward
        (a late or retried upload must not undo a newer version or an operator's rollback).
        Moving an alias to another model goes through the API, compare-and-set. `event_id`
        makes each move happen once per event even after a rollback. Never raises for one alias.
        `recorded` is the version as its ingest just wrote it (not read again).
        """
        try:
            self._require_servable(model, version, recorded)
        except NoEndpoint as error:  # an alias only ever points where a caller can invoke it
            following = [r.alias for r in self._aliases.references(model) if r.tracks_latest]
            return {alias: f"refused: {error.message}" for alias in dict.fromkeys([*requested, *following])}
        except RegistryError as error:
            return {alias: f"failed: {error.message}" for alias in requested}
        outcome: dict[str, str] = {}
        for alias in dict.fromkeys(requested):
            try:
                names.validate_alias_name(alias)
            except InvalidInput as error:
                outcome[alias] = f"invalid: {error.message}"
                continue
            outcome[alias] = self._follow(alias, model, version, actor, event_id, tracking_only=False)
        for reference in self._aliases.references(model):
            if reference.tracks_latest and reference.alias not in outcome:
                outcome[reference.alias] = self._follow(reference.alias, model, version, actor, event_id,
                                                        tracking_only=True)
        return outcome

    def move_for_rollout(self, alias: str, targets: list[AliasTarget], expected_revision: int, actor: str | None,
                         reason: str, extra: Callable[[AliasChange], list[dict]], restoring: bool = False) -> Outcome:
        """A rollout's step: compare-and-set on the revision the rollout last wrote, through the alias policy,
        recorded as action "rollout" with its reason; `extra(change)` adds the rollout's own items to the
        write's transaction, so the alias and the rollout move together or not at all.

        `restoring`: the rollout rolls back on a breach, to the incumbent it started from, which the policy let
        the alias hold then. No policy change since (a starter no longer among the movers, an incumbent no longer
        approved) may keep a failing candidate in the traffic: that move is not checked."""
        for target in targets:
            self._require_servable(target.model, target.version)
        state = AliasState(targets=targets, tracks_latest=False)
        return self._change(alias, lambda current: state, "rollout", expected_revision, actor, reason=reason,
                            extra=extra, checked=not restoring)

    def require_servable(self, model: str, version: int) -> VersionRecord:
        """The version exists, is active and an endpoint serves its framework (else NotFound, Conflict,
        NoEndpoint): what any target of an alias must be."""
        return self._require_servable(model, version)

    # plumbing ---------------------------------------------------------------
    def _follow(self, alias: str, model: str, version: int, actor: str | None, event_id: str | None,
                tracking_only: bool) -> str:
        decision = FollowDecision(alias, model, version, tracking_only)
        try:
            done = self._change(alias, decision, "follow", None, actor, event_id)
        except AlreadyApplied:
            return f"not moved: this upload already moved it once (v{version}); it was changed since"
        except (PolicyMover, PolicyUnmet) as error:
            return f"refused: {error.message}"
        except (Conflict, NotFound, TransientError) as error:
            return f"failed: {error.message}"
        if decision.refusal:
            return decision.refusal
        if done.change is None:
            now = done.record.targets if done.record else []
            return f"unchanged (at v{now[0].version})" if len(now) == 1 else "unchanged"
        return f"moved to v{version}" if done.before else f"created at v{version}"

    def _change(self, alias: str, decide: Decide, action: str, expected_revision: int | None,
                actor: str | None, event_id: str | None = None, reason: str | None = None,
                extra: Callable[[AliasChange], list[dict]] | None = None, checked: bool = True) -> Outcome:
        """Reads, decides, writes compare-and-set; only writes that named no revision re-read and retry.
        `checked=False` (a rollout's rollback only) writes without the policy's check."""
        for _ in range(UNCONDITIONAL_ATTEMPTS if expected_revision is None else 1):
            current = self._aliases.get(alias)
            self._check_expected(alias, current, expected_revision)
            after = decide(current)
            if current is None and after is None:
                raise NotFound(f"alias {alias} does not exist", {"alias": alias})
            if current is not None and after == current.state:
                return Outcome(None, current, current)
            if checked:
                policy, pinned = self._check_policy(alias, actor, after, current if action != "rollback" else None)
            else:
                policy, pinned = (self._policies.get(alias) if self._policies is not None else None), {}
            revision = (current.revision if current else self._last_revision(alias)) + 1
            named = "create" if current is None and action == "update" else action
            change = AliasChange(alias=alias, revision=revision, action=named,
                                 before=current.state if current else None, after=after, at=self._clock(), by=actor,
                                 event_id=event_id, reason=reason)
            try:
                guards = [self._policies.guard(alias, policy)] if self._policies is not None else []
                guards += extra(change) if extra else []
                return Outcome(change, self._aliases.write(change, current, guards, pinned), current)
            except StaleRevision:
                if expected_revision is not None:
                    raise self._stale(alias, self._aliases.get(alias), expected_revision) from None
        raise TransientError(f"alias {alias} is changing too often to update; try again", {"alias": alias})

    def _check_policy(self, alias: str, actor: str | None, after: AliasState | None,
                      current: AliasRecord | None = None) -> tuple[PolicyRecord | None, dict[tuple[str, int], int]]:
        """The alias's policy, once it is checked for this move (DESIGN: every path that moves an alias goes
        through this check), and the metadata revision of each target it was checked on: the write holds only
        while the policy and those revisions are still the ones read. The shadow gate compares the new targets
        with `current`; a rollback passes none (back to where the alias was: it must not be refused for
        disagreeing with the version it leaves)."""
        if self._policies is None:
            return None, {}
        policy = self._policies.get(alias)
        if policy is None or not policy.policy.require:
            policies.check(alias, policy, actor, [])
            return policy, {}
        found = [self._store.get_version(t.model, t.version) for t in (after.targets if after else [])]
        targets = [version for version in found if version is not None]
        policies.check(alias, policy, actor, targets)
        if "shadow" in policy.policy.require:
            if self._shadow is None:
                raise PolicyUnmet(f"alias {alias} requires 'shadow', and no shadow comparison can run here",
                                  {"alias": alias, "requirement": "shadow"})
            self._shadow.gate(alias, policy.policy.shadow, current.targets if current else [],
                              after.targets if after else [], actor)
        return policy, {(v.name, v.version): v.metadata_revision for v in targets}

    def _check_expected(self, alias: str, current: AliasRecord | None, expected: int | None) -> None:
        if expected is not None and expected != (current.revision if current else 0):
            raise self._stale(alias, current, expected)

    @staticmethod
    def _stale(alias: str, current: AliasRecord | None, expected: int) -> Conflict:
        actual = current.revision if current else 0
        return Conflict(
            f"alias {alias} is at revision {actual}, not {expected}: read it again and retry",
            {"alias": alias, "expected_revision": expected, "current_revision": actual,
             "current": current.model_dump(mode="json") if current else None},
        )

    def _last_revision(self, alias: str) -> int:
        """A re-created alias continues its old history instead of overwriting it."""
        last = self._aliases.last_change(alias)
        return last.revision if last else 0

    def _latest_of(self, model: str) -> int:
        names.validate_model_name(model)
        record = self._store.get_model(model)
        if record is None or record.latest_version is None:
            raise NotFound(f"model {model} has no accepted version yet", {"model": model})
        return record.latest_version

    def _require_version(self, model: str, version: int) -> VersionRecord:
        names.validate_model_name(model)
        record = self._store.get_version(model, version)
        if record is None:
            raise NotFound(f"{model} v{version} does not exist", {"model": model, "version": version})
        if record.status != "active":
            raise Conflict(f"{model} v{version} is {record.status} and can no longer be served",
                           {"model": model, "version": version, "status": record.status})
        return record

    def _require_servable(self, model: str, version: int, recorded: VersionRecord | None = None) -> VersionRecord:
        """The version exists, is active, and an endpoint serves its framework: a weighted alias may mix
        frameworks only when each has its endpoint (the client invokes each target on its own)."""
        record = recorded or self._require_version(model, version)
        self._endpoints.for_framework(record.framework, f"{model} v{version}")
        return record
