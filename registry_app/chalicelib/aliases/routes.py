"""Where each target of an alias is served: its version's framework, and the endpoint serving it.

Read when an alias is resolved, from the version records, so alias records, their history
and their change events keep their shape. A version's framework never changes and its number
is never reused, so what was read is kept (a bounded LRU per process): a warm API function
resolves an alias with the reads of the alias's own items (it and its policy), as before frameworks.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..errors import NotFound
from ..frameworks import Endpoints
from ..versions.store import RegistryStore
from .alias_store import AliasTarget


@dataclass(frozen=True)
class Route:
    framework: str
    endpoint: str | None  # None only in a lenient read: no endpoint serves that framework


KEPT_VERSIONS = 4096


class Routes:
    def __init__(self, store: RegistryStore, endpoints: Endpoints):
        self._store = store
        self.endpoints = endpoints
        self._framework_of = lru_cache(maxsize=KEPT_VERSIONS)(self._read_framework)  # a miss is not kept

    def of(self, targets: list[AliasTarget], strict: bool = True) -> list[Route]:
        """One route per target; strict: NoEndpoint when a framework has no endpoint (resolving must be usable),
        lenient (a listing): that target's endpoint is None."""
        routes = []
        for target in targets:
            framework = self._framework_of(target.model, target.version)
            if strict or self.endpoints.serves(framework):
                endpoint = self.endpoints.for_framework(framework, f"{target.model} v{target.version}")
            else:
                endpoint = None
            routes.append(Route(framework, endpoint))
        return routes

    def _read_framework(self, model: str, version: int) -> str:
        record = self._store.get_version(model, version)
        if record is None:
            raise NotFound(f"{model} v{version} is not in the registry", {"model": model, "version": version})
        return record.framework
