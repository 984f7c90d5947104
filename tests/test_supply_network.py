"""Warehouses sourcing from warehouses against exact results: a serial two-echelon one-for-one chain, fair-share
allocation, and a lane delay met by an order still in flight.

Statistical assertions are |simulated mean - exact| <= 4 standard errors of the replications' mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from simsop.replication import run_replication
from tests.helpers import assert_close_to_theory, product, scenario

K = np.arange(400)


def _records(data: dict[str, Any], replication: int = 0, seed: int = 1) -> Any:
    rec = run_replication(scenario(data), seed=seed, replication=replication, keep_records=True).records
    assert rec is not None
    return rec


def serial(lam: float, s0: int, l0: float, s1: int, l1: float, horizon: int = 4000) -> dict[str, Any]:
    """Unit Poisson demand at retailer R (one-for-one, level s1, lane of l1 days from C); central C one-for-one
    at s0 from supplier S (lead time l0)."""
    return {
        "name": "serial", "horizon": horizon, "warmup": 100, "products": [product()],
        "customers": [{"id": "c", "warehouse": "R", "demand": [{"product": "A", "orders_per_day": lam,
                                                                 "quantity": 1}]}],
        "warehouses": [
            {"id": "C", "stock": [{"product": "A", "initial": s0, "source": "S",
                                   "policy": {"type": "one_for_one", "level": s0}}]},
            {"id": "R", "stock": [{"product": "A", "initial": s1, "source": "C",
                                   "policy": {"type": "one_for_one", "level": s1}}]}],
        "suppliers": [{"id": "S", "lead_time": l0}],
        "lanes": [{"from": "C", "to": "R", "lead_time": l1}],
    }


def test_a_serial_two_echelon_one_for_one_chain_is_exact() -> None:
    """Axsäter (Inventory Control, 5.3 and 10.2): with Poisson(lambda) unit demand and one-for-one ordering at
    both stages, C's backorders are B0 = (D(L0) - S0)^+ with D(L0) ~ Poisson(lambda L0); by Little's law an
    order of R waits E[B0] / lambda at C, so R's mean replenishment lead time is L1 + E[B0] / lambda; and R's net
    stock is exactly S1 - B0 - D(L1), with B0 and D(L1) independent (B0 is C's state L1 earlier)."""
    lam, s0, l0, s1, l1 = 2.0, 5, 3.0, 4, 1.0
    pb = np.zeros(len(K))
    d0 = stats.poisson.pmf(K, lam * l0)
    np.add.at(pb, np.maximum(K - s0, 0), d0)  # B0's distribution
    e_b0 = float(np.sum(K * pb))
    owed = np.convolve(pb, stats.poisson.pmf(K, lam * l1))[: len(K)]
    r_on_hand = float(np.sum(np.maximum(s1 - K, 0) * owed))
    r_backorders = float(np.sum(np.maximum(K - s1, 0) * owed))
    b0, lead, oh, bo = [], [], [], []
    for r in range(12):
        rec = _records(serial(lam, s0, l0, s1, l1), replication=r)
        sn = rec.snapshots  # skus: C's A (0), R's A (1)
        b0.append(sn.internal_backlog[100:, 0].mean())
        oh.append(sn.on_hand[100:, 1].mean())
        bo.append(sn.backlog[100:, 1].mean())
        ro, dep = rec.replenishments, rec.departed
        placed = ro["time"][ro["warehouse"].astype(int) == 1]
        arrived = dep["arrival"][dep["warehouse"].astype(int) == 1]
        n = len(arrived)  # unit orders, served first come first served: the k-th shipment is the k-th order's
        keep = placed[:n] >= 100
        lead.append(float(np.mean(arrived[keep] - placed[:n][keep])))
    assert_close_to_theory(np.array(b0), e_b0, "E[backorders at C]")
    assert_close_to_theory(np.array(lead), l1 + e_b0 / lam, "R's lead time L1 + E[B0]/lambda (Little)")
    assert_close_to_theory(np.array(oh), r_on_hand, "E[on hand at R]")
    assert_close_to_theory(np.array(bo), r_backorders, "E[backorders at R]")


def test_fair_share_gives_every_waiting_line_the_same_fraction() -> None:
    """Customers owed 6 and 4 units when 5 arrive: fair share ships half of each line (3 and 2), first come
    first served fills the older line first (5 and 0)."""
    def shop(allocation: str) -> dict[str, Any]:
        return {
            "name": "fair", "horizon": 2, "products": [product()],
            "customers": [{"id": "c1", "warehouse": "W", "demand": [{"product": "A", "daily": 6}]},
                          {"id": "c2", "warehouse": "W", "demand": [{"product": "A", "daily": 4}]}],
            "warehouses": [{"id": "W", "allocation": allocation, "stock": [
                {"product": "A", "initial": 0, "source": "S",
                 "policy": {"type": "base_stock", "level": 5, "review_period": 1}}]}],
            "suppliers": [{"id": "S", "lead_time": 1}],
        }

    for allocation, expect in (("fair_share", [3.0, 2.0]), ("fcfs", [5.0])):
        rec = _records(shop(allocation))
        sh = rec.shipped
        assert sh["qty"][sh["time"] == 1.0].tolist() == expect
