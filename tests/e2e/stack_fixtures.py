"""Fixtures for tests against the whole local stack, run as its own process (local_stack/background.py)."""
from __future__ import annotations

import contextlib
import json

import pytest

from client.plan.memory import MIB, budget_for
from local_stack.background import BackgroundStack

MODEL_BUDGET = 2  # small on purpose: the eviction test cycles through more models than this
# The stack's budget is memory: what two models of up to 50 MB take, which never holds three of any size
MEMORY_BUDGET_MIB = budget_for(MODEL_BUDGET, 50 * 10**6) // MIB


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory):
    """One stack per session on free ports (beside any `make up`), stopped at the end."""
    with BackgroundStack(tmp_path_factory.mktemp("local-stack"), memory_budget_mib=MEMORY_BUDGET_MIB) as stack:
        yield stack


@contextlib.contextmanager
def stack_environment(stack: BackgroundStack):
    """Only what a user's shell gets from `make up`: AWS_ENDPOINT_URL*, fake credentials, MME_REGISTRY_URL.

    Set per test, never for the whole session: tests sharing this process must not reach the stack.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name, value in stack.env.items():
            patch.setenv(name, value)
        patch.delenv("AWS_SESSION_TOKEN", raising=False)
        yield stack.env


@pytest.fixture
def stack_env(local_stack):
    with stack_environment(local_stack) as env:
        yield env


def current_pids(stack) -> dict[str, int]:
    """The stack rewrites its description after every restart: these are the live processes."""
    return json.loads(stack.env_file.with_name(stack.env_file.name + ".json").read_text())["pids"]
