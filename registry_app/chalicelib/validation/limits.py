"""The caps a hostile archive runs into, in one frozen object built from the settings.

Why apart from the report: the layout rules read a cap too (the element count of a
model input), and they sit below the module that runs the pass.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

GIB = 1 << 30
# 2**20 elements per input: the warm-up's zero sample of that size is a 4 MiB JSON body
# (InvokeEndpoint takes at most 6 MB), built in the Lambda in under a second and about
# 40 MiB; 2**24 measured 64 MiB of body, 11 s and 790 MiB. [1, 3, 512, 512] still fits.
DEFAULT_MAX_INPUT_ELEMENTS = 1 << 20


class Limits(BaseModel):
    """Caps that keep a hostile archive from costing more than a normal one."""

    model_config = ConfigDict(frozen=True)

    max_members: int = Field(10_000, ge=1)
    max_uncompressed_bytes: int = Field(20 * GIB, ge=0)
    max_compression_ratio: float = Field(200.0, gt=0)
    max_input_elements: int = Field(DEFAULT_MAX_INPUT_ELEMENTS, ge=1)

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        return cls(
            max_members=settings.max_members,
            max_uncompressed_bytes=settings.max_uncompressed_bytes,
            max_compression_ratio=settings.max_compression_ratio,
            max_input_elements=settings.max_input_elements,
        )
