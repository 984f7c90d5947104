"""Built-in planning policies: level, chase, hybrid, lp (the aggregate-planning LP) and replay.

The aggregate policies plan by family: each family's demand plan, stock position and share of its
factory's capacity become an :class:`~simsop.planning.aggregate.AggregateInput`; the family plan is then
split into products by their net requirements, as a planner disaggregates it (:func:`split_by_need`).
A product's net requirement through a bucket is its demand plan up to that bucket, plus its backlog and
its inventory target, minus its stock on hand and on order and what earlier buckets already give it. The
forecast mix decides only where nothing is needed (and how a surplus beyond every product's need is
spread), so a product without a forecast, just launched or with its orders cancelled, still gets made for
its backlog. The families of a factory share its capacity the same way, by their net requirements
(:func:`capacity_shares`).

The frozen fence is supply already decided: there the plan in force is what gets made, so the new plan
keeps it, and each family problem starts after the fence from the stock projected at its end (the stock
at the cut-off, plus what the plan in force makes and less what the demand plan takes until then). A
backlog is thus planned in the first bucket the plan can still change, not inside the fence, where the
executive meeting would throw the quantity away.

The slushy fence is a decision the plan makes within limits: there a product's production may move from the
plan in force by at most ``slushy_change_limit`` times the larger of that plan and its demand plan
(:meth:`~simsop.planning.policy.PlanningState.slushy_interval`). A family problem bounds the family's
in-house production in those buckets by the sum of its products' intervals (``production_min`` and
``production_max``), so the LP finds its optimum within the fence and plans the later buckets for the stock
the fence lets the plan have; the split into products keeps each product within its own interval
(:func:`split_family`). The executive meeting's clipping then changes nothing, and stays as the guard for
policies that do not plan within the fences. The fence wins over capacity, as it does in the meeting: where
the fence keeps more than a family's share of its plant can make, the problem is given that much (as
overtime), and the plant makes what it can. Subcontracting is not fenced. Should the fence make a problem
unsolvable (only with ``allow_ending_backlog: false`` or an ``ending_inventory``), the family is planned
without it and the meeting clips. This is the policies' ``plan_within_slushy_fence: true``; by default
(false) they plan freely and the executive meeting clips their proposals, as planners propose unconstrained
plans and the meeting holds them to the fence. Planned within the fence, a rolling plan measured worse where
the fence binds (20 paired replications: example_company lp OTIF -0.45 points and profit -0.3%; the chase
bot of teach_collapse_rebound OTIF -6.8 points): it plans the bucket after the fence for the stock the fence
forces, often near 0, and that bucket is the next cycle's slushy anchor, which the fence then lets grow by
only a fraction of its demand. The clipped plan, planned without the fence, does not anchor so low.

To keep every problem feasible the plan is made in deviations from the inventory target: the family's
requirement in bucket t is its demand plus the change of its target stock, and its opening stock is the
position above (or below, as a backlog) the target. When a factory has no ``workforce`` entry its
capacity is fixed: one "worker" stands for one unit a day of regular capacity, hiring and layoffs are
priced out, a family works its share of each bucket's days, and plans only choose how much of that
capacity to use (with overtime where the factory has it).

Shipping is the logistics limit of the supply review: a plant's output leaves over its lanes, and a lane with a
``capacity`` carries so many units a day; what does not fit waits at the dock. The plan board splits a plant's
output among the warehouses it supplies in fixed proportions (their mean demand), so the lanes together carry at
most K units a day of it, K = ``state.shipping_capacity`` (:meth:`simsop.model.world.World.shipping_capacity`: the
least, over the capacity-limited lanes, of capacity x the plant's demand / the lane's). Every policy that plans
against capacity (lp and its MILP, level, chase, hybrid) caps a family's in-house output in bucket t at its share of
the plant (as it shares capacity) of K x days_t, beside regular + overtime capacity (the fence still wins, as over
capacity), and a plant that may hire keeps no more staff than the whole workers who make that in regular time. One
bound per plant rather than one LP row per lane and bucket: with the split fixed, a row per lane says x_w = share_w
x P_t <= c_w x days_t, which is P_t <= K x days_t for the tightest lane, so the rows add nothing the bound does not;
they would matter only if the plan chose where each unit goes, which the board does not let it, and they would need
a joint program over the families a lane carries. Subcontracted units are delivered over the plant's lanes too
(``World`` ships them as the plant's output), so what a family makes and buys share its cap: the problem's
``supply_max`` (the fence's production where it keeps more) is a joint row P_t + C_t <= share x K x days_t in the lp
and its MILP, and hybrid, the one rule that subcontracts, buys no more than the cap leaves beside its production
(level and chase buy nothing). Only a plant with a ``workforce`` entry that sets a ``subcontract_cost`` buys any, so
only its problems carry the row: a plant that cannot buy keeps the program it had. Where a plan's output, made and
bought, reaches K x days it says so in its notes (:func:`shipping_notes`). A plant none of whose lanes has a
capacity plans as before, to the bit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
from pydantic import Field, StrictBool

from simsop.dists import StrictModel
from simsop.planning import aggregate as agg
from simsop.planning import budget
from simsop.planning.decision_csv import csv_rows, integer, number, quantity_problem
from simsop.planning.labels import BucketNames
from simsop.planning.policy import Plan, PlanningState, PolicyError, register
from simsop.scenario import MAX_MAGNITUDE, Scenario

_PRICED_OUT = 1e7  # hiring/layoff cost that makes a fixed-capacity factory keep its capacity


@dataclass(frozen=True)
class FamilyProblem:
    """One family's aggregate-planning problem, and how to turn its answer back into products.

    The problem covers the buckets from ``start`` on: the buckets before are inside the frozen fence, where
    the plan in force decides what is made, so the family plan starts from the position they leave.
    """

    family: int
    products: list[int]
    factory: int
    problem: agg.AggregateInput
    required: np.ndarray  # products x buckets: cumulative net requirement through each bucket (units)
    mix: np.ndarray  # products x buckets: each product's share of the family's demand plan
    units_per_worker_day: float
    flexible: bool  # the factory's workforce may change (a workforce entry exists)
    start: int = 0  # the first bucket the family plan decides
    fenced: bool = False  # the problem carries the slushy fence (its products' intervals bound the split)
    price: float = 0.0  # the family's price per unit (its products' by the demand plan's mix)


def _workforce_spec(state: PlanningState, factory: str) -> Any:
    return next((w for w in state.workforce if w.factory == factory), None)


def fenced_buckets(committed: np.ndarray, made: np.ndarray) -> int:
    """How many buckets, from the first, the frozen fence fixes for every product a factory makes (``committed``
    from :func:`committed_production`; a bucket without a plan in force, as in the first cycle, is free)."""
    fixed = ~np.isnan(committed[made]).any(axis=0)
    return len(fixed) if fixed.all() else int(np.argmin(fixed))


def _column_shares(demand: np.ndarray) -> np.ndarray:
    """Rows' shares of each column of ``demand`` (rows x buckets); equal shares in a column without any."""
    col = demand.sum(axis=0)
    return np.where(col > 0, demand / np.where(col > 0, col, 1.0), 1.0 / len(demand))


