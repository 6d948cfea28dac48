"""Keeps the local stack's processes running, as SageMaker replaces a container that stops
answering /ping and Lambda starts a fresh runtime after a crash.

Without it one killed process (the model server under load, say) left every later call
failing until the whole stack was restarted. The supervisor knows nothing of what it
watches beyond `Watched`: a process with start/stop/alive, an optional health probe, and
what to forget when it goes (the gateway's loaded-model table, for a model server), so
any backend added later (TF Serving beside MMS) is supervised the same way.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

log = logging.getLogger(__name__)


class Process(Protocol):
    def start(self) -> object: ...  # returns once the process is up (or raises)
    def stop(self) -> object: ...  # stops it and everything it started
    def alive(self) -> bool: ...


@dataclass
class Watched:
    name: str
    process: Process
    healthy: Callable[[], bool] | None = None  # e.g. GET /ping answers 200; None: being alive is enough
    restart: bool = True  # False: only report (the AWS emulator: its state dies with it)
    on_stopped: Callable[[], None] = lambda: None  # forget what lived in the dead process
    on_started: Callable[[], None] = lambda: None
    failing_since: float | None = field(default=None, init=False)
    failed_starts: int = field(default=0, init=False)
    retry_at: float = field(default=0.0, init=False)
    reported: bool = field(default=False, init=False)


class Supervisor:
    """A thread that checks every watched process each `interval` and restarts the dead and the hung.

    A process that answers no health probe for `unhealthy_after` seconds counts as hung (long,
    so a loaded machine's slow answers do not cause restarts). A restart that fails is retried
    with a growing delay, so a process that cannot start does not spin.
    """

    def __init__(self, watched: list[Watched], say: Callable[[str], None], interval: float = 0.5,
                 unhealthy_after: float = 20.0, start_timeout: float = 120.0):
        self.watched, self.say = watched, say
        self.interval, self.unhealthy_after, self.start_timeout = interval, unhealthy_after, start_timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Supervisor":
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops watching (a restart under way finishes first); the processes keep running."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=300)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for watched in self.watched:
                if self._stop.is_set():
                    return
                try:
                    self._check(watched)
                except Exception:  # noqa: BLE001 - the supervisor itself must never die
                    log.exception("supervising %s failed", watched.name)

    def _check(self, watched: Watched) -> None:
        reason = self._failure(watched)
        if reason is None or time.monotonic() < watched.retry_at:
            return
        if not watched.restart:
            if not watched.reported:
                watched.reported = True
                self.say(f"! {watched.name} {reason}; it is not restarted (its state went with it): "
                         "stop the stack and start it again")
            return
        self._restart(watched, reason)

    def _failure(self, watched: Watched) -> str | None:
        """Why the process needs a restart, or None while it is fine (or not failing for long enough)."""
        if not watched.process.alive():
            return "exited"
        if watched.healthy is None or watched.healthy():
            watched.failing_since = None
            return None
        now = time.monotonic()
        watched.failing_since = watched.failing_since or now
        if now - watched.failing_since < self.unhealthy_after:
            return None
        return f"has not answered its health check for {now - watched.failing_since:.0f} s"

    def _restart(self, watched: Watched, reason: str) -> None:
        self.say(f"! {watched.name} {reason}: restarting it")
        started = time.monotonic()
        watched.process.stop()
        watched.on_stopped()
        try:
            watched.process.start()
            self._wait_healthy(watched)
        except Exception as error:  # noqa: BLE001 - reported, then retried later
            delay = min(30.0, 2.0 ** min(watched.failed_starts, 5))
            watched.failed_starts += 1
            watched.retry_at = time.monotonic() + delay
            self.say(f"! {watched.name} did not restart ({error}); trying again in {delay:.0f} s")
            return
        watched.failed_starts, watched.retry_at, watched.failing_since = 0, 0.0, None
        watched.on_started()
        self.say(f"- {watched.name} restarted in {time.monotonic() - started:.1f} s")

    def _wait_healthy(self, watched: Watched) -> None:
        deadline = time.monotonic() + self.start_timeout
        while watched.healthy is not None and not watched.healthy():
            if not watched.process.alive():
                raise RuntimeError("it exited while starting")
            if time.monotonic() > deadline or self._stop.is_set():
                raise RuntimeError(f"no healthy answer within {self.start_timeout:.0f} s")
            time.sleep(0.2)
