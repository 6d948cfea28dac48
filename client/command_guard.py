"""How a command that calls the registry ends when the registry refuses: one line naming the rule, exit 1;
and how what people typed (descriptions, tags, reasons) is printed.

`@guarded` turns `run(args, api)` into a command's `run(args)`; the API's error `code` is printed
with its message, so a refusal says which rule it broke (`revision_conflict`, `alias_policy_unmet`).
"""
from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape

from .errors import AliasClientError, RegistryRequestError
from .registry_api import RegistryApi

err = Console(stderr=True, highlight=False)


def shown(text) -> str:
    """User text as a terminal should print it: control characters as escapes (`\\x1b`), never markup."""
    return escape("".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text)))


def refusal(error: RegistryRequestError) -> str:
    """The registry's message (it quotes what was sent) and its rule, ready to print."""
    return shown(f"{error.message} (HTTP {error.status}, {error.code})")


def guarded(run):
    def command(args: argparse.Namespace) -> int:
        try:
            return run(args, RegistryApi.from_settings())
        except RegistryRequestError as error:
            err.print(f"[red]error:[/] {refusal(error)}")
            current = error.details.get("current_revision")
            if current is not None:  # a compare-and-set lost: say where the thing is now
                err.print(f"it is at revision {current} now: read it again and retry")
            return 1
        except AliasClientError as error:
            err.print(f"[red]error:[/] {error}")
            return 1

    command.__name__ = run.__name__
    return command
