"""Shocks: scheduled or random events overlaid on a scenario, and stress-test files that apply them.

A shock says what it hits (customers x products, a factory, a lane, a supplier), when (a fixed ``start``
day or a random day in a ``window``), for how long (``duration``: days, a number or a distribution), how
hard, with which ``probability``, and how it ends (``recovery: instant``, or ``ramp`` back to normal over
``recovery_days``). Days are whole days: a shock realised on day s with duration D is on during days
s .. s+D-1.

The pieces, each usable on its own:

* the schema (:data:`Shock`, discriminated by ``type``), used by ``Scenario.shocks`` and by stress files;
* :func:`realise`: whether each shock happens, its start and its duration in one replication, drawn from
  the stream ``shock:<name>`` only, so every policy sees the same shocks in replication i (common random
  numbers) and adding a shock never shifts another source's draws; :func:`windows`: the shocks a
  replication records, without running it (to judge the same window in a run without the shocks);
* :func:`demand_multiplier` / :func:`stream_multipliers`: demand shocks as a daily multiplier of a
  (customer, product) stream's mean, applied when demand is drawn up front;
* :func:`install`: SimPy processes that set ``capacity_factor`` of rate factories and the lead-time
  factors and extra days of lanes and suppliers while a shock is on, stop and restart suppliers for an outage,
  and the ``shocks`` record table;
* :func:`load_stress` / :func:`apply_shocks`: stress-test files (a base scenario plus shock cases).

This module imports nothing from :mod:`simsop.scenario` or the model at import time, because
``simsop.scenario`` imports the schema from here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import (
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from simsop.dists import Deterministic, Dist, StrictModel

if TYPE_CHECKING:
    from simsop.model.records import ShockApplied
    from simsop.model.world import World
    from simsop.scenario import Problem, Scenario
    from simsop.streams import Streams


# Same-instant priority of the processes that switch a shock's effects: before the snapshot (1), the
# receipts (2) and the daily work (3) of the world, so a factory works day d at day d's capacity.
SHOCK_PRIORITY = 0

DAYS_PER_YEAR = 365.0


class _Model(StrictModel):
    model_config = ConfigDict(populate_by_name=True)


# ---------------------------------------------------------------------------------------------- schema


class _ShockBase(_Model):
    """What every shock has: a name, when, how long, how likely, and how it recovers."""

    # Whether 'recovery: ramp' means something for this type (a permanent change has nothing to return to),
    # and why not when it does not.
    recovers: ClassVar[bool] = True
    no_recovery: ClassVar[str] = "its change lasts"
    # Whether a fixed duration of 0 days is the type's neutral strength (accepted, and noted as changing
    # nothing), so a grid over durations can start from its reference.
    zero_days: ClassVar[bool] = False

    type: str
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$",
                      description="unique; also names the random stream 'shock:<name>'")
    description: str = ""
    start: NonNegativeInt | None = Field(default=None, description="the day it starts")
    window: tuple[NonNegativeInt, NonNegativeInt] | None = Field(
        default=None, description="[first, last]: it starts on a random day in it (uniform)")
    duration: Dist | None = Field(default=None, description="days (a number or a distribution), rounded to "
                                  "whole days: a fixed duration is at least 1; a random draw below 1 day lasts 1 "
                                  "day (a shock that happens lasts at least a day); none: to the end of the "
                                  "horizon")
    probability: float = Field(default=1.0, ge=0, le=1, description="probability it happens at all")
    recovery: Literal["instant", "ramp"] = "instant"
    recovery_days: NonNegativeInt = Field(default=0, description="days of a linear ramp back to normal")

    @field_validator("duration")
    @classmethod
    def _some_days(cls, v: Any) -> Any:
        days = _fixed(v)
        if days == 0 and cls.zero_days:
            return v
        if days is not None and round(days) < 1:
            got = "got 0" if days == 0 else f"{days:g} rounds to 0 (durations are whole days)"
            raise ValueError(f"a shock lasts at least 1 day; {got}. To keep a shock in the file without "
                             "effect, set probability: 0")
        return v

    @model_validator(mode="after")
    def _when(self) -> _ShockBase:
        if (self.start is None) == (self.window is None):
            raise ValueError("give either 'start' (a day) or 'window: [first, last]' (a random day in it)")
        if self.window is not None and self.window[0] > self.window[1]:
            raise ValueError(f"window [{self.window[0]}, {self.window[1]}]: the first day must not be after "
                             "the last")
        if self.recovery == "ramp":
            if not self.recovers:
                raise ValueError(f"a {self.type} has no recovery ({self.no_recovery}); remove 'recovery'")
            if self.recovery_days < 1:
                raise ValueError("recovery: ramp needs recovery_days >= 1")
        elif self.recovery_days:
            raise ValueError("'recovery_days' goes with 'recovery: ramp'")
        return self

    @property
    def last_start(self) -> int:
        """The latest day the shock can start."""
        return self.window[1] if self.window is not None else int(self.start or 0)


class _DemandShock(_ShockBase):
    """A shock on customer demand. Without ``customers``/``products`` it hits every demand stream."""

    customers: tuple[str, ...] | None = Field(default=None, min_length=1, description="default: all")
    products: tuple[str, ...] | None = Field(default=None, min_length=1, description="default: all")

    def hits(self, customer: str, product: str) -> bool:
        return ((self.customers is None or customer in self.customers)
                and (self.products is None or product in self.products))


class DemandStep(_DemandShock):
    """Demand changes by ``magnitude`` (relative: -0.3 is 30% less) for ``duration`` days (default: for good)."""

    type: Literal["demand_step"]
    magnitude: float = Field(ge=-1, description="relative change: -0.4 = 40% drop, 0.2 = 20% rise")


class DemandSpike(_DemandShock):
    """A short burst of demand: ``magnitude`` more (1.0 = double) for ``duration`` days (default 1)."""

    type: Literal["demand_spike"]
    magnitude: NonNegativeFloat = Field(description="relative rise: 1.0 = double demand")
    duration: Dist | None = Field(default_factory=lambda: Deterministic(value=1.0), description="days (default 1)")


class DemandRamp(_DemandShock):
    """Demand moves linearly by ``magnitude`` over ``duration`` days, then stays at the new level."""

    recovers: ClassVar[bool] = False
    type: Literal["demand_ramp"]
    magnitude: float = Field(ge=-1, description="relative change reached at the end of the ramp")


class CollapseRebound(_DemandShock):
    """A COVID-like collapse: demand falls by ``magnitude`` (over ``collapse_days``), stays down for the
    ``duration`` (which includes the fall), comes back (``recovery``), then overshoots by ``rebound`` (pent-up
    demand) fading linearly over ``rebound_days``.
    """

    type: Literal["collapse_rebound"]
    duration: Dist = Field(description="days from the start of the fall to the start of the recovery")
    magnitude: float = Field(ge=-1, le=0, description="the drop: -0.4 = demand falls 40%")
    collapse_days: NonNegativeInt = Field(default=0, description="days to fall to the bottom (0: at once)")
    rebound: NonNegativeFloat = Field(default=0.0, description="relative overshoot after the recovery")
    rebound_days: NonNegativeInt = Field(default=0, description="days the overshoot takes to fade")

    @model_validator(mode="after")
    def _phases(self) -> CollapseRebound:
        if self.rebound > 0 and self.rebound_days < 1:
            raise ValueError("a rebound needs rebound_days >= 1")
        days = _fixed(self.duration)
        if days is not None and self.collapse_days > days:
            raise ValueError(f"collapse_days ({self.collapse_days}) is longer than the duration ({days:g}), "
                             "which includes the fall")
        return self


class Promotion(_DemandShock):
    """Demand rises by ``lift`` for ``duration`` days; a ``pull_forward`` share of those extra units is
    demand borrowed from the ``dip_days`` after (customers stock up), which then dips by as many units.

    Over the promotion and its dip, units = baseline + (1 - pull_forward) x extra units (at a flat baseline;
    trend and seasonality multiply on top): with pull_forward 1 a promotion only moves demand forward.
    """

    recovers: ClassVar[bool] = False
    type: Literal["promotion"]
    duration: Dist = Field(description="days of the promotion")
    lift: NonNegativeFloat = Field(description="relative rise during the promotion: 0.5 = +50%")
    pull_forward: float = Field(ge=0, le=1, description="share of the extra units borrowed from after it")
    dip_days: PositiveInt | None = Field(default=None, description="days of the dip after (default: duration)")

    @model_validator(mode="after")
    def _dip(self) -> Promotion:
        if self.pull_forward == 0:
            return self
        days = _fixed(self.duration)
        if self.dip_days is None:
            # The dip lasts as long as the promotion, whatever duration is drawn: its depth is pull_forward x
            # lift for a random duration too, so a depth above 1 (cut at zero) is known now.
            depth = self.pull_forward * self.lift
        elif days is not None:
            depth = self.pull_forward * self.lift * max(1, round(days)) / self.dip_days
        else:
            return self  # a random duration with fixed dip_days: the depth depends on the draw
        if depth > 1:
            need = math.ceil(self.pull_forward * self.lift * max(1, round(days if days is not None else 1)))
            how = (f"lengthen dip_days to at least {need}" if days is not None else
                   f"give dip_days of at least {self.pull_forward * self.lift:g} x the longest duration")
            raise ValueError(f"the dip would need {depth:.0%} of demand; {how}")
        return self


class Launch(_DemandShock):
    """A new product: no demand before ``start``, then Bass diffusion for ``duration`` days (default: to the
    horizon), then the product's nominal demand.

    Expected units in the first t years are m·(1 - e^{-(p+q)t}) / (1 + (q/p)·e^{-(p+q)t}), shared among the
    targeted customers in proportion to their nominal demand (before trend and seasonality). Like every demand
    shock, the launch multiplies the stream's mean, so a stream's trend and seasonality multiply the adoptions
    too: a sinusoid's ups and downs about cancel over whole years, but a trend of g a year multiplies the
    adoptions of day d by 1 + g·d/365 (with g = 0.3, p = 0.03, q = 0.4, the units of a launch on day 10 over
    the first two years are 114 against m·F = 85). Leave the trend out of a launched product's demand to get m·F.
    """

    recovers: ClassVar[bool] = False
    type: Literal["launch"]
    products: tuple[str, ...] = Field(min_length=1, description="the products launched")
    p: PositiveFloat = Field(description="coefficient of innovation, per year (typically 0.01-0.03)")
    q: NonNegativeFloat = Field(description="coefficient of imitation, per year (typically 0.3-0.5)")
    m: PositiveFloat = Field(description="market size: units adopted in total by the targeted customers")


class PhaseOut(_DemandShock):
    """A product leaves: demand falls linearly to zero over ``duration`` days and stays at zero."""

    recovers: ClassVar[bool] = False
    type: Literal["phase_out"]
    products: tuple[str, ...] = Field(min_length=1, description="the products phased out")
    duration: Dist = Field(description="days to fade out")


class FactoryOutage(_ShockBase):
    """A factory stops: no production for ``duration`` days (rate-capacity factories)."""

    type: Literal["factory_outage"]
    factory: str
    duration: Dist = Field(description="days without production")


class CapacityLoss(_ShockBase):
    """A factory keeps ``factor`` of its capacity (0.6 = loses 40%) for ``duration`` days."""

    type: Literal["capacity_loss"]
    factory: str
    factor: float = Field(ge=0, le=1, description="share of capacity left: 0 = outage, 0.5 = half")


class _Delay(_ShockBase):
    extra_days: NonNegativeFloat | None = Field(default=None, description="days added to each lead time")
    factor: PositiveFloat | None = Field(default=None, description="multiplies each lead time (1.5 = +50%)")

    @model_validator(mode="after")
    def _one_strength(self) -> _Delay:
        if (self.extra_days is None) == (self.factor is None):
            raise ValueError("give either 'extra_days' (added) or 'factor' (multiplied)")
        return self


class LaneRef(_Model):
    """A lane, by its two ends."""

    from_: str = Field(alias="from")
    to: str


class LaneDelay(_Delay):
    """Shipments sent over a lane while the shock is on take longer (transit x factor, or + extra_days)."""

    type: Literal["lane_delay"]
    lane: LaneRef


class SupplierDelay(_Delay):
    """Orders a supplier accepts while the shock is on take longer (lead time x factor, or + extra_days)."""

    type: Literal["supplier_delay"]
    supplier: str


class SupplierOutage(_ShockBase):
    """A supplier stops supplying for ``duration`` days: it accepts no order while the shock is on.

    Orders that reach it then wait, and it accepts them when the outage ends, in the order they came, each
    with a lead time drawn then (and the lead-time shocks in force that day); a capacity-limited supplier
    works them off at its capacity from that day (after any work accepted before the outage). Orders it
    accepted before the outage keep their dates: those goods were already made or on their way. Unlike a
    ``supplier_delay`` (each order accepted takes longer), an outage adds to an order the days left of the
    outage when it is placed, and a queue to work off after it.

    A duration of 0 is its neutral strength (accepted, noted as changing nothing). It ends at once: there is
    no ``recovery: ramp`` (what comes after it is the queue it left).
    """

    recovers: ClassVar[bool] = False
    no_recovery: ClassVar[str] = "it ends at once, then the supplier works off the orders it held"
    zero_days: ClassVar[bool] = True
    type: Literal["supplier_outage"]
    supplier: str
    duration: Dist = Field(description="days without accepting orders (0: no outage, a grid's reference)")


def no_effect(shock: Any) -> str | None:
    """Why a valid shock changes nothing (a strength of zero, as a grid's first value often is), or None.

    Every type accepts its neutral strength, so a sweep can start from it; the notes say so, since in a file
    of single shocks it is more often a slip than a reference case.
    """
    t = shock.type
    if shock.probability == 0:
        return "its probability is 0"
    if t in ("demand_step", "demand_spike", "demand_ramp") and shock.magnitude == 0:
        return "its magnitude is 0"
    if t == "collapse_rebound" and shock.magnitude == 0 and shock.rebound == 0:
        return "its magnitude and rebound are 0"
    if t == "promotion" and shock.lift == 0:
        return "its lift is 0"
    if t == "capacity_loss" and shock.factor == 1:
        return "its factor is 1 (the whole capacity is left)"
    if t in ("lane_delay", "supplier_delay") and (shock.extra_days == 0 or shock.factor == 1):
        return "its extra_days are 0" if shock.extra_days == 0 else "its factor is 1"
    if t == "supplier_outage" and _fixed(shock.duration) == 0:
        return "its duration is 0 days"
    return None


Shock = Annotated[
    DemandStep | DemandSpike | DemandRamp | CollapseRebound | Promotion | Launch | PhaseOut | FactoryOutage
    | CapacityLoss | LaneDelay | SupplierDelay | SupplierOutage,
    Field(discriminator="type"),
]

SHOCK_TYPES = ("demand_step", "demand_spike", "demand_ramp", "collapse_rebound", "promotion", "launch",
               "phase_out", "factory_outage", "capacity_loss", "lane_delay", "supplier_delay", "supplier_outage")
DEMAND_TYPES = SHOCK_TYPES[:7]
# Commercial events the company itself plans, so its sales team knows them when it gives its view of demand.
PLANNED_TYPES = ("promotion", "launch", "phase_out")

_SHOCKS: TypeAdapter[list[Any]] = TypeAdapter(list[Shock])


def _fixed(spec: Any) -> float | None:
    """The value of a deterministic distribution, else None."""
    return spec.value if spec is not None and spec.dist == "deterministic" else None


# ---------------------------------------------------------------------------------------------- realisation


@dataclass(frozen=True)
class Realised:
    """A shock as it happens in one replication: on during days [start, end); gone by ``effect_end``."""

    shock: Any  # one of the Shock models
    start: int
    end: int
    effect_end: int

    @property
    def duration(self) -> int:
        return self.end - self.start


def realise(shocks: Iterable[Any], streams: Streams, horizon: int) -> list[Realised]:
    """Which shocks happen in this replication, when, and for how long (a pure function).

    Each shock draws from its own stream ``shock:<name>`` in a fixed order (happens?, start, duration),
    whatever its probability or timing form, so replication i realises a shock identically for every
    policy and every other shock. Durations are rounded to whole days, at least one (a fixed duration
    that rounds to 0 is refused when the shock is validated, but for a type whose neutral strength it is,
    which then lasts 0 days; a random draw that rounds to 0 lasts one day). Shocks
    that do not happen are left out, except launches: one that does not happen starts at the horizon (no
    demand).
    """
    out = []
    for sh in shocks:
        rng = streams.fresh(f"shock:{sh.name}")
        u = float(rng.random())
        start = int(sh.start) if sh.window is None else int(rng.integers(sh.window[0], sh.window[1] + 1))
        if sh.duration is None:
            end = max(horizon, start + 1)
        else:
            days = round(float(sh.duration.sample(rng, 1)[0]))
            end = start + (0 if days == 0 and sh.zero_days and _fixed(sh.duration) == 0 else max(1, days))
        if u < sh.probability:
            out.append(Realised(sh, start, end, _effect_end(sh, start, end, horizon)))
        elif sh.type == "launch":
            # A launch that does not happen is a product that does not sell: launched after the horizon.
            out.append(Realised(sh, horizon, horizon, horizon))
    return out


def applied(realised: Iterable[Realised], horizon: int) -> list[ShockApplied]:
    """The ``shocks`` record rows of realised shocks: those that start inside the horizon (a launch that did
    not happen starts at the horizon and is left out)."""
    from simsop.model.records import ShockApplied

    return [ShockApplied(r.shock.name, r.shock.type, float(r.start), float(r.end), float(r.effect_end))
            for r in realised if r.start < horizon]


def windows(shocks: Iterable[Any], horizon: int, seed: int, replication: int) -> list[ShockApplied]:
    """The shocks a replication of a scenario with these ``shocks`` records, without simulating it.

    They are what :func:`simsop.kpi.shock_kpis` judges: pass them as its ``windows`` with the records of
    the same replication of the scenario without these shocks to measure the same window on the same
    random future without the shocks (the draws of ``shock:<name>`` depend on nothing else).
    """
    from simsop.streams import Streams

    return applied(realise(shocks, Streams(seed, replication), horizon), horizon)


@dataclass(frozen=True)
class Span:
    """The days a shock's effect can cover in a run, before any draw: it starts on a day in
    [first_start, last_start] and its effect is gone by day ``effect_end`` (exclusive) at the latest."""

    first_start: int
    last_start: int
    effect_end: int
    lasting: bool  # the effect lasts to the horizon (no duration, a ramp, a phase-out)
    random: bool  # its start or its duration is drawn


def span(shock: Any, horizon: int) -> Span:
    """The days a shock can cover (see :class:`Span`); a random duration counts at its largest value (its mean
    plus four standard deviations when it has none)."""
    first, last = shock.window if shock.window is not None else (int(shock.start), int(shock.start))
    spec = shock.duration
    if spec is None:
        end = max(horizon, last + 1)
    else:
        upper = spec.upper if math.isfinite(spec.upper) else spec.mean + 4 * spec.sd
        end = last + max(1, round(upper))
    return Span(int(first), int(last), _effect_end(shock, last, end, horizon),
                spec is None or shock.type in ("demand_ramp", "phase_out"),
                shock.window is not None or (spec is not None and _fixed(spec) is None))


def _effect_end(sh: Any, start: int, end: int, horizon: int) -> int:
    if sh.type in ("demand_ramp", "phase_out"):
        return max(horizon, end)  # the new level lasts
    if sh.type == "promotion":
        return end + (sh.dip_days or end - start)
    extra = sh.recovery_days if sh.recovery == "ramp" else 0
    if sh.type == "collapse_rebound":
        extra += sh.rebound_days
    return end + extra


def _strength(r: Realised, days: np.ndarray) -> np.ndarray:
    """1 while the shock is on, falling linearly to 0 over a ramp recovery, 0 otherwise."""
    s = ((days >= r.start) & (days < r.end)).astype(float)
    sh = r.shock
    ramp = sh.recovery_days if sh.recovery == "ramp" else 0
    if ramp:
        k = days - r.end
        on = (k >= 0) & (k < ramp)
        s[on] = 1.0 - (k[on] + 1.0) / (ramp + 1.0)
    return s


# ---------------------------------------------------------------------------------------------- demand


def bass_cumulative(t: np.ndarray | float, p: float, q: float, m: float = 1.0) -> np.ndarray:
    """Bass diffusion: adopters by time t (same time unit as p and q), m·(1-e^{-(p+q)t})/(1+(q/p)e^{-(p+q)t})."""
    e = np.exp(-(p + q) * np.asarray(t, dtype=float))
    return m * (1.0 - e) / (1.0 + (q / p) * e)


def _demand_profile(r: Realised, days: np.ndarray, launch_base: float | None) -> np.ndarray:
    """The daily multiplier one realised demand shock puts on a stream it hits."""
    sh = r.shock
    t = days - r.start
    if sh.type in ("demand_step", "demand_spike"):
        return 1.0 + sh.magnitude * _strength(r, days)
    if sh.type == "collapse_rebound":
        s = _strength(r, days)
        if sh.collapse_days:
            # How far down the fall is on each day of the shock; a drawn duration shorter than the fall starts
            # the recovery from the level reached when it ends (demand does not go on falling while it recovers).
            fallen = np.clip((t + 1.0) / sh.collapse_days, 0.0, 1.0)
            s *= np.where(days < r.end, fallen, min(r.duration / sh.collapse_days, 1.0))
        out = 1.0 + sh.magnitude * s
        if sh.rebound_days:
            k = days - (r.effect_end - sh.rebound_days)
            on = (k >= 0) & (k < sh.rebound_days)
            out[on] += sh.rebound * (sh.rebound_days - k[on]) / sh.rebound_days
        return out
    if sh.type == "demand_ramp":
        frac = np.clip((t + 1.0) / r.duration, 0.0, 1.0)
        return 1.0 + sh.magnitude * frac
    if sh.type == "phase_out":
        return np.clip(1.0 - (t + 1.0) / r.duration, 0.0, 1.0) * (t >= 0) + 1.0 * (t < 0)
    if sh.type == "promotion":
        out = np.ones(len(days))
        out[(days >= r.start) & (days < r.end)] += sh.lift
        dip_days = r.effect_end - r.end
        # The dip gives back pull_forward x the extra units of the promotion, spread evenly over its days;
        # a dip deeper than the demand itself is cut at zero (the schema refuses one it can foresee, so only a
        # random duration with fixed dip_days can draw it).
        depth = sh.pull_forward * sh.lift * r.duration / dip_days
        out[(days >= r.end) & (days < r.effect_end)] -= depth
        return np.maximum(out, 0.0)
    if sh.type == "launch":
        out = np.where(t < 0, 0.0, 1.0)
        on = (t >= 0) & (days < r.end)
        if launch_base is not None and launch_base > 0:
            tt = t[on] / DAYS_PER_YEAR
            new = bass_cumulative(tt + 1.0 / DAYS_PER_YEAR, sh.p, sh.q, sh.m) - bass_cumulative(tt, sh.p, sh.q, sh.m)
            out[on] = new / launch_base
        else:
            out[on] = 0.0
        return out
    raise ValueError(f"{sh.type!r} is not a demand shock")  # pragma: no cover


def demand_multiplier(realised: Sequence[Realised], customer_id: str, product_id: str, horizon: int,
                      nominal: Mapping[tuple[str, str], float] | None = None) -> np.ndarray | None:
    """The product of the daily multipliers of every realised demand shock that hits a stream.

    Args:
        realised: the shocks of one replication (from :func:`realise`).
        customer_id, product_id: the demand stream.
        horizon: days.
        nominal: mean units per day of every (customer, product) stream, before trend and seasonality;
            needed only by launches, which turn a market size in units into a multiplier.

    Returns:
        An array of ``horizon`` multipliers, or None when no demand shock hits the stream (so its draws
        are exactly those of the scenario without shocks).
    """
    return stream_profile(realised, customer_id, product_id, np.arange(horizon), nominal)


def stream_profile(realised: Sequence[Realised], customer_id: str, product_id: str, days: np.ndarray,
                   nominal: Mapping[tuple[str, str], float] | None = None,
                   types: Sequence[str] = DEMAND_TYPES) -> np.ndarray | None:
    """As :func:`demand_multiplier`, on any days (negative ones are before the run) and for some shock types
    only (``PLANNED_TYPES``: the events a sales team knows in advance)."""
    out: np.ndarray | None = None
    for r in realised:
        sh = r.shock
        if sh.type not in types or not sh.hits(customer_id, product_id):
            continue
        base = None
        if sh.type == "launch":
            if nominal is None:
                raise ValueError(f"launch {sh.name!r} needs the nominal demand of the streams it hits")
            base = sum(v for (c, p), v in nominal.items() if p == product_id and sh.hits(c, p))
        prof = _demand_profile(r, days, base)
        out = prof if out is None else out * prof
    return out


def nominal_demand(scenario: Scenario) -> dict[tuple[str, str], float]:
    """Mean units per day of every (customer, product) demand stream, before trend and seasonality."""
    return {(c.id, d.product): d.mean_per_day for c in scenario.customers for d in c.demand}


def stream_multipliers(scenario: Scenario, realised: Sequence[Realised]) -> dict[tuple[str, str], np.ndarray]:
    """Daily demand multipliers of the (customer, product) streams that realised shocks hit."""
    if not any(r.shock.type in DEMAND_TYPES for r in realised):
        return {}
    nominal = nominal_demand(scenario)
    out = {}
    for c, p in nominal:
        m = demand_multiplier(realised, c, p, scenario.horizon, nominal)
        if m is not None:
            out[(c, p)] = m
    return out


# ---------------------------------------------------------------------------------------------- world


def install(world: World, realised: Sequence[Realised]) -> None:
    """Record the realised shocks and start the processes that switch their effects on and off.

    Effects on the same target combine: capacity and lead-time factors multiply, extra days add, and a
    supplier is out while any of its outages is on. They change at the start of a day, before that day's work:
    a factory works day d at day d's capacity, and a shipment (or a supplier order) takes the lead time in
    force on the day it is sent (accepted); a supplier whose outage ends on day d accepts the orders it held
    at the start of day d, after that day's lead-time shocks are in force.
    """
    rec = world.records.tables["shocks"].append
    for row in applied(realised, world.horizon):
        rec(tuple(row))
    days = np.arange(world.horizon)
    sites = {s.name: s for s in world.sites}
    capacity: dict[str, np.ndarray] = {}
    factor: dict[tuple[str, Any], np.ndarray] = {}
    extra: dict[tuple[str, Any], np.ndarray] = {}
    out: dict[str, np.ndarray] = {}  # by supplier: how many of its outages are on each day
    for r in realised:
        sh = r.shock
        if sh.type in DEMAND_TYPES:
            continue  # drawn up front with the demand
        s = _strength(r, days)
        if sh.type == "supplier_outage":
            out.setdefault(sh.supplier, np.zeros(len(days)))[:] += s
            continue
        if sh.type in ("factory_outage", "capacity_loss"):
            left = 0.0 if sh.type == "factory_outage" else sh.factor
            cap = capacity.setdefault(sh.factory, np.ones(len(days)))
            cap *= 1.0 - (1.0 - left) * s
            continue
        key = ("lane", (sh.lane.from_, sh.lane.to)) if sh.type == "lane_delay" else ("supplier", sh.supplier)
        if sh.factor is not None:
            f = factor.setdefault(key, np.ones(len(days)))
            f *= 1.0 + (sh.factor - 1.0) * s
        else:
            x = extra.setdefault(key, np.zeros(len(days)))
            x += sh.extra_days * s
    env = world.env
    for fid, values in capacity.items():
        env.process(_follow(world, values, 1.0, _setter(sites[fid], "capacity_factor")))
    for key in {k for k in (*factor, *extra) if k[0] == "lane"}:
        # Looked up on the day each shipment departs, not followed in time: see LaneRun.shocked.
        _target(world, sites, *key).shocked = (factor.get(key, np.ones(len(days))).tolist(),
                                               extra.get(key, np.zeros(len(days))).tolist())
    for (kind, target), values in factor.items():
        if kind == "supplier":
            env.process(_follow(world, values, 1.0, _setter(_target(world, sites, kind, target), "lead_time_factor")))
    for (kind, target), values in extra.items():
        if kind == "supplier":
            env.process(_follow(world, values, 0.0, _setter(_target(world, sites, kind, target), "extra_lead_time")))
    for sid, values in out.items():
        env.process(_follow(world, values, 0.0, _outage(world, sites[sid])))


def _outage(world: World, supplier: Any) -> Callable[[float], None]:
    """Stop a supplier while its outages are on (``value`` > 0); when they end, have it accept what it held.

    The held orders are accepted by a call scheduled now, at the shock priority: it runs after every shock
    switch of this instant (their events were all scheduled on earlier days), so those orders take the
    lead-time shocks in force on the day the outage ends, whatever order the shock processes run in.
    """
    def apply(value: float) -> None:
        if value > 0:
            supplier.stop()
        else:
            world.call_at(0.0, SHOCK_PRIORITY, lambda _ev: supplier.restart(), None)
    return apply


def _target(world: World, sites: Mapping[str, Any], kind: str, target: Any) -> Any:
    if kind == "lane":
        a, b = target
        return world.lanes[(sites[a].site, sites[b].site)]
    return sites[target]


def _setter(obj: Any, attr: str) -> Callable[[float], None]:
    def apply(value: float) -> None:
        setattr(obj, attr, value)
    return apply


def _follow(world: World, values: np.ndarray, initial: float,
            apply: Callable[[float], None]) -> Generator[Any, Any, None]:
    """Set a value each day it changes (a day's value holds from the start of that day)."""
    prev = np.concatenate([[initial], values[:-1]])
    env = world.env
    for day in np.nonzero(values != prev)[0].tolist():
        if day > env.now:
            yield world.tick(day - env.now, SHOCK_PRIORITY)
        apply(float(values[day]))


# ---------------------------------------------------------------------------------------------- validation


def shock_problems(scenario: Scenario, shocks: Sequence[Any], path: str = "shocks[{i}]",
                   taken: Iterable[str] = ()) -> list[Problem]:
    """Cross-reference problems of shocks against a scenario: targets exist, names unique, days in range.

    Args:
        scenario: the company the shocks are applied to.
        shocks: validated shock models.
        path: key path of each shock, for the messages, with ``{i}`` for its index (``shocks[{i}]``,
            ``cases[2].shocks[{i}]``).
        taken: shock names already used (by the scenario's own shocks).
    """
    from simsop.scenario import Problem  # here: simsop.scenario imports this module

    probs: list[Problem] = []
    names = set(taken)
    customers = {c.id for c in scenario.customers}
    products = {p.id for p in scenario.products}
    streams = {(c.id, d.product) for c in scenario.customers for d in c.demand}
    factories = {f.id: f for f in scenario.factories}
    suppliers = {s.id for s in scenario.suppliers}
    lanes = {(ln.from_, ln.to) for ln in scenario.lanes}
    for i, sh in enumerate(shocks):
        at = path.format(i=i)
        if sh.name in names:
            probs.append(Problem(f"{at}.name", f"duplicate shock name {sh.name!r} (names pick random streams)"))
        names.add(sh.name)
        if sh.last_start >= scenario.horizon:
            key = "window" if sh.window is not None else "start"
            probs.append(Problem(f"{at}.{key}", f"day {sh.last_start} is not inside the horizon "
                                 f"({scenario.horizon} days)"))
        if sh.type in DEMAND_TYPES:
            for key, known in (("customers", customers), ("products", products)):
                for j, x in enumerate(getattr(sh, key) or ()):
                    if x not in known:
                        probs.append(Problem(f"{at}.{key}[{j}]", f"unknown {key[:-1]} {x!r}; expected one of "
                                             f"{sorted(known)}"))
            if not any(sh.hits(c, p) for c, p in streams):
                probs.append(Problem(at, "hits no customer demand (no customer buys these products)"))
        elif sh.type in ("factory_outage", "capacity_loss"):
            f = factories.get(sh.factory)
            if f is None:
                probs.append(Problem(f"{at}.factory", f"unknown factory {sh.factory!r}; expected one of "
                                     f"{sorted(factories)}"))
            elif f.capacity is None:
                # Line factories hold each job for a processing time drawn when it starts; there is no
                # daily capacity to scale, so a capacity shock would silently do nothing.
                probs.append(Problem(f"{at}.factory", f"factory {sh.factory!r} works with production lines; "
                                     "capacity shocks apply to factories with a rate 'capacity'"))
        elif sh.type == "lane_delay":
            if (sh.lane.from_, sh.lane.to) not in lanes:
                probs.append(Problem(f"{at}.lane", f"no lane from {sh.lane.from_!r} to {sh.lane.to!r}"))
        elif sh.type in ("supplier_delay", "supplier_outage") and sh.supplier not in suppliers:
            # A plant or a warehouse named here is a common slip: say what it is and what shock fits it.
            what = ("" if sh.supplier not in factories else f" ({sh.supplier!r} is a factory: factory_outage and "
                    "capacity_loss shock a factory, lane_delay its deliveries)")
            if sh.supplier in {w.id for w in scenario.warehouses}:
                what = f" ({sh.supplier!r} is a warehouse)"
            expect = f"expected one of {sorted(suppliers)}" if suppliers else "the scenario has no suppliers"
            probs.append(Problem(f"{at}.supplier", f"unknown supplier {sh.supplier!r}{what}; {expect}"))
    return probs


# ---------------------------------------------------------------------------------------------- stress files


class ShockCase(_Model):
    """A named set of shocks to run against the base scenario."""

    name: str = Field(min_length=1)
    description: str = ""
    shocks: tuple[Shock, ...] = ()


# The field a grid's 'strength' sets when it does not say, by shock type.
STRENGTH_FIELD = {"demand_step": "magnitude", "demand_spike": "magnitude", "demand_ramp": "magnitude",
                  "collapse_rebound": "magnitude", "promotion": "lift", "launch": "m", "phase_out": "duration",
                  "factory_outage": "duration", "capacity_loss": "factor", "supplier_outage": "duration"}


class ShockGrid(_Model):
    """Cases from one shock template: every start day x every strength (missing lists keep the template's)."""

    shock: Shock
    start: tuple[NonNegativeInt, ...] | None = Field(default=None, min_length=1)
    strength: tuple[float, ...] | None = Field(default=None, min_length=1)
    field: str | None = Field(default=None, description="the key 'strength' sets (default by type, e.g. "
                              "magnitude, lift, factor, extra_days)")

    @model_validator(mode="after")
    def _axes(self) -> ShockGrid:
        if self.start is None and self.strength is None:
            raise ValueError("give 'start' days, 'strength' values, or both")
        if self.strength is not None:
            key = self.strength_field
            if key in ("name", "type", "start", "window") or key not in type(self.shock).model_fields:
                raise ValueError(f"a {self.shock.type} has no key {key!r} to vary")
        return self

    @property
    def strength_field(self) -> str:
        if self.field is not None:
            return self.field
        sh = self.shock
        if sh.type in ("lane_delay", "supplier_delay"):
            return "extra_days" if sh.extra_days is not None else "factor"
        return STRENGTH_FIELD[sh.type]


class StressFile(_Model):
    """A stress test: a base scenario file and the shock cases to run against it."""

    base: str = Field(description="the base scenario file, relative to this file")
    name: str | None = Field(default=None, description="default: the file name; names the 'shocks' case")
    description: str = ""
    shocks: tuple[Shock, ...] = ()
    cases: tuple[ShockCase, ...] = ()
    grid: ShockGrid | None = None

    @model_validator(mode="after")
    def _some(self) -> StressFile:
        if not (self.shocks or self.cases or self.grid):
            raise ValueError("give 'shocks', 'cases' or a 'grid'")
        return self


def _label(x: float, signed: bool) -> str:
    return f"{x:g}" if signed else f"{abs(x):g}"


def expand_grid(grid: ShockGrid) -> list[ShockCase]:
    """The cases of a grid, named like ``collapse@day120x0.4``.

    A strength is named without its sign when every value of the grid has the same sign (a collapse's depth
    ``x0.4`` for a magnitude of -0.4); a grid that sweeps both ways names its negative values with their sign
    (``step@day400x-0.2`` and ``step@day400x0.2``), so up and down cases never share a name.

    Every case keeps the template's shock name, so its random draws (duration, probability) are the same
    in every case of the grid: the cases differ only by what the grid varies.
    """
    from simsop.scenario import Problem, ScenarioError

    tpl = grid.shock
    data = tpl.model_dump(by_alias=True, exclude_unset=True)
    data["type"] = tpl.type
    key = grid.strength_field
    starts: list[int | None] = list(grid.start) if grid.start is not None else [None]
    values: list[float | None] = list(grid.strength) if grid.strength is not None else [None]
    signed = any(v is not None and v < 0 for v in values) and any(v is not None and v > 0 for v in values)
    cases, probs = [], []
    for a, s in enumerate(starts):
        for b, v in enumerate(values):
            d = dict(data)
            label = tpl.name
            if s is not None:
                d.pop("window", None)
                d["start"] = s
                label += f"@day{s}"
            if v is not None:
                d[key] = v
                label += f"x{_label(v, signed)}"
            try:
                cases.append(ShockCase(name=label, shocks=(type(tpl).model_validate(d),)))
            except ValidationError as exc:
                for e in exc.errors():
                    loc = [str(x) for x in e["loc"]]
                    path = (f"grid.strength[{b}]" if loc[:1] == [key] else f"grid.start[{a}]" if loc[:1] == ["start"]
                            else ".".join(["grid.shock", *loc]))
                    p = Problem(path, f"{label}: {str(e['msg']).removeprefix('Value error, ')}")
                    if p not in probs:
                        probs.append(p)
    if probs:
        raise ScenarioError("<grid>", probs)
    return cases


def _validation_problems(exc: ValidationError) -> list[Problem]:
    from simsop.scenario import validation_problems

    return validation_problems(exc)


def parse_stress(data: Any, source: str = "<stress>", base_dir: Path | None = None) -> tuple[Scenario, list[ShockCase]]:
    """Validate a parsed stress file: load its base scenario and check every case's shocks against it."""
    from simsop.scenario import Problem, ScenarioError, not_a_mapping, parse_scenario, read_yaml

    if not isinstance(data, dict):
        raise not_a_mapping(source, data)
    try:
        spec = StressFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, _validation_problems(exc)) from None
    base_path = (base_dir or Path(".")) / spec.base
    if not base_path.is_file():
        raise ScenarioError(source, [Problem("base", f"cannot find the base scenario {str(base_path)!r}")])
    base_data = read_yaml(base_path)  # its own problems name the base file
    if isinstance(base_data, dict) and "base" in base_data:
        raise ScenarioError(source, [Problem("base", f"{str(base_path)!r} is a stress file itself; expected the "
                                             "scenario file the shocks apply to")])
    base = parse_scenario(base_data, str(base_path), base_path.parent)
    # (case, key path of the case's name, key path of each of its shocks)
    found: list[tuple[ShockCase, str, str]] = []
    if spec.shocks:
        found.append((ShockCase(name=spec.name or Path(source).stem, description=spec.description,
                                shocks=spec.shocks), "name", "shocks[{i}]"))
    found += [(c, f"cases[{k}].name", f"cases[{k}].shocks[{{i}}]") for k, c in enumerate(spec.cases)]
    if spec.grid is not None:
        try:
            found += [(c, "grid", "grid.shock") for c in expand_grid(spec.grid)]
        except ScenarioError as exc:
            raise ScenarioError(source, exc.problems) from None
    probs: list[Problem] = []
    seen: set[str] = set()
    for case, name_path, shock_path in found:
        if case.name in seen:
            probs.append(Problem(name_path, f"a second case named {case.name!r}"))
        seen.add(case.name)
        for p in shock_problems(base, case.shocks, shock_path, taken=[s.name for s in base.shocks]):
            if p not in probs:  # a grid repeats its template's problems in every case
                probs.append(p)
    if probs:
        raise ScenarioError(source, probs)
    return base, [c for c, _, _ in found]


def load_stress(path: str | Path) -> tuple[Scenario, list[ShockCase]]:
    """Read a stress-test file: the base scenario (``base:``, relative to the file) and its shock cases.

    A file gives ``shocks: [...]`` (one case, named after the file's ``name`` or its stem), ``cases:`` (a
    list of ``{name, shocks}``), a ``grid:`` (``shock`` template x ``start`` days x ``strength`` values), or
    several of these. Run each case with ``apply_shocks(base, case.shocks)``.

    Raises:
        ScenarioError: the file (or its base scenario) cannot be read or is invalid; one line per problem,
            naming the file and the key path.
    """
    from simsop.scenario import read_yaml

    p = Path(path)
    return parse_stress(read_yaml(p), str(p), p.parent)


def apply_shocks(scenario: Scenario, shocks: Iterable[Any], source: str = "<shocks>") -> Scenario:
    """The scenario with ``shocks`` added after its own, validated and cross-checked, as a new Scenario.

    Shocks may be models or plain dicts as in a file. Problems name ``source`` and the index in ``shocks``.
    """
    from simsop.scenario import ScenarioError

    try:
        new = _SHOCKS.validate_python(list(shocks))
    except ValidationError as exc:
        raise ScenarioError(source, [_prefixed(p, "shocks") for p in _validation_problems(exc)]) from None
    probs = shock_problems(scenario, new, taken=[s.name for s in scenario.shocks])
    if probs:
        raise ScenarioError(source, probs)
    return scenario.model_copy(update={"shocks": (*scenario.shocks, *new)})


def _prefixed(p: Problem, prefix: str) -> Problem:
    from simsop.scenario import Problem

    return Problem(f"{prefix}{p.path}" if p.path.startswith("[") else f"{prefix}.{p.path}", p.message)
