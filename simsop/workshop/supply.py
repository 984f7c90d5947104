"""The supply review of a plan game: a team's plan against what its plants can make.

A rate plant (``simsop.model.factory``) puts each day's planned production at the end of one queue and works
that queue first come first served at its regular + overtime capacity of the day (net of capacity shocks).
What it cannot make in a month is not lost: it stays in the queue and is made in the following months, ahead
of what their own plans add, so those plans slip in turn. A team sees this twice, from one projection of the
plants' queues (``project_plants``): a dashboard whose estimated closing stock counts only what the plants can
make, and a warning for every month whose plan, after the queue carried into it, is above capacity (when it
decides, and in the round's results).

Capacity is the dashboard's: the plant's regular capacity as the plans in force staff it (the scenario's,
unless a plan set a workforce), its overtime, and the capacity shocks that have begun by the decision day
(a team cannot know of an outage before it starts). Factories with production lines have no rate capacity
to check against; they are left out.

A plant's output also has to leave: a lane with a ``capacity`` carries so many units a day out of the plant, what it
makes and what it buys from subcontractors together, and what does not fit waits at the plant's dock. The supply
review warns, beside the capacity, of every month whose plan sends more out of a plant than its lanes carry
(``shipping_excesses``: ``World.shipping_capacity``, the plan's production and purchases of the month against it).
A plant none of whose lanes has a capacity is never warned.

Everything is counted in good units, as plans are: a plant with a yield below 1 scraps a share of what it
works (``FactorySite._output``), so a unit of its capacity makes its mean yield of good units, and the cycle
asks it to start a plan grossed up by that yield (``PlanningCycle.apply``). Its capacity and the queue it
holds (units started or to start) count at that yield, as the plans' own capacity does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simsop.model.records import Records, Table
from simsop.model.world import World
from simsop.planning.labels import day_label
from simsop.scenario import Scenario


def capacity_factor(rec: Records, sc: Scenario, day: int) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """Daily capacity multiplier of each factory from the capacity shocks that have started by ``day`` (the
    plant knows about an outage once it has begun), and those shocks."""
    from simsop.shocks import Realised, _strength

    by_name = {sh.name: sh for sh in sc.shocks}
    days = np.arange(sc.horizon)
    factor: dict[str, np.ndarray] = {}
    known: list[dict[str, Any]] = []
    t = rec.tables["shocks"]
    for name, start, stop, eff in zip(t["name"].tolist(), t["start"].tolist(), t["end"].tolist(),
                                      t["effect_end"].tolist(), strict=True):
        sh = by_name.get(str(name))
        if sh is None or sh.type not in ("factory_outage", "capacity_loss") or start > day:
            continue
        left = 0.0 if sh.type == "factory_outage" else float(sh.factor)
        r = Realised(sh, int(start), int(stop), int(eff))
        f = factor.setdefault(sh.factory, np.ones(len(days)))
        f *= 1.0 - (1.0 - left) * _strength(r, days)
        known.append({"name": sh.name, "type": sh.type, "factory": sh.factory, "left": left,
                      "start": int(start), "end": int(stop), "dates": [day_label(sc.planning.bucket, int(start)),
                                                                      day_label(sc.planning.bucket, int(stop) - 1)]})
    return factor, known


@dataclass(frozen=True)
class PlantCapacity:
    """A plant's capacity day by day over the horizon, as known on a decision day (nan: production lines), in
    good units: what it can work times its mean yield."""

    factory: str
    products: tuple[int, ...]  # product indexes it makes for the plan (the first factory listing a product)
    regular: np.ndarray  # good units a day
    overtime: np.ndarray
    regular_per_day: float  # days past the horizon count in full at these rates
    overtime_per_day: float
    factor: np.ndarray  # the capacity shocks' multiplier of each day (1: none)
    mean_yield: float = 1.0  # good units per unit worked: capacity above is already net of it

    @property
    def rate(self) -> bool:
        return bool(np.isfinite(self.regular_per_day))

    def _sum(self, per_day: np.ndarray, full: float, a: int, z: int) -> float:
        h = len(per_day)
        inside = float(per_day[max(a, 0):min(z, h)].sum()) if a < h else 0.0
        return inside + full * max(z - max(a, h), 0)

    def span(self, a: int, z: int) -> tuple[float, float]:
        """Regular and overtime units over days [a, z)."""
        return (self._sum(self.regular, self.regular_per_day, a, z),
                self._sum(self.overtime, self.overtime_per_day, a, z))

    def reduced(self, a: int, z: int) -> bool:
        """Whether a capacity shock takes some of days [a, z)."""
        h = len(self.factor)
        return bool(a < h and (self.factor[max(a, 0):min(z, h)] < 1.0 - 1e-9).any())

    def daily(self, a: int, z: int) -> np.ndarray:
        """Regular + overtime units of each day in [a, z)."""
        h = len(self.regular)
        out = np.full(max(z - a, 0), self.regular_per_day + self.overtime_per_day)
        lo, hi = max(a, 0), min(z, h)
        if hi > lo:
            out[lo - a:hi - a] = self.regular[lo:hi] + self.overtime[lo:hi]
        return out


def factory_of(sc: Scenario) -> dict[int, int]:
    """Product index -> the factory index that makes it for the plan (the first listing it, as the cycle)."""
    pidx = {p.id: i for i, p in enumerate(sc.products)}
    out: dict[int, int] = {}
    for f, fac in enumerate(sc.factories):
        for p in fac.products:
            out.setdefault(pidx[p], f)
    return out


def buyers(sc: Scenario, plant: str) -> list[str]:
    """The warehouses that order from a plant as they need (a stock item sourced from it), by name."""
    return sorted({w.id for w in sc.warehouses for it in w.stock if it.source == plant})


def plant_capacity(world: World, rec: Records, sc: Scenario, day: int
                   ) -> tuple[dict[str, PlantCapacity], list[dict[str, Any]]]:
    """Every plant's capacity as a team knows it on ``day``, and the capacity shocks counted in it."""
    factor, known = capacity_factor(rec, sc, day)
    makes = factory_of(sc)
    out: dict[str, PlantCapacity] = {}
    for f, fac in enumerate(sc.factories):
        ones = np.ones(sc.horizon)
        x = factor.get(fac.id, ones)
        if fac.capacity is None:
            nan = np.full(sc.horizon, np.nan)
            out[fac.id] = PlantCapacity(fac.id, (), nan, nan, float("nan"), float("nan"), x)
            continue
        reg, ot = fac.capacity.regular, fac.capacity.overtime
        # A plan's workforce sets the regular capacity from its buckets on (simsop.model.plan.set_capacity).
        by_day = world.factories[f].regular_by_day
        staffed = ones * reg if by_day is None else np.asarray(by_day[: sc.horizon], dtype=float)
        y = float(world.mean_yield[f])
        out[fac.id] = PlantCapacity(fac.id, tuple(p for p, g in makes.items() if g == f), staffed * x * y,
                                    ot * x * y, float(reg if by_day is None else by_day[-1]) * y, float(ot) * y, x,
                                    y)
    return out, known


