"""`mme-registry rollout ALIAS`: start a canary rollout (--to MODEL:N), show it, cancel it, follow it (--wait).

The registry does the rollout (its advancer judges each step on the calls made meanwhile and moves
the alias, or puts the incumbent back on a breach); this command only asks for it and reads it.
"""
from __future__ import annotations

import argparse
import json
import time

from rich.console import Console

from .command_guard import guarded, shown

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
UNITS = {"s": 1, "m": 60, "h": 3600}


def duration(text: str) -> int:
    """'90s', '10m', '1h' or plain seconds -> seconds."""
    text = text.strip().lower()
    try:
        return int(float(text[:-1]) * UNITS[text[-1]]) if text and text[-1] in UNITS else int(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a duration such as 90s, 10m or 1h, not {text!r}") from None


def target(text: str) -> tuple[str, int]:
    """'fraud:3' -> ("fraud", 3)."""
    model, _, version = text.rpartition(":")
    if not model or not version.isdigit():
        raise argparse.ArgumentTypeError(f"MODEL:N, such as fraud:3, not {text!r}")
    return model, int(version)


def steps(text: str) -> list[int]:
    try:
        return [int(step) for step in text.split(",") if step.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"percents separated by commas, such as 5,25,50,100, not {text!r}") from None


def add_commands(commands: argparse._SubParsersAction) -> None:
    rollout = commands.add_parser(
        "rollout", help="move an alias to a new version step by step, back by itself on a breach",
        description="With --to starts a canary rollout: the candidate gets each of --steps percent of the alias's "
        "traffic for --bake, judged on the calls made meanwhile (its failure rate, its p99 against the incumbent's); "
        "a breach puts the incumbent back alone, the last step promotes the candidate. Without --to shows the "
        "alias's rollouts; --cancel stops the running one and puts the incumbent back.")
    rollout.add_argument("alias")
    rollout.add_argument("--to", type=target, metavar="MODEL:N", help="the candidate version")
    rollout.add_argument("--steps", type=steps, default=[5, 25, 50, 100], metavar="5,25,50,100",
                         help="the candidate's percent at each step, ending at 100 (default 5,25,50,100)")
    rollout.add_argument("--bake", type=duration, default=600, metavar="10m",
                         help="how long each step runs before it is judged: 5s to 24h (default 10m)")
    rollout.add_argument("--max-error-rate", type=float, default=0.01, metavar="0.01",
                         help="the candidate's failures (5xx, not ready) per call above this: a breach (default 0.01)")
    rollout.add_argument("--max-p99-ratio", type=float, default=1.2, metavar="1.2",
                         help="the candidate's p99 above this times the incumbent's: a breach (default 1.2)")
    rollout.add_argument("--min-requests", type=int, metavar="N",
                         help="a step is never passed on fewer candidate calls; it bakes on until it has them "
                         "(default: the registry's, 100)")
    rollout.add_argument("--cancel", action="store_true", help="stop the running rollout: the incumbent gets all "
                         "the traffic back")
    rollout.add_argument("--wait", action="store_true", help="follow the rollout until it ends; exit 0 only if "
                         "it was promoted")
    rollout.add_argument("--json", action="store_true", help="print the API's JSON answer")
    rollout.set_defaults(run=run_rollout)


@guarded
def run_rollout(args: argparse.Namespace, api) -> int:
    if args.cancel and args.to:
        err.print("[red]error:[/] --cancel takes no --to")
        return 2
    if args.cancel:
        rollout = api.cancel_rollout(args.alias)
    elif args.to:
        model, version = args.to
        rollout = api.start_rollout(args.alias, {
            "model": model, "version": version, "steps": args.steps, "bake_seconds": args.bake,
            "max_error_rate": args.max_error_rate, "max_p99_ratio": args.max_p99_ratio,
            **({"min_requests": args.min_requests} if args.min_requests is not None else {})})
    else:
        listing = api.rollouts(args.alias, limit=1)
        rollout = listing["current"] or next(iter(listing["items"]), None)
        if rollout is None:
            out.print(f"alias {shown(args.alias)} has had no rollout")
            return 0 if not args.wait else 1
    if args.wait:
        rollout = follow(api, args.alias, rollout)
    print(json.dumps(rollout, indent=2)) if args.json else show(rollout)
    return 0 if not args.wait or rollout["status"] == "promoted" else 1


def follow(api, alias: str, rollout: dict, every: float = 2.0) -> dict:
    """Polls until the rollout ends, printing each new decision as it is made."""
    seen = 0
    while True:
        for decision in rollout["decisions"][seen:]:
            err.print(line(decision))
        seen = len(rollout["decisions"])
        if rollout["status"] != "running":
            return rollout
        time.sleep(every)
        listing = api.rollouts(alias, limit=1)
        rollout = listing["current"] or next(r for r in listing["items"] if r["number"] == rollout["number"])


def line(decision: dict) -> str:
    numbers = ""
    if decision.get("candidate"):
        c, i = decision["candidate"], decision.get("incumbent") or {}
        numbers = (f"  [dim]candidate {c['requests']} calls, {c['failures']} failed, p99 {_ms(c['p99_ms'])}; "
                   f"incumbent {i.get('requests', 0)} calls, p99 {_ms(i.get('p99_ms'))}[/]")
    return f"{decision['at']}  {decision['percent']:>3} %  {decision['verdict']}: {shown(decision['reason'])}{numbers}"


def _ms(value) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def show(rollout: dict) -> None:
    c, i = rollout["candidate"], rollout["incumbent"]
    out.print(f"alias {shown(rollout['alias'])} rollout {rollout['number']}: {rollout['status']}, "
              f"{rollout['percent']} % on {shown(c['model'])} v{c['version']} (incumbent {shown(i['model'])} "
              f"v{i['version']})  [dim]steps {','.join(map(str, rollout['steps']))}, "
              f"bake {rollout['bake_seconds']} s, "
              f"max error rate {rollout['max_error_rate']:g}, max p99 ratio {rollout['max_p99_ratio']:g}, "
              f"min requests {rollout['min_requests']}; started by {shown(rollout['started_by'] or '?')}[/]")
    for decision in rollout["decisions"]:
        out.print("  " + line(decision))
    if rollout.get("waiting"):
        out.print("  " + line(rollout["waiting"]))
    if rollout.get("last_error"):
        out.print(f"  [red]last error:[/] {shown(rollout['last_error'])}")
