"""Tests for simsop.planning.aggregate: the LP on the textbook case, the rules, and properties."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsop.planning.aggregate import (
    AggregateCosts,
    AggregateInput,
    AggregatePlan,
    AggregatePlanningError,
    chase_plan,
    evaluate_plan,
    hybrid_plan,
    level_plan,
    plan_costs,
    plan_violations,
    rule_based_plan,
    solve_lp,
    solve_lps,
)

VARIABLES = (
    "workforce",
    "hired",
    "laid_off",
    "production",
    "overtime_hours",
    "inventory",
    "backlog",
    "subcontracted",
)

# Chopra & Meindl, "Supply Chain Management: Strategy, Planning, and Operation", ch. 8, Red Tomato Tools
# (Tables 8-1 and 8-2: demand, starting position and costs).
RED_TOMATO_COSTS = AggregateCosts(
    material_cost_per_unit=10,
    regular_wage_per_hour=4,
    overtime_cost_per_hour=6,
    hiring_cost_per_worker=300,
    layoff_cost_per_worker=500,
    holding_cost_per_unit=2,
    backlog_cost_per_unit=5,
    subcontract_cost_per_unit=30,
)
RED_TOMATO = AggregateInput(
    demand=[1600, 3000, 3200, 3800, 2200, 2200],
    hours_per_unit=4,
    regular_hours_per_worker=20 * 8,
    max_overtime_hours_per_worker=10,
    opening_inventory=1000,
    opening_workforce=80,
    ending_inventory_min=500,
    ending_backlog_max=0,
    costs=RED_TOMATO_COSTS,
)


def _balance_residual(inp: AggregateInput, plan: AggregatePlan) -> np.ndarray:
    net = plan.inventory - plan.backlog
    previous = np.r_[inp.opening_inventory - inp.opening_backlog, net[:-1]]
    return net - (previous + plan.production + plan.subcontracted - np.asarray(inp.demand))


# --------------------------------------------------------------------------------------------------
# Red Tomato Tools
# --------------------------------------------------------------------------------------------------


class TestRedTomato:
    def test_lp_cost_to_the_dollar(self) -> None:
        plan = solve_lp(RED_TOMATO)
        assert plan.strategy == "lp"
        assert plan.status == "optimal"
        assert round(plan.total_cost) == 422_275
        assert plan.total_cost == pytest.approx(422_275, abs=0.5)

    def test_lp_plan_matches_book_table_when_rounded(self) -> None:
        # The relaxation lays off 15.42 workers in January and holds 64.58 all horizon; the book prints
        # the plan rounded to whole numbers.
        plan = solve_lp(RED_TOMATO)
        np.testing.assert_array_equal(np.round(plan.hired), [0, 0, 0, 0, 0, 0])
        np.testing.assert_array_equal(np.round(plan.laid_off), [15, 0, 0, 0, 0, 0])
        np.testing.assert_array_equal(np.round(plan.workforce), [65] * 6)
        np.testing.assert_array_equal(np.round(plan.overtime_hours), [0] * 6)
        np.testing.assert_array_equal(np.round(plan.inventory), [1983, 1567, 950, 0, 117, 500])
        np.testing.assert_array_equal(np.round(plan.backlog), [0, 0, 0, 267, 0, 0])
        np.testing.assert_array_equal(np.round(plan.subcontracted), [0] * 6)
        np.testing.assert_array_equal(np.round(plan.production), [2583] * 6)

    def test_lp_plan_exact_values(self) -> None:
        # Derived by hand: the cheapest plan is level production of the net requirement
        # (16,000 demand + 500 ending - 1,000 opening) / 6 = 2,583 1/3 units a month, i.e. 775/12 workers.
        plan = solve_lp(RED_TOMATO)
        np.testing.assert_allclose(plan.workforce, 775 / 12, rtol=1e-9)
        np.testing.assert_allclose(plan.laid_off, [80 - 775 / 12, 0, 0, 0, 0, 0], rtol=1e-9, atol=1e-7)
        np.testing.assert_allclose(
            plan.inventory, [5950 / 3, 4700 / 3, 950, 0, 350 / 3, 500], rtol=1e-9, atol=1e-7
        )
        np.testing.assert_allclose(plan.backlog, [0, 0, 0, 800 / 3, 0, 0], rtol=1e-9, atol=1e-7)
        costs = plan.costs
        assert costs.regular_labor == pytest.approx(248_000, abs=1e-4)
        assert costs.layoff == pytest.approx(500 * (80 - 775 / 12), abs=1e-4)
        assert costs.materials == pytest.approx(155_000, abs=1e-4)
        assert costs.holding == pytest.approx(2 * 15_350 / 3, abs=1e-4)
        assert costs.backlog == pytest.approx(5 * 800 / 3, abs=1e-4)
        assert costs.overtime == pytest.approx(0, abs=1e-6)
        assert costs.hiring == pytest.approx(0, abs=1e-6)
        assert costs.subcontracting == pytest.approx(0, abs=1e-6)
        assert costs.total == pytest.approx(plan.total_cost, abs=1e-9)

    def test_integer_workforce(self) -> None:
        lp = solve_lp(RED_TOMATO)
        mip = solve_lp(RED_TOMATO, integer_workforce=True)
        assert mip.strategy == "milp"
        assert mip.status == "optimal"
        assert mip.total_cost >= lp.total_cost - 1e-6
        # Derived with scipy's milp (several plans tie at this cost, so only the cost is pinned).
        assert round(mip.total_cost) == 422_660
        for name in ("workforce", "hired", "laid_off"):
            values = getattr(mip, name)
            np.testing.assert_array_equal(values, np.round(values))
        assert plan_violations(RED_TOMATO, mip) == []

    def test_level_is_optimal_here(self) -> None:
        # With these costs the LP optimum is itself a level plan, so the level rule must price the same.
        assert level_plan(RED_TOMATO).total_cost == pytest.approx(solve_lp(RED_TOMATO).total_cost, abs=1e-6)

    def test_chase_holds_less_stock_than_level(self) -> None:
        chase = chase_plan(RED_TOMATO)
        level = level_plan(RED_TOMATO)
        assert chase.average_inventory < level.average_inventory
        np.testing.assert_allclose(chase.inventory, [0, 0, 0, 0, 0, 500])
        np.testing.assert_allclose(chase.production, [600, 3000, 3200, 3800, 2200, 2700])
        assert chase.total_cost > level.total_cost

    def test_level_changes_workforce_only_in_first_bucket(self) -> None:
        for integer in (False, True):
            level = level_plan(RED_TOMATO, integer_workforce=integer)
            assert np.all(level.hired[1:] == 0)
            assert np.all(level.laid_off[1:] == 0)
            assert np.ptp(level.workforce) == 0
        assert level_plan(RED_TOMATO, integer_workforce=True).workforce[0] == 65

    def test_level_without_a_planned_shortage_staffs_for_the_tightest_cumulative_requirement(self) -> None:
        """The textbook's level rate makes the horizon's total, 15,500 units (64.6 workers of 40 units a month),
        and is 600 units short in April. Without a planned shortage the rate is the one April's cumulative
        requirement needs: (1,600 + 3,000 + 3,200 + 3,800 - 1,000) / 160 = 66.25 workers, no backlog, and the
        extra 400 units end as stock above the 500 the horizon must end with."""
        textbook = level_plan(RED_TOMATO)
        assert textbook.workforce[0] == pytest.approx(15500 / 240) and textbook.backlog.max() > 0
        plan = level_plan(RED_TOMATO, no_shortage=True)
        np.testing.assert_allclose(plan.workforce, 66.25)
        assert plan.backlog.max() == 0 and plan.inventory[3] == pytest.approx(0)
        assert plan.inventory[-1] == pytest.approx(500 + 66.25 * 240 - 15500)
        assert plan_violations(RED_TOMATO, plan) == []
        # When the total is the tighter requirement, both rates are the same.
        flat = dataclasses.replace(RED_TOMATO, demand=[3000] * 6)
        assert level_plan(flat, no_shortage=True).workforce[0] == pytest.approx(level_plan(flat).workforce[0])

    def test_hybrid_uses_overtime_then_subcontracting(self) -> None:
        plan = hybrid_plan(RED_TOMATO)  # median of D_t / 40 units per worker = 65 workers
        np.testing.assert_allclose(plan.workforce, 65)
        # April needs 2,800 after the 1,000 carried in; 65 workers make 2,600 in regular time, overtime
        # is capped at 65 x 10 h = 650 h = 162.5 units, and the last 37.5 units are subcontracted.
        np.testing.assert_allclose(plan.overtime_hours, [0, 0, 0, 650, 0, 0])
        np.testing.assert_allclose(plan.subcontracted, [0, 0, 0, 37.5, 0, 0])
        assert plan_violations(RED_TOMATO, plan) == []
        assert plan.total_cost >= solve_lp(RED_TOMATO).total_cost

    def test_hybrid_builds_stock_only_for_what_later_buckets_cannot_make(self) -> None:
        """50 workers make 2,000 a month in regular time; demand is 1,000 but for 3,000 in March. February's
        spare regular time covers March's shortfall, so January makes only its demand, February 1,000 ahead,
        and nothing is carried that no bucket needs; stock ends at the 500 the horizon must end with. Working
        regular time to capacity while the horizon's demand was not yet made built 1,000 in January and
        carried 2,500 into the last month."""
        inp = dataclasses.replace(RED_TOMATO, demand=[1000, 1000, 3000, 1000, 1000, 1000], opening_inventory=0)
        plan = hybrid_plan(inp, workforce=50)
        np.testing.assert_allclose(plan.production, [1000, 2000, 2000, 1000, 1000, 1500])
        np.testing.assert_allclose(plan.inventory, [0, 1000, 0, 0, 0, 500])
        assert plan.overtime_hours.sum() == 0 and plan.subcontracted.sum() == 0
        assert plan_violations(inp, plan) == []
        # A shortfall (3,500) beyond the spare regular time before it (2,000) uses all of that time, and
        # overtime and subcontracting make the rest.
        peak = dataclasses.replace(inp, demand=[1000, 1000, 5500, 1000, 1000, 1000])
        np.testing.assert_allclose(hybrid_plan(peak, workforce=50).inventory[:2], [1000, 2000])

    def test_hybrid_explicit_workforce_and_dispatch(self) -> None:
        plan = rule_based_plan(RED_TOMATO, "hybrid", workforce=70)
        np.testing.assert_allclose(plan.workforce, 70)
        assert plan.hired[0] == 0 and plan.laid_off[0] == 10
        assert rule_based_plan(RED_TOMATO, "chase").strategy == "chase"
        with pytest.raises(ValueError, match="strategy"):
            rule_based_plan(RED_TOMATO, "bogus")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Solver behaviour on other inputs
# --------------------------------------------------------------------------------------------------


def test_infeasible_raises_with_solver_message() -> None:
    # No workers in June and no subcontractor: June's 2,200 + 500 ending stock would have to be carried
    # in from May, but the warehouse holds only 600.
    inp = dataclasses.replace(RED_TOMATO, ending_workforce_max=0, subcontract_capacity=0, inventory_max=600)
    with pytest.raises(AggregatePlanningError, match="infeasible") as info:
        solve_lp(inp)
    assert info.value.solver_message
    with pytest.raises(AggregatePlanningError, match="infeasible"):
        solve_lp(inp, integer_workforce=True)


def test_families_solved_together_have_each_their_own_optimum() -> None:
    """One block-diagonal program for several independent problems: each plan is the one solved alone."""
    other = dataclasses.replace(RED_TOMATO, demand=[2200, 2200, 3800, 3200, 3000, 1600], opening_inventory=400)
    tight = dataclasses.replace(RED_TOMATO, production_max=2500, subcontract_capacity=[0, 0, 0, 400, 400, 400])
    problems = [RED_TOMATO, other, tight]
    for integer in (False, True):
        together = solve_lps(problems, integer_workforce=integer)
        for inp, plan in zip(problems, together, strict=True):
            alone = solve_lp(inp, integer_workforce=integer)
            assert plan.total_cost == pytest.approx(alone.total_cost, rel=1e-9)
            assert plan_violations(inp, plan) == []
    assert solve_lps([]) == []
    assert together[0].total_cost != together[1].total_cost  # the problems really differ


def test_a_failing_problem_among_several_raises_its_own_solver_error() -> None:
    infeasible = dataclasses.replace(RED_TOMATO, ending_workforce_max=0, subcontract_capacity=0, inventory_max=600)
    with pytest.raises(AggregatePlanningError, match="infeasible") as info:
        solve_lps([RED_TOMATO, infeasible])
    assert info.value.solver_message


def test_limits_are_respected_by_lp() -> None:
    inp = dataclasses.replace(
        RED_TOMATO,
        production_max=2500,
        inventory_min=[200, 200, 200, 0, 0, 0],
        inventory_max=1500,
        subcontract_capacity=[0, 0, 0, 400, 400, 400],
        ending_workforce_min=70,
    )
    plan = solve_lp(inp)
    assert plan_violations(inp, plan) == []
    assert np.all(plan.production <= 2500 + 1e-6)
    assert np.all(plan.inventory <= 1500 + 1e-6)
    assert plan.workforce[-1] >= 70 - 1e-6
    assert plan.total_cost > solve_lp(RED_TOMATO).total_cost


def test_per_worker_wage_matches_hourly_wage() -> None:
    per_worker = dataclasses.replace(
        RED_TOMATO_COSTS, regular_wage_per_hour=None, regular_cost_per_worker=640
    )
    plan = solve_lp(dataclasses.replace(RED_TOMATO, costs=per_worker))
    assert plan.total_cost == pytest.approx(422_275, abs=1e-4)


def test_plan_violations_reports_broken_constraints() -> None:
    plan = evaluate_plan(RED_TOMATO, workforce=[10] * 6, production=[2000] * 6)
    problems = plan_violations(RED_TOMATO, plan)
    assert any(p.startswith("labour capacity") for p in problems)
    # 12,000 made + 1,000 on hand against 16,000 demand: June ends 3,000 short.
    assert any(p.startswith("ending_backlog_max") for p in problems)
    assert any(p.startswith("ending_inventory_min") for p in problems)


def test_opening_backlog_is_served_first() -> None:
    inp = dataclasses.replace(RED_TOMATO, opening_inventory=0, opening_backlog=300)
    chase = chase_plan(inp)
    assert chase.production[0] == pytest.approx(1900)
    assert chase.backlog[0] == 0
    assert np.abs(_balance_residual(inp, chase)).max() < 1e-9


# --------------------------------------------------------------------------------------------------
# Least production per bucket (what the S&OP cycle's slushy fence keeps)
# --------------------------------------------------------------------------------------------------


def _textbook_lp(inp_kwargs: dict[str, Any], production_min: list[float], production_max: float) -> float:
    """Red Tomato's LP written out from Chopra & Meindl's formulation, with l_t <= P_t <= u, solved by linprog.

    Variables per month, in blocks: W, H, L, P, O, I, S, C. Returns the optimal cost.
    """
    from scipy.optimize import linprog

    demand = inp_kwargs["demand"]
    T = len(demand)
    n = 8 * T

    def var(block: int, t: int) -> int:
        return block * T + t

    W, H, L, P, Ot, It, S, C = range(8)  # Ot, It: O and I look like 0 and 1
    cost = np.zeros(n)
    for t in range(T):
        cost[[var(W, t), var(H, t), var(L, t), var(P, t), var(Ot, t), var(It, t), var(S, t), var(C, t)]] = \
            [640, 300, 500, 10, 6, 2, 5, 30]
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for t in range(T):
        row = np.zeros(n)  # W_t = W_{t-1} + H_t - L_t
        row[[var(W, t), var(H, t), var(L, t)]] = [1, -1, 1]
        if t:
            row[var(W, t - 1)] = -1
        a_eq.append(row)
        b_eq.append(80 if t == 0 else 0)
        row = np.zeros(n)  # I_t - S_t = I_{t-1} - S_{t-1} + P_t + C_t - D_t
        row[[var(It, t), var(S, t), var(P, t), var(C, t)]] = [1, -1, -1, -1]
        if t:
            row[[var(It, t - 1), var(S, t - 1)]] = [-1, 1]
        a_eq.append(row)
        b_eq.append(-demand[t] + (1000 if t == 0 else 0))
        row = np.zeros(n)  # P_t <= 40 W_t + O_t / 4
        row[[var(P, t), var(W, t), var(Ot, t)]] = [1, -40, -0.25]
        a_ub.append(row)
        b_ub.append(0)
        row = np.zeros(n)  # O_t <= 10 W_t
        row[[var(Ot, t), var(W, t)]] = [1, -10]
        a_ub.append(row)
        b_ub.append(0)
    bounds = [(0, None)] * n
    for t in range(T):
        bounds[var(P, t)] = (production_min[t], production_max)
    bounds[var(It, T - 1)] = (500, None)
    bounds[var(S, T - 1)] = (0, 0)
    res = linprog(cost, A_ub=np.array(a_ub), b_ub=b_ub, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds,
                  method="highs")
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize("production_min", [[3000, 0, 0, 0, 0, 0], [0, 0, 3500, 3500, 0, 0], [2800] * 6])
def test_lp_with_production_min_is_the_textbook_lp_with_that_bound(production_min: list[float]) -> None:
    """The LP with ``production_min`` has the optimum of Red Tomato's LP written out independently with the
    same lower bound on P_t (and a cap of 4,000 a month), solved by linprog: the bound binds (the textbook
    optimum makes 2,583 a month) and it costs more."""
    inp = dataclasses.replace(RED_TOMATO, production_min=production_min, production_max=4000)
    plan = solve_lp(inp)
    assert plan.total_cost == pytest.approx(_textbook_lp(_red_tomato_kwargs(), production_min, 4000), rel=1e-9)
    assert plan_violations(inp, plan) == []
    assert np.all(plan.production >= np.asarray(production_min) - 1e-6)
    assert plan.total_cost > 422_275 + 1


def test_a_production_min_that_does_not_bind_leaves_the_textbook_plan() -> None:
    """Red Tomato's optimum makes 2,583 1/3 a month: a floor of 2,000 changes nothing ($422,275, as the book)."""
    for integer in (False, True):
        plain = solve_lp(RED_TOMATO, integer_workforce=integer)
        floored = solve_lp(dataclasses.replace(RED_TOMATO, production_min=2000), integer_workforce=integer)
        assert floored.total_cost == pytest.approx(plain.total_cost, abs=1e-6)
    assert solve_lp(dataclasses.replace(RED_TOMATO, production_min=2000)).total_cost == pytest.approx(422_275, abs=0.5)


