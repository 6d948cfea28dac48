"""Builds the MME container image with podman, where no image registry can be reached.

The base is a plain Debian bookworm made by debootstrap and imported as BASE_IMAGE (made
once, reused while it exists); the image is container/Dockerfile built on it and tagged
with a hash of everything the build reads, so an image that matches the checkout is
reused and any change to container/ builds a new one. `make image` and the container
tests both come here. Standard library only: it runs before (and without) the venv
(`push` alone reads a stack, with boto3, lazily imported).

The image is built for linux/amd64 (PLATFORM) whatever the host: SageMaker's ml.m5/ml.c5
instances run x86-64, and an image built on an ARM laptop would not start there. On a
non-x86 host that needs qemu-user-static with binfmt (debootstrap and the build run amd64
binaries).

`push` tags the built image with its content tag and TAG (default `latest`) in the ECR
repository of a resources stack (its ImageRepositoryUri output), after logging podman in
with ECR's authorization token; `python -m publisher deploy --stack … --image-tag TAG` then
pins that tag's digest.

Podman runs with runc (crun refuses cgroup v1 hosts) and explicit ulimits (podman's
defaults exceed the hard limits of ordinary shells and CI runners).

    python3 -m local_stack.environments.image build    # base if missing, then the image if missing
    python3 -m local_stack.environments.image ref      # the tag the current checkout builds
    .venv/bin/python -m local_stack.environments.image push --stack mme-registry-prod [--tag TAG] [--region REGION]
"""
from __future__ import annotations

