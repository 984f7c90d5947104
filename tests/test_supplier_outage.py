"""The supplier outage shock: a supplier accepts no order while it is on, then accepts the orders it held, in the
order they came, and a capacity-limited one works them off at its capacity from then.

Timing (simsop/model/world.py): shocks switch at the start of a day (before the receipts and the reviews), so an
outage from day s for D days holds every order that reaches the supplier at t in [s, s + D) and accepts them at
t = s + D; an order accepted at t leaves the supplier at t + lead time (no lane here, so it arrives then too).
A daily review at t = d orders what was sold on day d - 1 (base stock: the position after each review is the
level S), and a day's snapshot is its end-of-day state, taken before the next day's receipts.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from simsop.replication import run_replication
from simsop.scenario import ScenarioError
from simsop.shocks import ShockGrid, apply_shocks, expand_grid, realise
from simsop.streams import Streams
from tests.helpers import assert_close_to_theory, column, logged_run, rows, scenario, single_stock_point


def outage(start: int = 5, duration: Any = 4, **kw: Any) -> dict[str, Any]:
    return {"name": "out", "type": "supplier_outage", "supplier": "S", "start": start, "duration": duration, **kw}


def steady(horizon: int = 16, **supplier: Any) -> dict[str, Any]:
    """Demand 3 a day, order up to 10 every morning from supplier S (lead time 2), 10 on hand at the start."""
    data = single_stock_point({"daily": 3}, {"type": "base_stock", "level": 10, "review_period": 1}, lead_time=2,
                              initial=10, horizon=horizon)
    data["suppliers"][0].update(supplier)
    return data


def shocked(data: dict[str, Any], *shocks: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["shocks"] = list(shocks)
    return out


# ---------------------------------------------------------------------------------------------- exact event logs


def test_orders_placed_in_the_outage_wait_for_its_end_and_earlier_orders_keep_their_dates() -> None:
    """Outage on days 5-8. Without it every order of day d (3 units, from day 1) arrives at d + 2 and the shelf
    ends each day with 1. With it: the orders of days 3 and 4, accepted before, still arrive on days 5 and 6
    (inside the outage); those of days 5-8 wait and are accepted at t = 9, so they arrive at 9 + 2 = 11 in the
    order placed, with the order of day 9 (accepted at once, also due at 11). Days 7-10 run short: the backlog
    grows by 3 a day from 2 (1 on hand against 3 sold on day 7), and the 15 units of day 11 clear it."""
    res, rec = logged_run(shocked(steady(), outage()))
    # (ro_id, time, warehouse, product, qty, source site): the warehouse goes on ordering every day
    assert rows(rec, "replenishments") == [(d - 1, float(d), 0, 0, 3.0, 1) for d in range(1, 16)]
    # (ship_id, departure, source site, warehouse, product, qty, arrival)
    before = [(d - 1, d + 2.0, 1, 0, 0, 3.0, d + 2.0) for d in range(1, 5)]
    held = [(d - 1, 11.0, 1, 0, 0, 3.0, 11.0) for d in range(5, 9)]
    after = [(d - 1, d + 2.0, 1, 0, 0, 3.0, d + 2.0) for d in range(9, 16)]
    assert rows(rec, "departed") == before + held + after
    assert [a for _, a in rows(rec, "arrived")] == [3.0, 4.0, 5.0, 6.0] + [11.0] * 5 + [12.0, 13.0, 14.0, 15.0]
    assert column(rec, "backlog") == [0.0] * 7 + [2.0, 5.0, 8.0, 11.0] + [0.0] * 5
    assert column(rec, "on_hand") == [7.0, 4.0] + [1.0] * 5 + [0.0] * 4 + [1.0] * 5
    # Held orders are on order at the warehouse all along (its position stays at the level).
    assert column(rec, "on_order") == [0.0, 3.0] + [6.0] * 5 + [9.0, 12.0, 15.0, 18.0] + [6.0] * 5
    assert rows(rec, "shocks") == [("out", "supplier_outage", 5.0, 9.0, 9.0)]
    assert res.kpis["max_backlog"] == 11.0


def test_a_capacity_limited_supplier_works_the_queue_off_at_its_rate_from_the_end() -> None:
    """Capacity 6 a day, orders of 3: before the outage each order is ready half a day after it is placed
    (d + 0.5, leaving at d + 2.5). The 12 units held on days 5-8 are worked off from t = 9 at 6 a day: ready at
    9.5, 10, 10.5, 11 (in the order placed); the orders of days 9-13 queue behind them (ready 11.5 ... 13.5, half a
    day apart, as the supplier makes 3 units in half a day) until the queue is gone: day 14's is ready at 14.5."""
    _, rec = logged_run(shocked(steady(capacity=6), outage()))
    ready = ([d + 0.5 for d in range(1, 5)] + [9.5, 10.0, 10.5, 11.0] + [11.5, 12.0, 12.5, 13.0, 13.5]
             + [14.5, 15.5])
    assert [r[1] for r in rows(rec, "departed")] == [t + 2.0 for t in ready]
    assert column(rec, "backlog") == [0.0] * 7 + [2.0, 5.0, 8.0, 11.0, 11.0, 8.0, 5.0, 2.0, 0.0]


