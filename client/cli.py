"""`mme-registry` (installed) or `python -m client` (the repository): one parser; each
command module adds its own subcommands.

A command module exposes `add_commands(subparsers)` and gives every subcommand a
`run(args) -> exit status` default, so commands live beside the code they drive
and this file only lists the modules. They are listed by their repository names and
resolved against this package, so the list also works installed as `mme_registry.client`.
"""
from __future__ import annotations

import argparse
import importlib
from importlib.metadata import PackageNotFoundError, version

COMMAND_MODULES = (
    "client.validate_cmd",  # validate
    "client.commands",  # invoke, upload, alias
    "client.warmup_cmd",  # warmup
    "client.events_cmd",  # events tail
)

INSTALLED = __name__.startswith("mme_registry.")  # the mme-registry-client distribution
PROG, DISTRIBUTION = ("mme-registry", "mme-registry-client") if INSTALLED else ("python -m client", "mme-registry")


def _version() -> str:
    try:
        return f"{DISTRIBUTION} {version(DISTRIBUTION)}"
    except PackageNotFoundError:
        return f"{DISTRIBUTION} (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Validate model tarballs, upload them as versions, move aliases and invoke models by alias.",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    package = __name__.rpartition(".")[0]
    for module in COMMAND_MODULES:
        importlib.import_module(package + module.removeprefix("client")).add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs one command; argparse exits with 2 on a usage error."""
    args = build_parser().parse_args(argv)
    return args.run(args)
