"""Order promising: available-to-promise (``promise: available``) quotes the date the company can keep.

An order that cannot ship at once is promised the later of its requested date and the date the warehouse's
known supply covers it: stock on hand plus the shipments already on their way to it, in arrival order, net of
the backlog ahead (first come first served). Beyond that supply, the next reorder plus its lead time. With
deterministic lead times and FCFS allocation such a promise is a fact about the future, not a forecast: every
one is kept (OTIF against the promise is exactly 1), while the share on time against the requested date is
what base-stock theory says of the same policy (the promise changes what is promised, not what happens).

Day order (simsop/model/world.py): at t = d receipts first, then reviews, then the day's orders. Records are
the named-tuple rows as plain tuples; ``promises`` rows are (order_id, requested, promised, basis).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

from simsop.replication import build_world
from simsop.scenario import ScenarioError
from simsop.scenario_notes import scenario_notes
from tests.helpers import assert_close_to_theory, kpi_samples, logged_run, rows, scenario, single_stock_point


def on_days(days: list[int], period: int) -> dict[str, Any]:
    """Seasonality that keeps a daily demand on the given days of ``period`` only."""
    return {"pattern": [1.0 if d in days else 0.0 for d in range(period)], "period": period}


def atp(data: dict[str, Any], **customer: Any) -> dict[str, Any]:
    """The scenario with its first customer quoted available-to-promise."""
    data["customers"][0].update({"promise": "available", **customer})
    return data


def receipt_case(requested_lead_time: float = 0) -> dict[str, Any]:
    """5 on hand, one order of 10 on day 0, a shipment of 20 already on its way arriving on day 3; no reorders."""
    data = single_stock_point({"daily": 10, "seasonality": on_days([0], 10)}, {"type": "none"}, initial=5,
                              horizon=10, requested_lead_time=requested_lead_time)
    data["warehouses"][0]["stock"][0]["pipeline"] = {"goods": {3: 20}}
    return atp(data)


def test_an_order_the_stock_cannot_cover_is_promised_the_day_the_receipt_arrives() -> None:
    """5 ship now, the other 5 come with the receipt of day 3: promised day 3 (requested day 0), shipped
    complete on day 3, so on time against the promise and late against the request by 3 days."""
    res, rec = logged_run(receipt_case())
    assert rows(rec, "orders") == [(0, 0.0, 0, 0, 3.0, 1)]  # due: the promised date
    assert rows(rec, "promises") == [(0, 0.0, 3.0, "receipt")]
    assert rec.orders["requested"].tolist() == [0.0]
    assert rows(rec, "shipped") == [(0, 0.0, 5.0), (0, 3.0, 5.0)]
    assert rows(rec, "closed") == [(0, 3.0, True)]
    assert res.kpis["otif"] == 1.0 and res.kpis["otif_requested"] == 0.0
    assert res.kpis["avg_quoted_delay"] == 3.0
    frame = rec.to_frames()["orders"]
    assert frame[["due", "requested"]].values.tolist() == [[3.0, 0.0]]


def test_a_requested_date_later_than_the_receipt_is_the_promise() -> None:
    """Requested 5 days out: the receipt of day 3 covers it before then, so the promise is the request."""
    res, rec = logged_run(receipt_case(requested_lead_time=5))
    assert rows(rec, "orders") == [(0, 0.0, 0, 0, 5.0, 1)]
    assert rows(rec, "promises") == [(0, 5.0, 5.0, "receipt")]
    assert res.kpis["otif"] == res.kpis["otif_requested"] == 1.0 and res.kpis["avg_quoted_delay"] == 0.0


def test_the_default_promises_the_requested_date_whatever_the_stock() -> None:
    """Without ``promise: available`` the same order is due on day 0, late by 3 days; nothing is quoted, the
    requested date is the due date, and no warehouse keeps receipts."""
    data = receipt_case()
    del data["customers"][0]["promise"]
    res, rec = logged_run(data)
    assert rows(rec, "orders") == [(0, 0.0, 0, 0, 0.0, 1)]
    assert rows(rec, "promises") == []
    assert rec.orders["requested"].tolist() == [0.0]
    assert res.kpis["otif"] == res.kpis["otif_requested"] == 0.0 and res.kpis["avg_quoted_delay"] == 0.0
    assert build_world(scenario(data)).warehouses[0].scheduled is None


def test_two_orders_compete_for_the_same_receipt_first_come_first_served() -> None:
    """Nothing on hand; 10 arrive on day 3 and 20 on day 5; orders of 8 on days 0 and 1.

    o0 (8): the receipt of day 3 covers it: promised 3. o1 (8): 8 are ahead of it, so the first receipt leaves
    it 2 and the second covers it: promised 5. On day 3 o0 gets 8 and o1 the last 2; on day 5 o1 its 6."""
    data = single_stock_point({"daily": 8, "seasonality": on_days([0, 1], 10)}, {"type": "none"}, horizon=10)
    data["warehouses"][0]["stock"][0]["pipeline"] = {"goods": {3: 10, 5: 20}}
    res, rec = logged_run(atp(data))
    assert rows(rec, "orders") == [(0, 0.0, 0, 0, 3.0, 1), (1, 1.0, 0, 0, 5.0, 1)]
    assert rows(rec, "promises") == [(0, 0.0, 3.0, "receipt"), (1, 1.0, 5.0, "receipt")]
    assert rows(rec, "shipped") == [(0, 3.0, 8.0), (1, 3.0, 2.0), (1, 5.0, 6.0)]
    assert rows(rec, "closed") == [(0, 3.0, True), (1, 5.0, True)]
    assert res.kpis["otif"] == 1.0 and res.kpis["otif_requested"] == 0.0
    assert res.kpis["avg_quoted_delay"] == pytest.approx((3 + 4) / 2)


def test_under_priority_allocation_a_better_customer_can_take_a_promised_receipt() -> None:
    """The same supply under ``priority``: a priority-2 order of 8 on day 0 is promised day 3; a priority-1
    order of 8 on day 1 has nothing ahead of it, is promised day 3 too and takes 8 of the 10 arriving then, so
    the first order gets 2 on day 3 and 6 on day 5: its promise is broken (ATP does not reserve stock)."""
    data = single_stock_point({"daily": 8, "seasonality": on_days([0], 10)}, {"type": "none"}, horizon=10)
    data["customers"][0]["priority"] = 2
    data["customers"].append({"id": "key", "warehouse": "W", "priority": 1, "promise": "available",
                              "demand": [{"product": "A", "daily": 8, "seasonality": on_days([1], 10)}]})
    data["warehouses"][0]["allocation"] = "priority"
    data["warehouses"][0]["stock"][0]["pipeline"] = {"goods": {3: 10, 5: 20}}
    res, rec = logged_run(atp(data))
    assert rows(rec, "promises") == [(0, 0.0, 3.0, "receipt"), (1, 1.0, 3.0, "receipt")]
    assert rows(rec, "shipped") == [(1, 3.0, 8.0), (0, 3.0, 2.0), (0, 5.0, 6.0)]
    assert res.kpis["otif"] == 0.5


def test_beyond_the_known_supply_the_quote_is_the_next_review_plus_the_lead_time() -> None:
    """Order up to 10 every 5 days (days 0, 5), supplier lead time 2, 5 on hand, demand 4 a day due at once.

    Day 0: review orders 5 (arrives 2); o0 ships. Day 1: 1 on hand, the 5 on their way cover o1: promised 2.
    Day 2: the 5 arrive (o1's 3 ship, 2 left); o2: 2 on hand, nothing on its way: the next review is day 5
    and its goods come 2 days later: promised 7 ('reorder'); o3 and o4 too. Day 5: the review orders 20
    (arrives 7), which covers o5 and o6 behind the backlog: promised 7 ('receipt'). Day 7: the 20 serve the
    backlog of 18, o2..o6 complete on their promised day; o7 gets the last 2 and is quoted day 12 (review 10 +
    2), past the horizon, like o8 and o9."""
    data = single_stock_point({"daily": 4}, {"type": "base_stock", "level": 10, "review_period": 5}, lead_time=2,
                              initial=5, horizon=10)
    res, rec = logged_run(atp(data))
    assert rows(rec, "promises") == [(1, 1.0, 2.0, "receipt")] + [(d, float(d), 7.0, "reorder") for d in (2, 3, 4)] \
        + [(d, float(d), 7.0, "receipt") for d in (5, 6)] + [(d, float(d), 12.0, "reorder") for d in (7, 8, 9)]
    assert [r[4] for r in rows(rec, "orders")] == [0.0, 2.0] + [7.0] * 5 + [12.0] * 3
    assert rows(rec, "closed") == [(0, 0.0, True), (1, 2.0, True)] + [(d, 7.0, True) for d in range(2, 7)]
    # Against the promise o0..o6 are judged (o7..o9 are due after the horizon): every promise kept. Against the
    # request all ten are (requested inside the horizon), and o0 alone shipped as requested.
    assert res.kpis["otif"] == 1.0
    assert res.kpis["otif_requested"] == pytest.approx(1 / 10)
    assert res.kpis["avg_quoted_delay"] == pytest.approx((0 + 1 + 5 + 4 + 3 + 2 + 1 + 5 + 4 + 3) / 10)


def test_a_make_to_order_item_is_quoted_the_plants_queue() -> None:
    """A make-to-order plant making 5 a day with 12 already queued: an order of 8 on day 0 waits behind 20
    units of work, 4 days of it (days 1-4: the quote does not count on today's work, which may be done),
    leaves on day 5 and crosses a 1-day lane: promised day 6."""
    data = single_stock_point({"daily": 8, "seasonality": on_days([0], 20)}, {"type": "none"}, horizon=20)
    data["warehouses"][0]["stock"][0]["source"] = "F"
    data.pop("suppliers")
    data["factories"] = [{"id": "F", "products": ["A"], "mode": "make_to_order", "capacity": {"regular": 5}}]
    data["lanes"] = [{"from": "F", "to": "W", "lead_time": 1}]
    sc = scenario(atp(data))
    world = build_world(sc)
    wh, plant = world.warehouses[0], world.factories[0]
    plant.queued_units = 12.0
    assert wh.quote([(0, 8.0)], 0.0, 1, 0.0) == (6.0, "plant")
    plant.queued_units = 0.0
    # Nothing queued: made on days 1 and 2 (8 units at 5 a day), leaves on day 3, arrives on day 4. In the run
    # the day's order reaches the plant before its day-0 work, which makes 5 of them: a day early, on time.
    assert wh.quote([(0, 8.0)], 0.0, 1, 0.0) == (4.0, "plant")
    res, rec = logged_run(atp(data))
    assert rows(rec, "promises") == [(0, 0.0, 4.0, "plant")]
    assert rows(rec, "closed") == [(0, 3.0, True)] and res.kpis["otif"] == 1.0


@pytest.mark.parametrize("allocation", ["priority", "fair_share"])
def test_a_promise_the_allocation_rule_can_break_is_noted(allocation: str) -> None:
    data = atp(single_stock_point({"daily": 1}, {"type": "none"}))
    data["warehouses"][0]["allocation"] = allocation
    notes = dict(scenario_notes(scenario(data)))
    assert "OTIF against the promise can fall below 100%" in notes["customers[0].promise"]
    data["warehouses"][0]["allocation"] = "fcfs"
    assert "customers[0].promise" not in dict(scenario_notes(scenario(data)))


def test_a_lost_sale_customer_cannot_be_promised_a_later_date() -> None:
    with pytest.raises(ScenarioError, match=r"customers\[0\]: 'promise: available' goes with unmet: backorder"):
        scenario(atp(single_stock_point({"daily": 1}, {"type": "none"}, unmet="lost_sale")))


def test_patience_runs_from_the_promised_date() -> None:
    """Patience 1 day past the promise: o0 promised day 3 and served then is not cancelled, though day 3 is 3
    days past its request; with the requested date promised it would be lost at day 1 (the 5 missing)."""
    data = receipt_case()
    data["customers"][0]["patience"] = 1
    _, rec = logged_run(data)
    assert rows(rec, "lost") == [] and rows(rec, "closed") == [(0, 3.0, True)]
    data["customers"][0]["promise"] = "requested"
    _, rec = logged_run(data)
    assert rows(rec, "lost") == [(0, 1.0, 5.0)]


# ---------------------------------------------------------------------------------------------- theory


LAM, LEAD, LEVEL, REPS = 2.0, 3.0, 8, 12


def test_every_atp_promise_is_kept_and_service_to_request_is_base_stock_theory() -> None:
    """One-for-one (S - 1, S), Poisson unit demand of rate 2 a day, a deterministic lead time of 3 days, FCFS,
    backorders, due at once. The position is always S, so the stock on hand plus the units on their way exceed
    the backlog ahead of a new unit by S >= 1: the shipments on their way always cover it, on a known day, and
    nothing after it is served first: OTIF against the promise is exactly 1 in every replication. The quote
    changes nothing physical, so an order ships at once as requested iff net stock before it is positive:
    P(D(L) <= S - 1) with D(L) ~ Poisson(lambda L) (PASTA; Axsäter 5.3), within 4 standard errors."""
    data = single_stock_point({"orders_per_day": LAM, "quantity": 1}, {"type": "one_for_one", "level": LEVEL},
                              lead_time=LEAD, initial=LEVEL, horizon=2000, warmup=100)
    s = kpi_samples(scenario(atp(data)), REPS, keys=("otif", "otif_requested", "avg_quoted_delay", "fill_rate"))
    assert np.all(s["otif"] == 1.0)
    exact = float(stats.poisson.cdf(LEVEL - 1, LAM * LEAD))
    assert_close_to_theory(s["otif_requested"], exact, "on time to request, P(D(L) <= S - 1)")
    assert np.all(s["avg_quoted_delay"] > 0)
    # The same futures promised as requested: OTIF is then the on-time share to request, order by order.
    plain = kpi_samples(scenario(single_stock_point({"orders_per_day": LAM, "quantity": 1},
                                                    {"type": "one_for_one", "level": LEVEL}, lead_time=LEAD,
                                                    initial=LEVEL, horizon=2000, warmup=100)),
                        REPS, keys=("otif", "otif_requested", "avg_quoted_delay"))
    np.testing.assert_array_equal(plain["otif_requested"], plain["otif"])
    np.testing.assert_array_equal(plain["avg_quoted_delay"], 0.0)
    np.testing.assert_array_equal(s["otif_requested"], plain["otif"])


def test_periodic_review_promises_are_kept_with_deterministic_lead_times() -> None:
    """Order up to S every 3 days, Poisson demand of 4 a day, lead time 2: a line the known supply cannot
    cover is quoted the next review plus 2, when the order up to S brings everything owed then (position S
    >= backlog): every promise kept, exactly, while fewer orders ship as requested."""
    data = single_stock_point({"daily": {"dist": "poisson", "mean": 4}},
                              {"type": "base_stock", "level": 20, "review_period": 3}, lead_time=2, initial=20,
                              horizon=1500, warmup=50)
    s = kpi_samples(scenario(atp(data)), 6, keys=("otif", "otif_requested", "avg_quoted_delay"))
    assert np.all(s["otif"] == 1.0)
    assert np.all(s["otif_requested"] < 0.95) and np.all(s["avg_quoted_delay"] > 0)


def plan_fed_case(first_day: int) -> dict[str, Any]:
    """A plant making 10 a day (from ``first_day``, pushed to W by its plan board) over a 2-day lane to W, which
    has nothing on hand and no reorder rule (an item an S&OP plan supplies); one order of 30 on day 0."""
    data = single_stock_point({"daily": 30, "seasonality": on_days([0], 20)}, {"type": "none"}, horizon=20)
    data["warehouses"][0]["stock"][0]["source"] = "F"
    data.pop("suppliers")
    data["factories"] = [{"id": "F", "products": ["A"], "capacity": {"regular": 100}}]
    data["lanes"] = [{"from": "F", "to": "W", "lead_time": 2}]
    return atp(data)


@pytest.mark.parametrize("first_day", [0, 3])
def test_an_item_a_plan_supplies_is_promised_from_the_plans_production_bound_for_it(first_day: int) -> None:
    """The plan makes 10 a day from ``first_day``; a day's output leaves at the end of the day and takes 2 days.
    The order of 30 placed on day 0 (before the day's plan is pushed, as the day's orders come first) is covered
    by the output of days first_day .. first_day + 2, which arrives on day first_day + 5: promised that day, and
    kept. The old code quoted such an item (no reorder rule) the horizon plus the lead time (day 22 of 20)."""
    def plan(world: Any) -> Any:
        world.plan.set_production("F", "A", first_day, [10.0] * (20 - first_day))
        yield world.env.timeout(0)

    res, rec = logged_run(plan_fed_case(first_day), processes=(plan,))
    assert rows(rec, "promises") == [(0, 0.0, first_day + 5.0, "plan")]
    assert rows(rec, "closed") == [(0, first_day + 5.0, True)]
    assert res.kpis["otif"] == 1.0 and res.kpis["avg_quoted_delay"] == first_day + 5.0
