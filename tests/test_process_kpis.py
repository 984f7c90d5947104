"""KPIs a supply review reads: plan attainment, the bottleneck plant, and the bullwhip of a stage under a plan."""

from __future__ import annotations

import itertools
import math
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simsop
from simsop.model.records import Meta, PlanLine, Records, Snapshots
from simsop.model.world import World
from simsop.planning.kpis import plan_attainment
from simsop.replication import run_replication
from simsop.series import bullwhip, per_day
from tests.helpers import product, scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
NAN = math.nan


def _records(warmup: int = 0) -> Records:
    z = np.zeros(0, dtype=int)
    meta = Meta(products=["A", "B"], customers=[], warehouses=[], factories=["F", "G"], sites=[], sku_warehouse=z,
                sku_product=z, sku_review_period=z, sku_review_offset=z, sku_has_demand=z.astype(bool), horizon=30,
                warmup=warmup)
    return Records(meta, Snapshots.empty(0, 0))


def _plan_line(product: int, bucket: int) -> tuple[Any, ...]:
    return tuple(PlanLine(0, 0.0, 0.0, product, bucket, 10 * bucket, 10, 0.0, 0.0, NAN, 0.0, 0.0))


def test_plan_attainment_counts_good_units_per_product_and_bucket() -> None:
    """Buckets of 10 days. A: 10 a day planned in buckets 0 and 1; 9 good of 10 made a day in bucket 0, 110 in
    bucket 1 (the shortfall made good a bucket late). B: 50 planned in bucket 0, 80 made. Plant G has no plan:
    its output does not count; a job not finished by the horizon is not made. Attainment = (90 + 100 + 50) /
    250, where units made over units planned, netted over the run, would read 1.0 or more."""
    rec = _records()
    for b in (0, 1):
        for p in (0, 1):
            rec.plan.append(_plan_line(p, b))
    for d in range(20):
        rec.planned_production.append((d, 0, 0, 10.0))
    for d in range(5):
        rec.planned_production.append((d, 0, 1, 10.0))
    jobs = [(d, 0, 0, 10.0, 9.0) for d in range(10)] + [(d, 0, 0, 11.0, 11.0) for d in range(10, 20)]
    jobs += [(d, 0, 1, 16.0, 16.0) for d in range(5)] + [(3, 1, 0, 500.0, 500.0)]
    for j, (day, factory, prod, qty, good) in enumerate(jobs):
        rec.production_started.append((j, float(day), factory, prod, qty, float(day)))
        rec.production_finished.append((j, day + 1.5, good, qty - good))
    rec.production_started.append((len(jobs), 19.0, 0, 1, 40.0, 19.0))  # B: still in the works at the horizon
    rec.freeze()
    assert plan_attainment(rec) == pytest.approx(240 / 250)


def test_plan_attainment_starts_at_the_warm_up_and_is_undefined_without_a_plan() -> None:
    rec = _records(warmup=10)
    for b in (0, 1):
        rec.plan.append(_plan_line(0, b))
    for d in range(20):
        rec.planned_production.append((d, 0, 0, 10.0))
        rec.production_started.append((d, float(d), 0, 0, 10.0, float(d)))
        rec.production_finished.append((d, d + 1.0, 0.0 if d < 10 else 5.0, 10.0 if d < 10 else 5.0))
    rec.freeze()
    assert plan_attainment(rec) == pytest.approx(0.5)  # the lost bucket 0 is before the warm-up
    empty = _records()
    empty.freeze()
    assert math.isnan(plan_attainment(empty))


