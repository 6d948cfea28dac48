"""The client's typed errors: callers catch what they can act on, not HTTP or botocore details."""
from __future__ import annotations

from typing import Any


class AliasClientError(Exception):
    """Base of every error the client raises."""


class RegistryRequestError(AliasClientError):
    """The registry answered a request with an error (`{"error": {"code", "message", "details"}}`)."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(f"{message} (HTTP {status}, {code})")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


class RegistryUnavailable(AliasClientError):
    """The registry could not be reached or failed (5xx), and nothing cached could stand in."""


class UnknownAlias(AliasClientError):
    """The registry has no such alias (HTTP 404)."""

    def __init__(self, alias: str, message: str | None = None):
        super().__init__(message or f"alias {alias!r} does not exist")
        self.alias = alias


class ModelInvocationError(AliasClientError):
    """The endpoint refused or failed the call; `status` and `message` are the container's own when it answered."""

    def __init__(self, alias: str, target_model: str, status: int | None, message: str, code: str):
        where = f"alias {alias!r} -> {target_model}"
        super().__init__(f"{where}: {code} (status {status}): {message}")
        self.alias = alias
        self.target_model = target_model
        self.status = status
        self.message = message
        self.code = code


class ModelNotReady(ModelInvocationError):
    """The target model was still loading after every retry."""
