"""The stack's port check on real sockets: a port a stopped stack left in TIME_WAIT is free at
once (so `make up` right after Ctrl-C works), a port something listens on is not."""
from __future__ import annotations

import socket
import subprocess

from local_stack.processes.children import free_port, port_is_free


def leave_in_time_wait(port: int) -> None:
    """A listener on `port` that closes its accepted connection first, as a stopping server does."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the side that closes first keeps 127.0.0.1:<port> in TIME_WAIT
        client.recv(1)
        client.close()


def time_wait_on(port: int) -> bool:
    states = subprocess.run(["ss", "-tan", "state", "time-wait", f"( sport = :{port} )"],
                            capture_output=True, text=True, check=True).stdout
    return f"127.0.0.1:{port}" in states


def test_a_port_in_time_wait_from_a_stopped_server_is_free():
    port = free_port()

    leave_in_time_wait(port)

    assert time_wait_on(port)
    assert port_is_free(port)


def test_a_port_with_a_live_listener_is_busy_even_beside_time_wait():
    port = free_port()
    leave_in_time_wait(port)

    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()

        assert not port_is_free(port)
