"""Execution-level replenishment rules: how much a stock point orders, given its inventory position.

The inventory position is on hand + on order - backlog. Rules are pure (no SimPy); the warehouse decides
when to ask them: every ``review_period`` days (periodic review), or after every demand when the review
period is 0 (continuous review).

Rules that react to demand or read more than the position (``pass_through``, ``anchor_and_adjust``) are
bound to their stock point once the world is built (``Rule.bind``, called by the plan board). A
:class:`ScheduledRule` places orders given in advance by day (a workshop team's decisions) and lets
another rule decide on the other review days.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING

from simsop.scenario import (
    AnchorAndAdjust,
    BaseStock,
    ForecastBaseStock,
    MinMax,
    NoReplenishment,
    OneForOne,
    PassThrough,
    PolicySpec,
    ReorderPointQuantity,
)

if TYPE_CHECKING:
    from simsop.model.warehouse import WarehouseSite


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

    def bind(self, warehouse: WarehouseSite, item: int) -> None:
        """Attach the rule to its stock point (before the run); rules that need only the position ignore it."""


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


class PeriodDemandRule(Rule):
    """A periodic rule that reacts to the demand on its stock point since its last review.

    Demand is read off the inventory position, which falls by exactly the units ordered from the stock
    point (shipped or backordered, for customers or downstream warehouses) and does not move when goods
    are received: demand since the last review = the position right after the last order - the position
    now. Units customers cancel are not counted, and an order cut by the warehouse's capacity counts as
    placed in full.
    """

    __slots__ = ("_after", "_item", "_wh", "last_demand")

    def __init__(self, review_period: int, review_offset: int = 0) -> None:
        if review_period < 1:
            raise ValueError(f"{type(self).__name__} reviews periodically: review_period must be >= 1")
        super().__init__(review_period, review_offset)
        self._wh: WarehouseSite | None = None
        self._item = 0
        self._after: float | None = None
        self.last_demand = 0.0

    def bind(self, warehouse: WarehouseSite, item: int) -> None:
        self._wh = warehouse
        self._item = item
        self._after = warehouse.position(item)

    def observe(self, position: float) -> float:
        """Take in the demand since the last review (the position tells it); returns it."""
        if self._after is None:
            raise RuntimeError(f"{type(self).__name__} is not bound to a stock point (Rule.bind)")
        d = self._after - position
        self.last_demand = d if d > 0 else 0.0
        self.update(self.last_demand)
        return self.last_demand

    def update(self, demand: float) -> None:
        """Learn from one period's demand (e.g. smooth a forecast)."""

    def decide(self, position: float) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def placed(self, position: float, qty: float) -> None:
        """``qty`` was ordered at a review that saw ``position``."""
        self._after = position + qty

    def order_qty(self, position: float) -> float:
        self.observe(position)
        q = self.decide(position)
        q = q if q > 0 else 0.0
        self.placed(position, q)
        return q


class PassThroughRule(PeriodDemandRule):
    """Order what was ordered from the stock point since the last review."""

    __slots__ = ()

    def decide(self, position: float) -> float:
        return self.last_demand


class AnchorAndAdjustRule(PeriodDemandRule):
    """Sterman's anchoring and adjustment: expected demand plus fractions of the stock and supply-line gaps."""

    __slots__ = ("alpha_s", "alpha_sl", "desired_stock", "desired_supply_line", "expected", "theta")

    def __init__(self, theta: float, alpha_s: float, alpha_sl: float, desired_stock: float,
                 desired_supply_line: float, initial_expected: float | None = None, review_period: int = 1,
                 review_offset: int = 0) -> None:
        super().__init__(review_period, review_offset)
        self.theta = theta
        self.alpha_s = alpha_s
        self.alpha_sl = alpha_sl
        self.desired_stock = desired_stock
        self.desired_supply_line = desired_supply_line
        self.expected = initial_expected

    def update(self, demand: float) -> None:
        e = self.expected
        self.expected = demand if e is None else self.theta * demand + (1.0 - self.theta) * e

    def decide(self, position: float) -> float:
        wh, i = self._wh, self._item
        assert wh is not None and self.expected is not None  # observe() ran first
        stock = wh.on_hand[i] - wh.bo_ext[i] - wh.bo_int[i]
        supply_line = wh.on_order[i]
        return (self.expected + self.alpha_s * (self.desired_stock - stock)
                + self.alpha_sl * (self.desired_supply_line - supply_line))


