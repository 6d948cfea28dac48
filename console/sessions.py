"""Who may read the console: whoever opened the login link it printed when it started.

The console acts with its user's AWS credentials and answers on 127.0.0.1, where every local
process and user can connect; so reading needs a secret, as Jupyter's server does. A login link
(`/login?token=...`) works once: it sets a cookie that holds this process's session secret,
HttpOnly (no script reads it) and SameSite=Strict (no other site's page sends it), compared in
constant time on every request. The cookie's name carries the port: cookies do not tell ports
apart, and two consoles may run side by side on one machine.
"""
from __future__ import annotations

import secrets
import threading

from werkzeug.wrappers import Request, Response


def same(sent: str | None, expected: str) -> bool:
    """A secret compared by value in constant time (bytes: a non-ASCII guess is simply wrong)."""
    return bool(sent) and secrets.compare_digest(sent.encode(), expected.encode())


class Sessions:
    def __init__(self):
        self._secret = secrets.token_urlsafe(32)
        self._logins: list[str] = []
        self._lock = threading.Lock()

    def issue_login(self) -> str:
        """A new one-time login token (the link printed at start holds one)."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._logins.append(token)
        return token

    def redeem(self, token: str | None) -> bool:
        """Spends `token` if it is an unused login token."""
        with self._lock:
            for index, login in enumerate(self._logins):
                if same(token, login):
                    del self._logins[index]
                    return True
        return False

    @staticmethod
    def cookie_name(request: Request) -> str:
        return f"mme-console-{request.environ.get('SERVER_PORT', '')}"

    def signed_in(self, request: Request) -> bool:
        return same(request.cookies.get(self.cookie_name(request)), self._secret)

    def sign_in(self, request: Request, response: Response) -> Response:
        response.set_cookie(self.cookie_name(request), self._secret, httponly=True, samesite="Strict", path="/")
        return response
