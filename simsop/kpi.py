"""KPIs of one replication: pure functions of its records and its scenario.

Everything is measured over the window [warm-up, horizon). Service KPIs count the orders placed in the
window whose promised date falls inside the horizon (later ones cannot be judged yet); stock KPIs average
the end-of-day snapshots of the window's days; money KPIs add up what happened in the window.

Definitions:

* ``otif``: share of orders whose every line shipped complete by the promised date;
  ``otif_line``: the same per line; ``fill_rate``: share of units shipped by the promised date.
* ``otif_requested``: share of orders whose every line shipped complete by the date the customer asked for
  (judged for the orders placed in the window whose requested date falls inside the horizon);
  ``avg_quoted_delay``: mean days from the requested to the promised date over the orders placed in the
  window. They differ from ``otif`` and 0 only for customers quoted available-to-promise
  (``promise: available``), whose promised date is the later of the requested date and the date supply covers
  the order: OTIF then judges the promises kept, ``otif_requested`` the service the customers asked for.
* ``cycle_service_level``: share of replenishment cycles of stocked items with customer demand (replenished by
  a reordering rule or an S&OP plan: not make-to-order items, nor stock that is never replenished) that end
  without backlog and without lost sales. A cycle runs from the arrival of one review's order to that of
  the next (the textbook's P(D(R + L) <= S) for a periodic base stock): it is judged at the end of the last
  day before the next review's order arrives, its mean lead time L after the review. Snapshots are taken at
  the end of the day, so with a fraction of a day in L the demand of the arrival day's morning is not in the
  cycle. With a review every day a cycle is a day. Under continuous review (``rQ``, ``sS`` and one-for-one
  with no review period) a cycle runs from one receipt to the next, and it has a stock-out when a customer
  line is still open just before the receipt (net stock below 0) or a line was lost in it: the textbook's
  P(D(L) <= r) for an (r, Q) policy with unit demand, P(D(L) <= S - 1) for one-for-one.
* ``avg_backlog``/``max_backlog``: customer backlog units at the end of the day, summed over items.
* ``backorder_cost``: customer units still open after their promised date at the end of each day, at their
  product's ``backorder_penalty`` (per unit per day late; a unit waiting inside the lead time its customer
  gave is not charged), plus backlog owed to other warehouses at its ``internal_backorder_penalty`` (0 unless
  set, as in the Beer Game) per unit per day.
* ``days_of_supply``: average on-hand units over average units shipped to customers per day;
  ``inventory_turns``: annual cost of goods sold over the average inventory value.
* The P&L (money in the scenario's currency, summed over the window's days): ``revenue`` is recognised when
  units ship to customers (not when they are ordered), at the product's price; ``cogs`` is those units at
  their ``unit_cost`` (a standard cost: made, bought or subcontracted alike), and ``gross_margin`` the
  difference. ``holding_cost`` charges each end-of-day on-hand unit its ``holding_per_day`` (a
  ``holding_rate`` is annual, of unit cost, over 365 days); stock in transit is not held. ``lost_sale_cost``
  is the penalty per unit lost beyond the margin lost with it; ``transport_cost`` prices units leaving on a
  lane at its ``cost_per_unit`` on the day they leave; ``overtime_cost`` is the premium per overtime unit (its
  unit cost is in ``cogs``); ``scrap_cost`` the units plants scrapped at their unit cost (counted when their
  job finishes; ``cogs`` charges only good units sold); ``expiry_cost`` the units of perishable products
  written off because their shelf life ended (``expired_units``, by the day they were written off) at their
  unit cost; ``fixed_cost`` the plants' cost per day.
  ``total_cost`` adds these and the S&OP plans' costs (``simsop.planning.kpis``), and ``profit`` is revenue
  minus total cost: an operating profit after fixed costs, which also carries the imputed costs (holding,
  backorder and lost-sale penalties). ``avg_inventory_value`` is on-hand stock at unit cost.
* ``utilization``: output over regular capacity (rate factories; above 1 with overtime) or busy line time
  over available line time (line factories), averaged over factories, each counting once;
  ``bottleneck_utilization``: that of the busiest factory, which the average of a company with one loaded
  plant and one idle one would hide.
* ``material_short_units``: units plants with a bill of materials could not make for lack of components
  (``simsop.model.factory``): each day, what a rate plant's capacity would have made of its jobs but their
  components on hand did not allow (a job held up three days counts three days of lost output), and the units of
  each job a free line passed over (once); nan without a bill of materials. Components are products stocked at the
  plant's materials store: their stock is in the stock KPIs and ``holding_cost``, and the ``unit_cost`` of a
  finished product is its standard cost with its materials in it, so ``cogs`` charges the product's unit cost as
  before and never the components' again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simsop.model.records import Records
from simsop.planning.kpis import last_value_at, sum_in_order
from simsop.scenario import Scenario

KPI_NAMES = (
    "otif", "otif_line", "fill_rate", "otif_requested", "avg_quoted_delay", "cycle_service_level", "avg_backlog",
    "max_backlog", "avg_days_late", "lost_sales_units", "demand_units", "shipped_units", "avg_on_hand",
    "avg_inventory_value", "days_of_supply", "inventory_turns", "utilization", "bottleneck_utilization",
    "overtime_units", "material_short_units", "expired_units", "orders", "avg_open_orders", "order_rate",
    "avg_order_cycle_time", "revenue", "cogs", "gross_margin", "holding_cost", "backorder_cost", "lost_sale_cost",
    "transport_cost", "overtime_cost", "scrap_cost", "expiry_cost", "fixed_cost", "total_cost", "profit",
)


def _all_names() -> tuple[str, ...]:
    from simsop.planning.kpis import PLANNING_KPI_NAMES

    return KPI_NAMES + PLANNING_KPI_NAMES


ALL_KPI_NAMES = _all_names()

_TOL = 1e-9


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else float("nan")


def product_arrays(sc: Scenario) -> dict[str, np.ndarray]:
    """Per-product money parameters, indexed like the records' product column."""
    ps = sc.products
    return {
        "price": np.array([p.price for p in ps]),
        "unit_cost": np.array([p.unit_cost for p in ps]),
        "holding": np.array([p.holding_per_day for p in ps]),
        "backorder": np.array([p.backorder_penalty for p in ps]),
        "lost_sale": np.array([p.lost_sale_cost for p in ps]),
        "internal_backorder": np.array([p.internal_backorder_penalty for p in ps]),
    }