class ForecastOrderUpTo(PeriodDemandRule):
    """Order up to a level that follows a demand forecast: ``cover`` x forecast + ``z`` x sd + ``safety_stock``.

    The forecast of one review period's demand is the moving average of the last ``window`` periods
    (``alpha`` None) or simple exponential smoothing with ``alpha``; ``sd`` is the standard deviation of the
    last ``window`` periods' demand. This is the order-up-to policy of Chen, Drezner, Ryan & Simchi-Levi
    (2000): with a moving average, i.i.d. demand and a fixed safety stock, orders vary
    ``1 + 2 cover / window + 2 cover**2 / window**2`` times as much as demand (the bullwhip effect).
    """

    __slots__ = ("_recent", "_started", "alpha", "cover", "forecast", "safety_stock", "window", "z")

    def __init__(self, cover: float, window: int, alpha: float | None = None, z: float = 0.0,
                 safety_stock: float = 0.0, initial_forecast: float | None = None, review_period: int = 1,
                 review_offset: int = 0) -> None:
        super().__init__(review_period, review_offset)
        self.cover = cover
        self.window = window
        self.alpha = alpha
        self.z = z
        self.safety_stock = safety_stock
        self.forecast = initial_forecast
        self._recent: deque[float] = deque(maxlen=window)
        self._started = False

    def bind(self, warehouse: WarehouseSite, item: int) -> None:
        super().bind(warehouse, item)
        if self.forecast is None:
            # Without a forecast to start from, the company knows its long-run mean demand per period.
            w = warehouse.world
            self.forecast = w.nominal_demand.get((warehouse.index, item), 0.0) * self.review_period
        self._recent.clear()
        self._recent.extend([self.forecast] * self.window)  # the moving average starts at the forecast
        self._started = False

    def observe(self, position: float) -> float:
        if not self._started:
            # The first review closes no full period (the run has just begun): nothing to learn from yet.
            self._started = True
            self.last_demand = 0.0
            return 0.0
        return super().observe(position)

    def update(self, demand: float) -> None:
        recent = self._recent
        recent.append(demand)
        if self.alpha is None:
            self.forecast = sum(recent) / len(recent)
        else:
            f = self.forecast
            self.forecast = demand if f is None else self.alpha * demand + (1.0 - self.alpha) * f

    def level(self) -> float:
        """The order-up-to level in force (after the latest demand was taken in)."""
        f = self.forecast or 0.0
        level = self.cover * f + self.safety_stock
        n = len(self._recent)
        if self.z and n > 1:
            mean = sum(self._recent) / n
            level += self.z * math.sqrt(sum((x - mean) ** 2 for x in self._recent) / (n - 1))
        return level

    def decide(self, position: float) -> float:
        return self.level() - position


class ScheduledRule(Rule):
    """Orders given in advance (day -> units, e.g. a workshop team's decisions) placed on their day; on the
    other review days of ``fallback`` (the bot), the fallback decides.

    A demand-reading fallback keeps observing on its review days even when the schedule orders, so that it
    knows the demand and the orders placed when it has to take over.
    """

    __slots__ = ("_day", "fallback", "orders")

    def __init__(self, orders: Mapping[int, float], fallback: Rule) -> None:
        periodic = fallback.review_period > 0
        super().__init__(fallback.review_period if periodic else 1, fallback.review_offset if periodic else 0)
        self.orders = {int(d): float(q) for d, q in orders.items()}
        self.fallback = fallback
        self._day = -1

    def due(self, day: int) -> bool:
        self._day = day  # order_qty follows at once, on the same day
        return day in self.orders or self.fallback.due(day)

    def bind(self, warehouse: WarehouseSite, item: int) -> None:
        self.fallback.bind(warehouse, item)

    def order_qty(self, position: float) -> float:
        day, fb = self._day, self.fallback
        q = self.orders.get(day)
        if q is None:
            return fb.order_qty(position) if fb.due(day) else 0.0
        if isinstance(fb, PeriodDemandRule) and fb.due(day):
            fb.observe(position)
            fb.placed(position, q)
        return q


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
    if isinstance(spec, PassThrough):
        return PassThroughRule(spec.review_period, spec.review_offset)
    if isinstance(spec, AnchorAndAdjust):
        return AnchorAndAdjustRule(spec.theta, spec.alpha_s, spec.alpha_sl, spec.desired_stock,
                                   spec.desired_supply_line, spec.initial_expected, spec.review_period,
                                   spec.review_offset)
    if isinstance(spec, ForecastBaseStock):
        return ForecastOrderUpTo(spec.cover, spec.window, spec.alpha, spec.z, spec.safety_stock,
                                 spec.initial_forecast, spec.review_period, spec.review_offset)
    raise TypeError(f"unknown policy spec {spec!r}")  # pragma: no cover - the schema admits no other