@pytest.mark.parametrize(("mean", "good"), [(0.5, 0.5), (0.8, 0.5)])
def test_scrap_beyond_the_expected_yield_is_not_attainment(mean: float, good: float) -> None:
    """The plan board asks a plant of 10 a day to start 4, 4, 12, 0, 2 on days 5-9 (22 units). With the yield
    of 0.5 the scenario gives, it makes the 11 good units a plan grossed up for that yield expects: attained.
    A plant yielding 0.5 where the planner expected 0.8 (17.6 good units) attains 11 / 17.6."""
    data = {
        "name": "plan", "horizon": 12, "products": [product()],
        "customers": [{"id": "c", "warehouse": "W", "demand": [{"product": "A", "daily": 1}]}],
        "warehouses": [{"id": "W", "stock": [{"product": "A", "initial": 30, "source": "F"}]}],
        "factories": [{"id": "F", "products": ["A"], "capacity": {"regular": 10},
                       "yield": {"dist": "deterministic", "value": mean}}],
        "lanes": [{"from": "F", "to": "W", "lead_time": 1}],
    }

    def planner(world: World) -> Generator[Any, Any, None]:
        yield world.env.timeout(5)
        world.plan.set_production("F", "A", 5, [4, 4, 12, 0, 2])

    sc = scenario(data)
    if mean != good:  # the plant turns out worse than the scenario's yield says
        factory = sc.factories[0].model_copy(update={"yield_": sc.factories[0].yield_.model_copy(
            update={"value": good})})
        world_sc = sc.model_copy(update={"factories": (factory,)})
        res = run_replication(world_sc, seed=1, replication=0, processes=(planner,), keep_records=True)
        assert res.records is not None
        res.records.meta.factory_yield[:] = mean  # what the planner expected
        from simsop.planning.kpis import plan_attainment as attainment
        assert attainment(res.records) == pytest.approx(good / mean)
    else:
        res = run_replication(sc, seed=1, replication=0, processes=(planner,))
        assert res.kpis["plan_attainment"] == pytest.approx(1.0)
    assert res.kpis["utilization"] == pytest.approx(22 / 120)  # the plant worked on every planned unit


@pytest.fixture(scope="module")
def example_lp() -> tuple[simsop.Scenario, Records, dict[str, Any]]:
    sc = simsop.load_scenario(SCENARIOS / "example_company.yaml")
    res = run_replication(sc, seed=3, replication=0, keep_records=True)
    assert res.records is not None
    return sc, res.records, res.kpis


def test_bottleneck_is_the_busiest_plant_and_the_average_counts_each_plant_once(example_lp: Any) -> None:
    sc, rec, k = example_lp
    fd = rec.factory_days
    win = fd["day"] >= rec.meta.warmup
    per_plant = []
    for f in range(len(sc.factories)):
        sel = win & (fd["factory"] == f)
        per_plant.append((fd["regular_used"][sel].sum() + fd["overtime_used"][sel].sum())
                         / fd["regular_capacity"][sel].sum())
    assert len(per_plant) == 2 and max(per_plant) > min(per_plant) + 0.3  # one loaded plant, one with room
    assert k["bottleneck_utilization"] == pytest.approx(max(per_plant))
    assert k["utilization"] == pytest.approx(np.mean(per_plant))


def _weekly_ratio(orders: np.ndarray, demand: np.ndarray, start: int) -> float:
    o, d = orders[start:], demand[start:]
    k = len(d) // 7
    o, d = o[: 7 * k].reshape(k, 7).sum(axis=1), d[: 7 * k].reshape(k, 7).sum(axis=1)
    return float(o.var(ddof=1) / d.var(ddof=1))


def test_a_stage_under_a_plan_is_judged_on_what_it_orders_and_what_the_plants_send_it(example_lp: Any) -> None:
    """Under the LP plan the plants push to DC-Central, which then orders only what it buys (SA-04 from a
    supplier): its replenishment is those orders plus the shipments the plants send it, against its demand
    for everything, as without a plan. The plants' ratio compares output with the demand for the products
    they make, not with the bought ones too."""
    sc, rec, _ = example_lp
    m = rec.meta
    H, start = m.horizon, m.warmup
    names = [p.id for p in sc.products]
    central = next(w for w in sc.warehouses if w.id == "DC-Central")
    factories = {f.id for f in sc.factories}
    bought = {names.index(it.product) for it in central.stock if it.source not in factories}
    assert bought == {names.index("SA-04")}
    w = m.warehouses.index("DC-Central")
    ro, sent = rec.replenishments, rec.departed
    own = (ro["warehouse"] == w) & np.isin(ro["product"], list(bought))
    plant_sites = [m.sites.index(f) for f in factories]
    pushed = (sent["warehouse"] == w) & np.isin(sent["source"], plant_sites) & ~np.isin(sent["product"], list(bought))
    assert pushed.sum() > 100 and own.sum() > 10
    inflow = per_day(ro["time"][own], ro["qty"][own], H) + per_day(sent["time"][pushed], sent["qty"][pushed], H)
    line_wh = rec.orders["warehouse"][rec.lines["order_id"].astype(int)]
    line_t = rec.orders["time"][rec.lines["order_id"].astype(int)]
    cust = line_wh == w
    internal = ro["source"] == m.sites.index("DC-Central")
    demand = per_day(line_t[cust], rec.lines["qty"][cust], H) + per_day(ro["time"][internal], ro["qty"][internal], H)
    bw = bullwhip(rec)
    assert bw["bullwhip_DC-Central"] == pytest.approx(_weekly_ratio(inflow, demand, start))
    made_products = sorted({names.index(p) for f in sc.factories for p in f.products})
    made_lines = np.isin(rec.lines["product"], made_products)
    made = per_day(rec.factory_days["day"], rec.factory_days["regular_used"] + rec.factory_days["overtime_used"], H)
    assert bw["bullwhip_production"] == pytest.approx(
        _weekly_ratio(made, per_day(line_t[made_lines], rec.lines["qty"][made_lines], H), start))