def plant_queue(world: World) -> dict[str, list[tuple[int, float]]]:
    """Each plant's queue in the order the plant works it (oldest first; earliest due date first with a
    planned lead time): (product index, units not made yet)."""
    return {f.name: [(j.product, float(j.remaining)) for j in f.queue if j.remaining > 0] for f in world.factories}


def work_queue(queue: Iterable[tuple[int, float]], plan: Sequence[Mapping[int, float]],
               capacity: Sequence[float]) -> tuple[dict[int, float], list[tuple[int, float]]]:
    """What a rate plant makes of each product over some days, and the queue it leaves.

    As ``FactorySite.produce_day``: each day the day's plan (product -> units) joins the end of the queue, then
    the day's capacity works the queue from its oldest units. (A plant with ``capacity.planned_lead_time`` puts
    a plan's units ahead of pull orders due later; no workshop game uses one, so this projection does not.)
    """
    q: deque[list[Any]] = deque([p, u] for p, u in queue)
    made: dict[int, float] = {}
    for today, budget in zip(plan, capacity, strict=True):
        q.extend([p, u] for p, u in today.items() if u > 0)
        while budget > 1e-9 and q:
            job = q[0]
            take = min(job[1], budget)
            made[job[0]] = made.get(job[0], 0.0) + take
            budget -= take
            job[1] -= take
            if job[1] <= 1e-9:
                q.popleft()
    return made, [(int(p), float(u)) for p, u in q]


