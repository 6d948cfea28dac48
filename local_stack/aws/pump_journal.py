"""The event pump's record of the messages it holds, so a pump restarted after a crash
hands them on at once instead of leaving them hidden for the queue's visibility timeout.

In AWS a crashed ingest run is noticed by time alone: its message reappears after the
visibility timeout (16 min) and its claim expires after the claim timeout (15 min). The
local stack knows better: when the pump process died, every run in it died. A new pump
therefore makes each message its predecessor held visible again and abandons the claims
those runs held, so the upload in flight still becomes a version within seconds.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from botocore.exceptions import ClientError


log = logging.getLogger(__name__)


class InFlightJournal:
    """Receipt handle → message body, on disk, for the messages received and not yet settled."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._held: dict[str, str] = {}

    def hold(self, messages: list[dict]) -> None:
        self._held.update({m["ReceiptHandle"]: m["Body"] for m in messages})
        self._write()

    def settle(self, receipt_handle: str) -> None:
        self._held.pop(receipt_handle, None)
        self._write()

    def clear(self) -> None:
        self._held = {}
        self._write()

    def left_behind(self) -> dict[str, str]:
        """What a previous pump held when it stopped (empty after a clean stop)."""
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(self._held))
        partial.replace(self.path)  # whole or not at all, even if the pump is killed mid-write


def hand_on_abandoned(journal: InFlightJournal, sqs, queue_url: str, claims,
                      claim_ids: Callable[[str], list[str]]) -> int:
    """Abandons the claims and re-shows the messages a dead pump left behind; returns how many.

    `claim_ids` (Deliveries.claim_ids) names the claims a message's runs took: the very identity the
    handler gives an upload (its object version), not the raw notification's.
    """
    left = journal.left_behind()
    now = datetime.now(timezone.utc)
    for receipt_handle, body in left.items():
        for event_id in claim_ids(body):
            claims.abandon(event_id, now)
        try:
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0)
        except ClientError as error:  # settled after all (deleted before the crash): nothing to hand on
            log.info("message left behind is gone: %s", error)
    journal.clear()
    return len(left)
