"""Daily series of one replication, the bullwhip ratios drawn from them, and quantile bands across replications.

A replication's records are large (every order line, every shipment); the experiment runner keeps only these
few arrays of one value per day, computed inside the worker, so that quantile bands over hundreds of
replications fit in memory. Series (all of length ``horizon``, day ``d`` = the day starting at time ``d``):

* ``on_hand``: network stock at the end of the day (units, every warehouse);
* ``backlog``: customer backlog at the end of the day (units, every warehouse);
* ``demand``: units customers ordered that day; ``shipments``: units shipped to customers that day;
* ``orders_<warehouse>``: units of replenishment orders the warehouse placed that day (whatever the source);
* ``production``: units the factories made that day (rate factories: regular + overtime used; line
  factories: the good and scrapped output of jobs finished that day);
* ``planned_production``: units the S&OP plan told the factories to make that day (NaN without a plan);
* ``capacity_load``: rate factories' output over their regular capacity that day (a fraction; NaN on a day
  without regular capacity);
* ``rolling7:<name>`` for the series the report may draw as weekly averages (all but ``shipments`` and
  ``planned_production``): the replication's own trailing 7-day average of ``<name>`` (:func:`trailing_mean`).
  Quantiles across replications of these are the bands of a 7-day line; they cannot be had from the daily
  quantiles afterwards (a quantile of averages is not the average of quantiles), and the replications' daily
  values exist only here.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from simsop.model.records import Records
from simsop.planning.kpis import last_value_at

__all__ = ["BAND_COLUMNS", "BASE_SERIES", "ROLLING_DAYS", "bands", "bullwhip", "daily_series", "incoming_demand",
           "per_day", "rolling_name", "trailing_mean"]

BASE_SERIES = ("on_hand", "backlog", "demand", "shipments", "production", "planned_production", "capacity_load")
ROLLING_DAYS = 7
# Series the report never draws as a 7-day line with bands: no rolling copy (it would only take room).
_NOT_ROLLED = ("shipments", "planned_production")
BAND_COLUMNS = ("p5", "p25", "p50", "p75", "p95", "mean")
_QUANTILES = (5.0, 25.0, 50.0, 75.0, 95.0)


def per_day(times: np.ndarray, qty: np.ndarray, horizon: int) -> np.ndarray:
    """Sum ``qty`` by the day each ``time`` falls in; times at or after the horizon are dropped."""
    out = np.zeros(horizon)
    if len(times):
        day = np.floor(np.asarray(times, dtype=float)).astype(np.int64)
        ok = (day >= 0) & (day < horizon)
        out += np.bincount(day[ok], weights=np.asarray(qty, dtype=float)[ok], minlength=horizon)[:horizon]
    return out


def per_day_by(group: np.ndarray, groups: int, times: np.ndarray, qty: np.ndarray, horizon: int) -> np.ndarray:
    """``per_day`` of each group's rows at once: row ``g`` is ``per_day(times[group == g], qty[group == g])``
    (rows of a group outside [0, groups) are dropped). One bincount of (group, day) cells adds each cell's
    quantities in row order, as ``per_day`` of the group would: the same sums, to the bit."""
    out = np.zeros((groups, horizon))
    if len(times):
        day = np.floor(np.asarray(times, dtype=float)).astype(np.int64)
        g = np.asarray(group, dtype=np.int64)
        ok = (day >= 0) & (day < horizon) & (g >= 0) & (g < groups)
        cells = np.bincount(g[ok] * horizon + day[ok], weights=np.asarray(qty, dtype=float)[ok],
                            minlength=groups * horizon)
        out += cells.reshape(groups, horizon)
    return out


def rolling_name(name: str, days: int = ROLLING_DAYS) -> str:
    """The name of the per-replication trailing ``days``-day average of series ``name`` (``rolling7:demand``)."""
    return f"rolling{days}:{name}"


def trailing_mean(x: np.ndarray, days: int = ROLLING_DAYS) -> np.ndarray:
    """Trailing ``days``-day average along the last axis: each day's value is the mean of that day and the
    ``days - 1`` before it (fewer at the start), NaNs skipped, NaN where the whole window is NaN (pandas'
    ``rolling(days, min_periods=1).mean()``). Trailing, so that a change never shows before the day it happens."""
    a = np.asarray(x, dtype=float)
    # The windows themselves (days values each, NaN before day 0) rather than differences of a running sum,
    # which would leave float dust on a week of zeros after a busy one.
    padded = np.concatenate([np.full((*a.shape[:-1], days - 1), np.nan), a], axis=-1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, days, axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN window is NaN, as it should be
        return np.nanmean(windows, axis=-1)


def _warehouse_of_site(rec: Records) -> np.ndarray:
    """The warehouse index of each site index (-1 for a factory or a supplier)."""
    m = rec.meta
    out = np.full(len(m.sites), -1, dtype=np.int64)
    for w, name in enumerate(m.warehouses):
        out[m.sites.index(name)] = w
    return out


def _line_times(rec: Records) -> np.ndarray:
    """Placement time of every order line."""
    return rec.orders["time"].astype(float)[rec.lines["order_id"].astype(int)] if len(rec.lines) else np.empty(0)


def incoming_demand(rec: Records) -> dict[str, np.ndarray]:
    """Units each warehouse was asked for per day: its customers' order lines plus other warehouses' orders on it.

    The demand a stage sees is what its own replenishment orders are compared with in :func:`bullwhip`.
    """
    m = rec.meta
    H = m.horizon
    l_time = _line_times(rec)
    l_wh = rec.orders["warehouse"].astype(int)[rec.lines["order_id"].astype(int)] if len(rec.lines) else np.empty(0)
    l_qty = rec.lines["qty"].astype(float)
    ro = rec.replenishments
    r_src, r_time, r_qty = ro["source"].astype(int), ro["time"].astype(float), ro["qty"].astype(float)
    n_wh = len(m.warehouses)
    customers = per_day_by(l_wh, n_wh, l_time, l_qty, H)
    internal = per_day_by(_warehouse_of_site(rec)[r_src], n_wh, r_time, r_qty, H)
    return {name: customers[w] + internal[w] for w, name in enumerate(m.warehouses)}


def _reordered_products(rec: Records) -> dict[str, np.ndarray] | None:
    """Per warehouse, the products it replenishes by its own orders when the replication had a plan: all but
    those the plan pushes to it (None without a plan: it orders everything it replenishes)."""
    m = rec.meta
    if len(rec.planned_production) == 0 or len(m.sku_plan_fed) != len(m.sku_product):
        return None
    out = {}
    for w, name in enumerate(m.warehouses):
        mask = np.zeros(len(m.products), dtype=bool)
        own = (m.sku_warehouse == w) & ~m.sku_plan_fed
        mask[m.sku_product[own]] = True
        out[name] = mask
    return out


def _production(rec: Records, H: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Units made per day by every factory, by the rate factories alone, and their regular capacity per day."""
    fd = rec.factory_days
    day = fd["day"].astype(float)
    rate_made = per_day(day, fd["regular_used"].astype(float) + fd["overtime_used"].astype(float), H)
    regular = per_day(day, fd["regular_capacity"].astype(float), H)
    made = rate_made
    # Line factories record no factory day: count their finished jobs (good + scrap) on the day they end.
    rate = set(fd["factory"].astype(int).tolist())
    ps, pf = rec.production_started, rec.production_finished
    if len(pf):
        factory_of = last_value_at((ps["job_id"],), ps["factory"], (pf["job_id"],), -1)[0]
        lines_mode = ~np.isin(factory_of, list(rate))
        if lines_mode.any():
            out = pf["good"].astype(float) + pf["scrap"].astype(float)
            made = rate_made + per_day(pf["time"].astype(float)[lines_mode], out[lines_mode], H)
    return made, rate_made, regular


