"""The one place configuration is read from the environment."""
from functools import lru_cache
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

GIB = 1024**3


class Settings(BaseSettings):
    """Registry settings; every field can be set as REGISTRY_<FIELD>."""

    model_config = SettingsConfigDict(env_prefix="REGISTRY_", frozen=True)

    bucket: str = "mme-registry-local"
    table: str = "mme-registry-local"
    events_table: str = "mme-registry-local-events"
    queue: str = "mme-registry-local-ingest"
    endpoint: str = "mme-registry-local"
    region: str = "us-east-1"
    # "iam": every route needs SigV4 (API Gateway IAM authorizer); "none" only for the local stage.
    auth: Literal["none", "iam"] = "none"

    incoming_prefix: str = "incoming/"
    models_prefix: str = "models/"
    rejected_prefix: str = "rejected/"

    max_members: int = 10_000
    max_uncompressed_bytes: int = 20 * GIB
    max_compression_ratio: float = 200.0
    # Elements of one input in <p>-shapes.json (batch included); see validation/limits.py.
    max_input_elements: int = 1 << 20

    # Invoke each new version once on the endpoint before aliases move to it; a failed
    # warm-up leaves the aliases where they were. An upload's x-amz-meta-warmup overrides it.
    warmup: bool = False

    # A claim older than this with no completion is taken to be a crashed run.
    claim_timeout_seconds: int = 900


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
