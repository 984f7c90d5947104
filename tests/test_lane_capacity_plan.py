"""The S&OP supply review plans against the lanes' transport capacity (the logistics limit).

A plant's output leaves over its lanes; a lane with a ``capacity`` carries so many units a day and what does not
fit waits at the dock (simsop.model.lane). The supply review caps what a plant plans to make in a bucket at what
its lanes carry in it, K x days (K = World.shipping_capacity), beside its regular + overtime capacity, and the
plan's notes say where that binds. The case: plant F-North makes 200 a day, its only lane carries 120 a day,
customers want 150 a day.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from simsop.model.records import Records
from simsop.model.world import World
from simsop.replication import run_replication
from simsop.scenario import Scenario
from tests.helpers import first_plan, product, scenario

HORIZON, WARMUP = 365, 60


def lane_case(lane_capacity: float | None, policy: str = "lp", workforce: list[dict[str, Any]] | None = None,
              regular: float = 200.0, **params: Any) -> Scenario:
    """Plant F-North (``regular`` a day, no overtime) -> W over a 2-day lane; Poisson demand of 150 a day at W;
    monthly S&OP with the given policy, its parameters and (optionally) a workforce that may be hired and laid
    off (and may buy from subcontractors)."""
    lane: dict[str, Any] = {"from": "F-North", "to": "W", "lead_time": 2}
    if lane_capacity is not None:
        lane["capacity"] = lane_capacity
    return scenario({
        "name": "lane_plan", "horizon": HORIZON, "warmup": WARMUP, "products": [product(price=20, unit_cost=10)],
        "customers": [{"id": "c", "warehouse": "W",
                       "demand": [{"product": "A", "daily": {"dist": "poisson", "mean": 150}}]}],
        "warehouses": [{"id": "W", "stock": [{"product": "A", "initial": 1000, "source": "F-North",
                                              "policy": {"type": "base_stock", "level": 1500}}]}],
        "factories": [{"id": "F-North", "products": ["A"], "capacity": {"regular": regular}}],
        "lanes": [lane],
        "planning": {"policy": policy, "bucket": "month", "horizon_buckets": 6, "days_of_cover": 5,
                     "params": params, **({"workforce": workforce} if workforce else {})},
    })


WORKFORCE = [{"factory": "F-North", "workers": 20, "units_per_worker_day": 10, "wage_per_worker_day": 100,
              "hiring_cost": 500, "layoff_cost": 800, "overtime_hours_fraction": 0.25, "overtime_cost_per_unit": 4}]


@pytest.mark.parametrize(("policy", "params"), [
    ("lp", {}), ("lp", {"integer_workforce": True}), ("level", {}), ("chase", {}), ("hybrid", {})])
def test_the_plan_makes_no_more_a_day_than_the_lane_carries_and_says_so(policy: str, params: dict[str, Any]
                                                                         ) -> None:
    """Demand of 150 a day on a plant of 200: without the lane every policy plans about 150 a day (the old code
    did so with the lane too, 30 a day piling up at the dock). With the lane of 120 no bucket of the plan makes
    more than 120 a day, and the notes say shipping limits F-North to 120 a day."""
    free_state, _, free = first_plan(lane_case(None, policy, **params))
    assert (free.production[0] / free_state.bucket_days > 140).all()  # the case: the plant's capacity does not bind
    state, _, plan = first_plan(lane_case(120, policy, **params))
    assert state.shipping_capacity is not None and state.shipping_capacity.tolist() == [120.0]
    per_day = plan.production[0] / state.bucket_days
    assert per_day.max() <= 120 * (1 + 1e-9), per_day
    assert per_day.min() >= 120 * (1 - 1e-6), per_day  # the demand is above it: the plan makes all it can ship
    assert "shipping limits F-North to 120 a day in the plan's bucket(s) 1 to 6" in plan.notes


@pytest.mark.parametrize("policy", ["lp", "hybrid"])
def test_a_plant_that_may_hire_is_not_staffed_beyond_what_its_lane_carries(policy: str) -> None:
    """With a workforce entry (10 units a worker-day, 25% overtime) the plan may hire for the 150 a day: with the
    lane of 120 it makes 120 a day and keeps at most the 12 workers (120 a day of regular capacity) that make
    it; the hybrid rule staffed 152 a day (15.2 workers, its median requirement) on the old code, 32 a day idle."""
    state, _, plan = first_plan(lane_case(120, policy, workforce=WORKFORCE))
    per_day = plan.production[0] / state.bucket_days
    assert per_day.max() <= 120 * (1 + 1e-9)
    assert plan.workforce is not None and plan.workforce.max() <= 120 * (1 + 1e-9)
    assert "shipping limits F-North to 120 a day" in plan.notes


def test_a_lane_that_carries_more_than_the_plant_makes_leaves_every_plan_bit_identical() -> None:
    """A lane of 250 a day out of a plant of 200 never binds: every plan version, every KPI and the notes are
    those of the lane without a capacity, to the bit; the lane of 120 changes them (which the old code, blind to
    the lane, did not)."""
    def run(cap: float | None) -> tuple[Records, dict[str, float]]:
        res = run_replication(lane_case(cap), seed=1, keep_records=True)
        assert res.records is not None
        return res.records, res.kpis

    def plans(rec: Records) -> list[tuple[float, ...]]:
        t = rec.tables["plan"]
        return list(zip(t["cycle"].tolist(), t["bucket"].tolist(), t["production"].tolist(), strict=True))

    free, free_kpis = run(None)
    wide, wide_kpis = run(250)
    assert plans(wide) == plans(free)
    assert {k: v for k, v in wide_kpis.items() if v == v} == {k: v for k, v in free_kpis.items() if v == v}
    assert [k for k, v in wide_kpis.items() if v != v] == [k for k, v in free_kpis.items() if v != v]
    _, _, free_plan = first_plan(lane_case(None))
    wide_state, _, wide_plan = first_plan(lane_case(250))
    assert wide_state.shipping_capacity is not None and wide_state.shipping_capacity.tolist() == [250.0]
    assert wide_plan.notes == free_plan.notes
    assert np.array_equal(wide_plan.production, free_plan.production)
    narrow, _ = run(120)
    assert plans(narrow) != plans(free)


def dock_queue(rec: Records, horizon: int) -> np.ndarray:
    """Units made at the plant but not yet gone over its lane, at the end of each day: the plant's good output so
    far (its yield is 1) less the units departed by then (a part booked to leave after the horizon has not)."""
    fd = rec.factory_days
    made = np.zeros(horizon)
    np.add.at(made, fd["day"].astype(int), fd["regular_used"] + fd["overtime_used"])
    dep = rec.departed
    day = np.floor(np.asarray(dep["time"], dtype=float) + 1e-9).astype(int)
    gone = np.zeros(horizon)
    ok = day < horizon
    np.add.at(gone, day[ok], np.asarray(dep["qty"], dtype=float)[ok])
    return np.cumsum(made) - np.cumsum(gone)


def test_the_plans_cap_keeps_goods_from_piling_up_at_the_dock(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the cap buys: the lane carries 120 a day whatever the plan says, so customers get the same deliveries
    (the lane is the bottleneck either way), but a plan blind to the lane (the old code: the planner told no
    shipping capacity) makes up to 150 a day and the surplus waits at the dock, goods made and paid for that
    cannot move. Capped, the plant makes what the lane carries: once the first plan is in force the dock queue
    stops growing. Paired replications (the same demand draws): the blind plan's mean dock queue exceeds the
    capped one's in every one, and its growth over the planned months exceeds the cap's by more than 4 standard
    errors of the paired mean."""
    n = 5

    def replications() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mean_q, growth, shipped = [], [], []
        for r in range(n):
            res = run_replication(lane_case(120), seed=1, replication=r, keep_records=True)
            rec = res.records
            assert rec is not None
            q = dock_queue(rec, HORIZON)
            plan = rec.tables["plan"]
            starts = np.asarray(plan["bucket_start"])
            first = int(starts[starts >= np.min(plan["effective"])].min())  # the first planned bucket
            mean_q.append(q[WARMUP:].mean())
            growth.append(q[-1] - q[first])
            shipped.append(res.kpis["shipped_units"])
        return np.array(mean_q), np.array(growth), np.array(shipped)

    capped_q, capped_growth, capped_shipped = replications()
    monkeypatch.setattr(World, "shipping_capacity", lambda self, factory: None)  # the planner blind to the lane
    blind_q, blind_growth, blind_shipped = replications()
    assert (capped_q <= blind_q).all(), (capped_q, blind_q)
    diff = blind_growth - capped_growth
    assert diff.mean() - 4 * diff.std(ddof=1) / np.sqrt(n) > 0, diff
    # Capped, the plant makes exactly what the lane takes away each day (both 120): the queue stays where it was.
    assert np.abs(capped_growth).max() <= 1e-6 * 120 * HORIZON, capped_growth
    # The lane, not the plan, limits what customers get: the same units delivered within 1% (the queue at the
    # dock and on the road differs only by what the blind plan's last days add).
    assert np.allclose(capped_shipped, blind_shipped, rtol=0.01), (capped_shipped, blind_shipped)


def test_what_each_plan_says_is_kept_in_the_plan_notes_records() -> None:
    """A user reads where a limit binds from the run's records (the API's ``records.to_frames()``): one row per
    cycle with the notes of the plan its policy proposed, here the shipping limit and the LP's cost by family.
    The notes lived only on the Plan object before, which nothing outside the cycle could read."""
    res = run_replication(lane_case(120), seed=1, keep_records=True)
    assert res.records is not None
    notes = res.records.to_frames()["plan_notes"]
    plans = res.records.plan
    assert notes["cycle"].tolist() == sorted(set(plans["cycle"].tolist()))
    assert notes["made"].tolist() == [float(plans["made"][plans["cycle"] == c][0]) for c in notes["cycle"]]
    assert all("shipping limits F-North to 120 a day" in n for n in notes["note"])
    assert all(": lp cost " in n for n in notes["note"])
