"""Per-replication tables for the report, as pure functions of one replication's records (pandas, no plots).

The experiment runner calls these on the records of each replication (``run_replication(...,
keep_records=True)``, inside the worker, so only small frames travel back), adds ``policy``, ``case`` and
``replication`` columns, averages them with :func:`average_replications` and writes:

* ``plan.csv`` from :func:`plan_vs_actual` (keys :data:`PLAN_KEYS`),
* ``forecast.csv`` from :func:`forecast_by_cycle` (keys :data:`FORECAST_KEYS`),
* ``shocks.csv`` from :func:`shock_windows` (not averaged: one row per realised shock and replication).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from simsop.model.records import Records
from simsop.planning.kpis import plan_in_force
from simsop.scenario import Scenario

PLAN_COLUMNS = ("family", "bucket", "bucket_start", "bucket_days", "demand_plan", "production_plan",
                "actual_sales", "shipped", "actual_production", "demand_plan_made", "actual_sales_made", "purchased",
                "first_plan_cost")
PLAN_KEYS = ("family", "bucket", "bucket_start", "bucket_days")
FORECAST_COLUMNS = ("cycle", "lag", "cutoff_day", "bucket_start", "n", "actual", "forecast", "mape", "wmape",
                    "bias", "wmape_naive", "wmape_statistical", "wmape_sales")
FORECAST_KEYS = ("cycle", "lag", "cutoff_day", "bucket_start")
SHOCK_COLUMNS = ("name", "type", "start", "end", "effect_end")


def bucket_calendar(scenario: Scenario, horizon: int | None = None) -> np.ndarray:
    """Start day of every planning bucket, indexed like the ``bucket`` column of the planning records.

    The same calendar as :class:`simsop.planning.cycle.PlanningCycle` builds (it reaches back over the
    forecast history, so index 0 is a bucket long before day 0).
    """
    from simsop.planning.cycle import bucket_starts

    spec = scenario.planning
    H = scenario.horizon if horizon is None else horizon
    max_len = 31 if spec.bucket == "month" else (7 if spec.bucket == "week" else int(spec.bucket))
    lookahead = (spec.horizon_buckets + 4) * max_len + spec.executive_meeting_day + spec.plan_delay_days
    return bucket_starts(spec.bucket, -spec.history_buckets * max_len, H + lookahead)


def plan_vs_actual(records: Records, scenario: Scenario) -> pd.DataFrame:
    """Plan against actual per product family and planning bucket of one replication.

    One row per family × bucket that lies wholly inside the horizon, columns :data:`PLAN_COLUMNS`:

    * ``bucket``: bucket number counted from the bucket starting on day 0; ``bucket_start`` (day),
      ``bucket_days``;
    * ``demand_plan`` (consensus forecast) and ``production_plan`` of the plan version in force when the
      bucket started, in units per bucket (NaN before the first plan; ``production_plan`` NaN for buckets
      the plan does not drive);
    * ``actual_sales``: booked customer orders of the bucket (the S&OP cycle's own count, net of
      cancellations; without a planning cycle, the units ordered in the bucket);
    * ``shipped``: units shipped to customers in the bucket;
    * ``actual_production``: good units the factories made in the bucket, counted on the day they were made
      (:func:`made_by_day`), not the day they left the plant (a capacity-limited lane holds them at the dock),
      and without units bought from subcontractors (they leave from the plant too, but no plant made them);
    * ``demand_plan_made`` and ``actual_sales_made``: the same as ``demand_plan`` and ``actual_sales`` for the
      family's products some factory makes, the demand its production serves (a family may hold products
      bought from a supplier, which no plant makes);
    * ``purchased``: units received from suppliers in the bucket (counted on the day they arrived);
    * ``first_plan_cost``: what the first S&OP cycle's plan costs in the bucket, by :func:`first_plan_costs`
      (NaN where that is not known).
    """
    m = records.meta
    starts = bucket_calendar(scenario, m.horizon)
    first = int(np.searchsorted(starts, 0))
    idx = np.arange(first, len(starts) - 1)
    idx = idx[starts[idx + 1] <= m.horizon]
    fam_of = {p.id: p.family for p in scenario.products}
    families = list(dict.fromkeys(fam_of[p] for p in m.products))
    fam_idx = np.array([families.index(fam_of[p]) for p in m.products], dtype=int)
    made_ids = {p for f in scenario.factories for p in f.products}
    is_made = np.array([p in made_ids for p in m.products], dtype=bool)
    n_b, n_f = len(idx), len(families)
    edges = starts[first: first + n_b + 1].astype(float)

    def by_day(day: np.ndarray, product: np.ndarray, qty: np.ndarray) -> np.ndarray:
        out = np.zeros((n_b, n_f))
        if len(day) and n_b:
            b = np.searchsorted(edges, day, side="right") - 1
            ok = (b >= 0) & (b < n_b)
            np.add.at(out, (b[ok], fam_idx[product[ok].astype(int)]), qty[ok])
        return out

    def by_bucket(bucket: np.ndarray, product: np.ndarray, qty: np.ndarray) -> np.ndarray:
        out = np.full((n_b, n_f), np.nan)
        if len(bucket) and n_b:
            b = bucket.astype(int) - first
            ok = (b >= 0) & (b < n_b) & ~np.isnan(qty)
            if ok.any():
                out[np.unique(b[ok])] = 0.0
                np.add.at(out, (b[ok], fam_idx[product[ok].astype(int)]), qty[ok])
        return out

    def made_only(qty: np.ndarray, product: np.ndarray) -> np.ndarray:
        """The quantities of products a factory makes; 0 for bought-in ones (so a bucket stays counted)."""
        return np.where(is_made[product.astype(int)], qty, 0.0) if len(product) else qty

    plan = plan_in_force(records)
    if len(plan["bucket"]):
        demand_plan = by_bucket(plan["bucket"], plan["product"], plan["demand_plan"])
        demand_plan_made = by_bucket(plan["bucket"], plan["product"], made_only(plan["demand_plan"], plan["product"]))
        has = ~np.isnan(plan["production"])
        production_plan = by_bucket(plan["bucket"][has], plan["product"][has], plan["production"][has])
    else:
        demand_plan = demand_plan_made = production_plan = np.full((n_b, n_f), np.nan)
    bs = records.bucket_sales
    if len(bs):
        units = bs["units"].astype(float)
        sales = by_bucket(bs["bucket"], bs["product"], units)
        sales_made = by_bucket(bs["bucket"], bs["product"], made_only(units, bs["product"]))
    else:
        lines, orders = records.lines, records.orders
        o_time = orders["time"].astype(float)
        l_order = lines["order_id"].astype(int)
        placed = o_time[l_order] if len(l_order) else np.empty(0)
        qty = lines["qty"].astype(float)
        sales = by_day(placed, lines["product"], qty)
        sales_made = by_day(placed, lines["product"], made_only(qty, lines["product"]))
    sh = records.shipped
    s_line = sh["line_id"].astype(int)
    l_prod = records.lines["product"].astype(int)
    shipped = by_day(sh["time"].astype(float), l_prod[s_line] if len(s_line) else np.empty(0, dtype=int),
                     sh["qty"].astype(float))
    production = by_day(*made_by_day(records))
    dep = records.departed
    src = dep["source"].astype(int)
    supplier_sites = np.array([s in {x.id for x in scenario.suppliers} for s in m.sites], dtype=bool)
    bought = supplier_sites[src] if len(src) else np.empty(0, dtype=bool)
    # Received on the day the shipment arrived (a lane delay may move it from the day planned at departure).
    arrived_at = dict(zip(records.arrived["ship_id"].tolist(), records.arrived["time"].tolist(), strict=True))
    got = [arrived_at.get(i, np.nan) for i in dep["ship_id"][bought].tolist()]
    purchased = by_day(np.floor(np.asarray(got, dtype=float)), dep["product"].astype(int)[bought],
                       dep["qty"].astype(float)[bought]) if got else np.zeros((n_b, n_f))
    plan_cost = np.full((n_b, n_f), np.nan)
    for (b, fam), cost in first_plan_costs(records, scenario).items():
        if 0 <= b - first < n_b:
            plan_cost[b - first, families.index(fam)] = cost
    rows = {
        "family": np.tile(np.asarray(families, dtype=object), n_b),
        "bucket": np.repeat(np.arange(n_b), n_f),
        "bucket_start": np.repeat(starts[idx], n_f),
        "bucket_days": np.repeat(starts[idx + 1] - starts[idx], n_f),
        "demand_plan": demand_plan.ravel(),
        "production_plan": production_plan.ravel(),
        "actual_sales": sales.ravel(),
        "shipped": shipped.ravel(),
        "actual_production": production.ravel(),
        "demand_plan_made": demand_plan_made.ravel(),
        "actual_sales_made": sales_made.ravel(),
        "purchased": purchased.ravel(),
        "first_plan_cost": plan_cost.ravel(),
    }
    return pd.DataFrame(rows, columns=list(PLAN_COLUMNS))


def made_by_day(records: Records) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Good units the factories made: (day made, product, units) arrays, several rows per job and day possible.

    Goods leave a plant when they are ready (a rate factory ships a day's output the next morning, a line the
    moment a job ends), but a capacity-limited lane holds what does not fit at the dock for later days, so the
    departures do not say when goods were made; the factory's own records do. A line factory's job is made on
    the day it ends (the day before, when it ends at midnight). A rate factory records what it made each day
    (``factory_days``: regular + overtime used) and when each job started and ended; it works its queue in
    order, each job to the end before the next, unless a job due earlier is queued ahead of one under way. So
    on a day its budget goes first to the jobs that end that day (what each still had to make), and the rest to
    the one job it leaves unfinished: of the jobs begun and not ended, the one begun last (a job begun later
    was ahead of the others in the queue, and the day's work stopped inside it). Good units are a job's output
    times its yield (good over good and scrap when it ended; the plant's mean yield for a job still running at
    the horizon), so a day's split between good and scrap is the job's average: exact for a plant without
    losses and for every job's total. Units bought from subcontractors are not made by any plant: not counted.
    """
    m = records.meta
    ps, pf, fd = records.production_started, records.production_finished, records.factory_days
    if len(ps) == 0:
        return np.empty(0), np.empty(0, dtype=int), np.empty(0)
    job, factory, product = ps["job_id"].astype(int), ps["factory"].astype(int), ps["product"].astype(int)
    n = len(job)
    end = np.full(n, np.inf)  # the day each job ended (inf: still running at the horizon)
    ratio = np.full(n, np.nan)
    good_out = np.full(n, np.nan)
    if len(pf):
        order = np.argsort(job, kind="stable")
        row = order[np.searchsorted(job[order], pf["job_id"].astype(int))]
        end[row] = np.ceil(pf["time"].astype(float) - 1e-9) - 1.0
        good, scrap = pf["good"].astype(float), pf["scrap"].astype(float)
        good_out[row] = good
        out = good + scrap
        ratio[row] = np.divide(good, out, out=np.ones_like(good), where=out > 0)
    mean_yield = m.factory_yield if len(m.factory_yield) == len(m.factories) else np.ones(len(m.factories))
    ratio = np.where(np.isnan(ratio), mean_yield[factory], ratio)
    rate = set(fd["factory"].astype(int).tolist()) if len(fd) else set()
    days: list[float] = []
    products: list[int] = []
    units: list[float] = []
    # Line factories: the whole job on the day it ended.
    lines = ~np.isin(factory, list(rate)) & np.isfinite(end)
    days += end[lines].tolist()
    products += product[lines].tolist()
    units += good_out[lines].tolist()
    qty = ps["qty"].astype(float).tolist()
    start = ps["time"].astype(float).tolist()
    end_l, ratio_l, product_l = end.tolist(), ratio.tolist(), product.tolist()
    fd_f, fd_day = fd["factory"].astype(int), fd["day"].astype(int)
    fd_made = fd["regular_used"].astype(float) + fd["overtime_used"].astype(float)
    for f in sorted(rate):
        mine = np.flatnonzero(factory == f).tolist()  # in the order they started
        starts: dict[int, list[int]] = {}
        ends: dict[int, list[int]] = {}
        for j in mine:
            starts.setdefault(int(start[j]), []).append(j)
            if math.isfinite(end_l[j]):
                ends.setdefault(int(end_l[j]), []).append(j)
        sel = fd_f == f
        done = dict.fromkeys(mine, 0.0)
        running: list[int] = []  # begun and not ended, in the order they began
        for d, budget in sorted(zip(fd_day[sel].tolist(), fd_made[sel].tolist(), strict=True)):
            running.extend(starts.get(d, ()))
            left = budget
            for j in ends.get(d, ()):
                made = max(qty[j] - done[j], 0.0)
                done[j] += made
                left -= made
                running.remove(j)
                days.append(float(d))
                products.append(product_l[j])
                units.append(made * ratio_l[j])
            if left > 1e-9 * max(1.0, budget) and running:
                j = running[-1]
                done[j] += left
                days.append(float(d))
                products.append(product_l[j])
                units.append(left * ratio_l[j])
    return np.asarray(days, dtype=float), np.asarray(products, dtype=int), np.asarray(units, dtype=float)


