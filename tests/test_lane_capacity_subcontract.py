"""What a plant buys from subcontractors leaves over its lanes too, so it shares the shipping cap with what it makes.

World.run_day ships subcontracted units from the plant (as its output), so a lane that carries K units a day takes
production and purchases together: a plan of P_t made and C_t bought in a bucket of days_t is shippable only if
P_t + C_t <= K x days_t, else the excess waits at the dock. The case: plant F-North has 10 workers of 10 units a day
(100 a day, hiring and layoffs priced out), buys at 12 a unit (a unit made costs 10 of material + 5 of wages, and
sells at 20, so buying the shortfall pays), its only lane carries 120 a day, customers want 150 a day. The plant's
capacity binds (100 < 150) and so does the lane (100 + 50 > 120): the plan should make 100 and buy 20 a day.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from simsop.planning.policies import family_problems
from simsop.replication import run_replication
from simsop.scenario import Scenario
from tests.helpers import first_plan
from tests.test_lane_capacity_plan import lane_case

WORKFORCE = [{"factory": "F-North", "workers": 10, "units_per_worker_day": 10, "wage_per_worker_day": 50,
              "hiring_cost": 1e6, "layoff_cost": 1e6, "overtime_hours_fraction": 0.0, "subcontract_cost": 12}]
LANE = 120.0


def buying_case(lane_capacity: float | None, policy: str = "lp", **params: Any) -> Scenario:
    """F-North (10 workers x 10 a day, may buy at 12) -> W over a 2-day lane (optionally capacity-limited); Poisson
    demand of 150 a day; monthly S&OP over 6 buckets with the given policy."""
    return lane_case(lane_capacity, policy, WORKFORCE, regular=100.0, **params)


def bought(plan: Any) -> np.ndarray:
    return np.zeros_like(plan.production) if plan.subcontract is None else np.asarray(plan.subcontract)


POLICIES = [("lp", {}), ("lp", {"integer_workforce": True}), ("hybrid", {})]


@pytest.mark.parametrize(("policy", "params"), POLICIES)
def test_made_and_bought_together_stay_within_what_the_lane_carries(policy: str, params: dict[str, Any]) -> None:
    """Without the lane's limit the plan ships about 150 a day out of F-North (lp: 100 made + ~50 bought; hybrid
    staffs for ~150). With the lane of 120 the old code capped only production, and bought on top of it: lp made
    100 and bought ~50 a day, hybrid made 120 and bought 30, 150 a day for a lane of 120. Now made + bought is at
    most 120 a day in every bucket, and at 120: the plant still ships all the lane carries (lp buys the 20 its own
    100 leaves room for), and the notes say the limit includes subcontracting."""
    free_state, _, free = first_plan(buying_case(None, policy, **params))
    out_free = (free.production[0] + bought(free)[0]) / free_state.bucket_days
    assert (out_free > 140).all(), out_free  # the case: the lane binds
    state, _, plan = first_plan(buying_case(LANE, policy, **params))
    made, buy = plan.production[0] / state.bucket_days, bought(plan)[0] / state.bucket_days
    out = made + buy
    assert out.max() <= LANE * (1 + 1e-9), (made, buy)
    assert out.min() >= LANE * (1 - 1e-6), (made, buy)  # demand is above it: the plan ships all the lane takes
    assert "shipping limits F-North to 120 a day in the plan's bucket(s) 1 to 6" in plan.notes
    if policy == "lp":
        # The plant's own capacity binds: it makes its 100 and buys the 20 the lane has room for.
        assert np.allclose(made, 100, rtol=1e-9) and np.allclose(buy, 20, rtol=1e-6), (made, buy)
        assert "subcontracting included (bought in bucket(s) 1 to 6)" in plan.notes


@pytest.mark.parametrize(("policy", "params"), POLICIES)
def test_no_plan_version_of_a_run_ships_more_than_the_lane(policy: str, params: dict[str, Any]) -> None:
    """Over a year of monthly cycles (the fences keep what earlier plans agreed), every plan version's production
    plus subcontracting of every bucket is within 120 a day x its days: what the executive meeting agrees is
    shippable (the old code's lp agreed up to ~155 a day)."""
    res = run_replication(buying_case(LANE, policy, **params), seed=1, keep_records=True)
    assert res.records is not None
    t = res.records.tables["plan"]
    made = np.nan_to_num(np.asarray(t["production"], dtype=float))
    buy = np.nan_to_num(np.asarray(t["subcontract"], dtype=float))
    days = np.asarray(t["bucket_days"], dtype=float)
    per_day = (made + buy) / days
    assert len(per_day) > 0 and per_day.max() <= LANE * (1 + 1e-9), per_day.max()


@pytest.mark.parametrize(("policy", "params"), POLICIES)
def test_without_lane_capacity_the_plan_is_the_old_one(policy: str, params: dict[str, Any]) -> None:
    """No lane capacity: the family problems carry no joint cap (the program is the textbook's, row for row),
    so the plan is the old code's to the bit: made and bought, workforce and notes equal those of the program
    solved without any shipping term. A lane of 1,000 a day (above all the plant makes and buys) changes
    nothing but rounding; the lane of 120 cuts what is bought (the old code bought as much with it as without)."""
    state, _, plan = first_plan(buying_case(None, policy, **params))
    assert state.shipping_capacity is None
    assert all(fp.problem.supply_max is None for fp in family_problems(state))
    wide_state, _, wide = first_plan(buying_case(1000.0, policy, **params))
    assert wide_state.shipping_capacity is not None and wide_state.shipping_capacity.tolist() == [1000.0]
    assert np.allclose(wide.production, plan.production, rtol=1e-9, atol=1e-9)
    assert np.allclose(bought(wide), bought(plan), rtol=1e-9, atol=1e-9)
    assert "shipping" not in plan.notes and "shipping" not in wide.notes
    narrow_state, _, narrow = first_plan(buying_case(LANE, policy, **params))
    days = narrow_state.bucket_days
    assert ((narrow.production[0] + bought(narrow)[0]) / days).max() < (
        (plan.production[0] + bought(plan)[0]) / days).min() - 10
