"""Overtime with a planned lead time (``capacity.planned_lead_time``): exact event logs and a queueing check.

A plant that gets a week's work in one order and has a week to make it levels the work over the week on
regular time; overtime pays only for the work that regular time would finish after the job's due date
(queued time + planned lead time), and the S&OP plan's daily targets are due the day they are planned.
Without the setting a plant works overtime whenever its queue holds more than a day of regular time.

The weekly cases: 50 units of demand come once a week (days 0, 7 and 14, after the morning's review); W
orders up to 50 every 7 days, so it orders 50 on day 7 (job 0) and on day 14 (job 1); the plant has 10
units a day of regular time and 4 of overtime and ships to W over a 1-day lane: utilisation 50 / 70 = 71%.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from itertools import permutations
from typing import Any

import numpy as np
import pytest
from scipy import stats

from simsop.model.records import Records
from simsop.model.world import World
from tests.helpers import assert_close_to_theory, kpi_samples, logged_run, product, rows, scenario


def weekly(lead_time: float | None, horizon: int = 21) -> dict[str, Any]:
    """The weekly case of the module docstring, with the plant's planned lead time (None: not given)."""
    capacity: dict[str, Any] = {"regular": 10, "overtime": 4, "overtime_cost": 2.0}
    if lead_time is not None:
        capacity["planned_lead_time"] = lead_time
    return {
        "name": "weekly", "horizon": horizon, "products": [product()],
        "customers": [{"id": "c", "warehouse": "W", "demand": [
            {"product": "A", "daily": 50, "seasonality": {"pattern": [1, 0, 0, 0, 0, 0, 0], "period": 7}}]}],
        "warehouses": [{"id": "W", "stock": [{"product": "A", "initial": 50, "source": "F",
                                              "policy": {"type": "base_stock", "level": 50, "review_period": 7}}]}],
        "factories": [{"id": "F", "products": ["A"], "capacity": capacity}],
        "lanes": [{"from": "F", "to": "W", "lead_time": 1}],
    }


def made_by_day(records: Records) -> list[tuple[float, float]]:
    """(regular used, overtime used) of each day."""
    return [(r[3], r[4]) for r in rows(records, "factory_days")]


