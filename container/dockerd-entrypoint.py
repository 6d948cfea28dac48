#!/usr/bin/env python3
"""Entrypoint of the MME inference container.

`serve` starts Multi Model Server through the SageMaker Inference Toolkit in
multi-model mode with `model_handler:handle`; any other arguments run as a
command (exec), as SageMaker and `docker run IMAGE bash` expect.

The same file runs outside Docker (`python container/dockerd-entrypoint.py
serve`): it then listens on 127.0.0.1 only and keeps every file MMS writes in a
per-instance state directory, so several servers can run side by side.

Environment (all optional):
  SAGEMAKER_BIND_TO_PORT   port for both the inference and management API (default 8080;
                           MMS 1.1 accepts only ports below 32767).
  MME_BIND_HOST            interface to listen on. Default 0.0.0.0 inside the container
                           (MME_IN_CONTAINER=true), else 127.0.0.1.
  MME_IN_CONTAINER         "true" marks a container run; the Dockerfile sets it. (Not
                           /.dockerenv: hosts and VMs built from Docker images carry one too.)
  MME_STATE_DIR            per-instance directory for the MMS config file (mms.properties),
                           temp files (tmp/: MMS pid file, worker sockets) and logs (logs/).
                           Default <system temp dir>/mme-mms-<port>.
  SAGEMAKER_MODEL_SERVER_WORKERS  workers per loaded model (toolkit; MMS default 1).
  MME_HANDLER_MEMORY_BUDGET_MB    read by model_handler.py (loads over budget answer 507).
  JAVA_HOME                where MMS finds java (else java on PATH).
Set by this entrypoint for MMS and its workers, derived from the above:
  SAGEMAKER_MULTI_MODEL=true, MMS_INFERENCE_ADDRESS, MMS_MANAGEMENT_ADDRESS, TMPDIR, TEMP,
  LOG_LOCATION, METRICS_LOCATION, PYTHONPATH (+ this folder), PATH (+ this Python's bin),
  SAGEMAKER_BASE_DIR (outside a container only: <state>/ml instead of /opt/ml).
MMS's model store stays "/" (the toolkit's choice): any absolute folder is a valid
`url` for POST /models, and MMS reads it in place.
"""
from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
HANDLER = "model_handler:handle"


def in_container() -> bool:
    return os.environ.get("MME_IN_CONTAINER", "").lower() == "true"


def java_executable() -> str | None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        java = Path(java_home) / "bin" / "java"
        return str(java) if os.access(java, os.X_OK) else None
    return shutil.which("java")


