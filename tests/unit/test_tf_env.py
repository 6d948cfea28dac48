"""The TF venv is reused while requirements-tf.txt is unchanged and rebuilt when it changes."""
from __future__ import annotations

import pytest

from local_stack.environments import tf_env


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MME_REGISTRY_CACHE", str(tmp_path))
    (tmp_path / "tf" / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "tf" / "venv" / "bin" / "python").write_text("")
    return tmp_path / "tf" / "venv"


def test_a_venv_built_from_todays_requirements_is_reused(cache):
    (cache / ".requirements-sha256").write_text(tf_env.requirements_hash() + "\n")

    assert tf_env.is_current() and tf_env.interpreter() == cache / "bin" / "python"


def test_a_venv_built_from_other_pins_is_stale_and_the_error_says_how_to_build(cache):
    (cache / ".requirements-sha256").write_text("0" * 16 + "\n")

    assert not tf_env.is_current()
    with pytest.raises(FileNotFoundError, match="make tf-env"):
        tf_env.interpreter()


def test_a_venv_whose_build_never_finished_is_stale(cache):
    assert not tf_env.is_current()  # no stamp: pip did not get to the end
