"""The local stack: every piece of the registry on one machine, on 127.0.0.1 only.

    AWS emulator (moto, child process)   S3, SQS, DynamoDB, SageMaker control plane
    registry API (`chalice local`, child process)
    event pump (child process)           SQS → the Chalice ingest handler, as Lambda would
    MMS (the container entrypoint, child process)
    TF Serving backend (child process under the TF venv, started on the first TF invoke)
    runtime gateway (thread)             InvokeEndpoint → MMS or TF Serving, by the endpoint's image
    console (child process)              the web pages (`python -m console`), over the registry API

Once up, a supervisor (processes/supervisor.py) restarts the API, the pump, MMS, TF Serving and the console
when one dies or stops answering; the emulator holds all state, so its death is reported, not hidden. A
restarted console has a new one-time login link (its sessions died with it): the stack prints it.
`Stack` is a context manager: leaving it stops everything it started. Start it from the
main thread: its children are told to stop when the thread that started them ends.
"""
from __future__ import annotations

import json
import os
import shlex
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from local_stack.runtime.endpoints import TF_SERVING
from local_stack.processes.children import ChildProcess, StartError, free_port, port_is_free
from local_stack.processes.console_child import ConsoleChild
from local_stack.processes.supervisor import Supervisor, Watched
from publisher.settings import TENSORFLOW_IMAGE

REPO = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
HOST = "127.0.0.1"


# The gateway serves an endpoint whose image is a TF Serving inference image with the TF backend: the
# publisher's default, so the local TF endpoint names the image a deployed one runs.
LOCAL_TENSORFLOW_IMAGE = TENSORFLOW_IMAGE.format(region=REGION)


def local_endpoint_settings() -> dict[str, str]:
    """What the local endpoints are, given to the publisher explicitly (it has no defaults of its
    own): the registry's bucket and its two endpoint names (MXNet, TensorFlow), and images and a
    role nothing pulls or assumes."""
    from chalicelib.settings import Settings

    registry = Settings()
    return {"endpoint_name": registry.endpoint, "bucket": registry.bucket, "models_prefix": registry.models_prefix,
            "region": registry.region, "image": "mme-registry-container:local", "instance_type": "ml.m5.large",
            "role_arn": "arn:aws:iam::123456789012:role/mme-registry-local-sagemaker",
            "tensorflow_endpoint_name": registry.tensorflow_endpoint, "tensorflow_image": LOCAL_TENSORFLOW_IMAGE}


@dataclass(frozen=True)
class StackConfig:
    emulator_port: int = 4566
    api_port: int = 8000
    gateway_port: int = 8080
    console_port: int = 8001
    mms_port: int | None = None  # any free port
    workdir: Path = REPO / ".local"
    env_file: Path | None = None  # default: <workdir>/env
    memory_budget_mib: int | None = None  # memory the models loaded in a backend may take (the gateway's default)
    start_timeout: float = 120.0

    def with_free_ports(self) -> "StackConfig":
        """Ports nothing listens on: tests and benches run beside a developer's `make up`."""
        return replace(self, emulator_port=free_port(), api_port=free_port(), gateway_port=free_port(),
                       console_port=free_port())

    @property
    def emulator_url(self) -> str:
        return f"http://{HOST}:{self.emulator_port}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{HOST}:{self.gateway_port}"

    @property
    def console_url(self) -> str:
        return f"http://{HOST}:{self.console_port}"

    def client_env(self) -> dict[str, str]:
        """What user code needs, and nothing else: standard boto3 endpoint settings and the registry URL."""
        return {
            "AWS_ENDPOINT_URL": self.emulator_url,
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.gateway_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "MME_REGISTRY_URL": self.api_url,
        }


def export_line(env: dict[str, str]) -> str:
    return "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())


def read_env_file(path: Path) -> dict[str, str]:
    """Parses the `export K=V ...` line written by `Stack.write_env_file`."""
    words = shlex.split(Path(path).read_text())
    return dict(word.split("=", 1) for word in words if "=" in word)