def plans_in_force(plan: Table, before: int, offset: int, column: str = "production"
                   ) -> dict[tuple[int, int], float]:
    """(product index, bucket) -> the plan records' ``column`` as the cycles before ``before`` left it (a later
    cycle's plan of a bucket replaces an earlier one's); ``offset``: the calendar's ``record_offset``."""
    out: dict[tuple[int, int], float] = {}
    for c, p, b, q in zip(plan["cycle"].tolist(), plan["product"].tolist(), plan["bucket"].tolist(),
                          plan[column].tolist(), strict=True):
        if c < before:
            out[(int(p), int(b) - offset)] = float(q)  # rows come in cycle order
    return out


def spans_from(day: int, last: int, bucket_starts: Sequence[int]) -> list[tuple[int, int, int]]:
    """(bucket, first day, end day) from ``day`` to the end of bucket ``last``: the rest of the bucket under
    way, then whole buckets."""
    now = int(np.searchsorted(np.asarray(bucket_starts), day, side="right")) - 1
    return [(b, max(bucket_starts[b], day), bucket_starts[b + 1]) for b in range(now, last + 1)]


@dataclass(frozen=True)
class PlantLoad:
    """What a rate plant has to make over days [start, end) of a bucket, worked as the plant works."""

    factory: str
    bucket: int
    start: int
    end: int
    carried: float  # units queued on the first day: earlier plans (or orders) not made yet
    planned: float  # units the plan adds over the days
    made: dict[int, float]  # product index -> units made over the days
    left: float  # units still queued after the last day: carried into the next bucket


def project_plants(queues: Mapping[str, Sequence[tuple[int, float]]], plants: Mapping[str, PlantCapacity],
                   plan: Mapping[tuple[int, int], float], spans: Sequence[tuple[int, int, int]],
                   bucket_span: Callable[[int], tuple[int, int]]) -> dict[str, list[PlantLoad]]:
    """Each rate plant's work over consecutive spans ``(bucket, first day, end day)``, from its queue on the first
    span's first day (``plant_queue``): each day the plan's share of its bucket (``plan[(product, bucket)]``
    spread evenly over the bucket's days, as the cycle releases a plan; none: 0) joins the end of the queue,
    then the day's capacity works the queue from its oldest units (``work_queue``). The dashboard's estimated
    stock and the supply review's warnings both come from it.

    In good units: the plan is, the capacity is (``PlantCapacity``), and the queue (units to work) counts at the
    plant's mean yield, so ``carried``, ``made`` and ``left`` are good units."""
    out: dict[str, list[PlantLoad]] = {}
    for f, pc in plants.items():
        if not pc.rate:
            continue
        queue = [(p, u * pc.mean_yield) for p, u in queues.get(f, [])]
        loads = []
        for b, a, z in spans:
            ba, bz = bucket_span(b)
            daily = {p: float(plan.get((p, b)) or 0.0) / (bz - ba) for p in pc.products}
            carried = sum(u for _, u in queue)
            made, queue = work_queue(queue, [daily] * (z - a), pc.daily(a, z).tolist())
            loads.append(PlantLoad(f, b, a, z, carried, sum(daily.values()) * (z - a), made,
                                   sum(u for _, u in queue)))
        out[f] = loads
    return out


# ---------------------------------------------------------------------------------------------- the check


@dataclass(frozen=True)
class Overload:
    """A plant asked to make more in a bucket than its capacity: its queue carried into the bucket and the
    bucket's plan."""

    factory: str
    bucket: int
    planned: float  # what the plan adds in the bucket
    regular: float
    overtime: float
    items: tuple[str, ...]  # what the plan makes there (products, or the team's families)
    carried: float = 0.0  # units queued when the bucket starts (earlier plans not made yet), made first
    left: float = 0.0  # units still queued when the bucket ends
    mean_yield: float = 1.0  # good units per unit worked (every quantity above is in good units)

    @property
    def capacity(self) -> float:
        return self.regular + self.overtime

    @property
    def excess(self) -> float:
        return self.carried + self.planned - self.capacity


