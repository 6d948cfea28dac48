"""The gateway picks a backend from the endpoint's container image, as SageMaker runs that image."""
import re

import pytest

from local_stack.runtime.endpoints import MMS, TF_SERVING, backend_for_image, image_repository
from local_stack.stack import LOCAL_TENSORFLOW_IMAGE
from publisher.settings import TENSORFLOW_IMAGE


@pytest.mark.parametrize("image", [
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference:2.19-cpu",
    "763104351884.dkr.ecr.eu-west-1.amazonaws.com/tensorflow-inference:2.13.0-gpu-py310-cu118-ubuntu20.04-sagemaker",
    "520713654638.dkr.ecr.us-east-1.amazonaws.com/sagemaker-tensorflow-serving:1.15.0-cpu",
    "tensorflow-inference@sha256:" + "0" * 64,
])
def test_aws_tensorflow_serving_images_are_served_by_the_tf_backend(image):
    assert backend_for_image(image) == TF_SERVING


@pytest.mark.parametrize("image", [
    "mme-registry-container:local",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/demo-sagemaker-multimodel:latest",
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/mxnet-inference:1.9.0-cpu-py38",
    "example.com/tensorflow-inference-custom:1",
    "",
])
def test_every_other_image_is_served_by_mms(image):
    assert backend_for_image(image) == MMS


def test_a_registry_port_is_not_taken_for_a_tag():
    assert image_repository("localhost:5000/team/tensorflow-inference") == "tensorflow-inference"


def test_the_default_tf_serving_image_has_the_form_of_aws_documented_sagemaker_tags_and_runs_on_the_tf_backend():
    # AWS documents <major.minor>-cpu-py3NN-<os>-sagemaker[-vN] tags for its SageMaker TF inference images;
    # a bare `2.19-cpu` is not among them.
    image = TENSORFLOW_IMAGE.format(region="eu-west-1")

    assert image.startswith("763104351884.dkr.ecr.eu-west-1.amazonaws.com/tensorflow-inference:")
    assert re.fullmatch(r"2\.\d+-cpu-py3\d+-(ubuntu\d+\.\d+|amzn\d+)-sagemaker(-v\d+)?", image.rsplit(":", 1)[1])
    assert backend_for_image(image) == TF_SERVING


def test_the_local_tensorflow_endpoint_names_the_image_a_deployed_one_runs():
    assert LOCAL_TENSORFLOW_IMAGE == TENSORFLOW_IMAGE.format(region="us-east-1")
