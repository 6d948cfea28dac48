"""The rollout use cases: start, cancel, read; and the advancer's one step per running rollout.

Every move of the alias goes through Aliases.move_for_rollout (the alias policy, compare-and-set on
the revision the rollout last wrote, history action "rollout" with the reason, by whoever started
it), in one transaction with the rollout's own record. An alias whose revision is not the one the
rollout last wrote was moved by someone else: the rollout stops as superseded and writes nothing to
the alias (an operator's move or rollback is never undone by a rollout, DESIGN invariant 12).
"""
import logging
from datetime import datetime, timedelta
from typing import Callable, Protocol

from .. import names
from ..aliases.alias_store import AliasChange, AliasTarget
from ..aliases.aliases import Aliases
from ..errors import Conflict, InvalidInput, NotFound, PolicyMover, PolicyUnmet, RegistryError
from ..records import MAX_RECORDED_BYTES, shortened, utcnow
from .rules import Plan, Window, check_plan, decide
from .state import Judgement, Numbers, Rollout, RolloutStore

log = logging.getLogger(__name__)


class Metrics(Protocol):
    """metrics/reader.py MetricsReader: one model's calls through one alias over [start, end)."""

    def window(self, alias: str, model: str, version: int, start: datetime, end: datetime) -> Window: ...


def _rule(rule: str) -> dict:
    return {"rule": f"rollout.{rule}"}


