"""The supervisor over real child processes, whatever they are: a dead one is restarted and
what it held is forgotten, a hung one (alive, not answering) is replaced, and one that must
not be restarted is reported once."""
from __future__ import annotations

import os
import signal
import sys
import time

import pytest
import requests

from local_stack.processes.children import ChildProcess, free_port
from local_stack.processes.supervisor import Supervisor, Watched
from waiting import wait_until

pytestmark = pytest.mark.slow


def http_server(tmp_path, port: int) -> ChildProcess:
    argv = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    return ChildProcess("a web server", argv, tmp_path / "server.log", cwd=tmp_path)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def supervised(tmp_path):
    """Starts processes under a supervisor; stops both afterwards."""
    lines, started = [], []

    def run(*watched: Watched, **options) -> Supervisor:
        for item in watched:
            started.append(item.process.start())
        supervisor = Supervisor(list(watched), say=lines.append, interval=0.1, **options).start()
        started.append(supervisor)
        return supervisor

    run.lines = lines
    yield run
    for item in reversed(started):
        item.stop()


def test_a_killed_process_is_restarted_and_what_it_held_is_forgotten(supervised, tmp_path):
    port = free_port()
    server, forgotten = http_server(tmp_path, port), []
    url = f"http://127.0.0.1:{port}/"
    supervised(Watched("the web server", server, healthy=lambda: answers(url), on_stopped=lambda: forgotten.append(1)))
    wait_until(lambda: answers(url))
    first = server.pid

    os.kill(first, signal.SIGKILL)

    wait_until(lambda: any("restarted in" in line for line in supervised.lines))
    assert server.pid != first and answers(url)
    assert forgotten == [1]
    assert supervised.lines[0] == "! the web server exited: restarting it"


def test_a_process_that_stops_answering_is_replaced(supervised, tmp_path):
    port = free_port()
    server = http_server(tmp_path, port)
    url = f"http://127.0.0.1:{port}/"
    supervised(Watched("the web server", server, healthy=lambda: answers(url)), unhealthy_after=1.0)
    wait_until(lambda: answers(url))
    first = server.pid

    os.kill(first, signal.SIGSTOP)  # alive, but answers nothing: hung

    wait_until(lambda: any("restarted in" in line for line in supervised.lines))
    assert server.pid != first and answers(url)
    assert "has not answered its health check" in supervised.lines[0]


def test_a_process_that_must_not_restart_is_reported_once_and_left_down(supervised, tmp_path):
    holder = ChildProcess("the state holder", [sys.executable, "-c", "import time; time.sleep(60)"],
                          tmp_path / "holder.log")
    supervised(Watched("the state holder", holder, restart=False))

    os.kill(holder.pid, signal.SIGKILL)

    wait_until(lambda: supervised.lines)
    time.sleep(0.5)
    assert len(supervised.lines) == 1 and "is not restarted" in supervised.lines[0]
    assert not holder.alive()
