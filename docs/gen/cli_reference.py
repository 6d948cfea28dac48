"""The CLI reference page, written from the argparse parsers themselves (`client.cli.build_parser`,
`publisher.cli.build_parser`), so a flag added, renamed or re-worded shows here at the next build.
argparse has no public way to walk a parser, so this reads `_actions` and formats with its HelpFormatter,
as `--help` does."""
from __future__ import annotations

import argparse

from tables import code, prose, table

WIDTH = 100  # usage lines wrap here, whatever the terminal that runs the build


def _commands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def _rename(parser: argparse.ArgumentParser, old: str, new: str) -> None:
    """Names every (sub)command as installed (`mme-registry`), not as run from the repository."""
    parser.prog = new + parser.prog.removeprefix(old)
    commands = _commands(parser)
    for sub in (commands.choices.values() if commands else ()):
        _rename(sub, old, new)


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _says_default(action: argparse.Action) -> bool:
    """A default worth a word: not "nothing", and not already in the help text."""
    empty = action.default is None or action.default is False or action.default in ([], argparse.SUPPRESS)
    return not empty and "default" not in (action.help or "").lower()


def _arguments(parser: argparse.ArgumentParser) -> list[list[str]]:
    formatter = argparse.HelpFormatter(parser.prog, width=WIDTH)
    rows = []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        what = prose(formatter._expand_help(action)) if action.help else ""
        if _says_default(action):
            what = f"{what} (default {code(action.default)})" if what else f"default {code(action.default)}"
        if action.required and action.option_strings:
            what = "required. " + what
        rows.append([code(formatter._format_action_invocation(action)), what])
    return rows


def _section(parser: argparse.ArgumentParser, level: int) -> list[str]:
    lines = [f"{'#' * level} {parser.prog}", ""]
    if parser.description:
        lines += [prose(parser.description), ""]
    lines += ["```text", _usage(parser), "```", ""]
    lines += table(["argument", "what"], _arguments(parser))
    commands = _commands(parser)
    if commands:
        helps = {choice.dest: choice.help for choice in commands._choices_actions}
        lines += table(["command", "what"], [[f"[{name}](#{_anchor(sub.prog)})", prose(helps.get(name))]
                                             for name, sub in commands.choices.items()])
        for sub in commands.choices.values():
            lines += _section(sub, min(level + 1, 4))
    return lines


def _anchor(heading: str) -> str:
    """The id the toc extension gives a heading made of words, spaces and dashes."""
    return "-".join(heading.lower().split())


def page() -> str:
    from client.cli import build_parser as client_parser
    from publisher.cli import build_parser as publisher_parser

    client, publisher = client_parser(), publisher_parser()
    _rename(client, "python -m client", "mme-registry")
    _rename(publisher, "python -m publisher", "mme-registry-publisher")
    return "\n".join([
        "# CLI reference",
        "",
        "Generated at build time from the commands' own parsers, so it says what `--help` says. "
        "`mme-registry` comes with the client wheel and `mme-registry-publisher` with the publisher wheel "
        "([The client and the CLI](../client.md)); in this repository `.venv/bin/python -m client` and "
        "`.venv/bin/python -m publisher` are the same commands.",
        "",
        *_section(client, 2),
        *_section(publisher, 2),
    ])
