"""Invoke-by-alias client for the model registry: `from client import AliasClient`."""
from .alias_client import AliasClient, InvokeResult
from .errors import (
    AliasClientError,
    ModelInvocationError,
    ModelNotReady,
    RegistryRequestError,
    RegistryUnavailable,
    UnknownAlias,
)

__all__ = [
    "AliasClient",
    "AliasClientError",
    "InvokeResult",
    "ModelInvocationError",
    "ModelNotReady",
    "RegistryRequestError",
    "RegistryUnavailable",
    "UnknownAlias",
]
