"""mme-registry-client as an application gets it: the wheel, in a fresh venv with nothing else.

From that venv only (no repository on the path): `mme-registry validate` on a real model
and on a hostile tarball, `mme-registry upload` and `AliasClient` invoking by alias
against the local stack; and what the install holds: the declared light dependencies,
no generic top-level package, a small wheel.
"""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from e2e.stack_fixtures import local_stack  # noqa: F401
from hostile_tarballs import HOSTILE_CASES
from local_stack.demo.sample_models import digits_split
from wheel_venv import REPO, application_env, installed_names, wheel_venv

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("stack")]

# 128 KiB: 120 KiB with the TF signature reader and the version metadata rules, 8 KiB of commands that describe,
# tag, approve, search and protect versions; 8 KiB of per-model metrics, live mirroring and the answers'
# comparison; 4 KiB of rollout and shadow commands; 20 KiB of mme-registry plan (the simulator, its units and plot,
# and its 3 KB instance table); 12 KiB of mme-registry import; code only, no data, no vendored libraries
MAX_WHEEL_BYTES = 192 * 1024
REQUIRES = {"boto3", "requests", "pydantic", "pydantic-settings", "rich", "isal"}
INSTALLED = REQUIRES | {
    "mme-registry-client",
    "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3",  # boto3
    "charset-normalizer", "idna", "certifi",  # requests
    "pydantic-core", "annotated-types", "typing-extensions", "typing-inspection",  # pydantic
    "python-dotenv",  # pydantic-settings
    "markdown-it-py", "mdurl", "pygments",  # rich
}
GENERIC_NAMES = ("client", "publisher", "local_stack", "chalicelib")


@pytest.fixture(scope="session")
def client_wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, str(REPO / "distributions" / "build.py"), "client", "--out", str(out)], check=True)
    (wheel,) = out.glob("mme_registry_client-*.whl")
    return wheel


@pytest.fixture(scope="session")
def app_venv(client_wheel) -> Path:
    return wheel_venv(client_wheel)


def run_in(venv: Path, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Runs a command of the venv from an empty folder, so the repository is not on sys.path."""
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=application_env(venv, cwd, env))


def test_the_wheel_is_small_and_holds_only_the_mme_registry_namespace(client_wheel):
    names = zipfile.ZipFile(client_wheel).namelist()
    assert client_wheel.stat().st_size < MAX_WHEEL_BYTES
    assert all(name.startswith(("mme_registry/", "mme_registry_client-0.1.0.dist-info/")) for name in names)
    assert "mme_registry/__init__.py" not in names  # a namespace the publisher's distribution shares
    assert {"mme_registry/client/py.typed", "mme_registry/registry/validation/py.typed"} <= set(names)


def test_a_fresh_venv_holds_the_declared_light_dependencies_and_no_generic_package(app_venv, tmp_path):
    assert installed_names(app_venv) == INSTALLED
    for name in GENERIC_NAMES:
        found = run_in(app_venv, ["python", "-c", f"import {name}"], tmp_path)
        assert "ModuleNotFoundError" in found.stderr, f"{name} is importable from the client's venv"
    version = run_in(app_venv, ["mme-registry", "--version"], tmp_path)
    assert version.stdout.strip() == "mme-registry-client 0.1.0"
    # the validator inflates with ISA-L as installed, not only with an extra (zlib takes half again as long)
    backend = run_in(app_venv, ["python", "-c", "from mme_registry.registry.validation import gzip_stream as g; "
                                "print(g.BACKEND)"], tmp_path)
    assert backend.stdout.strip() == "isal", backend.stderr


def test_mme_registry_validate_passes_a_real_model_and_names_the_rule_a_hostile_one_breaks(
        app_venv, sample_tarball, tmp_path):
    # GIVEN a real exported MXNet model and a tarball hiding a symlink
    case = next(case for case in HOSTILE_CASES if case.name == "symlink")
    hostile = tmp_path / "hostile.tar.gz"
    hostile.write_bytes(case.build())
    # WHEN the installed command checks each
    valid = run_in(app_venv, ["mme-registry", "validate", str(sample_tarball("digits"))], tmp_path)
    rejected = run_in(app_venv, ["mme-registry", "validate", "--json", str(hostile)], tmp_path)
    # THEN the model passes and the hostile tarball fails on the registry's own rule
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert ": OK" in valid.stdout and "mxnet (prefix digits" in valid.stdout
    assert rejected.returncode == 1, rejected.stderr
    (report,) = json.loads(rejected.stdout)
    assert report["valid"] is False and case.rule_id in {failure["rule"] for failure in report["failures"]}


PREDICT = """
import json, sys
from mme_registry.client import AliasClient
rows = json.load(sys.stdin)
print(json.dumps(AliasClient().predict("pkg-digits", rows)))
"""


def test_an_application_venv_uploads_and_invokes_a_model_by_alias_on_the_local_stack(
        app_venv, local_stack, sample_tarball, tmp_path):  # noqa: F811
    # GIVEN the local stack, and only the settings `make up` gives a user's shell
    env = dict(local_stack.env)
    split = digits_split()
    # WHEN the application uploads the digits model with an alias, then invokes that alias
    upload = run_in(app_venv, ["mme-registry", "upload", str(sample_tarball("digits")), "--name", "pkg_digits",
                               "--alias", "pkg-digits"], tmp_path, env)
    assert upload.returncode == 0, upload.stdout + upload.stderr
    assert "accepted: pkg_digits v1" in upload.stdout
    predicted = subprocess.run(["python", "-c", PREDICT], input=json.dumps(split.test_x.tolist()), cwd=tmp_path,
                               capture_output=True, text=True, timeout=120, env=application_env(app_venv, tmp_path, env))
    # THEN the model answers ten probabilities a digit, and classifies the held-out digits
    assert predicted.returncode == 0, predicted.stderr
    probabilities = np.asarray(json.loads(predicted.stdout))
    assert probabilities.shape == (len(split.test_y), 10)
    assert (probabilities.argmax(axis=1) == split.test_y).mean() > 0.9
