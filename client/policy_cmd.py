"""`mme-registry alias policy ALIAS`: who may move an alias, and what a version needs before it may be a target.

Options given replace those fields of the current policy and the rest are kept (`--movers` alone
clears the movers); the write is compare-and-set on the revision read, so a policy changed
meanwhile is a 409 that shows the policy as it now is.
"""
from __future__ import annotations

import argparse
import json

from rich.console import Console

from .command_guard import guarded, refusal, shown
from .errors import RegistryRequestError

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
FIELDS = ("movers", "approvers", "require")
SHADOW = {  # option -> (the policy's shadow field, its type)
    "shadow_min_top1": ("min_top1_agreement", float), "shadow_min_topk": ("min_topk_overlap", float),
    "shadow_k": ("k", int), "shadow_max_diff": ("max_abs_diff", float),
    "shadow_max_latency_ratio": ("max_latency_ratio", float), "shadow_samples": ("samples", int),
}


def requirements(text: str) -> list[str]:
    """`approved,warmed` → ["approved", "warmed"]; `''` → [] (no requirement)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def add_policy_command(actions: argparse._SubParsersAction) -> None:
    policy = actions.add_parser("policy", help="show, set or delete an alias's policy",
                                description="Without options (or with --show) prints the policy. --movers: IAM "
                                "ARN patterns (`*` wildcards; on the local stack local:NAME, as MME_REGISTRY_ACTOR "
                                "says) of who may move the alias or change this policy; "
                                "--approvers: whose approval counts; --require approved,warmed: what every target "
                                "version must have.")
    policy.add_argument("alias")
    policy.add_argument("--movers", nargs="*", metavar="PATTERN")
    policy.add_argument("--approvers", nargs="*", metavar="PATTERN")
    policy.add_argument("--require", type=requirements, metavar="approved,warmed,shadow")
    gate = policy.add_argument_group("shadow gate", "with --require shadow: what a new target's answers on the "
                                     "reference samples must come to beside the current target's (see "
                                     "`mme-registry shadow`); each option sets one threshold and keeps the others")
    for option, (field, kind) in SHADOW.items():
        gate.add_argument("--" + option.replace("_", "-"), type=kind, metavar=field.upper(), dest=option,
                          help=f"shadow.{field}")
    what = policy.add_mutually_exclusive_group()
    what.add_argument("--show", action="store_true", help="print the policy (the default without options)")
    what.add_argument("--delete", action="store_true", help="remove the policy: anyone may move the alias")
    policy.add_argument("--json", action="store_true", help="print the API's JSON answer")
    policy.set_defaults(run=run_policy)


def changes_of(args: argparse.Namespace) -> dict:
    return {field: getattr(args, field) for field in FIELDS if getattr(args, field) is not None}


def shadow_changes(args: argparse.Namespace) -> dict:
    return {field: getattr(args, option) for option, (field, _) in SHADOW.items()
            if getattr(args, option, None) is not None}


@guarded
def run_policy(args: argparse.Namespace, api) -> int:
    changes, shadow = changes_of(args), shadow_changes(args)
    if shadow:
        changes["shadow"] = shadow
    if (args.show or args.delete) and changes:
        err.print("[red]error:[/] --show and --delete take no --movers, --approvers or --require")
        return 2
    if args.delete:
        api.delete_alias_policy(args.alias)
        out.print(f"alias {shown(args.alias)} has no policy now: anyone who may call the API may move it")
        return 0
    current = _current(api, args.alias)
    if not changes:
        if current is None:
            out.print(f"alias {shown(args.alias)} has no policy: anyone who may call the API may move it")
        else:
            print(json.dumps(current, indent=2)) if args.json else show_policy(current)
        return 0
    revision = current["revision"] if current else 0  # 0: create it only if still none
    before = (current or {}).get("policy") or {}
    policy = {**{field: [] for field in FIELDS}, **before, **changes}
    if shadow:  # the thresholds given, over those the policy had
        policy["shadow"] = {**(before.get("shadow") or {}), **shadow}
    try:
        document = api.put_alias_policy(args.alias, {f: policy[f] for f in (*FIELDS, "shadow") if f in policy},
                                        revision)
    except RegistryRequestError as error:
        if error.code != "revision_conflict":
            raise
        err.print(f"[red]error:[/] {refusal(error)}")
        now = _current(api, args.alias)
        err.print("someone else changed the policy after it was read; nothing of yours was applied. It now reads:")
        show_policy(now, err) if now else err.print("(no policy)")
        return 1
    print(json.dumps(document, indent=2)) if args.json else show_policy(document)
    return 0


def _current(api, alias: str) -> dict | None:
    try:
        return api.get_alias_policy(alias)
    except RegistryRequestError as error:
        if error.status == 404:
            return None
        raise


def show_policy(document: dict, console: Console = out) -> None:
    policy = document.get("policy") or {}
    anyone = {"movers": "anyone who may call the API", "approvers": "anyone", "require": "nothing"}
    console.print(f"alias {shown(document['alias'])} policy  [dim]revision {document.get('revision')}, by "
                  f"{shown(str(document.get('actor') or '?'))} at {document.get('at')}[/]")
    for field in FIELDS:
        console.print(f"  {field}: {shown(', '.join(policy.get(field) or []) or anyone[field])}")
    gate = {k: v for k, v in (policy.get("shadow") or {}).items() if v is not None}
    if gate:
        console.print(f"  shadow: {', '.join(f'{k} {v:g}' for k, v in gate.items())}")