@pytest.mark.parametrize("rule", ["level", "chase", "hybrid"])
def test_rules_keep_production_within_its_bounds(rule: str) -> None:
    """Every rule makes at least ``production_min`` and at most ``production_max``; the floor's extra is
    overtime (each plan still balances). Level's workforce still makes the net requirement: the floor in
    month 1 (4,000) leaves the other months to level the rest; chase makes month 1's floor and then each
    month what is still required."""
    floor = [4000, 0, 0, 0, 0, 0]
    inp = dataclasses.replace(RED_TOMATO, production_min=floor, production_max=[4000, 3000, 3000, 3000, 3000, 3000])
    plan = rule_based_plan(inp, rule)  # type: ignore[arg-type]
    assert np.all(plan.production >= np.asarray(floor) - 1e-9)
    assert np.all(plan.production <= np.asarray(inp.production_max) + 1e-9)
    assert np.abs(_balance_residual(inp, plan)).max() < 1e-9
    assert plan.production[0] == pytest.approx(4000)
    if rule == "level":
        assert plan.production.sum() == pytest.approx(16_000 + 500 - 1000)
        np.testing.assert_allclose(plan.production[1:], (15_500 - 4000) / 5)
        assert plan.overtime_hours[0] == pytest.approx((4000 - 40 * plan.workforce[0]) * 4)
    if rule == "chase":
        # 1,000 + 4,000 - 1,600 covers February; March makes the rest of its 3,200, April and May run at the
        # cap (April ends 800 short), June makes its 2,200 and the 500 to end with.
        np.testing.assert_allclose(plan.production[1:], [0, 3200 - 400, 3000, 3000, 2700])


