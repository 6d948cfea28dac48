"""`mme-registry describe|tag|card|approve|history|search`: what people say about a version, and finding it.

A version's bytes never change; its description, tags and card do, each edit compare-and-set: the
command reads the version's `metadata_revision` and sends it back as `expected_revision`. When
someone else edited it in between, the registry answers 409 and the command shows the version as
it now is, never retrying over the other edit.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .command_guard import guarded, refusal, shown
from .errors import RegistryRequestError
from .registry_api import filled

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

CARD_TEXT = ("intended_use", "training_data", "limitations", "owner", "license")
APPROVAL = {"approve": "Approved", "reject": "Rejected", "pending": "PendingManualApproval"}


def split_pair(text: str, sep: str = "=", what: str = "KEY=VALUE") -> tuple[str, str]:
    """`k=v` → (k, v), split at the first `sep` (a value, or a link's URL, may hold more)."""
    key, found, value = text.partition(sep)
    if not found or not key:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return key, value


def card_field(text: str) -> tuple[str, str]:
    field, value = split_pair(text, what="FIELD=VALUE")
    if field not in CARD_TEXT:
        raise argparse.ArgumentTypeError(f"{field!r} is not a card field; the fields are {', '.join(CARD_TEXT)}")
    return field, value


def metric(text: str) -> tuple[str, float | int]:
    name, value = split_pair(text, what="NAME=NUMBER")
    try:
        return name, int(value) if value.lstrip("-").isdigit() else float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"metric {name!r}: {value!r} is not a number") from None


def link(text: str) -> dict:
    title, url = split_pair(text, what="TITLE=URL")
    return {"title": title, "url": url}


def card_file(path: str) -> dict:
    """A card exported with `card --json`, read for `--from-json`."""
    import sys

    try:
        card = json.loads(sys.stdin.read() if path == "-" else Path(path).read_text())
    except (OSError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"cannot read a card from {path}: {error}") from None
    if not isinstance(card, dict):
        raise argparse.ArgumentTypeError(f"{path} holds no card: expected a JSON object")
    return card


def tag_filter(text: str) -> str:
    split_pair(text, ":", "KEY:VALUE")
    return text


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Adds the subcommands; each sets `run(args) -> exit status`."""
    def version_command(name: str, help_text: str, run) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help_text, description=help_text)
        parser.add_argument("model", help="model name, e.g. resnet_18")
        parser.add_argument("version", type=int, help="version number, e.g. 2")
        parser.set_defaults(run=run)
        return parser

    describe = version_command("describe", "set a version's description (compare-and-set)", run_describe)
    describe.add_argument("text", help="the description ('' clears it)")
    tag = version_command("tag", "add, change or remove a version's tags (compare-and-set)", run_tag)
    tag.add_argument("tags", nargs="*", type=split_pair, metavar="KEY=VALUE")
    tag.add_argument("--remove", action="append", default=[], metavar="KEY", help="remove this tag (repeatable)")
    card = version_command("card", "show, export (--json) or edit a version's model card", run_card)
    card.add_argument("--set", action="append", default=[], type=card_field, metavar="FIELD=VALUE",
                      help=f"one of {', '.join(CARD_TEXT)}; an empty VALUE removes it (repeatable)")
    card.add_argument("--metric", action="append", default=[], type=metric, metavar="NAME=NUMBER")
    card.add_argument("--link", action="append", default=[], type=link, metavar="TITLE=URL",
                      help="a link, e.g. the training run (a title given again replaces its URL)")
    card.add_argument("--from-json", type=card_file, metavar="FILE",
                      help="start from this card (a --json export; '-' for stdin) instead of the version's own")
    card.add_argument("--json", action="store_true", help="print the card as JSON (an export), change nothing")
    approve = version_command("approve", "approve a version (or --reject it, or set it back --pending)", run_approve)
    approve.add_argument("--reason", required=True, help="why (recorded with who and when)")
    verdict = approve.add_mutually_exclusive_group()
    verdict.add_argument("--reject", dest="verdict", action="store_const", const="reject")
    verdict.add_argument("--pending", dest="verdict", action="store_const", const="pending")
    history = version_command("history", "every metadata and approval change of a version, newest first",
                              run_history)
    history.add_argument("--limit", type=int, default=20)
    history.add_argument("--json", action="store_true", help="print the API's JSON answer")

    search = commands.add_parser("search", help="find models (or one model's versions) by tag, framework, name",
                                 description="Models whose name contains QUERY, with every --tag (AND); with "
                                 "--model, that model's versions with every --tag and the --approval status.")
    search.add_argument("query", nargs="?", help="a part of the model name (case-insensitive)")
    search.add_argument("--tag", action="append", default=[], type=tag_filter, metavar="KEY:VALUE")
    search.add_argument("--framework", choices=("mxnet", "tensorflow"))
    search.add_argument("--model", help="search this model's versions instead of the models")
    search.add_argument("--approval", choices=sorted(APPROVAL.values()), help="with --model: this status only")
    search.add_argument("--limit", type=int, default=50, help="at most this many (read from up to ten pages)")
    search.add_argument("--next-token", help="the next page, as the previous page printed it")
    search.add_argument("--json", action="store_true", help="print the items and next_token as JSON")
    search.set_defaults(run=run_search)


def edit(api, model: str, number: int, changes: dict, current: dict | None = None) -> int:
    """Sends `changes` at the revision read; a 409 shows the version as someone else left it (exit 1)."""
    current = current or api.get_version(model, number)
    try:
        show_version(api.edit_version(model, number, changes, current["metadata_revision"]))
        return 0
    except RegistryRequestError as error:
        if error.code != "revision_conflict":
            raise
        err.print(f"[red]error:[/] {refusal(error)}")
        now = api.get_version(model, number)
        err.print(f"someone else changed {model} v{number} after it was read (revision "
                  f"{current['metadata_revision']}, now {now['metadata_revision']}); nothing of yours was "
                  "applied. It now reads:")
        show_version(now, err)
        err.print("run the command again to apply your change on top of this")
        return 1


@guarded
def run_describe(args: argparse.Namespace, api) -> int:
    return edit(api, args.model, args.version, {"description": args.text})


@guarded
def run_tag(args: argparse.Namespace, api) -> int:
    tags = {**dict(args.tags), **{key: None for key in args.remove}}
    if not tags:
        err.print("[red]error:[/] give KEY=VALUE tags to set, or --remove KEY")
        return 2
    return edit(api, args.model, args.version, {"tags": tags})


@guarded
def run_card(args: argparse.Namespace, api) -> int:
    current = api.get_version(args.model, args.version)
    card = current.get("card") or {}
    if args.json:
        if args.from_json is not None or args.set or args.metric or args.link:
            err.print("[red]error:[/] --json exports the card as it is: give it alone")
            return 2
        print(json.dumps(card, indent=2, sort_keys=True))
        return 0
    if args.from_json is None and not (args.set or args.metric or args.link):
        show_card(card)
        return 0
    start = card if args.from_json is None else args.from_json
    return edit(api, args.model, args.version, {"card": edited_card(start, args.set, args.metric, args.link)},
                current)


def edited_card(card: dict, fields: list[tuple], metrics: list[tuple], links: list[dict]) -> dict:
    """The whole card the PATCH sends (it replaces the card): `card` with the command's changes."""
    card = {**card, "metrics": {**(card.get("metrics") or {}), **dict(metrics)}}
    for field, value in fields:
        card[field] = value
        if not value:
            del card[field]
    titles = {item["title"] for item in links}
    card["links"] = [item for item in card.get("links") or [] if item["title"] not in titles] + links
    return {key: value for key, value in card.items() if value not in ({}, [])}


