"""Decodes S3 notifications as they arrive in SQS message bodies.

Handles what real deliveries contain: the s3:TestEvent sent when a notification is
configured, URL-encoded keys (`incoming%2Fmy+model.tar.gz`), S3 → SNS → SQS envelopes,
and bodies that are not notifications at all (skipped and logged, never retried:
a poison message must not loop).
"""
import hashlib
import json
import logging
from dataclasses import dataclass
from urllib.parse import quote_plus, unquote_plus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class S3Upload:
    bucket: str
    key: str
    etag: str
    size: int
    version_id: str | None = None
    sequencer: str | None = None
    principal: str | None = None
    event_time: str | None = None

    def made_by_role(self, role_id: str) -> bool:
        """Whether S3 verified the request as a session of the role whose unique id is `role_id` (AROA…).

        S3 names an assumed role's session `AWS:<role id>:<session name>` in the event's principalId (the form
        AWS Transfer Family's guide to post-upload processing shows for its role sessions).
        """
        return bool(role_id) and (self.principal or "").startswith(f"AWS:{role_id}:")

    @property
    def event_id(self) -> str:
        """One id per S3 object version: duplicate deliveries of it share the id.

        S3 always sends a sequencer; the event time only stands in for it where a
        notification has neither version id nor sequencer (some emulators).
        """
        identity = self.version_id or self.sequencer or self.event_time or ""
        raw = "\n".join([self.bucket, self.key, self.etag, identity])
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


def decode_sqs_records(body: str) -> list[S3Upload]:
    try:
        message = json.loads(body)
        if isinstance(message, dict) and message.get("Type") == "Notification" and "Message" in message:
            message = json.loads(message["Message"])
    except (TypeError, ValueError):
        log.warning("skipping an SQS message that is not JSON: %.200r", body)
        return []
    if not isinstance(message, dict):
        log.warning("skipping an SQS message that is not an S3 notification: %.200r", body)
        return []
    if message.get("Event") == "s3:TestEvent":
        return []
    uploads = []
    for record in message.get("Records") or []:
        upload = _decode_record(record)
        if upload is not None:
            uploads.append(upload)
    return uploads


def _decode_record(record: dict) -> S3Upload | None:
    try:
        if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            return None
        s3 = record["s3"]
        obj = s3["object"]
        return S3Upload(
            bucket=s3["bucket"]["name"],
            key=unquote_plus(obj["key"]),
            etag=str(obj.get("eTag", "")).strip('"'),
            size=int(obj.get("size", 0)),
            version_id=obj.get("versionId") or None,
            sequencer=obj.get("sequencer") or None,
            principal=(record.get("userIdentity") or {}).get("principalId"),
            event_time=record.get("eventTime") or None,
        )
    except (KeyError, TypeError, ValueError):
        log.warning("skipping a malformed S3 record: %.200r", record)
        return None


def notification_body(upload: S3Upload) -> str:
    """An S3 ObjectCreated notification for `upload`, as S3 would queue it; decode_sqs_records reads it back.

    The sweep re-announces uploads whose events were missed this way, so they take the very path a real event takes.
    """
    obj = {"key": quote_plus(upload.key), "size": upload.size, "eTag": upload.etag}
    obj.update({k: v for k, v in (("versionId", upload.version_id), ("sequencer", upload.sequencer)) if v})
    record = {"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
              "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": upload.bucket}, "object": obj}}
    if upload.event_time:
        record["eventTime"] = upload.event_time
    if upload.principal:
        record["userIdentity"] = {"principalId": upload.principal}
    return json.dumps({"Records": [record]})
