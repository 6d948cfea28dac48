"""The console over a real registry: the emulator and the dev server (local_stack.api_stack), the event
pump as `make up` runs it, and a console server in this process, all on free ports.

Shared by the console's route tests and its browser tests. No model server runs: warm-ups fail
fast, so an upload's requested aliases stay put; tests point aliases through the API. `http` is
a session logged in through a login link, as a person's browser is.
"""
from __future__ import annotations

import contextlib
import html
import re
import sys
from pathlib import Path

import boto3
import requests

from chalicelib.settings import Settings
from console.backends import Backends
from console.server import ConsoleServer
from local_stack.api_stack import ApiStack
from local_stack.processes.children import ChildProcess, free_port

TOKEN = re.compile(r'name="token" value="([^"]+)"')


def text(markup: str) -> str:
    """The words on the page as a reader sees them: tags dropped, entities read."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)))


class ConsoleStack:
    def __init__(self, api: ApiStack, pump: ChildProcess, console: ConsoleServer):
        self.api, self.pump, self.console = api, pump, console
        self.url = console.url
        self.registry = api.url
        self.bucket = Settings().bucket
        self.http = self.logged_in()

    def logged_in(self) -> requests.Session:
        """A new client that opened a fresh one-time login link (and so holds the session cookie)."""
        session = requests.Session()
        answer = session.get(self.console.new_login_url(), timeout=10, allow_redirects=False)
        assert answer.status_code == 303, answer.text
        return session

    def register(self, name: str, tarball: bytes) -> dict:
        """A version through `POST /models/{name}/versions` (synchronous), from bytes put under staging/."""
        key = f"staging/{name}-{len(tarball)}-{hash(tarball) & 0xffff}.tar.gz"
        with self.api.aws():
            boto3.Session(region_name="us-east-1").client("s3").put_object(Bucket=self.bucket, Key=key, Body=tarball)
        answer = requests.post(f"{self.registry}/models/{name}/versions", json={"source": f"s3://{self.bucket}/{key}"},
                               timeout=60)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()["version"]

    def put_alias(self, alias: str, body: dict) -> dict:
        answer = requests.put(f"{self.registry}/aliases/{alias}", json=body, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def page(self, path: str, **params) -> requests.Response:
        return self.http.get(f"{self.url}{path}", params=params, timeout=60)

    def post(self, path: str, data: dict, token: str | None = None) -> requests.Response:
        """A form POST as the browser sends it, with the token the console's pages carry."""
        token = token or TOKEN.search(self.page("/try").text).group(1)
        return self.http.post(f"{self.url}{path}", data={**data, "token": token}, timeout=60, allow_redirects=True)


@contextlib.contextmanager
def console_stack(workdir: Path):
    with ApiStack(workdir) as api:
        queue_url = _queue_url(api)
        pump = ChildProcess("the event pump", [sys.executable, "-m", "local_stack.aws.pump", "--queue-url", queue_url,
                                               "--journal", str(workdir / "pump.json")],
                            workdir / "logs" / "pump.log", env=_child_env(api)).start()
        with api.aws():  # the console's AWS clients (DescribeEndpoint, InvokeEndpoint) reach this stack
            backends = Backends.build(api.url, session=boto3.Session(region_name="us-east-1"))
        console = ConsoleServer(backends, port=free_port()).start()
        try:
            yield ConsoleStack(api, pump, console)
        finally:
            console.stop()
            pump.stop()


def _queue_url(api: ApiStack) -> str:
    with api.aws():
        sqs = boto3.Session(region_name="us-east-1").client("sqs")
        return sqs.get_queue_url(QueueName=Settings().queue)["QueueUrl"]


def _child_env(api: ApiStack) -> dict[str, str]:
    import os

    env = {**os.environ, **api.env, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_PROFILE", None)
    return env


@contextlib.contextmanager
def seeded_console_stack(workdir: Path):
    """The stack the console tests share: resnet_18 v1 and v2 (v2's weights differ), squeezenet v1, and
    alias `prod` at resnet_18 v1."""
    from hostile_tarballs import mxnet_files, tgz, valid_mxnet

    with console_stack(workdir) as stack:
        stack.register("resnet_18", valid_mxnet(prefix="model"))
        stack.register("resnet_18", tgz(mxnet_files(params_size=8192)))
        stack.register("squeezenet", valid_mxnet())
        stack.put_alias("prod", {"model": "resnet_18", "version": 1})
        yield stack
