"""The AWS emulator: a moto server on 127.0.0.1 that answers one request at a time.

DynamoDB evaluates every conditional write and transaction atomically; moto's
backends take no locks, so two threads can both pass the same condition. Serialising
requests gives the emulator the atomicity the registry's compare-and-set relies on
(clients still race exactly as they would against AWS).

It fills two gaps of moto 5.2.5's SageMaker control plane, so sagemaker-core
(the publisher) works against it as against AWS:
- moto describes unset structures as empty objects (`VpcConfig: {}` on a Model,
  `DataCaptureConfig: {}` on an EndpointConfig and an Endpoint) where AWS omits them,
  and sagemaker-core's shapes reject those (required members missing): the describe
  answers drop them;
- moto has no UpdateEndpoint: it is added, answering InService at once as moto's
  CreateEndpoint does (AWS passes through Updating first), and keeping the request's
  DeploymentConfig as the endpoint's LastDeploymentConfig, as DescribeEndpoint reports it.
  It never fails, so it never rolls back: tests drive a failed update through moto's
  backend (tests/integration/test_publisher_outcome.py).
And one gap of its S3 notifications: moto leaves `versionId` out of the event of a versioned
bucket, where S3 always puts it. Without it the ingest must find the version by listing the
key's versions (deliveries.identified), and moto answers ListObjectVersions by deep-copying
every version of every key in the bucket, bytes included: seconds per event once the bucket
holds a few large models. The events carry it, as S3's do.

And two of its EventBridge PutEvents: moto accepts a call of any size, where EventBridge refuses
a call whose entries add up to more than 256 KB (ValidationException, nothing published); and
moto never fails one entry of an accepted call, where EventBridge answers 200 with an ErrorCode
on the entries it did not take (InternalFailure, ThrottlingException). `events_gaps` enforces the
limit and lets a test choose entries to fail that way.

This is the one place moto is patched; tests apply `sagemaker_gaps()`, `s3_event_gaps()` and
`events_gaps()` with monkeypatch.

Run alone with `python -m local_stack.emulator --port 4566` (the gaps filled).
"""
import argparse
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


EMPTY_WHEN_UNSET = ("VpcConfig", "DataCaptureConfig")


def _without_empty_structures(describe):
    from moto.core.responses import ActionResult

    def patched(self):
        document = describe(self).result
        return ActionResult({k: v for k, v in document.items() if not (k in EMPTY_WHEN_UNSET and v == {})})

    return patched


def _backend_update_endpoint(self, endpoint_name: str, endpoint_config_name: str, deployment_config=None):
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
    if deployment_config:
        endpoint.last_deployment_config = deployment_config
    return endpoint


def _response_update_endpoint(self):
    from moto.core.responses import ActionResult

    endpoint = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        deployment_config=self._get_param("DeploymentConfig"),
    )
    return ActionResult({"EndpointArn": endpoint.arn})


def sagemaker_gaps() -> list[tuple[type, str, object]]:
    """(class, attribute, replacement) for each gap, to apply with setattr or monkeypatch.setattr."""
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    gaps = [(SageMakerModelBackend, "update_endpoint", _backend_update_endpoint),
            (SageMakerResponse, "update_endpoint", _response_update_endpoint)]
    for name in ("describe_model", "describe_endpoint_config", "describe_endpoint"):
        gaps.append((SageMakerResponse, name, _without_empty_structures(getattr(SageMakerResponse, name))))
    return gaps


def _with_version_id(get_s3_event):
    def patched(event_name, bucket, key, notification_id):
        event = get_s3_event(event_name, bucket, key, notification_id)
        if bucket.is_versioned and key.version_id not in (None, "null"):
            for record in event["Records"]:
                record["s3"]["object"]["versionId"] = key.version_id
        return event

    return patched


def s3_event_gaps() -> list[tuple[object, str, object]]:
    """(module, attribute, replacement), as sagemaker_gaps: S3 events of a versioned bucket name the version."""
    from moto.s3 import notifications

    return [(notifications, "_get_s3_event", _with_version_id(notifications._get_s3_event))]


PUT_EVENTS_CALL_LIMIT = 256 * 1024


def _put_events_as_eventbridge(put_events, failing):
    from moto.events.exceptions import ValidationException

    def size(entry: dict) -> int:  # EventBridge's count, kept apart from the publisher's own (sizes.entry_size)
        texts = [entry.get(name) or "" for name in ("Source", "DetailType", "Detail")] + (entry.get("Resources") or [])
        return sum(len(text.encode()) for text in texts) + (14 if entry.get("Time") is not None else 0)

    def patched(self, events):
        if sum(size(event) for event in events) > PUT_EVENTS_CALL_LIMIT:
            raise ValidationException("Total size of the entries in the request is over the limit.")
        refused = [index for index, event in enumerate(events) if failing(event)]
        accepted = iter(put_events(self, [e for index, e in enumerate(events) if index not in refused]))
        return [{"ErrorCode": "InternalFailure", "ErrorMessage": "Internal service error."} if index in refused
                else next(accepted) for index in range(len(events))]

    return patched


def events_gaps(failing=lambda entry: False) -> list[tuple[type, str, object]]:
    """(class, attribute, replacement), as sagemaker_gaps: PutEvents' call size limit, and an InternalFailure
    answered (nothing delivered) for each entry `failing(entry)` picks, as EventBridge answers one it did not take."""
    from moto.events.models import EventsBackend

    return [(EventsBackend, "put_events", _put_events_as_eventbridge(EventsBackend.put_events, failing))]


class EmulatorServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        backend = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def serialised(environ, start_response):
            with lock:
                return list(backend(environ, start_response))

        self._server = make_server(host, port, serialised, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-emulator", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "EmulatorServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local_stack.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args(argv)
    for owner, name, replacement in sagemaker_gaps() + s3_event_gaps() + events_gaps():
        setattr(owner, name, replacement)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # the stack stops us with SIGTERM: exit cleanly
    server = EmulatorServer(args.host, args.port).start()
    print(f"AWS emulator on {server.url}", flush=True)
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
