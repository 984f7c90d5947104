"""The P&L a controller would sign: accounting identities of the money KPIs.

Every money KPI is recomputed from the raw records line by line: revenue is recognised at shipment (units
shipped in the window at their price), cost of goods sold is those units at their standard unit cost, total
cost is the sum of its lines, profit is revenue minus total cost, consecutive windows add up to the run (the
warm-up is in none of them), and a backorder penalty is paid per unit per day late (after the promised date).
A unit bought from a subcontractor and sold costs its all-in subcontract price once (the plan's price:
materials are charged on in-house production only, Chopra & Meindl ch. 8); a window's P&L (a shock's) is
that of the window's own KPIs, the S&OP plans' costs included.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import simsop
from simsop.kpi import compute_kpis, shock_kpis, window_view
from simsop.model.records import Records
from simsop.planning.cycle import PlanningCycle
from simsop.planning.kpis import PLANNING_COSTS
from simsop.planning.policy import Plan, PlanningState
from simsop.replication import run_replication
from simsop.scenario import Scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
COST_LINES = ("cogs", "holding_cost", "backorder_cost", "lost_sale_cost", "transport_cost", "overtime_cost",
              "scrap_cost", "fixed_cost", *PLANNING_COSTS)
MONEY = ("revenue", "gross_margin", *COST_LINES, "total_cost", "profit")
CENT = 0.005


def _late_units_by_day(rec: Records, start: int, end: int) -> np.ndarray:
    """Per customer line, the sum over the window's day ends of its units open after the promised date: the
    definition, day by day (a day's snapshot comes before anything of the next day's start)."""
    lines, orders = rec.lines, rec.orders
    due = orders["due"].astype(float)[lines["order_id"].astype(int)]
    ids = np.concatenate([rec.shipped["line_id"], rec.lost["line_id"]]).astype(int)
    times = np.concatenate([rec.shipped["time"], rec.lost["time"]]).astype(float)
    qtys = np.concatenate([rec.shipped["qty"], rec.lost["qty"]]).astype(float)
    out = np.zeros(len(due))
    for day in range(start, end):
        t = day + 1.0
        settled = np.bincount(ids[times < t], weights=qtys[times < t], minlength=len(due))
        out += np.clip(lines["qty"].astype(float) - settled, 0.0, None) * (due < t)
    return out


def _pnl_from_records(rec: Records, sc: Scenario, plan_costs: dict[str, float]) -> dict[str, float]:
    """The window's P&L recomputed row by row from the records and the scenario's prices."""
    start, end = rec.meta.warmup, rec.meta.horizon
    products = sc.products
    of_line = rec.lines["product"].astype(int)
    revenue = cogs = lost = transport = overtime = 0.0
    for line, t, q in rec.shipped.raw_rows():
        if start <= t < end:
            revenue += q * products[of_line[line]].price
            cogs += q * products[of_line[line]].unit_cost
    for line, t, q in rec.lost.raw_rows():
        if start <= t < end:
            lost += q * products[of_line[line]].lost_sale_cost
    m = rec.meta
    lane = {(ln.from_, ln.to): ln.cost_per_unit for ln in sc.lanes}
    for _, t, source, warehouse, _, q, _ in rec.departed.raw_rows():
        if start <= t < end:
            transport += q * lane.get((m.sites[source], m.warehouses[warehouse]), 0.0)
    for day, factory, _, _, ot_units, _, _ in rec.factory_days.raw_rows():
        cap = sc.factories[factory].capacity
        if start <= day < end and cap is not None:
            overtime += ot_units * cap.overtime_cost
    made = {job: product for job, _, _, product, _, _ in rec.production_started.raw_rows()}
    scrap = sum(sc_units * products[made[job]].unit_cost for job, t, _, sc_units in rec.production_finished.raw_rows()
                if start <= t < end)
    sku = [products[p] for p in m.sku_product]
    snap = rec.snapshots
    holding = sum(float(snap.on_hand[start:end, k].sum()) * p.holding_per_day for k, p in enumerate(sku))
    internal = sum(float(snap.internal_backlog[start:end, k].sum()) * p.internal_backorder_penalty
                   for k, p in enumerate(sku))
    penalty = np.array([products[p].backorder_penalty for p in of_line])
    backorder = float((_late_units_by_day(rec, start, end) * penalty).sum()) + internal
    costs = {"cogs": cogs, "holding_cost": holding, "backorder_cost": backorder, "lost_sale_cost": lost,
             "transport_cost": transport, "overtime_cost": overtime, "scrap_cost": scrap,
             "fixed_cost": sum(f.fixed_cost_per_day for f in sc.factories) * (end - start), **plan_costs}
    total = sum(costs.values())
    return {"revenue": revenue, "gross_margin": revenue - cogs, **costs, "total_cost": total,
            "profit": revenue - total}


def _short(name: str, horizon: int) -> Scenario:
    sc = simsop.load_scenario(SCENARIOS / f"{name}.yaml")
    return sc.model_copy(update={"horizon": horizon})


@pytest.mark.parametrize(("name", "horizon", "edges"), [
    ("example_company", 300, (90, 150, 211, 300)),
    ("red_tomato_lp", 120, (0, 20, 57, 120)),
    ("sop_seasonal", 400, (120, 250, 400)),
    ("textbook_base_stock", 400, (100, 260, 400)),
])
def test_the_p_and_l_reconciles_with_the_records_to_the_cent_and_adds_up_over_windows(
        name: str, horizon: int, edges: tuple[int, ...]) -> None:
    """Each money KPI of two replications equals its recomputation from the records to the cent; the
    example company's backorder cost is that of units past their promised date only (the end-of-day backlog
    also held units waiting inside the 1-3 days customers give, and cost 3 to 7.5 times as much). Windows from
    the warm-up to the horizon add up to the run (the warm-up is in none of it)."""
    sc = _short(name, horizon)
    assert edges[0] == sc.warmup and edges[-1] == sc.horizon
    for r in range(2):
        res = run_replication(sc, seed=7, replication=r, keep_records=True)
        rec, kpis = res.records, res.kpis
        assert rec is not None
        mine = _pnl_from_records(rec, sc, {k: kpis[k] for k in PLANNING_COSTS})
        for key in MONEY:
            assert kpis[key] == pytest.approx(mine[key], abs=CENT), (name, r, key)
        assert kpis["total_cost"] == pytest.approx(sum(kpis[k] for k in COST_LINES), abs=CENT)
        assert kpis["profit"] == pytest.approx(kpis["revenue"] - kpis["total_cost"], abs=CENT)
        parts = [compute_kpis(window_view(rec, a, b), sc) for a, b in itertools.pairwise(edges)]
        for key in MONEY:
            assert sum(p[key] for p in parts) == pytest.approx(kpis[key], abs=CENT), (name, r, key)


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
    window = compute_kpis(window_view(rec, start, end), sc)
    assert window["labor_cost"] > 32 * 60 * (end - start)
    assert out["shock_window_profit"] == pytest.approx(window["profit"], abs=CENT)
    assert out["shock_window_revenue"] == pytest.approx(window["revenue"], abs=CENT)
    # The window's P&L is the run's, cut: its cost lines add up to its total, and its profit is revenue less it.
    assert window["total_cost"] == pytest.approx(sum(window[k] for k in COST_LINES), abs=CENT)
    assert window["profit"] == pytest.approx(window["revenue"] - window["total_cost"], abs=CENT)


def test_a_workshop_month_charges_late_units_as_the_kpis_do() -> None:
    """Without internal backorder penalties a workshop's stage costs are the KPIs' holding and backorder costs:
    a month's profit on the leaderboard is the KPIs' profit of that month, so a team waiting inside its
    customers' lead time is not charged for it on one screen and free on the other."""
    from simsop.workshop.metrics import metrics

    sc = simsop.load_scenario(SCENARIOS / "teach_promotion.yaml")
    assert all(p.internal_backorder_penalty == 0 for p in sc.products)
    res = run_replication(sc, seed=3, replication=0, keep_records=True)
    rec = res.records
    assert rec is not None
    for start, end in ((sc.warmup, 120), (120, 200), (200, sc.horizon)):
        mine = metrics(rec, sc, start, end)
        theirs = compute_kpis(window_view(rec, start, end), sc)
        assert mine["backlog_cost"] == pytest.approx(theirs["backorder_cost"], abs=CENT)
        assert mine["profit"] == pytest.approx(theirs["profit"], abs=CENT)
    assert compute_kpis(rec, sc)["backorder_cost"] > 0