def test_an_order_reaching_the_supplier_in_the_outage_waits_though_placed_before_it() -> None:
    """A lane with an order delay of 1 day: the order placed on day 4 reaches the supplier on day 5, inside the
    outage, and waits with the others; the one placed on day 8 reaches it on day 9, after the outage, and is
    accepted after those it held (all leave at 9 + 2 = 11)."""
    data = steady()
    data["lanes"] = [{"from": "S", "to": "W", "lead_time": 0, "order_delay": 1}]
    _, rec = logged_run(shocked(data, outage()))
    departed = rows(rec, "departed")
    assert [r[1] for r in departed] == [d + 3.0 for d in range(1, 4)] + [11.0] * 5 + [d + 3.0 for d in range(9, 15)]
    assert [r[0] for r in departed] == list(range(14))  # accepted in the order placed


@pytest.mark.parametrize("delay_first", [True, False])
def test_held_orders_take_the_lead_time_shock_in_force_on_the_day_the_outage_ends(delay_first: bool) -> None:
    """A supplier_delay of +4 days on days 9-11: the orders accepted on day 9, the four held ones included, take
    2 + 4 = 6 days (leave at 15), whatever the order of the two shocks in the file."""
    delay = {"name": "late", "type": "supplier_delay", "supplier": "S", "start": 9, "duration": 3, "extra_days": 4}
    shocks = (delay, outage()) if delay_first else (outage(), delay)
    _, rec = logged_run(shocked(steady(), *shocks))
    assert [r[1] for r in rows(rec, "departed")][3:12] == [6.0] + [15.0] * 5 + [16.0, 17.0, 14.0]


def test_an_outage_past_the_horizon_holds_its_orders_to_the_end() -> None:
    """Orders still held at the horizon never entered the company's books (the run's unit balance holds)."""
    res, rec = logged_run(shocked(steady(horizon=12), outage(duration=30)))
    assert [r[1] for r in rows(rec, "departed")] == [3.0, 4.0, 5.0, 6.0]
    assert column(rec, "on_order")[-1] == 21.0 and res.kpis["max_backlog"] == 3 * 5 - 1


def test_a_zero_day_outage_changes_nothing_and_is_noted() -> None:
    """Duration 0 is the neutral strength (a grid's reference): the run is the one without the shock, and the
    notes say the shock changes nothing; a random duration that draws less than a day lasts a day."""
    from simsop.scenario_notes import scenario_notes

    _, plain = logged_run(steady())
    sc = scenario(shocked(steady(), outage(duration=0)))
    _, rec = logged_run(shocked(steady(), outage(duration=0)))
    assert rows(rec, "departed") == rows(plain, "departed")
    assert ("shocks[0]", "shock 'out' changes nothing: its duration is 0 days") in scenario_notes(sc, ["none"])
    brief = scenario(shocked(steady(), outage(duration={"dist": "uniform", "low": 0, "high": 0.4})))
    assert {r.duration for rep in range(20) for r in realise(brief.shocks, Streams(1, rep), 16)} == {1}


