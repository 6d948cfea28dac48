"""The client's settings, read from the environment once (MME_<FIELD>)."""
from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ClientSettings(BaseSettings):
    """Where the registry and the drop folder are; defaults are the local stack's."""

    model_config = SettingsConfigDict(env_prefix="MME_", frozen=True, extra="ignore")

    registry_url: str = "http://127.0.0.1:8000"
    bucket: str = "mme-registry-local"
    incoming_prefix: str = "incoming/"
    cache_ttl: float = 30.0
    registry_timeout: float = 10.0
    # The queue `events tail` reads: an EventBridge rule fills it with the registry's change events.
    events_queue: str = "mme-registry-local-events-tail"
