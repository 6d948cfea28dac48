"""`python -m client console`: the registry console in the browser, on 127.0.0.1.

The console process calls the registry API for the browser: against a deployed registry
(`--iam`, the prod stage's IAM authorizer) it signs each call with the caller's own AWS
credentials, which never reach the browser. The console lives in the repository's `console/`
package (Werkzeug and Jinja2), not in the client wheel, which stays small; it sits above the
client (it uses the client library), so this command hands the process over to `python -m console`
instead of importing it.
"""
from __future__ import annotations

import argparse


def add_options(parser: argparse.ArgumentParser) -> None:
    """The console's options, here and in `python -m console` alike."""
    parser.add_argument("--registry-url", help="the registry API (default: MME_REGISTRY_URL)")
    parser.add_argument("--port", type=int, default=8001, help="port on 127.0.0.1 (default 8001; 0: any free one)")
    parser.add_argument("--iam", action="store_true",
                        help="sign API calls with SigV4 (the deployed prod stage); credentials from the AWS chain")
    parser.add_argument("--region", help="region of the API for signing (default: AWS_REGION / the profile's)")
    parser.add_argument("--gateway-url", help="a local runtime gateway whose loaded models the endpoint page shows")


def add_commands(commands: argparse._SubParsersAction) -> None:
    console = commands.add_parser("console", help="open the registry console (web pages) on 127.0.0.1",
                                  description="Serves the registry console on 127.0.0.1 and talks to the registry "
                                  "at MME_REGISTRY_URL (or --registry-url).")
    add_options(console)
    console.set_defaults(run=run_console)


def console_argv(args: argparse.Namespace) -> list[str]:
    """The options given, as `python -m console` takes them."""
    argv = ["--port", str(args.port)] + (["--iam"] if args.iam else [])
    for option, value in (("--registry-url", args.registry_url), ("--region", args.region),
                          ("--gateway-url", args.gateway_url)):
        argv += [option, value] if value else []
    return argv


def run_console(args: argparse.Namespace) -> int:
    import importlib.util
    import os
    import sys

    if not all(importlib.util.find_spec(name) for name in ("console", "werkzeug", "jinja2")):
        print("error: the console needs the repository's console/ package and Werkzeug + Jinja2; "
              "run it from a checkout: .venv/bin/python -m client console")
        return 1
    os.execv(sys.executable, [sys.executable, "-m", "console", *console_argv(args)])
