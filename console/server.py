"""Serving the console: Werkzeug's threaded WSGI server on a loopback address, in a thread.

Werkzeug's server is the one Flask and moto's server already run here; a console has one
user, so a threaded server is plenty. It binds loopback only: the process holds its user's
credentials. `login_url` is the one-time link to print at start (console/sessions.py).
"""
from __future__ import annotations

import logging
import threading

from werkzeug.serving import make_server

from .app import ConsoleApp
from .backends import Backends

DEFAULT_PORT = 8001


class ConsoleServer:
    def __init__(self, backends: Backends, host: str = "127.0.0.1", port: int = DEFAULT_PORT):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the console serves on a loopback address only, not {host!r}")
        self.app = ConsoleApp(backends)
        self._server = make_server(host, port, self.app, threaded=True)
        self.login_url = self.new_login_url()
        self._thread: threading.Thread | None = None
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request on the stack's output

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def new_login_url(self) -> str:
        """Another one-time login link (for a second browser of the console's own user)."""
        return f"{self.url}/login?token={self.app.sessions.issue_login()}"

    def start(self) -> "ConsoleServer":
        self._thread = threading.Thread(target=self._server.serve_forever, name="console", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> "ConsoleServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
