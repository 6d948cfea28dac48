"""`python -m client alias set|get|history|rollback`: aliases from the command line."""
from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from .command_guard import err, guarded
from .routing import percent

out = Console(highlight=False)


def _weighted(text: str) -> dict:
    try:
        model, version, weight = text.rsplit(":", 2)
        return {"model": model, "version": int(version), "weight": int(weight)}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MODEL:VERSION:WEIGHT, got {text!r}") from None


def add_alias_command(commands: argparse._SubParsersAction) -> None:
    alias = commands.add_parser("alias", help="point, read, and roll back aliases")
    actions = alias.add_subparsers(dest="alias_command", required=True)

    set_ = actions.add_parser("set", help="point an alias at a version, 'latest', or weighted targets",
                              description="alias set NAME MODEL VERSION|latest, or alias set NAME "
                              "--target m:2:9 --target m:3:1 (relative weights: m v3 gets a tenth).")
    set_.add_argument("alias")
    set_.add_argument("model", nargs="?")
    set_.add_argument("version", nargs="?", help="a version number, or 'latest' to follow every new version")
    set_.add_argument("--target", type=_weighted, action="append", help="MODEL:VERSION:WEIGHT (repeatable)")
    set_.add_argument("--expected-revision", type=int, help="compare-and-set: fail if the alias has moved since")
    set_.set_defaults(run=run_set)

    for name, run, text in (("get", run_get, "where an alias points"),
                            ("history", run_history, "every change of an alias, newest first"),
                            ("rollback", run_rollback, "back to the previous target (itself a recorded change)")):
        action = actions.add_parser(name, help=text)
        action.add_argument("alias")
        action.add_argument("--json", action="store_true", help="print the API's JSON answer")
        if name == "rollback":
            action.add_argument("--expected-revision", type=int)
        if name == "history":
            action.add_argument("--limit", type=int, default=20)
        action.set_defaults(run=run)

    from .policy_cmd import add_policy_command

    add_policy_command(actions)


def describe_targets(targets: list[dict] | None) -> str:
    """`digits v2`, or `digits v2 90%, digits v3 10%` for a weighted alias (its share of traffic); `—` for none."""
    if not targets:
        return "—"
    if len(targets) == 1:
        return f"{targets[0]['model']} v{targets[0]['version']}"
    weights = [t["weight"] for t in targets]
    return ", ".join(f"{t['model']} v{t['version']} {percent(t['weight'], weights)}" for t in targets)


def describe_endpoints(document: dict) -> str:
    """`on mme-registry-local`, or each framework's endpoint when a split spans two; `no endpoint` for none."""
    served = {(t.get("framework"), t.get("endpoint")) for t in document.get("targets") or []}
    if len({endpoint for _, endpoint in served}) <= 1:
        endpoint = next(iter(served))[1] if served else document.get("endpoint")
        return f"on {endpoint}" if endpoint else "on no endpoint"
    return "on " + ", ".join(f"{endpoint or 'no endpoint'} ({framework})" for framework, endpoint in sorted(
        served, key=str))


def print_alias(document: dict, indent: str = "") -> None:
    follows = " (follows the latest version)" if document.get("tracks_latest") else ""
    where = f"{describe_targets(document['targets'])} ({document['target_model']}){follows}"
    out.print(f"{indent}{document['alias']} → {where} {describe_endpoints(document)}  [dim]revision "
              f"{document['revision']}, by {document.get('updated_by') or '?'}[/]")


@guarded
def run_set(args: argparse.Namespace, api) -> int:
    if args.target:
        if args.model or args.version:
            err.print("[red]error:[/] give MODEL VERSION or --target, not both")
            return 2
        body = {"targets": args.target}
    else:
        if not (args.model and args.version):
            err.print("[red]error:[/] give MODEL and VERSION (a number or 'latest'), or --target MODEL:VERSION:WEIGHT")
            return 2
        body = {"model": args.model, "version": args.version if args.version == "latest" else int(args.version)}
    if args.expected_revision is not None:
        body["expected_revision"] = args.expected_revision
    print_alias(api.put_alias(args.alias, body))
    return 0


@guarded
def run_get(args: argparse.Namespace, api) -> int:
    document = api.get_alias(args.alias)
    print(json.dumps(document, indent=2)) if args.json else print_alias(document)
    return 0


@guarded
def run_history(args: argparse.Namespace, api) -> int:
    document = api.alias_history(args.alias, limit=args.limit)
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    out.print(history_table(document))
    return 0


def history_table(document: dict) -> Table:
    table = Table(title=f"history of alias {document['alias']}", title_justify="left")
    for column in ("revision", "action", "from", "to", "when", "who"):
        table.add_column(column, no_wrap=True)
    for change in document["items"]:
        table.add_row(str(change["revision"]), change["action"], describe_targets((change.get("from") or {}).get("targets")),
                      describe_targets((change.get("to") or {}).get("targets")), change["at"][:19].replace("T", " "), change.get("by") or "")
    return table


@guarded
def run_rollback(args: argparse.Namespace, api) -> int:
    document = api.rollback_alias(args.alias, args.expected_revision)
    print(json.dumps(document, indent=2)) if args.json else print_alias(document)
    return 0
