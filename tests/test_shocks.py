"""Shocks: schema and key-path errors, realisation with common random numbers, effects on demand, factories,
lanes and suppliers, shock KPIs on a hand-checked case, stress files, and a COVID-like case on the example
company (bullwhip upstream, finite recovery)."""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simsop.demand import draw_demand, multiplier
from simsop.kpi import SHOCK_KPI_NAMES, daily_otif, shock_kpis
from simsop.model.records import Records
from simsop.replication import build_world, run_replication
from simsop.scenario import Scenario, ScenarioError, load_scenario
from simsop.shocks import (
    CollapseRebound,
    apply_shocks,
    bass_cumulative,
    demand_multiplier,
    load_stress,
    realise,
)
from simsop.streams import Streams
from tests.helpers import product, scenario, single_stock_point

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def with_shocks(data: dict[str, Any], *shocks: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["shocks"] = list(shocks)
    return out


def plant(horizon: int = 80, demand: float = 50, regular: float = 60) -> dict[str, Any]:
    """A rate factory making to a warehouse's daily base-stock orders, always with work in its queue."""
    return {
        "name": "plant",
        "horizon": horizon,
        "products": [product()],
        "customers": [{"id": "c", "warehouse": "W", "demand": [{"product": "A", "daily": demand}]}],
        "warehouses": [{"id": "W", "stock": [{"product": "A", "initial": 100, "source": "F",
                                              "policy": {"type": "base_stock", "level": 300}}]}],
        "factories": [{"id": "F", "products": ["A"], "capacity": {"regular": regular}}],
        "lanes": [{"from": "F", "to": "W", "lead_time": 1}],
    }


def two_echelon(horizon: int = 60) -> dict[str, Any]:
    """A central warehouse (from a supplier) feeding a regional one over a lane of 2 days."""
    return {
        "name": "chain",
        "horizon": horizon,
        "products": [product()],
        "customers": [{"id": "c", "warehouse": "R", "demand": [{"product": "A", "daily": 10}]}],
        "warehouses": [
            {"id": "C", "stock": [{"product": "A", "initial": 1000, "source": "S",
                                   "policy": {"type": "base_stock", "level": 1000}}]},
            {"id": "R", "stock": [{"product": "A", "initial": 30, "source": "C",
                                   "policy": {"type": "base_stock", "level": 40}}]},
        ],
        "suppliers": [{"id": "S", "lead_time": 1}],
        "lanes": [{"from": "C", "to": "R", "lead_time": 2}],
    }


def errors(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as exc:
        scenario(data)
    return str(exc.value)


# ---------------------------------------------------------------------------------------------- schema


@pytest.mark.parametrize(("shock", "expected"), [
    ({"name": "d", "type": "demand_step", "start": 5, "magnitude": -1.5},
     "shocks[0].magnitude: Input should be greater than or equal to -1"),
    ({"name": "d", "type": "demand_step", "magnitude": -0.5},
     "shocks[0]: give either 'start' (a day) or 'window"),
    ({"name": "d", "type": "demand_step", "window": [30, 10], "magnitude": -0.5},
     "shocks[0]: window [30, 10]: the first day must not be after the last"),
    ({"name": "d", "type": "earthquake", "start": 5}, "shocks[0]: unknown type 'earthquake'"),
    ({"name": "d", "type": "demand_step", "start": 5, "magnitdue": -0.5}, "shocks[0].magnitdue: unknown key"),
    ({"name": "d", "type": "capacity_loss", "start": 5, "factory": "F", "factor": 1.2},
     "shocks[0].factor: Input should be less than or equal to 1"),
    ({"name": "d", "type": "collapse_rebound", "start": 5, "duration": 9, "magnitude": 0.2},
     "shocks[0].magnitude: Input should be less than or equal to 0"),
    ({"name": "d", "type": "demand_spike", "start": 5, "magnitude": -0.2},
     "shocks[0].magnitude: Input should be greater than or equal to 0"),
    ({"name": "d", "type": "demand_ramp", "start": 5, "magnitude": 0.2, "recovery": "ramp", "recovery_days": 5},
     "shocks[0]: a demand_ramp has no recovery"),
    ({"name": "d", "type": "demand_step", "start": 5, "magnitude": 0.2, "recovery": "ramp"},
     "shocks[0]: recovery: ramp needs recovery_days >= 1"),
    ({"name": "d", "type": "lane_delay", "start": 5, "lane": {"from": "F", "to": "W"}},
     "shocks[0]: give either 'extra_days' (added) or 'factor' (multiplied)"),
    ({"name": "d", "type": "promotion", "start": 5, "duration": 10, "lift": 2.0, "pull_forward": 1.0,
      "dip_days": 10}, "shocks[0]: the dip would need 200% of demand"),
    ({"name": "d", "type": "demand_step", "start": 5, "magnitude": 0.2, "probability": 1.5},
     "shocks[0].probability: Input should be less than or equal to 1"),
    ({"name": "d", "type": "demand_step", "start": 5, "magnitude": 0.2, "duration": {"dist": "uniform", "low": 5}},
     "shocks[0].duration.high: required key is missing"),
    # cross-references
    ({"name": "d", "type": "factory_outage", "start": 5, "duration": 3, "factory": "F-X"},
     "shocks[0].factory: unknown factory 'F-X'"),
    ({"name": "d", "type": "lane_delay", "start": 5, "lane": {"from": "W", "to": "F"}, "extra_days": 2},
     "shocks[0].lane: no lane from 'W' to 'F'"),
    ({"name": "d", "type": "supplier_delay", "start": 5, "supplier": "S", "factor": 2},
     "shocks[0].supplier: unknown supplier 'S'"),
    ({"name": "d", "type": "demand_step", "start": 80, "magnitude": 0.2}, "shocks[0].start: day 80 is not inside"),
    ({"name": "d", "type": "demand_step", "window": [10, 99], "magnitude": 0.2},
     "shocks[0].window: day 99 is not inside"),
    ({"name": "d", "type": "demand_step", "start": 5, "magnitude": 0.2, "products": ["B"]},
     "shocks[0].products[0]: unknown product 'B'"),
    ({"name": "d", "type": "demand_step", "start": 5, "magnitude": 0.2, "customers": ["x"]},
     "shocks[0].customers[0]: unknown customer 'x'"),
])
def test_schema_errors_name_the_key(shock: dict[str, Any], expected: str) -> None:
    msg = errors(with_shocks(plant(), shock))
    assert msg.startswith("<test>: "), msg
    assert expected in msg, msg


def test_duplicate_names_and_line_factories_are_errors() -> None:
    step = {"name": "d", "type": "demand_step", "start": 5, "magnitude": 0.2}
    assert "shocks[1].name: duplicate shock name 'd'" in errors(with_shocks(plant(), step, step))
    data = plant()
    data["factories"][0] = {"id": "F", "products": ["A"], "lines": 1, "processing_time": 0.01}
    msg = errors(with_shocks(data, {"name": "o", "type": "factory_outage", "start": 5, "duration": 3, "factory": "F"}))
    assert "shocks[0].factory: factory 'F' works with production lines" in msg


def test_valid_shocks_load_and_default() -> None:
    sc = scenario(with_shocks(plant(), {"name": "d", "type": "demand_spike", "start": 5, "magnitude": 1.0},
                              {"name": "o", "type": "factory_outage", "window": [10, 20], "duration": 3,
                               "factory": "F", "probability": 0.5}))
    spike, outage = sc.shocks
    assert spike.duration is not None and spike.duration.mean == 1
    assert spike.probability == 1 and spike.recovery == "instant"
    assert outage.window == (10, 20)


# ---------------------------------------------------------------------------------------------- realisation


RANDOM_SHOCK = {"name": "r", "type": "capacity_loss", "factory": "F", "window": [10, 40], "factor": 0.5,
                "duration": {"dist": "uniform", "low": 3, "high": 15}, "probability": 0.7}


def test_realisation_is_reproducible_per_seed_and_replication() -> None:
    sc = scenario(with_shocks(plant(), RANDOM_SHOCK))

    def key(seed: int, rep: int) -> list[tuple[int, int]]:
        return [(r.start, r.end) for r in realise(sc.shocks, Streams(seed, rep), sc.horizon)]

    assert key(3, 5) == key(3, 5)
    outcomes = {tuple(key(3, rep)) for rep in range(30)}
    assert len(outcomes) > 10  # different replications, different futures
    # Another shock does not change this one's draws: each shock has its own stream.
    other = {"name": "q", "type": "demand_step", "window": [0, 50], "magnitude": 0.3, "probability": 0.5}
    sc2 = scenario(with_shocks(plant(), other, RANDOM_SHOCK))
    for rep in range(10):
        mine = [(r.start, r.end) for r in realise(sc2.shocks, Streams(3, rep), sc.horizon) if r.shock.name == "r"]
        assert mine == key(3, rep)


def test_realisation_is_identical_across_policies() -> None:
    """Replication i sees the same shocks, and the same demand, whatever the warehouse's policy."""
    a = with_shocks(plant(), RANDOM_SHOCK, {"name": "dip", "type": "demand_step", "window": [20, 50],
                                            "duration": {"dist": "exponential", "mean": 10}, "magnitude": -0.5})
    b = copy.deepcopy(a)
    b["warehouses"][0]["stock"][0]["policy"] = {"type": "sS", "s": 80, "S": 400, "review_period": 3}
    sa, sb = scenario(a), scenario(b)
    for rep in range(5):
        ra = run_replication(sa, seed=9, replication=rep, keep_records=True).records
        rb = run_replication(sb, seed=9, replication=rep, keep_records=True).records
        assert ra is not None and rb is not None
        assert ra.shocks.rows() == rb.shocks.rows()
        assert np.array_equal(ra.lines["qty"], rb.lines["qty"])
        assert not np.array_equal(ra.replenishments["qty"], rb.replenishments["qty"])


def test_probability_zero_never_one_always() -> None:
    never = dict(RANDOM_SHOCK, name="never", probability=0)
    always = dict(RANDOM_SHOCK, name="always", probability=1)
    sc = scenario(with_shocks(plant(), never, always))
    names = [r.shock.name for rep in range(200) for r in realise(sc.shocks, Streams(1, rep), sc.horizon)]
    assert names == ["always"] * 200
    # A shock that never happens leaves the replication bit-identical to the scenario without it.
    base = scenario(plant())
    sc0 = scenario(with_shocks(plant(), never))
    assert run_replication(sc0, seed=4, replication=2).kpis == run_replication(base, seed=4, replication=2).kpis


# ---------------------------------------------------------------------------------------------- demand


def daily_units(rec: Records, horizon: int) -> np.ndarray:
    day = np.floor(rec.orders["time"][rec.lines["order_id"].astype(int)]).astype(int)
    return np.bincount(day, weights=rec.lines["qty"], minlength=horizon)


def test_demand_step_halves_demand_in_its_window() -> None:
    data = single_stock_point({"orders_per_day": 4.0, "quantity": {"dist": "poisson", "mean": 3}},
                              {"type": "base_stock", "level": 60}, horizon=200)
    sc = scenario(with_shocks(data, {"name": "half", "type": "demand_step", "start": 50, "duration": 100,
                                     "magnitude": -0.5}))
    inside, outside = [], []
    for rep in range(20):
        rec = run_replication(sc, seed=2, replication=rep, keep_records=True).records
        assert rec is not None
        units = daily_units(rec, 200)
        inside.append(units[50:150].mean())
        outside.append(np.r_[units[:50], units[150:]].mean())
    ratio = np.array(inside) / np.mean(outside)
    se = ratio.std(ddof=1) / math.sqrt(len(ratio))
    assert abs(ratio.mean() - 0.5) <= 4 * se + 0.01, (ratio.mean(), se)
    assert abs(np.mean(outside) - 12.0) <= 4 * np.std(outside, ddof=1) / math.sqrt(20)


@pytest.mark.parametrize("demand", [
    {"product": "A", "orders_per_day": 4, "quantity": {"dist": "uniform", "low": 1, "high": 5}},
    {"product": "A", "orders_per_day": 4, "quantity": {"dist": "uniform", "low": 1, "high": 5}, "trend": 0.5,
     "seasonality": {"amplitude": 0.3, "period": 365}},
    {"product": "A", "daily": {"dist": "poisson", "mean": 20}},
    {"product": "A", "daily": {"dist": "normal", "mean": 20, "sd": 5}},
    {"product": "A", "daily": {"dist": "negative_binomial", "mean": 20, "sd": 8}},
], ids=["orders", "orders-trend-season", "daily-poisson", "daily-normal", "daily-negbin"])
@pytest.mark.parametrize("factor", [0.4, 1.7])
def test_a_demand_shock_changes_its_own_days_only_and_draws_the_new_mean_exactly(demand: dict[str, Any],
                                                                                factor: float) -> None:
    """Common random numbers through a shock: the stream with a shock on days 100-199 is the stream without
    it on every other day, order for order (a stress case's effect is then its own, not the noise of the whole
    horizon redrawn). On the shocked days the units are those of the new mean: per day, a Poisson count of
    orders with mean factor x rate, checked over 200 futures against the mean and the Poisson dispersion
    within 4 standard errors; daily totals have mean factor x mean."""
    from simsop.scenario import DemandSpec

    spec = DemandSpec.model_validate(demand)
    horizon, first, last = 300, 100, 200
    shock = np.ones(horizon)
    shock[first:last] = factor
    base_mean = spec.mean_per_day * multiplier(spec, horizon)[first:last]
    per_day, units = [], []
    for seed in range(200):
        a = draw_demand(spec, horizon, np.random.default_rng(seed))
        b = draw_demand(spec, horizon, np.random.default_rng(seed), shock=shock)
        for draws in (a, b):
            assert np.all(np.diff(draws.times) >= 0)
        out_a = (a.times < first) | (a.times >= last)
        out_b = (b.times < first) | (b.times >= last)
        np.testing.assert_array_equal(a.times[out_a], b.times[out_b])
        np.testing.assert_array_equal(a.qty[out_a], b.qty[out_b])
        day = b.times[~out_b].astype(int) - first
        per_day.append(np.bincount(day, minlength=last - first))
        units.append(np.bincount(day, weights=b.qty[~out_b], minlength=last - first))
    total = np.asarray(units).sum(axis=1)  # units over the shocked days, one per future
    expected = factor * base_mean.sum()
    assert abs(total.mean() - expected) < 4 * total.std(ddof=1) / np.sqrt(len(total)), (total.mean(), expected)
    if spec.orders_per_day is not None:  # orders per day: Poisson with the new mean (mean = variance)
        lam = factor * spec.orders_per_day * multiplier(spec, horizon)[first:last]
        z = (np.asarray(per_day) - lam) / np.sqrt(lam)  # standardised: mean 0, variance 1 when Poisson(lam)
        n = z.size
        assert abs(z.mean()) < 4 / np.sqrt(n), z.mean()
        assert abs(z.var() - 1) < 4 * np.sqrt(2 / n + (1 / lam).mean() / n), z.var()


def realised_one(shock: dict[str, Any], horizon: int = 120, seed: int = 0, rep: int = 0) -> list[Any]:
    sc = scenario(with_shocks(plant(horizon), shock))
    return realise(sc.shocks, Streams(seed, rep), horizon)


@pytest.mark.parametrize("pull_forward", [0.0, 0.6, 1.0])
def test_promotion_moves_units_forward(pull_forward: float) -> None:
    """Over the promotion and its dip, units = baseline + (1 - pull_forward) x the promotion's extra units."""
    r = realised_one({"name": "p", "type": "promotion", "start": 30, "duration": 10, "lift": 0.8,
                      "pull_forward": pull_forward, "dip_days": 20})
    m = demand_multiplier(r, "c", "A", 120)
    assert m is not None
    assert np.allclose(m[30:40], 1.8) and np.allclose(m[:30], 1.0) and np.allclose(m[60:], 1.0)
    assert np.allclose(m[40:60], 1 - pull_forward * 0.8 * 10 / 20)
    extra = 0.8 * 10
    assert (m[30:60] - 1).sum() == pytest.approx((1 - pull_forward) * extra)
    # In the simulation, with a constant daily demand, the units follow exactly.
    data = single_stock_point({"daily": 10}, {"type": "base_stock", "level": 60}, horizon=120)
    sc = scenario(with_shocks(data, r[0].shock.model_dump(by_alias=True, exclude_unset=True)))
    rec = run_replication(sc, seed=1, replication=0, keep_records=True).records
    assert rec is not None
    units = daily_units(rec, 120)
    assert units[30:60].sum() == pytest.approx(300 + 10 * (1 - pull_forward) * extra)


def test_launch_follows_bass_diffusion() -> None:
    p, q, m = 0.8, 4.0, 3000.0  # per year: a fast launch, so most of it fits in the horizon
    shock = {"name": "new", "type": "launch", "products": ["A"], "start": 40, "p": p, "q": q, "m": m}
    data = single_stock_point({"daily": 2}, {"type": "base_stock", "level": 60}, horizon=400)
    sc = scenario(with_shocks(data, shock))
    rec = run_replication(sc, seed=1, replication=0, keep_records=True).records
    assert rec is not None
    units = daily_units(rec, 400)
    assert units[:40].sum() == 0  # no demand before the launch
    cum = np.cumsum(units[40:])
    t = np.arange(1, 361) / 365.0
    assert np.allclose(cum, bass_cumulative(t, p, q, m), rtol=1e-9, atol=1e-6)
    # With random (Poisson) daily demand the cumulative adoption matches the closed form within its noise.
    spec = scenario(single_stock_point({"daily": {"dist": "poisson", "mean": 2}}, {"type": "base_stock",
                                                                                   "level": 60})).customers[0].demand[0]
    mult = demand_multiplier(realise(sc.shocks, Streams(0, 0), 400), "c", "A", 400, {("c", "A"): 2.0})
    totals = np.array([draw_demand(spec, 400, np.random.default_rng(i), shock=mult).qty[:].sum() for i in range(200)])
    exact = float(bass_cumulative(360 / 365.0, p, q, m))
    assert abs(totals.mean() - exact) <= 4 * totals.std(ddof=1) / math.sqrt(200)
    # A launch that does not happen is a product that does not sell.
    sc0 = scenario(with_shocks(data, dict(shock, probability=0)))
    rec0 = run_replication(sc0, seed=1, replication=0, keep_records=True).records
    assert rec0 is not None and len(rec0.lines) == 0 and len(rec0.shocks) == 0


def test_collapse_rebound_profile() -> None:
    r = realised_one({"name": "c", "type": "collapse_rebound", "start": 10, "duration": 30, "magnitude": -0.4,
                      "collapse_days": 4, "recovery": "ramp", "recovery_days": 9, "rebound": 0.2,
                      "rebound_days": 10})
    m = demand_multiplier(r, "c", "A", 120)
    assert m is not None
    assert np.allclose(m[:10], 1) and np.allclose(m[10:14], [0.9, 0.8, 0.7, 0.6]) and np.allclose(m[14:40], 0.6)
    assert np.allclose(m[40:49], 1 - 0.4 * (1 - np.arange(1, 10) / 10))  # back to normal over 9 days
    assert np.allclose(m[49:59], 1 + 0.2 * np.arange(10, 0, -1) / 10)  # pent-up demand, fading
    assert np.allclose(m[59:], 1)
    assert (r[0].start, r[0].end, r[0].effect_end) == (10, 40, 59)


def test_a_collapse_cut_short_recovers_from_the_level_it_reached() -> None:
    """A collapse whose drawn duration ends before its fall is over (duration 1-3 days, collapse_days 8) starts
    its linear recovery from the level reached on its last day: demand falls for the duration, then only rises
    back to normal over recovery_days. It used to go on falling during the recovery (the fall's day count
    multiplied the ramp: 0.94, 0.89, 0.87, 0.86 four days into a 'recovery' from 0.94)."""
    shock = {"name": "c", "type": "collapse_rebound", "start": 10, "duration": {"dist": "uniform", "low": 1, "high": 3},
             "magnitude": -0.5, "collapse_days": 8, "recovery": "ramp", "recovery_days": 6}
    sc = scenario(with_shocks(plant(120), shock))
    seen = set()
    for rep in range(30):
        r = realise(sc.shocks, Streams(0, rep), 120)
        m = demand_multiplier(r, "c", "A", 120)
        assert m is not None
        d = r[0].duration
        seen.add(d)
        reached = -0.5 * d / 8  # the fall, (t + 1) / collapse_days of the drop on day t, stops at day d - 1
        np.testing.assert_allclose(m[10:10 + d], 1 - 0.5 * np.arange(1, d + 1) / 8)
        np.testing.assert_allclose(m[10 + d:16 + d], 1 + reached * (1 - np.arange(1, 7) / 7))  # linear, 6 days
        assert np.all(m[10 + d:] >= m[9 + d:-1] - 1e-12)  # never falls once the recovery starts
        np.testing.assert_allclose(m[16 + d:], 1.0)
    assert seen == {1, 2, 3}


def test_a_promotion_with_a_random_duration_refuses_a_dip_deeper_than_demand() -> None:
    """Without dip_days the dip lasts as long as the promotion, so its depth is pull_forward x lift whatever
    duration is drawn: lift 2 with pull_forward 0.8 needs 160% of demand every time. It was accepted with a
    random duration (and only refused with a fixed one); the dip was then cut at zero and gave back 1 of the
    1.6 units a day it borrowed: over the promotion and its dip the units came to baseline + 1 x the days
    instead of baseline + 0.4 x the days."""
    promo = {"name": "p", "type": "promotion", "start": 20, "duration": {"dist": "uniform", "low": 5, "high": 15},
             "lift": 2.0, "pull_forward": 0.8}
    msg = errors(with_shocks(plant(), promo))
    assert "shocks[0]: the dip would need 160% of demand; give dip_days" in msg
    assert "the dip would need 160%" in errors(with_shocks(plant(), dict(promo, duration=10)))
    # A dip the demand can give (here 2 x 0.5 = 100%) is accepted, and over the promotion and its dip the
    # units are the baseline plus (1 - pull_forward) of the extra units, for every duration drawn.
    ok = scenario(with_shocks(plant(), dict(promo, pull_forward=0.5)))
    for rep in range(10):
        r = realise(ok.shocks, Streams(0, rep), 80)
        m = demand_multiplier(r, "c", "A", 80)
        assert m is not None and m.min() >= 0
        assert (m[20:r[0].effect_end] - 1).sum() == pytest.approx(0.5 * 2.0 * r[0].duration)


# ---------------------------------------------------------------------------------------------- supply


def test_factory_outage_stops_production_exactly_over_its_days() -> None:
    sc = scenario(with_shocks(plant(), {"name": "o", "type": "factory_outage", "start": 30, "duration": 10,
                                        "factory": "F"}))
    rec = run_replication(sc, seed=1, replication=0, keep_records=True).records
    assert rec is not None
    fd = rec.factory_days
    day, cap, used = fd["day"], fd["regular_capacity"], fd["regular_used"]
    out = (day >= 30) & (day < 40)
    assert out.sum() == 10 and np.all(used[out] == 0) and np.all(cap[out] == 0)
    assert np.all(used[~out & (day >= 1)] > 0)
    assert np.all(used[(day >= 40) & (day < 45)] == 60)  # working off the backlog at full capacity
    assert rec.shocks.rows()[0][:4] == ("o", "factory_outage", 30.0, 40.0)


def test_capacity_loss_with_ramp_recovery() -> None:
    sc = scenario(with_shocks(plant(), {"name": "half", "type": "capacity_loss", "start": 30, "duration": 10,
                                        "factory": "F", "factor": 0.5, "recovery": "ramp", "recovery_days": 3}))
    rec = run_replication(sc, seed=1, replication=0, keep_records=True).records
    assert rec is not None
    cap = dict(zip(rec.factory_days["day"].tolist(), rec.factory_days["regular_capacity"].tolist(), strict=True))
    assert [cap[d] for d in (29, 30, 39, 40, 41, 42, 43)] == [60, 30, 30, 37.5, 45, 52.5, 60]


@pytest.mark.parametrize(("strength", "transit"), [({"extra_days": 3}, 5.0), ({"factor": 1.5}, 3.0)])
def test_lane_delay_lengthens_transit(strength: dict[str, float], transit: float) -> None:
    sc = scenario(with_shocks(two_echelon(), {"name": "slow", "type": "lane_delay", "start": 20, "duration": 10,
                                              "lane": {"from": "C", "to": "R"}, **strength}))
    rec = run_replication(sc, seed=1, replication=0, keep_records=True).records
    assert rec is not None
    dep = rec.departed
    lane = dep["source"] == rec.meta.sites.index("C")
    sent, took = dep["time"][lane], (dep["arrival"] - dep["time"])[lane]
    during = (sent >= 20) & (sent < 30)
    assert during.sum() >= 9
    assert np.allclose(took[during], transit) and np.allclose(took[~during], 2.0)


@pytest.mark.parametrize(("strength", "transit"), [({"extra_days": 3}, 4.0), ({"factor": 2.5}, 2.5)])
def test_a_lane_delay_is_judged_on_the_day_a_plant_s_goods_depart(strength: dict[str, float],
                                                                 transit: float) -> None:
    """A plant books what it finishes during a day to depart when it is done (at the day's end, the next day's
    start): the lane's transit is the one in force on the departure day, so goods leaving on the shock's first
    day are delayed and goods leaving the day after its last are not (they were one day late)."""
    sc = scenario(with_shocks(plant(), {"name": "slow", "type": "lane_delay", "start": 20, "duration": 10,
                                        "lane": {"from": "F", "to": "W"}, **strength}))
    rec = run_replication(sc, seed=1, replication=0, keep_records=True).records
    assert rec is not None
    dep = rec.departed
    sent, took = dep["time"], dep["arrival"] - dep["time"]
    during = (sent >= 20) & (sent < 30)
    assert np.isin([20.0, 29.0, 30.0], sent).all()  # the edge days are tested
    assert np.allclose(took[during], transit) and np.allclose(took[~during], 1.0)


@pytest.mark.parametrize(("strengths", "lead"), [
    (({"extra_days": 4},), 6.0),
    (({"factor": 2.0},), 4.0),
    # Two shocks on one supplier combine as a lane's transit does, lead x factor + extra: 2 x 2 + 3 = 7 (the extra
    # days had been scaled by the factor too: (2 + 3) x 2).
    (({"factor": 2.0}, {"extra_days": 3}), 7.0),
])
def test_supplier_delay_lengthens_lead_times(strengths: tuple[dict[str, float], ...], lead: float) -> None:
    data = single_stock_point({"daily": 10}, {"type": "base_stock", "level": 80}, lead_time=2, horizon=60)
    sc = scenario(with_shocks(data, *({"name": f"late{k}", "type": "supplier_delay", "start": 20, "duration": 10,
                                       "supplier": "S", **kw} for k, kw in enumerate(strengths))))
    rec = run_replication(sc, seed=1, replication=0, keep_records=True).records
    assert rec is not None
    # One shipment per order, in order: lead time = departure (no lane) - order time.
    ordered = rec.replenishments["time"]
    took = rec.departed["time"] - ordered
    during = (ordered >= 20) & (ordered < 30)
    assert during.sum() == 10
    assert np.allclose(took[during], lead) and np.allclose(took[~during], 2.0)


# ---------------------------------------------------------------------------------------------- KPIs


def hand_records() -> tuple[Records, Scenario]:
    """20 days, one order of 10 units a day due the same day; orders 5-8 go wrong, backlog and a loss."""
    sc = scenario(single_stock_point({"daily": 10}, {"type": "base_stock", "level": 60}, horizon=20))
    rec = build_world(sc).records
    t = rec.tables
    ship = {d: [(d, 10.0)] for d in range(20)}
    ship.update({5: [(7, 10.0)], 6: [(8, 10.0)], 7: [(9, 6.0)], 8: [(10, 10.0)]})
    for d in range(20):
        t["orders"].append((d, float(d), 0, 0, float(d), 1))
        t["lines"].append((d, d, 0, 10.0))
        for when, q in ship[d]:
            t["shipped"].append((d, float(when), q))
    t["lost"].append((7, 9.0, 4.0))
    rec.snapshots.backlog[[2, 5, 6, 7, 8], 0] = [50, 10, 20, 30, 30]
    t["shocks"].append(("s", "demand_step", 5.0, 9.0, 9.0))
    rec.freeze()
    return rec, sc


def test_shock_kpis_on_a_hand_checked_case() -> None:
    rec, sc = hand_records()
    due, ok = daily_otif(rec)
    assert due.tolist() == [1] * 20 and ok.tolist() == [0 if 5 <= d <= 8 else 1 for d in range(20)]
    k = shock_kpis(rec, sc, settle_days=10)
    assert set(k) == set(SHOCK_KPI_NAMES)
    assert k["shocks_realised"] == 1 and k["shock_start"] == 5 and k["shock_window_end"] == 19
    assert k["shock_pre_otif"] == 1 and k["shock_threshold"] == 0.95
    # 7-day rolling OTIF: 5/6 on day 5, ..., 3/7 on days 8-11, ..., 6/7 on day 14, 1 from day 15.
    assert k["shock_recovery_days"] == 10 and k["shock_recovered"] == 1
    assert k["shock_worst_otif"] == pytest.approx(3 / 7)
    assert k["shock_window_otif"] == pytest.approx(11 / 15)  # orders placed from day 5, due by day 19
    assert k["shock_peak_backlog"] == 30  # the 50 of day 2 is before the shock
    assert k["shock_lost_units"] == 4 and k["shock_lost_revenue"] == 40
    # Shipped in [5, 19): 10 + 10 + 6 + 10 late, and orders 9..18 on time: 136 units at 10, cost 6;
    # backorder penalty 0.5 per unit per day late, from the lines (due the day they are placed): orders 5-8
    # each 20 unit-days (order 7: 6 units shipped and 4 lost at 9, late at the ends of days 7 and 8).
    assert k["shock_window_revenue"] == pytest.approx(1360)
    assert k["shock_window_profit"] == pytest.approx(1360 - 816 - 40)
    # A given threshold; and a window still below it at its end has not recovered: its recovery time is
    # censored at the window's length (days 5-10), longer than any recovery the window could show.
    assert shock_kpis(rec, sc, threshold=0.5, settle_days=10)["shock_recovery_days"] == 7
    cut = shock_kpis(rec, sc, settle_days=2)
    assert cut["shock_window_end"] == 11 and cut["shock_recovery_days"] == 6 and cut["shock_recovered"] == 0


def test_shock_kpis_are_nan_without_shocks_and_take_windows() -> None:
    sc = scenario(plant())
    rec = run_replication(sc, seed=1, replication=0, keep_records=True).records
    assert rec is not None
    k = shock_kpis(rec, sc)
    assert k["shocks_realised"] == 0 and all(math.isnan(v) for n, v in k.items() if n != "shocks_realised")
    # A baseline judged over a shocked run's window (common random numbers make the comparison paired).
    shocked = scenario(with_shocks(plant(), {"name": "o", "type": "factory_outage", "start": 30, "duration": 10,
                                             "factory": "F"}))
    srec = run_replication(shocked, seed=1, replication=0, keep_records=True).records
    assert srec is not None
    ks, kb = shock_kpis(srec, shocked), shock_kpis(rec, sc, windows=srec.shocks.rows())
    assert ks["shock_start"] == kb["shock_start"] == 30 and ks["shock_window_end"] == kb["shock_window_end"]
    assert ks["shock_peak_backlog"] > kb["shock_peak_backlog"]
    assert ks["shock_window_otif"] < kb["shock_window_otif"]


def test_stress_summary_keeps_shock_kpi_intervals_possible(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Recovery time is 0 in most futures and 22 days in one: the Student-t interval of its mean reaches
    below 0 days. The summary (and the report built from it) cuts it at 0 and says so; every interval of
    every KPI stays in the KPI's natural range."""
    import pandas as pd

    from simsop.experiment import run_experiment
    from simsop.report.build import write_report
    from simsop.report.kpimeta import value_range
    from simsop.report.summary import BOUND_MARK
    from simsop.stats import summarize

    base = scenario(plant(horizon=120))
    outage = scenario(with_shocks(plant(horizon=120), {
        "name": "o", "type": "factory_outage", "start": 40, "factory": "F",
        "duration": {"dist": "uniform", "low": 1, "high": 5}}))
    exp = run_experiment(base, ["none"], 4, seed=2, executor="serial", cases=[("base", base), ("outage", outage)],
                         out=tmp_path / "run")
    days = exp.kpis.loc[exp.kpis["case"] == "outage", "shock_recovery_days"].to_numpy(dtype=float)
    assert summarize(days).ci_low < 0, f"this run should give a skewed sample (got {days}); pick another"
    written = pd.read_csv(tmp_path / "run" / "summary.csv").set_index(["case", "kpi"])
    row = written.loc[("outage", "shock_recovery_days")]
    assert row["ci_low"] == 0.0 and row["ci_high"] > row["mean"] and row["ci_method"] == "t_clipped"
    for (_, kpi), r in written[written["n"] > 1].iterrows():
        low, high = value_range(str(kpi))
        assert low <= r["ci_low"] <= r["mean"] + 1e-9 and r["mean"] - 1e-9 <= r["ci_high"] <= high, kpi
    effects = pd.read_csv(tmp_path / "run" / "paired_cases.csv").set_index("kpi")
    assert effects.loc["otif", "ci_low"] >= -1.0 and effects.loc["otif", "ci_high"] <= 1.0
    page = write_report(tmp_path / "run").read_text(encoding="utf-8")
    assert re.search(rf'Recovery time \(days\)</td><td>[0-9.]+<span class="ci">0 – [0-9.]+ {BOUND_MARK}</span>', page)
    assert "cut at the limit" in page  # and the note under the table says what the mark means
    # The terminal's stress table gives the cut interval itself, never "± half-width" reaching below 0 days.
    from simsop.cli import _print_stress

    capsys.readouterr()
    monkeypatch.setenv("COLUMNS", "200")  # one line per cell
    _print_stress(exp, "stress")
    table = capsys.readouterr().out
    assert re.search(r"\[0, [0-9.]+\]", table) and "[low, high]" in table, table


NEUTRAL_SHOCKS = [  # every type's strength that changes nothing, as a grid's first value may be
    {"name": "z", "type": "demand_step", "start": 60, "duration": 40, "magnitude": 0.0},
    {"name": "z", "type": "demand_spike", "start": 60, "duration": 40, "magnitude": 0.0},
    {"name": "z", "type": "demand_ramp", "start": 60, "duration": 40, "magnitude": 0.0},
    {"name": "z", "type": "collapse_rebound", "start": 60, "duration": 40, "magnitude": 0.0, "collapse_days": 5},
    {"name": "z", "type": "promotion", "start": 60, "duration": 20, "lift": 0.0, "pull_forward": 0.5},
    {"name": "z", "type": "capacity_loss", "start": 60, "duration": 40, "factory": "Plant", "factor": 1.0},
    {"name": "z", "type": "lane_delay", "start": 60, "duration": 40, "lane": {"from": "Central", "to": "East"},
     "extra_days": 0.0},
    {"name": "z", "type": "lane_delay", "start": 60, "duration": 40, "lane": {"from": "Central", "to": "East"},
     "factor": 1.0},
]


@pytest.mark.parametrize("shock", NEUTRAL_SHOCKS, ids=[
    "step", "spike", "ramp", "collapse", "promotion", "capacity", "lane_days", "lane_factor"])
def test_a_shock_without_effect_has_no_effect_on_any_shock_kpi(shock: dict[str, Any]) -> None:
    """A shock that changes nothing: the small network's ordinary shortfalls fall in its window (OTIF below the
    threshold, stock-outs), which the shock KPIs alone blamed on the shock. Measured on the same futures
    without it over the same windows, its effect on every shock outcome is 0 in every replication. Every type
    accepts its neutral strength, and the scenario's notes say it changes nothing."""
    from simsop.experiment import run_experiment
    from simsop.kpi import NO_SHOCK_SUFFIX, SHOCK_OUTCOME_NAMES
    from simsop.scenario_notes import scenario_notes
    from tests.test_experiment import small

    base = small()
    exp = run_experiment(base, ["none"], 4, seed=3, executor="serial", series=False, extras=False,
                         cases=[("base", base), ("nothing", apply_shocks(base, [shock]))])
    k = exp.kpis[exp.kpis["case"] == "nothing"]
    assert (k["shock_worst_otif"] < k["shock_threshold"]).any() and (k["shock_lost_units"] > 0).any()
    for name in SHOCK_OUTCOME_NAMES:
        assert k[name].notna().all() and (k[name] == k[name + NO_SHOCK_SUFFIX]).all(), name
    eff = exp.case_effects[exp.case_effects["case"] == "nothing"].set_index("kpi")
    for name in SHOCK_OUTCOME_NAMES:
        assert eff.loc[name, "n"] == 4 and eff.loc[name, "mean_diff"] == 0, name
        assert eff.loc[name, "ci_low"] == eff.loc[name, "ci_high"] == 0 and not eff.loc[name, "significant"], name
    # The run KPIs of the case are those of the reference case, as they should be for a shock that does nothing.
    assert eff.loc["profit", "mean_diff"] == 0 and eff.loc["otif", "mean_diff"] == 0
    notes = scenario_notes(apply_shocks(base, [shock]), ["none"])
    assert [w for w, n in notes if "changes nothing" in n] == ["shocks[0]"], notes
    felt = {"magnitude": 0.5 if shock["type"] == "demand_spike" else -0.5, "lift": 0.3, "factor": 0.5,
            "extra_days": 2}
    strong = {**shock, **{k: v for k, v in felt.items() if k in shock}}
    assert not [n for _, n in scenario_notes(apply_shocks(base, [strong]), ["none"]) if "changes nothing" in n]
    never = scenario_notes(apply_shocks(base, [{**strong, "probability": 0}]), ["none"])
    assert ("shocks[0]", "shock 'z' changes nothing: its probability is 0") in never, never


def test_futures_that_never_recover_count_in_the_recovery_time(capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Outages of 2-40 days: after the long ones the factory, 20% above demand, cannot catch up before the
    horizon. Those futures count in the mean recovery time (censored at the window's length, longer than any
    recovery seen), never dropped from it; the share recovered is a KPI; the terminal says '≥' and k/n."""
    from simsop.cli import _print_stress
    from simsop.experiment import run_experiment

    base = scenario(plant(horizon=120))
    outage = scenario(with_shocks(plant(horizon=120), {
        "name": "o", "type": "factory_outage", "start": 40, "factory": "F",
        "duration": {"dist": "uniform", "low": 2, "high": 40}}))
    exp = run_experiment(base, ["none"], 6, seed=3, executor="serial", series=False, extras=False,
                         cases=[("base", base), ("outage", outage)])
    k = exp.kpis[exp.kpis["case"] == "outage"]
    days, ok = k["shock_recovery_days"].to_numpy(), k["shock_recovered"].to_numpy()
    window = (k["shock_window_end"] - k["shock_start"]).to_numpy()
    assert 0 < ok.sum() < len(ok), "this run should mix futures that recover and futures that do not"
    assert (days[ok == 0] == window[ok == 0]).all() and days[ok == 0].min() > days[ok == 1].max()
    s = exp.summary_of("none", "outage")
    assert s["shock_recovery_days"]["n"] == 6 and s["shock_recovery_days"]["mean"] == pytest.approx(days.mean())
    assert s["shock_recovery_days"]["mean"] > days[ok == 1].mean()  # the mean over survivors understates it
    assert s["shock_recovered"]["mean"] == pytest.approx(ok.mean())
    capsys.readouterr()
    monkeypatch.setenv("COLUMNS", "200")
    _print_stress(exp, "stress")
    table = capsys.readouterr().out
    assert f"≥ {days.mean():.1f}" in table and f"{int(ok.sum())}/6 recovered" in table, table


# ---------------------------------------------------------------------------------------------- stress files


def test_stress_files_load() -> None:
    base, cases = load_stress(SCENARIOS / "stress_covid.yaml")
    assert base.name == "example_company" and [c.name for c in cases] == ["stress_covid"]
    types = [s.type for s in cases[0].shocks]
    assert types == ["collapse_rebound", "capacity_loss"]
    sc = apply_shocks(base, cases[0].shocks)
    assert len(sc.shocks) == 2 and base.shocks == ()
    _, grid = load_stress(SCENARIOS / "stress_grid.yaml")
    names = [c.name for c in grid]
    assert "collapse@day120x0.4" in names and "collapse@day440x0.6" in names and "plant-fire" in names
    collapse = next(c for c in grid if c.name == "collapse@day120x0.4").shocks[0]
    assert isinstance(collapse, CollapseRebound)
    assert collapse.start == 120 and collapse.magnitude == -0.4 and collapse.name == "collapse"


def test_stress_file_errors_name_file_and_key(tmp_path: Path) -> None:
    base = (SCENARIOS / "example_company.yaml").resolve()

    def bad(text: str) -> str:
        f = tmp_path / "stress_bad.yaml"
        f.write_text(f"base: {base}\n" + text)
        with pytest.raises(ScenarioError) as exc:
            load_stress(f)
        assert all(line.startswith(f"{f}: ") for line in str(exc.value).splitlines()), str(exc.value)
        return str(exc.value)

    assert "cases[0].shocks[0].factor: Input should be less than or equal to 1" in bad(
        "cases:\n  - name: x\n    shocks: [{name: a, type: capacity_loss, factory: F-North, start: 5, factor: 2}]\n")
    assert "cases[1].shocks[0].factory: unknown factory 'F-Nowhere'" in bad(
        "cases:\n  - {name: x, shocks: []}\n"
        "  - name: y\n    shocks: [{name: a, type: factory_outage, factory: F-Nowhere, start: 5, duration: 2}]\n")
    assert "cases[1].name: a second case named 'x'" in bad("cases:\n  - {name: x}\n  - {name: x}\n")
    assert "grid.strength[1]: c@day5x1.5: Input should be less than or equal to 1" in bad(
        "grid:\n  shock: {name: c, type: capacity_loss, factory: F-North, start: 1, factor: 0.5}\n"
        "  start: [5]\n  strength: [0.5, 1.5]\n")
    assert "shocks: unknown key" not in bad("shocks: [{name: a, type: demand_step, start: 5, magnitude: -2}]\n")
    msg = bad("shocks: [{name: a, type: demand_step, start: 5, magnitude: -2}]\n")
    assert "shocks[0].magnitude: Input should be greater than or equal to -1" in msg
    f = tmp_path / "nobase.yaml"
    f.write_text("base: missing.yaml\nshocks: [{name: a, type: demand_step, start: 5, magnitude: -0.2}]\n")
    with pytest.raises(ScenarioError, match=re.escape("nobase.yaml: base: cannot find the base scenario")):
        load_stress(f)


def test_apply_shocks_validates() -> None:
    base = scenario(plant())
    sc = apply_shocks(base, [{"name": "o", "type": "factory_outage", "start": 30, "duration": 10, "factory": "F"}])
    assert sc.shocks[0].type == "factory_outage" and base.shocks == ()
    with pytest.raises(ScenarioError, match=re.escape("shocks[0].factory: unknown factory 'G'")):
        apply_shocks(base, [{"name": "o", "type": "factory_outage", "start": 30, "duration": 10, "factory": "G"}])
    with pytest.raises(ScenarioError, match=re.escape("shocks[0].duration: required key is missing")):
        apply_shocks(base, [{"name": "o", "type": "factory_outage", "start": 30, "factory": "F"}])
    with pytest.raises(ScenarioError, match="duplicate shock name 'o'"):
        apply_shocks(sc, [{"name": "o", "type": "demand_step", "start": 3, "magnitude": 0.1}])


# ---------------------------------------------------------------------------------------------- the example


def weekly(times: np.ndarray, qty: np.ndarray, weeks: int) -> np.ndarray:
    return np.bincount((times // 7).astype(int), weights=qty, minlength=weeks + 1)[:weeks]


def test_covid_collapse_on_the_example_company_whips_orders_upstream_and_recovers() -> None:
    """A 40% collapse and rebound (with the plant nearly down during the rebound): week by week, the central
    DC's orders to the plants vary more than the customer demand they serve (bullwhip; with the execution
    policies alone it comes from order batching and (s, S) lumps), and OTIF recovers in finite time."""
    base = load_scenario(SCENARIOS / "example_company.yaml").model_copy(update={"horizon": 400, "warmup": 30})
    sc = apply_shocks(base, [
        {"name": "covid", "type": "collapse_rebound", "start": 120, "duration": 75, "magnitude": -0.4,
         "collapse_days": 14, "recovery": "ramp", "recovery_days": 45, "rebound": 0.2, "rebound_days": 45},
        {"name": "plant", "type": "capacity_loss", "factory": "F-North", "start": 190, "duration": 40,
         "factor": 0.1, "recovery": "ramp", "recovery_days": 14},
    ])
    ratios, recovery = [], []
    for rep in range(4):
        res = run_replication(sc, seed=3, replication=rep, keep_records=True, policy="none")
        rec = res.records
        assert rec is not None
        m = rec.meta
        ro = rec.replenishments
        plants = [m.sites.index(f) for f in m.factories]
        up = (ro["warehouse"] == m.warehouses.index("DC-Central")) & np.isin(ro["source"], plants)
        made = np.unique(ro["product"][up])
        lines = np.isin(rec.lines["product"], made)
        placed = rec.orders["time"][rec.lines["order_id"].astype(int)]
        weeks = slice(100 // 7, 330 // 7)  # around the shock
        orders = weekly(ro["time"][up], ro["qty"][up], 400 // 7)[weeks]
        demand = weekly(placed[lines], rec.lines["qty"][lines], 400 // 7)[weeks]
        ratios.append(orders.var() / demand.var())
        k = shock_kpis(rec, sc)
        recovery.append(k["shock_recovery_days"])
        assert k["shock_worst_otif"] < k["shock_threshold"] and k["shock_recovered"] == 1
    assert min(ratios) > 1.0 and np.mean(ratios) > 1.1, ratios
    assert all(math.isfinite(r) and 0 < r < 400 - 120 for r in recovery), recovery