import argparse
import base64
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONTEXT = REPO / "container"
NAME = "localhost/mme-registry-mxnet"
BASE_IMAGE = "localhost/mme-registry-base:bookworm"
PODMAN = ["podman", "--runtime", "runc"]
PLATFORM, ARCH = "linux/amd64", "amd64"  # what SageMaker's x86 instances run
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
# Where the host's HTTPS goes through an intercepting proxy, pip in the build needs its CA.
HOST_CA_BUNDLE = Path(os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt")
LOCK = Path(tempfile.gettempdir()) / "mme-registry-image.lock"


class EngineMissing(RuntimeError):
    """No usable podman + runc here; the message says what is missing and how to get it."""


class PodmanFailed(RuntimeError):
    """A podman command failed; the message carries its stderr."""


def podman(*args: str, check: bool = True, capture: bool = True,
           stdin: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([*PODMAN, *args], text=True, capture_output=capture, input=stdin)
    if check and result.returncode != 0:
        detail = (result.stderr or "").strip()[-2000:] or "(its output is above)"
        raise PodmanFailed(f"'podman {' '.join(args[:2])} ...' exited with {result.returncode}: {detail}")
    return result


def engine_problem() -> str | None:
    """Why containers cannot run here, or None when podman with runc works."""
    missing = [tool for tool in ("podman", "runc") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not found: apt-get install -y podman runc debootstrap slirp4netns"
    result = podman("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False)
    if result.returncode != 0:
        return f"'podman --runtime runc info' failed: {result.stderr.strip()[-400:]}"
    return None


def input_hash() -> str:
    """Hash of every file the build reads (README excluded) and of the base it starts from."""
    digest = hashlib.sha256(BASE_IMAGE.encode())
    for path in sorted(p for p in CONTEXT.rglob("*") if p.is_file()):
        if path.suffix == ".md" or "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(CONTEXT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def image_ref() -> str:
    return f"{NAME}:{input_hash()}"


def exists(ref: str) -> bool:
    """The image is there and built for ARCH (one built before PLATFORM was given may be the host's)."""
    if podman("image", "exists", ref, check=False).returncode != 0:
        return False
    return podman("image", "inspect", "--format", "{{.Architecture}}", ref).stdout.strip() == ARCH


def build_base(mirror: str | None = None) -> None:
    """debootstrap a minimal bookworm and import it as BASE_IMAGE (root only: debootstrap chroots)."""
    if shutil.which("debootstrap") is None:
        raise EngineMissing("debootstrap not found: apt-get install -y debootstrap")
    mirror = mirror or os.environ.get("MME_DEBIAN_MIRROR") or "http://deb.debian.org/debian"
    with tempfile.TemporaryDirectory(prefix="mme-base-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        print(f"==> debootstrap bookworm (minbase) from {mirror}", flush=True)
        subprocess.run(debootstrap_command(rootfs, mirror), check=True)
        for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        print(f"==> importing it as {BASE_IMAGE}", flush=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        subprocess.run([*PODMAN, *import_command()], stdin=tar.stdout, check=True)
        tar.stdout.close()
        if tar.wait() != 0:
            raise subprocess.CalledProcessError(tar.returncode, "tar")


def build(ref: str | None = None) -> str:
    """Builds the image for the current checkout (and the base if missing); returns its ref.

    One build at a time on a machine (test workers, several checkouts): a second waits and
    then finds the image built, or builds on the base the first one made.
    """
    ref = ref or image_ref()
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if exists(ref):
            return ref
        if not exists(BASE_IMAGE):
            started = time.monotonic()
            build_base()
            print(f"==> base made in {time.monotonic() - started:.0f} s", flush=True)
        return _build_image(ref)


def debootstrap_command(rootfs: Path, mirror: str) -> list[str]:
    return ["debootstrap", f"--arch={ARCH}", "--variant=minbase", "bookworm", str(rootfs), mirror]


def import_command() -> list[str]:
    """podman arguments importing the rootfs tar (stdin) as BASE_IMAGE, labelled with its architecture."""
    return ["import", "--arch", ARCH, "--os", "linux", "--change", "CMD=/bin/bash", "-", BASE_IMAGE]


def build_command(ref: str, ca_bundle: Path | None) -> list[str]:
    """podman arguments building container/ as `ref` for PLATFORM."""
    command = ["build", "--platform", PLATFORM, "--network", "host", *ULIMITS,
               "--build-arg", f"BASE_IMAGE={BASE_IMAGE}"]
    if ca_bundle is not None:
        command += ["--secret", f"id=pip_ca,src={ca_bundle}"]
    return [*command, "--tag", ref, "--tag", f"{NAME}:latest", str(CONTEXT)]


def _build_image(ref: str) -> str:
    print(f"==> building {ref} for {PLATFORM} from {CONTEXT}", flush=True)
    podman(*build_command(ref, HOST_CA_BUNDLE if HOST_CA_BUNDLE.is_file() else None), capture=False)
    return ref


def push_commands(ref: str, repository_uri: str, tags: list[str]) -> list[list[str]]:
    """podman arguments that tag the built image `ref` in the repository and push it, tag by tag."""
    commands = []
    for tag in dict.fromkeys(tags):
        target = f"{repository_uri}:{tag}"
        commands += [["tag", ref, target], ["push", target]]
    return commands


def login_command(repository_uri: str) -> list[str]:
    """podman arguments logging in to the repository's registry; the password comes on stdin."""
    return ["login", "--username", "AWS", "--password-stdin", repository_uri.split("/", 1)[0]]


def ecr_password(authorization_token: str) -> str:
    """ECR's GetAuthorizationToken answers base64 of `AWS:<password>` (what `aws ecr get-login-password` prints)."""
    return base64.b64decode(authorization_token).decode().partition(":")[2]


def push(stack: str, tag: str | None, region: str | None) -> list[str]:
    """Logs in to the stack's image repository, tags the checkout's image, pushes it; answers the pushed refs."""
    from publisher.stack import DEFAULT_IMAGE_TAG, aws_session, read_stack

    ref = image_ref()
    if not exists(ref):
        raise PodmanFailed(f"{ref} is not built for {PLATFORM}: run `make image` first")
    session = aws_session(region)
    repository = read_stack(session, stack).get("ImageRepositoryUri")
    [authorization] = session.client("ecr").get_authorization_token()["authorizationData"]
    podman(*login_command(repository), stdin=ecr_password(authorization["authorizationToken"]))
    tags = [ref.rsplit(":", 1)[1], tag or DEFAULT_IMAGE_TAG]
    for command in push_commands(ref, repository, tags):
        podman(*command, capture=False)
    return [f"{repository}:{t}" for t in dict.fromkeys(tags)]


def size_mb(ref: str) -> float:
    return int(podman("image", "inspect", "--format", "{{.Size}}", ref).stdout.strip()) / 1e6


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m local_stack.environments.image",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["build", "ref", "push"])
    parser.add_argument("--stack", help="push: the stack deployed from deploy/resources.yaml (its ImageRepositoryUri)")
    parser.add_argument("--tag", help="push: the tag besides the content tag (default latest)")
    parser.add_argument("--region", help="push: default AWS_DEFAULT_REGION or the profile's region")
    args = parser.parse_args(argv)
    if args.command == "ref":
        print(image_ref())
        return 0
    if args.command == "push" and not args.stack:
        parser.error("push needs --stack STACK (make push STACK=mme-registry-prod)")
    problem = engine_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    if args.command == "push":
        return _push(args)
    started = time.monotonic()
    ref = image_ref()
    if exists(ref):
        print(f"{ref} is current (delete it with: podman rmi {ref})")
        return 0
    # podman's and debootstrap's own output shows progress; a failure says what broke.
    try:
        build(ref)
    except (subprocess.CalledProcessError, PodmanFailed, EngineMissing) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"built {ref} ({size_mb(ref):.0f} MB) in {time.monotonic() - started:.0f} s")
    return 0


def _push(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError
    from publisher.stack import StackError

    try:
        pushed = push(args.stack, args.tag, args.region)
    except (PodmanFailed, StackError, ClientError, BotoCoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("pushed " + ", ".join(pushed))
    tag = pushed[-1].rsplit(":", 1)[1]
    print(f"deploy it: python -m publisher deploy --stack {args.stack} --image-tag {tag} --endpoint-name … "
          "--instance-type …")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
