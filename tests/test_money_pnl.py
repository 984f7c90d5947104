"""The P&L a controller would sign: accounting identities of the money KPIs.

A unit bought from a subcontractor and sold costs its all-in subcontract price once (the plan's price:
materials are charged on in-house production only, Chopra & Meindl ch. 8); a window's P&L (a shock's) is
that of the window's own KPIs, the S&OP plans' costs included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import simsop
from simsop.kpi import _window_view, compute_kpis, shock_kpis
from simsop.planning.cycle import PlanningCycle
from simsop.planning.kpis import PLANNING_COSTS
from simsop.planning.policy import Plan, PlanningState
from simsop.replication import run_replication
from simsop.scenario import Scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
COST_LINES = ("cogs", "holding_cost", "backorder_cost", "lost_sale_cost", "transport_cost", "overtime_cost",
              "fixed_cost", *PLANNING_COSTS)
CENT = 0.005


class _BuysIn:
    """Makes nothing and buys 100 units a bucket from the subcontractor."""

    name = "buys_in"
    respects_fences = False

    def plan(self, state: PlanningState) -> Plan:
        shape = state.demand_plan.shape
        return Plan(production=np.zeros(shape), subcontract=np.full(shape, 100.0))


def test_a_subcontracted_unit_sold_costs_its_all_in_price_once() -> None:
    """Red Tomato buys every unit in at $30, the book's all-in subcontract price (its plan adds no material to
    it), and sells from its 1,000 opening units ($10 each) and what it buys. Materials and subcontracting then
    cost $10 x (opening - closing stock) + $30 x units bought; the bought units were priced $30 and their unit
    cost again when sold ($40 each)."""
    sc = simsop.load_scenario(SCENARIOS / "red_tomato_lp.yaml")
    policy = _BuysIn()
    res = run_replication(sc, seed=3, policy="none", keep_records=True,
                          processes=(lambda world: PlanningCycle(world, sc, policy).run(),))
    rec = res.records
    assert rec is not None
    bought = float(rec.subcontracted["qty"].sum())
    assert bought > 500 and float(rec.production_finished["good"].sum()) == 0.0
    closing = float(rec.snapshots.on_hand[-1].sum())
    in_transit = float(rec.departed["qty"].sum()) - float(rec.departed["qty"][
        np.isin(rec.departed["ship_id"], rec.arrived["ship_id"])].sum())
    sold = 1000.0 + bought - closing - in_transit
    assert res.kpis["shipped_units"] == pytest.approx(sold)
    materials = res.kpis["cogs"] + res.kpis["subcontract_cost"]
    assert materials == pytest.approx(10.0 * (1000.0 - closing - in_transit) + 30.0 * bought)


def _red_tomato_with(shocks: list[dict[str, Any]]) -> Scenario:
    data = yaml.safe_load((SCENARIOS / "red_tomato_lp.yaml").read_text(encoding="utf-8"))
    data["shocks"] = shocks
    return parse_scenario(data)


def test_the_shock_window_profit_is_the_window_s_p_and_l_with_the_plans_costs() -> None:
    """A 10-day outage of Red Tomato's plant from day 50: the shock window's profit is the profit of the
    window's own KPIs, labour included (left out, the window's 'profit' was $32 a worker a day too high:
    about $2,070 a day for 64.6 workers)."""
    sc = _red_tomato_with([{"name": "fire", "type": "factory_outage", "factory": "Plant", "start": 50,
                            "duration": 10}])
    res = run_replication(sc, seed=8, keep_records=True)
    rec = res.records
    assert rec is not None
    out = shock_kpis(rec, sc)
    start, end = int(out["shock_start"]), int(out["shock_window_end"])
    window = compute_kpis(_window_view(rec, start, end), sc)
    assert window["labor_cost"] > 32 * 60 * (end - start)
    assert out["shock_window_profit"] == pytest.approx(window["profit"], abs=CENT)
    assert out["shock_window_revenue"] == pytest.approx(window["revenue"], abs=CENT)
    # The window's P&L is the run's, cut: its cost lines add up to its total, and its profit is revenue less it.
    assert window["total_cost"] == pytest.approx(sum(window[k] for k in COST_LINES), abs=CENT)
    assert window["profit"] == pytest.approx(window["revenue"] - window["total_cost"], abs=CENT)
