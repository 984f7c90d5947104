"""What a team's run shows: daily flows and stock per warehouse (stage), stage costs, and scores.

Everything here is a pure function of a run's frozen records and its scenario.

Workshop money differs from the KPIs' in one place: the backlog a warehouse owes to a downstream warehouse
is charged at the product's ``internal_backorder_penalty`` (the Beer Game charges every stage for its
backlog). ``total_cost`` and ``profit`` below are the KPIs' with the holding and backorder lines replaced by
the stage costs (holding + customer units past their promised date + internal backlog), so nothing is counted
twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simsop.kpi import compute_kpis, late_backlog, window_view
from simsop.model.records import Records
from simsop.scenario import Scenario
from simsop.workshop.spec import ScoreSpec

METRICS = ("profit", "otif", "total_cost", "fill_rate", "revenue", "gross_margin", "avg_backlog",
           "holding_cost", "backlog_cost")


@dataclass
class Flows:
    """Daily flows and end-of-day stock of each warehouse over days [0, end), summed over its products.

    Arrays are warehouses x days. ``incoming`` is what was ordered from the warehouse (customers' orders on
    the day they are placed, downstream warehouses' orders on the day they reach it, the day-0 pipeline's
    included); ``placed`` its own replenishment orders; ``received``/``shipped`` goods in and out.
    """

    warehouses: list[str]
    end: int
    demand: np.ndarray  # customers' orders at each warehouse
    incoming: np.ndarray
    placed: np.ndarray
    received: np.ndarray
    shipped: np.ndarray
    on_hand: np.ndarray
    backlog: np.ndarray  # customer + internal backlog
    on_order: np.ndarray
    holding_cost: np.ndarray
    backlog_cost: np.ndarray

    def index(self, warehouse: str) -> int:
        return self.warehouses.index(warehouse)

    def per_period(self, name: str, edges: np.ndarray, how: str = "sum") -> np.ndarray:
        """A series summed over periods [edges[i], edges[i+1]) (``how="last"``: its value on the last day)."""
        arr = getattr(self, name)
        e = np.clip(np.asarray(edges, dtype=int), 0, self.end)
        if how == "last":
            return arr[:, np.maximum(e[1:] - 1, 0)]
        cum = np.concatenate([np.zeros((arr.shape[0], 1)), np.cumsum(arr, axis=1)], axis=1)
        return cum[:, e[1:]] - cum[:, e[:-1]]


def _by_day(values: np.ndarray, days: np.ndarray, rows: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape)
    d = np.floor(days).astype(int)
    ok = (d >= 0) & (d < shape[1])
    np.add.at(out, (rows[ok].astype(int), d[ok]), values[ok])
    return out


def flows(rec: Records, sc: Scenario, end: int) -> Flows:
    """Daily flows of every warehouse over [0, end) from a run's frozen records."""
    m = rec.meta
    W = len(m.warehouses)
    shape = (W, end)
    o, ln = rec.orders, rec.lines
    l_order = ln["order_id"].astype(int)
    o_wh = o["warehouse"].astype(int)
    o_time = o["time"].astype(float)
    demand = _by_day(ln["qty"].astype(float), o_time[l_order], o_wh[l_order], shape) if len(ln) else np.zeros(shape)
    rp = rec.replenishments
    r_time, r_wh, r_qty, r_src = (rp["time"].astype(float), rp["warehouse"].astype(int), rp["qty"].astype(float),
                                  rp["source"].astype(int))
    placed = _by_day(r_qty, r_time, r_wh, shape)
    delay = {(a, b): ln_.order_delay for a, b, ln_ in
             ((m.sites.index(x.from_), m.warehouses.index(x.to), x) for x in sc.lanes)}
    internal = r_src < W  # ordered from another warehouse (sites list warehouses first)
    arrive = r_time + np.array([delay.get((s, w), 0.0) for s, w in zip(r_src.tolist(), r_wh.tolist(), strict=True)])
    incoming = demand + _by_day(r_qty[internal], arrive[internal], r_src[internal], shape)
    for w in sc.warehouses:
        for it in w.stock:
            if it.pipeline is not None and it.source in m.warehouses:
                src = m.warehouses.index(it.source)
                for day, qty in it.pipeline.orders.items():
                    if day < end:
                        incoming[src, day] += qty
    dep = rec.departed
    d_id, d_src, d_wh, d_qty, d_time = (dep["ship_id"].astype(int), dep["source"].astype(int),
                                        dep["warehouse"].astype(int), dep["qty"].astype(float),
                                        dep["time"].astype(float))
    arr = rec.arrived
    pos = {sid: i for i, sid in enumerate(d_id.tolist())}
    a_rows = np.array([pos[s] for s in arr["ship_id"].astype(int).tolist()], dtype=int)
    received = (_by_day(d_qty[a_rows], arr["time"].astype(float), d_wh[a_rows], shape) if len(a_rows)
                else np.zeros(shape))
    out_wh = (d_src < W) & (d_time >= 0)
    shipped = _by_day(d_qty[out_wh], d_time[out_wh], d_src[out_wh], shape)
    sh = rec.shipped
    if len(sh):
        s_line = sh["line_id"].astype(int)
        shipped += _by_day(sh["qty"].astype(float), sh["time"].astype(float), o_wh[l_order[s_line]], shape)
    snap = rec.snapshots
    sku_w = m.sku_warehouse.astype(int)
    prods = sc.products
    hold = np.array([prods[p].holding_per_day for p in m.sku_product])
    bo = np.array([prods[p].backorder_penalty for p in m.sku_product])
    bo_int = np.array([prods[p].internal_backorder_penalty for p in m.sku_product])

    def per_wh(a: np.ndarray) -> np.ndarray:
        out = np.zeros(shape)
        np.add.at(out, sku_w, a[:end].T)
        return out

    return Flows(
        warehouses=list(m.warehouses), end=end, demand=demand, incoming=incoming, placed=placed,
        received=received, shipped=shipped, on_hand=per_wh(snap.on_hand),
        backlog=per_wh(snap.backlog + snap.internal_backlog), on_order=per_wh(snap.on_order),
        holding_cost=per_wh(snap.on_hand * hold),
        backlog_cost=per_wh(late_backlog(rec) * bo + snap.internal_backlog * bo_int))


