"""The publisher's settings: flags beat the environment (PUBLISHER_*), which beats a
YAML/JSON file, which beats the defaults.

What names a real deployment (bucket, endpoint, role, image, instance type) has no
default: a forgotten flag must stop the run, not publish the local stack's bucket.
One MME runs one image, so one framework: `endpoint_name` + `image` is the MXNet
endpoint (the project's MMS container); `tensorflow_endpoint_name`, when given, adds the
TensorFlow one, on AWS's TF Serving inference image (TENSORFLOW_IMAGE for the region,
unless `tensorflow_image` names another). Both serve the same models/ prefix. The
local stack passes its own values explicitly (local_stack/stack.py). The region, when not
given, is the standard AWS one (AWS_REGION, AWS_DEFAULT_REGION, the profile).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import yaml
from pydantic import Field
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict


class ConfigFileError(ValueError):
    """A --config file that cannot be read as a mapping of settings."""


class MissingSettings(ValueError):
    """Required settings that no flag, environment variable or config file gave."""

    def __init__(self, names: list[str]):
        self.names = names
        wanted = "\n".join(f"  --{n.replace('_', '-')}  (or PUBLISHER_{n.upper()}, or `{n}:` in --config)"
                           for n in names)
        super().__init__(f"missing required setting{'s' if len(names) > 1 else ''}; give:\n{wanted}")


# AWS's TensorFlow Serving inference Deep Learning Container for SageMaker, CPU. 2.19 (the last Ubuntu one) left
# its patch window on 2026-03-11; 2.20 (TF Serving 2.20.0, Python 3.12, Amazon Linux 2023) is the newest TF
# inference DLC AWS documents (aws/deep-learning-containers, docs/src/data/tensorflow-inference/2.20-cpu-sagemaker.yml,
# added 2026-08-21, patch releases scheduled twice a week; sagemaker-python-sdk registers it 2026-09-01). The `-v1`
# tag follows 2.20's patch releases within DLC major version 1. The 763104351884 account serves it in most commercial
# regions; elsewhere (China, GovCloud, opt-in regions) give `tensorflow_image` from AWS's list of available images.
TENSORFLOW_IMAGE_TAG = "2.20-cpu-py312-amzn2023-sagemaker-v1"
TENSORFLOW_IMAGE = "763104351884.dkr.ecr.{region}.amazonaws.com/tensorflow-inference:" + TENSORFLOW_IMAGE_TAG


class PublisherSettings(BaseSettings):
    """Where the MultiModel endpoint lives and what it runs; every field is PUBLISHER_<FIELD>."""

    model_config = SettingsConfigDict(env_prefix="PUBLISHER_", frozen=True, extra="forbid")

    endpoint_name: str
    bucket: str
    # The ECR URI of the image built from container/Dockerfile.
    image: str
    role_arn: str
    instance_type: str
    region: str | None = None
    models_prefix: str = "models/"
    instance_count: int = Field(default=1, ge=1)
    variant_name: str = "AllTraffic"
    # Extra container environment (e.g. SAGEMAKER_MODEL_SERVER_WORKERS).
    environment: dict[str, str] = Field(default_factory=dict)
    # The TensorFlow endpoint (REGISTRY_TENSORFLOW_ENDPOINT of the registry); none when unset.
    tensorflow_endpoint_name: str | None = None
    tensorflow_image: str | None = None  # default: TENSORFLOW_IMAGE in the endpoint's region
    # CloudWatch alarms that roll an endpoint update back while they fire during the bake.
    rollback_alarms: list[str] = Field(default_factory=list, max_length=10)
    bake_seconds: int = Field(default=600, ge=0, le=3600)
    wait: bool = True
    poll_seconds: int = Field(default=15, ge=1)
    timeout_seconds: int = Field(default=3600, ge=1)

    @property
    def model_data_url(self) -> str:
        """The S3 prefix every TargetModel key is relative to."""
        prefix = self.models_prefix.strip("/")
        return f"s3://{self.bucket}/{prefix}/" if prefix else f"s3://{self.bucket}/"

    def tensorflow_image_in(self, region: str | None) -> str:
        if self.tensorflow_image:
            return self.tensorflow_image
        if not region:
            raise ValueError("the TF Serving image's default names the region: give --region or --tensorflow-image")
        return TENSORFLOW_IMAGE.format(region=region)

    @classmethod
    def load(cls, config_file: Path | None = None, from_stack: Callable[[str | None], dict] | None = None,
             **flags) -> "PublisherSettings":
        """Merges the sources in priority order; `flags` holds only the options given.

        `from_stack(region)` gives what a stack provides (publisher/stack.py): it beats the environment and the
        file, flags beat it, and it is asked in the region those sources name, else the caller's.
        """
        file_values = read_config_file(config_file) if config_file else {}
        unknown = sorted(set(file_values) - set(cls.model_fields))
        if unknown:
            raise ConfigFileError(f"{config_file}: unknown setting{'s' if len(unknown) > 1 else ''} "
                                  f"{', '.join(unknown)}; known: {', '.join(cls.model_fields)}")
        env_values = EnvSettingsSource(cls)()
        given = {k: v for k, v in flags.items() if v is not None}
        merged = {**file_values, **env_values}
        if from_stack is not None:
            merged.update(from_stack(given.get("region") or merged.get("region")))
        merged.update(given)
        missing = [name for name, field in cls.model_fields.items() if field.is_required() and not merged.get(name)]
        if missing:
            raise MissingSettings(missing)
        return cls(**merged)


def read_config_file(path: Path) -> dict:
    """A YAML (.yaml/.yml) or JSON file holding one mapping; `a-b` keys read as `a_b`."""
    path = Path(path)
    try:
        text = path.read_text()
        document = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigFileError(f"cannot read {path}: {exc}") from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigFileError(f"{path} must hold a mapping of settings, not {type(document).__name__}")
    return {str(key).replace("-", "_"): value for key, value in document.items()}
