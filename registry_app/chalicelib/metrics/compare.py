"""How close two models' answers to the same request are: the rules a live mirror and a shadow comparison share.

Every function takes two decoded JSON outputs (json.loads of the response bodies) and understands these shapes:
  {"predictions": X} or {"outputs": X}   MMS's JSON answer and TF Serving's row and columnar answers: X is compared
  [p0, p1, ...]                          one vector of scores: its top-1 is the index of the largest (first on ties)
  [[p0, p1, ...], ...]                   one vector per instance (any depth): a top-1 per innermost vector
  ["cat", "dog", ...]                    ranked labels, best first (MMS's image answer): its top-1 is the first
  [{"label": ..., ...}, ...]             ranked labels with probabilities (verbose image answer): same, by label
  [{"out_a": V, "out_b": W}, ...]        one dict of named outputs per instance (TF Serving, several outputs):
                                         each named output is compared as above; a lone number or label there
                                         (a class id) is its own top-1
Anything else (a bare number, a string, mixed lists) raises NotComparable; a caller then compares bytes.
"""
from __future__ import annotations

from numbers import Real
from typing import Any

WRAPPERS = ("predictions", "outputs")


class NotComparable(ValueError):
    """The outputs are not of a shape these rules understand, or the two shapes differ."""


def top1_agreement(a: Any, b: Any) -> bool:
    """True when every instance's best class is the same in both answers."""
    return top1(a) == top1(b)


def topk_overlap(a: Any, b: Any, k: int) -> float:
    """The share (0..1) of each instance's k best classes the two answers have in common, averaged over instances."""
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    left, right = topk(a, k), topk(b, k)
    if len(left) != len(right):
        raise NotComparable(f"one answer has {len(left)} instances, the other {len(right)}")
    if not left:
        return 1.0
    return sum(len(set(x) & set(y)) / max(len(x), len(y), 1) for x, y in zip(left, right)) / len(left)


def max_abs_diff(a: Any, b: Any) -> float:
    """The largest absolute difference between the two answers' numbers, which must have the same shape."""
    left, right = _flat_numbers(_unwrap(a)), _flat_numbers(_unwrap(b))
    if len(left) != len(right):
        raise NotComparable(f"the answers hold {len(left)} and {len(right)} numbers")
    return max((abs(x - y) for x, y in zip(left, right)), default=0.0)


def top1(output: Any) -> tuple:
    """Each instance's best class (an index or a label), in instance order."""
    return tuple(ranked[0] if ranked else None for ranked in _rankings(_unwrap(output), 1))


def topk(output: Any, k: int) -> list[tuple]:
    """Each instance's k best classes, best first."""
    return [tuple(ranked) for ranked in _rankings(_unwrap(output), k)]


def _unwrap(output: Any) -> Any:
    if isinstance(output, dict):
        found = [key for key in WRAPPERS if key in output]
        if len(found) != 1:
            raise NotComparable(f"a JSON object answer must hold one of {WRAPPERS}, not {sorted(output)[:5]}")
        return output[found[0]]
    return output


def _rankings(value: Any, k: int) -> list[list]:
    """One ranking per instance (innermost score vector, ranked label list, or named output)."""
    if not isinstance(value, list):
        raise NotComparable(f"a {type(value).__name__} is not a list of scores or labels")
    if not value:
        return []
    if all(_is_number(x) for x in value):
        order = sorted(range(len(value)), key=lambda i: (-value[i], i))
        return [order[:k]]
    if all(isinstance(x, str) for x in value):
        return [value[:k]]
    if all(isinstance(x, dict) and "label" in x for x in value):
        return [[x["label"] for x in value[:k]]]
    if all(isinstance(x, dict) for x in value):  # named outputs per instance: each is ranked on its own
        return [ranked for row in value for name in sorted(row) for ranked in _named_rankings(row[name], k)]
    if all(isinstance(x, list) for x in value):
        return [ranked for row in value for ranked in _rankings(row, k)]
    raise NotComparable("a list mixing numbers, labels and lists")


def _named_rankings(value: Any, k: int) -> list[list]:
    """A named output's rankings; a lone number or label (a class id, say) is its own top-1."""
    if _is_number(value) or isinstance(value, str):
        return [[value]]
    return _rankings(value, k)


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _flat_numbers(value: Any) -> list[float]:
    if _is_number(value):
        return [float(value)]
    if isinstance(value, list):
        return [number for item in value for number in _flat_numbers(item)]
    if isinstance(value, dict):
        return [number for key in sorted(value) for number in _flat_numbers(value[key])]
    raise NotComparable(f"a {type(value).__name__} is not a number")
