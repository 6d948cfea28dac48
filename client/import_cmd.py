"""`mme-registry import s3://bucket/prefix/`: an existing endpoint's tarballs brought under the registry.

client/imports.py does the work; this module parses the command, shows progress and sums up:
imported, already there, rejected (each rule the registry named), failed (AWS or the registry
unreachable), with a non-zero exit status when anything was rejected or failed.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field

from rich.console import Console

from .command_guard import shown
from .imports import OUTCOMES, AliasOutcome, Outcome

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
INTERRUPTED = 130  # what a shell reports for Ctrl-C


def add_commands(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "import", help="register every .tar.gz under an S3 prefix (an endpoint's models) as a version",
        description="Copies each .tar.gz under s3://BUCKET/PREFIX/ server-side into the registry's staging/ and "
        "registers it as a version of the model its key names, validated as every upload is. Models are imported "
        "in parallel, each model's keys in order. Run it again to finish an interrupted import: nothing is "
        "imported twice.")
    command.add_argument("source", metavar="s3://BUCKET/PREFIX/", help="where the tarballs are (the endpoint's "
                         "ModelDataUrl); give it before --alias-per-model")
    command.add_argument("--name-pattern", type=_pattern, metavar="REGEX",
                         help="a regular expression with a group named 'name', matched against the whole key after "
                         "the prefix, e.g. '(?P<name>[^/]+)/model\\.tar\\.gz' (default: the key without .tar.gz and a "
                         "trailing _v<N>, so fraud_v3.tar.gz is the model fraud)")
    command.add_argument("--concurrency", type=_positive, default=4, metavar="N",
                         help="models imported at once (default 4)")
    command.add_argument("--alias-per-model", nargs="?", const="{model}", type=_template, metavar="TEMPLATE",
                         help="afterwards, create an alias per model at its newest imported version, named by "
                         "TEMPLATE ({model} is the model's name; default '{model}'); an existing alias is not moved")
    command.add_argument("--dry-run", action="store_true", help="list each object, the model it becomes and whether "
                         "it is already there; copy and register nothing")
    command.add_argument("--timeout", type=float, default=900, metavar="SECONDS",
                         help="how long to wait for a large registration the registry queued (default 900)")
    command.add_argument("--warmup", action="store_true", help="warm each new version up on the endpoint (off: an "
                         "import of thousands of models would load each of them in turn)")
    command.add_argument("--json", action="store_true", help="print the summary as JSON")
    command.set_defaults(run=run_import)


def _pattern(text: str):
    from .import_plan import name_pattern

    try:
        return name_pattern(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _template(text: str) -> str:
    from .imports import alias_template

    if text.startswith("s3://"):
        raise argparse.ArgumentTypeError(f"{text!r} reads as the source: give the source first, or write "
                                          "--alias-per-model=TEMPLATE")
    try:
        return alias_template(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1, got {text!r}")
    return int(text)


@dataclass
class Summary:
    source: str
    outcomes: list[Outcome]
    aliases: list[AliasOutcome] = field(default_factory=list)
    ignored: int = 0  # objects under the prefix that are not .tar.gz
    dry_run: bool = False
    interrupted: bool = False

    def counts(self) -> dict[str, int]:
        kinds = ("would-import", *OUTCOMES) if self.dry_run else OUTCOMES
        return {kind: sum(1 for o in self.outcomes if o.outcome == kind) for kind in kinds}

    def exit_status(self) -> int:
        if self.interrupted:
            return INTERRUPTED
        counts = self.counts()
        refused = any(a.outcome == "refused" for a in self.aliases)
        return 1 if counts["rejected"] or counts["failed"] or refused else 0

    def as_json(self) -> dict:
        return {"source": self.source, "dry_run": self.dry_run, "interrupted": self.interrupted,
                "counts": self.counts(), "ignored": self.ignored,
                "objects": [o.as_json() for o in sorted(self.outcomes, key=lambda o: o.key)],
                "aliases": [a.as_json() for a in self.aliases]}

    def lines(self) -> list[str]:
        """The summary in words (rich markup): the counts, then every object that needs a look."""
        counts = self.counts()
        said = [f"{counts['would-import']} to import"] if self.dry_run else [f"{counts['imported']} imported"]
        said += [f"{counts['already']} already there", f"{counts['rejected']} rejected", f"{counts['failed']} failed"]
        ignored = f" ({self.ignored} other object(s) passed over: not .tar.gz)" if self.ignored else ""
        lines = [f"{shown(self.source)}: " + ", ".join(said) + ignored]
        ordered = sorted(self.outcomes, key=lambda o: o.key)
        if self.dry_run:
            lines += [f"  {shown(o.key)} → {_what(o)}" for o in ordered]
        for kind, colour in (("rejected", "red"), ("failed", "red")):
            for o in (o for o in ordered if o.outcome == kind and not self.dry_run):
                lines.append(f"[{colour}]{kind}[/]: {shown(o.key)}" + (f" (model {shown(o.name)})" if o.name else ""))
                lines += [f"  - {shown(f.get('rule', ''))}: {shown(f.get('message', ''))}" for f in o.failures]
                if not o.failures:
                    lines.append(f"  {shown(o.message)}")
        if self.aliases:
            tally = {kind: sum(1 for a in self.aliases if a.outcome == kind)
                     for kind in ("created", "already", "skipped", "refused")}
            lines.append("aliases: " + ", ".join(f"{n} {kind}" for kind, n in tally.items()))
            lines += [f"  {shown(a.alias)} → {shown(a.model)} v{a.version}: {a.outcome}: {shown(a.message)}"
                      for a in self.aliases if a.outcome in ("skipped", "refused")]
        if self.interrupted:
            lines.append("[yellow]interrupted[/]: run the same command again to import the rest (nothing is imported "
                         "twice)")
        elif counts["failed"]:
            lines.append("the failed objects were not imported: fix the cause and run the same command again")
        return lines


def _what(outcome: Outcome) -> str:
    if outcome.outcome == "already":
        return f"{shown(outcome.name)}: already there as v{outcome.version}"
    if outcome.outcome == "would-import":
        return shown(outcome.name)
    return f"{outcome.outcome}: {shown(outcome.message)}"


def run_import(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from .config import ClientSettings
    from .import_plan import list_sources, parse_s3_url, plan
    from .imports import ImportInterrupted, Importer, alias_each_model
    from .registry_api import RegistryApi

    settings = ClientSettings()
    try:
        bucket, prefix = parse_s3_url(args.source)
    except ValueError as error:
        err.print(f"[red]error:[/] {shown(error)}")
        return 2
    s3 = boto3.client("s3")
    try:
        objects, ignored = list_sources(s3, bucket, prefix)
    except (ClientError, BotoCoreError) as error:
        err.print(f"[red]error:[/] cannot list {shown(args.source)}: {shown(error)}")
        return 1
    planned = plan(objects, prefix, args.name_pattern)
    importer = Importer(s3, lambda: RegistryApi.from_settings(settings), bucket, settings.bucket,
                        settings.staging_prefix, args.timeout, args.dry_run, args.warmup)
    interrupted = False
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task(f"{'checking' if args.dry_run else 'importing'} {args.source}", total=len(planned))
        try:
            outcomes = importer.run(planned, args.concurrency, on_outcome=lambda _: progress.advance(task))
        except ImportInterrupted as stopped:
            outcomes, interrupted = stopped.outcomes, True
    aliases = []
    if args.alias_per_model and not args.dry_run and not interrupted:
        aliases = alias_each_model(RegistryApi.from_settings(settings), args.alias_per_model, outcomes)
    summary = Summary(args.source, outcomes, aliases, ignored, args.dry_run, interrupted)
    if args.json:
        print(json.dumps(summary.as_json(), indent=2))
    else:
        for line in summary.lines():
            out.print(line)
    return summary.exit_status()
