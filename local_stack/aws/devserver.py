"""`chalice local` that hands every HTTP method to the app: `python -m local_stack.aws.devserver --port 8000`.

Chalice's dev server handles GET, PUT, POST, HEAD, DELETE, PATCH and OPTIONS; for any other
method (TRACE, CONNECT, PROPFIND...) Python's http.server answers an HTML 501 before the
app sees the request. Routed into Chalice instead, such a request meets the route's method
check and leaves as a JSON 405 with an Allow header (chalicelib/api/http.py), like every other
error. Otherwise this is exactly `chalice local --no-autoreload`: same config, same stage,
except that accepted connections get TCP_NODELAY (see AnyMethodHandler.setup).
"""
from __future__ import annotations

import argparse
import logging
import socket
import sys
from pathlib import Path

from chalice.cli import validate_routes
from chalice.cli.factory import CLIFactory
from chalice.local import ChaliceRequestHandler, CustomLocalChalice, LocalChalice, LocalDevServer

APP_DIR = Path(__file__).resolve().parents[2] / "registry_app"


class AnyMethodHandler(ChaliceRequestHandler):
    """http.server dispatches to `do_<METHOD>`; every name of that form leads into Chalice."""

    def setup(self) -> None:
        super().setup()
        # Chalice writes the headers and the body in separate sends; without TCP_NODELAY, Nagle's
        # algorithm holds the body back until the client's delayed ACK of the headers (~40 ms on
        # Linux), on every answer of a kept-alive connection (AliasClient's requests.Session).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def __getattr__(self, name: str):
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)


def build_server(host: str, port: int, stage: str, project_dir: Path = APP_DIR) -> LocalDevServer:
    """What `chalice local` builds (chalice.cli.create_local_server), with the any-method handler."""
    config = CLIFactory(str(project_dir)).create_config_obj(chalice_stage_name=stage)
    app = config.chalice_app
    validate_routes(app.routes)
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, handler_cls=AnyMethodHandler)


def argv(host: str, port: int, stage: str = "local") -> list[str]:
    """The command line that serves the API; run it with registry_app/ as the working directory."""
    return [sys.executable, "-m", "local_stack.aws.devserver", "--host", host, "--port", str(port), "--stage", stage]


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local_stack.aws.devserver", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    args = parser.parse_args(arguments)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")  # as `chalice local` does
    build_server(args.host, args.port, args.stage).serve_forever()


if __name__ == "__main__":
    main()