def first_plan_costs(records: Records, scenario: Scenario) -> dict[tuple[int, str], float]:
    """The cost of the first S&OP cycle's plan, per (absolute bucket, family), as the aggregate plan prices it.

    The records keep the plan's decisions, not the cost the policy computed, so the plan is priced again with
    the scenario's rates, the textbook's cost function (Chopra & Meindl, ch. 8): wages of the planned
    workforce, hiring and layoffs from the plant's headcount, overtime (production beyond the workforce's
    regular output), materials (unit cost), subcontracting, and holding and backlog on the stock the plan
    projects at each bucket's end (initial stock plus production and purchases less the demand plan),
    per unit per day times the bucket's days. It is known only where every term is: a family made in one
    plant that has a ``planning.workforce`` and makes no other family, a plan that starts on day 0 (from the
    initial stock) and covers every bucket with production; elsewhere the dict is empty. On Red Tomato this
    is the LP's objective, $422,275. The policy prices a family as one item (demand-weighted unit, holding and
    backlog costs, a backlog never cheaper than twice holding), so on a family of several products, or with a
    backlog penalty below that, the two can differ a little: recording the policy's own cost with the plan
    would remove the re-pricing.
    """
    plan = records.plan
    spec = scenario.planning
    if len(plan) == 0 or not spec.workforce:
        return {}
    cyc = plan["cycle"].astype(int)
    sel = cyc == int(cyc.min())
    if float(plan["bucket_start"][sel].min()) != 0.0:
        return {}
    products = {p.id: p for p in scenario.products}
    names = records.meta.products
    out: dict[tuple[int, str], float] = {}
    for ws in spec.workforce:
        fac = next((f for f in scenario.factories if f.id == ws.factory), None)
        if fac is None or len({products[p].family for p in fac.products}) != 1:
            continue
        family = products[fac.products[0]].family
        members = [names.index(p) for p in fac.products if p in names]
        mine = sel & np.isin(plan["product"].astype(int), members)
        buckets = np.unique(plan["bucket"][mine].astype(int))
        if len(buckets) == 0:
            continue
        rows = {k: plan[k][mine] for k in ("bucket", "product", "bucket_days", "demand_plan", "production",
                                           "workforce", "subcontract")}
        if np.isnan(rows["production"]).any() or np.isnan(rows["workforce"]).any():
            continue  # a bucket the plan does not set: its cost is not the plan's
        net = sum(i.initial for w in scenario.warehouses for i in w.stock if i.product in fac.products)
        workers = ws.workers
        ot_unit = ws.overtime_cost_per_unit if ws.overtime_cost_per_unit is not None else (
            fac.capacity.overtime_cost if fac.capacity is not None else 0.0)
        unit = np.array([products[names[int(p)]].unit_cost for p in rows["product"]])
        hold = np.array([products[names[int(p)]].holding_per_day for p in rows["product"]])
        back = np.array([products[names[int(p)]].backorder_penalty for p in rows["product"]])
        for b in buckets.tolist():
            at = rows["bucket"] == b
            days = float(rows["bucket_days"][at][0])
            made, bought = float(rows["production"][at].sum()), float(np.nan_to_num(rows["subcontract"][at]).sum())
            now = float(rows["workforce"][at][0]) / ws.units_per_worker_day  # the plant's, on every product's line
            # Holding and backlog rates of the family: its products' rates weighted by their demand plan.
            dem = rows["demand_plan"][at]
            weights = dem / dem.sum() if dem.sum() > 0 else np.full(len(dem), 1.0 / len(dem))
            net += made + bought - float(dem.sum())
            cost = (ws.wage_per_worker_day * now * days
                    + ws.hiring_cost * max(now - workers, 0.0) + ws.layoff_cost * max(workers - now, 0.0)
                    + ot_unit * max(made - now * ws.units_per_worker_day * days, 0.0)
                    + float(unit[at] @ rows["production"][at]) + (ws.subcontract_cost or 0.0) * bought
                    + days * (float(hold[at] @ weights) * max(net, 0.0) + float(back[at] @ weights) * max(-net, 0.0)))
            out[(b, family)] = cost
            workers = now
    return out


