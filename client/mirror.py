"""Live mirroring: a sampled share of an alias's calls is sent again to a candidate version, after the caller
has its answer, and the candidate's answer is compared with the one the caller got.

`AliasClient(..., mirror={"alias": "fraud-prod", "to": "fraud:8", "fraction": 0.1})` (or a list of such).
The copy is put on a bounded queue that one daemon thread drains; when the queue is full the copy is skipped
and counted (`skipped`), so a caller never waits for a mirror. The candidate's call is recorded as any call
is (Requests, Latency, its outcome), under Alias = the mirrored alias and the candidate's Model and Version,
plus MirrorRequests and, when its top-1 agrees with the answer given, MirrorAgreements: JSON answers are
compared by registry metrics/compare.py's top-1 rule, anything else (or a JSON shape that rule does not
read) by equal bytes. A failed candidate call is mirrored and does not agree.
"""
from __future__ import annotations

import json
import queue
import random
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable

from .errors import AliasClientError
from .registry_code import answer_compare
from .routing import Target

QUEUE_SIZE = 64
_CANDIDATE = re.compile(r"(?P<model>.+):(?P<version>[1-9][0-9]*)")


@dataclass(frozen=True)
class MirrorSpec:
    alias: str
    model: str
    version: int
    fraction: float

    @classmethod
    def parse(cls, spec: Any) -> MirrorSpec:
        """Checks the spec's shape; raises AliasClientError naming the rule it breaks."""
        if not isinstance(spec, dict) or set(spec) != {"alias", "to", "fraction"}:
            raise AliasClientError(f"mirror: expected {{'alias': ..., 'to': 'model:version', 'fraction': ...}}, "
                                   f"got {spec!r}")
        alias, to, fraction = spec["alias"], spec["to"], spec["fraction"]
        if not isinstance(alias, str) or not alias:
            raise AliasClientError(f"mirror: 'alias' must name an alias, got {alias!r}")
        found = _CANDIDATE.fullmatch(to) if isinstance(to, str) else None
        if found is None:
            raise AliasClientError(f"mirror: 'to' must be 'model:version' with a version number from 1, got {to!r}")
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
            raise AliasClientError(f"mirror: 'fraction' must be a number in (0, 1], got {fraction!r}")
        return cls(alias, found["model"], int(found["version"]), float(fraction))


def agrees(given: bytes, candidate: bytes) -> bool:
    """Top-1 agreement of two JSON answers (compare.py's shapes); equal bytes for anything else."""
    try:
        return answer_compare.top1_agreement(json.loads(given), json.loads(candidate))
    except (ValueError, UnicodeDecodeError):  # not JSON, or a shape compare.py does not read (NotComparable)
        return given == candidate


@dataclass(frozen=True)
class _Copy:
    alias: str
    params: dict
    answer: bytes


class Mirrors:
    """Samples calls of the mirrored aliases and sends copies to their candidates from one daemon thread.

    `send(alias, candidate, params, answer)` does the candidate's call, compares and records (AliasClient's).
    """

    def __init__(self, candidates: dict[str, tuple[MirrorSpec, Target]],
                 send: Callable[[str, Target, dict, bytes], None], rng: random.Random | None = None,
                 queue_size: int = QUEUE_SIZE):
        self._candidates = candidates
        self._send = send
        self._rng = rng or random.Random()
        self._queue: queue.Queue[_Copy | None] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.offered = 0  # sampled calls
        self.skipped = 0  # sampled calls not mirrored: the queue was full

    def offer(self, alias: str, params: dict, answer: bytes) -> bool:
        """Queues a copy of the call for `alias`'s candidate if the call is sampled; never blocks."""
        found = self._candidates.get(alias)
        if found is None or self._rng.random() >= found[0].fraction:
            return False
        self.offered += 1
        try:
            self._queue.put_nowait(_Copy(alias, params, answer))
        except queue.Full:
            self.skipped += 1
            return False
        self._start()
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Sends what is queued (within `timeout`) and stops the thread."""
        with self._lock:
            thread = self._thread
        if thread is None:
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        thread.join(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mme-mirror", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while (copy := self._queue.get()) is not None:
            spec, candidate = self._candidates[copy.alias]
            params = {**copy.params, "EndpointName": candidate.endpoint, "TargetModel": candidate.target_model}
            try:
                self._send(copy.alias, candidate, params, copy.answer)
            except Exception:  # noqa: BLE001 - a mirror never stops the worker; send() records its failures
                continue


def candidate_target(spec: MirrorSpec, version: dict, endpoint: str | None) -> Target:
    """The candidate as a Target, from the registry's version document and the endpoint serving its framework."""
    if not endpoint:
        raise AliasClientError(f"mirror: no endpoint serves {spec.model}:{spec.version} "
                               f"({version.get('framework') or 'its framework'}); pass AliasClient(endpoint=...)")
    return Target(spec.model, spec.version, version["target_model"], 100.0, endpoint, version.get("framework"))

