"""Small deterministic cases whose event records are asserted exactly, worked out by hand.

The order of a simulated day (simsop/model/world.py): at t = d the closing state of day d-1 is recorded
(SNAPSHOT; customers whose patience ran out are cancelled first), then shipments due at t = d are received
and backlogs served (RECEIPT), then periodic reviews place replenishment orders, daily customer orders
arrive and rate-capacity factories work their queue (DAILY, in that order). A rate factory's output of day
d leaves the plant at d + 1. Snapshot row d is the state at the end of day d; the run stops at the horizon
and takes the last snapshot then.

Records are compared as plain tuples of the named-tuple rows (``records.<table>.rows()``). Site indices:
warehouses first, then factories, then suppliers (a single warehouse W and a single source are sites 0, 1).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from simsop.model.world import World
from tests.helpers import column, logged_run, once, product, rows, single_stock_point

# ---------------------------------------------------------------------------------------------- (a) base stock


def test_daily_base_stock_with_a_supplier_lead_time() -> None:
    """Demand 3 a day, order up to 10 every morning, supplier lead time 2, 10 on hand at the start, 8 days.

    Day 0: review: position 10, no order; demand 3 ships, on hand 7.
    Day 1: review: position 7, order 3 (the supplier ships it at 1 + 2 = 3); demand: on hand 4, on order 3.
    Day 2: position 4 + 3 = 7, order 3 (arrives 4); demand: on hand 1, on order 6.
    Day d >= 3: the order of day d-2 arrives (on hand 4, on order 3); position 7, order 3; demand: on hand 1,
    on order 6. The orders of days 6 and 7 arrive at 8 and 9, after the horizon.
    """
    res, rec = logged_run(single_stock_point({"daily": 3}, {"type": "base_stock", "level": 10, "review_period": 1},
                                       lead_time=2, initial=10, horizon=8))
    # (ro_id, time, warehouse, product, qty, source site)
    assert rows(rec, "replenishments") == [(d - 1, float(d), 0, 0, 3.0, 1) for d in range(1, 8)]
    # (ship_id, departure, source site, warehouse, product, qty, arrival): the supplier ships after its lead time
    assert rows(rec, "departed") == [(d - 1, d + 2.0, 1, 0, 0, 3.0, d + 2.0) for d in range(1, 8)]
    assert rows(rec, "arrived") == [(0, 3.0), (1, 4.0), (2, 5.0), (3, 6.0), (4, 7.0)]
    # (order_id, time, customer, warehouse, due, lines) and (line_id, time, qty): every order ships at once
    assert rows(rec, "orders") == [(d, float(d), 0, 0, float(d), 1) for d in range(8)]
    assert rows(rec, "shipped") == [(d, float(d), 3.0) for d in range(8)]
    assert rows(rec, "closed") == [(d, float(d), True) for d in range(8)]
    assert rows(rec, "lost") == []
    assert column(rec, "on_hand") == [7.0, 4.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert column(rec, "backlog") == [0.0] * 8
    assert column(rec, "on_order") == [0.0, 3.0, 6.0, 6.0, 6.0, 6.0, 6.0, 6.0]
    assert res.kpis["otif"] == 1.0 and res.kpis["fill_rate"] == 1.0
    assert res.kpis["avg_on_hand"] == pytest.approx(17 / 8)


# ---------------------------------------------------------------------------------------------- (b) backlog


def backlog_case() -> dict[str, Any]:
    """Demand 4 a day, due the next day, patience 2 days past due; order up to 12 every 4 days (days 0, 4, 8)
    from a supplier with lead time 3; 5 on hand; 10 days."""
    data = single_stock_point({"daily": 4}, {"type": "base_stock", "level": 12, "review_period": 4},
                              lead_time=3, initial=5, horizon=10, requested_lead_time=1)
    data["customers"][0]["patience"] = 2
    data["products"] = [product(lost_sale_cost=2.0)]
    return data


def test_backorders_are_served_when_stock_arrives_and_lost_when_patience_runs_out() -> None:
    """Orders o0..o9, one a day of 4 units, due a day later; a line still open 2 days after its due date is lost.

    Day 0: review: position 5, order 7 (arrives 3); o0 ships 4, on hand 1.
    Day 1: o1 (due 2): 1 ships, 3 backordered.      Day 2: o2 (due 3): 4 backordered (backlog 7).
    Day 3: the 7 arrive; first come first served: o1 gets 3 (late: due 2), o2 gets 4 (on time); o3 (due 4,
           lost after 6) is backordered.
    Day 4: review: position 0 + 0 - 4 = -4, order 16 (arrives 7); o4 backordered (backlog 8).
    Day 5: o5 backordered (12).   Day 6: o6 backordered (16).
    t = 7, snapshot of day 6: o3 waited past its deadline 6: its 4 units are lost at 6 (backlog 12).
    Day 7: the 16 arrive: o4, o5, o6 get 4 each (o6 on time, o4 2 days late, o5 1 day late); o7 ships from
           the remaining 4.
    Day 8: review: position 0, order 12 (arrives 11, after the horizon); o8 backordered.  Day 9: o9 too.
    """
    res, rec = logged_run(backlog_case())
    assert rows(rec, "replenishments") == [(0, 0.0, 0, 0, 7.0, 1), (1, 4.0, 0, 0, 16.0, 1), (2, 8.0, 0, 0, 12.0, 1)]
    assert rows(rec, "departed") == [(0, 3.0, 1, 0, 0, 7.0, 3.0), (1, 7.0, 1, 0, 0, 16.0, 7.0),
                                     (2, 11.0, 1, 0, 0, 12.0, 11.0)]
    assert rows(rec, "arrived") == [(0, 3.0), (1, 7.0)]
    assert rows(rec, "orders") == [(d, float(d), 0, 0, d + 1.0, 1) for d in range(10)]
    assert rows(rec, "lines") == [(d, d, 0, 4.0) for d in range(10)]
    assert rows(rec, "shipped") == [(0, 0.0, 4.0), (1, 1.0, 1.0), (1, 3.0, 3.0), (2, 3.0, 4.0),
                                    (4, 7.0, 4.0), (5, 7.0, 4.0), (6, 7.0, 4.0), (7, 7.0, 4.0)]
    assert rows(rec, "lost") == [(3, 6.0, 4.0)]
    assert [(r[0], r[2]) for r in rows(rec, "closed")] == [(0, True), (1, True), (2, True), (3, False), (4, True),
                                                          (5, True), (6, True), (7, True)]
    assert column(rec, "on_hand") == [1.0] + [0.0] * 9
    assert column(rec, "backlog") == [0.0, 3.0, 7.0, 4.0, 8.0, 12.0, 12.0, 0.0, 4.0, 8.0]
    assert column(rec, "on_order") == [7.0, 7.0, 7.0, 0.0, 16.0, 16.0, 16.0, 0.0, 12.0, 12.0]
    assert column(rec, "lost") == [0.0] * 6 + [4.0] + [0.0] * 3

    k = res.kpis
    # All 10 orders are judged (o9 is due on day 10 = the horizon). On time in full: o0, o2, o6, o7.
    assert k["otif"] == pytest.approx(4 / 10)
    assert k["otif_line"] == pytest.approx(4 / 10)
    # Units shipped by their due date: o0 4, o1 1 (of 4), o2 4, o6 4, o7 4 = 17 of 40 ordered.
    assert k["fill_rate"] == pytest.approx(17 / 40)
    # Lines completed late: o1 1 day (3 - 2), o4 2 days (7 - 5), o5 1 day (7 - 6).
    assert k["avg_days_late"] == pytest.approx(4 / 3)
    assert k["lost_sales_units"] == 4.0
    assert k["demand_units"] == 40.0
    assert k["shipped_units"] == 28.0
    assert k["avg_backlog"] == pytest.approx(58 / 10)
    assert k["max_backlog"] == 12.0
    assert k["avg_on_hand"] == pytest.approx(0.1)
    # Review cycles end on days 3 and 7: the first with a backlog, the second with a loss on day 6.
    assert k["cycle_service_level"] == 0.0
    # Money: 28 units at price 10 and cost 6; holding 0.01 x 1 unit-day; lost 2 x 4; backorders 0.5 per unit per
    # day late, at the end of each day after the due date: o1 3 units on day 2, o3 4 on days 4-5 (lost at 6),
    # o4 4 on days 5-6, o5 4 on day 6, o8 4 on day 9: 27 unit-days (of the 58 the backlog held: the rest were
    # not due yet).
    assert k["revenue"] == pytest.approx(280.0)
    assert k["cogs"] == pytest.approx(168.0)
    assert k["holding_cost"] == pytest.approx(0.01)
    assert k["backorder_cost"] == pytest.approx(13.5)
    assert k["lost_sale_cost"] == pytest.approx(8.0)
    assert k["profit"] == pytest.approx(280.0 - 168.0 - 0.01 - 13.5 - 8.0)


def test_a_cancelled_order_closes_when_its_line_is_lost() -> None:
    """o3's last open line is lost at its deadline 6.0, so the order leaves the order book then; the order-book
    KPIs follow: time in the book 0, 2, 1, 3, 3, 2, 1, 0 for the closed orders o0..o7, and o8, o9 open for
    2 and 1 days at the horizon."""
    res, rec = logged_run(backlog_case())
    assert rows(rec, "closed") == [(0, 0.0, True), (1, 3.0, True), (2, 3.0, True), (3, 6.0, False),
                                   (4, 7.0, True), (5, 7.0, True), (6, 7.0, True), (7, 7.0, True)]
    assert res.kpis["avg_order_cycle_time"] == pytest.approx(12 / 8)
    assert res.kpis["avg_open_orders"] == pytest.approx(15 / 10)


# ---------------------------------------------------------------------------------------------- (c) allocation


def allocation_case(rule: str) -> dict[str, Any]:
    """Two customers order once, on day 0: 'low' (priority 2) 6 units first, then 'high' (priority 1) 4 units.
    Nothing is on hand; 5 units arrive on day 2 and 5 more on day 4 (goods already on their way at day 0)."""
    return {
        "name": "allocation", "horizon": 8, "products": [product()],
        "customers": [
            {"id": "low", "warehouse": "W", "priority": 2, "demand": [{"product": "A", "daily": 6,
                                                                       "seasonality": once(8)}]},
            {"id": "high", "warehouse": "W", "priority": 1, "demand": [{"product": "A", "daily": 4,
                                                                        "seasonality": once(8)}]},
        ],
        "warehouses": [{"id": "W", "allocation": rule, "stock": [
            {"product": "A", "initial": 0, "source": "S", "pipeline": {"goods": {2: 5, 4: 5}}}]}],
        "suppliers": [{"id": "S"}],
    }


@pytest.mark.parametrize(("rule", "shipped"), [
    # First come first served: 'low' ordered first and takes all 5 on day 2; on day 4 it gets its last
    # unit and 'high' its 4.
    ("fcfs", [(0, 2.0, 5.0), (0, 4.0, 1.0), (1, 4.0, 4.0)]),
    # Priority: 'high' (priority 1) is served first: 4 to it and the remaining 1 to 'low' on day 2; 'low'
    # gets its last 5 on day 4.
    ("priority", [(1, 2.0, 4.0), (0, 2.0, 1.0), (0, 4.0, 5.0)]),
    # Fair share: 5 of 10 owed is half of each line: 3 to 'low', 2 to 'high'; on day 4 the 5 cover the rest.
    ("fair_share", [(0, 2.0, 3.0), (1, 2.0, 2.0), (0, 4.0, 3.0), (1, 4.0, 2.0)]),
])
def test_allocation_rules_share_short_stock(rule: str, shipped: list[tuple[int, float, float]]) -> None:
    """The exact quantities each rule ships to two customers of different priority when stock is short."""
    res, rec = logged_run(allocation_case(rule))
    # line 0 is 'low' (customer 0, order 0), line 1 is 'high' (customer 1, order 1), both placed at t = 0.
    assert rows(rec, "orders") == [(0, 0.0, 0, 0, 0.0, 1), (1, 0.0, 1, 0, 0.0, 1)]
    assert rows(rec, "lines") == [(0, 0, 0, 6.0), (1, 1, 0, 4.0)]
    assert rows(rec, "shipped") == shipped
    # The goods were on their way at day 0: they "left" before the run (time -1) and arrive on days 2 and 4.
    assert rows(rec, "departed") == [(0, -1.0, 1, 0, 0, 5.0, 2.0), (1, -1.0, 1, 0, 0, 5.0, 4.0)]
    assert rows(rec, "arrived") == [(0, 2.0), (1, 4.0)]
    assert column(rec, "backlog") == [10.0, 10.0, 5.0, 5.0, 0.0, 0.0, 0.0, 0.0]
    assert column(rec, "on_hand") == [0.0] * 8
    assert res.kpis["fill_rate"] == 0.0  # both wanted everything on day 0


# ---------------------------------------------------------------------------------------------- (d) overtime


def test_rate_capacity_factory_with_overtime() -> None:
    """A plant with 6 units a day of regular time and 2 of overtime (1.5 extra a unit) feeds W over a lane of
    1 day; W orders up to 20 every 2 days (days 0, 2, 4, 6), starts empty, and customers take 2 a day.

    Day 0: order 20 (job 0); the plant makes 8 of it (6 regular + 2 overtime), leaving at 1, arriving at 2.
    Day 1: it makes 8 more (leaves 2, arrives 3).
    Day 2: the first 8 arrive and serve the backlog of days 0-1 (4); review: position 4 + 12 = 16, order 4
           (job 1); the plant makes job 0's last 4 and all of job 1 (8 in all: overtime again); both finish
           at 3, leave then and arrive at 4 as two shipments.
    Day 3: the 8 of day 1 arrive; the plant is idle.
    Day 4: 2 x 4 arrive; review: position 16, order 4 (job 2), made on regular time (4 of 6).
    Day 6: job 2's 4 arrived; review: position 16, order 4 (job 3), made on day 6, arriving at 8 (horizon).
    """
    data = {
        "name": "overtime", "horizon": 8, "products": [product()],
        "customers": [{"id": "c", "warehouse": "W", "demand": [{"product": "A", "daily": 2}]}],
        "warehouses": [{"id": "W", "stock": [{"product": "A", "initial": 0, "source": "F",
                                              "policy": {"type": "base_stock", "level": 20, "review_period": 2}}]}],
        "factories": [{"id": "F", "products": ["A"], "capacity": {"regular": 6, "overtime": 2, "overtime_cost": 1.5}}],
        "lanes": [{"from": "F", "to": "W", "lead_time": 1}],
    }
    res, rec = logged_run(data)
    assert rows(rec, "replenishments") == [(0, 0.0, 0, 0, 20.0, 1), (1, 2.0, 0, 0, 4.0, 1), (2, 4.0, 0, 0, 4.0, 1),
                                           (3, 6.0, 0, 0, 4.0, 1)]
    # (job_id, start, factory, product, qty, queued_at) and (job_id, finish, good, scrap)
    assert rows(rec, "production_started") == [(0, 0.0, 0, 0, 20.0, 0.0), (1, 2.0, 0, 0, 4.0, 2.0),
                                               (2, 4.0, 0, 0, 4.0, 4.0), (3, 6.0, 0, 0, 4.0, 6.0)]
    assert rows(rec, "production_finished") == [(0, 3.0, 20.0, 0.0), (1, 3.0, 4.0, 0.0), (2, 5.0, 4.0, 0.0),
                                                (3, 7.0, 4.0, 0.0)]
    # (day, factory, regular capacity, regular used, overtime used, capacity used, staffed capacity)
    assert rows(rec, "factory_days") == [
        (0, 0, 6.0, 6.0, 2.0, 8.0, 6.0), (1, 0, 6.0, 6.0, 2.0, 8.0, 6.0), (2, 0, 6.0, 6.0, 2.0, 8.0, 6.0),
        (3, 0, 6.0, 0.0, 0.0, 0.0, 6.0), (4, 0, 6.0, 4.0, 0.0, 4.0, 6.0), (5, 0, 6.0, 0.0, 0.0, 0.0, 6.0),
        (6, 0, 6.0, 4.0, 0.0, 4.0, 6.0), (7, 0, 6.0, 0.0, 0.0, 0.0, 6.0)]
    assert rows(rec, "departed") == [(0, 1.0, 1, 0, 0, 8.0, 2.0), (1, 2.0, 1, 0, 0, 8.0, 3.0),
                                     (2, 3.0, 1, 0, 0, 4.0, 4.0), (3, 3.0, 1, 0, 0, 4.0, 4.0),
                                     (4, 5.0, 1, 0, 0, 4.0, 6.0), (5, 7.0, 1, 0, 0, 4.0, 8.0)]
    assert rows(rec, "arrived") == [(0, 2.0), (1, 3.0), (2, 4.0), (3, 4.0), (4, 6.0)]
    assert rows(rec, "shipped") == [(0, 2.0, 2.0), (1, 2.0, 2.0), (2, 2.0, 2.0), (3, 3.0, 2.0), (4, 4.0, 2.0),
                                    (5, 5.0, 2.0), (6, 6.0, 2.0), (7, 7.0, 2.0)]
    assert column(rec, "on_hand") == [0.0, 0.0, 2.0, 8.0, 14.0, 12.0, 14.0, 12.0]
    assert column(rec, "backlog") == [2.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert column(rec, "on_order") == [20.0, 20.0, 16.0, 8.0, 4.0, 4.0, 4.0, 4.0]
    k = res.kpis
    assert k["overtime_units"] == 6.0
    assert k["overtime_cost"] == pytest.approx(9.0)
    assert k["utilization"] == pytest.approx(32 / 48)  # 32 units made on 8 days x 6 regular


# ---------------------------------------------------------------------------------------------- (e) plan board


def test_factory_output_follows_the_plan_board() -> None:
    """A planning process sets the plant's production on day 5 for days 5-9: 4, 4, 12, 0, 2 (capacity 10 a
    day, no overtime). W has no replenishment policy: only planned output reaches it, pushed over a 1-day lane.

    Days 0-4: nothing planned, the plant is idle.  Day 5: job 0 (4) made, leaves 6, arrives 7.
    Day 6: job 1 (4).  Day 7: job 2 (12): 10 made, 2 carried over.  Day 8: plan 0, job 2's last 2 made.
    Day 9: job 3 (2).  Days 10-11: idle.
    """
    data = {
        "name": "plan", "horizon": 12, "products": [product()],
        "customers": [{"id": "c", "warehouse": "W", "demand": [{"product": "A", "daily": 1}]}],
        "warehouses": [{"id": "W", "stock": [{"product": "A", "initial": 30, "source": "F"}]}],
        "factories": [{"id": "F", "products": ["A"], "capacity": {"regular": 10}}],
        "lanes": [{"from": "F", "to": "W", "lead_time": 1}],
    }

    def planner(world: World) -> Generator[Any, Any, None]:
        # A plain timeout at t = 5 runs before day 5's reviews and production (DAILY).
        yield world.env.timeout(5)
        world.plan.set_production("F", "A", 5, [4, 4, 12, 0, 2])

    res, rec = logged_run(data, processes=(planner,))
    # (day, factory, product, qty): one row per day with a positive target
    assert rows(rec, "planned_production") == [(5, 0, 0, 4.0), (6, 0, 0, 4.0), (7, 0, 0, 12.0), (9, 0, 0, 2.0)]
    assert rows(rec, "production_started") == [(0, 5.0, 0, 0, 4.0, 5.0), (1, 6.0, 0, 0, 4.0, 6.0),
                                               (2, 7.0, 0, 0, 12.0, 7.0), (3, 9.0, 0, 0, 2.0, 9.0)]
    assert rows(rec, "production_finished") == [(0, 6.0, 4.0, 0.0), (1, 7.0, 4.0, 0.0), (2, 9.0, 12.0, 0.0),
                                                (3, 10.0, 2.0, 0.0)]
    made = [0.0] * 5 + [4.0, 4.0, 10.0, 2.0, 2.0, 0.0, 0.0]
    assert rows(rec, "factory_days") == [(d, 0, 10.0, m, 0.0, m, 10.0) for d, m in enumerate(made)]
    assert rows(rec, "departed") == [(0, 6.0, 1, 0, 0, 4.0, 7.0), (1, 7.0, 1, 0, 0, 4.0, 8.0),
                                     (2, 8.0, 1, 0, 0, 10.0, 9.0), (3, 9.0, 1, 0, 0, 2.0, 10.0),
                                     (4, 10.0, 1, 0, 0, 2.0, 11.0)]
    assert rows(rec, "arrived") == [(0, 7.0), (1, 8.0), (2, 9.0), (3, 10.0), (4, 11.0)]
    assert rows(rec, "replenishments") == []
    # On hand: 30 less 1 a day, plus each arrival; on order: planned output not yet arrived.
    assert column(rec, "on_hand") == [29.0, 28.0, 27.0, 26.0, 25.0, 24.0, 23.0, 26.0, 29.0, 38.0, 39.0, 40.0]
    assert column(rec, "on_order") == [0.0] * 5 + [4.0, 8.0, 16.0, 12.0, 4.0, 2.0, 0.0]
    assert res.kpis["utilization"] == pytest.approx(22 / 120)
