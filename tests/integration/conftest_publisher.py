"""The emulator's SageMaker gaps (see local_stack/emulator.py), applied to moto in this process.

They patch moto's classes, so they reach `mock_aws` and an in-process emulator server alike.
"""
from __future__ import annotations

import pytest

from local_stack.emulator import sagemaker_gaps


def patch_moto_sagemaker(monkeypatch: pytest.MonkeyPatch) -> None:
    for owner, name, replacement in sagemaker_gaps():
        monkeypatch.setattr(owner, name, replacement, raising=False)
