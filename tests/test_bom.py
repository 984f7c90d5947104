"""Bills of materials (``factories[].bom`` with ``materials``): a plant consumes components from its materials store.

Timing (simsop/model/world.py): on day d the receipts come first, then the warehouses' reviews (in file order), then
the plants' work; what a rate plant makes on day d leaves it at d + 1. The store's issues are its demand, so a
daily base-stock review at d orders what the plant took on day d - 1, and it arrives at d + L.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy import stats

from simsop.replication import build_world, run_replication
from simsop.scenario import ScenarioError
from tests.helpers import assert_close_to_theory, scenario


def company(store_level: float = 30, store_initial: float = 30, lead_time: Any = 2, horizon: int = 12,
            a_level: float = 1000, a_demand: Any = 0, capacity: dict[str, Any] | None = None,
            factory: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """Plant P makes A from 2 x C; DC stocks A (base stock ``a_level``, from P, no lane time), Store stocks C at the
    plant (base stock ``store_level`` reviewed daily, from supplier S with ``lead_time``)."""
    plant = {"id": "P", "products": ["A"], "capacity": capacity or {"regular": 10}, "bom": {"A": {"C": 2}},
             "materials": "Store"}
    if factory is not None:
        plant = {k: v for k, v in plant.items() if k != "capacity"} | factory
    data: dict[str, Any] = {
        "name": "bom", "horizon": horizon,
        "products": [{"id": "A", "price": 10, "unit_cost": 5, "holding_cost": 0.01},
                     {"id": "C", "price": 1, "unit_cost": 1, "holding_cost": 0.1}],
        "customers": [{"id": "c", "warehouse": "DC", "demand": [{"product": "A", "daily": a_demand}]}],
        "warehouses": [
            {"id": "DC", "stock": [{"product": "A", "source": "P",
                                    "policy": {"type": "base_stock", "level": a_level, "review_period": 1}}]},
            {"id": "Store", "stock": [{"product": "C", "initial": store_initial, "source": "S",
                                       "policy": {"type": "base_stock", "level": store_level, "review_period": 1}}]},
        ],
        "factories": [plant],
        "suppliers": [{"id": "S", "lead_time": lead_time}],
        "lanes": [{"from": "P", "to": "DC"}],
    }
    data.update(extra)
    return data


def run(data: dict[str, Any]) -> tuple[Any, Any]:
    sc = scenario(data)
    world = build_world(sc)
    rec = world.run()
    return sc, rec


# ---------------------------------------------------------------------------------------------- exact event logs


def test_rate_plant_makes_what_its_components_allow_day_by_day() -> None:
    """Capacity 10 a day, 2 C a unit, Store starts with 30 C and orders up to 30 each morning (lead time 2); DC's
    order of 1000 A on day 0 keeps the plant busy. By hand (C at the start of the day's work -> A made, C left):

    day 0: 30 -> 10 made (20 C), 10 left.   Review of day 1 orders 20 (arrives day 3).
    day 1: 10 -> 5 made, 5 short, 0 left.   Review of day 2: position 0 + 20 -> orders 10 (arrives day 4).
    day 2: 0 -> 0 made, 10 short.           Review of day 3: 20 arrived, position 20 + 10 = 30: no order.
    day 3: 20 -> 10 made, 0 left.           Review of day 4: 10 arrived, position 10 -> orders 20 (day 6).
    day 4: 10 -> 5 made, 5 short.           Day 5: position 0 + 20 -> orders 10 (day 7); 0 made, 10 short.

    and so on every three days: 10, 5, 0 A, i.e. 5 a day. That is the closed loop's throughput: the 30 C of the
    base stock go round the store and its lead time in L + 1 = 3 days (Little's law: 30 / 3 = 10 C a day, 5 A).
    C ends day 0 with 10 and every later day with 0."""
    sc, rec = run(company())
    made = [r.busy_time for r in rec.factory_days.rows()]
    assert made == [10.0, 5.0, 0.0] * 4
    assert rec.snapshots.on_hand[:, 1].tolist() == [10.0] + [0.0] * 11  # Store's C, end of day
    issued = [(r.time, r.warehouse, sc.products[r.product].id, r.qty) for r in rec.materials_issued.rows()]
    assert issued == [(float(d), 1, "C", 2 * made[d]) for d in range(12) if made[d] > 0]
    short = [(r.time, sc.products[r.product].id, r.qty, sc.products[r.component].id)
             for r in rec.material_short.rows()]
    assert short == [(float(d), "A", 10.0 - made[d], "C") for d in range(12) if made[d] < 10]
    store_orders = [(r.time, r.qty) for r in rec.replenishments.rows() if r.warehouse == 1]
    assert store_orders == [(float(d), 20.0 if d % 3 == 1 else 10.0) for d in range(1, 12) if d % 3 != 0]
    # The factory day records the capacity used: a shortage is idle time, not overtime.
    assert [r.overtime_used for r in rec.factory_days.rows()] == [0.0] * 12
    k = run_replication(sc).kpis
    assert k["material_short_units"] == sum(10.0 - m for m in made) == 60.0
    assert k["utilization"] == 0.5
    # C's stock is held at its own holding cost (10 C at 0.1 on day 0) besides A's at DC.
    a_days = float(rec.snapshots.on_hand[:, 0].sum())
    assert k["holding_cost"] == pytest.approx(0.1 * 10 + 0.01 * a_days, rel=1e-12)
    # COGS stays the finished product's unit cost: nothing is sold here, and the components are not charged again.
    assert k["cogs"] == 0.0


def test_supplier_outage_on_the_component_stops_the_plant_until_the_held_orders_arrive() -> None:
    """Store's level 60 covers the plant's 20 C a day over the lead time and review (3 days): 10 A every day.
    S stops on days 5-8: the orders of days 1-4 (accepted) arrive on days 3-6, so the plant makes 10 a day
    through day 6 and C runs out; the orders of days 5, 6 and 7 (20 each) wait and are accepted at 9, arriving
    together at 11 (day 8's review sees all 60 on order and orders nothing). Days 7-10 make nothing (10 short a
    day, C bound), and day 11's receipt restarts the plant at full rate; the store reorders what it issues again
    from day 12 (20 a day, arriving from day 14)."""
    shock = {"name": "flood", "type": "supplier_outage", "supplier": "S", "start": 5, "duration": 4}
    sc, rec = run(company(store_level=60, store_initial=60, horizon=16, shocks=[shock]))
    made = [r.busy_time for r in rec.factory_days.rows()]
    assert made == [10.0] * 7 + [0.0] * 4 + [10.0] * 5
    assert rec.snapshots.on_hand[:, 1].tolist() == [40.0, 20.0] + [0.0] * 9 + [40.0, 20.0, 0.0, 0.0, 0.0]
    short = [(r.time, r.qty, sc.products[r.component].id) for r in rec.material_short.rows()]
    assert short == [(float(d), 10.0, "C") for d in range(7, 11)]
    arrivals = sorted(r.arrival for r in rec.departed.rows() if r.warehouse == 1)
    assert arrivals == [3.0, 4.0, 5.0, 6.0, 11.0, 11.0, 11.0, 14.0, 15.0, 16.0, 17.0]


def test_a_line_waits_for_its_components_and_starts_on_their_receipt() -> None:
    """One line, a job takes 1 day whatever its size. DC orders 5 A on day 0 (10 C); Store has 4 and orders 6 on
    day 0 (lead time 3). The line is free but passes the job over (recorded short once, 5 units, C binding),
    waits, and starts it when the 6 C arrive at t = 3, issuing all 10; the 5 A reach DC at t = 4. The issue comes
    before the store's review of day 3, which orders the 10 back (they arrive at t = 6)."""
    plant = {"lines": 1, "processing_time": 1, "processing_per": "order"}
    _, rec = run(company(store_level=10, store_initial=4, lead_time=3, a_level=5, horizon=8, factory=plant))
    assert [(r.time, r.qty) for r in rec.production_started.rows()] == [(3.0, 5.0)]
    assert [(r.time, r.good) for r in rec.production_finished.rows()] == [(4.0, 5.0)]
    assert [(r.time, r.qty) for r in rec.materials_issued.rows()] == [(3.0, 10.0)]
    assert [(r.time, r.qty, r.component) for r in rec.material_short.rows()] == [(0.0, 5.0, 1)]
    assert rec.snapshots.on_hand[:, 1].tolist() == [4.0, 4.0, 4.0, 0.0, 0.0, 0.0, 10.0, 10.0]
    assert rec.snapshots.on_hand[:, 0].tolist() == [0.0] * 4 + [5.0] * 4


def test_a_short_job_keeps_its_place_and_capacity_goes_to_the_next_product() -> None:
    """P makes A (2 C a unit) and B (no components): with no C at all, the day's 10 units of capacity pass the A job
    at the head of the queue (10 short) and make B, queued behind it; A is still first in the queue."""
    data = company(store_level=0, store_initial=0, horizon=1)
    data["products"].append({"id": "B", "price": 10, "unit_cost": 5})
    data["factories"][0]["products"] = ["A", "B"]
    data["warehouses"][0]["stock"].append({"product": "B", "source": "P",
                                           "policy": {"type": "base_stock", "level": 10, "review_period": 1}})
    data["customers"][0]["demand"].append({"product": "B", "daily": 0})
    sc = scenario(data)
    world = build_world(sc)
    rec = world.run()
    assert [(sc.products[r.product].id, r.qty) for r in rec.production_started.rows()] == [("B", 10.0)]
    assert [(r.qty, sc.products[r.product].id) for r in rec.material_short.rows()] == [(10.0, "A")]
    assert [sc.products[j.product].id for j in world.factories[0].queue] == ["A"]


# ---------------------------------------------------------------------------------------------- theory


def test_component_store_base_stock_matches_theory_for_the_dependent_demand() -> None:
    """Customers buy Poisson(4) A a day at DC, which reorders it daily from P (capacity never binding): the plant
    makes on day d what was sold on d - 1 and takes 2 C a unit. Store orders up to S = 60 C daily, lead time 2, so
    (with no shortage of C) its end-of-day stock is S minus the issues of the last L + 1 = 3 days:
    on hand = (S - 2 N)^+, N ~ Poisson(3 x 4), E = sum_n (60 - 2n)^+ P(N = n) = 36.0000 (P(2N > 60) ~ 1e-5).
    The mean over 20 replications is within 4 standard errors; the issues' daily mean is 2 x 4 = 8 C."""
    data = company(store_level=60, store_initial=60, horizon=420, a_level=40, a_demand={"dist": "poisson", "mean": 4},
                   capacity={"regular": 1000}, warmup=20)
    sc = scenario(data)
    n = np.arange(0, 31)
    exact = float(((60 - 2 * n) * stats.poisson.pmf(n, 12)).sum())
    on_hand, issued = [], []
    for r in range(20):
        world = build_world(sc, seed=5, replication=r)
        rec = world.run()
        on_hand.append(rec.snapshots.on_hand[20:, 1].mean())
        t = rec.materials_issued["time"]
        issued.append(rec.materials_issued["qty"][t >= 20].sum() / 400)
    assert_close_to_theory(np.array(on_hand), exact, "Store's mean C on hand")
    assert_close_to_theory(np.array(issued), 8.0, "C issued a day")


# ---------------------------------------------------------------------------------------------- no bill of materials


def test_a_plant_without_a_bom_records_no_materials_and_an_ample_bom_changes_no_output() -> None:
    """Without a bill of materials there are no material tables and nothing is short (the goldens check every
    shipped scenario to the bit); with components always on hand, A's production is the same as without."""
    data = company(store_level=10_000, store_initial=10_000, horizon=60, a_level=40,
                   a_demand={"dist": "poisson", "mean": 6})
    plain = copy.deepcopy(data)
    del plain["factories"][0]["bom"], plain["factories"][0]["materials"]
    _, rec0 = run(plain)
    _, rec1 = run(data)
    assert "materials_issued" not in rec0.tables and "material_short" not in rec0.tables
    assert rec1.production_started.rows() == rec0.production_started.rows()
    assert rec1.factory_days.rows() == rec0.factory_days.rows()
    assert len(rec1.material_short) == 0
    # Without a bill of materials nothing is measured (nan, left out of the tables), with an ample one 0.
    assert math.isnan(run_replication(scenario(plain)).kpis["material_short_units"])
    assert run_replication(scenario(data)).kpis["material_short_units"] == 0.0


# ---------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("change", "path", "words"), [
    (lambda d: d["factories"][0].pop("materials"), "factories[0].materials", "needs 'materials'"),
    (lambda d: d["factories"][0].update(materials="Nowhere"), "factories[0].materials", "unknown warehouse"),
    (lambda d: d["factories"][0].pop("bom"), "factories[0].materials", "goes with a 'bom'"),
    (lambda d: d["factories"][0]["bom"].update(A={"X": 1}), "factories[0].bom.A.X", "unknown product 'X'"),
    (lambda d: d["factories"][0]["bom"].update(A={"A": 1}), "factories[0].bom.A.A", "makes 'A' itself"),
    (lambda d: d["factories"][0]["bom"].update(C={"C": 1}), "factories[0].bom.C", "does not make 'C'"),
    (lambda d: d["factories"][0]["bom"].update(A={"C": 0}), "factories[0].bom.A.C", "greater than 0"),
    (lambda d: d["factories"][0].update(materials="DC"), "factories[0].bom.A.C", "does not stock 'C'"),
])
def test_bad_bills_of_materials_name_the_key(change: Any, path: str, words: str) -> None:
    data = company()
    change(data)
    with pytest.raises(ScenarioError) as err:
        scenario(data)
    assert f"{path}: " in str(err.value) and words in str(err.value), str(err.value)