def capacity_shares(state: PlanningState, families: dict[int, list[int]], factory: dict[int, int],
                    need: dict[int, np.ndarray], start: int) -> dict[int, np.ndarray]:
    """Each family's share of its factory's capacity in every bucket from ``start`` (columns summing to 1).

    A planner allots a shared plant the way a family plan is split into products (:func:`split_by_need`):
    by the families' cumulative net requirements (``need``, from ``start``), the forecast mix spreading only
    what none of them needs. By forecast alone, a family without a forecast got no capacity for its backlog.
    """
    days = np.asarray(state.bucket_days, dtype=float)[start:]
    out: dict[int, np.ndarray] = {}
    for fac in set(factory.values()):
        sib = sorted(f for f in families if factory[f] == fac)
        # Regular time is shared by need, overtime with it: a need the plant's regular time can meet is met in
        # regular time, which a level plan (no overtime) can use.
        rate = state.opening_capacity(fac, start)
        mix = _column_shares(np.stack([state.demand_plan[families[f], start:].sum(axis=0) for f in sib]))
        shares = split_by_need(rate * days, np.zeros(len(days)), np.stack([need[f] for f in sib]), mix,
                               np.full(mix.shape, np.nan))
        out.update(zip(sib, shares, strict=True))
    return out


# A family allotted none of a plant in a bucket still needs positive hours per worker in the problem.
_MIN_HOURS = 1e-9


def family_problems(state: PlanningState, ending_inventory: float | None = None,
                    allow_ending_backlog: bool = True, committed: np.ndarray | None = None,
                    slushy: bool = True) -> list[FamilyProblem]:
    """Build the aggregate problem of every family made in a factory.

    ``ending_inventory`` (units, per family, above the inventory target) and ``allow_ending_backlog``
    constrain the last bucket, as in textbook problems; a rolling plan usually leaves both free, and a backlog
    it ends with is then priced at the family's price in the objective (the revenue it would lose).
    ``committed`` (products x buckets, nan where free; default :func:`committed_production`) is the production
    the frozen fence keeps: the problems start after it, from the stock it and the demand plan leave.
    With ``slushy`` the problems carry the slushy fence (:func:`family_fence`): a family's in-house
    production there stays within the sum of its products' intervals.
    """
    if committed is None:
        committed = committed_production(state)
    days = np.asarray(state.bucket_days, dtype=float)
    made = state.factory_of >= 0
    k = fenced_buckets(committed, made)
    if k == state.horizon or not made.any():
        return []
    required = net_requirements(state)
    families = {f: np.nonzero((state.product_family == f) & made)[0].tolist() for f in range(len(state.families))}
    families = {f: prods for f, prods in families.items() if prods}
    factory = {f: Counter(int(state.factory_of[p]) for p in prods).most_common(1)[0][0]
               for f, prods in families.items()}
    given = {f: float(committed[prods, :k].sum()) for f, prods in families.items()}
    shares = capacity_shares(state, families, factory,
                             {f: required[prods, k:].sum(axis=0) - given[f] for f, prods in families.items()}, k)
    days_k = days[k:]
    free = np.full(state.previous_production.shape, np.nan)
    interval = state.slushy_interval() if slushy else (free, free)
    out: list[FamilyProblem] = []
    for f, prods in families.items():
        fac, share = factory[f], shares[f]
        low, high = family_fence(interval, prods, k)
        demand = state.demand_plan[prods].sum(axis=0)
        target = state.inventory_target[prods].sum(axis=0)
        requirement = np.maximum(demand + np.diff(target, prepend=target[0]), 0.0)[k:]
        # The stock the plan starts from: projected to the plan's first bucket, then through the frozen fence.
        net = (float(state.projected_stock()[prods].sum()) + given[f] - float(demand[:k].sum())
               - float(target[max(k - 1, 0)]))
        weights = state.demand_plan[prods].sum(axis=1)
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(prods), 1.0 / len(prods))
        unit_cost, price, hold_day, bo_day = (float(np.dot(a[prods], weights)) for a in (
            state.unit_cost, state.price, state.holding_per_day, state.backorder_per_day))
        mean_days = float(days_k.mean())
        ws = _workforce_spec(state, state.factories[fac])
        reg = float(state.regular_capacity[fac])
        ot_cap = float(state.overtime_capacity[fac])
        ship = shipping_caps(state, fac, share, days_k)
        ot_unit = float(state.overtime_cost_per_unit[fac]) if state.overtime_cost_per_unit is not None else 0.0
        supply_max: np.ndarray | None = None
        if ws is not None:
            # Good units a worker makes: the state's capacities are in good units too.
            u = ws.units_per_worker_day * (float(state.mean_yield[fac]) if state.mean_yield is not None else 1.0)
            # The workforce the plant has when this plan starts (the plan in force may have hired or laid off),
            # not the scenario's headcount: the plan pays for changes from there.
            w0 = state.opening_capacity(fac, k) / u * float(np.dot(share, days_k) / days_k.sum())
            wage, hire, lay = ws.wage_per_worker_day, ws.hiring_cost, ws.layoff_cost
            ot_frac = ws.overtime_hours_fraction
            if ws.overtime_cost_per_unit is not None:
                ot_unit = ws.overtime_cost_per_unit
            sub_cost = ws.subcontract_cost or 0.0
            sub_cap: float | None = None if ws.subcontract_cost is not None else 0.0
            prod_max: np.ndarray | None = None if np.isinf(high).all() else high  # the plan may hire for more
            staff_max: float | None = None
            if ship is not None:  # hiring cannot get more out than the lanes carry; the fence still wins
                prod_max = np.minimum(high, np.maximum(ship, low))
                if sub_cap is None:
                    # Bought units leave over the plant's lanes too: made and bought share the cap (the fence's
                    # production, where it keeps more, leaves nothing to buy).
                    supply_max = np.maximum(ship, low)
                # Nor does staff beyond the whole workers who make that in regular time: a rule plan (hybrid's
                # quantile of the requirement) keeps no more than them.
                staff_max = float(np.ceil(np.max(prod_max / (days_k * u)) - 1e-9))
            hours = days_k
            ot_hours = hours * ot_frac
        else:
            # The plant's "workers" are its units a day of regular capacity, priced out of hiring and layoffs;
            # the family works the share of each bucket's days its factory allots it.
            u, w0, wage, hire, lay = 1.0, reg, 0.0, _PRICED_OUT, _PRICED_OUT
            staff_max = w0
            ot_frac = ot_cap / reg if reg > 0 else 0.0
            sub_cost, sub_cap = 0.0, 0.0
            hours = np.maximum(days_k * share, _MIN_HOURS)
            ot_hours = hours * ot_frac
            cap = (reg + ot_cap) * share * days_k
            if w0 <= 0:
                low = np.minimum(low, cap)  # no plant to speak of (production lines): nothing to keep
            # The fence wins over the family's share of its plant, as in the executive meeting: the problem
            # may make what the fence keeps, in overtime, and no more.
            # Output beyond what its lanes carry away would only wait at the dock: shipping caps it like capacity.
            prod_max = np.minimum(high, np.maximum(cap if ship is None else np.minimum(cap, ship), low))
            if (low > cap).any():
                ot_hours = np.where(low > cap, np.maximum(ot_hours, low / w0 - hours), ot_hours)
        # Backlog must cost more than holding, or an LP would happily ship everything late.
        backlog_cost = max(bo_day * mean_days, 2 * hold_day * mean_days, 0.01 * price)
        costs = agg.AggregateCosts(
            material_cost_per_unit=unit_cost, overtime_cost_per_hour=ot_unit * u, hiring_cost_per_worker=hire,
            layoff_cost_per_worker=lay, holding_cost_per_unit=hold_day * mean_days,
            backlog_cost_per_unit=backlog_cost, subcontract_cost_per_unit=sub_cost, regular_wage_per_hour=wage,
            # A backlog the plan may end with is demand it may leave unserved: priced at the revenue it loses,
            # else making a unit (material) costs more than a bucket or two of backlog and the last buckets of
            # every rolling plan are planned empty (Red Tomato without an end condition laid off 65 of 80).
            ending_backlog_cost_per_unit=price if allow_ending_backlog else 0.0)
        problem = agg.AggregateInput(
            demand=requirement, hours_per_unit=1.0 / u, regular_hours_per_worker=hours, costs=costs,
            opening_inventory=max(net, 0.0), opening_backlog=max(-net, 0.0), opening_workforce=w0,
            max_overtime_hours_per_worker=ot_hours, subcontract_capacity=sub_cap, production_max=prod_max,
            production_min=low if low.any() else None, ending_inventory_min=ending_inventory,
            ending_backlog_max=None if allow_ending_backlog else 0.0,
            ending_workforce_max=staff_max, supply_max=supply_max)
        fenced = bool(low.any() or np.isfinite(high).any())
        out.append(FamilyProblem(f, prods, fac, problem, required[prods], _column_shares(state.demand_plan[prods]), u,
                                 ws is not None, k, fenced, price))
    return out


