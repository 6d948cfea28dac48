"""One error family with stable codes; HTTP statuses are mapped only at the edge."""
from typing import Any


class RegistryError(Exception):
    """Base of every error the registry reports to a caller."""

    code = "internal_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class BadRequest(RegistryError):
    code = "bad_request"


class InvalidInput(RegistryError):
    code = "invalid_input"


class ValidationFailed(RegistryError):
    """A tarball broke one or more layout or safety rules."""

    code = "validation_failed"


class NotFound(RegistryError):
    code = "not_found"


class Conflict(RegistryError):
    code = "conflict"


class RevisionConflict(Conflict):
    """A compare-and-set named a revision the record has moved past: read it again and retry."""

    code = "revision_conflict"


class PolicyMover(RegistryError):
    """The caller is not among the movers an alias's policy names."""

    code = "alias_policy_mover"


class PolicyUnmet(RegistryError):
    """A target version lacks what an alias's policy requires (approved, warmed)."""

    code = "alias_policy_unmet"


class NoEndpoint(RegistryError):
    """A version's framework has no endpoint configured to serve it (frameworks.py)."""

    code = "no_endpoint"


class PayloadTooLarge(RegistryError):
    code = "payload_too_large"


class TransientError(RegistryError):
    """A fault worth retrying (throttling, a lost race); the SQS path re-raises it."""

    code = "transient"


HTTP_STATUS = {
    BadRequest.code: 400,
    NotFound.code: 404,
    Conflict.code: 409,
    RevisionConflict.code: 409,
    PolicyMover.code: 403,
    PolicyUnmet.code: 409,
    NoEndpoint.code: 409,
    PayloadTooLarge.code: 413,
    InvalidInput.code: 422,
    ValidationFailed.code: 422,
    TransientError.code: 503,
    RegistryError.code: 500,
}


def http_status(error: RegistryError) -> int:
    return HTTP_STATUS.get(error.code, 500)
