"""Perishable products (``shelf_life``): FIFO issuing, outdating, the expiry cost, and what theory says of them.

A unit expires ``shelf_life`` days after it left its plant or supplier (initial stock: day 0; a day-0 pipeline's
goods: their arrival), keeps its age between warehouses, and is written off at the close of the day its life ends
in (``ceil(departure + shelf_life)``, the end-of-day instant), before that day's snapshot. Warehouses issue the
oldest units first (FIFO), so outdating is the classical perishable-inventory model's (Nahmias 1982, "Perishable
inventory theory: a review", Oper. Res. 30(4)): what is left of a lot when its life ends.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from scipy import stats

from simsop.model.world import World
from simsop.replication import build_world, run_replication
from simsop.scenario import ScenarioError
from tests.helpers import assert_close_to_theory, column, logged_run, rows, scenario, single_stock_point, small_network


def perishable(data: dict[str, Any], shelf_life: float, pid: str = "A") -> dict[str, Any]:
    data = copy.deepcopy(data)
    for p in data["products"]:
        if p["id"] == pid:
            p["shelf_life"] = shelf_life
    return data


# ---------------------------------------------------------------------------------------------- exact event logs


def test_a_lot_expires_at_the_close_of_the_last_day_of_its_life() -> None:
    """10 on hand on day 0 with a shelf life of 5 days and demand 1 a day, never replenished, 8 days.

    The stock is new on day 0, so its life ends at t = 5, the close of day 4: it sells 1 a day on days 0-4 and the
    5 units left are written off at the close of day 4, before its snapshot. Demand on days 5-7 waits (backlog).
    Expiry cost = 5 expired x unit cost 6 = 30, in total cost; units are conserved (the run checks it).
    """
    res, rec = logged_run(perishable(single_stock_point({"daily": 1}, {"type": "none"}, initial=10, horizon=8), 5))
    assert rows(rec, "expired") == [(4, 0, 0, 5.0)]  # (day, warehouse, product, units)
    assert rows(rec, "shipped") == [(d, float(d), 1.0) for d in range(5)]
    assert column(rec, "on_hand") == [9.0, 8.0, 7.0, 6.0, 0.0, 0.0, 0.0, 0.0]
    assert column(rec, "backlog") == [0.0] * 5 + [1.0, 2.0, 3.0]
    k = res.kpis
    assert k["expired_units"] == 5.0
    assert k["expiry_cost"] == 30.0
    parts = ("cogs", "holding_cost", "backorder_cost", "lost_sale_cost", "transport_cost", "overtime_cost",
             "scrap_cost", "expiry_cost", "fixed_cost")
    assert k["total_cost"] == pytest.approx(sum(k[p] for p in parts))


def test_fifo_sells_the_older_lot_first() -> None:
    """Shelf life 4: 3 units on hand on day 0 (life ends at the close of day 3) and a lot of 3 arriving on day 1
    (a day-0 pipeline's goods, new as they arrive: life ends at the close of day 4); demand 1 a day for 6 days.

    FIFO sells the day-0 units on days 0-2 and the newer lot on days 3-5: at the close of day 3 nothing of the
    old lot is left, and at the close of day 4 the newer lot has 1 unit left, written off. (Newest first would
    write off 2 old units at the close of day 3.)
    """
    data = single_stock_point({"daily": 1}, {"type": "none"}, initial=3, horizon=6)
    data["warehouses"][0]["stock"][0]["pipeline"] = {"goods": {1: 3}}
    res, rec = logged_run(perishable(data, 4))
    assert rows(rec, "expired") == [(4, 0, 0, 1.0)]
    assert column(rec, "on_hand") == [2.0, 4.0, 3.0, 2.0, 0.0, 0.0]
    assert column(rec, "backlog") == [0.0] * 5 + [1.0]
    assert res.kpis["expired_units"] == 1.0


@pytest.mark.parametrize(("transit", "expired", "on_hand"), [
    # life from the departure at 0 to the close of day 2: arrives on day 2, sells 1, 4 written off that evening
    (2, [(2, 0, 0, 4.0)], [0.0, 0.0, 0.0, 0.0]),
    # arrives on day 3, its life already over: all 5 written off on arrival, none on hand
    (3, [(3, 0, 0, 5.0)], [0.0, 0.0, 0.0, 0.0]),
])
def test_age_starts_when_the_goods_leave_the_supplier(transit: float, expired: list[tuple[Any, ...]],
                                                      on_hand: list[float]) -> None:
    """One order of 5 on day 0 from a supplier with no lead time over a lane of ``transit`` days; shelf life 3;
    demand 1 a day from day 2 on. The goods' life runs from their departure, not their arrival."""
    data = single_stock_point({"daily": 1, "seasonality": {"pattern": [0, 0, 1, 1], "period": 4}},
                              {"type": "base_stock", "level": 5, "review_period": 4}, lead_time=0, horizon=4,
                              lanes=[{"from": "S", "to": "W", "lead_time": transit}])
    _, rec = logged_run(perishable(data, 3))
    assert rows(rec, "departed") == [(0, 0.0, 1, 0, 0, 5.0, float(transit))]
    assert rows(rec, "expired") == expired
    assert column(rec, "on_hand") == on_hand


def test_goods_keep_their_age_between_warehouses() -> None:
    """DC holds 10 new units on day 0 (shelf life 5: life ends at the close of day 4). Shop orders 4 from DC on
    day 0 (one order, then never again) over a lane of 2 days; nobody buys at Shop. The units reach Shop on day 2
    with the age they had at DC, so Shop writes them off at the close of day 4, as DC writes off its 6."""
    data = single_stock_point({"daily": 0}, {"type": "none"}, initial=10, horizon=8)
    data["warehouses"].append({"id": "Shop", "stock": [
        {"product": "A", "source": "W", "policy": {"type": "base_stock", "level": 4, "review_period": 50}}]})
    data["lanes"] = [{"from": "W", "to": "Shop", "lead_time": 2}]
    _, rec = logged_run(perishable(data, 5))
    assert rows(rec, "expired") == [(4, 0, 0, 6.0), (4, 1, 0, 4.0)]
    assert column(rec, "on_hand", sku=1) == [0.0, 0.0, 4.0, 4.0, 0.0, 0.0, 0.0, 0.0]


def test_shelf_life_is_a_positive_number_of_days() -> None:
    assert scenario(perishable(single_stock_point({"daily": 1}, {"type": "none"}), 2.5)).products[0].shelf_life == 2.5
    assert scenario(single_stock_point({"daily": 1}, {"type": "none"})).products[0].shelf_life is None
    with pytest.raises(ScenarioError, match="shelf_life: Input should be greater than 0"):
        scenario(perishable(single_stock_point({"daily": 1}, {"type": "none"}), 0))


def test_units_are_conserved_with_expiry_in_a_network() -> None:
    """The small network (a plant, a supplier, a central and a regional DC, internal transfers, yield, lost sales)
    with short shelf lives: every replication passes the run's conservation check (start + made + bought =
    shipped + on hand + in transit + scrapped + expired), and the expired records add up to the KPI."""
    data = perishable(perishable(small_network(horizon=200, warmup=0), 3, "A"), 4, "B")
    sc = scenario(data)
    total = 0.0
    for r in range(3):
        res = run_replication(sc, seed=5, replication=r, keep_records=True)
        assert res.records is not None
        exp = res.records.expired
        assert res.kpis["expired_units"] == pytest.approx(float(exp["qty"].sum()))
        assert res.kpis["expiry_cost"] == pytest.approx(
            float((exp["qty"] * np.array([6.0, 7.0])[exp["product"].astype(int)]).sum()))
        total += res.kpis["expired_units"]
    assert total > 0


@pytest.mark.parametrize("allocation", ["fcfs", "priority", "fair_share"])
def test_lots_match_the_stock_at_every_close(allocation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under every allocation rule, with backlogs and internal transfers (East orders from DC), at each day's close
    after the write-offs: the lots of a perishable item hold exactly its stock on hand, oldest first, and none of
    them is past its life."""
    data = perishable(perishable(small_network(horizon=150, warmup=0), 3, "A"), 4, "B")
    for w in data["warehouses"]:
        w["allocation"] = allocation
    checked = []
    original = World.snapshot

    def checking(self: World, day: int) -> None:
        original(self, day)
        for wh in self.warehouses:
            for item in wh.perishable:
                lots = list(wh.lots[item] or [])
                assert sum(q for _, q in lots) == pytest.approx(wh.on_hand[item], abs=1e-6)
                assert [e for e, _ in lots] == sorted(e for e, _ in lots)
                assert all(e > day + 1 for e, _ in lots)
                checked.append(len(lots))

    monkeypatch.setattr(World, "snapshot", checking)
    build_world(scenario(data), seed=2).run()
    assert len(checked) == 150 * 3 and max(checked) >= 2


# ---------------------------------------------------------------------------------------------- theory


@pytest.mark.parametrize(("q", "d", "m", "t"), [(10, 1, 5, 7), (20, 3, 4, 6), (9, 2, 6, 7), (12, 2, 6, 8)])
def test_periodic_fixed_order_outdates_q_minus_demand_over_the_life(q: int, d: int, m: int, t: int) -> None:
    """An order of Q every T days (order up to Q from nothing: the last lot is gone by each review when m < T),
    lead time 1, deterministic demand d a day, lost sales, shelf life m < T: each lot sells d a day for m days and
    max(Q - d m, 0) of it outdates, cycle after cycle (the deterministic case of Nahmias' model)."""
    cycles = 6
    data = single_stock_point({"daily": d}, {"type": "base_stock", "level": q, "review_period": t}, lead_time=1,
                              horizon=cycles * t, unmet="lost_sale")
    _, rec = logged_run(perishable(data, m))
    expected = [(k * t + m, 0, 0, float(q - d * m)) for k in range(cycles) if k * t + m < cycles * t]
    assert rows(rec, "expired") == (expected if q > d * m else [])


def nahmias_outdating(q: int, lam: float) -> float:
    """Expected units outdating a day with a fixed order of Q arriving every morning, Poisson(lam) demand, lost
    sales, FIFO, lifetime 2 days (Nahmias & Pierskalla 1973): the exact value, from the Markov chain of the units
    one day old left at the end of a day, x' = max(Q - max(D - x, 0), 0); what outdates on a day is max(x - D, 0)."""
    states = np.arange(q + 1)
    dmax = 2 * q + int(stats.poisson.ppf(1 - 1e-15, lam)) + 1
    pmf = stats.poisson.pmf(np.arange(dmax + 1), lam)
    pmf[-1] += stats.poisson.sf(dmax, lam)
    p = np.zeros((q + 1, q + 1))
    for x in states:
        nxt = np.maximum(q - np.maximum(np.arange(dmax + 1) - x, 0), 0)
        np.add.at(p[x], nxt, pmf)
    w, v = np.linalg.eig(p.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1))])
    pi /= pi.sum()
    out = np.array([(pmf * np.maximum(x - np.arange(dmax + 1), 0)).sum() for x in states])
    return float(pi @ out)


