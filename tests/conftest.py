"""Fixtures every layer shares: fake credentials so nothing can reach a real AWS account."""
import os

import pytest

for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def sample_tarball():
    """Builds (once, cached on disk) a real exported MXNet model and returns its tarball path."""
    from local_stack.demo.sample_models import cached_tarball

    return cached_tarball


@pytest.fixture(scope="session")
def console_site(tmp_path_factory):
    """One seeded console stack per test worker, for every console test (they share the xdist group
    'console'); defined here, not imported into each module, so the session holds exactly one."""
    from console_stack import seeded_console_stack

    with seeded_console_stack(tmp_path_factory.mktemp("console")) as stack:
        yield stack
