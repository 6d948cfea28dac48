"""How an alias becomes one TargetModel per request: the registry's answer decoded,
kept for a short TTL (stale answers served while the registry is down), and a
weighted pick that is random per call, or sticky for a caller-supplied key."""
from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable

from .errors import AliasClientError, RegistryUnavailable, UnknownAlias

SUFFIX = ".tar.gz"


@dataclass(frozen=True)
class Target:
    model: str
    version: int
    target_model: str
    weight: float = 100.0  # relative: the share of traffic is weight / (sum of the alias's weights)
    endpoint: str | None = None  # where to invoke it: each framework has its endpoint
    framework: str | None = None


@dataclass(frozen=True)
class ResolvedAlias:
    alias: str
    endpoint: str  # the heaviest target's; each target carries its own
    targets: tuple[Target, ...]
    revision: int | None = None


def resolved_from(document: dict, endpoint: str | None = None) -> ResolvedAlias:
    """Decodes `GET /aliases/{alias}`; a weighted alias lists its `targets`, a plain one has one target.

    Each target is invoked on its own `endpoint` (a weighted alias may span an MXNet and a TensorFlow
    endpoint); `endpoint`, when given, replaces every target's (an alias served by one endpoint only).
    """
    alias = document.get("alias", "?")
    entries = document.get("targets") or [document]
    targets = []
    for entry in entries:
        model, version = entry.get("model"), entry.get("version")
        target_model = entry.get("target_model") or (f"{model}_v{version}{SUFFIX}" if model and version else None)
        if not target_model:
            raise AliasClientError(f"the registry's answer for alias {alias!r} names no target: {document}")
        weight = entry.get("weight")
        # a target the registry says no endpoint serves (null) stays unserved; an older registry names one for all
        served_on = endpoint or (entry["endpoint"] if "endpoint" in entry else document.get("endpoint"))
        if not served_on:
            raise AliasClientError(f"alias {alias!r}: no endpoint serves {target_model} "
                                   f"({entry.get('framework') or 'its framework'}); pass AliasClient(endpoint=...)")
        targets.append(Target(model, version, target_model, float(100 if weight is None else weight), served_on,
                              entry.get("framework")))
    if sum(t.weight for t in targets) <= 0:
        raise AliasClientError(f"alias {alias!r} has no target with a positive weight")
    main = max(targets, key=lambda t: t.weight)
    return ResolvedAlias(alias, endpoint or document.get("endpoint") or main.endpoint, tuple(targets),
                         document.get("revision"))


def percent(weight: float, weights: list[float]) -> str:
    """A relative weight as the share of traffic it gets: `75%` for 3 of 1 and 3, `33.3%` for 1 of three 1s."""
    total = sum(weights)
    share = 100 * weight / total if total > 0 else 0.0
    return f"{share:.1f}".removesuffix(".0") + "%"


def sticky_fraction(alias: str, key: str) -> float:
    """A stable number in [0, 1) for (alias, key): the same caller lands on the same target."""
    digest = hashlib.sha256(f"{alias}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick_target(resolved: ResolvedAlias, key: str | None = None, rng: random.Random | None = None) -> Target:
    """One target, with probability proportional to its weight."""
    targets = resolved.targets
    if len(targets) == 1:
        return targets[0]
    fraction = sticky_fraction(resolved.alias, key) if key is not None else (rng or random).random()
    point = fraction * sum(t.weight for t in targets)
    for target in targets:
        if point < target.weight:
            return target
        point -= target.weight
    return targets[-1]  # rounding: the fraction was a hair under 1


class AliasCache:
    """TTL cache of resolved aliases with serve-stale.

    While the registry is unreachable an expired entry keeps serving, and the next
    attempt waits `retry_after` seconds, so callers do not each pay a timeout.
    """

    def __init__(self, fetch: Callable[[str], ResolvedAlias], ttl: float = 30.0, retry_after: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self._fetch = fetch
        self._ttl = ttl
        self._retry_after = retry_after
        self._clock = clock
        self._entries: dict[str, tuple[ResolvedAlias, float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.misses = 0
        self.stale_served = 0

    def get(self, alias: str) -> ResolvedAlias:
        entry = self._entries.get(alias)
        if entry is not None and self._clock() < entry[1]:
            return entry[0]
        with self._lock_for(alias):  # one fetch per alias at a time; the others reuse its answer
            entry = self._entries.get(alias)
            if entry is not None and self._clock() < entry[1]:
                return entry[0]
            return self._refresh(alias, entry)

    def _refresh(self, alias: str, entry: tuple[ResolvedAlias, float] | None) -> ResolvedAlias:
        self.misses += 1
        try:
            resolved = self._fetch(alias)
        except UnknownAlias:
            self._entries.pop(alias, None)
            raise
        except RegistryUnavailable:
            if entry is None:
                raise
            self.stale_served += 1
            self._entries[alias] = (entry[0], self._clock() + self._retry_after)
            return entry[0]
        self._entries[alias] = (resolved, self._clock() + self._ttl)
        return resolved

    def invalidate(self, alias: str | None = None) -> None:
        if alias is None:
            self._entries.clear()
        else:
            self._entries.pop(alias, None)

    def _lock_for(self, alias: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(alias, threading.Lock())
