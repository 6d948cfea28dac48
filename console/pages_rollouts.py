"""An alias's running canary rollout from its page: what it is doing (step, weights, the numbers so far),
and a button that cancels it (the incumbent gets all the traffic back, recorded as the canceller's).

A refusal (no rollout running any more, the alias policy) re-renders the alias page with the registry's
message and rule.
"""
from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.utils import redirect

from client.errors import RegistryRequestError

from .pages_aliases import alias


def cancel(page):
    name = page.arg("name")
    try:
        page.api.cancel_rollout(name)
    except RegistryRequestError as error:
        return alias(page, status=error.status, problem=f"{error.message} (rule {error.code})")
    return redirect("/alias?" + urlencode({"name": name, "done": "rollout cancelled"}), code=303)


ROUTES = [
    ("/alias/rollout/cancel", ["POST"], cancel),
]