def shipping_caps(state: PlanningState, factory: int, share: np.ndarray, days: np.ndarray) -> np.ndarray | None:
    """The most good units a family may plan to make in each bucket for its plant's lanes to carry away: its
    share of the plant (``share``, as it shares capacity) of K x days, K being the plant's shipping capacity
    (:attr:`PlanningState.shipping_capacity`); None when no lane limits the plant."""
    if state.shipping_capacity is None or not np.isfinite(state.shipping_capacity[factory]):
        return None
    return float(state.shipping_capacity[factory]) * share * days


def shipping_notes(state: PlanningState, production: np.ndarray, subcontract: np.ndarray | None = None
                   ) -> list[str]:
    """Where a plan's output, made and bought (``subcontract``: the units bought, which leave over the plant's
    lanes too), reaches what its plants' lanes can carry (K x days of the bucket), plant by plant:
    ``shipping limits F-North to 120 a day in the plan's bucket(s) 2 to 12``, with the buckets that buy part of it
    (``, subcontracting included (bought in bucket(s) 2 to 12)``) and where the fences keep more than that (it will
    wait at the dock)."""
    if state.shipping_capacity is None:
        return []
    days = np.asarray(state.bucket_days, dtype=float)
    out = []
    for f, name in enumerate(state.factories):
        k = float(state.shipping_capacity[f])
        mine = np.asarray(state.factory_of) == f
        if not np.isfinite(k) or not mine.any():
            continue
        bought = (np.zeros(len(days)) if subcontract is None
                  else np.asarray(subcontract, dtype=float)[mine].sum(axis=0))
        made = np.asarray(production, dtype=float)[mine].sum(axis=0) + bought
        limit = k * days
        at = np.flatnonzero(made >= limit * (1.0 - _SHIP_TOL)).tolist()
        if not at:
            continue
        over = np.flatnonzero(made > limit * (1.0 + _SHIP_TOL) + _SHIP_TOL).tolist()
        text = f"shipping limits {name} to {_per_day(k)} a day in the plan's bucket(s) {_spans([t + 1 for t in at])}"
        buying = [t + 1 for t in at if bought[t] > _SHIP_TOL * limit[t]]
        if buying:
            text += f", subcontracting included (bought in bucket(s) {_spans(buying)})"
        if over:
            text += (f" (the fences keep more in bucket(s) {_spans([t + 1 for t in over])}: the excess waits at "
                     "the dock)")
        out.append(text)
    return out


# Output a solver put at the shipping cap may come out a few ulps either side of it once split into products.
_SHIP_TOL = 1e-6


def _per_day(x: float) -> str:
    """A rate as a planner reads it: 120, 1,250, 11.25."""
    return f"{x:,.0f}" if x >= 100 or x == round(x) else f"{x:,.3g}"


def family_fence(interval: tuple[np.ndarray, np.ndarray], products: list[int], start: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The least and most in-house production the slushy fence lets a family make in each bucket from ``start``:
    the sums of its products' intervals (``interval``: :meth:`PlanningState.slushy_interval`, nan where
    free), a product without a plan in force counting as free (from 0, without limit)."""
    lo, hi = (np.asarray(a)[products, start:] for a in interval)
    return np.nan_to_num(lo, nan=0.0).sum(axis=0), np.where(np.isnan(hi), np.inf, hi).sum(axis=0)


def net_requirements(state: PlanningState) -> np.ndarray:
    """Products x buckets: the units each product needs made from the cut-off to the end of each bucket.

    Its demand plan up to the bucket, plus its backlog and the inventory target at the bucket's end, minus
    its stock on hand and on order (with what the plan in force makes, and the demand plan takes, before the
    plan starts: :meth:`~simsop.planning.policy.PlanningState.projected_stock`); negative when the stock
    covers more than that.
    """
    return np.cumsum(state.demand_plan, axis=1) + state.inventory_target - state.projected_stock()[:, None]


def committed_production(state: PlanningState) -> np.ndarray:
    """Products x buckets: the supply the frozen fence keeps from the plan in force, what it makes and what it
    buys from subcontractors (nan: not committed)."""
    out = np.full(state.previous_production.shape, np.nan)
    frozen = min(state.frozen, state.horizon)
    out[:, :frozen] = state.previous_production[:, :frozen]
    if state.previous_subcontract is not None:
        bought = np.nan_to_num(state.previous_subcontract[:, :frozen], nan=0.0)
        out[:, :frozen] = np.where(np.isnan(out[:, :frozen]), out[:, :frozen], out[:, :frozen] + bought)
    return out


def split_by_need(production: np.ndarray, subcontract: np.ndarray, required: np.ndarray, mix: np.ndarray,
                  committed: np.ndarray) -> np.ndarray:
    """Each product's share (products x buckets, columns summing to 1) of a family's supply in each bucket.

    Bucket by bucket, a product needs its cumulative requirement (``required``, see :func:`net_requirements`)
    less what the earlier buckets give it: the plan's share, or in the frozen fence the production the plan
    in force keeps (``committed``, nan where it does not), since that is what the plant will make. Supply
    short of the needs is shared in proportion to them; supply beyond them goes by the forecast ``mix``, as
    it does when nothing is needed. When the needs are in the forecast's proportions this is the forecast
    mix; a family of one product gets all of it (exactly 1, so such plans are the same to the bit).
    """
    return _split(production, subcontract, required, mix, committed, None)[0]


def split_family(production: np.ndarray, subcontract: np.ndarray, required: np.ndarray, mix: np.ndarray,
                 committed: np.ndarray, interval: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Products x buckets: what each product of a family is made and bought, from the family's plan.

    As :func:`split_by_need` shares it, except that each product's production stays within its slushy-fence
    interval (``interval``: its least and most production, nan where free): what the fence takes from a
    product goes to the products with room (what it adds is taken from them), so the family still makes its
    plan whenever that plan is within the sum of the intervals, as a fenced family problem's is. A product
    clipped in one bucket needs that much more (or less) in the next ones, which the split then gives it.
    Purchases are shared by need, unfenced.
    """
    shares, made = _split(production, subcontract, required, mix, committed, interval)
    return made, shares * subcontract


