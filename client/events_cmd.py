"""`python -m client events tail`: follow the registry's change events as they happen.

It reads an SQS queue that an EventBridge rule fills with the registry's events (the local
stack provisions one: `mme-registry-local-events-tail`; in AWS, name your own with
--queue). Delivery is at least once, so events are shown once per event_id. The queue
is the tail's own: every message read is deleted, shown or filtered out.
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Iterator

from rich.console import Console

from .config import ClientSettings

err = Console(stderr=True, highlight=False)


def add_commands(commands: argparse._SubParsersAction) -> None:
    events = commands.add_parser("events", help="the registry's change events")
    sub = events.add_subparsers(dest="events_command", required=True, metavar="COMMAND")
    tail = sub.add_parser("tail", help="follow change events live",
                          description="Prints each registry change event (version registered, upload rejected or "
                          "unchanged, alias moved, version retired, warm-up failed) as it reaches the queue.")
    tail.add_argument("--alias", help="only AliasMoved events of this alias")
    tail.add_argument("--model", help="only events about this model (an alias move names every model it touches)")
    tail.add_argument("--queue", help="queue name or URL (default: MME_EVENTS_QUEUE, the local stack's)")
    tail.add_argument("--json", action="store_true", help="one event JSON per line")
    tail.add_argument("--once", action="store_true", help="stop when the queue has nothing more to show")
    tail.set_defaults(run=run_tail)


def run_tail(args: argparse.Namespace) -> int:
    import boto3

    settings = ClientSettings()
    sqs = boto3.client("sqs")
    queue = args.queue or settings.events_queue
    url = queue if queue.startswith(("https://", "http://")) else sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    if not args.once:
        err.print(f"following {url} (Ctrl-C to stop)")
    console = Console(highlight=False, soft_wrap=True)  # one event, one line, however narrow the terminal
    try:
        for event in follow(sqs, url, args.once):
            if not matches(event, args.alias, args.model):
                continue
            if args.json:
                print(json.dumps(event, sort_keys=True), flush=True)
            else:
                console.print(describe(event))
    except KeyboardInterrupt:
        pass
    return 0


def follow(sqs, url: str, once: bool, idle_seconds: float = 1.0) -> Iterator[dict]:
    """Each event (an EventBridge envelope's detail) once, deleting what it reads.

    Short polls with a pause when the queue is empty, not long polls: the local emulator
    answers one request at a time, and a long poll would hold the pump's every call.
    """
    seen: set[str] = set()
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            if once:
                return
            time.sleep(idle_seconds)
        for message in messages:
            detail = json.loads(message["Body"]).get("detail", {})
            if detail.get("event_id") not in seen:
                seen.add(detail.get("event_id"))
                yield detail
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def matches(event: dict, alias: str | None, model: str | None) -> bool:
    if alias is not None and event.get("alias") != alias:
        return False
    if model is not None and model != event.get("model") and model not in event.get("models", []):
        return False
    return True


def _targets(state: dict | None) -> str:
    if state is None:
        return "nothing"
    text = ", ".join(f"{t['model']} v{t['version']}" + (f" ({t['weight']}%)" if t["weight"] != 100 else "")
                     for t in state["targets"])
    return text + (" (following latest)" if state.get("tracks_latest") else "")


def describe(event: dict) -> str:
    """One line a person reads: when, what, on what, by whom."""
    kind, by = event["type"], f" by {event['actor']}" if event.get("actor") else ""
    what = {
        "ModelVersionRegistered": lambda e: f"{e['model']} v{e['version']} ({e['target_model']})",
        "UploadRejected": lambda e: f"{e['model']}: {e['source_key']} failed {', '.join(e['rules'])}"
                                    + (f"; parked at {e['rejected_key']}" if e.get("rejected_key") else ""),
        "UploadUnchanged": lambda e: f"{e['model']}: {e['source_key']} equals v{e['equals_version']}",
        "AliasMoved": lambda e: f"{e['alias']} r{e['revision']} {e['action']}: "
                                f"{_targets(e['from'])} -> {_targets(e['to'])}",
        "VersionRetired": lambda e: f"{e['model']} v{e['version']}",
        "WarmupFailed": lambda e: f"{e['model']} v{e['version']}: {e['error']}",
        "VersionMetadataChanged": lambda e: f"{e['model']} v{e['version']} r{e['revision']}: "
                                            f"{', '.join(e['changed'])} changed",
        "VersionApprovalChanged": lambda e: f"{e['model']} v{e['version']} {e['status']}: {e.get('reason') or ''}",
        "AliasPolicyChanged": lambda e: f"{e['alias']} r{e['revision']}: " + (
            "; ".join(f"{k} {', '.join(v)}" for k, v in e["policy"].items() if v) or "no rule"
            if e.get("policy") else "policy deleted"),
        "RolloutChanged": lambda e: f"{e['alias']} rollout {e['rollout']} {e['action']} at {e['percent']} % of "
                                    f"{e['candidate']['model']} v{e['candidate']['version']}: {e.get('reason') or ''}",
        "ShadowCompared": lambda e: f"{e['model']} v{e['version']} beside {e['incumbent']['model']} "
                                    f"v{e['incumbent']['version']} for {e['alias']}: {e['verdict']}"
                                    + (f" ({'; '.join(e['failures'])})" if e.get("failures") else ""),
    }.get(kind, lambda e: json.dumps(e, sort_keys=True))(event)
    return f"{event.get('time', '')} {kind} {what}{by}"