# ---------------------------------------------------------------------------------------------- random numbers


def test_a_random_outage_draws_from_its_own_stream_and_leaves_every_other_draw_alone() -> None:
    """Common random numbers: the outage's start and duration come from 'shock:out' alone (the same with another
    shock beside it), the customers' orders are those of the run without it, and each replenishment order takes
    the lead time it takes without the outage, counted from when the supplier accepts it."""
    data = single_stock_point({"daily": {"dist": "poisson", "mean": 4}}, {"type": "base_stock", "level": 20},
                              lead_time={"dist": "uniform", "low": 1, "high": 3}, initial=20, horizon=60)
    shock = outage(start=None, window=[10, 30], duration={"dist": "uniform", "low": 3, "high": 12})
    del shock["start"]
    sc = scenario(shocked(data, shock))
    other = scenario(shocked(data, {"name": "dip", "type": "demand_step", "start": 5, "magnitude": -0.5}, shock))
    base = scenario(data)
    durations = set()
    for rep in range(4):
        mine = realise(sc.shocks, Streams(9, rep), 60)[0]
        assert realise(other.shocks, Streams(9, rep), 60)[1] == mine
        durations.add(mine.duration)
        with_out = run_replication(sc, seed=9, replication=rep, keep_records=True).records
        without = run_replication(base, seed=9, replication=rep, keep_records=True).records
        assert with_out is not None and without is not None
        assert rows(with_out, "orders") == rows(without, "orders")
        placed = with_out.replenishments["time"]
        accepted = np.where((placed >= mine.start) & (placed < mine.end), mine.end, placed)
        lead = with_out.departed["time"] - accepted
        # The k-th order the supplier accepts takes the k-th lead time it draws, as without the outage.
        ref = without.departed["time"] - without.replenishments["time"]
        assert np.allclose(lead, ref[:len(lead)])
    assert len(durations) > 1


# ---------------------------------------------------------------------------------------------- theory


def test_the_backlog_before_the_first_arrival_after_the_outage_matches_poisson_theory() -> None:
    """Poisson(lam) a day, base stock S reviewed every morning, deterministic lead time L, outage of D days from
    day s. The position after the review of day s - 1 is S and covers the demand of days s - 1 onwards; the next
    order to arrive (those of days s .. s + D, all accepted at s + D) comes at s + D + L. So the backlog at the
    end of day s + D + L - 1, just before it, is (N - S)^+ with N the demand of days s - 1 .. s + D + L - 1:
    N ~ Poisson(lam (D + L + 1)) (the + 1 is the review period, as in the textbook P(D(R + L) <= S)). Its mean
    E[(N - S)^+] is summed exactly over the Poisson law, and the simulated mean must be within 4 standard errors."""
    lam, S, L, D, s = 5.0, 30, 3, 5, 10
    data = single_stock_point({"daily": {"dist": "poisson", "mean": lam}},
                              {"type": "base_stock", "level": S, "review_period": 1}, lead_time=L, initial=S,
                              horizon=s + D + L + 2)
    sc = scenario(shocked(data, outage(start=s, duration=D)))
    day = s + D + L - 1
    backlog = []
    for rep in range(600):
        rec = run_replication(sc, seed=5, replication=rep, keep_records=True).records
        assert rec is not None
        backlog.append(rec.snapshots.backlog[day, 0])
    n = np.arange(400)
    p = stats.poisson.pmf(n, lam * (D + L + 1))
    exact = float((np.maximum(n - S, 0) * p).sum())
    assert_close_to_theory(np.array(backlog), exact, "E[(N - S)^+]")
    assert_close_to_theory((np.array(backlog) > 0).astype(float), float(stats.poisson.sf(S, lam * (D + L + 1))),
                           "P(N > S)")


# ---------------------------------------------------------------------------------------------- stress test


