"""KPIs of the S&OP process, from the plan, forecast and production records of one replication.

* Forecast quality per lag (buckets between the cut-off and the forecast bucket), over finished buckets
  that start after the warm-up: ``forecast_mape_lagL``, ``forecast_wmape_lagL`` (consensus, %),
  ``forecast_bias_lagL`` (sum of forecast - actual over sum of actual), ``tracking_signal_lagL``
  (Chopra & Meindl's sum of errors over their mean absolute deviation, of the network total per bucket, over
  the last ``TRACKING_WINDOW`` = 12 judged buckets: a rolling window, as planners monitor it. Summed over the
  whole run, an unbiased forecast's signal has a standard deviation of about 1.25 sqrt(n) for n buckets
  (5.7 for 21 months, so |TS| > 6 in 30% of unbiased runs): it measured the run's length as much as the
  bias. Over 12 buckets it is bounded by +/-12 and an unbiased forecast's standard deviation is about 4.3
  whatever the run's length; every error of the window on the same side gives +/-12), and the forecast value added
  of each step over the naive forecast, in WMAPE points (``fva_statistical_lagL``, ``fva_sales_lagL``,
  ``fva_consensus_lagL``), with the stair step of the demand review itself: what the consensus added over
  the statistical forecast it started from (``fva_consensus_over_statistical_lagL``; negative when the
  meeting's judgement made the forecast worse). Actuals are booked orders, the demand the company sees.
* ``plan_attainment``: good units made against the plan, product by product and bucket by bucket:
  sum of min(made, planned) over the sum planned, from the first planned day after the warm-up. A plant is
  asked to start the plan grossed up for its mean yield, so the plan's good units are what it was asked
  times that yield: scrap beyond the expected yield is a miss, and making too much of one product or in one
  bucket does not make up for too little of another or in another (a shortfall made good a bucket late is a
  miss, then a surplus).
* ``plan_nervousness``: how much each plan version changed the previous one inside the fences (frozen
  plus slushy buckets; without fences, over every bucket both plans hold): sum of absolute changes over the
  previous plan's quantity (nan when no bucket was planned twice).
* ``production_variation``: mean absolute change of planned production from one bucket to the next,
  over its mean (0 for a perfectly level plan).
* ``plan_revenue``/``plan_gross_margin``: the last plan made before each bucket, priced; the actual P&L
  is compared with it in ``revenue_vs_plan`` and ``gross_margin_vs_plan`` (relative difference).
* Costs the plan causes: ``plan_change_cost``, ``subcontract_cost``, ``labor_cost`` (wages, hiring and
  layoffs of planned workforces), added to the P&L's total cost.
* ``budget_breach_buckets``: the planning buckets (whole ones, after the warm-up) whose plan in force, the last
  version agreed before the bucket started, projected stock worth more than ``planning.inventory_budget`` at
  the bucket's end (the executive meeting's check, :mod:`simsop.planning.budget`); nan without a budget.
"""

from __future__ import annotations

import numpy as np

from simsop.model.records import Records
from simsop.planning import budget
from simsop.scenario import Scenario

LAGS = (1, 3)
TRACKING_WINDOW = 12  # buckets of the rolling tracking signal: a year of months
_FORECAST_KPIS = ("forecast_mape", "forecast_wmape", "forecast_bias", "tracking_signal", "fva_statistical",
                  "fva_sales", "fva_consensus", "fva_consensus_over_statistical")
PLANNING_KPI_NAMES = tuple(
    [f"{k}_lag{lag}" for lag in LAGS for k in _FORECAST_KPIS]
    + ["plan_attainment", "plan_nervousness", "production_variation", "plan_revenue", "plan_gross_margin",
       "revenue_vs_plan", "gross_margin_vs_plan", "plan_change_cost", "subcontract_cost", "labor_cost",
       "budget_breach_buckets"]
)
PLANNING_COSTS = ("plan_change_cost", "subcontract_cost", "labor_cost")

NAN = float("nan")
_FORECAST_NAMES = tuple(k for k in PLANNING_KPI_NAMES if k.split("_lag")[0] in _FORECAST_KPIS)


