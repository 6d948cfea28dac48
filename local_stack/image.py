"""Builds the MME container image with podman, where no image registry can be reached.

The base is a plain Debian bookworm made by debootstrap and imported as BASE_IMAGE (made
once, reused while it exists); the image is container/Dockerfile built on it and tagged
with a hash of everything the build reads, so an image that matches the checkout is
reused and any change to container/ builds a new one. `make image` and the container
tests both come here. Standard library only: it runs before (and without) the venv.

Podman runs with runc (crun refuses cgroup v1 hosts) and explicit ulimits (podman's
defaults exceed the hard limits of ordinary shells and CI runners).

    python3 -m local_stack.image build    # base if missing, then the image if missing
    python3 -m local_stack.image ref      # the tag the current checkout builds
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONTEXT = REPO / "container"
NAME = "localhost/mme-registry-mxnet"
BASE_IMAGE = "localhost/mme-registry-base:bookworm"
PODMAN = ["podman", "--runtime", "runc"]
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
# Where the host's HTTPS goes through an intercepting proxy, pip in the build needs its CA.
HOST_CA_BUNDLE = Path(os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt")
LOCK = Path(tempfile.gettempdir()) / "mme-registry-image.lock"


class EngineMissing(RuntimeError):
    """No usable podman + runc here; the message says what is missing and how to get it."""


class PodmanFailed(RuntimeError):
    """A podman command failed; the message carries its stderr."""


def podman(*args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([*PODMAN, *args], text=True, capture_output=capture)
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
    return podman("image", "exists", ref, check=False).returncode == 0


def build_base(mirror: str | None = None) -> None:
    """debootstrap a minimal bookworm and import it as BASE_IMAGE (root only: debootstrap chroots)."""
    if shutil.which("debootstrap") is None:
        raise EngineMissing("debootstrap not found: apt-get install -y debootstrap")
    mirror = mirror or os.environ.get("MME_DEBIAN_MIRROR") or "http://deb.debian.org/debian"
    with tempfile.TemporaryDirectory(prefix="mme-base-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        print(f"==> debootstrap bookworm (minbase) from {mirror}", flush=True)
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), mirror], check=True)
        for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        print(f"==> importing it as {BASE_IMAGE}", flush=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        subprocess.run([*PODMAN, "import", "--change", "CMD=/bin/bash", "-", BASE_IMAGE], stdin=tar.stdout, check=True)
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


def _build_image(ref: str) -> str:
    command = ["build", "--network", "host", *ULIMITS, "--build-arg", f"BASE_IMAGE={BASE_IMAGE}"]
    if HOST_CA_BUNDLE.is_file():
        command += ["--secret", f"id=pip_ca,src={HOST_CA_BUNDLE}"]
    print(f"==> building {ref} from {CONTEXT}", flush=True)
    podman(*command, "--tag", ref, "--tag", f"{NAME}:latest", str(CONTEXT), capture=False)
    return ref


def size_mb(ref: str) -> float:
    return int(podman("image", "inspect", "--format", "{{.Size}}", ref).stdout.strip()) / 1e6


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m local_stack.image", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["build", "ref"])
    args = parser.parse_args(argv)
    if args.command == "ref":
        print(image_ref())
        return 0
    problem = engine_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
