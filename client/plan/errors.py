"""The planner's one error: an input (trace, catalog, traffic, option) it cannot use, naming its rule."""
from __future__ import annotations


class PlanInputError(ValueError):
    def __init__(self, rule: str, message: str):
        super().__init__(f"{rule}: {message}")
        self.rule, self.message = rule, message
