"""`mme-registry shadow ALIAS --to MODEL:N`: compare a candidate with an alias's target(s) on the reference samples
without moving it (the numbers the shadow gate would judge a move by); `mme-registry samples MODEL FILE...`: set a
model's reference samples (each FILE one JSON request body), used for its versions without their own.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console

from .command_guard import guarded, shown

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def model_version(text: str) -> tuple[str, int]:
    """`fraud:4` → ("fraud", 4)."""
    model, _, number = text.rpartition(":")
    if not model or not number.isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not MODEL:N (e.g. fraud:4)")
    return model, int(number)


def add_commands(commands: argparse._SubParsersAction) -> None:
    shadow = commands.add_parser("shadow", help="compare a version with an alias's target(s) on reference samples",
                                 description="Invokes the alias's current target(s) and MODEL:N on the reference "
                                 "samples (MODEL:N's own, else its model's) and prints top-1 agreement, top-k overlap, "
                                 "the largest difference and the latency ratio, judged by the alias policy's shadow "
                                 "thresholds. Nothing moves. A recent comparison is reused unless --fresh. Exit 1 "
                                 "when it fails the thresholds.")
    shadow.add_argument("alias")
    shadow.add_argument("--to", required=True, type=model_version, metavar="MODEL:N", help="the candidate version")
    shadow.add_argument("--fresh", action="store_true", help="run it again even if a recent one is recorded")
    shadow.add_argument("--json", action="store_true", help="print the API's JSON answer")
    shadow.set_defaults(run=run_shadow)
    samples = commands.add_parser("samples", help="set a model's reference samples (JSON request bodies)",
                                  description="Replaces MODEL's reference samples with FILEs, each one JSON request "
                                  "body as a caller sends it (at most 100, 256 KiB each, 256 KiB in all per call). A "
                                  "version's own samples/*.json take precedence.")
    samples.add_argument("model")
    samples.add_argument("files", nargs="+", type=Path, metavar="FILE")
    samples.set_defaults(run=run_samples)


@guarded
def run_shadow(args: argparse.Namespace, api) -> int:
    model, version = args.to
    err.print(f"comparing {model} v{version} with the target(s) of alias {shown(args.alias)}...")
    answer = api.run_shadow(args.alias, model, version, args.fresh)
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        show_comparisons(answer)
    return 1 if any(c["verdict"] == "failed" for c in answer["comparisons"]) else 0


def show_comparisons(answer: dict, console: Console = out) -> None:
    thresholds = answer.get("thresholds") or {}
    given = {k: v for k, v in thresholds.items() if v is not None and k not in ("k", "samples")}
    console.print(f"{shown(answer['model'])} v{answer['version']} beside alias {shown(answer['alias'])}'s target(s); "
                  f"thresholds: {', '.join(f'{k} {v:g}' for k, v in given.items()) or 'none (not judged)'}")
    for c in answer["comparisons"]:
        colour = {"passed": "green", "failed": "red"}.get(c["verdict"], "yellow")
        console.print(f"  beside {shown(c['incumbent_model'])} v{c['incumbent_version']}: [{colour}]{c['verdict']}"
                      f"[/] on {c['samples']} samples ({c['samples_source']}'s), {c['at']}"
                      f"{' (recorded earlier, reused)' if c.get('reused') else ''}")
        console.print(f"    top-1 agreement {_number(c['top1_agreement'])}, top-{c['k']} overlap "
                      f"{_number(c['topk_overlap'])}, max |difference| {_number(c['max_abs_diff'])}, latency ratio "
                      f"{_number(c['latency_ratio'])} ({_number(c['candidate_median_ms'])} ms vs "
                      f"{_number(c['incumbent_median_ms'])} ms)")
        for failure in ([c["error"]] if c.get("error") else []) + [f for f in c["failures"] if f != c.get("error")]:
            console.print(f"    [red]{shown(failure)}[/]")


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.4g}"


@guarded
def run_samples(args: argparse.Namespace, api) -> int:
    bodies = []
    for path in args.files:
        try:
            bodies.append(json.loads(path.read_text()))
        except (OSError, ValueError) as error:
            err.print(f"[red]error:[/] {shown(path)} is not a readable JSON file: {shown(error)}")
            return 2
    answer = api.put_model_samples(args.model, bodies)
    out.print(f"model {shown(answer['model'])} has {answer['samples']} reference samples now "
              f"({shown(answer['samples_key'])})")
    return 0
