"""Per-model metrics: the names that every writer (AliasClient, the local gateway) and every reader
(the metrics route, rollouts, the console) agree on.

SageMaker publishes no per-model metrics for a multi-model endpoint, so the registry's client does:
into CloudWatch, namespace NAMESPACE, every datum with the three DIMENSIONS, one aggregate per
(alias, model, version, metric) and minute. The client ships this module in its distribution
(mme_registry.registry.metrics.names), so both sides read the same strings.

A call's outcome is exactly one of OUTCOMES:
  ok         the model answered
  4xx        the request was refused: a ValidationError, or the container answered 4xx
  5xx        the model or the service failed: the container answered 5xx (SageMaker's ModelError
             carries it as OriginalStatusCode), InternalFailure, ServiceUnavailable
  throttled  ThrottlingException
  not_ready  ModelNotReadyException still, after the client's retries
"""
NAMESPACE = "MMERegistry"
ALIAS, MODEL, VERSION = "Alias", "Model", "Version"
DIMENSIONS = (ALIAS, MODEL, VERSION)  # Version is the version number as a decimal string
# The Alias of calls that named a version's TargetModel, not an alias (plain boto3 callers, which the local
# gateway records); no alias can be named this (ALIAS_RULE has no parentheses).
DIRECT = "(direct)"
# Calls already accounted for carry a mark in SageMaker's CustomAttributes, which the local gateway leaves out:
# an AliasClient's (it records its own calls) and the registry's warm-up (not an application's call).
MARK_PREFIX = "mme-registry-"
ALIAS_MARK = MARK_PREFIX + "alias="  # followed by the alias
WARMUP_MARK = MARK_PREFIX + "warmup=1"

REQUESTS = "Requests"  # Count: every call, whatever its outcome
ERRORS_4XX = "Errors4xx"  # Count
ERRORS_5XX = "Errors5xx"  # Count
THROTTLES = "Throttles"  # Count
NOT_READY = "ModelNotReady"  # Count
COLD_LOADS = "ColdLoads"  # Count: calls that looked like the model's first load on an instance
LATENCY = "Latency"  # Milliseconds, as raw values (Values/Counts), so CloudWatch can answer p50 and p99
MIRRORED = "MirrorRequests"  # Count: live requests also sent to a mirror candidate and compared
MIRROR_AGREED = "MirrorAgreements"  # Count: of those, the candidate's top-1 agreed with the answer given

OUTCOMES = ("ok", "4xx", "5xx", "throttled", "not_ready")
OUTCOME_METRIC = {"4xx": ERRORS_4XX, "5xx": ERRORS_5XX, "throttled": THROTTLES, "not_ready": NOT_READY}
# What a rollout counts as the candidate failing: the model's own failures, not the caller's bad input.
FAILURE_METRICS = (ERRORS_5XX, NOT_READY)
