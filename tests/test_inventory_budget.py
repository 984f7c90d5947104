"""The finance review's inventory budget (``planning.inventory_budget``): the lp policy plans within it, every
plan is checked against it at the executive meeting, and the KPI counts the buckets a plan in force broke it.

The textbook case is Chopra & Meindl's Red Tomato Tools (ch. 8, scenarios/red_tomato_lp.yaml): its optimal plan
holds 1,983 units ($19,833 at the $10 unit cost) after month 1. A budget of $12,000 caps every month's ending
stock at 1,200 units; the optimum of the book's linear program with that bound is computed here independently
with scipy's linprog on the written-out model.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linprog

import simsop
from simsop.replication import run_replication
from simsop.scenario import Scenario, ScenarioError
from tests.helpers import first_plan

ROOT = Path(__file__).resolve().parent.parent
RED_TOMATO = ROOT / "scenarios" / "red_tomato_lp.yaml"


def red_tomato(budget: float | None, policy: str = "lp", **params: Any) -> Scenario:
    sc = simsop.load_scenario(RED_TOMATO)
    update: dict[str, Any] = {"inventory_budget": budget, "policy": policy}
    if params:
        update["params"] = {**sc.planning.params, **params}
    return sc.model_copy(update={"planning": sc.planning.model_copy(update=update)})


def textbook_lp(max_inventory: float) -> tuple[float, np.ndarray]:
    """Chopra & Meindl's Red Tomato program (Table 8-2's costs) with I_t <= max_inventory, solved by linprog:
    its optimal cost and inventories. Variables per month: W H L P O I S C."""
    demand = [1600, 3000, 3200, 3800, 2200, 2200]
    T, n = 6, 8
    cost = [640, 300, 500, 10, 6, 2, 5, 30]  # 20 days x 8 h x $4; hire; lay off; material; OT/h; hold; back; sub
    c = np.tile(cost, T).astype(float)

    def ix(t: int, v: int) -> int:
        return t * n + v

    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for t in range(T):
        row = np.zeros(n * T)  # W_t = W_{t-1} + H_t - L_t
        row[[ix(t, 0), ix(t, 1), ix(t, 2)]] = [1, -1, 1]
        if t:
            row[ix(t - 1, 0)] = -1
        a_eq.append(row)
        b_eq.append(80.0 if t == 0 else 0.0)
        row = np.zeros(n * T)  # I_t - S_t = I_{t-1} - S_{t-1} + P_t + C_t - D_t
        row[[ix(t, 5), ix(t, 6), ix(t, 3), ix(t, 7)]] = [1, -1, -1, -1]
        if t:
            row[[ix(t - 1, 5), ix(t - 1, 6)]] = [-1, 1]
        a_eq.append(row)
        b_eq.append(-demand[t] + (1000.0 if t == 0 else 0.0))
        row = np.zeros(n * T)  # P_t <= 40 W_t + O_t / 4
        row[[ix(t, 3), ix(t, 0), ix(t, 4)]] = [1, -40, -0.25]
        a_ub.append(row)
        b_ub.append(0.0)
        row = np.zeros(n * T)  # O_t <= 10 W_t
        row[[ix(t, 4), ix(t, 0)]] = [1, -10]
        a_ub.append(row)
        b_ub.append(0.0)
    bounds = [(0, None)] * (n * T)
    for t in range(T):
        bounds[ix(t, 5)] = (500 if t == T - 1 else 0, max_inventory)  # I_6 >= 500
        if t == T - 1:
            bounds[ix(t, 6)] = (0, 0)  # no backlog at the end
    res = linprog(c, A_ub=np.array(a_ub), b_ub=b_ub, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds,
                  method="highs")
    assert res.status == 0
    return float(res.fun), res.x.reshape(T, n)[:, 5]


def test_the_budget_is_a_validated_planning_field() -> None:
    sc = simsop.load_scenario(RED_TOMATO)
    assert sc.planning.inventory_budget is None
    with pytest.raises((ScenarioError, ValueError)):
        sc.planning.model_validate({**sc.planning.model_dump(), "inventory_budget": -1.0})


def test_the_lp_plans_within_a_binding_budget_at_the_textbook_optimum() -> None:
    """$12,000 at $10 a unit: at most 1,200 units at any month's end. The lp policy's first plan is the optimum
    of the textbook program with that bound ($432,950 against the book's $422,275 without it)."""
    exact, inventory = textbook_lp(1200.0)
    assert exact > 422_275 + 1000  # the budget binds
    state, pol, plan = first_plan(red_tomato(12_000.0))
    ap = pol.last["garden_tools"]
    assert ap.total_cost == pytest.approx(exact, rel=1e-9)
    np.testing.assert_allclose(ap.inventory, inventory, atol=1e-6)
    value = state.inventory_value(plan.production, plan.subcontract)
    assert value.max() <= 12_000 * (1 + 1e-9)
    assert "inventory budget 12,000" in plan.notes


def test_a_budget_that_does_not_bind_changes_nothing() -> None:
    """The book's plan peaks at $19,833 of stock: a $20,000 budget leaves the plan and every KPI of a run as they
    were, to the bit; the KPI then counts no bucket over the budget (nan without a budget)."""
    _, _, free = first_plan(red_tomato(None))
    _, _, loose = first_plan(red_tomato(20_000.0))
    for name in ("production", "workforce", "subcontract", "inventory_target"):
        a, b = getattr(free, name), getattr(loose, name)
        assert (a is None and b is None) or np.array_equal(a, b), name
    assert free.notes == loose.notes
    a = run_replication(red_tomato(None), seed=3).kpis
    b = run_replication(red_tomato(1e9), seed=3).kpis
    assert math.isnan(a["budget_breach_buckets"]) and b["budget_breach_buckets"] == 0
    for k in a.keys() - {"budget_breach_buckets"}:
        assert (math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k], k


def test_an_impossible_budget_still_gives_a_plan_and_says_what_gave_way() -> None:
    """$3,000 (300 units) cannot hold the 500 units the book must end with: the end conditions give way, not the
    budget, and the plan says so. Stock already held above the budget (5,000 units on hand) is no plan's
    choice: the plan makes nothing in month 1, holds the least stock it can there and is within the budget
    from month 2 on."""
    state, pol, plan = first_plan(red_tomato(3_000.0))
    assert state.inventory_value(plan.production, plan.subcontract).max() <= 3_000 * (1 + 1e-9)
    assert "end conditions dropped" in plan.notes
    state, pol, _ = first_plan(red_tomato(12_000.0))
    on_hand = np.array([5000.0])
    on_hand.setflags(write=False)
    crowded = replace(state, on_hand=on_hand)
    plan = pol.plan(crowded)
    value = crowded.inventory_value(plan.production, plan.subcontract)
    assert plan.production[0, 0] == pytest.approx(0.0, abs=1e-6)
    assert value[0] == pytest.approx((5000 - 1600) * 10)  # the least month 1 can end with
    assert value[1:].max() <= 12_000 * (1 + 1e-9)
    assert "stock already held" in plan.notes


@pytest.mark.parametrize("policy", ["level", "hybrid"])
def test_a_rule_plan_over_the_budget_is_recorded_not_trimmed(policy: str) -> None:
    """A level plan builds 1,983 units ahead of the peak; the meeting records every bucket's projected value
    against the budget, as the planning state projects the agreed plan, and leaves the plan as the rule made it."""
    sc = red_tomato(12_000.0, policy)
    state, _, plan = first_plan(sc)
    expected = state.inventory_value(plan.production, plan.subcontract)
    assert expected.max() > 12_000  # the rule breaks the budget
    res = run_replication(sc, seed=3, keep_records=True)
    free = run_replication(red_tomato(None, policy), seed=3, keep_records=True)
    table = res.records.tables["inventory_budget"]
    first = table["cycle"] == 0
    np.testing.assert_allclose(table["value"][first], expected, rtol=1e-12)
    assert (table["budget"] == 12_000).all()
    np.testing.assert_array_equal(res.records.plan["production"], free.records.plan["production"])


def test_the_kpi_counts_the_buckets_whose_plan_in_force_broke_the_budget() -> None:
    """Over a replication, budget_breach_buckets is the number of whole buckets after the warm-up whose plan in
    force (the last version agreed before it started) projected more than the budget, counted here from the
    records by hand; the level rule breaks a budget the lp plan keeps."""
    counts = {}
    for policy in ("level", "lp"):
        res = run_replication(red_tomato(12_000.0, policy), seed=3, keep_records=True)
        rows = res.records.tables["inventory_budget"].rows()
        in_force: dict[int, Any] = {}
        for r in sorted(rows, key=lambda r: (r.made, r.cycle)):
            if r.made <= r.bucket_start:
                in_force[r.bucket] = r
        m = res.records.meta
        by_hand = sum(1 for r in in_force.values() if r.bucket_start >= m.warmup
                      and r.bucket_start + r.bucket_days <= m.horizon and r.value > r.budget * (1 + 1e-9) + 1e-6)
        assert res.kpis["budget_breach_buckets"] == by_hand
        counts[policy] = by_hand
    assert counts["level"] > 0 and counts["lp"] < counts["level"]
