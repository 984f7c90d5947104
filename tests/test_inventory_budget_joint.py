"""One plan across families under the company's inventory budget (``planning.inventory_budget``).

The budget is one limit on the value of all the made products' stock per bucket. The lp policy plans every
family in one program: each family's aggregate-planning constraints down the diagonal (Chopra & Meindl, ch. 8)
and one coupling row per bucket, ``sum_f v_f I_f,t <= B_t``, so the optimiser decides which family holds the stock
the budget allows. What theory says, and what is checked here:

* the optimum is the optimum of that linear program, written out here from the textbook's equations and solved
  independently with ``scipy.optimize.linprog``;
* it costs no more than any fixed split of the budget between the families, in particular the split the policy
  used before (the headroom above the targets shared in proportion to the stock each family would hold without
  the budget), and strictly less on a case that rule splits badly: an expensive family that would hold much
  stock but saves little by it, and a cheap one that saves much per unit of money in stock;
* the coupling row's dual is the budget's shadow price: the optimal cost's derivative in the budget, checked
  against finite differences (LP duality: the one-sided differences bracket a dual, and equal it where the
  optimal basis does not change); complementary slackness: a bucket with a positive price has its stock at
  the budget, and the plan's notes name exactly those buckets.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linprog

import simsop
from simsop.planning import aggregate as agg
from simsop.planning.aggregate import AggregateCosts, AggregateInput, StockBudget, solve_lps, solve_within_budget
from simsop.planning.policies import committed_production, family_problems
from simsop.scenario import Scenario
from tests.helpers import first_plan

ROOT = Path(__file__).resolve().parent.parent
LIMITS = ROOT / "scenarios" / "teach_limits.yaml"
BUDGET = 66_000.0  # the targets fit it with room to spare, whatever the forecast


def textbook_joint(problems: list[AggregateInput], value: list[float], limit: np.ndarray) -> float:
    """The optimal cost of the families' joint program, written out from the textbook's equations (Chopra &
    Meindl, ch. 8) with one budget row per month, and solved by linprog. Variables per family and month: W H L
    P O I S C. The objective includes the ending-backlog price a rolling plan puts on S_T."""
    T = problems[0].horizon
    n = 8 * T * len(problems)
    c = np.zeros(n)
    a_eq: list[np.ndarray] = []
    b_eq: list[float] = []
    a_ub: list[np.ndarray] = []
    b_ub: list[float] = []
    bounds: list[tuple[float, float | None]] = [(0.0, None)] * n

    for f, p in enumerate(problems):
        def ix(t: int, v: int, f: int = f) -> int:
            return (f * T + t) * 8 + v

        k = p.costs
        hours = np.asarray(p.regular_hours_per_worker, dtype=float)
        wage = (hours * k.regular_wage_per_hour if k.regular_wage_per_hour is not None
                else np.full(T, k.regular_cost_per_worker))
        demand = np.asarray(p.demand, dtype=float)

        def per(x: Any, default: float) -> np.ndarray:
            return np.full(T, default) if x is None else np.broadcast_to(np.asarray(x, dtype=float), (T,))

        ot = per(p.max_overtime_hours_per_worker, 0.0)
        pmax, pmin = per(p.production_max, np.inf), per(p.production_min, 0.0)
        smax, ccap = per(p.supply_max, np.inf), per(p.subcontract_capacity, np.inf)
        imin, imax = per(p.inventory_min, 0.0), per(p.inventory_max, np.inf)
        for t in range(T):
            for v, rate in enumerate([wage[t], k.hiring_cost_per_worker, k.layoff_cost_per_worker,
                                      k.material_cost_per_unit, k.overtime_cost_per_hour, k.holding_cost_per_unit,
                                      k.backlog_cost_per_unit, k.subcontract_cost_per_unit]):
                c[ix(t, v)] = rate
            row = np.zeros(n)  # W_t = W_{t-1} + H_t - L_t
            row[[ix(t, 0), ix(t, 1), ix(t, 2)]] = [1, -1, 1]
            if t:
                row[ix(t - 1, 0)] = -1
            a_eq.append(row)
            b_eq.append(p.opening_workforce if t == 0 else 0.0)
            row = np.zeros(n)  # I_t - S_t = I_{t-1} - S_{t-1} + P_t + C_t - D_t
            row[[ix(t, 5), ix(t, 6), ix(t, 3), ix(t, 7)]] = [1, -1, -1, -1]
            if t:
                row[[ix(t - 1, 5), ix(t - 1, 6)]] = [-1, 1]
            a_eq.append(row)
            b_eq.append(-demand[t] + (p.opening_inventory - p.opening_backlog if t == 0 else 0.0))
            row = np.zeros(n)  # P_t <= u_t W_t + O_t / hours_per_unit
            row[[ix(t, 3), ix(t, 0), ix(t, 4)]] = [1, -hours[t] / p.hours_per_unit, -1 / p.hours_per_unit]
            a_ub.append(row)
            b_ub.append(0.0)
            row = np.zeros(n)  # O_t <= max overtime per worker x W_t
            row[[ix(t, 4), ix(t, 0)]] = [1, -ot[t]]
            a_ub.append(row)
            b_ub.append(0.0)
            if np.isfinite(smax[t]):
                row = np.zeros(n)  # P_t + C_t <= supply_max_t
                row[[ix(t, 3), ix(t, 7)]] = [1, 1]
                a_ub.append(row)
                b_ub.append(smax[t])
            bounds[ix(t, 3)] = (pmin[t], None if np.isinf(pmax[t]) else pmax[t])
            bounds[ix(t, 5)] = (imin[t], None if np.isinf(imax[t]) else imax[t])
            bounds[ix(t, 7)] = (0.0, None if np.isinf(ccap[t]) else ccap[t])
        last = T - 1
        end_inv = max(p.ending_inventory_min or 0.0, imin[last])
        bounds[ix(last, 5)] = (end_inv, bounds[ix(last, 5)][1])
        bounds[ix(last, 6)] = (0.0, p.ending_backlog_max)
        bounds[ix(last, 0)] = (p.ending_workforce_min or 0.0, p.ending_workforce_max)
        c[ix(last, 6)] += k.ending_backlog_cost_per_unit
    for t in range(T):  # the budget: sum_f v_f I_f,t <= B_t
        row = np.zeros(n)
        for f in range(len(problems)):
            row[(f * T + t) * 8 + 5] = value[f]
        a_ub.append(row)
        b_ub.append(float(limit[t]))
    res = linprog(c, A_ub=np.array(a_ub), b_ub=b_ub, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return float(res.fun)


def objective(problems: list[AggregateInput], plans: list[agg.AggregatePlan]) -> float:
    """What the program minimises: the plans' cost and the price it puts on a backlog left at the horizon's end."""
    return sum(ap.total_cost + p.costs.ending_backlog_cost_per_unit * float(ap.backlog[-1])
               for p, ap in zip(problems, plans, strict=True))


# Two families sharing a budget: Red Tomato's garden tools (Table 8-1, $10 a unit) and a made-up pump family that
# costs $60 a unit, holds at $3 a month and peaks in month 4, so both want stock before the peak.
COSTS = AggregateCosts(material_cost_per_unit=10, regular_wage_per_hour=4, overtime_cost_per_hour=6,
                       hiring_cost_per_worker=300, layoff_cost_per_worker=500, holding_cost_per_unit=2,
                       backlog_cost_per_unit=5, subcontract_cost_per_unit=30)
TOOLS = AggregateInput(demand=[1600, 3000, 3200, 3800, 2200, 2200], hours_per_unit=4, regular_hours_per_worker=160,
                       max_overtime_hours_per_worker=10, opening_inventory=1000, opening_workforce=80,
                       ending_inventory_min=500, costs=COSTS)
PUMPS = AggregateInput(demand=[300, 500, 700, 1100, 400, 300], hours_per_unit=6, regular_hours_per_worker=160,
                       max_overtime_hours_per_worker=8, opening_inventory=200, opening_workforce=16,
                       costs=replace(COSTS, material_cost_per_unit=60, holding_cost_per_unit=3,
                                     backlog_cost_per_unit=12, subcontract_cost_per_unit=110))
VALUE = [10.0, 60.0]


def test_the_joint_program_is_the_textbook_program_with_a_budget_row_per_month() -> None:
    """Without the budget the families hold up to $41,000 of stock together; at $25,000 a month the joint
    optimum is that of the written-out program, and its stock stays within the budget."""
    free = solve_lps([TOOLS, PUMPS])
    free_value = VALUE[0] * free[0].inventory + VALUE[1] * free[1].inventory
    assert free_value.max() > 25_000  # the budget binds
    limit = np.full(6, 25_000.0)
    got = solve_within_budget([TOOLS, PUMPS], StockBudget(np.array(VALUE), limit))
    assert objective([TOOLS, PUMPS], got.plans) == pytest.approx(textbook_joint([TOOLS, PUMPS], VALUE, limit),
                                                                 rel=1e-9)
    assert (got.value <= limit * (1 + 1e-9)).all()
    np.testing.assert_allclose(got.value, VALUE[0] * got.plans[0].inventory + VALUE[1] * got.plans[1].inventory)
    # An S&OP cycle solves a program of the same shape every month: its layout, budget rows and all, is built once.
    again = agg._program([PUMPS, TOOLS], StockBudget(np.array([5.0, 1.0]), limit * 2))
    assert again.indices is agg._program([TOOLS, PUMPS], StockBudget(np.array(VALUE), limit)).indices
    with pytest.raises(ValueError, match="share a horizon"):
        short = AggregateInput(demand=[1.0, 2.0], hours_per_unit=4, regular_hours_per_worker=160, costs=COSTS)
        solve_within_budget([TOOLS, short], StockBudget(np.array(VALUE), limit))


def test_the_shadow_price_is_the_optimal_costs_derivative_in_each_months_budget() -> None:
    """Per month, (cost(B - d) - cost(B)) / d >= price >= (cost(B) - cost(B + d)) / d (a dual is a subgradient of
    the optimal cost in the row's limit), all three equal where the basis holds; a month with a positive price
    has its stock at the budget (complementary slackness), and at least one month binds."""
    limit = np.full(6, 25_000.0)
    stock = StockBudget(np.array(VALUE), limit)
    got = solve_within_budget([TOOLS, PUMPS], stock)
    price = got.shadow_price
    assert price is not None and (price >= 0).all() and (price > 1e-6).any()
    base = objective([TOOLS, PUMPS], got.plans)
    step = 1.0
    for t in range(6):
        def cost(delta: float, t: int = t) -> float:
            moved = limit.copy()
            moved[t] += delta
            return objective([TOOLS, PUMPS], solve_within_budget([TOOLS, PUMPS], replace(stock, limit=moved)).plans)

        more, less = (base - cost(step)) / step, (cost(-step) - base) / step
        assert more - 1e-6 <= price[t] <= less + 1e-6, t
        assert price[t] == pytest.approx(more, rel=1e-6, abs=1e-6), t
        if price[t] > 1e-6:
            assert got.value[t] == pytest.approx(limit[t], rel=1e-9)


def test_whole_workers_under_a_budget_is_a_milp_without_a_shadow_price() -> None:
    limit = np.full(6, 25_000.0)
    got = solve_within_budget([TOOLS, PUMPS], StockBudget(np.array(VALUE), limit), integer_workforce=True)
    assert got.shadow_price is None and all(ap.strategy == "milp" for ap in got.plans)
    for ap in got.plans:
        np.testing.assert_array_equal(ap.workforce, np.round(ap.workforce))
    assert (got.value <= limit * (1 + 1e-9)).all()
    lp = solve_within_budget([TOOLS, PUMPS], StockBudget(np.array(VALUE), limit))
    assert objective([TOOLS, PUMPS], got.plans) >= objective([TOOLS, PUMPS], lp.plans) - 1e-6


# ------------------------------------------------------------------------------------------ the lp policy


def two_families(budget: float, **params: Any) -> Scenario:
    """teach_limits split into two one-product families: radiators ($60 a unit, 0.2 a day backorder penalty:
    stock saves little per unit of money in it) and fans ($5 a unit, 1.0 a day: stock saves much). One product
    per family, so the families' valuation of stock is the products' to the cent."""
    sc = simsop.load_scenario(LIMITS)
    radiator, fan = sc.products
    products = [radiator.model_copy(update={"family": "radiators", "unit_cost": 60.0, "backorder_penalty": 0.2}),
                fan.model_copy(update={"family": "fans", "unit_cost": 5.0, "backorder_penalty": 1.0})]
    planning = sc.planning.model_copy(update={"inventory_budget": budget, "policy": "lp",
                                              "params": {**sc.planning.params, **params}})
    return sc.model_copy(update={"products": products, "planning": planning})


def fixed_rule_split(state: Any, limit: float) -> tuple[list[AggregateInput], list[agg.AggregatePlan]]:
    """The budget shared by a fixed rule, each family planned alone within its share: the headroom above the
    inventory targets' value shared in proportion to the stock value each family would hold above its target
    without the budget (the policy's rule before the joint program)."""
    committed = committed_production(state)
    free_fps = family_problems(state, committed=committed, slushy=False)
    free = solve_lps([fp.problem for fp in free_fps])
    fps = family_problems(state, committed=committed, slushy=True)
    k = fps[0].start
    cost = np.asarray(state.unit_cost, dtype=float)
    headroom = limit - (cost[:, None] * np.asarray(state.inventory_target, dtype=float)).sum(axis=0)[k:]
    assert (headroom > 0).all()  # the targets fit the budget: nothing is cut
    unit = [fp.problem.costs.material_cost_per_unit for fp in fps]
    weights = np.stack([u * ap.inventory for u, ap in zip(unit, free, strict=True)])
    shares = weights / np.where(weights.sum(axis=0) > 0, weights.sum(axis=0), 1.0)
    problems = [replace(fp.problem, inventory_max=headroom * s / u) for fp, s, u in zip(fps, shares, unit, strict=True)]
    return problems, solve_lps(problems)


def test_the_optimiser_not_a_rule_splits_the_budget_between_families() -> None:
    """At a 66,000 budget the rule gives most of October's headroom to the radiators, which would hold the most
    stock without the budget; the joint program gives it to the fans first, whose stock saves 6 times more per
    unit of money. The joint plan's cost is that of the written-out program and more than 1% below the rule's,
    and the notes name the months the budget binds, where the plan's stock is worth the budget."""
    state, pol, plan = first_plan(two_families(BUDGET))
    committed = committed_production(state)
    fps = family_problems(state, committed=committed, slushy=True)
    problems = [fp.problem for fp in fps]
    names = [state.families[fp.family] for fp in fps]
    plans = [pol.last[n] for n in names]
    joint = objective(problems, plans)
    k = fps[0].start
    cost = np.asarray(state.unit_cost, dtype=float)
    headroom = BUDGET - (cost[:, None] * np.asarray(state.inventory_target, dtype=float)).sum(axis=0)[k:]
    value = [p.costs.material_cost_per_unit for p in problems]
    assert joint == pytest.approx(textbook_joint(problems, value, headroom), rel=1e-9)
    rule_problems, rule_plans = fixed_rule_split(state, BUDGET)
    assert joint < objective(rule_problems, rule_plans) * (1 - 0.01)

    stock = state.inventory_value(plan.production, plan.subcontract)
    assert (stock[k:] <= BUDGET * (1 + 1e-9)).all()
    said = re.search(r"the budget binds in the plan's bucket\(s\) ([\d, to]+) \(a unit more of it saves ([^)]*)\)",
                     plan.notes)
    assert said is not None, plan.notes
    buckets = [t - 1 for t in _numbers(said.group(1))]
    prices = [float(x.replace(",", "")) for x in said.group(2).split(", ")]
    assert pol.shadow_price is not None
    np.testing.assert_array_equal(np.flatnonzero(pol.shadow_price[k:] > 1e-7) + k, buckets)
    np.testing.assert_allclose(pol.shadow_price[buckets], prices, rtol=5e-3)  # printed to 3 digits
    np.testing.assert_allclose(stock[buckets], BUDGET, rtol=1e-7)


def test_the_notes_shadow_price_is_what_a_unit_more_of_budget_saves() -> None:
    """The budget is one number for every month: raising it by d lowers the optimal cost by d times the sum of the
    months' shadow prices (both one-sided differences, the basis holding)."""
    def solved(budget: float) -> tuple[float, Any]:
        state, pol, _ = first_plan(two_families(budget))
        fps = family_problems(state, committed=committed_production(state), slushy=True)
        return objective([fp.problem for fp in fps], [pol.last[state.families[fp.family]] for fp in fps]), pol

    base, pol = solved(BUDGET)
    total = float(np.nansum(pol.shadow_price))
    assert total > 0.1
    step = 5.0
    assert (base - solved(BUDGET + step)[0]) / step == pytest.approx(total, rel=1e-4)
    assert (solved(BUDGET - step)[0] - base) / step == pytest.approx(total, rel=1e-4)


def test_with_whole_workers_the_notes_say_where_the_budget_binds_without_a_price() -> None:
    """The MILP has no dual: its notes name the months its stock is at the budget, with no price."""
    state, pol, plan = first_plan(two_families(BUDGET, integer_workforce=True))
    assert pol.shadow_price is None
    said = re.search(r"the budget binds in the plan's bucket\(s\) ([\d, to]+)(;|$)", plan.notes)
    assert said is not None, plan.notes
    stock = state.inventory_value(plan.production, plan.subcontract)
    np.testing.assert_allclose(stock[[t - 1 for t in _numbers(said.group(1))]], BUDGET, rtol=1e-7)


def _numbers(spans: str) -> list[int]:
    """'2, 4 to 6' -> [2, 4, 5, 6]."""
    out: list[int] = []
    for part in spans.split(", "):
        a, _, b = part.partition(" to ")
        out += list(range(int(a), int(b or a) + 1))
    return out
