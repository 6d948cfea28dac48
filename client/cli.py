"""`mme-registry` (installed) or `python -m client` (the repository): one parser; each
command module adds its own subcommands.

A command module exposes `add_commands(subparsers)` and gives every subcommand a
`run(args) -> exit status` default, so commands live beside the code they drive
and this file only lists the modules. They are listed by their repository names and
resolved against this package, so the list also works installed as `mme_registry.client`.
Only the module of the command being run is imported (all of them for the top-level
help): `validate` then starts without the HTTP client and its settings.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = {  # module: the commands it adds
    "client.validate_cmd": ("validate",),
    "client.commands": ("invoke", "upload", "alias"),
    "client.warmup_cmd": ("warmup",),
    "client.versions_cmd": ("describe", "tag", "card", "approve", "history", "search"),
    "client.events_cmd": ("events",),
    "client.console_cmd": ("console",),
    "client.rollout_cmd": ("rollout",),
    "client.plan_cmd": ("plan",),
    "client.import_cmd": ("import",),
    "client.shadow_cmd": ("shadow", "samples"),
}

INSTALLED = __name__.startswith("mme_registry.")  # the mme-registry-client distribution
PROG, DISTRIBUTION = ("mme-registry", "mme-registry-client") if INSTALLED else ("python -m client", "mme-registry")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # 30 ms of imports, only for --version

    try:
        return f"{DISTRIBUTION} {version(DISTRIBUTION)}"
    except PackageNotFoundError:
        return f"{DISTRIBUTION} (not installed)"


class _VersionAction(argparse.Action):
    """argparse's `version` action, with the version looked up only when asked for."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(_version())  # to stdout, as argparse's own action
        parser.exit()


def modules_for(argv: list[str]) -> list[str]:
    """The module of the command `argv` names, or every module when it names none it knows."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    named = [module for module, commands in COMMAND_MODULES.items() if command in commands]
    return named or list(COMMAND_MODULES)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`'s command (every command when `argv` is None)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Validate model tarballs, upload them as versions, describe, tag, approve and find them, move "
        "aliases and invoke models by alias.",
    )
    parser.add_argument("--version", action=_VersionAction, help="show program's version number and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    package = __name__.rpartition(".")[0]
    for module in COMMAND_MODULES if argv is None else modules_for(argv):
        importlib.import_module(package + module.removeprefix("client")).add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs one command; argparse exits with 2 on a usage error."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    return args.run(args)
