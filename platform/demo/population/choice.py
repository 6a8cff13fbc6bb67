"""A weighted choice from one uniform draw, for the generators."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable


class Choice:
    """Weighted choice by bisection over the cumulative weights (``random.choices``
    without its overhead; the generators' hot loops read the attributes directly)."""

    __slots__ = ("cumulative", "last", "values")

    def __init__(self, weights: dict | Iterable[tuple[object, float]]) -> None:
        pairs = list(weights.items() if isinstance(weights, dict) else weights)
        total = sum(weight for _, weight in pairs)
        self.values = [value for value, _ in pairs]
        self.cumulative, running = [], 0.0
        for _, weight in pairs:
            running += weight
            self.cumulative.append(running / total)
        self.last = len(pairs) - 1

    def pick(self, u: float):
        return self.values[bisect_right(self.cumulative, u, 0, self.last)]
