"""What the AWS emulator (moto 5.2.5) lacks for the publisher, filled in for tests only.

moto's SageMaker backend
- has no UpdateEndpoint: the call raises "The update_endpoint action has not been
  implemented". The patch adds it (moto answers InService at once, as it does for
  CreateEndpoint; AWS goes through Updating first);
- describes unset structures as empty objects (`VpcConfig: {}` on a Model,
  `DataCaptureConfig: {}` on an EndpointConfig and an Endpoint) where AWS omits them;
  sagemaker-core's shapes reject those (their required members are missing), so the
  patch drops them from the describe answers.

Both patches work on moto's classes, so they apply to `mock_aws` and to a
`ThreadedMotoServer` running in the same process.
"""
from __future__ import annotations

import contextlib

import pytest

EMPTY_WHEN_UNSET = ("VpcConfig", "DataCaptureConfig")


def _without_empty_structures(describe):
    from moto.core.responses import ActionResult

    def patched(self):
        document = describe(self).result
        return ActionResult({k: v for k, v in document.items() if not (k in EMPTY_WHEN_UNSET and v == {})})

    return patched


def _backend_update_endpoint(self, endpoint_name: str, endpoint_config_name: str):
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import FakeEndpoint

    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    config = self.describe_endpoint_config(endpoint_config_name)  # raises ValidationError when missing
    endpoint.endpoint_config_name = endpoint_config_name
    endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
    endpoint.last_modified_time = utcnow()
    return endpoint


def _response_update_endpoint(self):
    from moto.core.responses import ActionResult

    endpoint = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
    )
    return ActionResult({"EndpointArn": endpoint.arn})


def patch_moto_sagemaker(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    monkeypatch.setattr(SageMakerModelBackend, "update_endpoint", _backend_update_endpoint, raising=False)
    monkeypatch.setattr(SageMakerResponse, "update_endpoint", _response_update_endpoint, raising=False)
    for name in ("describe_model", "describe_endpoint_config", "describe_endpoint"):
        monkeypatch.setattr(SageMakerResponse, name, _without_empty_structures(getattr(SageMakerResponse, name)))


@contextlib.contextmanager
def moto_sagemaker_patched():
    """The patch for session-scoped fixtures (no function-scoped monkeypatch there)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        patch_moto_sagemaker(monkeypatch)
        yield
