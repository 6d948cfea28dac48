"""The in-process registry driven as its callers drive it: an upload ingested with its warm-up, and the REST
API through `RegistryApi` over Chalice's test client (the HTTP boundary the CLI talks across)."""
from __future__ import annotations

import json
import json as jsonlib
from urllib.parse import urlencode, urlsplit

from chalicelib.events import S3Upload
from chalicelib.versions.artifacts import Artifacts
from chalicelib.versions.claims import ClaimStore
from chalicelib.versions.ingest import Ingestor
from local_stack.demo.sample_models import cached_tarball


def ingest(app, key: str, runtime, metadata: dict, body: bytes | None = None):
    """Drops `key` (the digits model, or `body`) into the in-process moto and ingests it with warm-up on."""
    settings = app.settings.model_copy(update={"warmup": True})
    session = app.get_session()
    s3 = session.client("s3")
    body = body or cached_tarball("digits").read_bytes()
    s3.put_object(Bucket=settings.bucket, Key=key, Body=body, Metadata=metadata)
    head = s3.head_object(Bucket=settings.bucket, Key=key)
    ingestor = Ingestor(store=app.get_store(), artifacts=Artifacts(s3, settings.bucket), settings=settings,
                        claims=ClaimStore(session.client("dynamodb"), settings.events_table, 900),
                        aliases=app.get_aliases(), runtime=runtime)
    return ingestor.ingest(S3Upload(bucket=settings.bucket, key=key, etag=head["ETag"].strip('"'),
                                    size=head["ContentLength"], version_id=head.get("VersionId"),
                                    principal="AWS:AIDAUPLOADER"))


class ChaliceSession:
    """requests.Session.request over Chalice's test client: the HTTP boundary the CLI talks across."""

    def __init__(self, http):
        self._http = http

    def request(self, method, url, json=None, params=None, timeout=None):
        body = b"" if json is None else jsonlib.dumps(json).encode()
        path = urlsplit(url).path + (f"?{urlencode(params)}" if params else "")
        answer = self._http.request(method, path, body=body, headers={"Content-Type": "application/json"})
        return Answer(answer.status_code, answer.body)


class Answer:
    def __init__(self, status_code: int, content: bytes):
        self.status_code, self.content, self.text = status_code, content, content.decode(errors="replace")

    def json(self):
        return json.loads(self.content)