def configure_environment(env: dict) -> Path:
    """Points MMS, its workers and the toolkit at this instance's host, port and state dir."""
    port = env.get("SAGEMAKER_BIND_TO_PORT") or "8080"
    env["SAGEMAKER_BIND_TO_PORT"] = port
    host = env.get("MME_BIND_HOST") or ("0.0.0.0" if in_container() else "127.0.0.1")
    state = Path(env.get("MME_STATE_DIR") or Path(tempfile.gettempdir()) / f"mme-mms-{port}").resolve()
    for sub in ("tmp", "logs"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    env["SAGEMAKER_MULTI_MODEL"] = "true"
    # The toolkit writes inference/management_address=0.0.0.0:<port> into the config; MMS
    # lets MMS_* variables override config keys because the toolkit's multi-model
    # defaults set enable_envvars_config=true.
    env["MMS_INFERENCE_ADDRESS"] = env["MMS_MANAGEMENT_ADDRESS"] = f"http://{host}:{port}"
    # TMPDIR: the MMS launcher's `.model_server.pid` (tempfile.gettempdir()); TEMP: MMS
    # passes it as java.io.tmpdir, where the frontend puts its worker sockets
    # (.mms.sock.<n>) that would otherwise clash between two servers on one machine.
    env["TMPDIR"] = env["TEMP"] = str(state / "tmp")
    env["LOG_LOCATION"] = env["METRICS_LOCATION"] = str(state / "logs")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH")) if p)
    # The toolkit runs `multi-model-server` from PATH: use the one beside this Python.
    env["PATH"] = os.pathsep.join(p for p in (str(Path(sys.executable).parent), env.get("PATH")) if p)
    if not in_container():
        env.setdefault("SAGEMAKER_BASE_DIR", str(state / "ml"))
    return state


def serve() -> int:
    if java_executable() is None:
        print(
            "error: Multi Model Server needs Java 8+ and none was found (JAVA_HOME unset or wrong, no java on PATH).\n"
            "Install a JRE, e.g. 'apt-get install -y openjdk-17-jre-headless', or set JAVA_HOME.",
            file=sys.stderr,
        )
        return 2
    port = os.environ.get("SAGEMAKER_BIND_TO_PORT") or "8080"
    if not port.isdigit() or not 0 < int(port) < 32767:
        print(f"error: SAGEMAKER_BIND_TO_PORT={port!r}: MMS 1.1 needs a port from 1 to 32766", file=sys.stderr)
        return 2
    state = configure_environment(os.environ)
    tempfile.tempdir = None  # re-read TMPDIR

    # Imported only now: the toolkit reads SAGEMAKER_MULTI_MODEL at import time.
    from sagemaker_inference import model_server

    # Two pieces of the toolkit cannot be redirected by configuration:
    # 1. it writes its config to /etc/sagemaker-mms.properties (a module constant read at
    #    call time): a second server would overwrite it, and /etc is not ours outside a
    #    container. Point it at this instance's state dir.
    model_server.MMS_CONFIG_FILE = str(state / "mms.properties")
    # 2. it finds "the" MMS by scanning every process for the frontend's class name and
    #    refuses to start when there are two. The MMS launcher records the frontend's pid
    #    in TMPDIR/.model_server.pid, which is per instance here: read that instead.
    model_server._retrieve_mms_server_process = _this_instance_frontend
    if not _clear_stale_pid_file():
        print(f"error: another MMS already runs with the state dir {state}; set MME_STATE_DIR", file=sys.stderr)
        return 1
    print(f"mme container: serving on {os.environ['MMS_INFERENCE_ADDRESS']}, state in {state}", flush=True)
    _become_subreaper()
    # Until the toolkit has found the frontend and installs its own handlers: reap the MMS
    # launcher (it exits at once), and let SIGTERM unwind into the clean-up below.
    signal.signal(signal.SIGCHLD, _reap_children)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        # Returns when the frontend exits; the toolkit forwards SIGTERM to it.
        model_server.start_model_server(handler_service=HANDLER)
    except KeyboardInterrupt:
        return 130
    finally:
        # The toolkit's SIGCHLD handler logs an error whenever it finds nothing left to reap;
        # from here on psutil reaps what it waits for.
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _stop_descendants()
        for leftover in [*(state / "tmp").glob(".mms.sock.*"), state / "tmp" / ".model_server.pid"]:
            leftover.unlink(missing_ok=True)
    return 0


def _become_subreaper() -> None:
    """Makes orphaned MMS processes our children, so stopping the entrypoint stops them all.

    The MMS launcher exits right after spawning the Java frontend, and the frontend's
    Python workers outlive it when it is stopped (their listening process never notices).
    As a child subreaper (Linux; PID 1 in a container already is one) we inherit both.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _reap_children(signum, frame) -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def _stop_descendants(grace_seconds: float = 5.0) -> None:
    """Terminates every process left below us (the frontend, then any worker), then kills stragglers."""
    import psutil

    leftovers = psutil.Process().children(recursive=True)
    for process in leftovers:
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(leftovers, timeout=grace_seconds)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


def _clear_stale_pid_file() -> bool:
    """Removes a pid file left by a crashed run (MMS would refuse to start); False if it is live."""
    try:
        _this_instance_frontend()
    except Exception:  # noqa: BLE001 - no file, bad content, dead or foreign pid: all stale
        (Path(tempfile.gettempdir()) / ".model_server.pid").unlink(missing_ok=True)
        return True
    return False


def _this_instance_frontend():
    """The MMS Java frontend started by this entrypoint (raises until it is up; the toolkit retries)."""
    import psutil

    pid_file = Path(tempfile.gettempdir()) / ".model_server.pid"
    process = psutil.Process(int(pid_file.read_text().strip()))  # missing file: retried
    if process.status() == psutil.STATUS_ZOMBIE or "com.amazonaws.ml.mms.ModelServer" not in process.cmdline():
        raise RuntimeError(f"pid in {pid_file} is not a running MMS frontend")
    return process


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        return serve()
    if not argv:
        print("usage: dockerd-entrypoint.py serve | <command> [args...]", file=sys.stderr)
        return 2
    os.execvp(argv[0], argv)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
