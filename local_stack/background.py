"""`python -m local_stack up` as a child process, for tests and benches.

A test process must not host the stack itself: other tests in it patch botocore
(moto's `mock_aws`) and reset moto's in-process state, which would reach the stack's
threads. A separate process also measures what a user's process sees.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from local_stack.processes.children import StartError, log_tail
from local_stack.stack import read_env_file


class BackgroundStack:
    def __init__(self, workdir: Path, memory_budget_mib: int | None = None, timeout: float = 180):
        self.workdir = Path(workdir).resolve()
        self.memory_budget_mib = memory_budget_mib
        self.timeout = timeout
        self.env_file = self.workdir / "env"
        self.log_path = self.workdir / "up.log"
        self.process: subprocess.Popen | None = None
        self.env: dict[str, str] = {}
        self.info: dict = {}

    def start(self) -> "BackgroundStack":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env_file.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "local_stack", "up", "--free-ports", "--workdir", str(self.workdir),
                "--env-file", str(self.env_file)]
        if self.memory_budget_mib is not None:
            argv += ["--memory-budget", str(self.memory_budget_mib)]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + self.timeout
        while not self.env_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                reason = f"exited with {self.process.returncode}" if self.process.poll() is not None else "timed out"
                self.stop()
                raise StartError(f"the local stack did not start ({reason}):\n{log_tail(self.log_path, 60)}")
            time.sleep(0.2)
        self.env = read_env_file(self.env_file)
        self.info = json.loads(self.env_file.with_name(self.env_file.name + ".json").read_text())
        return self

    def stop(self, timeout: float = 90) -> int | None:
        """SIGTERM (the stack stops its children in order), then SIGKILL if it hangs."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait()

    def __enter__(self) -> "BackgroundStack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
