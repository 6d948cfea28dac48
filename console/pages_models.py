"""Read pages about models: the list (search by name and tag, paging), one model (versions, uploads), two
versions compared."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from werkzeug.utils import redirect

from client.errors import RegistryRequestError
from client.registry_api import filled

PAGE = 20


def home(page):
    return redirect("/models", code=303)


def models(page):
    """Models by name; `q` (a part of the name) and `tag` (`key:value`, repeatable, AND) ask the registry's index."""
    query = page.arg("q", required=False) or ""
    tags = [tag.strip() for tag in page.request.args.getlist("tag") if tag.strip()]
    token = page.arg("next", required=False)
    if query or tags:
        listing = filled(lambda limit, after: page.api.search_models(query, tags, limit=limit, next_token=after),
                         PAGE, token)
    else:
        listing = page.api.list_models(limit=PAGE, next_token=token)
    with ThreadPoolExecutor(max_workers=8) as pool:  # one detail and one upload read per model, in parallel
        rows = list(pool.map(lambda m: _row(page.api, m), listing["items"]))
    token_next = listing.get("next_token")
    next_url = "/models?" + urlencode([("next", token_next), *([("q", query)] if query else []),
                                        *(("tag", tag) for tag in tags)]) if token_next else None
    return page.render("models.html", title="Models", rows=rows, query=query, tags=tags, next_url=next_url)


def _row(api, summary: dict) -> dict:
    detail = api.get_model(summary["name"])
    uploads = api.list_uploads(summary["name"], limit=1)["items"]
    return {**summary, "aliases": detail.get("aliases", []), "last_upload": uploads[0] if uploads else None}


def model(page):
    name = page.arg("name")
    try:
        detail = page.api.get_model(name)
    except RegistryRequestError as error:
        if error.status != 404:
            raise
        detail = None  # every upload so far was rejected: there are uploads but no model yet
    tags = [tag.strip() for tag in page.request.args.getlist("tag") if tag.strip()]
    approval = page.arg("approval", required=False)
    versions = filled(lambda limit, after: page.api.list_versions(name, limit, after, tags, approval), PAGE,
                      page.arg("versions_next", False)) if detail else None
    uploads = page.api.list_uploads(name, limit=PAGE, next_token=page.arg("uploads_next", False))
    if detail is None and not uploads["items"]:
        return page.render("error.html", status=404, title="No such model", code="not_found",
                           error=f"model {name} has no versions and no uploads")
    return page.render("model.html", title=name, name=name, detail=detail, versions=versions, uploads=uploads,
                       tags=tags, approval=approval)


def compare(page):
    name = page.arg("name")
    listing = page.api.list_versions(name, limit=100)["items"]
    numbers = [v["version"] for v in listing]
    a = page.number("a", required=False) or (numbers[1] if len(numbers) > 1 else numbers[0] if numbers else 1)
    b = page.number("b", required=False) or (numbers[0] if numbers else 1)
    left, right = page.api.get_version(name, a), page.api.get_version(name, b)
    members = [page.api.version_members(name, n)["items"] for n in (a, b)]
    return page.render("compare.html", title=f"{name}: v{a} and v{b}", name=name, numbers=numbers, a=left, b=right,
                       rows=member_rows(*members))


def member_rows(left: list[dict], right: list[dict]) -> list[dict]:
    """One row per member name, in the order the members appear: same, changed, added or removed."""
    by_name = {m["name"]: m for m in right}
    rows = []
    for member in left:
        other = by_name.pop(member["name"], None)
        state = "removed" if other is None else "same" if _same(member, other) else "changed"
        rows.append({"name": member["name"], "a": member, "b": other, "state": state})
    rows += [{"name": m["name"], "a": None, "b": m, "state": "added"} for m in by_name.values()]
    return rows


def _same(a: dict, b: dict) -> bool:
    return (a["kind"], a["size"], a["sha256"]) == (b["kind"], b["size"], b["sha256"])


ROUTES = [
    ("/", ["GET"], home),
    ("/models", ["GET"], models),
    ("/model", ["GET"], model),
    ("/compare", ["GET"], compare),
]
