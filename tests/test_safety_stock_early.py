"""The safety stock's sigma in the first S&OP cycles, before the plans have forecast errors of their own.

Chopra & Meindl: ss = z sigma_L, with sigma the standard deviation (here the RMSE) of the error of the forecast
the plan stands on: the consensus forecast of the plan's first bucket, one bucket after the cut-off's with
monthly meetings on day 12. Until ``min_errors`` such errors exist the cycle needs a prior sigma from the
history. It used the statistical forecast's one-step in-sample fit, which is neither out of sample (Holt's and
Holt-Winters' initial states are set from the first buckets they are then scored on) nor at the plan's lag, nor
the consensus's error (a blend of the sales team's view, whose error grows with the volume, and the statistical
forecast). The prior is now the consensus's expected error at that lag over the last year of history, the
statistical forecast taken from a rolling origin (Tashman 2000; Hyndman & Athanasopoulos, FPP3 5.8).

The test of the prior is the one a planner would make: over many replications, the mean of sigma^2 used in the
first cycles against the mean squared error that followed. Replications are independent, the cycles of one
replication are not (consecutive statistical forecasts share their state), so each replication gives one pair
(a_r = its cycles' mean sigma^2, b_r = their mean squared error), and the ratio of means Q = mean(a) / mean(b)
has, by the delta method, Var(Q) = (Var a - 2 Q Cov(a, b) + Q^2 Var b) / (R mean(b)^2); sqrt(Q), the ratio of
the sigma used to the realised RMSE, has standard error SE(Q) / (2 sqrt Q). It must be 1 within four of them.
"""

from __future__ import annotations

import copy
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest

from simsop.planning import forecast as fc
from simsop.replication import run_replication
from simsop.scenario import Scenario, parse_scenario

SERVICE = 0.9
COVER = 14.0


def trending_pair() -> Scenario:
    """Two products growing 2% a year, made by one plant with room to spare, planned monthly with Holt's
    forecast blended half and half with a sales team 5% optimistic and 12% noisy at lag 1. BIG sells 100 a day
    (normal, sd 20): the sales team's error, which grows with the volume, outweighs the demand's noise and the
    blend's error is far above the statistical forecast's. SMALL sells 2 orders of Poisson(2) a day: the sales
    team's view, which knows the true mean, halves the statistical forecast's error in the blend. The plant ships
    to the warehouse the same day, so the protection interval is the frozen month: L = 1."""
    product = {"price": 10.0, "unit_cost": 6.0, "holding_cost": 0.01, "backorder_penalty": 0.5}
    data: dict[str, Any] = {
        "name": "trending_pair", "horizon": 152, "warmup": 0, "seed": 7,  # the cycles of January to June
        "products": [{"id": "BIG", **product}, {"id": "SMALL", **product}],
        "customers": [{"id": "shop", "warehouse": "DC", "demand": [
            {"product": "BIG", "daily": {"dist": "normal", "mean": 100, "sd": 20}, "trend": 0.02},
            {"product": "SMALL", "orders_per_day": 2, "quantity": {"dist": "poisson", "mean": 2}, "trend": 0.02}]}],
        "warehouses": [{"id": "DC", "stock": [
            {"product": "BIG", "initial": 1500, "source": "F", "policy": {"type": "base_stock", "level": 1500}},
            {"product": "SMALL", "initial": 60, "source": "F", "policy": {"type": "base_stock", "level": 60}}]}],
        "lanes": [{"from": "F", "to": "DC", "lead_time": 0}],
        "factories": [{"id": "F", "products": ["BIG", "SMALL"], "capacity": {"regular": 400}}],
        "planning": {"policy": "chase", "horizon_buckets": 3, "frozen_buckets": 1, "slushy_buckets": 0,
                     "days_of_cover": COVER, "safety_stock": {"service_level": SERVICE},
                     "forecast": {"method": "holt"}, "sales": {"bias": 0.05, "noise": 0.12},
                     "consensus": {"rule": "blend", "weight": 0.5}},
    }
    return parse_scenario(copy.deepcopy(data), "<trending_pair>")


def early_cycles(sc: Scenario, replication: int) -> tuple[np.ndarray, np.ndarray]:
    """For the cycles of one replication that had fewer than ``min_errors`` errors of their own, the sigma of
    their safety stock and the error of their consensus forecast for the plan's first bucket (cycles x
    products), from the run's records."""
    rec = run_replication(sc, seed=sc.seed, replication=replication, policy="chase", keep_records=True).records
    assert rec is not None and sc.planning.safety_stock is not None
    plan, fcs, bs = rec.plan, rec.forecasts, rec.bucket_sales
    n = len(sc.products)
    sales = {(int(b), int(p)): u for b, p, u in zip(bs["bucket"], bs["product"], bs["units"], strict=True)}
    cycles = [int(c) for c in np.unique(plan["cycle"])]
    first = {c: int(plan["bucket"][plan["cycle"] == c].min()) for c in cycles}
    cutoff = {c: int(fcs["bucket"][(fcs["cycle"] == c) & (fcs["lag"] == 0)][0]) for c in cycles}
    z = NormalDist().inv_cdf(SERVICE)
    sigmas, errors = [], []
    for c in cycles:
        own = [b for b in first.values() if b < cutoff[c] and (b, 0) in sales]
        if len(own) >= sc.planning.safety_stock.min_errors or (first[c], 0) not in sales:
            continue
        row = (plan["cycle"] == c) & (plan["bucket"] == first[c])
        cover = COVER * plan["demand_plan"][row] / plan["bucket_days"][row]
        sigmas.append((plan["inventory_target"][row] - cover) / z)  # L = 1: ss = z sigma
        forecast = fcs["consensus"][(fcs["cycle"] == c) & (fcs["bucket"] == first[c])]
        errors.append(np.array([sales[(first[c], p)] for p in range(n)]) - forecast)
    return np.array(sigmas), np.array(errors)


