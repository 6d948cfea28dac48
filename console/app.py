"""The console's WSGI application: routing, page rendering, and the guards every request passes.

Werkzeug routes and parses; Jinja2 renders with autoescaping on, so a model name, an alias
or a report sentence (all user input) is text on the page, never markup. Each view module
(`pages_*.py`) lists its own routes; this file only joins them.

Guards, because the console acts with its user's credentials: it answers only when the Host
header is a loopback name (no DNS rebinding); it shows nothing but how to log in until the
browser has opened the login link printed at start (sessions.py), since any local process can
reach 127.0.0.1; and every POST carries this process's random form token (a form field or
`X-Console-Token`), so another site open in the browser cannot move an alias through it.
"""
from __future__ import annotations

import logging
import secrets
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, Unauthorized
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect, send_from_directory
from werkzeug.wrappers import Request, Response

from client.errors import RegistryRequestError, RegistryUnavailable

from . import (formatting, pages_aliases, pages_models, pages_policy, pages_rollouts, pages_service, pages_upload,
               pages_versions)
from .backends import Backends
from .sessions import Sessions, same

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}
PAGE_MODULES = (pages_models, pages_versions, pages_aliases, pages_policy, pages_upload, pages_service,
                pages_rollouts)


class Page:
    """What a view gets: the request, the backends, and `render` with the console's common context."""

    def __init__(self, console: "ConsoleApp", request: Request):
        self.console = console
        self.request = request
        self.api = console.backends.api
        self.backends = console.backends

    def render(self, template: str, status: int = 200, **context) -> Response:
        token = self.console.token if self.console.sessions.signed_in(self.request) else ""  # only for its reader
        html = self.console.templates.get_template(template).render(token=token, request=self.request, **context)
        return Response(html, status=status, mimetype="text/html")

    def arg(self, name: str, required: bool = True) -> str | None:
        """A query or form field; a missing required one is a 400 that names it."""
        value = (self.request.values.get(name) or "").strip()
        if not value and required:
            raise BadRequest(f"the field '{name}' is required")
        return value or None

    def number(self, name: str, required: bool = True) -> int | None:
        value = self.arg(name, required)
        if value is None:
            return None
        if not value.isdigit():
            raise BadRequest(f"'{name}' must be a whole number, not {value!r}")
        return int(value)


class ConsoleApp:
    def __init__(self, backends: Backends, token: str | None = None):
        self.backends = backends
        self.token = token or secrets.token_urlsafe(24)
        self.sessions = Sessions()
        self.templates = Environment(loader=PackageLoader("console"), autoescape=select_autoescape(default=True))
        self.templates.filters.update(formatting.FILTERS)
        rules, self.views = [], {}
        for module in PAGE_MODULES:
            for path, methods, view in module.ROUTES:
                rules.append(Rule(path, endpoint=view.__name__, methods=methods))
                self.views[view.__name__] = view
        self.url_map = Map([*rules, Rule("/static/<path:file>", endpoint="static", methods=["GET"])])

    def __call__(self, environ, start_response):
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:
        page = Page(self, request)
        try:
            self._guard_host(request)
            if request.path == "/login":
                return self._login(page)
            if not request.path.startswith("/static/"):  # style sheet and script: no data; the login page uses them
                self._guard_reader(request)
            endpoint, values = self.url_map.bind_to_environ(request.environ).match()
            if endpoint == "static":
                return send_from_directory(STATIC, values["file"], request.environ, max_age=300)
            return self.views[endpoint](page, **values)
        except RegistryRequestError as error:
            return page.render("error.html", status=error.status, title="The registry refused", error=error.message,
                               code=error.code)
        except RegistryUnavailable as error:
            return page.render("error.html", status=502, title="The registry did not answer", error=str(error),
                               code="unavailable")
        except Unauthorized as error:
            return page.render("login.html", status=401, title="Log in to the console", error=error.description)
        except HTTPException as error:
            if error.code in (301, 302, 303, 307, 308):
                return error.get_response()
            return page.render("error.html", status=error.code or 500, title=error.name, error=error.description,
                               code=str(error.code))
        except Exception as error:  # noqa: BLE001 - a bug still answers with a page that says what failed
            log.exception("console page %s failed", request.path)
            return page.render("error.html", status=500, title="The console failed", code="internal_error",
                               error=f"{type(error).__name__}: {error}")

    def _login(self, page: Page) -> Response:
        """`/login?token=...`: a one-time token buys this browser the session cookie."""
        request = page.request
        if self.sessions.redeem(request.args.get("token")):
            return self.sessions.sign_in(request, redirect("/models", code=303))
        if self.sessions.signed_in(request):  # the spent link opened again by the browser it logged in
            return redirect("/models", code=303)
        raise Unauthorized("this login link is not valid or was used already: each link works once")

    @staticmethod
    def _guard_host(request: Request) -> None:
        host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        if host not in LOOPBACK:
            raise Forbidden(f"this console answers only on 127.0.0.1 or localhost, not {request.host!r}")

    def _guard_reader(self, request: Request) -> None:
        if not self.sessions.signed_in(request):
            raise Unauthorized("log in first: this console shows your registry only to the browser that opened "
                               "its login link")
        if request.method == "POST":
            sent = request.headers.get("X-Console-Token") or request.form.get("token")
            if not same(sent, self.token):
                raise Forbidden("this form is stale or came from another site: reload the page and try again")
