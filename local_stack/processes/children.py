"""Child processes of the local stack: each in its own session (so Ctrl-C reaches only the
stack, which then stops them in order), each logging to a file, each stopped by process
group, and each told by the kernel to stop if the stack dies without cleaning up."""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


class StartError(RuntimeError):
    """A piece of the stack did not come up; the message says which and shows its log."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on `port` now: only a live listener makes it busy.

    SO_REUSEADDR, as every server of the stack sets it: without it, the TIME_WAIT sockets a
    stopped stack leaves behind for a minute made a restart fail with "already in use"
    while nothing ran. With it, Linux still refuses the bind while anything listens there.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    MMS 1.1 rejects ports from 32767 up, and Linux hands out ephemeral ports above
    that, so this probes random ports below it instead of binding port 0.
    """
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20000, 32767)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-32766 on 127.0.0.1")


def _die_with_parent() -> None:
    """PR_SET_PDEATHSIG: SIGTERM this child when the thread that started it exits (Linux only)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


def log_tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(no log written)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class ChildProcess:
    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict | None = None, cwd: Path | None = None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.process: subprocess.Popen | None = None

    def start(self) -> "ChildProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # One log per stack run, so its tail explains this run; a restart appends, keeping why it died.
        with open(self.log_path, "ab" if self.process else "wb") as log:
            self.process = subprocess.Popen(
                self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
            )
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_for_http(self, url: str, timeout: float, healthy=lambda r: r.status_code < 500) -> None:
        """Polls `url` until it answers; fails early, with the log, if the process exits."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise StartError(f"{self.name} exited with {self.process.returncode}:\n{log_tail(self.log_path)}")
            try:
                if healthy(requests.get(url, timeout=2)):
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise StartError(f"{self.name} did not answer {url} within {timeout:.0f} s:\n{log_tail(self.log_path)}")
            time.sleep(0.1)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM to the process group, then SIGKILL to whatever is left of it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
