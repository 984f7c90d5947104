"""Same seed, same numbers, serial or parallel; named streams; conservation checks that fire.

* A replication is a pure function of (scenario, seed, replication): bit-identical KPIs twice, in this
  process or another one (whatever its hash seed), serially or on a process pool.
* Every random source has its own stream, so adding a product does not change the orders of the others,
  and another replication index is another future.
* At the end of every run units and orders are conserved, or InvariantError says by how much.
"""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simsop.experiment import run_replications
from simsop.model.warehouse import WarehouseSite
from simsop.model.world import InvariantError, World
from simsop.replication import build_world, run_replication
from simsop.scenario import Scenario, load_scenario
from simsop.streams import Streams, name_key
from tests.helpers import scenario, small_network

ROOT = Path(__file__).resolve().parents[1]


def _example_short() -> Scenario:
    """The example company over 200 days (20 of warm-up), to keep the tests fast."""
    sc = load_scenario(ROOT / "scenarios" / "example_company.yaml")
    return sc.model_copy(update={"horizon": 200, "warmup": 20})


def _bits(x: Any) -> Any:
    """A value with floats as their exact bit pattern (so NaN equals NaN and 0.0 differs from -0.0)."""
    if isinstance(x, float):
        return ("float", struct.pack("<d", x))
    if isinstance(x, dict):
        return {k: _bits(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_bits(v) for v in x]
    return x


def _demand_lines(sc: Scenario, seed: int, replication: int) -> list[tuple[float, str, str, float]]:
    """Every customer order line of a replication as (time, customer, product, qty), sorted."""
    res = run_replication(sc, seed=seed, replication=replication, keep_records=True)
    rec = res.records
    assert rec is not None
    orders = {o.order_id: o for o in rec.orders.rows()}
    m = rec.meta
    return sorted((orders[ln.order_id].time, m.customers[orders[ln.order_id].customer], m.products[ln.product], ln.qty)
                  for ln in rec.lines.rows())


# ---------------------------------------------------------------------------------------------- same inputs


def test_same_inputs_give_bit_identical_kpis() -> None:
    """Two runs of (scenario, seed, replication) give the same KPIs to the last bit, and the same records."""
    sc = _example_short()
    a = run_replication(sc, seed=11, replication=3, keep_records=True)
    b = run_replication(sc, seed=11, replication=3, keep_records=True)
    assert list(a.kpis) == list(b.kpis)
    assert _bits(a.kpis) == _bits(b.kpis)
    assert a.events == b.events
    assert a.records is not None and b.records is not None
    for name, table in a.records.tables.items():
        other = b.records.tables[name]
        for col, values in table.columns().items():
            assert np.array_equal(values, other[col], equal_nan=values.dtype.kind == "f"), (name, col)
    assert np.array_equal(a.records.snapshots.on_hand, b.records.snapshots.on_hand)


def test_serial_and_process_executors_give_identical_rows() -> None:
    """run_replications gives the same rows, bit for bit, serially and on a pool of two worker processes."""
    sc = _example_short()
    serial = run_replications(sc, replications=4, seed=5, executor="serial")
    parallel = run_replications(sc, replications=4, seed=5, executor="process", jobs=2)
    assert [r["replication"] for r in serial] == [0, 1, 2, 3]
    assert _bits(serial) == _bits(parallel)


_CHILD = """
import json, sys
from simsop.replication import run_replication
from simsop.scenario import parse_scenario
from simsop.streams import Streams, name_key
names = json.loads(sys.argv[1])
s = Streams(7, 3)
draws = {n: [x.hex() for x in s.rng(n).random(5)] for n in names}
keys = {n: name_key(n) for n in names}
kpis = run_replication(parse_scenario(json.loads(sys.argv[2])), seed=9, replication=2).kpis
print(json.dumps({"draws": draws, "keys": keys, "kpis": {k: float(v).hex() for k, v in kpis.items()}}))
"""

STREAM_NAMES = ["demand:retail:A", "demand:east:A", "lane:F->DC:lead_time", "factory:F:yield", "é-ünïcode"]


def _in_this_process() -> dict[str, Any]:
    s = Streams(7, 3)
    kpis = run_replication(scenario(small_network()), seed=9, replication=2).kpis
    return {"draws": {n: [x.hex() for x in s.rng(n).random(5)] for n in STREAM_NAMES},
            "keys": {n: name_key(n) for n in STREAM_NAMES},
            "kpis": {k: float(v).hex() for k, v in kpis.items()}}


@pytest.mark.parametrize("hash_seed", ["1", "4242"])
def test_streams_and_kpis_do_not_depend_on_the_process(hash_seed: str) -> None:
    """A process started with another PYTHONHASHSEED draws the same numbers from every named stream and
    computes the same KPIs (stream names are hashed with blake2b, not with the salted built-in hash)."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(STREAM_NAMES), json.dumps(small_network())],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=True, timeout=120)
    assert json.loads(out.stdout) == _in_this_process()


def test_streams_are_stateless_and_independent() -> None:
    """A stream depends only on (seed, replication, name): asking in another order, or after other streams,
    gives the same draws; other names, replications or seeds give other draws."""
    a = Streams(7, 3)
    first = a.rng("demand:c:A").random(4)
    b = Streams(7, 3)
    b.rng("demand:c:B").random(100)
    assert np.array_equal(b.rng("demand:c:A").random(4), first)
    assert np.array_equal(a.fresh("demand:c:A").random(4), first)
    for other in (Streams(7, 3).rng("demand:c:B"), Streams(7, 4).rng("demand:c:A"), Streams(8, 3).rng("demand:c:A")):
        assert not np.array_equal(other.random(4), first)


# ---------------------------------------------------------------------------------------------- named streams


def _with_a_new_product(sc: Scenario) -> Scenario:
    """The example company with a 13th product, CW-05: made by F-North, stocked at DC-Central and DC-East,
    bought daily by retail-east (placed in the middle of its lines) and one at a time by the web shop."""
    data = sc.model_dump(mode="json", by_alias=True, exclude_unset=True)
    data["products"].insert(2, {"id": "CW-05", "family": "cookware", "price": 60.0, "unit_cost": 30.0,
                                "holding_rate": 0.24})
    data["factories"][0]["products"].append("CW-05")
    for c in data["customers"]:
        if c["id"] == "retail-east":
            c["demand"].insert(1, {"product": "CW-05", "daily": {"dist": "poisson", "mean": 5}})
        if c["id"] == "web-shop":
            c["demand"].append({"product": "CW-05", "orders_per_day": 2.0, "quantity": 1})
    for w in data["warehouses"]:
        if w["id"] == "DC-Central":
            w["stock"].append({"product": "CW-05", "initial": 100, "source": "F-North",
                               "policy": {"type": "base_stock", "level": 150, "review_period": 7}})
        if w["id"] == "DC-East":
            w["stock"].insert(0, {"product": "CW-05", "initial": 20, "source": "DC-Central",
                                  "policy": {"type": "base_stock", "level": 20, "review_period": 1}})
    return scenario(data)


def test_adding_a_product_leaves_the_orders_of_the_others_unchanged() -> None:
    """With a product added (its demand lines and stock items too), every order line of the other products
    has the same time, customer and quantity: demand streams are named by (customer, product)."""
    sc = _example_short()
    bigger = _with_a_new_product(sc)
    assert len(bigger.products) == len(sc.products) + 1
    before = _demand_lines(sc, seed=4, replication=1)
    after = _demand_lines(bigger, seed=4, replication=1)
    assert any(p == "CW-05" for _, _, p, _ in after)
    assert [x for x in after if x[2] != "CW-05"] == before


def test_another_replication_is_another_future() -> None:
    """Replication 1 draws other demand than replication 0 (same seed), and the KPIs differ."""
    sc = _example_short()
    assert _demand_lines(sc, seed=4, replication=0) != _demand_lines(sc, seed=4, replication=1)
    k0 = run_replication(sc, seed=4, replication=0).kpis
    k1 = run_replication(sc, seed=4, replication=1).kpis
    assert k0["demand_units"] != k1["demand_units"]
    assert k0["profit"] != k1["profit"]


# ---------------------------------------------------------------------------------------------- invariants


def _finished_world() -> World:
    """The small network run to its horizon with its last snapshot, but not yet checked or frozen."""
    world = build_world(scenario(small_network()), seed=3)
    world.start()
    world.env.run(until=world.horizon)
    world.snapshot(world.horizon - 1)
    world.check_invariants()  # a real run is conserved
    return world


def test_a_run_whose_units_are_not_conserved_raises_with_the_numbers() -> None:
    """Units produced out of nowhere: InvariantError names every term of the balance and both totals."""
    world = _finished_world()
    assert world.units_produced > 0 and world.units_scrapped > 0 and world.units_supplied > 0
    world.units_produced += 5.0
    on_hand = sum(sum(w.on_hand) for w in world.warehouses)
    inflow = world.units_initial + world.units_produced + world.units_supplied
    outflow = world.units_to_customers + on_hand + world.units_in_transit + world.units_scrapped
    with pytest.raises(InvariantError) as info:
        world.check_invariants()
    msg = str(info.value)
    assert msg.startswith("units not conserved")
    for label, value in (("start stock", world.units_initial), ("produced", world.units_produced),
                         ("received from suppliers", world.units_supplied), ("shipped", world.units_to_customers),
                         ("on hand", on_hand), ("in transit", world.units_in_transit),
                         ("scrapped", world.units_scrapped)):
        assert f"{label} {value:.6g}" in msg, (label, msg)
    assert f"= {inflow:.6g}" in msg and f"= {outflow:.6g}" in msg
    assert math.isclose(inflow - outflow, 5.0, rel_tol=1e-9)


def test_a_run_whose_orders_are_not_conserved_raises_with_the_numbers() -> None:
    """An order recorded as placed but never delivered, lost or open: InvariantError gives the four counts."""
    world = _finished_world()
    closed = world.records.tables["closed"].raw_rows()
    delivered = sum(1 for r in closed if r[2])
    lost = len(closed) - delivered
    placed = len(world.records.tables["orders"])
    open_orders = placed - delivered - lost
    assert lost > 0 and open_orders > 0
    world.rec_orders((world.next_order_id, 10.0, 0, 0, 11.0, 1))
    with pytest.raises(InvariantError) as info:
        world.check_invariants()
    assert str(info.value) == (f"orders not conserved: placed {placed + 1} != delivered {delivered} + lost {lost} "
                               f"+ open {open_orders}")


def test_a_run_whose_order_lines_are_not_conserved_raises_with_the_numbers() -> None:
    """Units ordered on a line nobody serves: InvariantError gives ordered, shipped, lost and open units."""
    world = _finished_world()
    t = world.records.tables
    ordered = sum(r[3] for r in t["lines"].raw_rows())
    shipped = sum(r[2] for r in t["shipped"].raw_rows())
    lost = sum(r[2] for r in t["lost"].raw_rows())
    world.rec_lines((world.next_line_id, 0, 0, 7.0))
    with pytest.raises(InvariantError) as info:
        world.check_invariants()
    msg = str(info.value)
    assert msg.startswith(f"order lines not conserved: ordered {ordered + 7:.6g} units != shipped {shipped:.6g} "
                          f"+ lost {lost:.6g} + open ")


def test_run_checks_conservation_at_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check is part of every run: a model that loses half of what it receives fails its replication."""
    receive = WarehouseSite.receive

    def leaky(self: WarehouseSite, item: int, qty: float, peg: Any, ordered: float) -> None:
        receive(self, item, qty / 2, peg, ordered)

    monkeypatch.setattr(WarehouseSite, "receive", leaky)
    with pytest.raises(InvariantError, match=r"^units not conserved: start stock 35 \+ produced"):
        run_replication(scenario(small_network()), seed=3)


def test_a_finished_replication_frees_its_records_without_the_cyclic_collector() -> None:
    """Memory stays flat over an experiment: once its KPIs are computed, a replication's records are freed
    by reference counting alone, not when the cyclic collector next happens to walk the world's cycles."""
    import gc
    import weakref

    sc = _example_short()
    seen: list[weakref.ref[Any]] = []

    def watch(world: World) -> Any:
        seen.append(weakref.ref(world.records))
        yield world.env.timeout(0)

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        res = run_replication(sc, seed=3, processes=(watch,))
        assert res.records is None
        assert seen and seen[0]() is None, "the records outlived their replication"
        kept = run_replication(sc, seed=3, keep_records=True, processes=(watch,))
        assert seen[1]() is kept.records and len(kept.records.tables["orders"]) > 0
    finally:
        if was_enabled:
            gc.enable()
