"""`python -m console`: the registry console on 127.0.0.1 (what `python -m client console` hands over to).

The options are the client command's (client/console_cmd.py), defined once there; this module holds what
the console needs to serve them, so the client never imports the console.
"""
from __future__ import annotations

import argparse
import sys

from client.config import ClientSettings
from client.console_cmd import add_options

from .backends import Backends
from .server import ConsoleServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console", description=__doc__.split("\n")[0])
    add_options(parser)
    args = parser.parse_args(argv)
    settings = ClientSettings()
    url = args.registry_url or settings.registry_url
    auth = None
    if args.iam:
        from client.sigv4 import SigV4

        try:
            auth = SigV4(region=args.region)
        except ValueError as error:
            print(f"error: {error}")
            return 1
    backends = Backends.build(url, auth=auth, gateway_url=args.gateway_url, timeout=settings.registry_timeout,
                              actor=settings.actor())
    server = ConsoleServer(backends, port=args.port)
    signed = ", SigV4-signed" if auth else ""
    print(f"Registry console on {server.url}/ (registry API {url}{signed}). Ctrl-C stops it.\n"
          f"Open it with this link (it works once, in one browser): {server.login_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
