"""The report's actual production counts goods on the day the plant made them, not the day they left its dock.

A capacity-limited lane (``lanes[].capacity``) holds what does not fit at the dock for later days
(simsop.model.lane), so departures from a plant lag what it made. ``plan.csv``'s ``actual_production`` (compared
with the production plan) must follow the factory's own records (simsop.report.extract.made_by_day).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import yaml

from simsop.replication import run_replication
from simsop.report.extract import made_by_day, plan_vs_actual
from simsop.scenario import parse_scenario
from tests.helpers import product, scenario
from tests.test_golden import SCENARIOS


def _dock_case() -> dict[str, Any]:
    """Plant F makes A (family X) and B (family Y) at 70 a day; customers want 50 of each a day, every day
    (deterministic); W reorders what they took each morning (base stock 0, daily review), so from day 1 the
    plant's first-come-first-served queue is jobs of 50 alternating A, B and it never runs dry (100 queued a
    day, 70 made). The lane to W carries 40 a day: 30 a day wait at the dock."""
    return {
        "name": "dock", "horizon": 62, "warmup": 0,
        "products": [product("A", family="X"), product("B", family="Y")],
        "customers": [{"id": "c", "warehouse": "W",
                       "demand": [{"product": "A", "daily": 50}, {"product": "B", "daily": 50}]}],
        "warehouses": [{"id": "W", "stock": [{"product": p, "initial": 0, "source": "F",
                                              "policy": {"type": "base_stock", "level": 0, "review_period": 1}}
                                             for p in "AB"]}],
        "factories": [{"id": "F", "products": ["A", "B"], "capacity": {"regular": 70}}],
        "lanes": [{"from": "F", "to": "W", "lead_time": 1, "capacity": 40}],
    }


def _made_of_stream(lo: float, hi: float) -> tuple[float, float]:
    """Units of A and of B in the stretch [lo, hi) of the plant's work: job k covers [50k, 50k + 50), A when k is
    even."""
    a = b = 0.0
    for k in range(int(lo // 50), int(np.ceil(hi / 50))):
        part = min(hi, 50.0 * k + 50) - max(lo, 50.0 * k)
        if part > 0:
            a, b = (a + part, b) if k % 2 == 0 else (a, b + part)
    return a, b


def test_production_behind_a_full_lane_is_counted_on_the_day_it_was_made() -> None:
    """The plant makes 70 a day from day 1 (its queue never empties), 30 more than the lane carries. Day 1 it
    makes job 0 (A 50) and 20 of job 1 (B); day 2 the other 30 of B and 40 of job 2 (A); day 3 the last 10 of
    that A, all of job 3 (B) and 10 of job 4 (A). Month 0 (days 0-30, 30 working days) holds the first 2,100
    units of the stream, jobs 0-41: 1,050 of each family; month 1 (days 31-58) the next 1,960: A 1,000, B 960.
    The old count, by departure, saw only what the lane let through, 40 a day (1,200 and 1,120 units)."""
    sc = scenario(_dock_case())
    rec = run_replication(sc, seed=1, keep_records=True).records
    assert rec is not None
    day, prod, units = made_by_day(rec)
    by_day = np.zeros((sc.horizon, 2))
    np.add.at(by_day, (day.astype(int), prod), units)
    assert by_day[:4].tolist() == [[0.0, 0.0], [50.0, 20.0], [40.0, 30.0], [20.0, 50.0]]
    # Every day: the stream's 70 units of that day, split by job.
    for d in range(1, sc.horizon):
        assert by_day[d].tolist() == pytest.approx(_made_of_stream(70.0 * (d - 1), 70.0 * d), abs=1e-9), d
    pva = plan_vs_actual(rec, sc).set_index(["bucket", "family"])["actual_production"]
    assert pva.to_dict() == pytest.approx({(0, "X"): 1050.0, (0, "Y"): 1050.0, (1, "X"): 1000.0, (1, "Y"): 960.0})
    # The departures are the lane's 40 a day: what the old code counted as production.
    dep = rec.departed
    left = np.ceil(dep["time"] - 1e-9) - 1.0
    assert dep["qty"][(left >= 0) & (left < 31)].sum() == pytest.approx(40.0 * 30)
    assert dep["qty"][(left >= 31) & (left < 59)].sum() == pytest.approx(40.0 * 28)


@pytest.mark.parametrize("policy", ["none", "lp"])
def test_where_no_lane_holds_goods_the_made_day_is_the_day_before_departure(policy: str) -> None:
    """example_company without yield losses: its lanes have no capacity, so a rate plant's output leaves the
    morning after the day it was made; its plants work their queues earliest due date first (plan jobs due the
    next day pass pull orders due in a week, possibly ahead of a job under way). The goods made each day,
    per product, are then exactly the departures of the next morning, to float dust."""
    data = yaml.safe_load((SCENARIOS / "example_company.yaml").read_text(encoding="utf-8"))
    data["horizon"] = 240
    for f in data["factories"]:
        f.pop("yield", None)
    sc = parse_scenario(copy.deepcopy(data), "<test>")
    rec = run_replication(sc, seed=2, keep_records=True, policy=policy).records
    assert rec is not None
    m = rec.meta
    day, prod, units = made_by_day(rec)
    made = np.zeros((sc.horizon + 1, len(m.products)))
    np.add.at(made, (day.astype(int), prod), units)
    dep = rec.departed
    plant = np.isin(dep["source"].astype(int), [m.sites.index(f) for f in m.factories])
    left = (np.ceil(dep["time"][plant] - 1e-9) - 1.0).astype(int)
    shipped = np.zeros_like(made)
    np.add.at(shipped, (left, dep["product"].astype(int)[plant]), dep["qty"][plant])
    assert made.sum() > 10_000
    np.testing.assert_allclose(made, shipped, rtol=0, atol=1e-9)
