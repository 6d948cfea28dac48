"""`python -m client warmup MODEL N`: warm a version up again, then move the aliases its upload requested.

For the version whose warm-up failed at ingestion (often a big model still loading): the
registry retries the invoke within its budget and, if it answers, moves the aliases the
upload asked for under the same rule as ingestion.
"""
from __future__ import annotations

import argparse
import json

from rich.console import Console

from .errors import AliasClientError

err = Console(stderr=True, highlight=False)


def add_commands(commands: argparse._SubParsersAction) -> None:
    warmup = commands.add_parser("warmup", help="warm a version up again, then move the aliases its upload requested",
                                 description="Asks the registry to invoke MODEL vN once more (retrying while it "
                                 "loads) and, if it answers, to move the aliases its upload requested. Exit 1 if the "
                                 "warm-up failed.")
    warmup.add_argument("model", help="model name, e.g. resnet_18")
    warmup.add_argument("version", type=int, help="version number, e.g. 2")
    warmup.add_argument("--timeout", type=float, default=300, help="seconds to wait for the registry's answer")
    warmup.add_argument("--json", action="store_true", help="print the answer as JSON")
    warmup.set_defaults(run=run_warmup)


def run_warmup(args: argparse.Namespace) -> int:
    from .registry_api import RegistryApi

    return warm_and_report(RegistryApi.from_settings(), args.model, args.version, args.timeout, args.json)


def warm_and_report(api, model: str, version: int, timeout: float, as_json: bool) -> int:
    """Asks `api` (a RegistryApi) for the re-run and prints what happened; the exit status says if it answered."""
    err.print(f"warming {model} v{version} (this can take minutes while a big model loads)...")
    try:
        answer = api.warm_version(model, version, timeout=timeout)
    except AliasClientError as error:
        err.print(f"[red]error:[/] {error}")
        return 1
    if as_json:
        print(json.dumps(answer, indent=2))
    else:
        console = Console(highlight=False)
        colour = "green" if answer["ok"] else "red"
        console.print(f"[{colour}]warm-up {answer['warmup']}[/]: {answer['name']} v{answer['version']}")
        for alias, what in answer.get("aliases", {}).items():
            console.print(f"  alias {alias}: {what}")
        if not answer["ok"]:
            console.print("  no alias moved; run this command again once the endpoint can load the model")
    return 0 if answer["ok"] else 1
