"""Alias pages: the list, one alias (targets, history), and its writes, each compare-and-set.

Every form carries the revision the page showed as `expected_revision`; the registry refuses
a stale one (409), and the page then says who moved the alias, when and to what, and offers a
reload. It never retries with the new revision on the user's behalf: that would overwrite.
"""
from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.exceptions import BadRequest
from werkzeug.utils import redirect

from client.errors import RegistryRequestError, RegistryUnavailable

HISTORY = 50
WINDOWS = {15: "15 minutes", 60: "1 hour", 180: "3 hours", 360: "6 hours", 1440: "24 hours"}  # the charts' selector
DEFAULT_WINDOW = 60


def aliases(page):
    listing = page.api.list_aliases(limit=100, next_token=page.arg("next", required=False))
    return page.render("aliases.html", title="Aliases", items=listing["items"], next_token=listing.get("next_token"))


def alias(page, status: int = 200, problem: str | None = None, conflict: dict | None = None):
    name = page.arg("name")
    current = page.api.get_alias(name)
    history = page.api.alias_history(name, limit=HISTORY)
    models = sorted({t["model"] for t in current["targets"]})
    versions = {m: [v["version"] for v in page.api.list_versions(m, limit=100)["items"]] for m in models}
    minutes = page.number("minutes", required=False) or DEFAULT_WINDOW
    metrics, metrics_problem = _metrics(page.api, name, minutes)
    return page.render("alias.html", status=status, title=f"alias {name}", name=name, alias=current,
                       history=history["items"], versions=versions, problem=problem, conflict=conflict,
                       done=page.arg("done", required=False), policy=_policy(page.api, name),
                       metrics=metrics, metrics_problem=metrics_problem, minutes=minutes, windows=WINDOWS,
                       rollouts=page.api.rollouts(name, limit=1))


def _metrics(api, name: str, minutes: int) -> tuple[dict | None, str | None]:
    """The alias's metrics for the charts, or why there are none: the rest of the page stands without them."""
    try:
        return api.alias_metrics(name, minutes), None
    except RegistryRequestError as error:
        return None, f"{error.message} ({error.code})"
    except RegistryUnavailable as error:
        return None, str(error)


def _policy(api, name: str) -> dict | None:
    """The alias's policy with its revision, who set it and when; None when it has none."""
    try:
        return api.get_alias_policy(name)
    except RegistryRequestError as error:
        if error.status != 404:
            raise
        return None


def move(page):
    return _put(page, "moved", {"model": page.arg("model"), "version": page.number("version")})


def follow(page):
    return _put(page, "follows latest", {"model": page.arg("model"), "version": "latest"})


def weights(page):
    return _put(page, "weights set", {"targets": _targets(page)})


def rollback(page):
    return _write(page, "rolled back", lambda name, revision: page.api.rollback_alias(name, revision))


def _put(page, done: str, body: dict):
    return _write(page, done, lambda name, revision: page.api.put_alias(name, {**body, "expected_revision": revision}))


def _targets(page) -> list[dict]:
    """Rows of the weights form (model_i, version_i, weight_i); rows left empty are skipped."""
    form, rows = page.request.form, []
    for index in range(len(form.getlist("model"))):
        model, version, weight = (form.getlist(field)[index].strip() for field in ("model", "version", "weight"))
        if not (version or weight):
            continue
        if not (version.isdigit() and weight.isdigit()):
            raise BadRequest(f"row {index + 1}: version and weight must be whole numbers")
        rows.append({"model": model, "version": int(version), "weight": int(weight)})
    if not rows:
        raise BadRequest("give at least one target with a version and a weight")
    return rows


def _write(page, done: str, call):
    name, revision = page.arg("name"), page.number("expected_revision")
    try:
        call(name, revision)
    except RegistryRequestError as error:
        conflict = _conflict(page, name, error) if error.status == 409 else None
        refused = f"{error.message} (rule {error.code})" if error.code.startswith("alias_policy") else error.message
        return alias(page, status=error.status, problem=refused, conflict=conflict)
    return redirect("/alias?" + urlencode({"name": name, "done": done}), code=303)


def _conflict(page, name: str, error: RegistryRequestError) -> dict | None:
    """Who changed the alias since the page was read, when, and to what (its latest recorded change)."""
    if "current_revision" not in error.details or "expected_revision" not in error.details:
        return None  # a 409 of another kind (nothing to roll back to, a retired version): the message says it
    latest = page.api.alias_history(name, limit=1)["items"]
    return {"expected": error.details["expected_revision"], "current": error.details["current_revision"],
            "change": latest[0] if latest else None}


ROUTES = [
    ("/aliases", ["GET"], aliases),
    ("/alias", ["GET"], alias),
    ("/alias/move", ["POST"], move),
    ("/alias/follow", ["POST"], follow),
    ("/alias/weights", ["POST"], weights),
    ("/alias/rollback", ["POST"], rollback),
]
