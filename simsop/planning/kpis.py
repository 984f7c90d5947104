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
"""

from __future__ import annotations

import math

import numpy as np

from simsop.model.records import Records
from simsop.scenario import Scenario

LAGS = (1, 3)
TRACKING_WINDOW = 12  # buckets of the rolling tracking signal: a year of months
_FORECAST_KPIS = ("forecast_mape", "forecast_wmape", "forecast_bias", "tracking_signal", "fva_statistical",
                  "fva_sales", "fva_consensus", "fva_consensus_over_statistical")
PLANNING_KPI_NAMES = tuple(
    [f"{k}_lag{lag}" for lag in LAGS for k in _FORECAST_KPIS]
    + ["plan_attainment", "plan_nervousness", "production_variation", "plan_revenue", "plan_gross_margin",
       "revenue_vs_plan", "gross_margin_vs_plan", "plan_change_cost", "subcontract_cost", "labor_cost"]
)
PLANNING_COSTS = ("plan_change_cost", "subcontract_cost", "labor_cost")

NAN = float("nan")


def _wmape(actual: np.ndarray, fc: np.ndarray) -> float:
    s = float(np.abs(actual).sum())
    return 100.0 * float(np.abs(fc - actual).sum()) / s if s > 0 else NAN


def forecast_kpis(rec: Records) -> dict[str, float]:
    """Forecast accuracy and value added by lag, against booked orders of finished buckets."""
    out = {k: NAN for k in PLANNING_KPI_NAMES if k.split("_lag")[0] in _FORECAST_KPIS}
    fcs, sales, plan = rec.forecasts, rec.bucket_sales, rec.plan
    if len(fcs) == 0 or len(sales) == 0:
        return out
    actual = {(b, p): u for b, p, u in zip(sales["bucket"].tolist(), sales["product"].tolist(),
                                           sales["units"].tolist(), strict=True)}
    # Bucket start days come with the plan lines; buckets before the warm-up are not judged.
    start_of = dict(zip(plan["bucket"].tolist(), plan["bucket_start"].tolist(), strict=True)) if len(plan) else {}
    warm = rec.meta.warmup
    b, p, lag = fcs["bucket"].astype(int), fcs["product"].astype(int), fcs["lag"].astype(int)
    a = np.array([actual.get(k, np.nan) for k in zip(b.tolist(), p.tolist(), strict=True)])
    starts = np.array([start_of.get(x, -1) for x in b.tolist()])
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
    spec = sc.planning
    cyc = plan["cycle"].astype(int)
    # Without fences every bucket two consecutive plans share is compared: a plan that is never frozen can still
    # be nervous, and 0 would read as perfectly stable.
    fence = (spec.frozen_buckets + spec.slushy_buckets) or len(plan)
    first_bucket = {c: int(plan["bucket"][cyc == c].min()) for c in np.unique(cyc).tolist()}
    prod_of = {(c, p, b): q for c, p, b, q in zip(cyc.tolist(), plan["product"].tolist(), plan["bucket"].tolist(),
                                                  plan["production"].tolist(), strict=True)}
    start_of = dict(zip(plan["bucket"].tolist(), plan["bucket_start"].tolist(), strict=True))
    changed = base = slushy_change = 0.0
    compared = 0
    for (c, p, b), q in prod_of.items():
        prev = prod_of.get((c - 1, p, b))
        if prev is None or b - first_bucket[c] >= fence or not warm <= start_of[b] < H:
            continue
        compared += 1
        changed += abs(q - prev)
        base += prev
        if spec.frozen_buckets <= b - first_bucket[c] < spec.frozen_buckets + spec.slushy_buckets:
            slushy_change += abs(q - prev)
    out["plan_nervousness"] = changed / base if base > 0 else (0.0 if compared and changed == 0 else NAN)
    out["plan_change_cost"] = spec.change_cost * slushy_change
    latest = plan_in_force(rec)
    price = np.array([p.price for p in sc.products])
    cost = np.array([p.unit_cost for p in sc.products])
    per_bucket: dict[int, float] = {}
    rev = gm = 0.0
    inside = (latest["bucket_start"] >= warm) & (latest["bucket_start"] + latest["bucket_days"] <= H)
    for b, p, dem, prod in zip(latest["bucket"][inside].tolist(), latest["product"][inside].tolist(),
                               latest["demand_plan"][inside].tolist(), latest["production"][inside].tolist(),
                               strict=True):
        rev += dem * price[p]
        gm += dem * (price[p] - cost[p])
        if math.isfinite(prod):
            per_bucket[b] = per_bucket.get(b, 0.0) + prod
    if rev > 0:
        # Compare with the actual P&L of the same buckets, scaled to the window the plan covers.
        out["plan_revenue"], out["plan_gross_margin"] = rev, gm
        covered = sum(dict(zip(latest["bucket"][inside].tolist(), latest["bucket_days"][inside].tolist(),
                               strict=True)).values())
        scale = covered / (H - warm) if covered > 0 else 1.0
        out["revenue_vs_plan"] = float(revenue * scale / rev - 1.0)
        out["gross_margin_vs_plan"] = float(gross_margin * scale / gm - 1.0) if gm != 0 else NAN
    series = np.array([per_bucket[b] for b in sorted(per_bucket)])
    if len(series) > 1 and series.mean() > 0:
        out["production_variation"] = float(np.mean(np.abs(np.diff(series))) / series.mean())
    out.update(_workforce_costs(rec, sc))
    return out


def plan_costs(rec: Records, sc: Scenario) -> dict[str, float]:
    """The costs the S&OP plans caused over the records' window, keyed by ``PLANNING_COSTS``."""
    out = process_kpis(rec, sc, 0.0, 0.0)
    return {k: out[k] for k in PLANNING_COSTS}


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
    start_of = {j: i for i, j in enumerate(ps["job_id"].tolist())}
    row = np.array([start_of[j] for j in pf["job_id"].tolist()], dtype=int)
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


def planning_kpis(rec: Records, sc: Scenario, revenue: float, gross_margin: float) -> dict[str, float]:
    """Every S&OP-process KPI (nan where the replication ran without a planning cycle)."""
    out = forecast_kpis(rec)
    out.update(process_kpis(rec, sc, revenue, gross_margin))
    return {k: out[k] for k in PLANNING_KPI_NAMES}
