"""Lanes with a daily capacity (``lanes[].capacity``): exact event logs, a queueing result, conservation, notes.

A capacity-limited lane dispatches at most c units a calendar day, first booked first served: goods leave the
moment they are ready while the day's capacity lasts, and what does not fit leaves at the start of the next day
with room (simsop.model.lane). Statistical assertions are |simulated mean - exact| <= 4 standard errors of the
replications' mean (tests/helpers.py).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
from scipy import stats

from simsop.model.lane import split_lots
from simsop.model.world import World
from simsop.replication import build_world, run_replication
from simsop.scenario_notes import scenario_notes
from tests.helpers import assert_close_to_theory, product, scenario, single_stock_point


def _lane_only(capacity: float | None, horizon: int = 12, **lane: Any) -> dict[str, Any]:
    """Supplier S -> warehouse W over a 1-day lane, no demand and no reordering: the test ships by hand."""
    data = single_stock_point({"daily": 0}, {"type": "none"}, lead_time=0, horizon=horizon)
    data["lanes"] = [{"from": "S", "to": "W", "lead_time": 1, "capacity": capacity, **lane}]
    return data


def _ship_by_hand(data: dict[str, Any], shipments: list[tuple[float, float]]) -> tuple[World, Any]:
    """Run ``data`` with the supplier sending (time, units) to W as shipments ready then; (world, records)."""
    w = build_world(scenario(data))
    sup, wh = w.suppliers[0], w.warehouses[0]

    def sender(world: World) -> Generator[Any, Any, None]:
        for t, qty in shipments:
            if t > world.env.now:
                yield world.env.timeout(t - world.env.now)
            world.units_supplied += qty
            world.ship(sup, wh, 0, qty)

    extra: tuple[Callable[[World], Generator[Any, Any, None]], ...] = (sender,)
    return w, w.run(extra)


def _departures(rec: Any) -> list[tuple[float, float, float]]:
    """(departure, units, arrival) of every shipment, in the order booked."""
    d = rec.departed
    return list(zip(d["time"].tolist(), d["qty"].tolist(), d["arrival"].tolist(), strict=True))


def test_three_shipments_of_30_on_a_lane_of_25_a_day_leave_in_daily_parts_first_booked_first_served() -> None:
    """Three shipments of 30 ready at t = 0 on a lane of 25 a day: 25 leave at once, 5 + 20 at the start of day
    1, 10 + 15 on day 2, the last 15 on day 3, each part arriving a 1-day transit after it leaves; 10 ready at
    5.5, when the lane is free again, leave at once. (An unlimited lane, the old code, sends the 90 at t = 0; a
    fluid FIFO server would finish them at 1.2, 2.4 and 3.6.)"""
    w, rec = _ship_by_hand(_lane_only(25), [(0.0, 30.0)] * 3 + [(5.5, 10.0)])
    assert _departures(rec) == [(0.0, 25.0, 1.0), (1.0, 5.0, 2.0), (1.0, 20.0, 2.0), (2.0, 10.0, 3.0),
                                (2.0, 15.0, 3.0), (3.0, 15.0, 4.0), (5.5, 10.0, 6.5)]
    assert rec.arrived["time"].tolist() == [1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 6.5]
    assert w.warehouses[0].on_hand == [100.0] and w.units_in_transit == 0.0
    # The transport cost is charged as the goods leave: 70 of the 100 units leave after day 0.
    day0 = rec.departed["time"] < 1
    assert rec.departed["qty"][day0].sum() == 25.0


def test_daily_shipments_below_capacity_never_wait_and_match_an_unlimited_lane() -> None:
    """D/D/1 below capacity: 10 units reordered every morning over a lane of 25 a day never wait. Each leaves
    as the supplier's 2-day lead time ends and arrives a day later, and the event log is the unlimited lane's
    to the bit."""
    data = single_stock_point({"daily": 10}, {"type": "base_stock", "level": 40, "review_period": 1},
                              initial=40, horizon=200, warmup=0)
    data["lanes"] = [{"from": "S", "to": "W", "lead_time": 1, "capacity": 25}]
    limited = run_replication(scenario(data), seed=3, keep_records=True).records
    data["lanes"][0].pop("capacity")
    unlimited = run_replication(scenario(data), seed=3, keep_records=True).records
    assert limited is not None and unlimited is not None
    dep = limited.departed
    assert len(dep) > 190
    assert np.array_equal(dep["time"], limited.replenishments["time"] + 2.0)
    assert np.array_equal(dep["arrival"], dep["time"] + 1.0)
    for table in ("departed", "arrived", "shipped", "replenishments"):
        assert limited.tables[table].raw_rows() == unlimited.tables[table].raw_rows(), table


def _carried_over_exact(lam: float, c: int, n: int = 1500) -> tuple[float, float]:
    """Unit orders at Poisson rate lam a day on a lane of c a day: the units carried over a midnight follow
    Lindley's recursion B' = max(B + A - c, 0) with A ~ Poisson(lam) the day's units (a discrete-time queue
    with daily batch service; Bruneel & Kim 1993, ch. 2). Returns E[B] and the share of units that wait,
    (E[B] - E[(B - c)^+]) / lam: the units that did not fit on their own day, less the carried units that still
    do not fit, from the stationary distribution (power iteration on a chain truncated at n units)."""
    pois = stats.poisson.pmf(np.arange(n), lam)
    pi = np.zeros(n)
    pi[0] = 1.0
    for _ in range(50_000):
        conv = np.convolve(pi, pois)[: n + c]
        new = np.empty(n)
        new[0] = conv[: c + 1].sum()
        new[1:] = conv[c + 1: n + c]
        done = np.abs(new - pi).sum() < 1e-14
        pi = new
        if done:
            break
    k = np.arange(n)
    mean = float((k * pi).sum())
    return mean, (mean - float((np.maximum(k - c, 0) * pi).sum())) / lam


def test_poisson_unit_orders_queue_for_the_lane_as_lindleys_daily_batch_queue() -> None:
    """Unit orders at Poisson rate 8 a day, each reordered one-for-one from a supplier with no lead time over a
    lane of 9 a day: the units waiting at midnight average E[B] = 2.70 and 29.4% of units wait (exact, see
    _carried_over_exact); an unlimited lane (the old code) carries over none."""
    lam, c, horizon, warmup, reps = 8.0, 9, 4000, 100, 10
    data = single_stock_point({"orders_per_day": lam, "quantity": 1}, {"type": "one_for_one", "level": 30},
                              lead_time=0, initial=30, horizon=horizon, warmup=warmup)
    data["lanes"] = [{"from": "S", "to": "W", "lead_time": 1, "capacity": c}]
    sc = scenario(data)
    carried, waited = [], []
    days = np.arange(warmup, horizon)
    for r in range(reps):
        rec = run_replication(sc, seed=5, replication=r, keep_records=True).records
        assert rec is not None
        ready, left = rec.replenishments["time"], rec.departed["time"]
        assert len(ready) == len(left) and np.all(left >= ready)  # unit shipments are never split
        # Waiting at midnight d: ready before d and not yet gone (the carried units leave at d itself).
        carried.append(np.mean(np.searchsorted(ready, days) - np.searchsorted(np.sort(left), days)))
        keep = ready >= warmup
        waited.append(np.mean(left[keep] > ready[keep]))
    mean_b, share = _carried_over_exact(lam, c)
    assert_close_to_theory(np.array(carried), mean_b, "E[units carried over midnight]")
    assert_close_to_theory(np.array(waited), share, "share of units that wait for the lane")


def test_goods_waiting_for_the_lane_at_the_horizon_are_in_transit_and_conserved() -> None:
    """30 units a day over a lane of 25 a day: 5 more wait each day, so at the end of a 40-day run about 200 are
    still at the dock, booked to leave after the horizon. They are the company's stock in transit (the run's
    conservation check passes), and the transport cost of a window counts only what left in it."""
    data = single_stock_point({"daily": 30}, {"type": "base_stock", "level": 60, "review_period": 1},
                              lead_time=0, initial=60, horizon=40, warmup=0)
    data["lanes"] = [{"from": "S", "to": "W", "lead_time": 1, "capacity": 25, "cost_per_unit": 2.0}]
    w = build_world(scenario(data))
    rec = w.run()  # finish() checks units and orders are conserved
    dep = rec.departed
    gone = np.isin(dep["ship_id"], rec.arrived["ship_id"])
    assert w.units_in_transit == dep["qty"][~gone].sum()
    waiting = dep["qty"][dep["time"] >= 40].sum()
    assert 150 <= waiting <= 250
    # Nothing leaves faster than 25 a day, and every day of the run is used to the full after day 0.
    per_day = np.bincount(dep["time"].astype(int), weights=dep["qty"])
    assert np.all(per_day <= 25 + 1e-9) and np.allclose(per_day[1:40], 25)
    result = run_replication(scenario(data), keep_records=False)
    assert result.kpis["transport_cost"] == 2.0 * dep["qty"][dep["time"] < 40].sum()


def test_perishable_goods_keep_ageing_while_they_wait_for_the_lane() -> None:
    """A product that keeps 2 days, 30 units ready at t = 0 on a lane of 10 a day with a half-day transit: the
    parts leave at 0, 1 and 2 and arrive at 0.5, 1.5 and 2.5. Their life started when they were ready, so all
    30 reach their end of life at the close of day 1: the 20 on the shelf are written off then, and the last 10
    as they arrive on day 2 (had their life started as they left, they would keep to the close of day 3)."""
    data = _lane_only(10, lead_time=0.5)
    data["products"] = [product(shelf_life=2)]
    w, rec = _ship_by_hand(data, [(0.0, 30.0)])
    assert _departures(rec) == [(0.0, 10.0, 0.5), (1.0, 10.0, 1.5), (2.0, 10.0, 2.5)]
    assert rec.expired.raw_rows() == [(1, 0, 0, 20.0), (2, 0, 0, 10.0)]
    assert w.units_expired == 30.0 and w.warehouses[0].on_hand == [0.0]


def test_a_warehouse_s_perishable_lots_split_oldest_first_across_the_parts() -> None:
    """A warehouse sends 30 units as 5 expiring on day 3 and 25 on day 5 over a lane of 10 a day: the part that
    leaves first carries the oldest units (first expired, first out), as the shelf issued them."""
    assert split_lots([(3.0, 5.0), (5.0, 25.0)], 10.0) == ([(3.0, 5.0), (5.0, 5.0)], [(5.0, 20.0)])
    assert split_lots([(3.0, 5.0), (5.0, 25.0)], 5.0) == ([(3.0, 5.0)], [(5.0, 25.0)])
    assert split_lots([(3.0, 5.0)], 5.0) == ([(3.0, 5.0)], [])


def test_a_lane_delay_applies_on_the_day_each_part_actually_leaves() -> None:
    """A lane delay of 3 extra days on day 2 only: of three shipments of 30 ready at t = 0 on a lane of 25 a day,
    the two parts that wait until day 2 take 1 + 3 days and the others 1 (an unlimited lane sends all at t = 0,
    before the delay)."""
    data = _lane_only(25)
    data["shocks"] = [{"name": "slow", "type": "lane_delay", "start": 2, "duration": 1,
                       "lane": {"from": "S", "to": "W"}, "extra_days": 3}]
    _, rec = _ship_by_hand(data, [(0.0, 30.0)] * 3)
    assert _departures(rec) == [(0.0, 25.0, 1.0), (1.0, 5.0, 2.0), (1.0, 20.0, 2.0), (2.0, 10.0, 6.0),
                                (2.0, 15.0, 6.0), (3.0, 15.0, 4.0)]


def _two_plants_lanes(cap_a: float | None, cap_b: float | None) -> dict[str, Any]:
    """Plant F supplies warehouses A (6 units a day of demand) and B (2 a day) over lanes of the given capacity;
    B also feeds East (1 a day) over an unlimited lane."""
    def cust(cid: str, wh: str, mean: float) -> dict[str, Any]:
        return {"id": cid, "warehouse": wh, "demand": [{"product": "P", "daily": mean}]}

    stock = {"product": "P", "initial": 20, "source": "F", "policy": {"type": "base_stock", "level": 20}}
    lanes: list[dict[str, Any]] = [{"from": "F", "to": "A", "capacity": cap_a}, {"from": "F", "to": "B",
                                                                                 "capacity": cap_b},
                                   {"from": "B", "to": "East"}]
    return {"name": "lanes", "horizon": 30, "products": [product("P")],
            "customers": [cust("a", "A", 6), cust("b", "B", 2), cust("e", "East", 1)],
            "warehouses": [{"id": "A", "stock": [stock]}, {"id": "B", "stock": [stock]},
                           {"id": "East", "stock": [{**stock, "source": "B"}]}],
            "factories": [{"id": "F", "products": ["P"], "capacity": {"regular": 100}}],
            "lanes": [{k: v for k, v in ln.items() if v is not None} for ln in lanes]}


def test_validate_notes_a_lane_loaded_past_its_capacity() -> None:
    """The lane from F to B carries B's demand and East's (which B feeds): 3 a day. A capacity of 2.5 gets a
    note (120%), 3.5 none; the lane to A, 6 a day on 5, gets one too."""
    notes = dict(scenario_notes(scenario(_two_plants_lanes(5, 2.5))))
    assert "lanes[0].capacity" in notes and "lanes[1].capacity" in notes
    assert "mean of 3 a day of P" in notes["lanes[1].capacity"] and "120%" in notes["lanes[1].capacity"]
    notes = dict(scenario_notes(scenario(_two_plants_lanes(7, 3.5))))
    assert not any(k.startswith("lanes") for k in notes)


def test_the_world_tells_the_planner_what_a_plant_can_ship_a_day() -> None:
    """What the S&OP supply review needs: a plant whose output is split by demand, 6 : 3 between A and B (B's
    3 includes East), can push out 9 a day on a lane to A of 7.5 only up to 7.5 x 9 / 6 = 11.25; with a lane
    to B of 2 as well, 2 x 9 / 3 = 6 binds; with no capacity on its lanes, shipping never limits it (None)."""
    def world(cap_a: float | None, cap_b: float | None) -> World:
        return build_world(scenario(_two_plants_lanes(cap_a, cap_b)))

    w = world(7.5, None)
    assert w.lane_capacities(0) == {0: 7.5, 1: None}
    assert w.shipping_capacity(0) == 11.25
    assert world(7.5, 2).shipping_capacity(0) == 6.0
    assert world(None, None).shipping_capacity(0) is None