def test_simsop_stress_judges_an_outage_against_the_same_futures_without_it(tmp_path: Path) -> None:
    """A grid of outage lengths (0 and 10 days from day 40) through `simsop stress`: the 10-day case records
    its window (days 40-49 in shocks.csv), its shock KPIs are measured, and its paired effect on the peak
    backlog and the units lost is positive and significant (with S = 30 for 3 days of lead time, the backlog
    stays near 0 without it); the 0-day case is noted as changing nothing and its paired effect is exactly 0."""
    from click.testing import CliRunner

    from simsop.cli import main

    data = single_stock_point({"daily": {"dist": "poisson", "mean": 5}},
                              {"type": "base_stock", "level": 30, "review_period": 1}, lead_time=3, initial=30,
                              horizon=150)
    data["customers"][0]["patience"] = 4
    f = tmp_path / "shop.yaml"
    f.write_text(yaml.safe_dump(data), encoding="utf-8")
    shocks = tmp_path / "outages.yaml"
    shocks.write_text(yaml.safe_dump({"grid": {"shock": outage(start=40, duration=10), "strength": [0, 10]}}),
                      encoding="utf-8")
    out = tmp_path / "st"
    r = CliRunner().invoke(main, ["stress", str(f), "--shocks", str(shocks), "-n", "6", "--seed", "2",
                                  "--executor", "serial", "--out", str(out), "--no-report"])
    assert r.exit_code == 0, r.output
    assert "shock 'out' changes nothing: its duration is 0 days" in r.output
    assert "outx10" in r.output
    windows = pd.read_csv(out / "shocks.csv")
    ten = windows[windows["case"] == "outx10"]
    assert len(ten) == 6 and (ten["start"] == 40).all() and (ten["end"] == 50).all()
    eff = pd.read_csv(out / "paired_cases.csv").set_index(["case", "kpi"])
    for kpi in ("shock_peak_backlog", "shock_lost_units"):
        row = eff.loc[("outx10", kpi)]
        assert row["mean_diff"] > 0 and row["ci_low"] > 0 and row["significant"], (kpi, row)
        zero = eff.loc[("outx0", kpi)]
        assert zero["mean_diff"] == 0 and zero["ci_low"] == zero["ci_high"] == 0, (kpi, zero)


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("shock", "where", "says"), [
    (outage(supplier="Nobody"), "shocks[0].supplier", "unknown supplier 'Nobody'; expected one of ['S']"),
    ({**outage(), "supplier": "W"}, "shocks[0].supplier", "'W' is a warehouse"),
    ({k: v for k, v in outage().items() if k != "supplier"}, "shocks[0].supplier", "required key is missing"),
    ({k: v for k, v in outage().items() if k != "duration"}, "shocks[0].duration", "required key is missing"),
    (outage(duration=0.4), "shocks[0].duration", "a shock lasts at least 1 day"),
    (outage(recovery="ramp", recovery_days=5), "shocks[0]",
     "a supplier_outage has no recovery (it ends at once, then the supplier works off the orders it held)"),
    (outage(extra_days=3), "shocks[0].extra_days", "unknown key 'extra_days'"),
])
def test_bad_outages_name_their_key(shock: dict[str, Any], where: str, says: str) -> None:
    with pytest.raises(ScenarioError) as err:
        apply_shocks(scenario(steady()), [shock])
    msg = str(err.value)
    assert f"{where}: " in msg and says in msg, msg


def test_a_grid_of_outage_lengths_names_a_bad_length_by_its_index() -> None:
    grid = ShockGrid.model_validate({"shock": outage(), "strength": [0, 7, 0.5]})
    with pytest.raises(ScenarioError) as err:
        expand_grid(grid)
    assert "grid.strength[2]" in str(err.value) and "at least 1 day" in str(err.value)
    assert [c.name for c in expand_grid(ShockGrid.model_validate({"shock": outage(), "strength": [0, 7]}))] == [
        "outx0", "outx7"]


def test_naming_a_factory_as_the_supplier_says_which_shocks_fit_a_factory() -> None:
    from tests.test_shocks import plant

    with pytest.raises(ScenarioError) as err:
        apply_shocks(scenario(plant()), [{**outage(), "supplier": "F"}])
    assert ("shocks[0].supplier: unknown supplier 'F' ('F' is a factory: factory_outage and capacity_loss shock a "
            "factory, lane_delay its deliveries); the scenario has no suppliers") in str(err.value)