def _split(production: np.ndarray, subcontract: np.ndarray, required: np.ndarray, mix: np.ndarray,
           committed: np.ndarray, interval: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """The supply shares of :func:`split_by_need` and each product's production (units), fenced by ``interval``."""
    n, horizon = required.shape
    if interval is not None and np.isnan(interval[0]).all() and np.isnan(interval[1]).all():
        interval = None
    if n == 1:
        made = np.ones((1, horizon)) * production
        if interval is not None:
            made = np.clip(made, np.nan_to_num(interval[0], nan=0.0), np.where(np.isnan(interval[1]), np.inf,
                                                                               interval[1]))
        return np.ones((1, horizon)), made
    shares = np.array(mix, dtype=float)
    made = np.zeros((n, horizon))
    given = np.zeros(n)
    for t in range(horizon):
        supply = production[t] + subcontract[t]
        need = np.maximum(required[:, t] - given, 0.0)
        total = float(need.sum())
        if supply > 0 and total > 0:
            shares[:, t] = need / total if supply <= total else (need + (supply - total) * mix[:, t]) / supply
        made[:, t] = shares[:, t] * production[t]
        if interval is not None:
            made[:, t] = _fit(made[:, t], interval[0][:, t], interval[1][:, t], float(production[t]), need)
        given += np.where(np.isnan(committed[:, t]), made[:, t], committed[:, t]) + shares[:, t] * subcontract[t]
    return shares, made


def _fit(x: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: float, need: np.ndarray) -> np.ndarray:
    """``x`` within [lower, upper] (nan: no bound), summing to ``total`` when the bounds allow it.

    ``x`` is clipped; what the clipping took goes to the products with room, first to those still short of
    their ``need``, then in proportion to their room; what it added is taken from the others, first from
    what they get beyond their need, then in proportion to what they get above their lower bound. Need
    first: a product the plan has no use for should not get the units another one cannot take.
    """
    lo = np.nan_to_num(lower, nan=0.0)
    hi = np.where(np.isnan(upper), np.inf, upper)
    y = np.clip(x, lo, hi)
    if (y == x).all():
        return x
    rest = total - float(y.sum())
    if rest > 0:
        for room in (np.minimum(hi - y, np.maximum(need - y, 0.0)), hi - y):
            y, rest = _share_out(y, room, rest)
    elif rest < 0:
        for room in (np.maximum(y - np.maximum(lo, need), 0.0), y - lo):
            y, rest = _share_out(y, -room, rest)
    return np.clip(y, lo, hi)  # float noise must not take a product past its bound


def _share_out(y: np.ndarray, room: np.ndarray, rest: float) -> tuple[np.ndarray, float]:
    """Move ``y`` by ``rest`` in all (``room``: how far each may move, of the sign of ``rest``; inf: without
    limit), in proportion to the rooms (equally among the unlimited ones); returns y and what is left."""
    if rest == 0:
        return y, 0.0
    unlimited = np.isinf(room)
    if unlimited.any():
        return y + rest * unlimited / unlimited.sum(), 0.0
    space = float(room.sum())
    if space == 0 or (space > 0) != (rest > 0):
        return y, rest
    part = min(rest / space, 1.0)
    return y + room * part, rest - space * part


class AggregateParams(StrictModel):
    """Parameters of the aggregate policies (level, chase, lp): yes/no values are true or false, not text."""

    integer_workforce: StrictBool = Field(default=False, description="whole workers (a MILP for lp)")
    ending_inventory: float | None = Field(default=None, ge=0, le=MAX_MAGNITUDE,
                                           description="units per family above the target at the end")
    allow_ending_backlog: StrictBool = True
    plan_within_slushy_fence: StrictBool = Field(
        default=False, description="the family problems carry the slushy fence (default false: plan freely and "
        "let the executive meeting clip the proposal)")


class LevelParams(AggregateParams):
    no_shortage: StrictBool = Field(
        default=True, description="staff for the least level rate that meets every bucket's cumulative requirement "
        "on time (false: the textbook's rate for the horizon's total, which may plan a shortage before a peak)")


class HybridParams(AggregateParams):
    workforce_quantile: float = Field(default=0.5, ge=0, le=1, description="quantile of the requirement staffed")


class AggregatePolicy:
    """Plans every family with one aggregate strategy, then splits the plan into products."""

    name = "aggregate"
    respects_fences = True
    Params: ClassVar[type[StrictModel]] = AggregateParams

    def __init__(self, integer_workforce: bool = False, ending_inventory: float | None = None,
                 allow_ending_backlog: bool = True, plan_within_slushy_fence: bool = False) -> None:
        self.integer_workforce = bool(integer_workforce)
        self.ending_inventory = ending_inventory
        self.allow_ending_backlog = bool(allow_ending_backlog)
        self.slushy_in_plan = bool(plan_within_slushy_fence)
        self.last: dict[str, agg.AggregatePlan] = {}  # the latest family plans, for inspection
        # Per bucket of the latest plan made within the inventory budget, its shadow price (nan in the frozen
        # buckets; None: no such plan, or a MILP, which has no dual).
        self.shadow_price: np.ndarray | None = None

    # Whether the policy plans within ``planning.inventory_budget`` (an optimiser can; a rule cannot, and its plan
    # is only checked against the budget at the executive meeting).
    plans_within_budget: ClassVar[bool] = False

    def solve(self, problem: agg.AggregateInput) -> agg.AggregatePlan:  # pragma: no cover - overridden
        raise NotImplementedError

    def solve_all(self, problems: list[agg.AggregateInput]) -> list[agg.AggregatePlan]:
        """The plans of the families' problems (independent of each other), in order."""
        return [self.solve(p) for p in problems]

    def _solved(self, state: PlanningState, fps: list[FamilyProblem], committed: np.ndarray
                ) -> tuple[list[FamilyProblem], list[agg.AggregatePlan]]:
        """The family problems and their plans; a family whose fenced problem has no solution is planned
        without the slushy fence (the executive meeting then clips it), so the fence never costs a plan."""
        try:
            return fps, self.solve_all([fp.problem for fp in fps])
        except agg.AggregatePlanningError:
            if not any(fp.fenced for fp in fps):
                raise
        free = family_problems(state, self.ending_inventory, self.allow_ending_backlog, committed, slushy=False)
        out: list[tuple[FamilyProblem, agg.AggregatePlan]] = []
        for fp, unfenced in zip(fps, free, strict=True):
            try:
                out.append((fp, self.solve(fp.problem)))
            except agg.AggregatePlanningError:
                if not fp.fenced:
                    raise
                out.append((unfenced, self.solve(unfenced.problem)))
        return [fp for fp, _ in out], [ap for _, ap in out]

    def plan(self, state: PlanningState) -> Plan:
        P, H = len(state.products), state.horizon
        self.last = {}
        self.shadow_price = None
        committed = committed_production(state) if self.respects_fences else np.full((P, H), np.nan)
        fps = family_problems(state, self.ending_inventory, self.allow_ending_backlog, committed,
                              slushy=self.respects_fences and self.slushy_in_plan)
        fps, plans = self._solved(state, fps, committed)
        plan = self._assemble(state, fps, plans, committed)
        if self.plans_within_budget and state.inventory_budget is not None:
            return self._within_budget(state, committed, fps, plans, plan)
        return plan

    def _assemble(self, state: PlanningState, fps: list[FamilyProblem], plans: list[agg.AggregatePlan],
                  committed: np.ndarray, inventory_target: np.ndarray | None = None, extra: str = "") -> Plan:
        """The products' plan from the families' plans (split by need), with the frozen fence's production."""
        P, H = len(state.products), state.horizon
        production = np.zeros((P, H))
        subcontract = np.zeros((P, H))
        workforce = np.full((len(state.factories), H), np.nan)
        notes = []
        self.last = {}
        made = state.factory_of >= 0
        k = fenced_buckets(committed, made) if made.any() else 0
        # Inside the frozen fence the plan in force is what gets made: the new plan says so rather than
        # proposing quantities the executive meeting would throw away.
        production[made, :k] = committed[made, :k]
        interval = state.slushy_interval()
        for fp, ap in zip(fps, plans, strict=True):
            self.last[state.families[fp.family]] = ap
            family = np.concatenate([np.zeros(fp.start), ap.production])
            bought = np.concatenate([np.zeros(fp.start), ap.subcontracted])
            fence = (interval[0][fp.products], interval[1][fp.products]) if fp.fenced else None
            made_p, bought_p = split_family(family, bought, fp.required, fp.mix, committed[fp.products], fence)
            production[fp.products, fp.start:] = made_p[:, fp.start:]
            subcontract[fp.products] += bought_p
            if fp.flexible:
                cap = np.concatenate([np.full(fp.start, np.nan), ap.workforce * fp.units_per_worker_day])
                workforce[fp.factory] = np.where(np.isnan(workforce[fp.factory]), cap, workforce[fp.factory] + cap)
            # A plant of fixed capacity prices changes of its "workers" out of the problem (_PRICED_OUT): they
            # are not costs of the plan and would read as hundreds of millions.
            cost = ap.total_cost if fp.flexible else ap.total_cost - ap.costs.hiring - ap.costs.layoff
            notes.append(f"{state.families[fp.family]}: {ap.strategy} cost {cost:,.0f}")
        notes += shipping_notes(state, production, subcontract)
        if extra:
            notes.append(extra)
        has_wf = bool(np.isfinite(workforce).any())
        return Plan(production=production, workforce=workforce if has_wf else None,
                    subcontract=subcontract if subcontract.any() else None, inventory_target=inventory_target,
                    notes="; ".join(notes))

    def _within_budget(self, state: PlanningState, committed: np.ndarray, fps: list[FamilyProblem],
                       plans: list[agg.AggregatePlan], plan: Plan) -> Plan:
        """The plan re-made within ``state.inventory_budget`` when it breaks it: every family in one program
        whose budget rows couple them (see :func:`budget_rungs`); a plan within the budget is returned as it is,
        to the bit."""
        limit = state.inventory_budget
        assert limit is not None
        made = state.factory_of >= 0
        k = fenced_buckets(committed, made) if made.any() else 0
        production = np.asarray(plan.production, dtype=float)
        if self.respects_fences:
            # The plan the meeting will agree: held to the slushy fence (the frozen one it already keeps).
            lo, hi = state.slushy_interval()
            production = np.where(np.isnan(lo), production, np.clip(production, np.nan_to_num(lo, nan=0.0),
                                                                    np.nan_to_num(hi, nan=np.inf)))
        value = state.inventory_value(production, plan.subcontract)
        # The frozen buckets make what the plan in force says: their stock is not the plan's to change, but it
        # breaks the budget all the same (budget_breach_buckets counts it), so the notes say so.
        frozen = np.flatnonzero(budget.over_budget(value[:k], limit)).tolist()
        fenced = (f"the frozen bucket(s) {_spans([t + 1 for t in frozen])} hold stock worth up to "
                  f"{max(value[t] for t in frozen):,.0f} against the inventory budget {limit:,.0f} (the fence "
                  "keeps their production)") if frozen else ""
        if not fps or not budget.over_budget(value[k:], limit).any():
            return replace(plan, notes="; ".join(n for n in (plan.notes, fenced) if n)) if fenced else plan
        wanted = np.asarray(state.inventory_target, dtype=float)
        # The family problems value stock at each family's mean unit cost; the products' split may come out a
        # little above the budget (0.1% of it in the example company): the excess is taken off that bucket's
        # budget (its target cut and its headroom alike) and the families planned again, twice at most.
        limits = np.full(state.horizon, float(limit))
        for _ in range(3):
            target = budget.trimmed_target(wanted, state.unit_cost, made, limits)
            if target is not None:
                target.setflags(write=False)
            now = replace(state, inventory_target=target) if target is not None else state
            # Within the slushy fence, whatever plan_within_slushy_fence says: the meeting's clipping of a plan
            # made freely would move its stock, bucket after bucket, off the budget it was planned within.
            fresh = family_problems(now, self.ending_inventory, self.allow_ending_backlog, committed,
                                    slushy=self.respects_fences)
            out_fps, out_plans, said = self._solve_within(now, fresh, limits, fps, plans)
            out = self._assemble(now, out_fps, out_plans, committed)
            excess = now.inventory_value(out.production, out.subcontract) - limit
            if not budget.over_budget(excess[k:] + limit, limit).any():
                break
            limits = np.maximum(limits - np.maximum(excess, 0.0), 0.0)
        if target is not None:
            cut = np.flatnonzero((target[made] < wanted[made]).any(axis=0)).tolist()
            said.insert(0, f"inventory target cut to the budget in the plan's bucket(s) {_spans([t + 1 for t in cut])}")
        if fenced:
            said.append(fenced)
        extra = f"inventory budget {limit:,.0f}" + (": " + "; ".join(said) if said else "")
        return self._assemble(now, out_fps, out_plans, committed, target, extra)

    def solve_within_budget(self, problems: list[agg.AggregateInput], stock: agg.StockBudget) -> agg.BudgetedPlans:
        """The families' plans in one program under the budget (only a policy that ``plans_within_budget``)."""
        raise NotImplementedError  # pragma: no cover - a policy that plans within the budget overrides it

    def _solve_within(self, state: PlanningState, fps: list[FamilyProblem], limits: np.ndarray,
                      free_fps: list[FamilyProblem], free_plans: list[agg.AggregatePlan]
                      ) -> tuple[list[FamilyProblem], list[agg.AggregatePlan], list[str]]:
        """The families' plans within the budget, in one program (:func:`budget_rungs`), giving way in order when
        it has none; should even the last rung have none, the plans made without the budget (``free_fps``,
        ``free_plans``). Also what gave way, and where the budget binds with its shadow price (the notes')."""
        self.shadow_price = None
        for rung in budget_rungs(state, fps, limits):
            try:
                got = self.solve_within_budget(rung.problems, rung.stock)
            except agg.AggregatePlanningError:
                continue
            start = fps[0].start
            if got.shadow_price is not None:
                self.shadow_price = np.concatenate([np.full(start, np.nan), got.shadow_price])
            said = [x for x in (rung.why, budget_binds(got, rung, start)) if x]
            return [replace(fp, problem=p) for fp, p in zip(fps, rung.problems, strict=True)], got.plans, said
        return free_fps, free_plans, ["no plan within the budget, planned without it"]


class BudgetRung(NamedTuple):
    """One rung of the ladder of :func:`budget_rungs`: the families' problems under one stock budget."""

    problems: list[agg.AggregateInput]
    stock: agg.StockBudget  # the coupling rows: each family's unit value, and the headroom per bucket
    why: str  # what gave way to reach this rung ("" on the first, when nothing did)
    held: np.ndarray  # per bucket: the limit is the stock already held (above the budget), not the budget's


def budget_rungs(state: PlanningState, fps: list[FamilyProblem], limits: np.ndarray) -> list[BudgetRung]:
    """The families' problems under the company's budget as one program, then the same with what gives way, in
    order, each with what it says gave way.

    The budget (``limits``, per planning bucket) is one limit on all the families' stock: the program plans them
    together, the families' constraints down the diagonal and, per bucket, one row ``sum_f v_f I_f,t <= headroom_t``
    (:func:`simsop.planning.aggregate.solve_within_budget`), so the optimiser decides which family holds the stock
    the budget allows. ``I_f,t`` is the family's stock above its inventory target, ``v_f`` its mean unit cost;
    the headroom is the budget less the value of every made product's target, which fits the budget (the target
    is cut to it first, :func:`simsop.planning.budget.trimmed_target`). A family below its target frees no budget
    for another (its units short of the target are no money to spend), as a product's shortage counts as 0.

    Where the stock already held, or the production the fences keep, is worth more than the headroom even when
    every family makes the least it can and buys nothing, no plan is within the budget: the row's limit there is
    that least stock's value, which every plan holds anyway. If the problems have end conditions
    (``ending_inventory``, ``allow_ending_backlog: false``), they give way next: dropped, the backlog then planned
    to the horizon's end priced at each family's price.
    """
    if not fps:
        return []
    k = fps[0].start
    made = state.factory_of >= 0
    cost = np.asarray(state.unit_cost, dtype=float)
    held = (cost[made, None] * np.asarray(state.inventory_target, dtype=float)[made]).sum(axis=0)[k:]
    headroom = np.maximum(np.asarray(limits, dtype=float)[k:] - held, 0.0)
    value = np.array([fp.problem.costs.material_cost_per_unit for fp in fps], dtype=float)
    least = np.zeros(len(headroom))
    for v, fp in zip(value.tolist(), fps, strict=True):
        d = fp.problem._data
        least += v * np.maximum(fp.problem.opening_inventory - fp.problem.opening_backlog
                                + np.cumsum(d.production_min - d.demand), 0.0)
    over = budget.over_budget(least, headroom)
    stock = agg.StockBudget(value, np.where(over, np.maximum(least, headroom), headroom))
    said = (f"the stock already held or kept by the fences is worth more than the budget in the plan's bucket(s) "
            f"{_spans([int(t) + k + 1 for t in np.flatnonzero(over)])}; planned at the least stock it can hold "
            "there") if over.any() else ""
    problems = [fp.problem for fp in fps]
    out = [BudgetRung(problems, stock, said, over)]
    if any(p.ending_inventory_min is not None or p.ending_backlog_max is not None for p in problems):
        loose = [replace(p, ending_inventory_min=None, ending_backlog_max=None,
                         costs=replace(p.costs, ending_backlog_cost_per_unit=p.costs.ending_backlog_cost_per_unit
                                       or fp.price)) for p, fp in zip(problems, fps, strict=True)]
        ends = "end conditions dropped (backlog may be planned to the end) to stay within the budget"
        out.append(BudgetRung(loose, stock, "; ".join(x for x in (said, ends) if x), over))
    return out


def budget_binds(got: agg.BudgetedPlans, rung: BudgetRung, start: int) -> str:
    """Where the joint plan's stock is at the budget, with the budget's shadow price there (what a unit more of
    budget would save, from the coupling row's dual): ``the budget binds in the plan's bucket(s) 9 to 10 (a unit
    more of it saves 0.42, 0.05)``; empty where it binds nowhere. Buckets whose limit is the stock already held
    (above the budget) are not the budget's: :func:`budget_rungs` says so. Where the target was cut to the budget,
    the price is that of stock above the cut target (a unit more of budget would raise the target too)."""
    limit = np.asarray(rung.stock.limit, dtype=float)
    # A positive dual means the row is tight (complementary slackness) and costs something; a MILP has no dual:
    # its stock at a positive limit. (At a limit of 0, the target cut to the budget, a plan short of its target
    # is "at" it without the budget costing anything.)
    at = (got.shadow_price > _BIND_TOL if got.shadow_price is not None
          else (got.value >= limit * (1.0 - _BIND_TOL) - _BIND_TOL) & (limit > _BIND_TOL))
    where = np.flatnonzero(at & ~rung.held & np.isfinite(limit))
    if where.size == 0:
        return ""
    text = f"the budget binds in the plan's bucket(s) {_spans([int(t) + start + 1 for t in where])}"
    if got.shadow_price is not None:
        text += f" (a unit more of it saves {', '.join(f'{got.shadow_price[t]:,.3g}' for t in where)})"
    return text


_BIND_TOL = 1e-7


@register("level")
class LevelPolicy(AggregatePolicy):
    """Level strategy: a constant workforce and output, inventory absorbs the swings."""

    name = "level"
    Params: ClassVar[type[StrictModel]] = LevelParams

    def __init__(self, no_shortage: bool = True, **options: Any) -> None:
        super().__init__(**options)
        self.no_shortage = bool(no_shortage)

    def solve(self, problem: agg.AggregateInput) -> agg.AggregatePlan:
        return agg.level_plan(problem, integer_workforce=self.integer_workforce, no_shortage=self.no_shortage)


@register("chase")
class ChasePolicy(AggregatePolicy):
    """Chase strategy: output follows the requirement bucket by bucket."""

    name = "chase"

    def solve(self, problem: agg.AggregateInput) -> agg.AggregatePlan:
        return agg.chase_plan(problem, integer_workforce=self.integer_workforce)


@register("hybrid")
class HybridPolicy(AggregatePolicy):
    """Hybrid: a steady workforce at a quantile of the requirement, overtime and subcontracting for peaks."""

    name = "hybrid"
    Params: ClassVar[type[StrictModel]] = HybridParams

    def __init__(self, workforce_quantile: float = 0.5, **options: Any) -> None:
        super().__init__(**options)
        if not 0 <= workforce_quantile <= 1:
            raise PolicyError(f"hybrid: workforce_quantile must be in [0, 1], got {workforce_quantile}")
        self.quantile = workforce_quantile

    def solve(self, problem: agg.AggregateInput) -> agg.AggregatePlan:
        return agg.hybrid_plan(problem, workforce_quantile=self.quantile, integer_workforce=self.integer_workforce)


@register("lp")
class LinearProgramPolicy(AggregatePolicy):
    """The aggregate-planning linear program (HiGHS), re-solved each cycle over the rolling horizon."""

    name = "lp"
    plans_within_budget = True

    def solve(self, problem: agg.AggregateInput) -> agg.AggregatePlan:
        return agg.solve_lp(problem, integer_workforce=self.integer_workforce)

    def solve_all(self, problems: list[agg.AggregateInput]) -> list[agg.AggregatePlan]:
        return agg.solve_lps(problems, integer_workforce=self.integer_workforce)  # one solver call per cycle

    def solve_within_budget(self, problems: list[agg.AggregateInput], stock: agg.StockBudget) -> agg.BudgetedPlans:
        return agg.solve_within_budget(problems, stock, integer_workforce=self.integer_workforce)


# ---------------------------------------------------------------------------------------------- replay


@dataclass(frozen=True)
class Decision:
    line: int
    cycle: int
    item: str  # a product or a family id
    bucket: int  # absolute bucket index: 0 is the bucket that starts on day 0
    production: float
    inventory_target: float | None


class ReplayError(PolicyError):
    """A decisions file that cannot be replayed; the message names the file and line of each problem."""

    where = "params.file"


class ReplayParams(StrictModel):
    file: str = Field(min_length=1, description="the decisions CSV (relative to the scenario file)")
    missing: Literal["error", "hold"] = Field(default="error", description="a cycle without rows: error, or hold "
                                              "the plan in force")


def read_decisions(path: Path) -> list[Decision]:
    """Read a decisions CSV: cycle, product (or family, or item), bucket, production[, inventory_target].

    Read as the workshop reads its teams' files (the same format): UTF-8 with or without a byte-order mark
    (a spreadsheet's "CSV UTF-8"), commas (a hint when the file uses ``;``), no row longer than the header.
    Every problem is reported with the file and line; a row given twice (same cycle, item and bucket) is one.

    Raises:
        ReplayError: one line per problem.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReplayError(f"{path}: cannot read the decisions file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ReplayError(f"{path}: line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as "
                          "CSV UTF-8") from None
    problems: list[str] = []
    header, rows = csv_rows(text, str(path), ("cycle", "bucket", "production"), problems, "production")
    item_col = next((c for c in ("product", "family", "item") if c in header), None)
    if not problems and item_col is None and text.strip():
        problems.append(f"{path}: line 1: missing column(s) product (or family, or item); found {header}")
    if problems:
        raise ReplayError("\n".join(problems))
    out: list[Decision] = []
    seen: dict[tuple[int, str, int], int] = {}
    for n, row in rows:
        assert item_col is not None
        cycle, bucket = integer(row["cycle"]), integer(row["bucket"])
        qty = number(row["production"])
        tgt_text = row.get("inventory_target", "")
        tgt = number(tgt_text) if tgt_text else None
        item = row[item_col]
        bad = [f"{what} must be a whole number >= 0, got {row[what]!r}"
               for what, x in (("cycle", cycle), ("bucket", bucket)) if x is None or x < 0]
        bad += [why for why in (quantity_problem("production", row["production"], qty),
                                tgt_text and quantity_problem("inventory_target", tgt_text, tgt)) if why]
        if not item:
            bad.append(f"empty {item_col}")
        problems += [f"{path}: line {n}: {why}" for why in bad]
        if bad:
            continue
        assert cycle is not None and bucket is not None and qty is not None
        key = (cycle, item, bucket)
        if key in seen:
            problems.append(f"{path}: line {n}: a second row for cycle {cycle}, {item}, bucket {bucket} (the first "
                            f"is on line {seen[key]}); give each decision once")
            continue
        seen[key] = n
        out.append(Decision(n, cycle, item, bucket, qty, tgt))
    if problems:
        raise ReplayError("\n".join(problems))
    if not out:
        raise ReplayError(f"{path}: no decisions in the file")
    return out


def _spans(numbers: Sequence[int]) -> str:
    """[1, 2, 3, 5] -> '1 to 3, 5'."""
    parts: list[str] = []
    for x in sorted(numbers):
        if parts and parts[-1].split(" to ")[-1] == str(x - 1):
            parts[-1] = f"{parts[-1].split(' to ')[0]} to {x}"
        else:
            parts.append(str(x))
    return ", ".join(parts)


def _mix(products: list[int], demand: np.ndarray) -> list[tuple[int, float]]:
    """Each product's share of the products' demand (equal shares when they have none)."""
    dem = demand[products]
    total = float(dem.sum())
    shares = dem / total if total > 0 else np.full(len(products), 1.0 / max(len(products), 1))
    return list(zip(products, shares.tolist(), strict=True))


@register("replay")
class ReplayPolicy:
    """Replays recorded decisions (a company's approved plans, a workshop team's rounds) exactly.

    The file gives, per cycle, the production of products (or families, split by the demand plan) in
    absolute buckets. Buckets a cycle does not mention keep the plan in force. Recorded decisions are taken
    as they are: the time fences are not applied to them.

    The file is read when the policy is built; :meth:`check_scenario` checks it against a scenario (its
    products and families, the cycles its horizon plans and the buckets each cycle may plan), which the
    scenario loader does, so ``simsop validate`` reports a file that cannot be replayed.
    """

    name = "replay"
    respects_fences = False
    wants_base_dir = True
    Params: ClassVar[type[StrictModel]] = ReplayParams

    def __init__(self, file: str, base_dir: str | None = None, missing: str = "error") -> None:
        path = Path(file)
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if missing not in ("error", "hold"):
            raise ReplayError(f"replay: missing must be 'error' or 'hold', got {missing!r}",
                              [("params.missing", f"expected 'error' or 'hold', got {missing!r}")])
        self.path = path
        self.missing = missing
        self.decisions = read_decisions(path)
        self.by_cycle: dict[int, list[Decision]] = {}
        for d in self.decisions:
            self.by_cycle.setdefault(d.cycle, []).append(d)
        self._checked = False

    def _problems(self, products: Sequence[str], families: Mapping[str, Sequence[str]], made: set[str],
                  first_buckets: Sequence[int] | None, horizon: str = "",
                  names: Callable[[int], str] = "bucket {}".format) -> list[str]:
        """What cannot be replayed. ``made``: the products a factory makes (only they can be produced);
        ``first_buckets``: the first bucket each planned cycle may plan (None: not known; then only gaps
        between the file's cycles are missing cycles); ``names``: a bucket as messages name it."""
        known, product_ids = [*families, *products], set(products)
        bad = [f"{self.path}: line {d.line}: unknown product or family {d.item!r}; expected one of "
               f"{', '.join(known)}" for d in self.decisions if d.item not in product_ids and d.item not in families]
        for d in self.decisions:
            if d.production <= 0:
                continue
            if d.item in product_ids and d.item not in made:
                bad.append(f"{self.path}: line {d.line}: no factory makes {d.item!r}, so no production can be "
                           f"planned for it")
            elif d.item not in product_ids and d.item in families and not made & set(families[d.item]):
                bad.append(f"{self.path}: line {d.line}: no factory makes a product of family {d.item!r}, so no "
                           f"production can be planned for it")
        rows = {(d.cycle, d.item, d.bucket): d.line for d in self.decisions}
        for (c, item, b), n in rows.items():
            if item in product_ids:
                continue  # a product named like its family is the product (plan() reads it so)
            both = [(p, rows[(c, p, b)]) for p in families.get(item, ()) if (c, p, b) in rows]
            if both:
                bad.append(f"{self.path}: line {n}: family {item} and its product {both[0][0]} (line {both[0][1]}) "
                           f"are both planned for cycle {c}, {names(b)}; give one or the other")
        if first_buckets is None:
            cycles = sorted(self.by_cycle)
            missing = sorted(set(range(cycles[0], cycles[-1] + 1)) - set(cycles))
            what = f"between cycles {cycles[0]} and {cycles[-1]}"
        else:
            missing = [c for c in range(len(first_buckets)) if c not in self.by_cycle]
            what = (f"the simulation plans cycles 0 to {len(first_buckets) - 1}{horizon}" if first_buckets
                    else f"the simulation plans no cycle{horizon}")
            for d in self.decisions:
                if d.cycle < len(first_buckets) and d.bucket < first_buckets[d.cycle]:
                    bad.append(f"{self.path}: line {d.line}: {names(d.bucket)} is already under way or past at "
                               f"cycle {d.cycle} (its plan starts at {names(first_buckets[d.cycle])})")
        if missing and self.missing == "error":
            s = "s" if len(missing) > 1 else ""
            bad.append(f"{self.path}: no decisions for cycle{s} {_spans(missing)} ({what}); add rows for "
                       f"{'them' if s else 'it'} or set missing: hold")
        return bad

    def check_scenario(self, scenario: Scenario) -> list[tuple[str, str]]:
        """The file against a scenario: its products and families, every cycle its horizon plans (unless
        ``missing: hold``), and no bucket before the first one a cycle plans. Rows of later cycles are
        allowed (a file recorded over a longer run)."""
        from simsop.planning.cycle import cycle_buckets, planned_cycles

        families: dict[str, list[str]] = {}
        for p in scenario.products:
            families.setdefault(p.family, []).append(p.id)
        made = {p for f in scenario.factories for p in f.products}
        firsts = planned_cycles(scenario.planning, scenario.horizon)
        starts, first = cycle_buckets(scenario.planning, scenario.horizon)
        # Named as the file numbers them, with the month (or days) a planner knows them by: "Apr (bucket 3)".
        names = BucketNames(scenario.planning.bucket, [int(x) for x in starts[first:]])
        bad = self._problems([p.id for p in scenario.products], families, made, firsts,
                             f" within its {scenario.horizon}-day horizon", names)
        self._checked = not bad
        return [("file", line) for line in bad]

    def _check(self, state: PlanningState) -> None:
        families = {f: [p for i, p in enumerate(state.products) if state.product_family[i] == k]
                    for k, f in enumerate(state.families)}
        made = {p for i, p in enumerate(state.products) if state.factory_of[i] >= 0}
        bad = self._problems(state.products, families, made, None)
        if bad:
            raise ReplayError("\n".join(bad))
        self._checked = True

    def plan(self, state: PlanningState) -> Plan:
        if not self._checked:
            self._check(state)
        rows = self.by_cycle.get(state.cycle)
        if rows is None and self.missing == "error":
            raise ReplayError(f"{self.path}: no decisions for cycle {state.cycle} (the simulation reached it on "
                              f"day {state.day}); add rows for it or set missing: hold")
        P, H = len(state.products), state.horizon
        production = np.nan_to_num(np.asarray(state.previous_production, dtype=float), nan=0.0).copy()
        target = np.asarray(state.inventory_target, dtype=float).copy()
        first = int(state.bucket_index[0])
        pidx = {p: i for i, p in enumerate(state.products)}
        fidx = {f: i for i, f in enumerate(state.families)}
        touched = np.zeros((P, H), dtype=bool)
        for d in rows or []:
            t = d.bucket - first
            if t < 0:
                raise ReplayError(f"{self.path}: line {d.line}: bucket {d.bucket} is already under way or past at "
                                  f"cycle {d.cycle} (the plan starts at bucket {first})")
            if t >= H:
                continue  # beyond this cycle's horizon: a later cycle may carry it (validate notes rows none does)
            if d.item in pidx:
                made = stocked = [(pidx[d.item], 1.0)]
            else:
                # A family's production goes to the products its factories make, by the demand plan's mix; its
                # inventory target to every product of the family.
                members = [p for p in range(P) if state.product_family[p] == fidx[d.item]]
                stocked = _mix(members, state.demand_plan[:, t])
                made = _mix([p for p in members if state.factory_of[p] >= 0], state.demand_plan[:, t])
            for p, s in made:
                production[p, t] = (production[p, t] if touched[p, t] else 0.0) + d.production * s
                touched[p, t] = True
            if d.inventory_target is not None:
                for p, s in stocked:
                    target[p, t] = d.inventory_target * s
        return Plan(production=production, inventory_target=target, notes=f"replayed from {self.path.name}")
