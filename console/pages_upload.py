"""Upload: the page takes a tarball, the console relays it to a presigned PUT, the page follows the outcome.

Why relay instead of letting the browser PUT to S3 itself: a browser PUT to the bucket needs a
CORS rule on the bucket naming the console's origin (a per-user 127.0.0.1 port), and would hand
the signed URL to page scripts. Relayed, the bytes stream through this process as they arrive
(nothing is buffered whole), so the browser's upload progress is the PUT's progress, and the
bucket needs no CORS. The link still comes from `POST /models/{name}/uploads`: the registry
signs it and records the caller as the uploader.
"""
from __future__ import annotations

import json
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import requests
from werkzeug.exceptions import BadGateway, BadRequest, LengthRequired, NotFound
from werkzeug.wrappers import Response

from client.uploads import record_identity, record_of_upload, upload_records

from .pages_versions import parse_tags

MAX_FOLLOWED = 100  # uploads this process remembers for their outcome page
PUT_TIMEOUT = 600


@dataclass(frozen=True)
class Followed:
    name: str
    key: str
    etag: str
    since: datetime
    known: frozenset  # (source_key, started_at) of the model's records before this upload


class _Followed:
    """The uploads this console started, by a random id, so the page can ask for their outcome."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Followed] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, followed: Followed) -> str:
        upload_id = secrets.token_hex(8)
        with self._lock:
            self._items[upload_id] = followed
            while len(self._items) > MAX_FOLLOWED:
                self._items.popitem(last=False)
        return upload_id

    def get(self, upload_id: str) -> Followed:
        with self._lock:
            if upload_id not in self._items:
                raise NotFound(f"no upload {upload_id} was started from this console (it may have restarted)")
            return self._items[upload_id]


FOLLOWED = _Followed()


class _Body:
    """The request body as `requests` streams it: read in blocks, with a known length (no chunked encoding)."""

    def __init__(self, stream, length: int):
        self._stream, self._length = stream, length

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)


def upload_page(page):
    return page.render("upload.html", title="Upload a model", name=page.arg("name", required=False) or "")


def relay(page):
    """`POST /upload/put?name=..&alias=..&description=..&tags=..` with the tarball as the body → JSON {id, key}."""
    name = page.arg("name")
    aliases = [a.strip() for a in (page.arg("alias", required=False) or "").split(",") if a.strip()]
    try:
        said = {"description": page.arg("description", required=False) or "",
                "tags": parse_tags(page.arg("tags", required=False) or "")}
    except ValueError as error:
        raise BadRequest(str(error)) from None
    length = page.request.content_length
    if length is None:
        raise LengthRequired("send the tarball with a Content-Length")
    if length == 0:
        raise BadRequest("the file is empty")
    known = frozenset(record_identity(r) for r in upload_records(page.api, name))
    link = page.api.request_upload(name, aliases, {key: value for key, value in said.items() if value})
    try:
        answer = requests.put(link["url"], data=_Body(page.request.stream, length), timeout=PUT_TIMEOUT,
                              headers={**link["headers"], "Content-Length": str(length)})
    except requests.RequestException as error:
        raise BadGateway(f"the drop folder could not be reached ({error}); nothing was uploaded, try again") from error
    if answer.status_code >= 300:
        raise BadRequest(f"the drop folder refused the upload: HTTP {answer.status_code} {answer.text[:300]}")
    # The registry handles an upload only after it completed; the slack absorbs clock skew.
    since = datetime.now(timezone.utc) - timedelta(seconds=0.5)
    etag = answer.headers.get("ETag", "").strip('"')
    upload_id = FOLLOWED.add(Followed(name, link["key"], etag, since, known))
    return _json({"id": upload_id, "key": link["key"], "etag": etag})


def outcome(page):
    """`GET /upload/outcome?id=..` → JSON {done, outcome, html}: the record once the registry wrote it."""
    followed = FOLLOWED.get(page.arg("id"))
    record = record_of_upload(upload_records(page.api, followed.name), followed.key, followed.etag, followed.since,
                              followed.known)
    if record is None or record["outcome"] == "queued":
        return _json({"done": False})
    html = page.console.templates.get_template("upload_outcome.html").render(name=followed.name, upload=record)
    return _json({"done": True, "outcome": record["outcome"], "html": html})


def _json(document: dict) -> Response:
    return Response(json.dumps(document), mimetype="application/json")


ROUTES = [
    ("/upload", ["GET"], upload_page),
    ("/upload/put", ["POST"], relay),
    ("/upload/outcome", ["GET"], outcome),
]
