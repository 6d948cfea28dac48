"""The registry's own code the publisher reuses: its stores and records (retire), and how
the ingest queue's messages name uploads (dead-letters), and how change events return to the
outbox (events-redrive).

One place decides where it lives: `chalicelib` in the repository, `mme_registry.registry`
once installed (mme-registry-publisher takes it from mme-registry-client, which ships it),
so no generic top-level name lands in an operator's environment.
"""
from __future__ import annotations

if __name__.startswith("mme_registry."):  # installed as mme-registry-publisher
    from ..registry.aliases.alias_store import AliasStore
    from ..registry.versions.artifacts import Artifacts
    from ..registry.versions.claims import ClaimStore
    from ..registry.versions.deadletters import FailureLog
    from ..registry.versions.deliveries import claimed_as, jobs_of
    from ..registry.dynamo import every_item
    from ..registry.outbox.redrive import redrive_events
    from ..registry.records import VersionRecord, utcnow
    from ..registry.settings import Settings, get_settings
    from ..registry.versions.store import RegistryStore
else:  # the repository
    from chalicelib.aliases.alias_store import AliasStore
    from chalicelib.versions.artifacts import Artifacts
    from chalicelib.versions.claims import ClaimStore
    from chalicelib.versions.deadletters import FailureLog
    from chalicelib.versions.deliveries import claimed_as, jobs_of
    from chalicelib.dynamo import every_item
    from chalicelib.outbox.redrive import redrive_events
    from chalicelib.records import VersionRecord, utcnow
    from chalicelib.settings import Settings, get_settings
    from chalicelib.versions.store import RegistryStore

__all__ = ["AliasStore", "Artifacts", "ClaimStore", "FailureLog", "RegistryStore", "Settings", "VersionRecord",
           "claimed_as", "every_item", "get_settings", "jobs_of", "redrive_events", "utcnow"]
