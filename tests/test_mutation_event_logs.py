"""Exact event logs for behaviour the theory tests could not see: each case was worked out by hand and kills a
plausible bug that every test of tests/test_theory_*.py and tests/test_event_log.py let pass (a mutation audit).

The order of a simulated day is that of tests/test_event_log.py: at t = d the snapshot of day d-1, then
receipts (backlogs served), then periodic reviews (warehouses in file order), daily customer orders and
production. Site indices: warehouses first, then factories, then suppliers.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import column, logged_run, once, product, rows, single_stock_point

# ---------------------------------------------------------------------------------------------- warm-up


def test_kpis_measure_only_the_days_after_the_warm_up() -> None:
    """Demand 3 a day, order up to 10 every morning, supplier lead time 2, nothing on hand at the start.

    Day 0: position 0, order 10 (arrives 2); the 3 ordered wait (backlog 3).
    Day 1: position 10 - 3 = 7, order 3 (arrives 3); backlog 6.
    Day 2: the 10 arrive, the backlog of 6 ships (late), 4 left; position 4 + 3 = 7, order 3; today's 3 ship:
           on hand 1.
    Day d >= 3: 3 arrive (on hand 4), order 3, 3 ship: on hand 1, no backlog, every order on time.
    With a warm-up of 2 days the KPIs see the steady state only: fill rate, OTIF and cycle service level 1,
    no backlog, 1 unit on hand; counting the first two days would give a fill rate of 24/30 and an average
    backlog of 0.9 over 10 days.
    """
    data = single_stock_point({"daily": 3}, {"type": "base_stock", "level": 10, "review_period": 1},
                              lead_time=2, initial=0, horizon=10, warmup=2)
    res, rec = logged_run(data)
    assert column(rec, "on_hand") == [0.0, 0.0] + [1.0] * 8
    assert column(rec, "backlog") == [3.0, 6.0] + [0.0] * 8
    k = res.kpis
    assert k["fill_rate"] == 1.0 and k["otif"] == 1.0 and k["otif_line"] == 1.0
    assert k["avg_days_late"] == 0.0
    assert k["cycle_service_level"] == 1.0
    assert k["avg_backlog"] == 0.0 and k["max_backlog"] == 0.0
    assert k["avg_on_hand"] == pytest.approx(1.0)
    assert k["demand_units"] == 24.0 and k["orders"] == 8.0
    # The late backlog of days 0-1 ships on day 2, inside the window: shipped units count by shipping day.
    assert k["shipped_units"] == 30.0
    assert k["backorder_cost"] == 0.0
    assert k["holding_cost"] == pytest.approx(8 * 1.0 * 0.01)


# ---------------------------------------------------------------------------------------------- two echelons


def two_echelon() -> dict[str, Any]:
    """A DC (order up to 6 from supplier S, lead time 2) feeds a Shop (order up to 4 from the DC over a lane of
    1 day); the Shop's customers take 2 a day; both start empty and review every morning, the DC first."""
    return {
        "name": "two-echelon", "horizon": 8, "products": [product()],
        "customers": [{"id": "c", "warehouse": "Shop", "demand": [{"product": "A", "daily": 2}]}],
        "warehouses": [
            {"id": "DC", "stock": [{"product": "A", "initial": 0, "source": "S",
                                    "policy": {"type": "base_stock", "level": 6, "review_period": 1}}]},
            {"id": "Shop", "stock": [{"product": "A", "initial": 0, "source": "DC",
                                      "policy": {"type": "base_stock", "level": 4, "review_period": 1}}]}],
        "suppliers": [{"id": "S", "lead_time": 2}],
        "lanes": [{"from": "DC", "to": "Shop", "lead_time": 1}],
    }


