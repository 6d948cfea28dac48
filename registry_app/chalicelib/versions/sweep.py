"""The sweep: uploads that sit in incoming/ with no claim were missed by S3 events; announce them again.

S3 events get lost: a notification configured after an upload, an outage that drops them.
Every few minutes the sweep lists the drop folder and, for each upload older than
`sweep_after_seconds` that no run has claimed, puts an S3 notification for it on the ingest
queue, so it takes the path a real event takes (retries, dead-letter queue, failure record).

Identity: a run claims an upload by S3Upload.event_id, which in a versioned bucket is
(bucket, key, ETag, versionId). The sweep builds exactly that from a HEAD of the current
version; a real event for the same object version carries the same versionId (the handler
fills it in where an emulator leaves it out: deliveries.identified), so a swept upload and
its late real event share one claim and only one of them makes a version. In an unversioned
bucket an event's identity rests on a sequencer no listing can reproduce, so the sweep leaves
such objects alone and logs them: the registry's bucket is versioned (deploy/resources.yaml,
local_stack/aws/provision.py). Each run is bounded by pages and seconds and logs what it did.
"""
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from .artifacts import Artifacts
from .claims import ClaimStore
from ..events import S3Upload, notification_body
from .ingest_queue import IngestQueue
from ..records import utcnow
from ..settings import Settings

log = logging.getLogger(__name__)

SUFFIX = ".tar.gz"  # the notification's suffix filter: other objects never had an event to miss


@dataclass
class SweepReport:
    pages: int = 0
    seen: int = 0
    young: int = 0
    claimed: int = 0
    unversioned: list[str] = field(default_factory=list)
    announced: list[str] = field(default_factory=list)
    complete: bool = True  # False when the page or time budget ended the run before the listing did


class Sweeper:
    def __init__(self, s3, artifacts: Artifacts, claims: ClaimStore, queue: IngestQueue, settings: Settings,
                 clock: Callable = utcnow, timer: Callable[[], float] = time.monotonic):
        self._s3 = s3
        self._artifacts = artifacts
        self._claims = claims
        self._queue = queue
        self._settings = settings
        self._clock = clock
        self._timer = timer

    def run(self) -> SweepReport:
        settings, report = self._settings, SweepReport()
        deadline = self._timer() + settings.sweep_budget_seconds
        cutoff = self._clock() - timedelta(seconds=settings.sweep_after_seconds)
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._artifacts.bucket,
                                                                   Prefix=settings.incoming_prefix)
        for page in pages:
            report.pages += 1
            for obj in page.get("Contents", []):
                if self._timer() > deadline:
                    report.complete = False
                    return self._logged(report)
                self._consider(obj, cutoff, report)
            if report.pages >= settings.sweep_max_pages and page.get("IsTruncated"):
                report.complete = False
                break
        return self._logged(report)

    def _consider(self, obj: dict, cutoff, report: SweepReport) -> None:
        report.seen += 1
        key = obj["Key"]
        if not key.endswith(SUFFIX):
            return
        if obj["LastModified"] > cutoff:
            report.young += 1
            return
        info = self._artifacts.head(key)
        if info is None:  # taken (and cleared) since the listing
            return
        if info.version_id in (None, "null"):
            report.unversioned.append(key)
            return
        upload = S3Upload(bucket=self._artifacts.bucket, key=key, etag=info.etag, size=info.size,
                          version_id=info.version_id, event_time=obj["LastModified"].isoformat())
        if self._claims.get(upload.event_id) is not None:
            report.claimed += 1  # a run has it (or the dead-letter queue does: see `publisher dead-letters`)
            return
        self._queue.send(notification_body(upload))
        report.announced.append(key)

    def _logged(self, report: SweepReport) -> SweepReport:
        log.info("sweep of %s: %d pages, %d objects, %d younger than %d s, %d claimed, announced %s%s%s",
                 self._settings.incoming_prefix, report.pages, report.seen, report.young,
                 self._settings.sweep_after_seconds, report.claimed, report.announced or "none",
                 f"; unversioned, left alone: {report.unversioned}" if report.unversioned else "",
                 "" if report.complete else "; stopped at the page or time budget (the next run lists again)")
        return report