def overloads(loads: Mapping[str, Sequence[PlantLoad]], buckets: Iterable[int], plants: Mapping[str, PlantCapacity],
              horizon: int, item_names: Callable[[int, Sequence[int]], tuple[str, ...]],
              plan: Mapping[tuple[int, int], float]) -> list[Overload]:
    """The buckets (of ``buckets``) in which what a plant has to make, the queue carried into the bucket plus
    the bucket's plan (the sum over what the plant makes), is above its regular + overtime capacity.

    ``loads``: the plants' projection (``project_plants``) over spans that hold every bucket checked whole;
    ``plan``: (product index, bucket) -> units, as projected; ``item_names``: how a warning names what a
    bucket's plan makes at a plant (from the bucket and the products planned there). A bucket that starts at
    or after ``horizon`` is not checked: the game ends before the plant could make any of it.
    """
    wanted = set(buckets)
    out = []
    for f, pc in plants.items():
        for ld in loads.get(f, ()):
            if ld.bucket not in wanted or ld.start >= horizon:
                continue
            reg, ot = pc.span(ld.start, ld.end)
            # Half a unit: a family split over its products leaves float dust that is no decision of the team.
            if ld.carried + ld.planned - (reg + ot) > 0.5:
                names = item_names(ld.bucket, [p for p in pc.products if plan.get((p, ld.bucket))])
                out.append(Overload(f, ld.bucket, ld.planned, reg, ot, names, ld.carried, ld.left, pc.mean_yield))
    return sorted(out, key=lambda o: o.bucket)


def overload_text(o: Overload, name: Callable[[int], str], label: Callable[[int], str], ends: bool) -> str:
    """A warning about an overloaded bucket: the month, the queue carried into it and its plan against
    capacity, by how much, and what happens.

    ``name``: a bucket as messages name it (``Feb (bucket 1)``); ``label``: as the dashboard does (``Feb``);
    ``ends``: the game ends with this bucket (nothing is made after it).
    """
    ex = o.excess
    share = ex / o.capacity if o.capacity > 0 else float("inf")
    what = f" ({', '.join(o.items)})" if o.items else ""
    pct = f"{100 * share:.1f}%" if np.isfinite(share) else "no capacity at all"
    here, nxt = label(o.bucket), label(o.bucket + 1)
    left = max(o.left, ex)
    then = (f"the game ends with {here}, so they are never made" if ends else
            f"they are made in {nxt} or later, ahead of {nxt}'s own plan, which then slips in turn: stock arrives "
            "later than planned")
    cap = f"capacity {o.capacity:,.0f} ({o.regular:,.0f} regular + {o.overtime:,.0f} overtime)"
    if o.mean_yield < 1.0 - 1e-9:
        # Plans count good units; the plant scraps a share of what it works, so its capacity is that much less.
        cap = (f"capacity {o.capacity:,.0f} good units ({o.regular:,.0f} regular + {o.overtime:,.0f} overtime: the "
               f"{o.capacity / o.mean_yield:,.0f} units it can work at its {100 * o.mean_yield:.3g}% mean yield)")
    if o.carried < 0.5:
        return (f"{name(o.bucket)}: planned production {o.planned:,.0f} units at {o.factory}{what}, {cap}: exceeds "
                f"capacity by {ex:,.0f} units ({pct}). The plant works its queue first come first served: the "
                f"{left:,.0f} units it cannot make in {here} stay in its queue; {then}.")
    alone = (f" The plan alone fits: the {o.carried:,.0f} units still queued from earlier plans take "
             f"{min(o.carried, o.capacity):,.0f} of {here}'s capacity first." if o.planned <= o.capacity + 0.5 else "")
    return (f"{name(o.bucket)}: {o.factory} has {o.carried + o.planned:,.0f} units to make, {o.carried:,.0f} carried "
            f"over in its queue from earlier plans + {o.planned:,.0f} newly planned{what}; {cap}: exceeds capacity by "
            f"{ex:,.0f} units ({pct}).{alone} The plant works its queue first come first served, the carried-over "
            f"units first: the {left:,.0f} units it cannot make in {here} stay in its queue; {then}.")


# ---------------------------------------------------------------------------------------------- shipping


