"""The gateway picks a backend from the endpoint's container image, as SageMaker runs that image."""
import pytest

from local_stack.endpoints import MMS, TF_SERVING, backend_for_image, image_repository


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
