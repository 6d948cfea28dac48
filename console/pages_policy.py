"""An alias's policy from its page: set it (who may move the alias, whose approval counts, what a target
must be) or delete it, compare-and-set on the policy revision the page showed.

A refusal (the caller is not among the movers, a stale revision, a pattern over its limit) re-renders
the alias page with the registry's message and rule; nothing is retried on the user's behalf.
"""
from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.utils import redirect

from client.errors import RegistryRequestError

from .pages_aliases import alias


def patterns(text: str | None) -> list[str]:
    """A textarea's ARN patterns: one a line, blank lines dropped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


SHADOW = ("min_top1_agreement", "min_topk_overlap", "k", "max_abs_diff", "max_latency_ratio", "samples")


def shadow_of(form) -> dict | None:
    """The shadow thresholds the form gives (numbers as typed: the registry checks their ranges); None: none."""
    given = {}
    for field in SHADOW:
        text = (form.get(f"shadow_{field}") or "").strip()
        if text:
            try:
                given[field] = int(text) if field in ("k", "samples") else float(text)
            except ValueError:
                raise ValueError(f"shadow {field}: {text!r} is not a number") from None
    return given or None


def set_policy(page):
    form = page.request.form
    try:
        shadow = shadow_of(form)
    except ValueError as error:
        return alias(page, status=400, problem=str(error))
    body = {"movers": patterns(form.get("movers")), "approvers": patterns(form.get("approvers")),
            "require": form.getlist("require"), **({"shadow": shadow} if shadow else {})}
    return _write(page, "policy set", lambda name, revision: page.api.put_alias_policy(name, body, revision))


def delete_policy(page):
    return _write(page, "policy deleted", lambda name, revision: page.api.delete_alias_policy(name, revision))


def _write(page, done: str, call):
    name, revision = page.arg("name"), page.number("policy_revision")
    try:
        call(name, revision)
    except RegistryRequestError as error:
        return alias(page, status=error.status, problem=f"{error.message} (rule {error.code})")
    return redirect("/alias?" + urlencode({"name": name, "done": done}), code=303)


ROUTES = [
    ("/alias/policy", ["POST"], set_policy),
    ("/alias/policy/delete", ["POST"], delete_policy),
]