@dataclass(frozen=True)
class ShippingExcess:
    """A plant whose plan sends more out in a bucket than its lanes carry: made and bought, against the lanes'
    capacity (``World.shipping_capacity``, units a day)."""

    factory: str
    bucket: int
    days: int  # the bucket's days
    planned: float  # units the plan makes at the plant in the bucket (all it makes)
    bought: float  # units the plan buys from subcontractors there (they leave over the plant's lanes too)
    lanes_per_day: float  # units a day the plant's lanes carry
    items: tuple[str, ...]  # what the plan makes there (products, or the team's families)

    @property
    def per_day(self) -> float:
        return (self.planned + self.bought) / self.days

    @property
    def carried(self) -> float:
        """Units the lanes carry over the bucket."""
        return self.lanes_per_day * self.days

    @property
    def excess(self) -> float:
        return self.planned + self.bought - self.carried


def shipping_excesses(world: World, sc: Scenario, plan: Mapping[tuple[int, int], float],
                      bought: Mapping[tuple[int, int], float], buckets: Iterable[int],
                      bucket_span: Callable[[int], tuple[int, int]], horizon: int,
                      item_names: Callable[[int, Sequence[int]], tuple[str, ...]]) -> list[ShippingExcess]:
    """The buckets (of ``buckets``) in which a plant's plan, its production (``plan``) and purchases (``bought``)
    of the bucket summed over what it makes ((product index, bucket) -> units), is more than its lanes carry in
    the bucket's days (``World.shipping_capacity``: a plant none of whose lanes has a capacity is not checked).
    ``item_names`` as in ``overloads``; a bucket that starts at or after ``horizon`` is not checked."""
    makes = factory_of(sc)
    wanted = sorted(set(buckets))
    out = []
    for f, fac in enumerate(sc.factories):
        k = world.shipping_capacity(f)
        if k is None:
            continue
        products = [p for p, g in makes.items() if g == f]
        for b in wanted:
            a, z = bucket_span(b)
            if a >= horizon or z <= a:
                continue
            made = sum(_units(plan.get((p, b))) for p in products)
            buy = sum(_units(bought.get((p, b))) for p in products)
            # Half a unit, as for capacity: a family split over its products leaves float dust.
            if made + buy - k * (z - a) > 0.5:
                names = item_names(b, [p for p in products if _units(plan.get((p, b))) or _units(bought.get((p, b)))])
                out.append(ShippingExcess(fac.id, b, z - a, made, buy, float(k), names))
    return sorted(out, key=lambda e: e.bucket)


def _units(x: float | None) -> float:
    """A plan's quantity, 0 for none (a bucket without a plan, or nan: nothing bought)."""
    return 0.0 if x is None or x != x else float(x)


def shipping_text(e: ShippingExcess, name: Callable[[int], str], label: Callable[[int], str], ends: bool) -> str:
    """A warning about a bucket whose plan sends more out of a plant than its lanes carry: the month, the plan per
    day (made and bought) against what the lanes carry a day, by how much, and what happens (as ``overload_text``
    says it of capacity). ``name``, ``label`` and ``ends`` as there."""
    what = f" ({', '.join(e.items)})" if e.items else ""
    here, nxt = label(e.bucket), label(e.bucket + 1)
    sent = (f"planned production {e.planned:,.0f} units + {e.bought:,.0f} bought from subcontractors"
            if e.bought >= 0.5 else f"planned production {e.planned:,.0f} units")
    pct = f"{100 * e.excess / e.carried:.1f}%" if e.carried > 0 else "they carry nothing"
    then = (f"the game ends with {here}, so they never reach the warehouses" if ends else
            f"they leave in {nxt} or later, ahead of {nxt}'s own output, which then waits in turn: stock arrives "
            "later than planned")
    return (f"{name(e.bucket)}: {sent} at {e.factory}{what}, {_rate(e.per_day)} a day over {here}'s {e.days} "
            f"days; its lanes carry {_rate(e.lanes_per_day)} a day ({e.carried:,.0f} in {here}): exceeds what they "
            f"ship by {e.excess:,.0f} units ({pct}). What the lanes cannot carry waits "
            f"at the plant's dock: {then}.")


def _rate(x: float) -> str:
    """Units a day as a team reads them: 71.4, 120, 1,250."""
    return f"{x:,.0f}" if x >= 100 or x == round(x) else f"{x:,.3g}"
