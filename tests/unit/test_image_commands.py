"""The podman command lines `make image` and `make push` run: built for SageMaker's x86 instances, pushed by tag."""
import base64
from pathlib import Path

from local_stack.environments.image import (BASE_IMAGE, CONTEXT, build_command, debootstrap_command, ecr_password,
                                            import_command, login_command, push_commands)

REPOSITORY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/acme-registry"
REF = "localhost/mme-registry-mxnet:61156236df5f"


def test_the_image_is_built_for_linux_amd64_whatever_the_host():
    command = build_command(REF, None)

    assert command[:3] == ["build", "--platform", "linux/amd64"]
    assert command[-1] == str(CONTEXT) and ["--tag", REF] == command[-5:-3]


def test_the_base_it_builds_on_is_an_amd64_debian_labelled_as_such():
    assert "--arch=amd64" in debootstrap_command(Path("/tmp/rootfs"), "http://deb.debian.org/debian")
    command = import_command()
    assert command[command.index("--arch") + 1] == "amd64" and command[-1] == BASE_IMAGE


def test_a_host_ca_bundle_reaches_the_build_as_a_secret_not_a_layer():
    command = build_command(REF, Path("/etc/ssl/certs/ca-certificates.crt"))

    assert command[command.index("--secret") + 1] == "id=pip_ca,src=/etc/ssl/certs/ca-certificates.crt"


def test_push_tags_the_built_image_in_the_repository_and_pushes_each_tag_once():
    assert push_commands(REF, REPOSITORY, ["61156236df5f", "latest", "latest"]) == [
        ["tag", REF, f"{REPOSITORY}:61156236df5f"], ["push", f"{REPOSITORY}:61156236df5f"],
        ["tag", REF, f"{REPOSITORY}:latest"], ["push", f"{REPOSITORY}:latest"],
    ]


def test_podman_logs_in_to_the_repositorys_registry_with_the_password_of_ecrs_token():
    token = base64.b64encode(b"AWS:eyJwYXlsb2FkIjoi").decode()

    assert login_command(REPOSITORY) == ["login", "--username", "AWS", "--password-stdin",
                                         "123456789012.dkr.ecr.eu-west-1.amazonaws.com"]
    assert ecr_password(token) == "eyJwYXlsb2FkIjoi"