def service_kpis(rec: Records) -> dict[str, float]:
    """OTIF (order and line), fill rate, lateness, lost sales, and the order book (Little's law)."""
    m = rec.meta
    start, end = float(m.warmup), float(m.horizon)
    orders, lines, shipped, lost = rec.orders, rec.lines, rec.shipped, rec.lost
    o_time, o_due = orders["time"].astype(float, copy=False), orders["due"].astype(float, copy=False)
    l_order = lines["order_id"].astype(int, copy=False)
    l_qty = lines["qty"].astype(float, copy=False)
    s_line = shipped["line_id"].astype(int, copy=False)
    s_time = shipped["time"].astype(float, copy=False)
    s_qty = shipped["qty"].astype(float, copy=False)
    n_lines = len(l_qty)

    def complete_by(o_date: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per line, the units shipped by its order's date and whether that was all of it; per order, whether
        every line was."""
        l_date = o_date[l_order] if n_lines else np.empty(0)
        on_time = s_time <= (l_date[s_line] + _TOL) if len(s_line) else np.empty(0, dtype=bool)
        qty = np.bincount(s_line, weights=s_qty * on_time, minlength=n_lines)
        ok = qty >= l_qty - 1e-7
        return qty, ok, np.bincount(l_order, weights=~ok, minlength=len(o_time)) == 0

    l_due = o_due[l_order] if n_lines else np.empty(0)
    qty_on_time, line_ok, order_ok = complete_by(o_due)
    o_eligible = (o_time >= start) & (o_due <= end)
    l_eligible = o_eligible[l_order] if n_lines else np.empty(0, dtype=bool)

    # Days late of lines that completed after their due date: completion = the last shipment.
    done_at = np.full(n_lines, -np.inf)
    if len(s_line):
        np.maximum.at(done_at, s_line, s_time)
    shipped_total = np.bincount(s_line, weights=s_qty, minlength=n_lines)
    complete = shipped_total >= l_qty - 1e-7
    late_complete = l_eligible & complete & ~line_ok
    days_late = done_at[late_complete] - l_due[late_complete]

    in_window_ship = (s_time >= start) & (s_time < end)
    lost_time = lost["time"].astype(float, copy=False)
    closed_time = np.full(len(o_time), end)
    c_ids = rec.closed["order_id"].astype(int, copy=False)
    closed_time[c_ids] = np.minimum(rec.closed["time"].astype(float, copy=False), end)
    # Little's law on the order book: time-average of open orders = arrival rate x time in the book.
    overlap = np.clip(np.minimum(closed_time, end) - np.maximum(o_time, start), 0, None)
    placed_in = (o_time >= start) & (o_time < end)
    closed_mask = np.zeros(len(o_time), dtype=bool)
    closed_mask[c_ids] = True
    cycle = (closed_time - o_time)[placed_in & closed_mask]
    window = end - start
    otif = float(order_ok[o_eligible].mean()) if o_eligible.any() else float("nan")
    # Against the requested date: the same measure, unless some orders were promised later (ATP quotes).
    o_req = orders.columns().get("requested", o_due)
    if len(rec.tables.get("promises", ())) and n_lines:
        o_req = o_req.astype(float, copy=False)
        req_order_ok = complete_by(o_req)[2]
        req_eligible = (o_time >= start) & (o_req <= end)
        otif_requested = float(req_order_ok[req_eligible].mean()) if req_eligible.any() else float("nan")
        quoted_delay = float((o_due - o_req)[placed_in].mean()) if placed_in.any() else float("nan")
    else:
        otif_requested = otif
        quoted_delay = 0.0 if placed_in.any() else float("nan")
    return {
        "otif": otif,
        "otif_requested": otif_requested,
        "avg_quoted_delay": quoted_delay,
        "otif_line": float(line_ok[l_eligible].mean()) if l_eligible.any() else float("nan"),
        "fill_rate": _ratio(float(qty_on_time[l_eligible].sum()), float(l_qty[l_eligible].sum())),
        "avg_days_late": float(days_late.mean()) if len(days_late) else 0.0,
        "lost_sales_units": float(lost["qty"][(lost_time >= start) & (lost_time < end)].sum()),
        "demand_units": float(l_qty[placed_in[l_order]].sum()) if n_lines else 0.0,
        "shipped_units": float(s_qty[in_window_ship].sum()),
        "orders": float(placed_in.sum()),
        "avg_open_orders": float(overlap.sum() / window),
        "order_rate": float(placed_in.sum() / window),
        "avg_order_cycle_time": float(cycle.mean()) if len(cycle) else float("nan"),
    }


def stock_kpis(rec: Records, prices: dict[str, np.ndarray]) -> dict[str, float]:
    """Inventory, backlog and cycle service level from the end-of-day snapshots."""
    m = rec.meta
    snap = rec.snapshots
    w0 = m.warmup
    on_hand = snap.on_hand[w0:]
    backlog = snap.backlog[w0:]
    lost = snap.lost[w0:]
    cost = prices["unit_cost"][m.sku_product]
    days = on_hand.shape[0]
    total_bo = backlog.sum(axis=1)
    ok_cycles = total_cycles = 0
    lead = m.sku_lead_time if len(m.sku_lead_time) == len(m.sku_product) else np.zeros(len(m.sku_product))
    n_sku = len(m.sku_product)
    continuous = m.sku_continuous.astype(bool) if len(m.sku_continuous) == n_sku else np.zeros(n_sku, dtype=bool)
    if len(m.sku_replenished) == n_sku and len(m.sku_pushable) == n_sku:
        # Replenished: by its own rule, or by an S&OP plan that ran (make-to-order items and stock nothing
        # refills have no cycles).
        cycled = m.sku_has_demand & (m.sku_replenished | (m.sku_pushable & (len(rec.plan) > 0)))
    else:  # records of an older simsop
        cycled = m.sku_has_demand
    if (cycled & continuous).any():
        receipts_lines = _receipts_and_lines(rec)
        for k in np.nonzero(cycled & continuous)[0]:
            ok_k, total_k = _receipt_cycles(int(k), *receipts_lines, float(w0), float(m.horizon))
            ok_cycles += ok_k
            total_cycles += total_k
    periodic = np.nonzero(cycled & ~continuous)[0]
    if len(periodic):
        ok_k, total_k = _review_cycles(m, periodic, backlog, lost, lead[periodic])
        ok_cycles += ok_k
        total_cycles += total_k
    avg_value = float((on_hand * cost).sum(axis=1).mean()) if days else 0.0
    return {
        "cycle_service_level": _ratio(ok_cycles, total_cycles),
        "avg_backlog": float(total_bo.mean()) if days else 0.0,
        "max_backlog": float(total_bo.max()) if days else 0.0,
        "avg_on_hand": float(on_hand.sum(axis=1).mean()) if days else 0.0,
        "avg_inventory_value": avg_value,
    }


def _review_cycles(m: Any, skus: np.ndarray, backlog: np.ndarray, lost: np.ndarray,
                   lead: np.ndarray) -> tuple[int, int]:
    """Replenishment cycles of the periodic-review ``skus`` in the window: (without a stock-out, all).

    ``backlog`` and ``lost`` are the window's snapshots (days x every sku), ``lead`` the skus' mean lead times.
    All skus at once: a loop over skus cost more than the rest of the stock KPIs together.
    """
    r = m.sku_review_period[skus].astype(int, copy=False)
    off = m.sku_review_offset[skus].astype(int, copy=False)
    shift = np.where(r > 1, np.floor(lead + 1e-9), 0).astype(int)
    day = np.arange(m.warmup, m.horizon)
    # Cycle ends, sku by sku and in day order within a sku (the skus x days mask read row by row).
    col, end = np.nonzero(((day[None, :] + 1 - off[:, None] - shift[:, None]) % r[:, None]) == 0)
    if len(end) == 0:
        return 0, 0
    sku = skus[col]
    # A cycle covers the days after the previous cycle end of its sku up to and including its own end.
    start = np.zeros(len(end), dtype=int)
    same = col[1:] == col[:-1]
    start[1:][same] = end[:-1][same] + 1
    lost_cum = np.zeros((lost.shape[0] + 1, len(skus)))
    np.cumsum(lost[:, skus], axis=0, out=lost_cum[1:])
    lost_in = lost_cum[end + 1, col] - lost_cum[start, col]
    ok = (backlog[end, sku] <= 1e-7) & (lost_in <= 1e-7)
    return int(ok.sum()), len(end)


def _sku_of(m: Any) -> np.ndarray:
    """Warehouses x products: the sku (snapshot column) of each stock point, -1 where there is none."""
    sku_of = np.full((len(m.warehouses), len(m.products)), -1)
    sku_of[m.sku_warehouse, m.sku_product] = np.arange(len(m.sku_product))
    return sku_of


def _line_skus(rec: Records) -> np.ndarray:
    """The sku of each customer line: its order's warehouse and its product."""
    orders = rec.orders
    return _sku_of(rec.meta)[orders["warehouse"].astype(int, copy=False)[rec.lines["order_id"].astype(int, copy=False)],
                             rec.lines["product"].astype(int, copy=False)]


def _receipts_and_lines(rec: Records) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Every receipt at a stock point (sku, time) and every customer line (sku; placement time, the time it
    was settled, shipped in full or lost, inf if never; whether any of it was lost), for the cycle service
    level under continuous review."""
    sku_of = _sku_of(rec.meta)
    dep, arr = rec.departed, rec.arrived
    # Shipments that arrived, at their warehouse's sku (departures are recorded in ship id order).
    dep_ids, arr_ids = dep["ship_id"].astype(int, copy=False), arr["ship_id"].astype(int, copy=False)
    # A run numbers its shipments 0, 1, ... in departure order, so the id is the row; the search serves records
    # made otherwise (and costs as much as the rest of this function).
    ids_are_rows = len(dep_ids) > 0 and dep_ids[-1] == len(dep_ids) - 1 and np.array_equal(dep_ids,
                                                                                            np.arange(len(dep_ids)))
    row = arr_ids if ids_are_rows else np.searchsorted(dep_ids, arr_ids)
    r_sku = sku_of[dep["warehouse"].astype(int, copy=False)[row], dep["product"].astype(int, copy=False)[row]]
    r_time = arr["time"].astype(float, copy=False)
    lines, orders, shipped, lost = rec.lines, rec.orders, rec.shipped, rec.lost
    oid = lines["order_id"].astype(int, copy=False)
    placed = orders["time"].astype(float, copy=False)[oid]
    l_sku = _line_skus(rec)
    # A line id is its row in the lines table. Settled: the last shipment or loss once nothing is left open.
    n = len(lines)
    last = np.full(n, -np.inf)
    for table in (shipped, lost):
        np.maximum.at(last, table["line_id"].astype(int, copy=False), table["time"].astype(float, copy=False))
    # Shipped, then lost quantities in one bincount, which adds in input order as ufunc.at did (the same sums).
    ids = np.concatenate([shipped["line_id"].astype(int, copy=False), lost["line_id"].astype(int, copy=False)])
    qty = np.concatenate([shipped["qty"].astype(float, copy=False), lost["qty"].astype(float, copy=False)])
    done = np.bincount(ids, weights=qty, minlength=n)
    settled = np.where(done >= lines["qty"].astype(float, copy=False) - 1e-9, np.maximum(last, placed), np.inf)
    was_lost = np.zeros(n, dtype=bool)
    was_lost[lost["line_id"].astype(int, copy=False)] = True
    return r_sku, r_time, l_sku, (placed, settled, was_lost)


def _receipt_cycles(k: int, r_sku: np.ndarray, r_time: np.ndarray, l_sku: np.ndarray,
                    lines: tuple[np.ndarray, ...], start: float, end: float) -> tuple[int, int]:
    """Replenishment cycles of sku ``k`` inside [start, end), each ending just before a receipt: (without a
    stock-out, all). A cycle has one when a customer line is still open just before its receipt (net stock
    below 0: the textbook's test) or a line lost during it."""
    receipts = np.unique(r_time[r_sku == k])
    receipts = receipts[(receipts >= start) & (receipts <= end)]
    if len(receipts) < 2:
        return 0, 0
    mine = l_sku == k
    placed, settled, lost = lines[0][mine], lines[1][mine], lines[2][mine]
    ends = receipts[1:]
    # Open just before a receipt: placed before it and settled at it or later (a line settled by the receipt
    # itself was waiting for it).
    open_before = (np.searchsorted(np.sort(placed), ends, side="left")
                   - np.searchsorted(np.sort(settled), ends, side="left")) > 0
    lost_at = np.searchsorted(receipts, placed[lost], side="right") - 1  # the cycle a lost line was placed in
    lost_in = np.zeros(len(ends), dtype=bool)
    inside = (lost_at >= 0) & (lost_at < len(ends))
    lost_in[lost_at[inside]] = True
    short = open_before | lost_in
    return int((~short).sum()), len(ends)


def factory_kpis(rec: Records, sc: Scenario) -> dict[str, float]:
    """Utilization and overtime of the factories over the window."""
    m = rec.meta
    start, end = float(m.warmup), float(m.horizon)
    fd = rec.factory_days
    f_day = fd["day"].astype(int, copy=False)
    f_idx = fd["factory"].astype(int, copy=False)
    win = (f_day >= m.warmup) & (f_day < m.horizon)  # a window's days only (a shock window, a workshop month)
    utils: list[float] = []
    ot_units = 0.0
    ot_cost = 0.0
    ps, pf = rec.production_started, rec.production_finished
    busy_time: np.ndarray | None = None
    for fi, f in enumerate(sc.factories):
        if f.capacity is not None:
            sel = win & (f_idx == fi)
            used = float(fd["regular_used"][sel].sum() + fd["overtime_used"][sel].sum())
            cap = float(fd["regular_capacity"][sel].sum())
            ot = float(fd["overtime_used"][sel].sum())
            ot_units += ot
            ot_cost += ot * f.capacity.overtime_cost
            utils.append(_ratio(used, cap))
        else:
            assert f.lines is not None
            if busy_time is None:  # each job's time on a line inside the window (unfinished: to the end)
                t1 = last_value_at((pf["job_id"],), pf["time"], (ps["job_id"],), end)[0]
                busy_time = np.maximum(0.0, np.minimum(t1, end) - np.maximum(ps["time"], start))
            busy = float(sum_in_order(busy_time[ps["factory"] == fi]))
            utils.append(_ratio(busy, f.lines * (end - start)))
    known = [u for u in utils if u == u]
    return {
        "utilization": float(np.mean(known)) if known else float("nan"),
        "bottleneck_utilization": max(known) if known else float("nan"),
        "overtime_units": ot_units,
        "overtime_cost": ot_cost,
        "material_short_units": material_short_units(rec),
    }


def material_short_units(rec: Records) -> float:
    """Units plants could not make for lack of components in the window (nan without a bill of materials: a run
    that has none measures nothing, rather than a shortage of 0)."""
    short = rec.tables.get("material_short")
    if short is None:
        return np.nan  # one nan object, as the planning KPIs use: equal KPI dicts compare equal
    if len(short) == 0:
        return 0.0
    m = rec.meta
    t = short["time"].astype(float, copy=False)
    return float(short["qty"].astype(float, copy=False)[(t >= m.warmup) & (t < m.horizon)].sum())


def late_backlog(rec: Records) -> np.ndarray:
    """Days x skus: customer units still open after their promised date at the end of each day.

    A unit a customer ordered with a lead time and that waits for stock inside it is on time, not backordered:
    it is late from the end of its due day (an order due at 3.4 and still open at 4, the end of day 3, is a
    day late) until it ships or is lost (one shipped at 5 was open at the end of day 4: a day's snapshot comes
    before anything at the next day's start). With no lead time this is the end-of-day customer backlog.
    """
    days, n_sku = rec.snapshots.backlog.shape
    lines = rec.lines
    if len(lines) == 0 or days == 0:
        return np.zeros((days, n_sku))
    sku = _line_skus(rec)
    sku = np.where(sku < 0, sku + n_sku, sku)  # as a negative index into a row would (a line with no sku)
    first = np.clip(np.floor(rec.orders["due"].astype(float, copy=False)[lines["order_id"].astype(int, copy=False)]),
                    0, days).astype(int)
    # Every step goes into one bincount of flat (day, sku) cells, in the order the steps were once added one
    # by one (ufunc.at per table): bincount adds its weights in input order, so the sums are the same bits.
    cells: list[np.ndarray] = []
    steps: list[np.ndarray] = []

    def open_until(ids: np.ndarray, qty: np.ndarray, settled: np.ndarray) -> None:
        # Late at the ends of days [first, floor(settled)): +qty from the first, -qty after the last. A step of
        # 0 is left out: it changes no sum (a cell starts at +0.0, and a sum of doubles is -0.0 only when
        # both terms are).
        last = np.clip(np.floor(settled), 0, days).astype(int)
        f = first[ids]
        late = (last > f) & (qty != 0)
        s = sku[ids[late]]
        cells.extend((f[late] * n_sku + s, last[late] * n_sku + s))
        steps.extend((qty[late], -qty[late]))

    left = lines["qty"].astype(float, copy=False)
    for table in (rec.shipped, rec.lost):
        ids = table["line_id"].astype(int, copy=False)
        qty = table["qty"].astype(float, copy=False)
        open_until(ids, qty, table["time"].astype(float, copy=False))
        left = left - np.bincount(ids, weights=qty, minlength=len(left))
    # Units neither shipped nor lost are open to the end (float dust of a settled line is not a unit).
    still_open = np.flatnonzero(left > 0)
    open_until(still_open, left[still_open], np.full(len(still_open), np.inf))
    flat = np.bincount(np.concatenate(cells), weights=np.concatenate(steps), minlength=(days + 1) * n_sku)
    # float even without a step (bincount of nothing gives integers whatever its weights)
    return np.cumsum(flat.reshape(days + 1, n_sku), axis=0, dtype=float)[:days]


def scrap_cost(rec: Records, unit_cost: np.ndarray) -> float:
    """The units plants scrapped in the window (a job's scrap counted when the job finishes), at their unit cost:
    materials and work spent on goods nobody can sell, which no sale's cost of goods carries."""
    fin = rec.production_finished
    if len(fin) == 0:
        return 0.0
    m = rec.meta
    t = fin["time"].astype(float, copy=False)
    sel = (t >= m.warmup) & (t < m.horizon) & (fin["scrap"].astype(float, copy=False) > 0)
    if not sel.any():
        return 0.0
    started = rec.production_started
    ids = started["job_id"].astype(int, copy=False)
    f_ids = fin["job_id"].astype(int, copy=False)
    product_of = np.zeros(int(max(ids.max(), f_ids.max())) + 1, dtype=int)
    product_of[ids] = started["product"].astype(int, copy=False)
    return float((fin["scrap"].astype(float, copy=False)[sel] * unit_cost[product_of[f_ids[sel]]]).sum())


def expired_in_window(rec: Records) -> tuple[np.ndarray, np.ndarray]:
    """(product, units) of each write-off of expired stock in the window (by the day it was written off)."""
    exp = rec.expired
    if len(exp) == 0:
        return np.empty(0, dtype=int), np.empty(0)
    m = rec.meta
    day = exp["day"].astype(int, copy=False)
    sel = (day >= m.warmup) & (day < m.horizon)
    return exp["product"].astype(int, copy=False)[sel], exp["qty"].astype(float, copy=False)[sel]


def money_kpis(rec: Records, sc: Scenario, prices: dict[str, np.ndarray], overtime_cost: float) -> dict[str, float]:
    """The P&L of the window: revenue down to profit (and the units of perishable stock written off)."""
    m = rec.meta
    start, end = float(m.warmup), float(m.horizon)
    lines, shipped, lost, snap = rec.lines, rec.shipped, rec.lost, rec.snapshots
    l_prod = lines["product"].astype(int, copy=False)
    s_line = shipped["line_id"].astype(int, copy=False)
    s_time = shipped["time"].astype(float, copy=False)
    sel = (s_time >= start) & (s_time < end)
    s_prod = l_prod[s_line[sel]] if len(s_line) else np.empty(0, dtype=int)
    s_qty = shipped["qty"].astype(float, copy=False)[sel]
    revenue = float((s_qty * prices["price"][s_prod]).sum())
    cogs = float((s_qty * prices["unit_cost"][s_prod]).sum())
    w0 = m.warmup
    holding = float((snap.on_hand[w0:] * prices["holding"][m.sku_product]).sum())
    backorder = float((late_backlog(rec)[w0:] * prices["backorder"][m.sku_product]).sum()
                      + (snap.internal_backlog[w0:] * prices["internal_backorder"][m.sku_product]).sum())
    lt = lost["time"].astype(float, copy=False)
    lsel = (lt >= start) & (lt < end)
    lost_prod = l_prod[lost["line_id"].astype(int, copy=False)[lsel]] if len(lt) else np.empty(0, dtype=int)
    lost_cost = float((lost["qty"].astype(float, copy=False)[lsel] * prices["lost_sale"][lost_prod]).sum())
    dep = rec.departed
    dt = dep["time"].astype(float, copy=False)
    dsel = (dt >= start) & (dt < end)
    transport = 0.0
    if dsel.any():
        site_ix = {name: i for i, name in enumerate(m.sites)}
        wh_ix = {name: i for i, name in enumerate(m.warehouses)}
        lane_cost = np.zeros((len(m.sites), len(m.warehouses)))  # per unit, source site x warehouse
        for ln in sc.lanes:
            if ln.from_ in site_ix and ln.to in wh_ix:
                lane_cost[site_ix[ln.from_], wh_ix[ln.to]] = ln.cost_per_unit
        src = dep["source"].astype(int, copy=False)[dsel]
        dst = dep["warehouse"].astype(int, copy=False)[dsel]
        qty = dep["qty"].astype(float, copy=False)[dsel]
        transport = float((qty * lane_cost[src, dst]).sum())
    scrap = scrap_cost(rec, prices["unit_cost"])
    # Expired units cost what they cost to make or buy, like scrap: no sale's cost of goods carries them.
    e_prod, e_qty = expired_in_window(rec)
    expiry = float((e_qty * prices["unit_cost"][e_prod]).sum())
    fixed = sum(f.fixed_cost_per_day for f in sc.factories) * (end - start)
    total = cogs + holding + backorder + lost_cost + transport + overtime_cost + scrap + expiry + fixed
    return {
        "revenue": revenue,
        "cogs": cogs,
        "gross_margin": revenue - cogs,
        "holding_cost": holding,
        "backorder_cost": backorder,
        "lost_sale_cost": lost_cost,
        "transport_cost": transport,
        "overtime_cost": overtime_cost,
        "scrap_cost": scrap,
        "expiry_cost": expiry,
        "expired_units": float(e_qty.sum()),
        "fixed_cost": fixed,
        "total_cost": total,
        "profit": revenue - total,
    }


def compute_kpis(rec: Records, sc: Scenario) -> dict[str, Any]:
    """All KPIs of one replication, keyed by the names in ``KPI_NAMES``."""
    prices = product_arrays(sc)
    out: dict[str, Any] = {}
    out.update(service_kpis(rec))
    out.update(stock_kpis(rec, prices))
    fk = factory_kpis(rec, sc)
    out.update(fk)
    out.update(money_kpis(rec, sc, prices, fk["overtime_cost"]))
    from simsop.planning.kpis import PLANNING_COSTS, planning_kpis

    out.update(planning_kpis(rec, sc, out["revenue"], out["gross_margin"]))
    extra = sum(out[k] for k in PLANNING_COSTS)
    out["total_cost"] += extra
    out["profit"] -= extra
    window = rec.meta.horizon - rec.meta.warmup
    daily_ship = out["shipped_units"] / window
    out["days_of_supply"] = _ratio(out["avg_on_hand"], daily_ship)
    out["inventory_turns"] = _ratio(out["cogs"] * 365.0 / window, out["avg_inventory_value"])
    return {k: out[k] for k in ALL_KPI_NAMES}


# ---------------------------------------------------------------------------------------------- shocks

SHOCK_KPI_NAMES = (
    "shocks_realised", "shock_start", "shock_window_end", "shock_pre_otif", "shock_threshold",
    "shock_recovery_days", "shock_recovered", "shock_worst_otif", "shock_window_otif", "shock_peak_backlog",
    "shock_lost_units", "shock_lost_revenue", "shock_window_revenue", "shock_window_profit",
)
# The shock KPIs that say how the company fared in the window (the others say what the window is). A stress
# run also measures these on the same random future without the shocks, over the same window, and reports
# the paired difference as the shock's effect: a plan's ordinary shortfalls in the window are not the shock's.
SHOCK_OUTCOME_NAMES = (
    "shock_recovery_days", "shock_recovered", "shock_worst_otif", "shock_window_otif", "shock_peak_backlog",
    "shock_lost_units", "shock_lost_revenue", "shock_window_revenue", "shock_window_profit",
)
# Suffix of an outcome measured on the same future without the shocks (``shock_worst_otif_noshock``).
NO_SHOCK_SUFFIX = "_noshock"


def daily_otif(rec: Records) -> tuple[np.ndarray, np.ndarray]:
    """Orders due on each day of the horizon (by promised date), and how many were on time in full."""
    horizon = rec.meta.horizon
    orders, lines, shipped = rec.orders, rec.lines, rec.shipped
    o_due = orders["due"].astype(float, copy=False)
    l_order = lines["order_id"].astype(int, copy=False)
    l_qty = lines["qty"].astype(float, copy=False)
    s_line = shipped["line_id"].astype(int, copy=False)
    l_due = o_due[l_order]
    on_time = shipped["time"].astype(float, copy=False) <= l_due[s_line] + _TOL
    qty_on_time = np.bincount(s_line, weights=shipped["qty"].astype(float, copy=False) * on_time, minlength=len(l_qty))
    late = np.bincount(l_order, weights=qty_on_time < l_qty - 1e-7, minlength=len(o_due))
    day = np.floor(o_due).astype(int, copy=False)
    judged = day < horizon
    due = np.bincount(day[judged], minlength=horizon).astype(float, copy=False)
    ok = np.bincount(day[judged], weights=(late == 0)[judged], minlength=horizon)
    return due, ok


def rolling_otif(due: np.ndarray, ok: np.ndarray, days: int = 7) -> np.ndarray:
    """OTIF of the orders due in the ``days`` days ending on each day (nan when none were due)."""
    cd = np.concatenate([[0.0], np.cumsum(due)])
    ck = np.concatenate([[0.0], np.cumsum(ok)])
    i = np.arange(len(due))
    lo = np.maximum(i + 1 - days, 0)
    n = cd[i + 1] - cd[lo]
    return np.where(n > 0, (ck[i + 1] - ck[lo]) / np.maximum(n, 1.0), np.nan)


def window_view(rec: Records, start: int, end: int) -> Records:
    """The records seen through the window [start, end), for the window-based KPI functions above."""
    from dataclasses import replace

    from simsop.model.records import SNAPSHOT_FIELDS, Snapshots

    snap = Snapshots(*(getattr(rec.snapshots, f)[:end] for f in SNAPSHOT_FIELDS))
    return Records(replace(rec.meta, warmup=start, horizon=end), snap, rec.tables)


# Days a shock's window watches after its effect is gone (``shock_kpis``' settle_days).
RECOVERY_ALLOWANCE = 60


def shock_kpis(rec: Records, sc: Scenario, windows: Any = None, threshold: float | None = None,
               settle_days: int = RECOVERY_ALLOWANCE, rolling_days: int = 7, pre_days: int = 90) -> dict[str, float]:
    """Service and money during a disruption, from the records of one replication.

    All shocks that happened are taken as one disruption: it starts on the first shock's start day and
    is watched until the last shock's effect is gone plus ``settle_days`` (``shock_window_end``, at most the
    horizon). Daily OTIF counts the orders due each day; its ``rolling_days`` rolling value is compared
    with the threshold: ``threshold``, or else 95% or the OTIF of the ``pre_days`` before the shock minus 2
    points, whichever is lower.

    * ``shock_recovery_days``: days from the start until the rolling OTIF is back at or above the
      threshold for the rest of the window (0: it never fell below); a future still below at the window's
      end has not recovered: its value is censored at the window's length (``shock_window_end`` -
      ``shock_start``, longer than any recovery seen in the window), so a mean over futures counts it
      instead of dropping it, and is then a lower bound;
      A window cut short by the horizon (the effect plus ``settle_days`` runs past it, as for a shock
      late in the run or one that lasts) counts as recovered only when the rolling OTIF was at or above the
      threshold on each of its last ``settle_days`` days; otherwise it is censored at the days observed
      (``recovery_days`` is then at least what it would have been; the horizon hid the rest);
    * ``shock_recovered``: 1 when it recovered within the window, else 0 (its mean: the share recovered);
    * ``shock_worst_otif``: the lowest rolling OTIF in the window; ``shock_window_otif``: OTIF of the orders
      placed in the window; ``shock_peak_backlog``: the largest end-of-day customer backlog (units);
    * ``shock_lost_units``/``shock_lost_revenue``: units lost to stock-outs in the window, and their price;
    * ``shock_window_revenue``/``shock_window_profit``: the P&L of the window as the run's (``profit`` of
      the window's KPIs), with the S&OP plans' costs in it: a shock a plan answers by hiring, subcontracting
      or changing the plan shows those costs.

    A plan's ordinary troubles (a seasonal peak it under-builds) fall in the window too: judge the shocks
    by comparing these values with those of the same future without them over the same window (a run
    of the scenario without the shocks, with ``windows`` from :func:`simsop.shocks.windows`); the stress
    runner does so for ``SHOCK_OUTCOME_NAMES`` (common random numbers make the difference precise).

    Args:
        rec: frozen records.
        sc: the scenario.
        windows: the shocks to judge (``ShockApplied`` rows: name, type, start, end, effect_end); default the
            ``shocks`` table of ``rec``.
        threshold: the OTIF counted as recovered (default: see above).

    Returns:
        The values keyed by ``SHOCK_KPI_NAMES``; nan when no shock happened (``shocks_realised`` 0).
    """
    ws = list(rec.tables["shocks"].rows() if windows is None else windows)
    out = dict.fromkeys(SHOCK_KPI_NAMES, float("nan"))
    out["shocks_realised"] = float(len(ws))
    m = rec.meta
    if not ws or min(w.start for w in ws) >= m.horizon:
        return out
    start = int(min(w.start for w in ws))
    watched = int(np.ceil(max(w.effect_end for w in ws)) + settle_days)
    end = min(m.horizon, watched)
    # A window the horizon cuts short has not shown its end: the process counts as recovered only when the
    # rolling OTIF has been at or above the threshold for the last settle_days of it (the allowance an uncut
    # window gives after the effect), else it is censored at the days observed.
    confirm = settle_days if watched > m.horizon else 1
    due, ok = daily_otif(rec)
    lo = max(0, start - pre_days, min(m.warmup, start))
    pre = _ratio(float(ok[lo:start].sum()), float(due[lo:start].sum()))
    thr = threshold if threshold is not None else (0.95 if np.isnan(pre) else min(0.95, pre - 0.02))
    roll = rolling_otif(due, ok, rolling_days)[start:end]
    below = np.nonzero(roll < thr)[0]  # nan (no order due) is not below
    # Not recovered: censored at the window's length, so no future drops out of a mean over futures.
    recovered = len(roll) >= confirm and (len(below) == 0 or below[-1] < len(roll) - confirm)
    recovery = (float(below[-1] + 1) if len(below) else 0.0) if recovered else float(len(roll))
    prices = product_arrays(sc)
    lost = rec.lost
    lt = lost["time"].astype(float, copy=False)
    lsel = (lt >= start) & (lt < end)
    l_prod = rec.lines["product"].astype(int, copy=False)
    lost_qty = lost["qty"].astype(float, copy=False)[lsel]
    lost_price = prices["price"][l_prod[lost["line_id"].astype(int, copy=False)[lsel]]] if lsel.any() else np.empty(0)
    fd = rec.factory_days
    fday = fd["day"].astype(int, copy=False)
    fsel = (fday >= start) & (fday < end)
    ot_price = np.array([f.capacity.overtime_cost if f.capacity is not None else 0.0 for f in sc.factories] or [0.0])
    f_ot = fd["overtime_used"].astype(float, copy=False)[fsel]
    overtime = float((f_ot * ot_price[fd["factory"].astype(int, copy=False)[fsel]]).sum())
    view = window_view(rec, start, end)
    money = money_kpis(view, sc, prices, overtime)
    from simsop.planning.kpis import plan_costs

    # The plans' labour, subcontracting and changes belong to the window's P&L as they do to the run's (left
    # out, Red Tomato's window profit missed $32 a worker a day of wages).
    planned = sum(plan_costs(view, sc).values())
    finite = roll[~np.isnan(roll)]
    out.update({
        "shock_start": float(start),
        "shock_window_end": float(end),
        "shock_pre_otif": pre,
        "shock_threshold": float(thr),
        "shock_recovery_days": recovery,
        "shock_recovered": float(recovered),
        "shock_worst_otif": float(finite.min()) if len(finite) else float("nan"),
        "shock_window_otif": service_kpis(view)["otif"],
        "shock_peak_backlog": float(rec.snapshots.backlog[start:end].sum(axis=1).max()),
        "shock_lost_units": float(lost_qty.sum()),
        "shock_lost_revenue": float((lost_qty * lost_price).sum()),
        "shock_window_revenue": money["revenue"],
        "shock_window_profit": money["profit"] - planned,
    })
    return out


def shock_kpis_each(rec: Records, sc: Scenario, **kw: Any) -> list[dict[str, Any]]:
    """``shock_kpis`` of every shock that happened, on its own (keyed also by its ``name`` and ``type``)."""
    return [{"name": w.name, "type": w.type, **shock_kpis(rec, sc, windows=[w], **kw)}
            for w in rec.tables["shocks"].rows()]
