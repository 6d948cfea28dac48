"""Which SageMaker endpoint serves which framework: one MME serves one container image, so one framework.

Read from the registry's settings; the status of each endpoint is the caller's to ask SageMaker
(client/endpoints.py), so the API function needs no SageMaker control-plane permission.
"""


def endpoints_by_framework(settings) -> dict[str, str]:
    """framework -> endpoint name."""
    return {"mxnet": settings.endpoint}
