"""The caps a hostile archive runs into, in one frozen object built from the settings.

Why apart from the report: the layout rules read a cap too (the element count of a
model input), and they sit below the module that runs the pass. A frozen dataclass that
checks its own bounds rather than a pydantic model: `validate` then starts without
importing pydantic (0.09 s of CPU, see report.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GIB = 1 << 30
# 2**20 elements per input: the warm-up's zero sample of that size is a 4 MiB JSON body
# (InvokeEndpoint takes at most 6 MB), built in the Lambda in under a second and about
# 40 MiB; 2**24 measured 64 MiB of body, 11 s and 790 MiB. [1, 3, 512, 512] still fits.
DEFAULT_MAX_INPUT_ELEMENTS = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Caps that keep a hostile archive from costing more than a normal one."""

    max_members: int = 10_000
    max_uncompressed_bytes: int = 20 * GIB
    max_compression_ratio: float = 200.0
    max_input_elements: int = DEFAULT_MAX_INPUT_ELEMENTS

    def __post_init__(self) -> None:
        bounds = {"max_members": 1, "max_uncompressed_bytes": 0, "max_input_elements": 1}
        for name, least in bounds.items():
            value = getattr(self, name)
            if type(value) is not int or value < least:
                raise ValueError(f"{name} must be an integer of at least {least}, not {value!r}")
        ratio = self.max_compression_ratio
        if type(ratio) not in (int, float) or not ratio > 0:
            raise ValueError(f"max_compression_ratio must be a number above 0, not {ratio!r}")

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        return cls(
            max_members=settings.max_members,
            max_uncompressed_bytes=settings.max_uncompressed_bytes,
            max_compression_ratio=settings.max_compression_ratio,
            max_input_elements=settings.max_input_elements,
        )
