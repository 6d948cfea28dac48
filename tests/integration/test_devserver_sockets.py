"""The dev server's accepted connections: what `chalice local` leaves to the kernel's defaults."""
from __future__ import annotations

import socket

from local_stack.aws.devserver import build_server


def test_accepted_connections_have_tcp_nodelay():
    """Chalice sends an answer's headers and body in two writes. Without TCP_NODELAY on the server's
    side of a kept-alive connection, Nagle's algorithm holds the body until the client's delayed ACK
    of the headers: every `GET /aliases/{a}` of AliasClient's session then waits about 40 ms.

    The request goes through the server's own accept and handler (no thread, so the accepted socket
    can be read before the server closes it)."""
    server = build_server("127.0.0.1", 0, "local")
    http = server.server
    try:
        with socket.create_connection(http.server_address, timeout=10) as client:
            client.sendall(b"GET /aliases/no-such-route/x/y HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            accepted, address = http.get_request()
            try:
                http.finish_request(accepted, address)  # reads the request, answers it through the app
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            finally:
                http.shutdown_request(accepted)
            reply = b""
            while chunk := client.recv(65536):
                reply += chunk
        status_line = reply.split(b"\r\n", 1)[0]
        assert status_line.startswith(b"HTTP/1.1 4"), status_line  # answered by the app's router
        assert b'"error"' in reply
    finally:
        http.server_close()
