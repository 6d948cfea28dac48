"""The registry API alone, over HTTP: the AWS emulator and `chalice local`, provisioned, on free ports.

For tests that speak to the real dev server but need no model server: it starts in seconds,
where the whole stack (MMS, Java, the gateway) takes a minute. Both children are the very
processes `Stack` starts; leaving the context manager stops them.
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from local_stack.aws import devserver
from local_stack.processes.children import ChildProcess, free_port
from local_stack.stack import HOST, REGION, REPO, StackConfig


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    """boto3 reads endpoints and credentials from the environment: set them only while they are needed."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class ApiStack:
    def __init__(self, workdir: Path, timeout: float = 120):
        self.workdir = Path(workdir)
        self.timeout = timeout
        # No gateway runs: its port is a free one, so a warm-up fails fast instead of reaching someone's `make up`.
        self.config = StackConfig(emulator_port=free_port(), api_port=free_port(), gateway_port=free_port(),
                                  workdir=self.workdir)
        self.env = self.config.client_env()
        self.emulator: ChildProcess | None = None
        self.api: ChildProcess | None = None

    @property
    def url(self) -> str:
        return self.config.api_url

    def start(self) -> "ApiStack":
        logs = self.workdir / "logs"
        child_env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        child_env.pop("AWS_PROFILE", None)
        try:
            self.emulator = ChildProcess(
                "the AWS emulator", [sys.executable, "-m", "local_stack.aws.emulator", "--host", HOST,
                                     "--port", str(self.config.emulator_port)], logs / "emulator.log",
                env=child_env).start()
            self.api = ChildProcess("the registry API (chalice local)", devserver.argv(HOST, self.config.api_port),
                                    logs / "api.log", env=child_env, cwd=REPO / "registry_app").start()
            self.emulator.wait_for_http(f"{self.config.emulator_url}/moto-api/", self.timeout)
            self._provision()
            self.api.wait_for_http(f"{self.url}/health", self.timeout, healthy=lambda r: r.status_code == 200)
        except BaseException:
            self.stop()
            raise
        return self

    def _provision(self) -> None:
        import boto3

        from chalicelib.settings import Settings
        from local_stack.aws.provision import provision

        with self.aws():
            provision(boto3.Session(region_name=REGION), Settings())

    def aws(self):
        """A context in which boto3 clients reach this stack's emulator (and nothing else does)."""
        return _environment(self.env)

    def stop(self) -> None:
        for child in (self.api, self.emulator):
            if child is not None:
                child.stop()
        self.api = self.emulator = None

    def __enter__(self) -> "ApiStack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
