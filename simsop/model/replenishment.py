"""Execution-level replenishment rules: how much a stock point orders, given its inventory position.

The inventory position is on hand + on order - backlog. Rules are pure (no SimPy); the warehouse decides
when to ask them: every ``review_period`` days (periodic review), or after every demand when the review
period is 0 (continuous review).
"""

from __future__ import annotations

import math

from simsop.scenario import BaseStock, MinMax, NoReplenishment, OneForOne, PolicySpec, ReorderPointQuantity


class Rule:
    """A replenishment rule. ``review_period`` 0 means continuous review."""

    __slots__ = ("review_offset", "review_period")

    def __init__(self, review_period: int = 1, review_offset: int = 0) -> None:
        self.review_period = review_period
        self.review_offset = review_offset

    @property
    def continuous(self) -> bool:
        return self.review_period == 0

    def order_qty(self, position: float) -> float:
        return 0.0

    def due(self, day: int) -> bool:
        """Whether a periodic review happens at the start of ``day``."""
        r = self.review_period
        return r > 0 and day >= self.review_offset and (day - self.review_offset) % r == 0


class NoRule(Rule):
    """Never orders (stock arrives only from planned production or not at all)."""

    def __init__(self) -> None:
        super().__init__(review_period=-1)

    @property
    def continuous(self) -> bool:
        return False

    def due(self, day: int) -> bool:
        return False


class OrderUpTo(Rule):
    """Base-stock: order up to ``level``."""

    __slots__ = ("level",)

    def __init__(self, level: float, review_period: int = 1, review_offset: int = 0) -> None:
        super().__init__(review_period, review_offset)
        self.level = level

    def order_qty(self, position: float) -> float:
        return self.level - position if position < self.level else 0.0


class MinMaxRule(Rule):
    """(s, S): at or below ``s``, order up to ``S``."""

    __slots__ = ("S", "s")

    def __init__(self, s: float, S: float, review_period: int = 1, review_offset: int = 0) -> None:
        super().__init__(review_period, review_offset)
        self.s = s
        self.S = S

    def order_qty(self, position: float) -> float:
        return self.S - position if position <= self.s else 0.0


class ReorderPointRule(Rule):
    """(r, Q): at or below ``r``, order the smallest multiple of ``Q`` that lifts the position above r."""

    __slots__ = ("Q", "r")

    def __init__(self, r: float, Q: float, review_period: int = 0, review_offset: int = 0) -> None:
        super().__init__(review_period, review_offset)
        self.r = r
        self.Q = Q

    def order_qty(self, position: float) -> float:
        if position > self.r:
            return 0.0
        return (math.floor((self.r - position) / self.Q) + 1) * self.Q


def make_rule(spec: PolicySpec) -> Rule:
    """The runtime rule of a policy spec from a scenario file (or from a plan)."""
    if isinstance(spec, NoReplenishment):
        return NoRule()
    if isinstance(spec, BaseStock):
        return OrderUpTo(spec.level, spec.review_period, spec.review_offset)
    if isinstance(spec, MinMax):
        return MinMaxRule(spec.s, spec.S, spec.review_period, spec.review_offset)
    if isinstance(spec, ReorderPointQuantity):
        return ReorderPointRule(spec.r, spec.Q, spec.review_period, spec.review_offset)
    if isinstance(spec, OneForOne):
        return OrderUpTo(spec.level, 0, 0)
    raise TypeError(f"unknown policy spec {spec!r}")  # pragma: no cover - the schema admits no other
