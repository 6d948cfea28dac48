"""The console as a child of the local stack, started the way a user starts it: `python -m console`.

Nothing imports `console/` (DESIGN's layering): the stack knows the console only by its command line and
by the one-time login link it prints, read here from the child's log. The link's token lives in the
console's memory, so a restarted console has a new link (and has forgotten every browser's session):
each start reads the link again, and the stack prints it.
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from local_stack.processes.children import ChildProcess, StartError, log_tail

# The line `python -m console` prints once it listens (console/__main__.py).
LOGIN_LINE = re.compile(r"Open it with this link \(.*?\): (http://\S+/login\?token=\S+)")


class ConsoleChild(ChildProcess):
    """`python -m console --port P --registry-url URL --gateway-url URL`, logging to `log_path`."""

    def __init__(self, host: str, port: int, registry_url: str, gateway_url: str, log_path: Path, env: dict,
                 start_timeout: float = 120.0):
        argv = [sys.executable, "-m", "console", "--port", str(port), "--registry-url", registry_url,
                "--gateway-url", gateway_url]
        super().__init__("the console", argv, log_path, env=env)
        self.url = f"http://{host}:{port}"
        self.start_timeout = start_timeout
        self.login_url: str | None = None
        self._log_from = 0

    def launch(self) -> "ConsoleChild":
        """Starts the process and returns at once (`wait_for_login` then reads its link)."""
        # A restart appends to the log: the link to read is the one written after this offset.
        self._log_from = self.log_path.stat().st_size if self.process and self.log_path.exists() else 0
        self.login_url = None
        super().start()
        return self

    def start(self) -> "ConsoleChild":
        """Starts the process and returns once it printed its login link (what the supervisor calls)."""
        return self.launch().wait_for_login(self.start_timeout)

    def wait_for_login(self, timeout: float) -> "ConsoleChild":
        """Reads the login link this run printed; fails early, with the log, if the console exits."""
        deadline = time.monotonic() + timeout
        while True:
            found = LOGIN_LINE.search(self._this_run_log())
            if found:
                self.login_url = found.group(1)
                return self
            if not self.alive():
                raise StartError(f"{self.name} exited with {self.process.returncode}:\n{log_tail(self.log_path)}")
            if time.monotonic() > deadline:
                raise StartError(f"{self.name} printed no login link within {timeout:.0f} s:\n"
                                 f"{log_tail(self.log_path)}")
            time.sleep(0.1)

    @property
    def health_url(self) -> str:
        """Its style sheet: served without a login, through the console's own request handling."""
        return f"{self.url}/static/console.css"

    def _this_run_log(self) -> str:
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as log:
            log.seek(self._log_from)
            return log.read().decode(errors="replace")
