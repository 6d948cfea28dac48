"""The plan command's quantities as people type them: 300ms, 10m, 50MB, 1.5GiB, 100MB/s, 1-8."""
from __future__ import annotations

import re

from .errors import PlanInputError

SECONDS = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
BYTES = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
QUANTITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_seconds(text: str, rule: str = "plan.duration") -> float:
    """'300ms', '2s', '10m', '1h' (a bare number is seconds)."""
    number, unit = _quantity(text, rule, "a duration such as 300ms, 2s, 10m or 1h")
    if unit not in SECONDS and unit != "":
        raise PlanInputError(rule, f"{text!r}: unknown unit {unit!r}; use ms, s, m or h")
    return number * SECONDS.get(unit, 1)


def parse_bytes(text: str, rule: str = "plan.size") -> int:
    """'50MB', '1.5GiB', '200000' (bytes)."""
    number, unit = _quantity(text.removesuffix("/s"), rule, "a size such as 50MB or 1.5GiB")
    if unit.lower() not in BYTES:
        raise PlanInputError(rule, f"{text!r}: unknown unit {unit!r}; use B, KB, MB, GB, KiB, MiB or GiB")
    return int(number * BYTES[unit.lower()])


def parse_counts(text: str) -> list[int]:
    """'1-8' or '1,2,4,8': instance counts, each at least 1."""
    counts: set[int] = set()
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise PlanInputError("plan.counts", f"{text!r} is not a list of counts such as 1-8 or 1,2,4")
        first, last = int(low), int(high or low)
        if first < 1 or last < first or last > 1000:
            raise PlanInputError("plan.counts", f"{part.strip()!r}: counts run from 1 up to 1000, low to high")
        counts.update(range(first, last + 1))
    return sorted(counts)


def _quantity(text: str, rule: str, what: str) -> tuple[float, str]:
    match = QUANTITY.match(text)
    if not match:
        raise PlanInputError(rule, f"{text!r} is not {what}")
    return float(match.group(1)), match.group(2)
