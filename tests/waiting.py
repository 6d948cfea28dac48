"""Waiting in end-to-end tests for something another process does, with a deadline that names what did not happen."""
from __future__ import annotations

import time


def wait_until(condition, timeout: float = 30, what: str = "the condition", every: float = 0.05):
    """`condition()`'s first truthy value, polled every `every` seconds; an AssertionError naming `what` at the
    deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what} within {timeout} s")
