"""Serving pages: "Try it" (invoke an alias as an application would) and the endpoints.

"Try it" goes through `AliasClient`, the library applications use, so the page shows what
a caller gets: the answer, the version that served it and the time the whole call took.
"""
from __future__ import annotations

import json
import time
from pathlib import PurePath

from werkzeug.exceptions import BadRequest

from client.errors import AliasClientError, RegistryRequestError

MAX_PAYLOAD = 6 * 1024 * 1024  # InvokeEndpoint's limit
SHOWN = 20_000  # characters of an answer shown on the page
TYPES = {".json": "application/json", ".npy": "application/x-npy", ".npz": "application/x-npz",
         ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def try_page(page):
    return page.render("try.html", title="Try it", alias=page.arg("alias", required=False) or "", result=None)


def try_invoke(page):
    alias = page.arg("alias")
    body, content_type = _payload(page)
    started = time.perf_counter()
    try:
        result = page.backends.aliases.invoke(alias, body, content_type=content_type, accept="application/json")
    except AliasClientError as error:  # the registry refused (e.g. no such alias: 404) or the endpoint failed (502)
        status = error.status if isinstance(error, RegistryRequestError) else 502
        return page.render("try.html", status=status, title="Try it", alias=alias, result=None, problem=str(error),
                           payload=page.arg("payload", False))
    elapsed_ms = (time.perf_counter() - started) * 1000
    answer = {"text": _shown(result.body), "content_type": result.content_type, "bytes": len(result.body),
              "model": result.model, "version": result.version, "target_model": result.target_model,
              "ms": elapsed_ms, "sent": f"{len(body)} bytes of {content_type}"}
    return page.render("try.html", title="Try it", alias=alias, result=answer, payload=page.arg("payload", False))


def _payload(page) -> tuple[bytes, str]:
    """The uploaded file (its type from its extension), else the JSON typed in the text box."""
    upload = page.request.files.get("file")
    if upload and upload.filename:
        suffix = PurePath(upload.filename).suffix.lower()
        if suffix not in TYPES:
            raise BadRequest(f"send a .json, .npy, .npz, .jpg or .png file, not {upload.filename!r}")
        body = upload.read(MAX_PAYLOAD + 1)
        content_type = TYPES[suffix]
    else:
        text = page.arg("payload")
        try:
            json.loads(text)
        except ValueError as error:
            raise BadRequest(f"the payload is not JSON: {error}") from error
        body, content_type = text.encode(), "application/json"
    if len(body) > MAX_PAYLOAD:
        raise BadRequest("the payload is over 6 MB, InvokeEndpoint's limit")
    return body, content_type


def _shown(body: bytes) -> str:
    try:
        text = json.dumps(json.loads(body), indent=2)
    except ValueError:
        text = body.decode("utf-8", "replace")
    return text if len(text) <= SHOWN else text[:SHOWN] + f"\n… ({len(text) - SHOWN} more characters)"


def endpoints(page):
    return page.render("endpoints.html", title="Endpoints", items=page.backends.endpoint_states(),
                       gateway=page.backends.gateway_status())


ROUTES = [
    ("/try", ["GET"], try_page),
    ("/try", ["POST"], try_invoke),
    ("/endpoints", ["GET"], endpoints),
]
