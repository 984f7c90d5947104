"""The debrief's lesson data: what each team's customers got, per period and product, and what the score
gap is made of. Plain data (lists and dicts) for :mod:`simsop.report.debrief`, computed from each team's
run through the rounds played (the workshop's own future), with the workshop's own metric functions, so
that a team's numbers per period are those of its results files (``results/round-<k>/<team>.json``).

``lesson_data(ws)`` gives ``{"service": {...}}`` to merge into :func:`simsop.workshop.debrief.debrief_data`'s
dict; :func:`debrief_page` does both and draws the page (``Workshop.write_debrief`` writes it).

Per team:

* ``periods``: the team's metrics of each period (``otif``, ``fill_rate``, ``lost_sales_units``,
  ``demand_units``, ``profit``, ...), the same window as round k's ``round_metrics``;
* ``products``: per product and period, ``ordered`` (units ordered in the period), ``lines`` (order lines
  placed in the period and due by its end), ``otif`` (the share of those lines shipped in full by their due
  date: the line OTIF of that product), ``late`` (units of those lines shipped after their due date),
  ``lost`` (units lost in the period, when customers gave up), and ``stock`` (on hand − backlog at every stock
  point, at the end of each day: day d's value is the stock at d + 1);
* ``totals``: the metrics over every day counted, and ``revenue_lost`` (lost units at their price).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from simsop.kpi import product_arrays
from simsop.workshop.debrief import debrief_data, team_runs
from simsop.workshop.metrics import flows, metrics

if TYPE_CHECKING:
    from simsop.model.records import Records
    from simsop.scenario import Scenario
    from simsop.workshop.game import Workshop
    from simsop.workshop.sim import TeamRun

_TOL = 1e-9
# Team metrics kept per period and over the game.
PERIOD_KEYS = ("otif", "fill_rate", "lost_sales_units", "demand_units", "shipped_units", "avg_on_hand",
               "avg_backlog", "revenue", "holding_cost", "backlog_cost", "overtime_cost", "profit", "total_cost")
TOTAL_KEYS = (*PERIOD_KEYS, "cogs", "lost_sale_cost", "transport_cost", "scrap_cost", "expiry_cost", "fixed_cost",
              "plan_change_cost",
              "subcontract_cost", "labor_cost", "overtime_units")


def _r(x: Any) -> float | None:
    v = float(x)
    return None if v != v else round(v, 6)


def product_service(rec: Any, edges: np.ndarray) -> dict[str, dict[str, list[Any]]]:
    """Per product and period [edges[i], edges[i+1]): units ordered, lines due, line OTIF, late and lost units."""
    products = list(rec.meta.products)
    nb = len(edges) - 1
    o, ln, sh, lost = rec.orders, rec.lines, rec.shipped, rec.lost
    l_order = ln["order_id"].astype(int)
    l_prod = ln["product"].astype(int)
    l_qty = ln["qty"].astype(float)
    l_time = o["time"].astype(float)[l_order] if len(ln) else np.empty(0)
    l_due = o["due"].astype(float)[l_order] if len(ln) else np.empty(0)
    s_line = sh["line_id"].astype(int)
    s_qty = sh["qty"].astype(float)
    on_time = sh["time"].astype(float) <= l_due[s_line] + _TOL if len(s_line) else np.empty(0, dtype=bool)
    qty_on_time = np.bincount(s_line, weights=s_qty * on_time, minlength=len(l_qty))
    qty_late = np.bincount(s_line, weights=s_qty * ~on_time, minlength=len(l_qty))
    line_ok = qty_on_time >= l_qty - 1e-7
    period = np.searchsorted(edges, l_time, side="right") - 1
    due_in = l_due <= edges[np.clip(period + 1, 0, nb)]
    lost_line = lost["line_id"].astype(int)
    lost_prod = l_prod[lost_line] if len(lost_line) else np.empty(0, dtype=int)
    lost_period = np.searchsorted(edges, lost["time"].astype(float), side="right") - 1
    lost_qty = lost["qty"].astype(float)
    snap = rec.snapshots
    net_sku = snap.on_hand - snap.backlog - snap.internal_backlog
    sku_p = rec.meta.sku_product.astype(int)
    end = int(edges[-1])
    out: dict[str, dict[str, list[Any]]] = {}
    for p, name in enumerate(products):
        ordered: list[float | None] = []
        lines: list[float | None] = []
        otif: list[float | None] = []
        late: list[float | None] = []
        lost_p: list[float | None] = []
        for i in range(nb):
            placed = (l_prod == p) & (period == i)
            judged = placed & due_in
            ordered.append(_r(l_qty[placed].sum()))
            lines.append(float(judged.sum()))
            otif.append(_r(line_ok[judged].mean()) if judged.any() else None)
            late.append(_r(qty_late[judged].sum()))
            lost_p.append(_r(lost_qty[(lost_prod == p) & (lost_period == i)].sum()))
        stock = net_sku[:end, sku_p == p].sum(axis=1)
        out[name] = {"ordered": ordered, "lines": lines, "otif": otif, "late": late, "lost": lost_p,
                     "stock": [round(float(x), 3) for x in stock]}
    return out


def team_service(sc: Scenario, rec: Records, edges: np.ndarray) -> dict[str, Any]:
    """One team's service and money per period and product, and over the whole game, from its run's records."""
    counted = int(edges[-1])
    fl = flows(rec, sc, counted)  # the day-by-day flows every window's metrics read, made once
    periods = []
    for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        m = metrics(rec, sc, int(a), int(b), fl)
        periods.append({k: _r(m[k]) for k in PERIOD_KEYS})
    m = metrics(rec, sc, 0, counted, fl)
    totals: dict[str, Any] = {k: _r(m.get(k, 0.0)) for k in TOTAL_KEYS}
    by_product = product_service(rec, edges)
    price = product_arrays(sc)["price"]
    totals["revenue_lost"] = round(sum(float(price[i]) * sum(v or 0.0 for v in by_product[p]["lost"])
                                       for i, p in enumerate(rec.meta.products)), 6)
    return {"periods": periods, "products": by_product, "totals": totals}


def lesson_data(ws: Workshop, runs: dict[str, TeamRun] | None = None) -> dict[str, Any]:
    """``{"service": {"teams": {team: team_service}, "products": [...], "edges": [...]}}`` over the periods
    the debrief counts (nothing before the first round is counted); ``runs``: the teams' runs
    (:func:`simsop.workshop.debrief.team_runs`), if already made."""
    cal = ws.calendar
    counted = cal.account_end(ws.played)
    edges = cal.edges(counted) if counted > 0 else np.asarray([0], dtype=int)
    if len(edges) < 2:
        return {"service": None}
    runs = team_runs(ws) if runs is None else runs
    teams = {team: team_service(ws.scenario, runs[team].records, edges) for team in ws.teams}
    products = list(next(iter(teams.values()))["products"]) if teams else []
    return {"service": {"teams": teams, "products": products, "edges": [int(x) for x in edges]}}


def debrief_page(ws: Workshop) -> str:
    """The whole debrief page of a workshop: its debrief data with the lesson data, drawn."""
    from simsop.report.debrief import debrief_html

    runs = team_runs(ws)  # each team simulated once, for both
    return debrief_html({**debrief_data(ws, runs), **lesson_data(ws, runs)})