def forecast_by_cycle(records: Records, scenario: Scenario | None = None) -> pd.DataFrame:
    """Accuracy of each S&OP cycle's forecasts by lag, against the booked orders of finished buckets.

    One row per cycle × lag with at least one finished bucket, columns :data:`FORECAST_COLUMNS`, with the
    definitions of :mod:`simsop.planning.kpis` (consensus forecast): ``mape`` and ``wmape`` in %, ``bias``
    = sum(forecast − actual) / sum(actual) (a fraction), ``wmape_naive``/``_statistical``/``_sales`` of the
    other forecasts; ``actual`` and ``forecast`` are total units, ``n`` the product × bucket pairs judged.
    ``cutoff_day`` is the first day of the cycle's cut-off bucket and ``bucket_start`` that of the
    forecast bucket (NaN when unknown: pass ``scenario`` to get them all).
    """
    fcs, sales = records.forecasts, records.bucket_sales
    if len(fcs) == 0 or len(sales) == 0:
        return pd.DataFrame(columns=list(FORECAST_COLUMNS))
    f, a = fcs.columns(), sales.columns()
    # The forecasts of finished buckets, with the bucket's booked orders (an inner join on bucket x product,
    # in the forecasts' order), then grouped by (cycle, lag) in a stable sort: numpy, since this runs in
    # every replication of an experiment.
    f_bucket, f_product = f["bucket"].astype(np.int64), f["product"].astype(np.int64)
    a_bucket, a_product = a["bucket"].astype(np.int64), a["product"].astype(np.int64)
    low = min(int(f_bucket.min()), int(a_bucket.min()))
    width = int(max(f_product.max(), a_product.max())) + 1
    f_key, a_key = (f_bucket - low) * width + f_product, (a_bucket - low) * width + a_product
    by_key = np.argsort(a_key, kind="stable")
    at = np.minimum(np.searchsorted(a_key[by_key], f_key), len(a_key) - 1)
    rows = np.flatnonzero(a_key[by_key][at] == f_key)
    if len(rows) == 0:
        return pd.DataFrame(columns=list(FORECAST_COLUMNS))
    rows = rows[np.lexsort((f["lag"][rows], f["cycle"][rows]))]
    act = a["units"].astype(float)[by_key][at[rows]]
    bucket, lag, cycle = f_bucket[rows], f["lag"].astype(int)[rows], f["cycle"].astype(int)[rows]
    if scenario is not None:
        starts = bucket_calendar(scenario, records.meta.horizon).astype(float)

        def start_of(i: np.ndarray) -> np.ndarray:
            return np.where((i >= 0) & (i < len(starts)), starts[np.clip(i, 0, len(starts) - 1)], np.nan)
    else:
        plan = records.plan
        known = dict(zip(plan["bucket"].tolist(), plan["bucket_start"].tolist(), strict=True)) if len(plan) else {}

        def start_of(i: np.ndarray) -> np.ndarray:
            return np.array([known.get(int(x), np.nan) for x in i], dtype=float)

    first = np.flatnonzero(np.r_[True, (cycle[1:] != cycle[:-1]) | (lag[1:] != lag[:-1])])
    n = np.diff(np.r_[first, len(rows)])

    def total(x: np.ndarray) -> np.ndarray:
        return np.add.reduceat(x, first)

    cons = f["consensus"].astype(float)[rows]
    act_sum, act_abs = total(act), total(np.abs(act))

    def wmape(fc: np.ndarray) -> np.ndarray:
        err = total(np.abs(fc - act))
        return np.divide(100.0 * err, act_abs, out=np.full(len(first), np.nan), where=act_abs > 0)

    nz = act > 0
    ape = np.abs(cons - act) / np.where(nz, act, 1.0) * nz
    n_nz = total(nz.astype(float))
    out = {
        "cycle": cycle[first], "lag": lag[first], "cutoff_day": start_of(bucket[first] - lag[first]),
        "bucket_start": start_of(bucket[first]), "n": n, "actual": act_sum,
        "forecast": total(cons),
        "mape": np.divide(100.0 * total(ape), n_nz, out=np.full(len(first), np.nan), where=n_nz > 0),
        "wmape": wmape(cons),
        "bias": np.divide(total(cons - act), act_sum, out=np.full(len(first), np.nan), where=act_sum > 0),
        "wmape_naive": wmape(f["naive"].astype(float)[rows]),
        "wmape_statistical": wmape(f["statistical"].astype(float)[rows]),
        "wmape_sales": wmape(f["sales"].astype(float)[rows]),
    }
    return pd.DataFrame(out, columns=list(FORECAST_COLUMNS))


def shock_windows(records: Records) -> pd.DataFrame:
    """The shocks that happened in one replication: ``name, type, start, end, effect_end`` (days)."""
    return pd.DataFrame([tuple(r) for r in records.shocks.rows()], columns=list(SHOCK_COLUMNS))


def average_replications(frames: Iterable[pd.DataFrame], keys: Sequence[str],
                         by: Sequence[str] = ("policy", "case")) -> pd.DataFrame:
    """Mean of every numeric column over replications, per ``by`` × ``keys`` (NaNs skipped).

    ``frames`` are per-replication outputs of :func:`plan_vs_actual` or :func:`forecast_by_cycle`
    with ``by`` columns added; a ``replication`` column, if any, is dropped; ``n_replications`` counts them.
    """
    df = pd.concat(list(frames), ignore_index=True)
    group = [c for c in (*by, *keys) if c in df.columns]
    values = [c for c in df.columns if c not in group and c != "replication"
              and pd.api.types.is_numeric_dtype(df[c])]
    out = df.groupby(group, sort=False, dropna=False)[values].mean().reset_index()
    out["n_replications"] = df.groupby(group, sort=False, dropna=False).size().to_numpy()
    return out