class Stack:
    def __init__(self, config: StackConfig | None = None, say: Callable[[str], None] = print):
        self.config = config or StackConfig()
        self.say = say
        self.env = self.config.client_env()
        self.emulator: ChildProcess | None = None
        self.api: ChildProcess | None = None
        self.mms = None
        self.tf = None
        self.gateway = None
        self.console: ConsoleChild | None = None
        self.pump: ChildProcess | None = None
        self.supervisor: Supervisor | None = None
        self.resources: dict[str, str] = {}
        self._mms_error: BaseException | None = None
        self._mms_thread: threading.Thread | None = None
        self._wrote_env_file = False

    @property
    def env_file(self) -> Path:
        return self.config.env_file or self.config.workdir / "env"

    # starting ----------------------------------------------------------------
    def start(self) -> "Stack":
        config = self.config
        started = time.monotonic()
        self._check_ports()
        logs = config.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        # This process talks to its own emulator and gateway (the pump, provisioning, the demo's client).
        os.environ.update(self.env)
        os.environ.pop("AWS_PROFILE", None)
        try:
            self.say(f"- AWS emulator        starting on {config.emulator_url}")
            self.emulator = ChildProcess(
                "the AWS emulator", [sys.executable, "-m", "local_stack.aws.emulator", "--host", HOST, "--port",
                                     str(config.emulator_port)], logs / "emulator.log", env=self._child_env()).start()
            self.say(f"- registry API        starting on {config.api_url} (chalice local)")
            self.api = ChildProcess("the registry API (chalice local)", self._chalice_argv(), logs / "api.log",
                                    env=self._child_env(), cwd=REPO / "registry_app").start()
            self.say(f"- console             starting on {config.console_url} (python -m console)")
            self.console = ConsoleChild(HOST, config.console_port, config.api_url, config.gateway_url,
                                        logs / "console.log", self._child_env(), config.start_timeout).launch()
            self._mms_thread = threading.Thread(target=self._start_mms, name="mms-start", daemon=True)
            self.say("- model server (MMS)  starting (container/dockerd-entrypoint.py serve)")
            self._mms_thread.start()

            self.emulator.wait_for_http(f"{config.emulator_url}/moto-api/", config.start_timeout)
            self._provision()
            self._deploy_endpoint()
            self._mms_thread.join(config.start_timeout)
            if self._mms_error is not None or self.mms is None:
                raise StartError(f"the model server did not start: {self._mms_error}")
            self.say(f"- model server (MMS)  up on {self.mms.url}")
            self._prepare_tf()
            self._start_gateway()
            self._start_pump()
            self.api.wait_for_http(f"{config.api_url}/health", config.start_timeout,
                                   healthy=lambda r: r.status_code == 200)
            self.say(f"- registry API        up on {config.api_url}")
            self.console.wait_for_login(config.start_timeout)
            self.say(f"- console             up on {self.console.url}/ (models, aliases, uploads, try it; log in with "
                     "the link below)")
            self._supervise()
        except BaseException:
            self.stop()
            raise
        self.write_env_file()
        self.say(f"Local stack ready in {time.monotonic() - started:.1f} s. Console: {self.console.login_url}")
        return self

    def _check_ports(self) -> None:
        config = self.config
        for name, port in (("emulator", config.emulator_port), ("API", config.api_port),
                           ("gateway", config.gateway_port), ("console", config.console_port)):
            if not port_is_free(port):
                raise StartError(f"port {port} ({name}) is already in use on {HOST}: is another `make up` "
                                 f"running? Stop it, or choose other ports (python -m local_stack up --help).")

    def _child_env(self) -> dict[str, str]:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        env.pop("AWS_PROFILE", None)
        return env

    def _chalice_argv(self) -> list[str]:
        from local_stack.aws.devserver import argv

        return argv(HOST, self.config.api_port)

    def _provision(self) -> None:
        import boto3

        from chalicelib.settings import Settings
        from local_stack.aws.provision import provision

        settings = Settings()
        self.resources = provision(boto3.Session(region_name=REGION), settings)
        self.say(f"- AWS emulator        up: bucket {settings.bucket}, tables, queue + DLQ, S3 → SQS notification")

    def _deploy_endpoint(self) -> None:
        import boto3

        from publisher.deploy import deploy
        from publisher.settings import PublisherSettings

        settings = PublisherSettings(**local_endpoint_settings(), poll_seconds=1, timeout_seconds=60)
        for result in deploy(settings, boto3.Session(region_name=REGION)):
            desired = result.plan.desired
            self.say(f"- SageMaker endpoint  {desired.endpoint_name}: {result.status or 'up to date'} "
                     f"(MultiModel {desired.framework} on {desired.model.image}, {settings.model_data_url})")

    def _start_mms(self) -> None:
        from local_stack.runtime.mms.backend import MmsServer

        try:
            self.mms = MmsServer(self.config.workdir / "mms", self.config.mms_port).start(
                timeout=self.config.start_timeout)
        except BaseException as error:  # reported by start() in the main thread
            self._mms_error = error

    def _prepare_tf(self) -> None:
        """The TF Serving backend, started by the first invoke of an endpoint whose image is AWS's TF one:
        TensorFlow's import costs seconds an MXNet-only session need not pay."""
        from local_stack.environments import tf_env
        from local_stack.runtime.tensorflow.backend import TfServingServer

        self.tf = TfServingServer(self.config.workdir / "tf-serving", lazy=True,
                                  start_timeout=self.config.start_timeout)
        state = "starts on the first TF invoke" if tf_env.is_current() else \
            f"cannot start: the TF environment is not built (make tf-env, into {tf_env.venv_dir()})"
        self.say(f"- TF Serving backend  {state} ({self.tf.url})")

    def _start_gateway(self) -> None:
        import boto3

        from local_stack.runtime.gateway import GatewayServer
        from local_stack.runtime.model_cache import Budget

        budget = Budget() if self.config.memory_budget_mib is None else Budget(self.config.memory_budget_mib * 2**20)
        self.gateway = GatewayServer(self.mms.url, boto3.Session(region_name=REGION), self.config.workdir / "gateway",
                                     budget, host=HOST, port=self.config.gateway_port, tf_serving=self.tf).start()
        self.say(f"- runtime gateway     up on {self.config.gateway_url} (InvokeEndpoint → MMS or TF Serving, "
                 f"at most {budget.max_bytes // 2**20} MiB of models loaded in each)")

    def _start_pump(self) -> None:
        journal = self.config.workdir / "pump-in-flight.json"
        journal.unlink(missing_ok=True)  # a previous stack's: its queue died with its emulator
        argv = [sys.executable, "-m", "local_stack.aws.pump", "--queue-url", self.resources["queue_url"],
                "--journal", str(journal)]
        self.pump = ChildProcess("the event pump", argv, self.config.workdir / "logs" / "pump.log",
                                 env=self._child_env()).start()
        self.say("- event pump          draining the ingest queue into the Chalice handler; sweeping incoming/")

    def _stop_pump(self) -> None:
        if self.pump is not None:
            self.pump.stop()

    def _supervise(self) -> None:
        """Restarts what dies, as SageMaker replaces a container that stops answering /ping."""
        api_health = f"{self.config.api_url}/health"
        self.supervisor = Supervisor([
            Watched("the AWS emulator", self.emulator, restart=False),
            Watched("the model server (MMS)", self.mms, healthy=self.mms.ping,
                    on_stopped=self.gateway.gateway.backend_restarted, on_started=self.write_env_file),
            Watched("the TF Serving backend", self.tf, healthy=self.tf.healthy,
                    on_stopped=lambda: self.gateway.gateway.backend_restarted(TF_SERVING),
                    on_started=self.write_env_file),
            Watched("the registry API", self.api, healthy=lambda: _answers(api_health), on_started=self.write_env_file),
            Watched("the event pump", self.pump, on_started=self.write_env_file),
            Watched("the console", self.console, healthy=lambda: _answers(self.console.health_url),
                    on_started=self._console_restarted),
        ], say=self.say, start_timeout=self.config.start_timeout).start()

    def _console_restarted(self) -> None:
        """The old link and every browser's session went with the old process: the new link is the way in."""
        self.write_env_file()
        self.say(f"- the console has a new login link (log in again: its sessions ended; the link works once): "
                 f"{self.console.login_url}")

    def describe(self) -> dict:
        """Every address of the running stack, including the internal ones (MMS) tests and benches look at."""
        pids = {name: process.process.pid for name, process in (("emulator", self.emulator), ("api", self.api),
                                                          ("pump", self.pump), ("mms", self.mms), ("tf", self.tf),
                                                          ("console", self.console))
                if process is not None and process.process is not None}
        return {**self.env, "mms_url": self.mms.url if self.mms else None,
                "tf_url": self.tf.url if self.tf else None, "workdir": str(self.config.workdir),
                "console_url": self.console.url if self.console else None,
                "queue_url": self.resources.get("queue_url"), "dlq_url": self.resources.get("dlq_url"),
                "pids": pids}

    def write_env_file(self) -> None:
        """`<env file>`: the export line; `<env file>.json`: `describe()`. Both appear whole, the line last."""
        path = self.env_file
        path.parent.mkdir(parents=True, exist_ok=True)
        for target, text in ((path.with_name(path.name + ".json"), json.dumps(self.describe(), indent=2)),
                             (path, export_line(self.env) + "\n")):
            partial = target.with_name(target.name + ".partial")
            partial.write_text(text)
            partial.replace(target)
        self._wrote_env_file = True

    # stopping ----------------------------------------------------------------
    def stop(self) -> None:
        """Stops what was started, newest first; never raises, so every piece gets its turn."""
        if self.supervisor is not None:
            self.supervisor.stop()  # first: nothing may be restarted (nor the env file rewritten) from now on
        if self._wrote_env_file:  # never another stack's: a start that failed on a busy port wrote none
            self.env_file.unlink(missing_ok=True)
            self.env_file.with_name(self.env_file.name + ".json").unlink(missing_ok=True)
            self._wrote_env_file = False
        if self._mms_thread is not None:
            self._mms_thread.join(self.config.start_timeout)  # a server still starting must not be left behind
        for name, stop in (("console", lambda: self.console and self.console.stop()),
                           ("event pump", self._stop_pump),
                           ("runtime gateway", lambda: self.gateway and self.gateway.stop()),
                           ("registry API", lambda: self.api and self.api.stop()),
                           ("model server", lambda: self.mms and self.mms.stop()),
                           ("TF Serving backend", lambda: self.tf and self.tf.stop()),
                           ("AWS emulator", lambda: self.emulator and self.emulator.stop())):
            try:
                stop()
            except Exception as error:  # noqa: BLE001 - report and carry on stopping the rest
                self.say(f"  (stopping the {name} failed: {error})")
        self.pump = self.gateway = self.console = self.api = self.mms = self.tf = self.emulator = self.supervisor = None

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _answers(url: str) -> bool:
    """A health probe (the API's, the console's): a 200 from `url`; anything else, a refused connection included,
    is unhealthy."""
    import requests

    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False
