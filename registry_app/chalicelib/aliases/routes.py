"""Where each target of an alias is served: its version's framework, and the endpoint serving it.

Read when an alias is resolved, from the version records (a version's framework never
changes), so alias records, their history and their change events keep their shape; a
listing reads each version once.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import NotFound
from ..frameworks import Endpoints
from ..versions.store import RegistryStore
from .alias_store import AliasTarget


@dataclass(frozen=True)
class Route:
    framework: str
    endpoint: str | None  # None only in a lenient read: no endpoint serves that framework


class Routes:
    def __init__(self, store: RegistryStore, endpoints: Endpoints):
        self._store = store
        self.endpoints = endpoints

    def of(self, targets: list[AliasTarget], strict: bool = True,
           memo: dict[tuple[str, int], str] | None = None) -> list[Route]:
        """One route per target; strict: NoEndpoint when a framework has no endpoint (resolving must be usable),
        lenient (a listing): that target's endpoint is None."""
        memo = {} if memo is None else memo
        routes = []
        for target in targets:
            key = (target.model, target.version)
            if key not in memo:
                record = self._store.get_version(*key)
                if record is None:
                    raise NotFound(f"{target.model} v{target.version} is not in the registry",
                                   {"model": target.model, "version": target.version})
                memo[key] = record.framework
            framework = memo[key]
            if strict or self.endpoints.serves(framework):
                endpoint = self.endpoints.for_framework(framework, f"{target.model} v{target.version}")
            else:
                endpoint = None
            routes.append(Route(framework, endpoint))
        return routes