def test_level_makes_up_in_the_other_buckets_what_a_cap_takes() -> None:
    """A cap below the level output in one month is made up by a slightly larger level workforce elsewhere, so
    level still makes its net requirement; with the cap far above it, the textbook workforce (775/12)."""
    capped = level_plan(dataclasses.replace(RED_TOMATO, production_max=[2000, 5000, 5000, 5000, 5000, 5000]))
    assert capped.production.sum() == pytest.approx(15_500)
    assert capped.production[0] == pytest.approx(2000)
    np.testing.assert_allclose(capped.production[1:], 13_500 / 5)
    np.testing.assert_allclose(level_plan(dataclasses.replace(RED_TOMATO, production_max=5000)).workforce, 775 / 12,
                               rtol=1e-12)


def test_plan_violations_reports_production_below_its_minimum() -> None:
    inp = dataclasses.replace(RED_TOMATO, production_min=3000)
    problems = plan_violations(inp, solve_lp(RED_TOMATO))
    assert any(p.startswith("production_min: bucket 1") for p in problems)


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


def _red_tomato_kwargs() -> dict[str, Any]:
    return {
        "demand": [1600, 3000, 3200, 3800, 2200, 2200],
        "hours_per_unit": 4,
        "regular_hours_per_worker": 160,
        "costs": RED_TOMATO_COSTS,
    }


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"demand": [100, -1, 5]}, "demand"),
        ({"demand": []}, "demand"),
        ({"demand": [[1, 2], [3, 4]]}, "demand"),
        ({"demand": [1, float("nan")]}, "demand"),
        ({"hours_per_unit": 0}, "hours_per_unit"),
        ({"regular_hours_per_worker": -160}, "regular_hours_per_worker"),
        ({"regular_hours_per_worker": [160, 160]}, "regular_hours_per_worker"),
        ({"opening_inventory": -1}, "opening_inventory"),
        ({"opening_backlog": -1}, "opening_backlog"),
        ({"opening_workforce": -3}, "opening_workforce"),
        ({"opening_inventory": 10, "opening_backlog": 5}, "opening_backlog"),
        ({"max_overtime_hours_per_worker": -1}, "max_overtime_hours_per_worker"),
        ({"subcontract_capacity": -5}, "subcontract_capacity"),
        ({"production_max": [1] * 5}, "production_max"),
        ({"production_min": [1] * 5}, "production_min"),
        ({"production_min": -1}, "production_min"),
        ({"production_min": float("inf")}, "production_min"),
        ({"production_min": [0, 0, 0, 3000, 0, 0], "production_max": 2500}, "production_min.*bucket 4"),
        ({"inventory_min": 300, "inventory_max": 200}, "inventory_max"),
        ({"ending_inventory_min": 900, "inventory_max": 800}, "ending_inventory_min"),
        ({"ending_inventory_min": -1}, "ending_inventory_min"),
        ({"ending_backlog_max": -1}, "ending_backlog_max"),
        ({"ending_workforce_min": 50, "ending_workforce_max": 40}, "ending_workforce_min"),
        ({"hours_per_unit": "four"}, "hours_per_unit"),
        ({"opening_workforce": True}, "opening_workforce"),
    ],
)
def test_bad_input_names_the_field(override: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        AggregateInput(**(_red_tomato_kwargs() | override))


@pytest.mark.parametrize(
    "field",
    [
        "material_cost_per_unit",
        "overtime_cost_per_hour",
        "hiring_cost_per_worker",
        "layoff_cost_per_worker",
        "holding_cost_per_unit",
        "backlog_cost_per_unit",
        "subcontract_cost_per_unit",
        "regular_wage_per_hour",
    ],
)
def test_negative_cost_names_the_field(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(RED_TOMATO_COSTS, **{field: -1})


def test_wage_must_be_given_exactly_once() -> None:
    with pytest.raises(ValueError, match="regular_wage_per_hour"):
        dataclasses.replace(RED_TOMATO_COSTS, regular_cost_per_worker=640)
    with pytest.raises(ValueError, match="regular_cost_per_worker"):
        dataclasses.replace(RED_TOMATO_COSTS, regular_wage_per_hour=None)


def test_other_argument_errors() -> None:
    with pytest.raises(ValueError, match="opening_workforce"):
        solve_lp(dataclasses.replace(RED_TOMATO, opening_workforce=80.5), integer_workforce=True)
    with pytest.raises(ValueError, match="workforce_quantile"):
        hybrid_plan(RED_TOMATO, workforce_quantile=1.5)
    with pytest.raises(ValueError, match="production"):
        evaluate_plan(RED_TOMATO, workforce=[1] * 6, production=[1] * 5)
    with pytest.raises(ValueError, match="workforce"):
        evaluate_plan(RED_TOMATO, workforce=[-1] * 6, production=[1] * 6)


def test_inputs_are_normalised_and_read_only() -> None:
    assert RED_TOMATO.horizon == 6
    hours = np.asarray(RED_TOMATO.regular_hours_per_worker)
    np.testing.assert_array_equal(hours, [160] * 6)
    with pytest.raises(ValueError):
        hours[0] = 1  # read-only: a plan cannot be changed behind the input's back
    with pytest.raises(dataclasses.FrozenInstanceError):
        RED_TOMATO.hours_per_unit = 2  # type: ignore[misc]


# --------------------------------------------------------------------------------------------------
# Properties over random small problems
# --------------------------------------------------------------------------------------------------


@st.composite
def aggregate_inputs(draw: st.DrawFn) -> AggregateInput:
    horizon = draw(st.integers(1, 6))
    money = st.integers(0, 40).map(float)
    costs = AggregateCosts(
        material_cost_per_unit=draw(money),
        regular_wage_per_hour=draw(st.integers(1, 20).map(float)),
        overtime_cost_per_hour=draw(st.integers(1, 40).map(float)),
        hiring_cost_per_worker=draw(st.integers(0, 800).map(float)),
        layoff_cost_per_worker=draw(st.integers(0, 800).map(float)),
        holding_cost_per_unit=draw(st.integers(0, 10).map(float)),
        backlog_cost_per_unit=draw(st.integers(0, 20).map(float)),
        subcontract_cost_per_unit=draw(st.integers(5, 120).map(float)),
    )
    opening_inventory = float(draw(st.integers(0, 600)))
    opening_backlog = 0.0 if opening_inventory > 0 else float(draw(st.integers(0, 300)))
    w_min = draw(st.none() | st.integers(0, 10).map(float))
    w_max = draw(st.none() | st.integers(int(w_min or 0), 40).map(float))
    inventory_min = draw(
        st.none() | st.lists(st.integers(0, 100).map(float), min_size=horizon, max_size=horizon)
    )
    return AggregateInput(
        demand=draw(st.lists(st.integers(0, 2000).map(float), min_size=horizon, max_size=horizon)),
        hours_per_unit=draw(st.sampled_from([0.5, 1.0, 2.0, 4.0])),
        regular_hours_per_worker=draw(
            st.lists(st.integers(40, 200).map(float), min_size=horizon, max_size=horizon)
        ),
        max_overtime_hours_per_worker=float(draw(st.integers(0, 40))),
        opening_inventory=opening_inventory,
        opening_backlog=opening_backlog,
        opening_workforce=float(draw(st.integers(0, 30))),
        production_max=draw(st.none() | st.integers(0, 3000).map(float)),
        inventory_min=inventory_min,
        ending_inventory_min=draw(st.none() | st.integers(0, 500).map(float)),
        ending_workforce_min=w_min,
        ending_workforce_max=w_max,
        # Unlimited subcontracting keeps every generated problem feasible for the LP.
        subcontract_capacity=None,
        costs=costs,
    )


def _all_plans(inp: AggregateInput) -> list[AggregatePlan]:
    return [
        solve_lp(inp),
        level_plan(inp),
        chase_plan(inp),
        hybrid_plan(inp),
        hybrid_plan(inp, workforce_quantile=0.9, integer_workforce=True),
        level_plan(inp, integer_workforce=True),
        chase_plan(inp, integer_workforce=True),
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(aggregate_inputs())
def test_plans_balance_and_price_consistently(inp: AggregateInput) -> None:
    demand_scale = 1.0 + float(np.sum(inp.demand)) + inp.opening_inventory + inp.opening_backlog
    lp, *rules = _all_plans(inp)
    assert plan_violations(inp, lp) == []
    for plan in [lp, *rules]:
        tol = 1e-7 * demand_scale if plan is lp else 1e-9 * demand_scale
        assert np.abs(_balance_residual(inp, plan)).max() <= tol
        for name in VARIABLES:
            assert np.all(getattr(plan, name) >= 0), name
        # Workforce balance, and the cost breakdown sums to the total and recomputes from the arrays.
        previous = np.r_[inp.opening_workforce, plan.workforce[:-1]]
        np.testing.assert_allclose(plan.workforce, previous + plan.hired - plan.laid_off, atol=1e-6)
        assert plan.total_cost == pytest.approx(sum(plan.costs.as_dict().values()), rel=1e-12, abs=1e-9)
        recomputed = plan_costs(inp, **{name: getattr(plan, name) for name in VARIABLES})
        assert recomputed.total == pytest.approx(plan.total_cost, rel=1e-12, abs=1e-9)
        if plan.strategy == "level":
            assert np.all(plan.hired[1:] == 0) and np.all(plan.laid_off[1:] == 0)
        # The LP is optimal, so no rule plan that obeys its constraints may be cheaper.
        if plan is not lp and not plan_violations(inp, plan):
            assert lp.total_cost <= plan.total_cost + 1e-6 * max(1.0, plan.total_cost)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(aggregate_inputs())
def test_integer_workforce_costs_at_least_the_relaxation(inp: AggregateInput) -> None:
    lp = solve_lp(inp)
    mip = solve_lp(inp, integer_workforce=True)
    assert mip.total_cost >= lp.total_cost - 1e-6 * max(1.0, lp.total_cost)
    np.testing.assert_array_equal(mip.workforce, np.round(mip.workforce))
    assert plan_violations(inp, mip) == []