def _codes(columns: tuple[np.ndarray, ...], *more: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """One integer per row of integer ``columns`` (and of each of ``more``, coded alike): equal rows, equal codes."""
    if len(columns) == 1:
        return [np.asarray(col, dtype=np.int64) for col in (columns[0], *(m[0] for m in more))]
    code = [np.zeros(len(columns[0]), dtype=np.int64)] + [np.zeros(len(m[0]), dtype=np.int64) for m in more]
    span_all = 1
    for j, col in enumerate(columns):
        parts = [np.asarray(col, dtype=np.int64)] + [np.asarray(m[j], dtype=np.int64) for m in more]
        lo = min(int(x.min()) for x in parts if len(x)) if any(len(x) for x in parts) else 0
        span = max(int(x.max()) for x in parts if len(x)) - lo + 1 if any(len(x) for x in parts) else 1
        span_all *= span
        if span_all >= 2**62:
            raise OverflowError("record keys too far apart to code as one integer")
        code = [c * span + (x - lo) for c, x in zip(code, parts, strict=True)]
    return code


class _KeyIndex:
    """The rows of integer keys (``_codes``), to find the first or the last row of any key: a dict of the rows
    without a Python loop over them."""

    def __init__(self, code: np.ndarray) -> None:
        self.order = np.argsort(code, kind="stable")
        self.sorted = code[self.order]

    def rows(self, query: np.ndarray, last: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The last (or first) row whose key is each query's, and whether there is one (else row 0)."""
        if len(self.sorted) == 0:
            return np.zeros(len(query), dtype=np.int64), np.zeros(len(query), dtype=bool)
        if last:  # just after the last equal key (np.clip would cost more than the search)
            pos = np.maximum(np.searchsorted(self.sorted, query, side="right") - 1, 0)
        else:
            pos = np.minimum(np.searchsorted(self.sorted, query, side="left"), len(self.sorted) - 1)
        return self.order[pos], self.sorted[pos] == query


def last_value_at(keys: tuple[np.ndarray, ...], values: np.ndarray, queries: tuple[np.ndarray, ...],
                  default: float) -> tuple[np.ndarray, np.ndarray]:
    """For each query row, the value of the last row of ``keys`` equal to it, else ``default``; and whether found.

    What ``dict(zip(zip(*keys), values)).get(query, default)`` gives, without a Python loop over the records.
    Keys are integer columns.
    """
    code_k, code_q = _codes(keys, queries)
    rows, found = _KeyIndex(code_k).rows(code_q)
    values = np.asarray(values)
    if len(values) == 0:
        return np.full(len(code_q), default, dtype=np.result_type(values, default)), found
    return np.where(found, values[rows], default), found


def sum_in_order(x: np.ndarray) -> np.float64:
    """``x`` added one by one from 0.0, as a Python loop adds: the same bits (np.sum adds pairwise)."""
    return np.cumsum(np.concatenate(([0.0], x)))[-1]


def _wmape(actual: np.ndarray, fc: np.ndarray) -> float:
    s = float(np.abs(actual).sum())
    return 100.0 * float(np.abs(fc - actual).sum()) / s if s > 0 else NAN


def forecast_kpis(rec: Records) -> dict[str, float]:
    """Forecast accuracy and value added by lag, against booked orders of finished buckets."""
    out = dict.fromkeys(_FORECAST_NAMES, NAN)
    fcs, sales, plan = rec.forecasts, rec.bucket_sales, rec.plan
    if len(fcs) == 0 or len(sales) == 0:
        return out
    warm = rec.meta.warmup
    b, p, lag = fcs["bucket"].astype(int), fcs["product"].astype(int), fcs["lag"].astype(int)
    a = last_value_at((sales["bucket"], sales["product"]), sales["units"].astype(float), (b, p), NAN)[0]
    # Bucket start days come with the plan lines; buckets before the warm-up are not judged.
    starts = last_value_at((plan["bucket"],), plan["bucket_start"], (b,), -1)[0] if len(plan) else np.full(len(b), -1)
    for L in LAGS:
        sel = (lag == L) & ~np.isnan(a) & (starts >= warm)
        if not sel.any():
            continue
        act = a[sel]
        cons, stat = fcs["consensus"][sel], fcs["statistical"][sel]
        naive, sales_in = fcs["naive"][sel], fcs["sales"][sel]
        nz = act > 0
        out[f"forecast_mape_lag{L}"] = float(100 * np.mean(np.abs(cons[nz] - act[nz]) / act[nz])) if nz.any() else NAN
        out[f"forecast_wmape_lag{L}"] = _wmape(act, cons)
        out[f"forecast_bias_lag{L}"] = float((cons - act).sum() / act.sum()) if act.sum() > 0 else NAN
        # Tracking signal on the network total per bucket, in time order, over the last TRACKING_WINDOW
        # buckets (see the module docstring for why not cumulative).
        buckets = b[sel]
        order = np.unique(buckets)[-TRACKING_WINDOW:]
        err = np.array([(cons[buckets == x] - act[buckets == x]).sum() for x in order])
        mad = float(np.mean(np.abs(err)))
        out[f"tracking_signal_lag{L}"] = float(err.sum() / mad) if mad > 0 else 0.0
        base = _wmape(act, naive)
        out[f"fva_statistical_lag{L}"] = base - _wmape(act, stat)
        out[f"fva_sales_lag{L}"] = base - _wmape(act, sales_in)
        out[f"fva_consensus_lag{L}"] = base - _wmape(act, cons)
        out[f"fva_consensus_over_statistical_lag{L}"] = _wmape(act, stat) - _wmape(act, cons)
    return out


def plan_in_force(rec: Records) -> dict[str, np.ndarray]:
    """Per (bucket, product) that some plan covered before it started: the plan in force when it started.

    That is the last version made by the bucket's first day (the latest ``made``, then the latest cycle),
    column by column: a version that leaves a value unset (NaN, e.g. production of a bucket that starts
    before the version takes effect) keeps the value of the version before it. Rows are sorted by bucket,
    then product; the arrays are ``bucket``, ``product``, ``bucket_start``, ``bucket_days``,
    ``demand_plan`` and ``production`` (NaN where no version set it).
    """
    plan = rec.plan
    names = ("bucket", "product", "bucket_start", "bucket_days", "demand_plan", "production")
    if len(plan) == 0:
        return {k: np.empty(0) for k in names}
    keep = plan["made"] <= plan["bucket_start"]
    bucket, product = plan["bucket"][keep], plan["product"][keep]
    order = np.lexsort((plan["cycle"][keep], plan["made"][keep], product, bucket))  # stable, last key first
    bucket, product = bucket[order], product[order]
    if len(order) == 0:
        return {k: np.empty(0) for k in names}
    new_group = np.r_[True, (bucket[1:] != bucket[:-1]) | (product[1:] != product[:-1])]
    group = np.cumsum(new_group) - 1
    last = np.flatnonzero(np.r_[new_group[1:], True])  # the last row of each group
    out = {"bucket": bucket[last], "product": product[last]}
    for name in ("bucket_start", "bucket_days"):
        out[name] = plan[name][keep][order][last]
    for name in ("demand_plan", "production"):
        v = plan[name][keep][order].astype(float)
        got = np.full(len(last), np.nan)
        rows = np.flatnonzero(~np.isnan(v))
        if len(rows):
            g = group[rows]
            final = rows[np.r_[g[1:] != g[:-1], True]]  # the last set value of each group that has one
            got[group[final]] = v[final]
        out[name] = got
    return out


def process_kpis(rec: Records, sc: Scenario, revenue: float, gross_margin: float) -> dict[str, float]:
    """Plan attainment, nervousness, production variation, plan vs actual and the plan's own costs."""
    out = dict.fromkeys(("plan_attainment", "plan_nervousness", "production_variation", "plan_revenue",
                         "plan_gross_margin", "revenue_vs_plan", "gross_margin_vs_plan"), NAN)
    out.update(dict.fromkeys(PLANNING_COSTS, 0.0))
    m = rec.meta
    warm, H = m.warmup, m.horizon
    out["plan_attainment"] = plan_attainment(rec)
    plan = rec.plan
    if len(plan) == 0:
        return out
    out["plan_nervousness"], out["plan_change_cost"] = _plan_changes(rec, sc)
    latest = plan_in_force(rec)
    price = np.array([p.price for p in sc.products])
    cost = np.array([p.unit_cost for p in sc.products])
    inside = (latest["bucket_start"] >= warm) & (latest["bucket_start"] + latest["bucket_days"] <= H)
    dem, prod = latest["demand_plan"][inside], latest["production"][inside]
    p_in = latest["product"][inside].astype(int)
    rev = sum_in_order(dem * price[p_in]) if len(dem) else 0.0
    gm = sum_in_order(dem * (price[p_in] - cost[p_in])) if len(dem) else 0.0
    if rev > 0:
        # Compare with the actual P&L of the same buckets, scaled to the window the plan covers.
        out["plan_revenue"], out["plan_gross_margin"] = rev, gm
        covered = sum(dict(zip(latest["bucket"][inside].tolist(), latest["bucket_days"][inside].tolist(),
                               strict=True)).values())
        scale = covered / (H - warm) if covered > 0 else 1.0
        out["revenue_vs_plan"] = float(revenue * scale / rev - 1.0)
        out["gross_margin_vs_plan"] = float(gross_margin * scale / gm - 1.0) if gm != 0 else NAN
    # Planned production per bucket, in bucket order: the rows are sorted by bucket, and bincount adds each
    # bucket's products in row order.
    finite = np.isfinite(prod)
    planned_buckets = latest["bucket"][inside][finite]
    new_bucket = np.ones(len(planned_buckets), dtype=bool)
    new_bucket[1:] = planned_buckets[1:] != planned_buckets[:-1]
    series = np.bincount(np.cumsum(new_bucket) - 1, weights=prod[finite]) if len(new_bucket) else np.empty(0)
    if len(series) > 1 and series.mean() > 0:
        out["production_variation"] = float(np.mean(np.abs(np.diff(series))) / series.mean())
    out.update(_workforce_costs(rec, sc))
    return out


def _plan_changes(rec: Records, sc: Scenario) -> tuple[float, float]:
    """Plan nervousness, and the cost of the changes made inside the slushy fence (``change_cost`` per unit)."""
    m = rec.meta
    warm, H = m.warmup, m.horizon
    plan = rec.plan
    spec = sc.planning
    cyc, product, bucket = (plan[k].astype(int, copy=False) for k in ("cycle", "product", "bucket"))
    production = plan["production"].astype(float, copy=False)
    # Without fences every bucket two consecutive plans share is compared: a plan that is never frozen can still
    # be nervous, and 0 would read as perfectly stable.
    fence = (spec.frozen_buckets + spec.slushy_buckets) or len(plan)
    # Each (cycle, product, bucket) once, where it first appears, with its last quantity; and the quantity the
    # cycle before planned for the same product and bucket.
    code, prev_code = _codes((cyc, product, bucket), (cyc - 1, product, bucket))
    index = _KeyIndex(code)
    rows = np.flatnonzero(index.rows(code, last=False)[0] == np.arange(len(code)))
    q = production[index.rows(code[rows])[0]]
    prev_row, has_prev = index.rows(prev_code[rows])
    prev = production[prev_row]
    c, b = cyc[rows], bucket[rows]
    first_bucket = np.full(int(cyc.max() - cyc.min()) + 1, np.iinfo(np.int64).max)
    np.minimum.at(first_bucket, cyc - cyc.min(), bucket)
    ahead = b - first_bucket[c - cyc.min()]  # buckets after the first one its plan covers
    start = plan["bucket_start"][_KeyIndex(bucket).rows(b)[0]]
    judged = has_prev & (ahead < fence) & (warm <= start) & (start < H)
    change = np.abs(q[judged] - prev[judged])
    compared = int(judged.sum())
    changed, base = float(sum_in_order(change)), float(sum_in_order(prev[judged]))
    slushy = (spec.frozen_buckets <= ahead[judged]) & (ahead[judged] < spec.frozen_buckets + spec.slushy_buckets)
    slushy_change = float(sum_in_order(change[slushy]))
    nervousness = changed / base if base > 0 else (0.0 if compared and changed == 0 else NAN)
    return nervousness, spec.change_cost * slushy_change


def plan_costs(rec: Records, sc: Scenario) -> dict[str, float]:
    """The costs the S&OP plans caused over the records' window, keyed by ``PLANNING_COSTS``."""
    if len(rec.plan) == 0:  # as process_kpis: no plan in the window, no plan costs
        return dict.fromkeys(PLANNING_COSTS, 0.0)
    return {"plan_change_cost": _plan_changes(rec, sc)[1], **_workforce_costs(rec, sc)}


def plan_attainment(rec: Records) -> float:
    """Good units made against planned production, by product and planning bucket (see the module docstring).

    Buckets are those of the plan lines; without any (a plan board filled by other means) the window is one
    bucket. Planned is the good units expected of what the plants were asked to start (``planned_production``
    times the factory's mean yield). Only finished production in the factories that had a plan counts, on
    the day it started, from the first planned day after the warm-up to the horizon.
    """
    pp = rec.planned_production
    if len(pp) == 0:
        return NAN
    m = rec.meta
    p_day = pp["day"].astype(int)
    first = max(int(p_day.min()), m.warmup)
    starts = np.unique(rec.plan["bucket_start"].astype(int)) if len(rec.plan) else np.array([first])
    n_products = len(m.products)

    def by_product_bucket(day: np.ndarray, product: np.ndarray, qty: np.ndarray) -> np.ndarray:
        keep = (day >= first) & (day < m.horizon)
        bucket = np.maximum(np.searchsorted(starts, day[keep], side="right") - 1, 0)
        out = np.zeros((n_products, len(starts)))
        np.add.at(out, (product[keep], bucket), qty[keep])
        return out

    p_factory = pp["factory"].astype(int)
    expected = m.factory_yield[p_factory] if len(m.factory_yield) == len(m.factories) else 1.0
    planned = by_product_bucket(p_day, pp["product"].astype(int), pp["qty"].astype(float) * expected)
    total = float(planned.sum())
    if total <= 0:
        return NAN
    ps, pf = rec.production_started, rec.production_finished
    row, found = last_value_at((ps["job_id"],), np.arange(len(ps)), (pf["job_id"],), -1)
    if not found.all():
        raise KeyError(int(pf["job_id"][~found][0]))  # a finished job that never started
    in_plan = np.isin(ps["factory"].astype(int)[row], np.unique(p_factory)) if len(row) else row
    # A job counts on the day the plant took it up, as the plan's quantity of a day does (a job ends a day or
    # more later, which would move output across a bucket's edge).
    made = by_product_bucket(np.floor(ps["time"].astype(float)[row][in_plan]).astype(int),
                             ps["product"].astype(int)[row][in_plan], pf["good"].astype(float)[in_plan])
    return float(np.minimum(made, planned).sum()) / total


def _workforce_costs(rec: Records, sc: Scenario) -> dict[str, float]:
    """Wages, hiring and layoffs of planned workforces; subcontracted units at their all-in price less the unit
    cost that ``cogs`` charges when they sell."""
    out = {"labor_cost": 0.0, "subcontract_cost": 0.0}
    m = rec.meta
    specs = {w.factory: w for w in sc.planning.workforce}
    if not specs:
        return out
    fd = rec.factory_days
    names = m.factories
    unit_cost = np.array([p.unit_cost for p in sc.products])
    for fi, name in enumerate(names):
        ws = specs.get(name)
        if ws is None:
            continue
        sel = fd["factory"] == fi
        days = fd["day"][sel].astype(int)
        # Workers as staffed: a capacity shock idles them, it neither lays them off nor saves their wages.
        workers = fd["staffed_capacity"][sel] / ws.units_per_worker_day
        win = (days >= m.warmup) & (days < m.horizon)  # a window's own days (a workshop month)
        out["labor_cost"] += float(ws.wage_per_worker_day * workers[win].sum())
        # The first day's workforce is a change from the one the plant starts with (its regular capacity in the
        # scenario): a first plan that lays off on day 0 pays for it like any later one.
        start = sc.factories[fi].capacity
        before = start.regular / ws.units_per_worker_day if start is not None else ws.workers
        change = np.diff(workers, prepend=before)[win]
        out["labor_cost"] += float(ws.hiring_cost * np.maximum(change, 0).sum()
                                   + ws.layoff_cost * np.maximum(-change, 0).sum())
        sub = rec.subcontracted
        ssel = (sub["factory"] == fi) & (sub["day"] >= m.warmup) & (sub["day"] < m.horizon)
        # The subcontract price is all-in (as the plan prices it). A bought unit joins stock like a made one and
        # ``cogs`` charges its unit cost when it sells, so only the rest of the price is charged here: a bought
        # unit sold costs its price once, not its price plus its unit cost again.
        premium = (ws.subcontract_cost or 0.0) - unit_cost[sub["product"][ssel].astype(int)]
        out["subcontract_cost"] += float((premium * sub["qty"][ssel]).sum())
    return out


def budget_breach_buckets(rec: Records) -> float:
    """How many planning buckets, whole and after the warm-up, the plan in force when each started projected
    above the inventory budget at its end (see the module docstring); nan without a budget or such a bucket."""
    table = rec.tables.get(budget.TABLE)
    if table is None or len(table) == 0:
        return NAN
    m = rec.meta
    bucket = table["bucket"].astype(np.int64)
    keep = table["made"] <= table["bucket_start"]
    if not keep.any():
        return NAN
    bucket, made, cyc = bucket[keep], table["made"][keep], table["cycle"][keep]
    order = np.lexsort((cyc, made, bucket))  # the last row of each bucket: its latest version
    last = order[np.r_[bucket[order][1:] != bucket[order][:-1], True]]
    start, days = table["bucket_start"][keep][last], table["bucket_days"][keep][last]
    inside = (start >= m.warmup) & (start + days <= m.horizon)
    if not inside.any():
        return NAN
    value, limit = table["value"][keep][last][inside], table["budget"][keep][last][inside]
    return float(budget.over_budget(value, limit).sum())


def planning_kpis(rec: Records, sc: Scenario, revenue: float, gross_margin: float) -> dict[str, float]:
    """Every S&OP-process KPI (nan where the replication ran without a planning cycle)."""
    out = forecast_kpis(rec)
    out.update(process_kpis(rec, sc, revenue, gross_margin))
    out["budget_breach_buckets"] = budget_breach_buckets(rec)
    return {k: out[k] for k in PLANNING_KPI_NAMES}
