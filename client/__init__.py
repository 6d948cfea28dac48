"""Invoke-by-alias client for the model registry: `from client import AliasClient`.

The names are loaded on first use (PEP 562), so `python -m client validate` and the
installed `mme-registry validate` start without the HTTP client and its settings.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "AliasClient": "alias_client",
    "InvokeResult": "alias_client",
    "AliasClientError": "errors",
    "ModelInvocationError": "errors",
    "ModelNotReady": "errors",
    "RegistryRequestError": "errors",
    "RegistryUnavailable": "errors",
    "UnknownAlias": "errors",
}
__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from .alias_client import AliasClient, InvokeResult
    from .errors import (
        AliasClientError,
        ModelInvocationError,
        ModelNotReady,
        RegistryRequestError,
        RegistryUnavailable,
        UnknownAlias,
    )


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value