def daily_series(rec: Records) -> dict[str, np.ndarray]:
    """The daily series of one replication and their 7-day averages (see the module docstring), each an array of
    length ``horizon``."""
    m = rec.meta
    H = m.horizon
    snap = rec.snapshots
    l_time = _line_times(rec)
    l_qty = rec.lines["qty"].astype(float)
    shipped = rec.shipped
    made, rate_made, regular = _production(rec, H)
    pp = rec.planned_production
    planned = per_day(pp["day"].astype(float), pp["qty"].astype(float), H) if len(pp) else np.full(H, np.nan)
    # Line factories have no regular capacity per day: the load is that of the rate factories alone.
    load = np.full(H, np.nan)
    np.divide(rate_made, regular, out=load, where=regular > 0)
    out: dict[str, np.ndarray] = {
        "on_hand": snap.on_hand[:H].sum(axis=1),
        "backlog": snap.backlog[:H].sum(axis=1),
        "demand": per_day(l_time, l_qty, H),
        "shipments": per_day(shipped["time"].astype(float), shipped["qty"].astype(float), H),
        "production": made,
        "planned_production": planned,
        "capacity_load": load,
    }
    ro = rec.replenishments
    r_wh, r_time, r_qty = ro["warehouse"].astype(int), ro["time"].astype(float), ro["qty"].astype(float)
    orders = per_day_by(r_wh, len(m.warehouses), r_time, r_qty, H)
    for w, name in enumerate(m.warehouses):
        out[f"orders_{name}"] = orders[w]
    for name in [n for n in out if n not in _NOT_ROLLED]:
        out[rolling_name(name)] = trailing_mean(out[name])
    return out


def _periods(x: np.ndarray, start: int, period: int) -> np.ndarray:
    """Sums over whole periods of ``period`` days from ``start`` (a trailing partial period is dropped)."""
    y = x[start:]
    k = len(y) // period
    return y[: k * period].reshape(k, period).sum(axis=1)