@pytest.mark.parametrize(("q", "lam"), [(6, 5.0), (8, 5.0)])
def test_poisson_outdating_with_a_two_day_life_matches_the_markov_chain(q: int, lam: float) -> None:
    """A lot of Q every morning (a day-0 pipeline's goods, new as they arrive), Poisson(lam) daily demand with
    lost sales, shelf life 2: the mean units outdating a day are the Markov chain's exact value, within 4
    standard errors of 12 replications' mean."""
    horizon, warmup = 1200, 20
    data = single_stock_point({"daily": {"dist": "poisson", "mean": lam}}, {"type": "none"}, horizon=horizon,
                              warmup=warmup, unmet="lost_sale")
    data["warehouses"][0]["stock"][0]["pipeline"] = {"goods": {day: q for day in range(horizon)}}
    sc = scenario(perishable(data, 2))
    per_day = np.array([run_replication(sc, seed=11, replication=r).kpis["expired_units"] / (horizon - warmup)
                        for r in range(12)])
    exact = nahmias_outdating(q, lam)
    assert exact > 0.1
    assert_close_to_theory(per_day, exact, f"outdating a day, Q={q}, Poisson({lam:g}), life 2")


# ---------------------------------------------------------------------------------------------- notes


def notes_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    from simsop.scenario_notes import scenario_notes

    return scenario_notes(scenario(data))


