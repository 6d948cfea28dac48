"""Approval of a version (PendingManualApproval, Approved, Rejected), recorded with the verified caller.

A change of metadata like any other (metadata.py: the same compare-and-set, history and event),
except that the caller names no revision: the status is set over whatever the version says now.
"""
from ..errors import RevisionConflict, TransientError
from ..records import Approval, ApprovalStatus, VersionRecord
from .metadata import VersionMetadata
from .metadata_rules import check_reason

ATTEMPTS = 10


class Approvals:
    def __init__(self, metadata: VersionMetadata, clock):
        self._metadata = metadata
        self._clock = clock

    def set(self, name: str, version: int, status: ApprovalStatus, reason: str | None, actor: str | None
            ) -> VersionRecord:
        check_reason(reason)
        for _ in range(ATTEMPTS):
            current = self._metadata.version(name, version)
            approval = Approval(status=status, reason=reason, actor=actor, at=self._clock())
            updated = current.model_copy(update={"approval": approval})
            change = {"status": status, "reason": reason, "previous": current.approval.status}
            try:
                return self._metadata.write(current, updated, "approval", change, actor)
            except RevisionConflict:
                continue
        raise TransientError(f"{name} v{version} is changing too often to approve; try again",
                             {"model": name, "version": version})
