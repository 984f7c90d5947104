"""Make-to-order factories against queueing theory (M/M/1, M/M/c) and Little's law on the order book."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from simsop.replication import run_replication
from tests.helpers import assert_close_to_theory, product, scenario


def mto_company(lam: float, lines: int, mean_service: float, horizon: int = 12000, warmup: int = 500,
                processing: dict[str, Any] | None = None) -> dict[str, Any]:
    """Poisson orders of one unit, made to order on `lines` parallel lines, shipped as soon as made."""
    return {
        "name": "mto",
        "horizon": horizon,
        "warmup": warmup,
        "products": [product()],
        "customers": [{"id": "c", "warehouse": "W", "demand": [{"product": "A", "orders_per_day": lam}]}],
        "warehouses": [{"id": "W", "stock": [{"product": "A", "source": "F"}]}],
        "factories": [{"id": "F", "products": ["A"], "mode": "make_to_order", "lines": lines,
                       "processing_time": processing or {"dist": "exponential", "mean": mean_service},
                       "processing_per": "order"}],
        "lanes": [{"from": "F", "to": "W", "lead_time": 0}],
    }


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C)."""
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def queue_samples(data: dict[str, Any], n: int) -> dict[str, np.ndarray]:
    sc = scenario(data)
    wq, w, L, lam_w = [], [], [], []
    for r in range(n):
        res = run_replication(sc, seed=3, replication=r, keep_records=True)
        rec = res.records
        assert rec is not None
        ps = rec.production_started
        sel = ps["queued_at"] >= data["warmup"]
        wq.append(float((ps["time"][sel] - ps["queued_at"][sel]).mean()))
        w.append(res.kpis["avg_order_cycle_time"])
        L.append(res.kpis["avg_open_orders"])
        lam_w.append(res.kpis["order_rate"] * res.kpis["avg_order_cycle_time"])
    return {"wq": np.array(wq), "w": np.array(w), "L": np.array(L), "lam_w": np.array(lam_w)}


@pytest.mark.parametrize(("lam", "lines"), [(0.7, 1), (2.4, 3)])
def test_make_to_order_factory_is_mmc(lam: float, lines: int) -> None:
    """Waiting time in queue (Erlang C) and time in system W = Wq + 1/mu of an M/M/c factory."""
    mu = 1.0
    s = queue_samples(mto_company(lam, lines, 1 / mu), 12)
    wq = erlang_c_wait(lam, mu, lines)
    assert_close_to_theory(s["wq"], wq, f"Wq M/M/{lines}")
    assert_close_to_theory(s["w"], wq + 1 / mu, f"W M/M/{lines}")
    assert_close_to_theory(s["L"], lam * (wq + 1 / mu), f"L M/M/{lines}")


def test_littles_law_on_the_order_book() -> None:
    """L = lambda W holds on every sample path, up to end effects: the paired difference is near zero."""
    s = queue_samples(mto_company(0.6, 1, 1.0, horizon=6000), 8)
    diff = s["L"] - s["lam_w"]
    assert_close_to_theory(diff, 0.0, "L - lambda W", floor=0.01)
    assert np.all(np.abs(diff) / s["L"] < 0.02)


def test_mg1_deterministic_service_pollaczek_khinchine() -> None:
    """M/D/1: Wq = rho / (2 mu (1 - rho)), half the M/M/1 wait (Pollaczek-Khinchine)."""
    lam, mu = 0.7, 1.0
    s = queue_samples(mto_company(lam, 1, 1.0, processing={"dist": "deterministic", "value": 1.0}), 10)
    rho = lam / mu
    assert_close_to_theory(s["wq"], rho / (2 * mu * (1 - rho)), "Wq M/D/1")


@pytest.mark.parametrize(("qty", "unit_time"), [(2, 0.4), (10, 0.08)])
def test_a_job_of_q_units_takes_the_sum_of_q_unit_times_pollaczek_khinchine(qty: int, unit_time: float) -> None:
    """Orders of q units on one line with exponential time per unit: a job's time is the sum of q unit times
    (mean q m, variance q m^2), so W = lambda E[S^2] / (2 (1 - rho)) + E[S] (M/G/1). Taking q times one draw
    instead (variance q^2 m^2) gave W = 4.00 in both cases, against 3.20 and 2.56."""
    lam = 1.0
    data = mto_company(lam, 1, unit_time)
    data["customers"][0]["demand"][0]["quantity"] = qty
    data["factories"][0]["processing_per"] = "unit"
    s = queue_samples(data, 10)
    mean = qty * unit_time
    second = qty * unit_time**2 + mean**2
    rho = lam * mean
    assert_close_to_theory(s["w"], lam * second / (2 * (1 - rho)) + mean, f"W M/G/1, jobs of {qty} units")


def test_cycle_service_level_is_only_measured_where_there_are_replenishment_cycles() -> None:
    """A make-to-order item holds no stock between cycles (its 'service level' was the share of days ending
    with no open order, about 1 - rho), and an item nobody orders has no cycles to judge: both give no value,
    while a base-stock item beside them is measured."""
    import math

    from tests.helpers import single_stock_point

    res = run_replication(scenario(mto_company(0.7, 1, 1.0, horizon=400, warmup=50)), seed=1)
    assert math.isnan(res.kpis["cycle_service_level"]) and res.kpis["avg_order_cycle_time"] > 0
    idle = single_stock_point({"daily": 0}, {"type": "base_stock", "level": 5}, initial=5, horizon=200)
    assert math.isnan(run_replication(scenario(idle), seed=1).kpis["cycle_service_level"])
    busy = single_stock_point({"daily": {"dist": "poisson", "mean": 3}}, {"type": "base_stock", "level": 12},
                              initial=12, horizon=200)
    assert 0 < run_replication(scenario(busy), seed=1).kpis["cycle_service_level"] <= 1


def test_stock_that_only_a_plan_could_refill_has_no_cycles_without_one() -> None:
    """An item with no reordering rule, supplied by a make-to-stock plant, is refilled only by an S&OP plan's
    pushes: without a planning cycle nothing arrives, and its 'service level' was the share of days with stock
    left (0.155 in an audit's case)."""
    import math

    data = mto_company(0.7, 1, 1.0, horizon=300, warmup=20)
    data["factories"][0]["mode"] = "make_to_stock"
    data["warehouses"][0]["stock"][0]["initial"] = 40
    res = run_replication(scenario(data), seed=1)
    assert math.isnan(res.kpis["cycle_service_level"]) and res.kpis["fill_rate"] < 1
