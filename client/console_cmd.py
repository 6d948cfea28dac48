"""`python -m client console`: the registry console in the browser, on 127.0.0.1.

The console process calls the registry API for the browser: against a deployed registry
(`--iam`, the prod stage's IAM authorizer) it signs each call with the caller's own AWS
credentials, which never reach the browser. The console lives in the repository's `console/`
package (Werkzeug and Jinja2), not in the client wheel, which stays small.
"""
from __future__ import annotations

import argparse


def add_commands(commands: argparse._SubParsersAction) -> None:
    console = commands.add_parser("console", help="open the registry console (web pages) on 127.0.0.1",
                                  description="Serves the registry console on 127.0.0.1 and talks to the registry "
                                  "at MME_REGISTRY_URL (or --registry-url).")
    console.add_argument("--registry-url", help="the registry API (default: MME_REGISTRY_URL)")
    console.add_argument("--port", type=int, default=8001, help="port on 127.0.0.1 (default 8001; 0: any free one)")
    console.add_argument("--iam", action="store_true",
                         help="sign API calls with SigV4 (the deployed prod stage); credentials from the AWS chain")
    console.add_argument("--region", help="region of the API for signing (default: AWS_REGION / the profile's)")
    console.add_argument("--gateway-url", help="a local runtime gateway whose loaded models the endpoint page shows")
    console.set_defaults(run=run_console)


def run_console(args: argparse.Namespace) -> int:
    from .config import ClientSettings

    try:
        from console.backends import Backends
        from console.server import ConsoleServer
    except ImportError as error:
        print(f"error: the console needs the repository's console/ package and Werkzeug + Jinja2 ({error}); "
              "run it from a checkout: .venv/bin/python -m client console")
        return 1
    settings = ClientSettings()
    url = args.registry_url or settings.registry_url
    auth = None
    if args.iam:
        from .sigv4 import SigV4

        try:
            auth = SigV4(region=args.region)
        except ValueError as error:
            print(f"error: {error}")
            return 1
    backends = Backends.build(url, auth=auth, gateway_url=args.gateway_url, timeout=settings.registry_timeout)
    server = ConsoleServer(backends, port=args.port)
    signed = ", SigV4-signed" if auth else ""
    print(f"Registry console on {server.url}/ (registry API {url}{signed}). Ctrl-C stops it.\n"
          f"Open it with this link (it works once, in one browser): {server.login_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