def metrics(rec: Records, sc: Scenario, start: int, end: int, fl: Flows | None = None) -> dict[str, Any]:
    """The workshop's metrics over [start, end): the KPIs, with stage costs (internal backlog charged).

    An empty window (nothing counted yet) gives zero money and undefined (nan) service.
    """
    fl = fl if fl is not None else flows(rec, sc, max(end, 1))
    if end <= start:
        from simsop.kpi import ALL_KPI_NAMES

        out: dict[str, Any] = dict.fromkeys(ALL_KPI_NAMES, float("nan"))
        out.update({key: 0.0 for key in ("revenue", "total_cost", "profit", "holding_cost", "backlog_cost",
                                          "backorder_cost", "gross_margin", "avg_backlog")})
        out["stage_costs"] = {w: {"holding": 0.0, "backlog": 0.0} for w in fl.warehouses}
        return out
    k = compute_kpis(window_view(rec, start, end), sc)
    hold = float(fl.holding_cost[:, start:end].sum())
    backlog = float(fl.backlog_cost[:, start:end].sum())
    total = float(k["total_cost"]) - float(k["holding_cost"]) - float(k["backorder_cost"]) + hold + backlog
    out = {key: float(v) for key, v in k.items()}
    out.update(holding_cost=hold, backlog_cost=backlog, total_cost=total, profit=float(k["revenue"]) - total)
    out["stage_costs"] = {w: {"holding": float(fl.holding_cost[i, start:end].sum()),
                              "backlog": float(fl.backlog_cost[i, start:end].sum())}
                          for i, w in enumerate(fl.warehouses)}
    return out


def score_of(m: dict[str, Any], score: ScoreSpec) -> float:
    return float(m[score.metric])


def rank(rows: list[dict[str, Any]], score: ScoreSpec) -> list[dict[str, Any]]:
    """Rows sorted best first with a ``rank`` (ties share a rank; an undefined score ranks last)."""

    def key(r: dict[str, Any]) -> float:
        x = r["score"]
        if x is None or x != x:
            return float("inf")
        return -x if score.higher_is_better else x

    out = sorted(rows, key=lambda r: (key(r), r["team"]))
    last, place = None, 0
    for i, r in enumerate(out, start=1):
        if key(r) != last:
            place, last = i, key(r)
        r["rank"] = place
    return out
