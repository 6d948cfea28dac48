"""`python -m client`: one parser; each command module adds its own subcommands.

A command module exposes `add_commands(subparsers)` and gives every subcommand a
`run(args) -> exit status` default, so commands live beside the code they drive
and this file only lists the modules.
"""
from __future__ import annotations

import argparse
import importlib

COMMAND_MODULES = (
    "client.validate_cmd",  # validate
    "client.commands",  # invoke, upload, alias
    "client.warmup_cmd",  # warmup
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m client",
        description="Validate model tarballs, upload them as versions, move aliases and invoke models by alias.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs one command; argparse exits with 2 on a usage error."""
    args = build_parser().parse_args(argv)
    return args.run(args)
