"""A supplier's lead times against exact results: crossing or in-order deliveries, capacity, reliability.

A base-stock level S reviewed every morning with Poisson(mu) daily demand: the order of review j is the demand
of day j - 1, and the net stock at the end of day t is S minus the demand of day t and of every order not
arrived by then. Statistical assertions are |simulated mean - exact| <= 4 standard errors of the replications'
mean (tests/helpers.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import stats

from simsop.replication import build_world, run_replication
from tests.helpers import assert_close_to_theory, scenario, single_stock_point

MU, S, HORIZON, WARMUP, REPS = 10.0, 40, 2500, 100, 12
LEAD = {"dist": "uniform", "low": 0.5, "high": 4.5}
K = np.arange(600)


def _cdf(x: float) -> float:
    return float(stats.uniform.cdf(x, 0.5, 4.0))


def _base_stock(deliveries: str | None) -> dict[str, Any]:
    """Order up to S every morning from a supplier with U(0.5, 4.5) lead times (``deliveries`` None: default)."""
    data = single_stock_point({"daily": {"dist": "poisson", "mean": MU}},
                              {"type": "base_stock", "level": S, "review_period": 1},
                              lead_time=LEAD, initial=S, horizon=HORIZON, warmup=WARMUP)
    if deliveries is not None:
        data["suppliers"][0]["deliveries"] = deliveries
    return data


def _records(data: dict[str, Any], reps: int, seed: int = 1) -> list[Any]:
    sc = scenario(data)
    out = []
    for r in range(reps):
        rec = run_replication(sc, seed=seed, replication=r, keep_records=True).records
        assert rec is not None
        out.append(rec)
    return out


def _on_hand_and_backorders(pmf: np.ndarray) -> tuple[float, float]:
    """E[(S - X)^+], E[(X - S)^+] for the units X owed against S (demand not yet covered by arrived orders)."""
    k = K[: len(pmf)]
    return float(np.sum(np.maximum(S - k, 0) * pmf)), float(np.sum(np.maximum(k - S, 0) * pmf))


def _independent_pmf(cdf: Callable[[float], float]) -> np.ndarray:
    """Orders cross: the order of review t - m (a Poisson(mu) batch) is still out at the end of day t with
    probability P(L >= m + 1), independently of the others; the day's own demand is always owed."""
    pois = stats.poisson.pmf(K, MU)
    pmf = pois.copy()
    for m in range(40):
        p = 1.0 - cdf(m + 1)
        if p <= 0:
            continue
        term = p * pois
        term[0] += 1.0 - p
        pmf = np.convolve(pmf, term)[: len(K)]
    return pmf


def _in_order_pmf(cdf: Callable[[float], float]) -> np.ndarray:
    """Orders do not cross (Kaplan 1970): what has arrived by the end of day t is every order up to some review
    t - W, and W <= w iff each order of review t - m, m >= w, came within m + 1 days, so
    P(W <= w) = prod_{m >= w} F(m + 1). The units owed are then D(W + 1), demand over a random time."""
    cw = np.array([np.prod([cdf(m + 1) for m in range(w, 60)]) for w in range(60)])
    pw = np.diff(np.concatenate([[0.0], cw]))
    return sum(p * stats.poisson.pmf(K, MU * (w + 1)) for w, p in enumerate(pw) if p > 0)


def _stock_samples(recs: list[Any]) -> dict[str, np.ndarray]:
    return {"on_hand": np.array([r.snapshots.on_hand[WARMUP:, 0].mean() for r in recs]),
            "backorders": np.array([r.snapshots.backlog[WARMUP:, 0].mean() for r in recs]),
            "crossed": np.array([np.mean(np.diff(r.departed["arrival"]) < 0) for r in recs])}


def test_in_order_deliveries_never_cross_and_base_stock_matches_kaplan() -> None:
    """``deliveries: in_order``: one supplier's orders reach a warehouse in the order placed (a late order holds
    up those behind it); the net stock is then S - D(W + 1) with W Kaplan's non-crossing age (see
    _in_order_pmf). With U(0.5, 4.5) lead times independent orders cross 28% of the time and are backordered
    0.91 units on average against 2.14 in order: the old code (always crossing) fails this."""
    s = _stock_samples(_records(_base_stock("in_order"), REPS))
    assert np.all(s["crossed"] == 0)
    on_hand, backorders = _on_hand_and_backorders(_in_order_pmf(_cdf))
    assert_close_to_theory(s["on_hand"], on_hand, "E[on hand], in-order deliveries")
    assert_close_to_theory(s["backorders"], backorders, "E[backorders], in-order deliveries")


def test_independent_deliveries_cross_and_base_stock_matches_the_thinned_pipeline() -> None:
    """``deliveries: independent`` (the default, and the only behaviour of the old code): each order keeps its own
    lead time, so orders overtake, and each day's batch is still out independently with probability
    P(L >= m + 1) (see _independent_pmf)."""
    s = _stock_samples(_records(_base_stock(None), REPS))
    # Consecutive orders (a day apart) cross iff L_{j+1} + 1 < L_j: for U(0.5, 4.5), (3/4)^2 / 2 = 9/32.
    assert_close_to_theory(s["crossed"], 9 / 32, "share of consecutive orders that cross")
    on_hand, backorders = _on_hand_and_backorders(_independent_pmf(_cdf))
    assert_close_to_theory(s["on_hand"], on_hand, "E[on hand], crossing deliveries")
    assert_close_to_theory(s["backorders"], backorders, "E[backorders], crossing deliveries")


