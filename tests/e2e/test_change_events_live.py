"""Live, as on the local stack: the pump process ingests and publishes, and a running
`python -m client events tail` prints a drop → version → alias move sequence as it happens."""
from __future__ import annotations

import gzip
import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest

from chalicelib.settings import Settings
from local_stack.aws.emulator import EmulatorServer
from local_stack.processes.children import ChildProcess
from local_stack.aws.provision import provision
from local_stack.demo.sample_models import cached_tarball

REPO = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60


@pytest.fixture
def emulated(monkeypatch):
    """An emulator, provisioned, and the environment a user's shell gets from the local stack."""
    with EmulatorServer() as server:
        for name, value in {"AWS_ENDPOINT_URL": server.url, "AWS_ACCESS_KEY_ID": "testing",
                            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        session = boto3.Session(region_name="us-east-1")
        resources = provision(session, Settings())
        session.client("sqs").purge_queue(QueueUrl=resources["queue_url"])
        yield dict(os.environ), session.client("s3"), resources


def lines_of(process: subprocess.Popen) -> queue.Queue:
    """The process's stdout, a line at a time, readable with a timeout."""
    lines: queue.Queue = queue.Queue()

    def read():
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def next_events(lines: queue.Queue, count: int) -> list[dict]:
    found = []
    while len(found) < count:
        try:
            found.append(json.loads(lines.get(timeout=WAIT_SECONDS)))
        except queue.Empty:
            raise AssertionError(f"events tail printed {found} and then nothing for {WAIT_SECONDS} s") from None
    return found


def test_events_tail_shows_a_drop_a_version_and_an_alias_move_as_they_happen(emulated, tmp_path):
    env, s3, resources = emulated
    pump = ChildProcess("pump", [sys.executable, "-m", "local_stack.aws.pump", "--queue-url", resources["queue_url"],
                                 "--journal", str(tmp_path / "journal.json"), "--publish-every", "0.5"],
                        tmp_path / "pump.log", env=env, cwd=REPO).start()
    tail = subprocess.Popen([sys.executable, "-m", "client", "events", "tail", "--json"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = lines_of(tail)
        body = cached_tarball("digits").read_bytes()
        # WHEN a tarball is dropped, asking for an alias
        s3.put_object(Bucket="mme-registry-local", Key="incoming/digits.tar.gz", Body=body,
                      Metadata={"alias": "digits-prod"})
        # THEN the tail shows the version, then the alias created at it
        first = next_events(lines, 2)
        assert sorted(e["type"] for e in first) == ["AliasMoved", "ModelVersionRegistered"]
        # WHEN new bytes are dropped for the same alias
        s3.put_object(Bucket="mme-registry-local", Key="incoming/digits.tar.gz",
                      Body=gzip.compress(gzip.decompress(body), mtime=1), Metadata={"alias": "digits-prod"})
        # THEN the tail shows v2 and the alias moving from v1 to v2, revision 2
        second = next_events(lines, 2)
        [moved] = [e for e in second if e["type"] == "AliasMoved"]
        assert (moved["revision"], moved["from"]["targets"][0]["version"], moved["to"]["targets"][0]["version"]) \
            == (2, 1, 2)
        assert [e["version"] for e in second if e["type"] == "ModelVersionRegistered"] == [2]
    finally:
        tail.terminate()
        tail.wait(timeout=10)
        pump.stop()
