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
    # The endpoint serving each framework (one MME runs one image): `endpoint` the MXNet (MMS) one,
    # `tensorflow_endpoint` the TF Serving one; "" when none serves it (frameworks.py).
    endpoint: str = "mme-registry-local"
    tensorflow_endpoint: str = "mme-registry-local-tf"
    region: str = "us-east-1"
    # "iam": every route needs SigV4 (API Gateway IAM authorizer); "none" only for the local stage.
    auth: Literal["none", "iam"] = "none"
    # The API function's role, by its unique id (CloudFormation's RoleId, AROA…): presigned uploads are signed
    # with it, so an S3 event whose principal is a session of this role carries the caller the API vouched for
    # (x-amz-meta-registry-actor, versions/uploads.py). "" (the local stack): no principal is the API's.
    api_role_id: str = ""

    incoming_prefix: str = "incoming/"
    models_prefix: str = "models/"
    rejected_prefix: str = "rejected/"
    # Reference samples (versions/reference_samples.py): a version's under <prefix><model>/v<N>/, a model's under
    # <prefix><model>/set-<hash>/; the shadow comparison (aliases/shadow.py) reads them.
    samples_prefix: str = "samples/"

    max_members: int = 10_000
    max_uncompressed_bytes: int = 20 * GIB
    max_compression_ratio: float = 200.0
    # Elements of one input in <p>-shapes.json (batch included); see validation/limits.py.
    max_input_elements: int = 1 << 20

    # Invoke each new version once on the endpoint before aliases move to it; a failed
    # warm-up leaves the aliases where they were. An upload's x-amz-meta-warmup overrides it.
    warmup: bool = False
    # How long a warm-up keeps retrying ModelNotReadyException (a big model's first load) before it fails.
    warmup_budget_seconds: float = 120.0

    # A claim older than this with no completion is taken to be a crashed run.
    claim_timeout_seconds: int = 900

    # The ingest queue's maxReceiveCount (deploy/resources.yaml, local_stack/aws/provision.py): a failure on
    # this delivery is the last one before SQS dead-letters the message, so it is recorded as `failed`.
    max_receives: int = 5

    # The sweep re-announces uploads that sat in incoming/ this long with no claim (missed S3 events),
    # every `sweep_every_minutes`, reading at most `sweep_max_pages` listing pages within `sweep_budget_seconds`.
    sweep_after_seconds: int = 900
    sweep_every_minutes: int = 5
    sweep_max_pages: int = 10
    sweep_budget_seconds: int = 60

    # Registry change events (chalicelib/outbox): the EventBridge bus they go to, how often the publisher drains
    # the outbox, and how many failed publishes an event gets before it goes to the dead-letter queue.
    event_bus: str = "mme-registry-local"
    events_dead_letter_queue: str = "mme-registry-local-events-dlq"
    publish_every_minutes: int = 1
    publish_budget: int = 8

    # Canary rollouts (chalicelib/rollouts): how often the advancer looks at every running rollout.
    rollout_every_minutes: int = 1

    # REST registrations of a source larger than this are queued (202 Accepted) instead of validated behind
    # API Gateway's 29 s limit. `python bench/validate.py` measures about 280 MB/s of one core's CPU; the API
    # function's 1,024 MB is ~0.6 vCPU, about 165 MB/s, so 1 GB takes ~6 s of validation and leaves the rest
    # of the 28 s for the S3 read (not measurable here) and the copy.
    deferred_registration_bytes: int = 1_000_000_000

    # The shadow gate (aliases/shadow.py): a comparison recorded for the same alias, incumbent and candidate is
    # reused for this long instead of run again; each invoke retries ModelNotReadyException for at most
    # `shadow_invoke_budget_seconds` (a move waits for it, behind API Gateway's 29 s: run it first through
    # POST /aliases/{alias}/shadow, the move then reuses it).
    shadow_reuse_seconds: int = 3600
    shadow_invoke_budget_seconds: float = 20.0


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