def test_the_total_cost_definition_names_every_cost_it_adds() -> None:
    """The report's definition of total cost lists every ``*_cost`` line that the P&L adds into it (its
    definition left out scrap and expiry, which ``money_kpis`` adds): a reader summing the named lines must
    get the total."""
    from simsop.report.kpimeta import info

    words = {"cogs": "goods sold", "holding_cost": "holding", "backorder_cost": "backorder",
             "lost_sale_cost": "lost sale", "transport_cost": "transport", "overtime_cost": "overtime",
             "scrap_cost": "scrap", "expiry_cost": "expired", "fixed_cost": "fixed", "labor_cost": "labour",
             "subcontract_cost": "subcontracting", "plan_change_cost": "plan changes"}
    sc = simsop.load_scenario(SCENARIOS / "red_tomato_lp.yaml")
    k = simsop.run_replication(sc, seed=1, replication=0).kpis
    costs = {key for key in k if key.endswith("_cost") and key != "total_cost"} | {"cogs"}
    assert costs <= set(words), costs - set(words)  # a new cost line needs its word here and in the definition
    summed = sum(float(k[c]) for c in costs)
    assert summed == pytest.approx(float(k["total_cost"]), rel=1e-9)
    text = info("total_cost").description.lower()
    assert [w for w in words.values() if w not in text] == []
