"""One version: its facts, description, tags, approval, shadow comparisons and history; edits and approval; the
model card.

The edit form carries the `metadata_revision` the page showed as `expected_revision`. A stale
edit (409) re-renders the page with the version as it now is, what changed it, and the user's
own text still in the form: nothing typed is lost, and nothing is saved until they send it again.
"""
from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from client.errors import RegistryRequestError

HISTORY = 20


def version(page, status: int = 200, problem: str | None = None, conflict: dict | None = None,
            draft: dict | None = None):
    name, number = page.arg("name"), page.number("n")
    current = page.api.get_version(name, number)
    history = page.api.version_history(name, number, limit=HISTORY)["entries"]
    comparisons = page.api.version_comparisons(name, number)["items"]
    draft = draft or {"description": current.get("description") or "", "tags": tags_text(current.get("tags"))}
    return page.render("version.html", status=status, title=f"{name} v{number}", name=name, v=current,
                       history=history, comparisons=comparisons, problem=problem, conflict=conflict, draft=draft,
                       done=page.arg("done", required=False))


def tags_text(tags: dict | None) -> str:
    """Tags as the form's text: one `key=value` a line, sorted by key."""
    return "\n".join(f"{key}={value}" for key, value in sorted((tags or {}).items()))


def parse_tags(text: str, known: tuple[str, ...] = ()) -> dict[str, str]:
    """The form's text back into tags; a line without `=` is refused by number (the registry checks the rest).

    A line splits at the first `=`, unless it starts with a `known` key holding `=` (the tag charset allows
    one): the longest such key, so a tag the page showed reads back as itself.
    """
    tags = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        held = max((k for k in known if "=" in k and line.startswith(k + "=")), key=len, default=None)
        key, found, value = (held, "=", line[len(held) + 1:]) if held else line.partition("=")
        if not found or not key.strip():
            raise ValueError(f"tags, line {number}: expected key=value, got {line!r}")
        tags[key.strip()] = value.strip()
    return tags


def tag_changes(old: dict, new: dict) -> dict:
    """What the PATCH sends: tags added or changed, and null for each tag the form no longer has."""
    return {**{key: value for key, value in new.items() if old.get(key) != value},
            **{key: None for key in old if key not in new}}


def edit(page):
    name, number, revision = page.arg("name"), page.number("n"), page.number("expected_revision")
    draft = {"description": page.request.form.get("description", "").replace("\r\n", "\n").strip(),
             "tags": page.request.form.get("tags", "").replace("\r\n", "\n").strip()}
    current = page.api.get_version(name, number)
    try:
        tags = parse_tags(draft["tags"], tuple(current.get("tags") or {}))
    except ValueError as error:
        return version(page, status=400, problem=str(error), draft=draft)
    changes = {"tags": tag_changes(current.get("tags") or {}, tags)}
    if draft["description"] != (current.get("description") or ""):
        changes["description"] = draft["description"]
    changes = {key: value for key, value in changes.items() if value != {}}
    if not changes:
        return _done(name, number, "unchanged: the form says what the version already says")
    try:
        page.api.edit_version(name, number, changes, revision)
    except RegistryRequestError as error:
        conflict = _conflict(page, name, number, revision) if error.code == "revision_conflict" else None
        return version(page, status=error.status, problem=f"{error.message} ({error.code})", conflict=conflict,
                       draft=draft)
    return _done(name, number, "saved")


def _conflict(page, name: str, number: int, revision: int) -> dict:
    """Who changed the version since the page was read, when, and how (its latest recorded change)."""
    latest = page.api.version_history(name, number, limit=1)["entries"]
    return {"expected": revision, "change": latest[0] if latest else None}


def approval(page):
    name, number = page.arg("name"), page.number("n")
    status, reason = page.arg("status"), page.arg("reason", required=False) or ""
    try:
        page.api.set_approval(name, number, status, reason)
    except RegistryRequestError as error:
        return version(page, status=error.status, problem=f"{error.message} ({error.code})")
    return _done(name, number, f"approval set to {status}")


def shadow(page):
    """Runs the shadow comparison of this version beside an alias's target(s), without moving the alias."""
    name, number, alias = page.arg("name"), page.number("n"), page.arg("alias").strip()
    try:
        answer = page.api.run_shadow(alias, name, number, fresh=True)
    except RegistryRequestError as error:
        return version(page, status=error.status, problem=f"{error.message} ({error.code})")
    verdicts = ", ".join(sorted({c["verdict"] for c in answer["comparisons"]})) or "nothing to compare"
    return _done(name, number, f"compared beside the target of alias {alias}: {verdicts}")


def _done(name: str, number: int, done: str):
    return redirect("/version?" + urlencode({"name": name, "n": number, "done": done}), code=303)


def card(page):
    name, number = page.arg("name"), page.number("n")
    current = page.api.get_version(name, number)
    return page.render("card.html", title=f"Model card: {name} v{number}", name=name, v=current,
                       card=current.get("card") or {})


def card_json(page):
    """The card exactly as the registry holds it, as a file to keep beside the model."""
    name, number = page.arg("name"), page.number("n")
    document = page.api.get_version(name, number).get("card") or {}
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", f"{name}_v{number}_card.json")
    return Response(json.dumps(document, indent=2, sort_keys=True) + "\n", mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


ROUTES = [
    ("/version", ["GET"], version),
    ("/version/edit", ["POST"], edit),
    ("/version/approval", ["POST"], approval),
    ("/version/shadow", ["POST"], shadow),
    ("/card", ["GET"], card),
    ("/card.json", ["GET"], card_json),
]
