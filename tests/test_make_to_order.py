"""Make-to-order items: made for each order, never stocked, and the S&OP plan sets the plant's staffing.

A make-to-order line is pegged to a job of its own. Stock of such an item (there at the start, or made for a
customer who gave up) is sold before anything is made: to the next order, or at once to the lines waiting for
their jobs, whose jobs not yet started then shrink; a lost line's job is dropped if it has not started. Event
logs worked out by hand (the day's order: snapshot and cancellations, then receipts, then orders and
production; a rate plant's output of day d leaves at d + 1, here over a lane of 0 days).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simsop.replication import run_replication
from tests.helpers import column, logged_run, once, product, rows, scenario


def mto(customers: list[dict[str, Any]], initial: float = 0, horizon: int = 4) -> dict[str, Any]:
    """One product made to order by a rate plant of 1 unit a day for warehouse W."""
    return {
        "name": "mto", "horizon": horizon, "products": [product()], "customers": customers,
        "warehouses": [{"id": "W", "stock": [{"product": "A", "initial": initial, "source": "F"}]}],
        "factories": [{"id": "F", "products": ["A"], "mode": "make_to_order", "capacity": {"regular": 1}}],
        "lanes": [{"from": "F", "to": "W", "lead_time": 0}],
    }


def one_unit_at_0(cid: str, **kw: Any) -> dict[str, Any]:
    return {"id": cid, "warehouse": "W", "requested_lead_time": 3, **kw,
            "demand": [{"product": "A", "daily": 1, "seasonality": once(4)}]}


def test_stock_of_a_made_to_order_item_is_sold_before_anything_is_made() -> None:
    """2 on hand, three orders of 1 at t = 0: two ship from stock at once, only the third is made (day 0,
    shipped at 1). Before, every order got a job and the 2 units stayed on the shelf for good."""
    res, rec = logged_run(mto([one_unit_at_0(f"c{k}") for k in range(3)], initial=2))
    assert [(r[0], r[1], r[2]) for r in rows(rec, "shipped")] == [(0, 0.0, 1.0), (1, 0.0, 1.0), (2, 1.0, 1.0)]
    assert [(r[0], r[1], r[4]) for r in rows(rec, "production_started")] == [(0, 0.0, 1.0)]
    assert column(rec, "on_hand") == [0.0, 0.0, 0.0, 0.0]
    assert res.kpis["fill_rate"] == 1.0


def test_a_lost_line_s_job_is_dropped_if_it_has_not_started() -> None:
    """c0 (patient) and c1 (gives up after half a day) order 1 each at t = 0; the plant makes c0's on day 0.
    c1's line is lost at 0.5 while its job waits: the job is dropped, nothing more is made and W holds no
    stock. Before, the plant made it on day 1 and the unit sat in W for good."""
    _, rec = logged_run(mto([one_unit_at_0("c0"), one_unit_at_0("c1", requested_lead_time=0, patience=0.5)]))
    assert [(r[0], r[1]) for r in rows(rec, "lost")] == [(1, 0.5)]
    assert [r[0] for r in rows(rec, "production_started")] == [0]
    assert column(rec, "on_order") == [1.0, 0.0, 0.0, 0.0]
    assert column(rec, "on_hand") == [0.0, 0.0, 0.0, 0.0]


def test_goods_made_for_a_lost_line_go_to_the_next_waiting_line() -> None:
    """c0 (gives up after half a day) and c1 (patient) order 1 each at t = 0; the plant makes c0's unit on day
    0 and it arrives at 1, after c0 gave up: it ships to c1 at once, and c1's job, not started, is dropped.
    Before, c1 waited for its own unit (day 1, shipped at 2) and c0's stayed on the shelf."""
    _, rec = logged_run(mto([one_unit_at_0("c0", requested_lead_time=0, patience=0.5), one_unit_at_0("c1")]))
    assert [(r[0], r[1]) for r in rows(rec, "lost")] == [(0, 0.5)]
    assert [(r[0], r[1], r[2]) for r in rows(rec, "shipped")] == [(1, 1.0, 1.0)]
    assert [r[0] for r in rows(rec, "production_started")] == [0]
    assert column(rec, "on_hand") == [0.0, 0.0, 0.0, 0.0]
    assert column(rec, "on_order") == [2.0, 0.0, 0.0, 0.0]


