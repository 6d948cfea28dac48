"""How a command that calls the registry ends when the registry refuses: one line naming the rule, exit 1.

`@guarded` turns `run(args, api)` into a command's `run(args)`; the API's error `code` is printed
with its message, so a refusal says which rule it broke (`revision_conflict`, `alias_policy_unmet`).
"""
from __future__ import annotations

import argparse

from rich.console import Console

from .errors import AliasClientError, RegistryRequestError
from .registry_api import RegistryApi

err = Console(stderr=True, highlight=False)


def refusal(error: RegistryRequestError) -> str:
    return f"{error.message} (HTTP {error.status}, {error.code})"


def guarded(run):
    def command(args: argparse.Namespace) -> int:
        try:
            return run(args, RegistryApi.from_settings())
        except RegistryRequestError as error:
            err.print(f"[red]error:[/] {refusal(error)}")
            return 1
        except AliasClientError as error:
            err.print(f"[red]error:[/] {error}")
            return 1

    command.__name__ = run.__name__
    return command