def test_the_first_cycles_sigma_is_the_rmse_of_the_consensus_error_that_follows() -> None:
    sc = trending_pair()
    R = 300
    a, b = [], []
    for r in range(R):
        sigma, error = early_cycles(sc, r)
        assert len(sigma) == 4  # cycles 0-3: the first error is in only at cycle 2's cut-off, the third at 4's
        a.append(np.mean(sigma**2, axis=0))
        b.append(np.mean(error**2, axis=0))
    used, realised = np.array(a), np.array(b)
    for p, product in enumerate(sc.products):
        x, y = used[:, p], realised[:, p]
        q = x.mean() / y.mean()
        cov = np.cov(x, y)
        se_q = np.sqrt((cov[0, 0] - 2 * q * cov[0, 1] + q * q * cov[1, 1]) / R) / y.mean()
        ratio, se = np.sqrt(q), se_q / (2 * np.sqrt(q))
        assert abs(ratio - 1) <= 4 * se, (
            f"{product.id}: sigma used {np.sqrt(x.mean()):.1f} against a realised RMSE of {np.sqrt(y.mean()):.1f}, "
            f"ratio {ratio:.3f} ± {se:.3f} (SE over {R} replications)")


def test_a_rolling_origin_forecast_never_sees_the_bucket_it_forecasts() -> None:
    """out[t] is made from the buckets before t - lag only: changing a bucket changes no forecast of it or of an
    earlier one. Holt-Winters needs two seasons to start, so it forecasts only from origins with 24 buckets."""
    rng = np.random.default_rng(np.random.SeedSequence(2024).spawn(1)[0])
    y = 100 + 20 * np.sin(np.arange(40) * 2 * np.pi / 12) + rng.normal(0, 5, 40)
    for lag in (0, 1, 3):
        out = fc.rolling_origin("holt_winters_additive", y, lag, m=12)
        assert np.isnan(out[: 24 + lag]).all() and np.isfinite(out[24 + lag:]).all()
        for t in (30, 39):
            moved = y.copy()
            moved[t - lag:] += 1000.0
            np.testing.assert_array_equal(fc.rolling_origin("holt_winters_additive", moved, lag, m=12)[: t + 1],
                                          out[: t + 1])
    # The naive forecast lag buckets ahead is the last bucket before the origin.
    np.testing.assert_array_equal(fc.rolling_origin("naive", y, 2)[3:], y[:-3])
    np.testing.assert_array_equal(fc.rolling_origin("naive", y, 2, last=5)[-5:], y[-8:-3])
    assert np.isnan(fc.rolling_origin("naive", y, 2, last=5)[:-5]).all()


def test_the_in_sample_fit_has_seen_what_it_fits_the_rolling_origin_has_not() -> None:
    """SES started at the first bucket: its fitted values after the first are one-step forecasts made without
    the bucket, so the rolling origin at lag 0 gives them exactly, and fitted[0] = y[0] is the one it has seen.
    Holt-Winters fits its first two seasons from the initial states it took from them: its in-sample error there
    is a fraction of its out-of-sample error on the third season (on a stationary seasonal series the two are
    the same in expectation)."""
    rng = np.random.default_rng(np.random.SeedSequence(2025).spawn(1)[0])
    y = 50 + rng.normal(0, 5, 30)
    fit = fc.ses(y, 1, alpha=0.3)
    out = fc.rolling_origin("ses", y, 0, alpha=0.3)
    assert fit.fitted[0] == y[0] and np.isnan(out[0])
    np.testing.assert_array_equal(out[1:], fit.fitted[1:])
    ins, oos = [], []
    for _ in range(40):
        s = 100 + 20 * np.sin(np.arange(36) * 2 * np.pi / 12) + rng.normal(0, 5, 36)
        ins.append(np.mean((s[:24] - fc.holt_winters_additive(s, 1, m=12).fitted[:24]) ** 2))
        oos.append(np.mean((s[24:] - fc.rolling_origin("holt_winters_additive", s, 0, m=12)[24:]) ** 2))
    assert np.mean(ins) < 0.5 * np.mean(oos)


@pytest.mark.parametrize("method, params", [("ses", {"alpha": None}), ("holt", {"alpha": None, "beta": 0.1})])
def test_held_constants_forecast_as_the_fit_did(method: str, params: dict[str, Any]) -> None:
    """Holding the constants a fit found reproduces its forecast without fitting again; auto becomes the method
    it selected."""
    rng = np.random.default_rng(np.random.SeedSequence(2026).spawn(1)[0])
    y = 40 + 0.5 * np.arange(30) + rng.normal(0, 3, 30)
    fit = fc.forecast(method, y, 3, **params)
    name, held = fc.held_constants(method, params, fit)
    assert name == method and None not in held.values()
    np.testing.assert_allclose(fc.forecast(name, y, 3, **held).values, fit.values, rtol=1e-12)
    auto = fc.auto(y, 3)
    name, held = fc.held_constants("auto", {}, auto)
    assert name == auto.params["selected"] and None not in held.values()
    np.testing.assert_allclose(fc.forecast(name, y, 3, **held).values, auto.values, rtol=1e-12)