def test_validate_notes_that_plans_do_not_check_materials_and_components_never_reordered() -> None:
    """The S&OP supply review does not check materials yet: run with a plan, the scenario says so at the bom's key;
    a component its store never reorders is noted (the plant stops when the first stock is gone)."""
    from simsop.scenario_notes import scenario_notes

    sc = scenario(company())
    assert not [w for w, _ in scenario_notes(sc) if "bom" in w]  # no plan (policy none): nothing to say
    notes = dict(scenario_notes(sc, policies=["chase"]))
    assert "material_short_units" in notes["factories[0].bom"] and "not its materials" in notes["factories[0].bom"]
    data = company()
    data["warehouses"][1]["stock"][0].update(policy={"type": "none"})
    notes = dict(scenario_notes(scenario(data)))
    assert "then stops" in notes["factories[0].bom.A.C"]


def test_the_run_table_shows_the_component_shortage_only_with_a_bill_of_materials(tmp_path: Path) -> None:
    """The terminal's run table gives 'Short of components (units)' where a plant has a bill of materials,
    and leave it out elsewhere (nan: nothing measured), as the report and the variant tables do."""
    from click.testing import CliRunner

    from simsop.cli import main

    with_bom = tmp_path / "bom.yaml"
    with_bom.write_text(yaml.safe_dump(company(horizon=60)), encoding="utf-8")
    plain = company(horizon=60)
    del plain["factories"][0]["bom"], plain["factories"][0]["materials"]
    without = tmp_path / "plain.yaml"
    without.write_text(yaml.safe_dump(plain), encoding="utf-8")
    for f, shown in ((with_bom, True), (without, False)):
        out = CliRunner().invoke(main, ["run", str(f), "-n", "2", "--executor", "serial", "--no-report",
                                        "--out", str(tmp_path / f.stem)], terminal_width=200)
        assert out.exit_code == 0, out.output
        assert ("Short of components (units)" in out.output) is shown, out.output
