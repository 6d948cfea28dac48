"""Runs the MME container's entrypoint as a local process and speaks its API.

The process is `python container/dockerd-entrypoint.py serve`, exactly what the
Dockerfile runs, bound to 127.0.0.1 on a free port with its own state
directory, so tests, the bench and the local runtime gateway all exercise the
code SageMaker would run, and several servers can share one machine.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import requests

from local_stack.processes.children import free_port

REPO = Path(__file__).resolve().parents[3]
ENTRYPOINT = REPO / "container" / "dockerd-entrypoint.py"
TARGET_MODEL_HEADER = "X-Amzn-SageMaker-Target-Model"


class MmsStartError(RuntimeError):
    """MMS did not answer /ping in time; the message carries the log tail."""


@dataclass(frozen=True)
class InvokeResult:
    """One invocation's answer, whatever its status."""

    status: int
    headers: requests.structures.CaseInsensitiveDict
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def json(self):
        import json

        return json.loads(self.body)


class MmeApi:
    """Thin helpers over the SageMaker multi-model container API of an MMS at `url`."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.http = requests.Session()

    def ping(self, timeout: float = 5) -> bool:
        try:
            return self.http.get(f"{self.url}/ping", timeout=timeout).status_code == 200
        except requests.RequestException:
            return False

    def load(
        self,
        name: str,
        path: str | Path,
        *,
        batch_size: int | None = None,
        max_batch_delay_ms: int | None = None,
        workers: int | None = None,
        timeout: float = 300,
    ) -> requests.Response:
        """`POST /models` with an extracted model folder: 200 loaded, 409 already, 507 no memory.

        After a 507, MMS 1.1 keeps the name registered with no workers (invokes answer 503 and
        a second load 409), so this unregisters it: a caller can free memory and load again.
        """
        body: dict = {"model_name": name, "url": str(Path(path).resolve())}
        if batch_size is not None:
            body["batch_size"] = batch_size
        if max_batch_delay_ms is not None:
            body["max_batch_delay"] = max_batch_delay_ms
        if workers is not None:
            body["initial_workers"] = workers
        response = self.http.post(f"{self.url}/models", json=body, timeout=timeout)
        if response.status_code == 507:
            self.unload(name)
        return response

    def unload(self, name: str, timeout: float = 120) -> requests.Response:
        return self.http.delete(f"{self.url}/models/{name}", timeout=timeout)

    def describe(self, name: str, timeout: float = 30) -> requests.Response:
        return self.http.get(f"{self.url}/models/{name}", timeout=timeout)

    def list_models(self, limit: int | None = None, next_page_token: str | None = None, timeout: float = 30) -> dict:
        """One page of `GET /models`: `{"models": [...], "nextPageToken": ...}` (token absent on the last page)."""
        params = {k: v for k, v in (("limit", limit), ("next_page_token", next_page_token)) if v is not None}
        response = self.http.get(f"{self.url}/models", params=params, timeout=timeout)
        response.raise_for_status()
        return response.json()

    def all_models(self, page_size: int = 100) -> list[str]:
        """Every loaded model name, following `nextPageToken`."""
        names: list[str] = []
        token = None
        while True:
            page = self.list_models(limit=page_size, next_page_token=token)
            names += [m["modelName"] for m in page.get("models", [])]
            token = page.get("nextPageToken")
            if not token:
                return names

    def invoke(
        self, name: str, body: bytes | str, content_type: str, accept: str | None = None, timeout: float = 120
    ) -> InvokeResult:
        """`POST /models/{name}/invoke`, as SageMaker forwards an InvokeEndpoint with TargetModel."""
        headers = {"Content-Type": content_type, TARGET_MODEL_HEADER: name}
        if accept:
            headers["Accept"] = accept
        response = self.http.post(f"{self.url}/models/{name}/invoke", data=body, headers=headers, timeout=timeout)
        return InvokeResult(response.status_code, response.headers, response.content)


class MmsServer(MmeApi):
    """The container entrypoint running as a local process (see `start_mms`)."""

    def __init__(self, workdir: Path, port: int | None = None, env: dict | None = None):
        self.workdir = Path(workdir).resolve()
        self.port = port or free_port()
        super().__init__(f"http://127.0.0.1:{self.port}")
        self.state_dir = self.workdir / "state"
        self.log_path = self.workdir / "entrypoint.log"
        self.env = {
            **os.environ,
            **(env or {}),
            "SAGEMAKER_BIND_TO_PORT": str(self.port),
            "MME_BIND_HOST": "127.0.0.1",
            "MME_STATE_DIR": str(self.state_dir),
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("MME_IN_CONTAINER", None)
        self.process: subprocess.Popen | None = None

    def alive(self) -> bool:
        """Whether the entrypoint runs (it exits when MMS's frontend does)."""
        return self.process is not None and self.process.poll() is None

    @property
    def mms_log_path(self) -> Path:
        """MMS's own log (frontend and worker output, including model load errors)."""
        return self.state_dir / "logs" / "mms_log.log"

    def start(self, timeout: float = 120) -> "MmsServer":
        """Starts the entrypoint in its own process group and waits for `GET /ping` 200."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ENTRYPOINT), "serve"],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # one process group: stop() can reach every MMS process
            )
        deadline = time.monotonic() + timeout
        while not self.ping(timeout=2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                reason = f"exited with {self.process.returncode}" if self.process.poll() is not None else "timed out"
                self.stop()
                raise MmsStartError(f"MMS on port {self.port} did not become healthy ({reason}):\n{self.log_tail()}")
            time.sleep(0.2)
        return self

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the entrypoint's output and of MMS's own log."""
        parts = []
        for path in (self.log_path, self.mms_log_path):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path}\n" + "\n".join(text))
        return "\n".join(parts) or "(no log written)"

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM to the entrypoint (it stops MMS's frontend and workers), then SIGKILL whatever is left."""
        if self.process is None:
            return None
        self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # backstop: nothing of this group may outlive us
        except (ProcessLookupError, PermissionError):
            pass
        return self.process.wait()

    def __enter__(self) -> "MmsServer":
        return self if self.process else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextmanager
def start_mms(
    workdir: Path, port: int | None = None, env: dict | None = None, timeout: float = 120
) -> Iterator[MmsServer]:
    """A healthy MMS for the duration of the block; always stopped afterwards."""
    server = MmsServer(workdir, port, env)
    server.start(timeout=timeout)
    try:
        yield server
    finally:
        server.stop()
