"""Runs the TF Serving backend (serving.py) as a child process under the TF venv and speaks
the same MME container API to it as to MMS (MmeApi), so the gateway's ModelCache, the
supervisor and the tests treat both backends alike.

`lazy=True` starts it on first use: TensorFlow's import costs seconds, which an MXNet-only
`make demo` need not pay; the supervisor then sees an unstarted backend as healthy.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from local_stack.environments import tf_env
from local_stack.runtime.mms.backend import MmeApi
from local_stack.processes.children import ChildProcess, StartError, free_port, log_tail, port_is_free

REPO = Path(__file__).resolve().parents[3]
MEMORY_BUDGET_ENV = "MME_TF_MEMORY_BUDGET_MB"  # as MME_HANDLER_MEMORY_BUDGET_MB is for MMS


class TfServingServer(MmeApi):
    def __init__(self, workdir: Path, port: int | None = None, *, memory_budget_mb: float | None = None,
                 lazy: bool = False, start_timeout: float = 120):
        self.port = port or free_port()
        super().__init__(f"http://127.0.0.1:{self.port}")
        self.workdir = Path(workdir).resolve()
        self.log_path = self.workdir / "tf_serving.log"
        self.memory_budget_mb = memory_budget_mb or (float(os.environ[MEMORY_BUDGET_ENV])
                                                     if os.environ.get(MEMORY_BUDGET_ENV) else None)
        self.lazy, self.start_timeout = lazy, start_timeout
        self.process: ChildProcess | None = None
        self._started = False
        self._starting = threading.Lock()
        # Every spawn happens on this one long-lived thread: a child is told to stop when the thread
        # that started it ends (processes/children.py), and a gateway request's thread ends with the request.
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="tf-backend")

    def argv(self) -> list[str]:
        argv = [str(tf_env.interpreter()), "-m", "local_stack.runtime.tensorflow.serving", "--port", str(self.port)]
        if self.memory_budget_mb is not None:
            argv += ["--memory-budget-mb", str(self.memory_budget_mb)]
        return argv

    def start(self, timeout: float | None = None) -> "TfServingServer":
        """Starts the process and waits for `GET /ping`; with `lazy`, only marks it to start on first use."""
        if self.lazy and not self._started:
            return self
        with self._starting:
            self._spawner.submit(self._spawn, timeout or self.start_timeout).result()
        return self

    def ensure_started(self) -> "TfServingServer":
        """The backend, started now if it was lazy and nobody started it yet."""
        with self._starting:
            if not self._started:
                self._spawner.submit(self._spawn, self.start_timeout).result()
        return self

    def _spawn(self, timeout: float) -> None:
        if not port_is_free(self.port):  # taken since it was chosen (a lazy start comes much later)
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"  # the gateway reads it on every call
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.process = ChildProcess("the TF Serving backend", self.argv(), self.log_path, env=env, cwd=REPO).start()
        self._started = True
        deadline = time.monotonic() + timeout
        while not self.ping(timeout=2):
            if not self.process.alive() or time.monotonic() > deadline:
                self.stop()
                raise StartError(f"the TF Serving backend on port {self.port} did not answer /ping:\n"
                                 f"{log_tail(self.log_path)}")
            time.sleep(0.2)

    def alive(self) -> bool:
        return not self._started or (self.process is not None and self.process.alive())

    def healthy(self) -> bool:
        return not self._started or self.ping()

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    def stop(self) -> None:
        self.http.close()
        if self.process is not None:
            self.process.stop()

    def __enter__(self) -> "TfServingServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