def test_the_inventory_position_counts_what_is_owed_to_downstream_warehouses() -> None:
    """The DC's position is on hand + on order - backlog owed, to customers and to the Shop alike (Zipkin's
    inventory position of an installation in a serial system).

    Day 0: DC position 0, orders 6 (arrives 2); Shop position 0, orders 4 from the DC, which owes them (internal
           backlog 4); the Shop's customers' 2 wait (backlog 2).
    Day 1: DC position 0 + 6 - 4 = 2, orders 4 (arrives 3); Shop position 4 - 2 = 2, orders 2 (DC owes 6);
           Shop backlog 4.
    Day 2: the DC receives 6 and ships the Shop's 4 and 2 first come first served (they arrive 3); DC position
           0 + 4, orders 2 (arrives 4); Shop position 6 - 4 = 2, orders 2 (DC owes 2); Shop backlog 6.
    Day 3: DC receives 4, ships the 2 owed (arrive 4), 2 left; the Shop receives 6 and serves its backlog.
           DC position 2 + 2 = 4, orders 2; Shop position 2, orders 2, shipped from the DC's 2 at once;
           Shop backlog 2.
    Day d >= 4: each orders 2 a day (the demand), the DC ships from what arrived, the Shop serves its customers.
    A position that forgot the internal backlog would see 6 on day 1 and order nothing.
    """
    res, rec = logged_run(two_echelon())
    # (ro_id, time, warehouse, product, qty, source site): sites DC 0, Shop 1, S 2.
    expected = [(0, 0.0, 0, 0, 6.0, 2), (1, 0.0, 1, 0, 4.0, 0), (2, 1.0, 0, 0, 4.0, 2), (3, 1.0, 1, 0, 2.0, 0)]
    for d in range(2, 8):
        expected += [(2 * d, float(d), 0, 0, 2.0, 2), (2 * d + 1, float(d), 1, 0, 2.0, 0)]
    assert rows(rec, "replenishments") == expected
    assert column(rec, "internal_backlog", 0) == [4.0, 6.0, 2.0] + [0.0] * 5
    assert column(rec, "backlog", 1) == [2.0, 4.0, 6.0, 2.0] + [0.0] * 4
    assert column(rec, "on_hand", 1) == [0.0] * 8
    assert column(rec, "on_order", 0) == [6.0, 10.0, 6.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert column(rec, "on_order", 1) == [4.0, 6.0, 8.0, 4.0, 2.0, 2.0, 2.0, 2.0]
    assert res.kpis["demand_units"] == 16.0


# ---------------------------------------------------------------------------------------------- production lines


def test_a_production_line_takes_the_oldest_waiting_order_first() -> None:
    """Three customers each order 1 unit at t = 0, in file order; one line makes an order in exactly 1 day.
    First come first served, order k starts at k and ships at k + 1 (time in the book 1, 2, 3); a line that
    took the newest job first would start order 2 at 0. (The mean wait of M/M/1 is the same under any order
    that ignores service times, so the queueing tests cannot tell FCFS from LIFO.)"""
    data = {
        "name": "fcfs", "horizon": 6, "products": [product()],
        "customers": [{"id": f"c{k}", "warehouse": "W", "requested_lead_time": 5,
                       "demand": [{"product": "A", "daily": 1, "seasonality": once(6)}]} for k in range(3)],
        "warehouses": [{"id": "W", "stock": [{"product": "A", "source": "F"}]}],
        "factories": [{"id": "F", "products": ["A"], "mode": "make_to_order", "lines": 1,
                       "processing_time": {"dist": "deterministic", "value": 1.0}, "processing_per": "order"}],
        "lanes": [{"from": "F", "to": "W", "lead_time": 0}],
    }
    res, rec = logged_run(data)
    assert [(r[0], r[2]) for r in rows(rec, "orders")] == [(0, 0), (1, 1), (2, 2)]
    # (job_id, start, factory, product, qty, queued_at)
    assert rows(rec, "production_started") == [(0, 0.0, 0, 0, 1.0, 0.0), (1, 1.0, 0, 0, 1.0, 0.0),
                                               (2, 2.0, 0, 0, 1.0, 0.0)]
    assert rows(rec, "closed") == [(0, 1.0, True), (1, 2.0, True), (2, 3.0, True)]
    assert res.kpis["avg_order_cycle_time"] == pytest.approx(2.0)


# ---------------------------------------------------------------------------------------------- yield


def test_a_plant_s_yield_scraps_its_share_of_each_day_s_output_once() -> None:
    """A rate plant (8 a day) with a constant yield of 0.75 makes W's order of 16 on days 0 and 1: 6 good and 2
    scrapped each day, arriving the next day over a lane of 0 days; the job's 4 scrapped units leave W's
    on-order count when its last units are made (day 1), the 6 good of day 0 when they arrive. Applying the
    yield twice would give 4.5 good a day."""
    data = {
        "name": "yield", "horizon": 4, "products": [product()],
        "customers": [{"id": "c", "warehouse": "W", "demand": [{"product": "A", "daily": 0}]}],
        "warehouses": [{"id": "W", "stock": [{"product": "A", "initial": 0, "source": "F",
                                              "policy": {"type": "base_stock", "level": 16, "review_period": 100}}]}],
        "factories": [{"id": "F", "products": ["A"], "capacity": {"regular": 8},
                       "yield": {"dist": "deterministic", "value": 0.75}}],
        "lanes": [{"from": "F", "to": "W", "lead_time": 0}],
    }
    res, rec = logged_run(data)
    assert rows(rec, "replenishments") == [(0, 0.0, 0, 0, 16.0, 1)]
    assert rows(rec, "production_finished") == [(0, 2.0, 12.0, 4.0)]
    assert [(r[1], r[5]) for r in rows(rec, "departed")] == [(1.0, 6.0), (2.0, 6.0)]
    assert column(rec, "on_hand") == [0.0, 6.0, 12.0, 12.0]
    assert column(rec, "on_order") == [16.0, 6.0, 0.0, 0.0]
    # The 4 scrapped units cost their unit cost (6): materials and work no sale's cost of goods carries.
    assert res.kpis["scrap_cost"] == pytest.approx(24.0)
