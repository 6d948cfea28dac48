"""The client's settings, read from the environment once (MME_<FIELD>)."""
from __future__ import annotations

import getpass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClientSettings(BaseSettings):
    """Where the registry and the drop folder are; defaults are the local stack's."""

    model_config = SettingsConfigDict(env_prefix="MME_", frozen=True, extra="ignore")

    registry_url: str = "http://127.0.0.1:8000"
    bucket: str = "mme-registry-local"
    incoming_prefix: str = "incoming/"
    # Where `import` copies sources before registering them (the registry reads sources only in its bucket).
    staging_prefix: str = "staging/"
    cache_ttl: float = 30.0
    registry_timeout: float = 10.0
    # The queue `events tail` reads: an EventBridge rule fills it with the registry's change events.
    events_queue: str = "mme-registry-local-events-tail"
    # Who this client says it is to a registry that does not verify callers (the local stack): sent as
    # X-Registry-Actor and recorded as local:<name>. Empty: the OS user. Ignored when requests are SigV4-signed.
    registry_actor: str = ""
    # Per-model metrics of every call by alias (client/metrics.py): MME_METRICS=false turns them off;
    # they are sent to CloudWatch every MME_METRICS_FLUSH_SECONDS.
    metrics: bool = True
    metrics_flush_seconds: float = 10.0
    # Set by Lambda: the metrics are then written to stdout in CloudWatch's Embedded Metric Format.
    lambda_function_name: str = Field("", validation_alias="AWS_LAMBDA_FUNCTION_NAME")

    def actor(self) -> str | None:
        """MME_REGISTRY_ACTOR, else the OS user; None when the OS names no user (the registry then records
        'anonymous')."""
        if self.registry_actor:
            return self.registry_actor
        try:
            return getpass.getuser()
        except (OSError, KeyError):  # no LOGNAME/USER and no passwd entry (e.g. an arbitrary container uid)
            return None
