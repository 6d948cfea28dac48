"""Which S3 prefix an endpoint serves: endpoint → config → model → container → ModelDataUrl,
read from the (emulated) SageMaker control plane.

Any multi-model endpoint a user creates with boto3 is served, not only the registry's
(DESIGN.md, invariant 9): a model may name its container as `PrimaryContainer` or as
`Containers=[{...}]` (the AWS notebooks do the latter), and `ModelDataUrl` may be an
`s3://` URL or the `https://` S3 URL forms SageMaker also accepts. The container's image says
which backend serves it (`backend_for_image`), as it does on SageMaker.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from local_stack.runtime.model_cache import validation_error

_S3_URL = re.compile(r"s3://([^/]+)/?(.*)", re.DOTALL)
# Path style: https://s3.amazonaws.com/b/p, https://s3-us-west-2.amazonaws.com/b/p,
# https://s3.us-west-2.amazonaws.com/b/p
_PATH_STYLE = re.compile(r"https://s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?/([^/]+)/?(.*)", re.DOTALL)
# Virtual-hosted style: https://b.s3.amazonaws.com/p, https://b.s3.us-west-2.amazonaws.com/p, https://b.s3-us-west-2...
_HOST_STYLE = re.compile(r"https://([^/]+)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?/?(.*)", re.DOTALL)


# Repositories of AWS's TensorFlow Serving inference images (the Deep Learning Container and the
# older SageMaker one); any other image is served like the project's own MMS container.
TF_SERVING_REPOSITORIES = frozenset({"tensorflow-inference", "sagemaker-tensorflow-serving"})
MMS, TF_SERVING = "mms", "tf-serving"


@dataclass(frozen=True)
class EndpointTarget:
    name: str
    bucket: str
    prefix: str
    variant: str
    image: str = ""

    @property
    def backend(self) -> str:
        return backend_for_image(self.image)


def image_repository(image: str) -> str:
    """The last path segment of an image's repository, without registry, tag or digest:
    `763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference:2.20-cpu-py312-amzn2023-sagemaker-v1`
    → `tensorflow-inference`."""
    name = (image or "").split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[0].lower()


def backend_for_image(image: str) -> str:
    """Which local backend serves a container image: TF Serving for AWS's TF images, MMS otherwise."""
    return TF_SERVING if image_repository(image) in TF_SERVING_REPOSITORIES else MMS


def parse_model_data_url(url: str) -> tuple[str, str] | None:
    """(bucket, key prefix ending in "/" or empty) of a ModelDataUrl, or None if it names no S3 location."""
    for pattern in (_S3_URL, _PATH_STYLE, _HOST_STYLE):
        match = pattern.fullmatch(url or "")
        if match:
            bucket, prefix = match.groups()
            return bucket, prefix if not prefix or prefix.endswith("/") else prefix + "/"
    return None


def serving_container(name: str, model: dict) -> dict:
    """The one container of a multi-model endpoint's model, however CreateModel named it."""
    containers = [c for c in ([model.get("PrimaryContainer")] + list(model.get("Containers") or [])) if c]
    if len(containers) != 1:
        raise validation_error(f"Endpoint {name} serves a model with {len(containers)} containers; a multi-model "
                               "endpoint has exactly one (PrimaryContainer, or Containers with one entry).")
    container = containers[0]
    if container.get("Mode") != "MultiModel":
        raise validation_error(f"Endpoint {name} is not a multi-model endpoint (its container's Mode is "
                               f"{container.get('Mode', 'SingleModel')!r}); this gateway serves only those.")
    return container


class EndpointDirectory:
    """Endpoint name → the S3 prefix it serves, cached briefly (SageMaker also sees changes with a delay)."""

    def __init__(self, sagemaker, ttl: float = 5.0):
        self.sagemaker, self.ttl = sagemaker, ttl
        self._cache: dict[str, tuple[float, EndpointTarget]] = {}
        self._lock = threading.Lock()

    def resolve(self, name: str) -> EndpointTarget:
        with self._lock:
            hit = self._cache.get(name)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        target = self._describe(name)
        with self._lock:
            self._cache[name] = (time.monotonic(), target)
        return target

    def _describe(self, name: str) -> EndpointTarget:
        try:
            endpoint = self.sagemaker.describe_endpoint(EndpointName=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("ValidationException", "ValidationError"):
                raise
            raise validation_error(f"Endpoint {name} not found.") from exc
        if endpoint["EndpointStatus"] != "InService":
            raise validation_error(f"Endpoint {name} is {endpoint['EndpointStatus']}, not InService.")
        config = self.sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        variant = config["ProductionVariants"][0]
        container = serving_container(name, self.sagemaker.describe_model(ModelName=variant["ModelName"]))
        location = parse_model_data_url(container.get("ModelDataUrl", ""))
        if location is None:
            raise validation_error(f"Endpoint {name} has no S3 ModelDataUrl (s3://bucket/prefix/), "
                                   f"but {container.get('ModelDataUrl')!r}.")
        return EndpointTarget(name, *location, variant["VariantName"], container.get("Image", ""))
