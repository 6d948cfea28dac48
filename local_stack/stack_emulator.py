"""The local stack's AWS emulator process: the serialised moto server of emulator.py,
with two gaps of moto's SageMaker control plane filled so the publisher's
sagemaker-core calls work as they do in AWS.

moto 5.2.5
- describes unset structures as empty objects (`VpcConfig: {}` on a Model,
  `DataCaptureConfig: {}` on an EndpointConfig and an Endpoint) where AWS omits
  them; sagemaker-core's shapes reject those (required members missing), so the
  describe answers drop them;
- has no UpdateEndpoint; it is added, answering InService at once as moto's
  CreateEndpoint does (AWS passes through Updating first).

Run by the stack as a child process: `python -m local_stack.stack_emulator --port 4566`.
"""
from __future__ import annotations

import argparse
import signal
import sys

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


def fill_sagemaker_gaps() -> None:
    """Patches moto's SageMaker classes in this process (the emulator's own)."""
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    SageMakerModelBackend.update_endpoint = _backend_update_endpoint
    SageMakerResponse.update_endpoint = _response_update_endpoint
    for name in ("describe_model", "describe_endpoint_config", "describe_endpoint"):
        setattr(SageMakerResponse, name, _without_empty_structures(getattr(SageMakerResponse, name)))


def main(argv: list[str]) -> None:
    from local_stack.emulator import EmulatorServer

    parser = argparse.ArgumentParser(prog="python -m local_stack.stack_emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args(argv)
    fill_sagemaker_gaps()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a clean exit: the stack stops us with SIGTERM
    server = EmulatorServer(args.host, args.port).start()
    print(f"AWS emulator on {server.url}", flush=True)
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