def _one_for_one(lam: float, supplier: dict[str, Any], level: int = 30, horizon: int = 3000) -> dict[str, Any]:
    data = single_stock_point({"orders_per_day": lam, "quantity": 1}, {"type": "one_for_one", "level": level},
                              initial=level, horizon=horizon, warmup=WARMUP)
    data["suppliers"] = [{"id": "S", **supplier}]
    return data


def _order_lead_times(rec: Any) -> np.ndarray:
    """Days from each replenishment order to its arrival (one shipment per order, accepted in order)."""
    placed = rec.replenishments["time"]
    arrival = rec.departed["arrival"]
    assert len(arrival) == len(placed)
    keep = placed >= WARMUP
    return (arrival - placed)[keep]


def test_a_capacity_limited_supplier_is_an_md1_queue_before_its_lead_time() -> None:
    """Unit orders at Poisson rate lambda to a supplier making c units a day: a FIFO queue with deterministic
    service 1/c (M/D/1), then the lead time. Mean order-to-arrival = Wq + 1/c + L with the Pollaczek-Khinchine
    Wq = rho / (2 c (1 - rho)) (Kleinrock vol. 1, 5.6): lambda 2, c 2.5, L 1.5 gives 0.8 + 0.4 + 1.5."""
    lam, c, lead = 2.0, 2.5, 1.5
    recs = _records(_one_for_one(lam, {"lead_time": lead, "capacity": c}), 10)
    rho = lam / c
    exact = rho / (2 * c * (1 - rho)) + 1 / c + lead
    assert_close_to_theory(np.array([_order_lead_times(r).mean() for r in recs]), exact, "M/D/1 supplier lead time")


def test_a_capacity_limited_supplier_with_daily_orders_below_capacity_never_queues() -> None:
    """D/D/1: 10 units ordered every morning from a supplier making 25 a day: each order takes 10/25 days to
    make and then its lead time of 2, exactly, and no order waits for another."""
    data = single_stock_point({"daily": 10}, {"type": "base_stock", "level": 40, "review_period": 1},
                              initial=40, horizon=200, warmup=0)
    data["suppliers"] = [{"id": "S", "lead_time": 2, "capacity": 25}]
    rec = _records(data, 1)[0]
    took = rec.departed["arrival"] - rec.replenishments["time"]
    assert len(took) > 190 and np.allclose(took, 0.4 + 2.0)


@pytest.mark.parametrize("deliveries", ["independent", "in_order"])
def test_an_unreliable_supplier_is_late_as_often_and_by_as_much_as_configured(deliveries: str) -> None:
    """Reliability 0.8 and a U(2, 6) delay on a lead time of 3: each order is late with probability 0.2, by 4
    days on average. Unit orders are a few hours apart, so in order a late one holds up those behind it: an
    order then arrives no earlier than its own time, and the orders' own draws are what the test reads."""
    recs = _records(_one_for_one(3.0, {"lead_time": 3, "reliability": 0.8,
                                       "delay": {"dist": "uniform", "low": 2, "high": 6},
                                       "deliveries": deliveries}, horizon=1500), 8)
    late, extra = [], []
    for r in recs:
        own = r.departed["time"] - r.replenishments["time"]  # the supplier's own lead time (+ delay), no lane
        is_late = own > 3.0 + 1e-9
        late.append(is_late.mean())
        extra.append((own[is_late] - 3.0).mean())
        took = _order_lead_times(r)
        assert np.all(took >= own[r.replenishments["time"] >= WARMUP] - 1e-9)
        if deliveries == "independent":
            assert np.allclose(took, own[r.replenishments["time"] >= WARMUP])
    assert_close_to_theory(np.array(late), 0.2, "share of late orders")
    assert_close_to_theory(np.array(extra), 4.0, "mean extra delay of a late order")


def test_the_expected_lead_time_the_plan_and_kpis_use_includes_an_unreliable_suppliers_mean_delay() -> None:
    """The mean replenishment lead time that re-parametrised rules (L + R/2 of demand) and the cycle service level
    use is E[L] = lead + (1 - reliability) x E[delay]: 3 + 0.2 x 4 = 3.8 days for the supplier above. The old
    figure, 3 days (the lead time alone), left a fifth of a day's demand per day of delay out of every level,
    and is 30 standard errors below the simulated mean."""
    data = _one_for_one(3.0, {"lead_time": 3, "reliability": 0.8, "delay": {"dist": "uniform", "low": 2, "high": 6}},
                        horizon=1500)
    sc = scenario(data)
    world = build_world(sc, seed=1, replication=0)
    expected = world.replenishment_lead_time(world.warehouses[0], 0)
    assert expected == pytest.approx(3.8)
    recs = _records(data, 8)
    assert_close_to_theory(np.array([_order_lead_times(r).mean() for r in recs]), expected,
                           "mean order-to-shelf lead time of an unreliable supplier")
