"""Theory and common-random-number properties that a mutation audit found untested: each kills a plausible bug
that every test of tests/test_theory_*.py and tests/test_event_log.py let pass.

Statistical assertions are |simulated mean - exact| <= 4 standard errors of the replications' mean.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from simsop.replication import run_replication
from tests.helpers import assert_close_to_theory, product, scenario


def _records(data: dict[str, Any], replication: int = 0, seed: int = 7) -> Any:
    rec = run_replication(scenario(data), seed=seed, replication=replication, keep_records=True).records
    assert rec is not None
    return rec


# ---------------------------------------------------------------------------------------------- streams


def two_suppliers(lead_a: Any) -> dict[str, Any]:
    """Products A and B at one warehouse, bought from suppliers SA (lead time ``lead_a``) and SB (uniform 1-5
    days), each ordered up to 40 every morning against Poisson(6) a day."""
    return {
        "name": "two-suppliers", "horizon": 400,
        "products": [product("A"), product("B")],
        "customers": [{"id": "c", "warehouse": "W", "demand": [
            {"product": "A", "daily": {"dist": "poisson", "mean": 6}},
            {"product": "B", "daily": {"dist": "poisson", "mean": 6}}]}],
        "warehouses": [{"id": "W", "stock": [
            {"product": "A", "initial": 40, "source": "SA", "policy": {"type": "base_stock", "level": 40}},
            {"product": "B", "initial": 40, "source": "SB", "policy": {"type": "base_stock", "level": 40}}]}],
        "suppliers": [{"id": "SA", "lead_time": lead_a},
                      {"id": "SB", "lead_time": {"dist": "uniform", "low": 1, "high": 5}}],
    }


def _lead_times_of(rec: Any, source_site: int) -> list[float]:
    dep = rec.departed
    mine = dep["source"].astype(int) == source_site
    rep = rec.replenishments
    # A supplier ships each order once, in order: its k-th shipment answers its k-th replenishment order.
    placed = rep["time"][rep["source"].astype(int) == source_site]
    return (dep["arrival"][mine] - placed[: int(mine.sum())]).tolist()


def test_a_supplier_s_lead_times_do_not_depend_on_another_supplier() -> None:
    """Common random numbers (simsop/streams.py): each source draws from its own stream, so SB's lead times are
    the same whether SA's lead time is fixed (it draws nothing) or random. Sites that shared one stream would
    hand SB the draws SA did not take."""
    fixed = _records(two_suppliers(3))
    random = _records(two_suppliers({"dist": "uniform", "low": 1, "high": 5}))
    sb = 2  # sites: W 0, SA 1, SB 2
    got = _lead_times_of(random, sb)
    assert len(got) > 300 and got == _lead_times_of(fixed, sb)
    assert _lead_times_of(fixed, 1) == [3.0] * len(_lead_times_of(fixed, 1))


def two_customers(mean_first: float) -> dict[str, Any]:
    """Customers c1 (Poisson(mean_first) a day) and c2 (Poisson(5) a day) buy product A at one warehouse."""
    return {
        "name": "two-customers", "horizon": 300, "products": [product()],
        "customers": [{"id": "c1", "warehouse": "W", "demand": [{"product": "A", "daily":
                                                                  {"dist": "poisson", "mean": mean_first}}]},
                      {"id": "c2", "warehouse": "W", "demand": [{"product": "A", "daily":
                                                                  {"dist": "poisson", "mean": 5}}]}],
        "warehouses": [{"id": "W", "stock": [{"product": "A", "initial": 1e6, "source": "S"}]}],
        "suppliers": [{"id": "S"}],
    }


def _orders_of(rec: Any, customer: int) -> list[tuple[float, float]]:
    o, lines = rec.orders, rec.lines
    cust = o["customer"].astype(int)[lines["order_id"].astype(int)]
    times = o["time"][lines["order_id"].astype(int)]
    return [(float(t), float(q)) for t, q, c in zip(times, lines["qty"], cust, strict=True) if c == customer]


def test_a_customer_s_orders_do_not_depend_on_another_customer_of_the_same_product() -> None:
    """Each (customer, product) has its own demand stream: c2's orders are the same whatever c1 orders. Streams
    named by the product alone would let c1's draws shift c2's (and tie two customers' demands together)."""
    base = _orders_of(_records(two_customers(5.0)), 1)
    other = _orders_of(_records(two_customers(9.0)), 1)
    assert len(base) > 250 and base == other


# ---------------------------------------------------------------------------------------------- M/M/1 sojourn time


def test_the_time_in_an_mm1_factory_is_exponential_first_come_first_served() -> None:
    """FCFS M/M/1: the time in system is exponential with rate mu - lambda, so E[W^2] = 2 / (mu - lambda)^2 and
    P(W > t) = exp(-(mu - lambda) t) (Kleinrock vol. 1, 3.2). Every order that ignores service times has the
    mean W of FCFS, but serving the newest first (LIFO) spreads it: E[W^2] is 1 / (1 - rho) times larger. The
    mean-value tests of tests/test_theory_queues.py cannot see the difference; the second moment can."""
    lam, mu = 0.7, 1.0
    data = {
        "name": "mm1", "horizon": 8000, "warmup": 400, "products": [product()],
        "customers": [{"id": "c", "warehouse": "W", "requested_lead_time": 5,
                       "demand": [{"product": "A", "orders_per_day": lam}]}],
        "warehouses": [{"id": "W", "stock": [{"product": "A", "source": "F"}]}],
        "factories": [{"id": "F", "products": ["A"], "mode": "make_to_order", "lines": 1,
                       "processing_time": {"dist": "exponential", "mean": 1 / mu}, "processing_per": "order"}],
        "lanes": [{"from": "F", "to": "W", "lead_time": 0}],
    }
    second, tail = [], []
    for r in range(10):
        rec = _records(copy.deepcopy(data), replication=r, seed=3)
        placed = rec.orders["time"].astype(float)
        closed = rec.closed
        ids = closed["order_id"].astype(int)
        w = closed["time"].astype(float) - placed[ids]
        w = w[placed[ids] >= data["warmup"]]
        second.append(float(np.mean(w**2)))
        tail.append(float(np.mean(w > 5.0)))
    rate = mu - lam
    assert_close_to_theory(np.array(second), 2 / rate**2, "E[W^2] of FCFS M/M/1")
    assert_close_to_theory(np.array(tail), float(np.exp(-rate * 5.0)), "P(W > 5) of FCFS M/M/1")


# ---------------------------------------------------------------------------------------------- S&OP information


def test_the_demand_review_forecasts_from_the_sales_booked_by_the_cut_off_only() -> None:
    """A cycle's books close at the start of its bucket (the cut-off); its demand review meets days later
    (example_company: day 3) and must not know the orders of those days. The naive forecast makes this exact: it
    is the last closed bucket's booked sales per day, times the days of the bucket forecast."""
    from pathlib import Path

    import simsop
    from simsop.planning.cycle import cycle_buckets

    root = Path(__file__).resolve().parents[1]
    sc = simsop.load_scenario(root / "scenarios" / "example_company.yaml")
    sc = sc.model_copy(update={"horizon": 240, "warmup": 0})
    assert sc.planning.demand_review_day > 0
    rec = run_replication(sc, seed=5, replication=0, keep_records=True).records
    assert rec is not None
    starts, _ = cycle_buckets(sc.planning, sc.horizon)
    days = np.diff(starts).astype(float)
    bs, fcs = rec.bucket_sales, rec.forecasts
    sales = {(int(b), int(p)): float(u) for b, p, u in zip(bs["bucket"], bs["product"], bs["units"], strict=True)}
    checked = 0
    for c, p, b, lag, naive in zip(fcs["cycle"], fcs["product"], fcs["bucket"], fcs["lag"], fcs["naive"],
                                   strict=True):
        if lag != 0 or (int(b) - 1, int(p)) not in sales:
            continue
        last = int(b) - 1
        expected = sales[(last, int(p))] / days[last] * days[int(b)]
        assert naive == pytest.approx(expected, rel=1e-9, abs=1e-9), f"cycle {c}, product {p}"
        checked += 1
    assert checked >= 6