def test_a_stage_the_plan_feeds_entirely_is_judged_on_what_the_plant_sends_and_without_a_plan_on_its_orders() -> None:
    """sop_seasonal's one DC is fed by its plant: under a level plan its replenishment is the plant's
    shipments, which vary far less than its demand; without a plan, its own orders."""
    sc = simsop.load_scenario(SCENARIOS / "sop_seasonal.yaml")
    planned = run_replication(sc, seed=1, replication=0, keep_records=True, policy="level")
    rec = planned.records
    assert rec is not None and len(rec.planned_production)
    sent = rec.departed
    inflow = per_day(sent["time"], sent["qty"], rec.meta.horizon)
    line_t = rec.orders["time"][rec.lines["order_id"].astype(int)]
    demand = per_day(line_t, rec.lines["qty"], rec.meta.horizon)
    level = bullwhip(rec)["bullwhip_DC"]
    assert level == pytest.approx(_weekly_ratio(inflow, demand, rec.meta.warmup)) and level < 0.2
    pulled = run_replication(sc, seed=1, replication=0, keep_records=True, policy="none")
    rec = pulled.records
    assert rec is not None and len(rec.planned_production) == 0
    ro = rec.replenishments
    orders = per_day(ro["time"], ro["qty"], rec.meta.horizon)
    line_t = rec.orders["time"][rec.lines["order_id"].astype(int)]
    demand = per_day(line_t, rec.lines["qty"], rec.meta.horizon)
    assert bullwhip(rec)["bullwhip_DC"] == pytest.approx(_weekly_ratio(orders, demand, rec.meta.warmup))


def test_forecast_value_added_has_the_demand_review_s_own_stair_step() -> None:
    """Actual 100 a bucket; naive 90, statistical 110 (no better than naive: WMAPE 10 both), sales 80,
    consensus 105 (WMAPE 5). Against naive the consensus adds 5 points; against the statistical forecast it
    started from, the meeting's judgement also adds 5; the sales input loses 10 against naive."""
    from simsop.planning.kpis import forecast_kpis

    rec = _records()
    for b in range(4):
        rec.plan.append(_plan_line(0, b))
        rec.bucket_sales.append((b, 0, 100.0))
        rec.forecasts.append((max(b - 1, 0), 0, b, 1, 90.0, 110.0, 80.0, 105.0))
    rec.freeze()
    k = forecast_kpis(rec)
    assert k["forecast_wmape_lag1"] == pytest.approx(5.0)
    assert k["fva_statistical_lag1"] == pytest.approx(0.0)
    assert k["fva_sales_lag1"] == pytest.approx(-10.0)
    assert k["fva_consensus_lag1"] == pytest.approx(5.0)
    assert k["fva_consensus_over_statistical_lag1"] == pytest.approx(5.0)
    assert math.isnan(k["fva_consensus_over_statistical_lag3"])  # no lag-3 forecasts