def week(made: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Days 0-20: nothing until the order of day 7, ``made`` from day 7 and again from day 14."""
    idle = [(0.0, 0.0)]
    return idle * 7 + made + idle * (7 - len(made)) + made + idle * (7 - len(made))


def test_a_weekly_order_is_levelled_over_its_week_without_overtime() -> None:
    """Planned lead time 7: job 0 (queued at 7, due to leave by 14) is made 10 a day on days 7-11, on
    regular time; it leaves day by day (8-12) and finishes at 12. The old rule made 14 a day on days 7-9
    and 8 on day 10: 12 units of overtime a week on a plant 71% utilised."""
    res, rec = logged_run(weekly(7))
    assert rows(rec, "replenishments") == [(0, 7.0, 0, 0, 50.0, 1), (1, 14.0, 0, 0, 50.0, 1)]
    assert made_by_day(rec) == week([(10.0, 0.0)] * 5)
    # (job_id, finish, good, scrap): both jobs leave two days before they are due
    assert rows(rec, "production_finished") == [(0, 12.0, 50.0, 0.0), (1, 19.0, 50.0, 0.0)]
    assert [r[1] for r in rows(rec, "departed")] == [8.0, 9.0, 10.0, 11.0, 12.0, 15.0, 16.0, 17.0, 18.0, 19.0]
    assert res.kpis["overtime_units"] == 0.0 and res.kpis["overtime_cost"] == 0.0
    assert res.kpis["utilization"] == pytest.approx(100 / 210)


def test_work_that_cannot_be_made_in_time_gets_exactly_the_overtime_it_needs() -> None:
    """Planned lead time 4: job 0 is due to leave by 11, so it is made on days 7-10, 40 units of regular
    time for 50: 10 units need overtime, worked as soon as the shortfall is seen:
    day 7: late 50 - 10 today - 30 on days 8-10 = 10, overtime 4 (all there is);
    day 8: 36 left, late 36 - 10 - 20 = 6, overtime 4;  day 9: 22 left, late 22 - 10 - 10 = 2, overtime 2;
    day 10: the last 10 on regular time. It finishes at 11, on its due date, with 10 units of overtime."""
    res, rec = logged_run(weekly(4))
    assert made_by_day(rec) == week([(10.0, 4.0), (10.0, 4.0), (10.0, 2.0), (10.0, 0.0)])
    assert rows(rec, "production_finished") == [(0, 11.0, 50.0, 0.0), (1, 18.0, 50.0, 0.0)]
    assert res.kpis["overtime_units"] == 20.0
    assert res.kpis["overtime_cost"] == pytest.approx(40.0)


def test_a_job_that_will_be_late_anyway_gets_all_the_overtime_there_is() -> None:
    """Planned lead time 3: 50 units in 3 days of at most 14 cannot be made in time; the plant works all its
    overtime on days 7-9 (42 units) and the last 8 on regular time on day 10, a day late."""
    res, rec = logged_run(weekly(3))
    assert made_by_day(rec) == week([(10.0, 4.0)] * 3 + [(8.0, 0.0)])
    assert rows(rec, "production_finished") == [(0, 11.0, 50.0, 0.0), (1, 18.0, 50.0, 0.0)]
    assert res.kpis["overtime_units"] == 24.0


def test_the_default_and_a_one_day_lead_time_keep_the_old_rule() -> None:
    """No planned lead time, or one of 1 day (every job due the day it is queued), is the old rule: overtime
    whenever the queue holds more than a day of regular time, here 14, 14, 14 and 8 on days 7-10."""
    old = week([(10.0, 4.0)] * 3 + [(8.0, 0.0)])
    for lead_time in (None, 1):
        res, rec = logged_run(weekly(lead_time))
        assert made_by_day(rec) == old, lead_time
        assert rows(rec, "production_finished") == [(0, 11.0, 50.0, 0.0), (1, 18.0, 50.0, 0.0)]
        assert res.kpis["overtime_units"] == 24.0


def test_plan_targets_above_regular_time_still_get_overtime() -> None:
    """A plan that schedules 12, 12, 6 on days 2-4 on a plant of 10 regular + 4 overtime with a planned lead
    time of 7: the plan's jobs are due the day they are planned, so 2 units of overtime are worked on days 2
    and 3 (without that, the planned lead time would level them: 10, 10, 10)."""
    data = weekly(7, horizon=6)
    data["warehouses"][0]["stock"][0].pop("policy")  # only the plan feeds W

    def planner(world: World) -> Generator[Any, Any, None]:
        yield world.env.timeout(2)  # before day 2's production
        world.plan.set_production("F", "A", 2, [12, 12, 6])

    res, rec = logged_run(data, processes=(planner,))
    assert made_by_day(rec) == [(0.0, 0.0)] * 2 + [(10.0, 2.0), (10.0, 2.0), (6.0, 0.0), (0.0, 0.0)]
    assert rows(rec, "production_finished") == [(0, 3.0, 12.0, 0.0), (1, 4.0, 12.0, 0.0), (2, 5.0, 6.0, 0.0)]
    assert res.kpis["overtime_units"] == 4.0


@pytest.mark.parametrize("lead_time", [None, 1.0, 7.0])
def test_the_setting_is_validated(lead_time: float | None) -> None:
    """It is read from the scenario (days, at least 1: output of a day leaves the next day)."""
    sc = scenario(weekly(lead_time))
    assert sc.factories[0].capacity is not None
    assert sc.factories[0].capacity.planned_lead_time == lead_time
    with pytest.raises(ValueError, match="planned_lead_time"):
        scenario(weekly(0.5))


def test_weekly_overtime_is_the_loss_function_of_the_weekly_order() -> None:
    """Theory: W orders up to S every 7 days, so each week's order Q is the last week's demand, Poisson(7 x 8
    = 56). With a planned lead time of 7 the plant (9 a day of regular time, c = 63 a week; 9 of overtime,
    so Q <= 126 always fits) makes each order within its week and works overtime only for what exceeds a
    week of regular time: (Q - c)+ a week, E = E[(Q - c)+] (the newsvendor's loss function), while its
    utilisation is E[Q] / c = 56 / 63. The old rule worked overtime whenever the queue passed one day's 9,
    at least Q - 63 and on average several times E[(Q - c)+]. Tolerance: 4 standard errors of 30
    replications of 50 weeks."""
    weeks, lam, reg = 50, 8.0, 9.0
    data = {
        "name": "loss", "horizon": 7 * (weeks + 1), "warmup": 7, "products": [product()],
        "customers": [{"id": "c", "warehouse": "W", "demand": [{"product": "A",
                                                                "daily": {"dist": "poisson", "mean": lam}}]}],
        "warehouses": [{"id": "W", "stock": [{"product": "A", "initial": 200, "source": "F",
                                              "policy": {"type": "base_stock", "level": 200, "review_period": 7}}]}],
        "factories": [{"id": "F", "products": ["A"],
                       "capacity": {"regular": reg, "overtime": 9, "planned_lead_time": 7}}],
        "lanes": [{"from": "F", "to": "W", "lead_time": 1}],
    }
    k = kpi_samples(scenario(data), 30, seed=5, keys=("overtime_units", "utilization"))
    mean_q, c = 7 * lam, int(7 * reg)
    loss = mean_q - sum(stats.poisson.sf(q, mean_q) for q in range(c))  # E[Q] - E[min(Q, c)]
    assert_close_to_theory(k["overtime_units"] / weeks, float(loss), "overtime a week")
    assert_close_to_theory(k["utilization"], mean_q / c, "utilisation")
    assert np.all(k["overtime_units"] >= 0)


# ---------------------------------------------------------------- earliest due date first

def test_a_plan_job_due_today_passes_a_pull_order_due_next_week() -> None:
    """Planned lead time 7: W's order of day 7 (job 0, 50 units) is due to leave by 14; on day 8 the plan
    pushes 10 units (job 1), due to leave by 9. Earliest due date first, the plant makes job 1 on day 8 and
    the rest of job 0 on days 9-12, all on regular time, and both leave in time (9 and 13). First come first
    served, job 1 waited behind the 40 units of job 0 due later, which counted as late work: the plant
    worked all its overtime on days 8-10 (12 units) and job 1 still left at 12, three days late."""
    data = weekly(7, horizon=14)

    def planner(world: World) -> Generator[Any, Any, None]:
        yield world.env.timeout(8)  # before day 8's production
        world.plan.set_production("F", "A", 8, [10])

    res, rec = logged_run(data, processes=(planner,))
    assert made_by_day(rec) == [(0.0, 0.0)] * 7 + [(10.0, 0.0)] * 6 + [(0.0, 0.0)]
    # (job_id, start, factory, product, qty, queued_at) and (job_id, finish, good, scrap)
    assert rows(rec, "production_started") == [(0, 7.0, 0, 0, 50.0, 7.0), (1, 8.0, 0, 0, 10.0, 8.0)]
    assert rows(rec, "production_finished") == [(1, 9.0, 10.0, 0.0), (0, 13.0, 50.0, 0.0)]
    assert res.kpis["overtime_units"] == 0.0


def _jobs_run(lead_time: float | None, jobs: list[tuple[float, float]], regular: float = 10.0
              ) -> dict[int, float]:
    """Queue ``jobs`` (units, due) on day 1 at a plant of ``regular`` a day and no overtime (so the order
    alone decides when each job leaves); job id -> when it leaves the plant."""
    data = weekly(lead_time, horizon=60)
    data["warehouses"][0]["stock"][0].pop("policy")  # only these jobs
    data["factories"][0]["capacity"].update({"regular": regular, "overtime": 0})

    def queue(world: World) -> Generator[Any, Any, None]:
        yield world.env.timeout(1)  # before day 1's production
        plant, wh = world.factories[0], world.warehouses[0]
        for qty, due in jobs:
            wh.on_order[0] += qty
            plant.add_job(0, qty, wh, 0, due=due)

    _, rec = logged_run(data, processes=(queue,))
    finished = {int(r[0]): float(r[1]) for r in rows(rec, "production_finished")}
    assert len(finished) == len(jobs)
    return finished


def _max_lateness(finished: dict[int, float], jobs: list[tuple[float, float]]) -> float:
    return max(finished[j] - due for j, (_, due) in enumerate(jobs))


def test_jobs_due_together_are_worked_first_come_first_served() -> None:
    """Ties keep the arrival order, so the order is deterministic: jobs queued as (due 10, due 5, due 10,
    due 5), 10 units each at 10 a day from day 1, are made 1, 3, 0, 2 (leaving at 2, 3, 4, 5). Without a
    planned lead time the plant keeps first come first served: 0, 1, 2, 3."""
    jobs = [(10.0, 10.0), (10.0, 5.0), (10.0, 10.0), (10.0, 5.0)]
    assert _jobs_run(7, jobs) == {1: 2.0, 3: 3.0, 0: 4.0, 2: 5.0}
    assert _jobs_run(None, jobs) == {0: 2.0, 1: 3.0, 2: 4.0, 3: 5.0}


def test_earliest_due_date_first_minimises_the_maximum_lateness() -> None:
    """Jackson's rule: on one machine, jobs available together, earliest due date first minimises the
    maximum lateness max_j (C_j - d_j). On 25 random instances of 5 jobs (1-30 units, due on days 2-12, 10
    units a day from day 1; a job leaves the day after its last unit is made, C_j = 1 + ceil(W_j / 10) for
    the work W_j up to it), the plant's maximum lateness equals the minimum over all 120 orders by brute
    force, and is no more than first come first served's (strictly less on some instances)."""
    rng = np.random.default_rng(np.random.SeedSequence(20261129, spawn_key=(6,)))  # the instances' stream
    strictly_better = 0
    for _ in range(25):
        jobs = [(float(q), float(d)) for q, d in zip(rng.integers(1, 31, 5), rng.integers(2, 13, 5), strict=True)]
        best = math.inf
        for order in permutations(range(len(jobs))):
            work, worst = 0.0, -math.inf
            for j in order:
                work += jobs[j][0]
                worst = max(worst, 1.0 + math.ceil(work / 10.0) - jobs[j][1])
            best = min(best, worst)
        edd = _max_lateness(_jobs_run(7, jobs), jobs)
        fifo = _max_lateness(_jobs_run(None, jobs), jobs)
        assert edd == best, jobs
        assert edd <= fifo, jobs
        strictly_better += edd < fifo
    assert strictly_better > 0