def bullwhip(rec: Records, series: Mapping[str, np.ndarray] | None = None, warmup: int | None = None,
             period: int = 7) -> dict[str, float]:
    """Bullwhip ratio of each warehouse: variance of its replenishment orders over that of the demand it sees.

    Both are summed over periods of ``period`` days (weekly by default, so that a weekly review is not taken
    for amplification) from the warm-up on; the demand a warehouse sees is its customers' order lines plus
    the orders of warehouses it supplies (:func:`incoming_demand`). Above 1, the stage amplifies variability.

    Under an S&OP plan the plants push what the plan says to the warehouses they supply, which stop ordering
    those products: for them the stage's replenishment is what the plants send it (shipments leaving the
    plants for it), so the ratio still covers every product the stage sells, with or without a plan, and
    policies compare like with like. (Its orders alone against its demand for everything would read as if
    the plan had cured the bullwhip; its orders against its demand for the products it still orders would
    compare different products under different policies.) ``bullwhip_production`` is the variance of the
    units made over that of customer demand for the products factories make (bought products are not the
    plants' to smooth).

    Returns:
        ``{"bullwhip_<warehouse>": ratio, "bullwhip_production": ratio}``; NaN when the demand does not vary
        or fewer than two periods remain after the warm-up.
    """
    if period < 1:
        raise ValueError(f"period must be >= 1 day, got {period}")
    m = rec.meta
    start = m.warmup if warmup is None else warmup
    s = daily_series(rec) if series is None else series
    reordered = _reordered_products(rec)
    demand = incoming_demand(rec)
    ro, sent = rec.replenishments, rec.departed
    if reordered is not None:
        # Its own orders of what it still reorders (before the plan went live it ordered the rest too), and for
        # the rest what the plants send it: every warehouse's at once.
        own = np.array([reordered[name] for name in m.warehouses]).reshape(len(m.warehouses), len(m.products))
        r_wh, s_wh = ro["warehouse"].astype(int), sent["warehouse"].astype(int)
        from_plant = np.isin(sent["source"].astype(int), [m.sites.index(f) for f in m.factories])
        sel = own[r_wh, ro["product"].astype(int)]
        pushed = from_plant & ~own[s_wh, sent["product"].astype(int)]
        replenished = (per_day_by(np.where(sel, r_wh, -1), len(m.warehouses), ro["time"], ro["qty"], m.horizon)
                       + per_day_by(np.where(pushed, s_wh, -1), len(m.warehouses), sent["time"], sent["qty"],
                                    m.horizon))
    out: dict[str, float] = {}
    for w, name in enumerate(m.warehouses):
        placed = np.asarray(s[f"orders_{name}"], dtype=float) if reordered is None else replenished[w]
        o = _periods(placed, start, period)
        d = _periods(demand[name], start, period)
        ratio = float("nan")
        if len(d) >= 2:
            vd = float(d.var(ddof=1))
            if vd > 0:
                ratio = float(o.var(ddof=1)) / vd
        out[f"bullwhip_{name}"] = ratio
    # The plants' side: how much more production varies than customer demand (production smoothing). Under
    # an S&OP plan the plants make what the plan says rather than what the warehouses order.
    if m.factories:
        made = _periods(np.asarray(s["production"], dtype=float), start, period)
        daily = np.asarray(s["demand"], dtype=float)
        if len(m.product_made) == len(m.products) and not m.product_made.all() and len(rec.lines):
            keep = m.product_made[rec.lines["product"].astype(int)]
            daily = per_day(_line_times(rec)[keep], rec.lines["qty"].astype(float)[keep], m.horizon)
        dem = _periods(daily, start, period)
        vd = float(dem.var(ddof=1)) if len(dem) >= 2 else 0.0
        out["bullwhip_production"] = float(made.var(ddof=1)) / vd if vd > 0 else float("nan")
    return out


def bands(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Across-replication quantiles (P5, P25, P50, P75, P95; numpy's linear method) and mean of each day.

    Args:
        matrix: (replications, days); NaNs are skipped, a day that is NaN everywhere gives NaN.
    """
    arr = np.asarray(matrix, dtype=float)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"matrix must have shape (replications, days) with >= 1 row, got {arr.shape}")
    # np.nanpercentile works column by column (apply_along_axis) as soon as a NaN could be present, which
    # costs about 50 ms per series of two years; days without NaN (almost all) take the vectorised path,
    # which gives the same numbers.
    missing = np.isnan(arr)
    some = missing.any(axis=0)
    full = ~some
    if full.all():
        q = np.percentile(arr, _QUANTILES, axis=0)
    else:
        q = np.full((len(_QUANTILES), arr.shape[1]), np.nan)
        q[:, full] = np.percentile(arr[:, full], _QUANTILES, axis=0)
        partly = some & ~missing.all(axis=0)  # all-NaN days (e.g. before any plan) stay NaN
        if partly.any():
            q[:, partly] = np.nanpercentile(arr[:, partly], _QUANTILES, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of an all-NaN day is NaN, as it should be
        mean = np.nanmean(arr, axis=0)
    return {**{c: q[i] for i, c in enumerate(BAND_COLUMNS[:-1])}, "mean": mean}