def staffed_mto_plant(policy: str) -> dict[str, Any]:
    """A make-to-order plant of 12 workers x 0.5 units a day (25% overtime) for Poisson orders of 4 units a day,
    planned monthly by an S&OP policy that may hire and lay off."""
    return {
        "name": "mto_sop", "horizon": 365, "warmup": 0, "products": [product(price=800, unit_cost=400)],
        "customers": [{"id": "c", "warehouse": "W", "requested_lead_time": 10,
                       "demand": [{"product": "A", "orders_per_day": 4, "quantity": 1}]}],
        "warehouses": [{"id": "W", "stock": [{"product": "A", "source": "F", "policy": {"type": "none"}}]}],
        "factories": [{"id": "F", "products": ["A"], "mode": "make_to_order",
                       "capacity": {"regular": 6, "overtime": 1.5, "overtime_cost": 40}}],
        "lanes": [{"from": "F", "to": "W", "lead_time": 2}],
        "planning": {"policy": policy, "bucket": "month", "horizon_buckets": 6, "days_of_cover": 0,
                     "workforce": [{"factory": "F", "workers": 12, "units_per_worker_day": 0.5,
                                    "wage_per_worker_day": 200, "hiring_cost": 1500, "layoff_cost": 2500,
                                    "overtime_hours_fraction": 0.25, "overtime_cost_per_unit": 40}]},
    }


def test_the_plan_staffs_a_make_to_order_plant_for_its_orders() -> None:
    """The plan's production of a make-to-order item is the capacity its orders need, not stock: the plant is
    staffed for the 4 units a day ordered (with its overtime), keeps its order book bounded, and the plan pushes
    no production of its own (nobody would buy it). Before, the plan's production was pushed to stock nobody
    bought, every plan counted that stock as supply and staffed less, and the plant was laid off to nothing."""
    for policy in ("chase", "lp"):
        for r in range(3):
            res = run_replication(scenario(staffed_mto_plant(policy)), seed=1, replication=r, keep_records=True)
            rec = res.records
            assert rec is not None
            days = rec.factory_days["day"]
            late = days >= 180
            capacity = float(np.mean(rec.factory_days["staffed_capacity"][late])) * 1.25  # with its overtime
            assert capacity >= 0.9 * 4, (policy, r, capacity)
            assert len(rows(rec, "planned_production")) == 0
            backlog = rec.snapshots.backlog[:, 0]
            # Within a month of orders (the plan's bucket): a plant laid off to nothing adds 4 a day for good.
            assert backlog[-30:].mean() <= 30 * 4, (policy, r, backlog[-30:].mean())
            assert rec.snapshots.on_hand[:, 0].max() == 0.0


def test_a_warehouse_cannot_be_supplied_from_a_warehouse_whose_item_is_made_to_order() -> None:
    """A make-to-order item is made for each customer order, so the warehouse holding it has no stock to send
    on: a shop replenished from it waited for ever (fill rate 0.17 over 60 days, its orders never made). The
    file is refused at the shop's source, naming what to do."""
    import pytest

    from simsop.scenario import ScenarioError

    data = {
        "name": "mto_chain", "horizon": 60, "products": [product()],
        "customers": [{"id": "r", "warehouse": "R", "demand": [{"product": "A", "daily": 2}]}],
        "warehouses": [{"id": "C", "stock": [{"product": "A", "source": "F"}]},
                       {"id": "R", "stock": [{"product": "A", "initial": 10, "source": "C",
                                              "policy": {"type": "base_stock", "level": 10}}]}],
        "factories": [{"id": "F", "products": ["A"], "mode": "make_to_order", "capacity": {"regular": 5}}],
        "lanes": [{"from": "F", "to": "C", "lead_time": 1}, {"from": "C", "to": "R", "lead_time": 1}],
    }
    with pytest.raises(ScenarioError, match=r"warehouses\[1\]\.stock\[0\]\.source: warehouse 'C' gets 'A' made to "
                                            r"order by 'F'.*source 'A' from 'F' directly"):
        scenario(data)
