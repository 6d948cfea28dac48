"""What the README says to run against `make up` runs as written: its boto3 lines, then its alias commands,
against the session's local stack, in a shell that has only what `.local/env` gives."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.stack_fixtures import local_stack  # noqa: F401
from local_stack.demo.sample_models import cached_tarball

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("stack")]

REPO = Path(__file__).resolve().parents[2]
README_TARBALL = ".cache/models/digits.tar.gz"
NAME = "readme_digits"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (REPO / "README.md").read_text(), re.S)


def test_the_readmes_boto3_lines_and_alias_commands_answer_against_the_local_stack(local_stack):  # noqa: F811
    # GIVEN the demo's digits classifier (the README names its default place in the cache) and the stack's shell
    # The stack is the session's: its model `digits` belongs to test_local_stack, so the README's lines run
    # under a name of their own; and MME_REGISTRY_CACHE may move the cache.
    own = lambda text: text.replace("digits", NAME).replace(README_TARBALL.replace("digits", NAME),  # noqa: E731
                                                             str(cached_tarball("digits")))
    (python,) = map(own, blocks("python"))
    env = {**os.environ, **local_stack.env}
    env.pop("AWS_SESSION_TOKEN", None)

    # WHEN the boto3 lines run
    boto = subprocess.run([sys.executable, "-c", python], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)

    # THEN they print the served model's ten class probabilities
    assert boto.returncode == 0, boto.stderr[-3000:]
    (row,) = ast.literal_eval(boto.stdout.strip())["predictions"]
    assert len(row) == 10 and abs(sum(row) - 1) < 1e-3

    # WHEN the commands that point an alias and invoke by it run, line by line, as a shell would
    (commands,) = [own(block) for block in blocks("bash") if "alias set" in block]
    for line in commands.strip().splitlines():
        ran = subprocess.run(["bash", "-c", line], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, f"{line}\n{ran.stdout}\n{ran.stderr[-3000:]}"

    # THEN the last one printed the same probabilities, reached through the alias
    assert ast.literal_eval(ran.stdout.strip()) == [row]
