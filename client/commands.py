"""The `invoke`, `upload` and `alias` subcommands of `python -m client` (registered by client/cli.py)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from .errors import AliasClientError
from .versions_cmd import split_pair

err = Console(stderr=True, highlight=False)


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Adds the subcommands; each sets `run(args) -> exit status`."""
    invoke = commands.add_parser("invoke", help="invoke the model an alias points at",
                                 description="Resolves ALIAS through the registry and calls InvokeEndpoint.")
    invoke.add_argument("alias")
    invoke.add_argument("--file", type=Path, required=True, help="request body ('-' for stdin)")
    invoke.add_argument("--content-type", default="application/json")
    invoke.add_argument("--accept", help="e.g. application/json or application/x-npy")
    invoke.add_argument("--key", help="sticky key: the same key lands on the same target of a weighted alias")
    invoke.add_argument("--output", type=Path, help="write the answer here instead of stdout")
    invoke.set_defaults(run=run_invoke)

    upload = commands.add_parser("upload", help="upload a tarball into the drop folder and wait for the outcome",
                                 description="Uploads FILE as incoming/NAME.tar.gz, then prints the version it "
                                 "became or why it was rejected (exit 1).")
    upload.add_argument("file", type=Path)
    upload.add_argument("--name", required=True, help="model name, e.g. resnet_18")
    upload.add_argument("--alias", action="append", default=[], help="alias to point at the new version (repeatable)")
    upload.add_argument("--description", help="what the version is (x-amz-meta-description)")
    upload.add_argument("--tag", action="append", default=[], type=split_pair, metavar="KEY=VALUE",
                        help="a tag for the new version (repeatable; x-amz-meta-tags)")
    upload.add_argument("--timeout", type=float, default=120, help="seconds to wait for the outcome")
    upload.add_argument("--json", action="store_true", help="print the upload record as JSON")
    upload.set_defaults(run=run_upload)

    from .commands_alias import add_alias_command

    add_alias_command(commands)


def run_invoke(args: argparse.Namespace) -> int:
    from .alias_client import AliasClient

    body = sys.stdin.buffer.read() if str(args.file) == "-" else args.file.read_bytes()
    try:
        result = AliasClient().invoke(args.alias, body, content_type=args.content_type, accept=args.accept,
                                      key=args.key)
    except AliasClientError as error:
        err.print(f"[red]error:[/] {error}")
        return 1
    err.print(f"{args.alias} → {result.target_model} (v{result.version}) on {result.endpoint}, "
              f"{result.content_type}, "
              f"{len(result.body)} bytes")
    if args.output:
        args.output.write_bytes(result.body)
    else:
        sys.stdout.buffer.write(result.body + (b"" if result.body.endswith(b"\n") else b"\n"))
    return 0


def run_upload(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn, TimeRemainingColumn

    from .uploads import upload_model

    if not args.file.is_file():
        err.print(f"[red]error:[/] {args.file} is not a file")
        return 2
    size = args.file.stat().st_size
    columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    try:
        with Progress(*columns, console=err, transient=False) as progress:
            task = progress.add_task(f"uploading {args.file.name}", total=size)
            outcome = upload_model(args.file, args.name, args.alias, timeout=args.timeout,
                                   on_bytes=lambda n: progress.advance(task, n), said=said_of(args))
    except AliasClientError as error:
        err.print(f"[red]error:[/] {error}")
        return 1
    except Exception as error:  # noqa: BLE001 - a bad name, no credentials, no bucket: say it, no traceback
        err.print(f"[red]error:[/] {type(error).__name__}: {error}")
        return 1
    if args.json:
        print(json.dumps({"record": outcome.record, "report": outcome.report}, indent=2))
    else:
        print_outcome(outcome, Console(highlight=False))
    return 0 if outcome.accepted else 1


def said_of(args: argparse.Namespace) -> dict[str, str]:
    """The version's description and tags as the drop folder reads them (the registry checks them)."""
    said = {"description": args.description or "", "tags": ";".join(f"{k}={v}" for k, v in args.tag)}
    return {key: value for key, value in said.items() if value}


def print_outcome(outcome, console: Console, indent: str = "") -> None:
    """One upload's outcome in words: the version, or every rule it broke."""
    record = outcome.record
    say = lambda text: console.print(indent + text)  # noqa: E731
    if outcome.outcome == "accepted":
        say(f"[green]accepted[/]: {outcome.name} v{record['version']} ({record.get('message') or ''})")
    elif outcome.outcome == "unchanged":
        say(f"[yellow]unchanged[/]: identical to {outcome.name} v{record['equals_version']}; no new version")
    elif outcome.outcome == "rejected":
        say(f"[red]rejected[/]: {outcome.name} broke {len(record.get('rules', []))} rule(s)")
        failures = (record.get("failures") or (outcome.report or {}).get("report", {}).get("failures")
                    or [{"rule": rule, "message": ""} for rule in record.get("rules", [])])
        for failure in failures:
            say(f"  - {failure.get('rule')}: {failure.get('message', '')}")
        if record.get("rejected_key"):
            say(f"  kept as {record['rejected_key']}, report beside it: {record.get('report_key')}")
    else:
        say(f"[red]{outcome.outcome}[/]: {record.get('message')}")
    if record.get("warmup"):
        say(f"  warm-up: {record['warmup']}")
    for alias, what in (record.get("aliases") or {}).items():
        say(f"  alias {alias}: {what}")
