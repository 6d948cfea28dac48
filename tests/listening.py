"""Which TCP ports a network namespace listens on, read from its /proc/net/tcp and tcp6 tables
(the tests read them from the host for a pid, or from inside a container)."""
from __future__ import annotations


def ports_listening_on_any_address(tables: str) -> set[int]:
    """Ports of the sockets listening on 0.0.0.0 or :: in the concatenated text of tcp/tcp6 tables."""
    ports = set()
    for fields in (line.split() for line in tables.splitlines()):
        if len(fields) > 3 and fields[3] == "0A" and ":" in fields[1]:  # st 0A: TCP_LISTEN
            address, port = fields[1].split(":")
            if int(address, 16) == 0:
                ports.add(int(port, 16))
    return ports