def test_notes_flag_a_shelf_life_the_replenishment_outlasts() -> None:
    """Goods 3 days on the lane with a 2-day life all arrive expired; with a 4-day life and a review every 5
    days, each order's last days expire unsold. A 10-day life with daily reviews draws no note."""
    def case(m: float, review: int, level: float = 6) -> list[tuple[str, str]]:
        return notes_of(perishable(single_stock_point(
            {"daily": 2}, {"type": "base_stock", "level": level, "review_period": review}, lead_time=0,
            lanes=[{"from": "S", "to": "W", "lead_time": 3}]), m))

    assert case(2, 1) == [("warehouses[0].stock[0]", "A keeps 2 days, but reaches W 3 days after it leaves S and is "
                           "reordered every 1 day: every unit expires before it can sell")]
    (key, text), = case(4, 5)
    assert key == "warehouses[0].stock[0]" and "each order must last 5 days" in text
    assert case(10, 1) == []


def test_notes_flag_a_stock_level_demand_cannot_take_within_the_shelf_life() -> None:
    """Order up to 30 with demand 2 a day, a 2-day lead time and 8 days of life left on arrival: demand takes
    about 2 x (2 + 8) = 20, so 10 units above that outdate; a level of 20 draws no note. An S&OP plan's days of
    cover longer than a made product's life is flagged too."""
    def case(level: float) -> list[tuple[str, str]]:
        return notes_of(perishable(single_stock_point(
            {"daily": 2}, {"type": "base_stock", "level": level}, lead_time=0,
            lanes=[{"from": "S", "to": "W", "lead_time": 2}]), 10))

    (key, text), = case(30)
    assert key == "warehouses[0].stock[0].policy"
    assert "demand takes about 20" in text and "the 10 units above that expire" in text
    assert case(20) == []
    data = perishable(small_network(), 5)
    data["planning"] = {"policy": "level", "days_of_cover": 14}
    assert any(k == "products[0].shelf_life" and "14 days of cover" in t for k, t in notes_of(data))