@guarded
def run_approve(args: argparse.Namespace, api) -> int:
    status = APPROVAL[args.verdict or "approve"]
    show_version(api.set_approval(args.model, args.version, status, args.reason))
    return 0


@guarded
def run_history(args: argparse.Namespace, api) -> int:
    document = api.version_history(args.model, args.version, limit=args.limit)
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    table = Table(title=f"history of {args.model} v{args.version}", title_justify="left")
    for column in ("revision", "kind", "when", "who", "what changed"):
        table.add_column(column, no_wrap=column != "what changed")
    for entry in document["entries"]:
        table.add_row(str(entry["revision"]), entry["kind"], str(entry.get("at") or "")[:19].replace("T", " "),
                      shown(entry.get("actor") or ""), shown(json.dumps(entry.get("change"), sort_keys=True)))
    out.print(table)
    return 0


@guarded
def run_search(args: argparse.Namespace, api) -> int:
    if args.model and (args.query or args.framework):
        err.print("[red]error:[/] with --model, search that model's versions by --tag and --approval only")
        return 2
    if args.approval and not args.model:
        err.print("[red]error:[/] --approval filters one model's versions: give --model too")
        return 2
    if args.model:
        document = filled(lambda limit, token: api.list_versions(args.model, limit, token, args.tag, args.approval),
                          args.limit, args.next_token)
    else:
        document = filled(lambda limit, token: api.search_models(args.query, args.tag, args.framework, limit, token),
                          args.limit, args.next_token)
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    table = Table(show_header=True)
    if args.model:
        for column in ("version", "approval", "tags", "description"):
            table.add_column(column)
        for v in document["items"]:
            table.add_row(f"v{v['version']}", (v.get("approval") or {}).get("status", ""),
                          shown(tags_text(v.get("tags"))), shown(v.get("description") or ""))
    else:
        for column in ("model", "latest", "versions"):
            table.add_column(column)
        for m in document["items"]:
            table.add_row(shown(m["name"]), f"v{m['latest_version']}" if m.get("latest_version") else "–",
                          str(m.get("versions", "")))
    out.print(table if document["items"] else "nothing matches")
    if document.get("next_token"):
        out.print(f"more: add --next-token {shown(document['next_token'])}")
    return 0


def tags_text(tags: dict | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((tags or {}).items())) or "–"


def show_version(v: dict, console: Console = out) -> None:
    """A version's description, tags and approval in a few lines (user text escaped, never markup)."""
    approval = v.get("approval") or {}
    console.print(f"{shown(v['name'])} v{v['version']}  [dim]metadata revision {v.get('metadata_revision', 0)}[/]")
    console.print(f"  description: {shown(v.get('description') or '–')}")
    console.print(f"  tags: {shown(tags_text(v.get('tags')))}")
    status = approval.get("status", "PendingManualApproval")
    said = f" by {approval['actor']} at {approval.get('at')}" if approval.get("actor") else ""
    reason = f": {approval['reason']}" if approval.get("reason") else ""
    console.print(f"  approval: {status}{shown(said + reason)}")


def show_card(card: dict) -> None:
    if not card:
        out.print("no model card yet: set one with --set intended_use=... --metric accuracy=0.9 "
                  "--link run=https://...")
    for field in CARD_TEXT:
        if card.get(field):
            out.print(f"{field}: {shown(card[field])}")
    for name, value in sorted((card.get("metrics") or {}).items()):
        out.print(f"metric {shown(name)}: {value}")
    for item in card.get("links") or []:
        out.print(f"link {shown(item['title'])}: {shown(item['url'])}")