class Rollouts:
    def __init__(self, store: RolloutStore, aliases: Aliases, metrics: Metrics, clock: Callable = utcnow):
        self._store = store
        self._aliases = aliases
        self._metrics = metrics
        self._clock = clock

    # reads ------------------------------------------------------------------
    def current(self, alias: str) -> Rollout | None:
        return self._store.current(names.validate_alias_name(alias))

    def history(self, alias: str, limit: int, token: str | None) -> tuple[list[Rollout], str | None]:
        return self._store.history(names.validate_alias_name(alias), limit, token)

    # writes -----------------------------------------------------------------
    def start(self, alias: str, candidate: AliasTarget, plan: Plan, actor: str | None) -> Rollout:
        """Moves the alias to the first step and records the rollout; every refusal before anything is written."""
        check_plan(plan)
        current = self._aliases.get(alias)
        running = self._store.current(alias)
        if running is not None:
            raise Conflict(f"alias {alias} has rollout {running.number} running ({running.candidate.model} "
                           f"v{running.candidate.version} at {running.percent} %): cancel it first "
                           "(rule rollout.one_at_a_time)", {**_rule("one_at_a_time"), "rollout": running.number})
        if len(current.targets) != 1:
            split = ", ".join(f"{t.model} v{t.version} ({t.weight})" for t in current.targets)
            raise Conflict(f"alias {alias} already splits its traffic ({split}): a rollout starts from one target; "
                           "point the alias at one version first (rule rollout.single_target)",
                           {**_rule("single_target"), "alias": alias})
        incumbent = current.targets[0]
        if (incumbent.model, incumbent.version) == (candidate.model, candidate.version):
            raise InvalidInput(f"{candidate.model} v{candidate.version} is what alias {alias} points at already "
                               "(rule rollout.candidate)", {**_rule("candidate"), "alias": alias})
        self._aliases.require_servable(candidate.model, candidate.version)
        now = self._clock()
        number = self._store.last_number(alias) + 1
        first = plan.steps[0]
        reason = f"rollout {number}: {first} % to {candidate.model} v{candidate.version}"
        rollout = Rollout(
            alias=alias, number=number, incumbent=incumbent.model_copy(update={"weight": 100}),
            candidate=candidate.model_copy(update={"weight": 100}), steps=list(plan.steps), step_started_at=now,
            bake_seconds=plan.bake_seconds, max_error_rate=plan.max_error_rate, max_p99_ratio=plan.max_p99_ratio,
            min_requests=plan.min_requests, alias_revision=0, started_by=actor, started_at=now,
            decisions=[Judgement(at=now, percent=first, verdict="started", reason=reason)])
        return self._move(rollout, None, rollout.targets(first), current.revision, actor, reason, "started", now)

    def cancel(self, alias: str, actor: str | None) -> Rollout:
        """Stops the running rollout and puts the incumbent back at 100 %; if someone moved the alias since the
        rollout's last step, their move stands and the rollout ends as superseded."""
        rollout = self._running(alias)
        now = self._clock()
        if self._moved_by_someone_else(rollout):
            return self._supersede(rollout, now)
        reason = f"rollout {rollout.number} cancelled by {actor}: back to {rollout.incumbent.model} " \
                 f"v{rollout.incumbent.version}"
        after = self._ended(rollout, "cancelled", Judgement(at=now, percent=rollout.percent, verdict="cancelled",
                                                            reason=reason), now)
        return self._move(after, rollout, rollout.targets(0), rollout.alias_revision, actor, reason, "cancelled",
                          now)

    # the advancer -----------------------------------------------------------
    def advance_all(self) -> dict[str, str]:
        """One look at every running rollout: {alias: what happened}. One rollout's fault never stops the others."""
        done = {}
        for alias in self._store.running():
            try:
                done[alias] = self.advance(alias)
            except RegistryError as error:
                done[alias] = f"not advanced: {error.message}"
            except Exception as error:  # a metrics read that failed: next run tries again
                log.exception("rollout of alias %s not advanced", alias)
                done[alias] = f"not advanced: {error}"
        return done

    def advance(self, alias: str) -> str:
        rollout = self._store.current(alias)
        if rollout is None or not rollout.running:
            return "not running"
        now = self._clock()
        if not rollout.baked(now):
            return f"baking at {rollout.percent} %"
        if self._moved_by_someone_else(rollout):
            return self._supersede(rollout, now).status
        judgement = self._judge(rollout, now)
        if judgement.verdict == "wait":
            self._store.write(rollout.model_copy(update={"waiting": judgement, "revision": rollout.revision + 1}),
                              rollout, "wait", now, rollout.started_by)
            return f"waiting: {judgement.reason}"
        return self._act(rollout, judgement, now).status

    # plumbing ---------------------------------------------------------------
    def _judge(self, rollout: Rollout, at: datetime) -> Judgement:
        """The step's numbers since it started, and what they say."""
        # CloudWatch keeps minutes: the window is the step's whole minutes, the one now included
        start, end = _minute(rollout.step_started_at), _minute(at) + timedelta(minutes=1)
        c, i = rollout.candidate, rollout.incumbent
        candidate = self._metrics.window(rollout.alias, c.model, c.version, start, end)
        incumbent = self._metrics.window(rollout.alias, i.model, i.version, start, end)
        plan = Plan(tuple(rollout.steps), rollout.bake_seconds, rollout.max_error_rate, rollout.max_p99_ratio,
                    rollout.min_requests)
        decision = decide(candidate, incumbent, plan)
        return Judgement(at=at, percent=rollout.percent, verdict=decision.verdict, reason=decision.reason,
                         candidate=Numbers.of(candidate), incumbent=Numbers.of(incumbent))

    def _act(self, rollout: Rollout, judgement: Judgement, now: datetime) -> Rollout:
        """A breach puts the incumbent back alone; a pass moves to the next step, the last one promotes."""
        n, c = rollout.number, rollout.candidate
        decisions = [*rollout.decisions, judgement]
        if judgement.verdict == "breach":
            reason = f"rollout {n} rolled back: {judgement.reason}"
            after, percent, action = self._ended(rollout, "rolled_back", judgement, now), 0, "rolled_back"
        elif rollout.steps[rollout.step + 1] >= 100:
            reason = f"rollout {n} promoted {c.model} v{c.version}"
            after = self._ended(rollout, "promoted", judgement, now).model_copy(update={"step": rollout.step + 1})
            percent, action = 100, "promoted"
        else:
            percent, action = rollout.steps[rollout.step + 1], "step"
            reason = f"rollout {n}: {percent} % to {c.model} v{c.version}"
            after = rollout.model_copy(update={"step": rollout.step + 1, "step_started_at": now, "waiting": None,
                                               "decisions": decisions, "revision": rollout.revision + 1,
                                               "last_error": None})
        try:
            return self._move(after, rollout, rollout.targets(percent), rollout.alias_revision, rollout.started_by,
                              reason, action, now, restoring=judgement.verdict == "breach")
        except (PolicyMover, PolicyUnmet) as error:  # the policy changed since the start: say so, try again later
            self._store.write(rollout.model_copy(update={"last_error": shortened(error.message, MAX_RECORDED_BYTES),
                                                         "revision": rollout.revision + 1}),
                              rollout, "wait", now, rollout.started_by)
            return rollout

    def _move(self, after: Rollout, before: Rollout | None, targets: list[AliasTarget], alias_revision: int,
              actor: str | None, reason: str, action: str, now: datetime, restoring: bool = False) -> Rollout:
        written: list[Rollout] = []

        def extra(change: AliasChange) -> list[dict]:
            written[:] = [after.model_copy(update={"alias_revision": change.revision})]
            return self._store.items(written[0], before, action, now, actor)

        self._aliases.move_for_rollout(after.alias, targets, alias_revision, actor, reason, extra, restoring)
        return written[0]

    @staticmethod
    def _ended(rollout: Rollout, status: str, judgement: Judgement, now: datetime) -> Rollout:
        return rollout.model_copy(update={"status": status, "ended_at": now, "waiting": None,
                                          "decisions": [*rollout.decisions, judgement],
                                          "revision": rollout.revision + 1})

    def _running(self, alias: str) -> Rollout:
        rollout = self.current(alias)
        if rollout is None or not rollout.running:
            raise NotFound(f"alias {alias} has no running rollout", {"alias": alias})
        return rollout

    def _moved_by_someone_else(self, rollout: Rollout) -> bool:
        try:
            return self._aliases.get(rollout.alias).revision != rollout.alias_revision
        except NotFound:
            return True

    def _supersede(self, rollout: Rollout, now: datetime) -> Rollout:
        reason = f"alias {rollout.alias} was moved by someone else since revision {rollout.alias_revision}, which " \
                 "this rollout wrote: it stops and leaves the alias where it is"
        after = self._ended(rollout, "superseded", Judgement(at=now, percent=rollout.percent, verdict="superseded",
                                                             reason=reason), now)
        return self._store.write(after, rollout, "superseded", now, rollout.started_by)


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)