def test_a_yield_that_can_pass_1_is_planned_with_the_mean_of_what_the_plant_makes() -> None:
    """A normal yield of mean 0.98 and sd 0.1 passes 1 in 42% of draws, which make every unit good: the plant
    makes E[min(X, 1)] = 0.949 good units a unit, not 0.98. Plans gross up for that, so the plan is attained
    but for its noise (0.97 when they grossed up for 0.98); a yield of 0 is refused."""
    from scipy import stats

    from simsop.dists import Normal, fraction_mean
    from simsop.scenario import ScenarioError

    mu, sd = 0.98, 0.1
    z = (1 - mu) / sd
    exact = mu - (sd * stats.norm.pdf(z) - (1 - mu) * stats.norm.sf(z))
    assert fraction_mean(Normal(dist="normal", mean=mu, sd=sd)) == pytest.approx(exact, abs=1e-3)
    sc = simsop.load_scenario(SCENARIOS / "sop_seasonal.yaml")
    plant = sc.factories[0].model_copy(update={"yield_": Normal(dist="normal", mean=mu, sd=sd)})
    noisy = sc.model_copy(update={"factories": (plant,)})
    attained = [run_replication(noisy, seed=2, replication=r).kpis["plan_attainment"] for r in range(2)]
    assert min(attained) > 0.98
    data = {"name": "y", "horizon": 10, "products": [product()],
            "customers": [{"id": "c", "warehouse": "W", "demand": [{"product": "A", "daily": 1}]}],
            "warehouses": [{"id": "W", "stock": [{"product": "A", "initial": 5, "source": "F"}]}],
            "factories": [{"id": "F", "products": ["A"], "capacity": {"regular": 10}, "yield": 0}],
            "lanes": [{"from": "F", "to": "W", "lead_time": 1}]}
    with pytest.raises(ScenarioError, match=r"factories\[0\]\.yield.*makes no good unit"):
        scenario(data)


@pytest.mark.parametrize(("name", "fence"), [("red_tomato_lp", None), ("sop_seasonal", 3)])
def test_plan_nervousness_compares_consecutive_plans_inside_the_fences_or_everywhere_without_them(
        name: str, fence: int | None) -> None:
    """Sum of |change| over the previous plan's quantities of the buckets two consecutive plans share: the
    frozen and slushy buckets of each plan, or every shared bucket when a scenario has no fences (it read 0,
    'perfectly stable', when it measured nothing, although Red Tomato's LP revises its plans)."""
    sc = simsop.load_scenario(SCENARIOS / f"{name}.yaml")
    res = run_replication(sc, seed=3, keep_records=True)
    rec = res.records
    assert rec is not None
    plans = rec.to_frames()["plan"]
    first = plans.groupby("cycle")["bucket"].transform("min")  # each plan's fences start at its first bucket
    inside = (plans["bucket_start"] >= sc.warmup) & (plans["bucket_start"] < sc.horizon)  # the run's buckets
    now = plans[inside & ((plans["bucket"] - first < fence) if fence else True)]
    prev = plans.assign(cycle=plans["cycle"] + 1)[["cycle", "product", "bucket", "production"]]
    pairs = now.merge(prev, on=["cycle", "product", "bucket"], suffixes=("", "_prev"))
    assert len(pairs) > 0
    expected = (pairs["production"] - pairs["production_prev"]).abs().sum() / pairs["production_prev"].sum()
    assert res.kpis["plan_nervousness"] == pytest.approx(expected)
    assert res.kpis["plan_nervousness"] > 0


def test_factory_kpis_of_consecutive_windows_add_up_to_the_whole() -> None:
    """A window's overtime is that of its own days: consecutive windows (a workshop's months, a shock's window)
    add up to the run's. They counted every plant day after the window's start, so each month's overtime
    included every later month's."""
    from simsop.kpi import factory_kpis, window_view

    sc = scenario({
        "name": "plant", "horizon": 120,
        "products": [product()],
        "customers": [{"id": "c", "warehouse": "W", "demand": [{"product": "A", "daily": {"dist": "poisson",
                                                                                         "mean": 50}}]}],
        "warehouses": [{"id": "W", "stock": [{"product": "A", "initial": 100, "source": "F",
                                              "policy": {"type": "base_stock", "level": 300, "review_period": 7}}]}],
        "factories": [{"id": "F", "products": ["A"], "capacity": {"regular": 45, "overtime": 20,
                                                                 "overtime_cost": 2}}],
        "lanes": [{"from": "F", "to": "W", "lead_time": 1}],
    })
    rec = run_replication(sc, seed=4, keep_records=True).records
    assert rec is not None
    edges = [0, 30, 60, 90, 120]
    parts = [factory_kpis(window_view(rec, a, b), sc) for a, b in itertools.pairwise(edges)]
    whole = factory_kpis(rec, sc)
    assert whole["overtime_units"] > 0
    assert sum(p["overtime_units"] for p in parts) == pytest.approx(whole["overtime_units"])
    assert sum(p["overtime_cost"] for p in parts) == pytest.approx(whole["overtime_cost"])
    fd = rec.factory_days
    for (a, b), p in zip(itertools.pairwise(edges), parts, strict=True):
        days = (fd["day"] >= a) & (fd["day"] < b)
        assert p["overtime_units"] == pytest.approx(float(fd["overtime_used"][days].sum()))
