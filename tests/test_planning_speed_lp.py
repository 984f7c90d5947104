"""The aggregate LP's fast paths give the program and the plans of the plain build, to the bit.

An S&OP cycle solves a program of the same shape every month: the layout of its constraint matrix is built
once per shape (``aggregate._layout``), and HiGHS is called without ``milp``'s per-call wrapper
(``aggregate._highs_optimum``). Neither may change a plan: the matrix must be the one the equations of the
module docstring give, whatever coefficients a later cycle brings, and the same model handed to the same
solver with the same options has the same optimal vertex.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import sparse

from simsop.planning import aggregate as agg
from simsop.planning.aggregate import AggregateCosts, AggregateInput, AggregatePlanningError, solve_lps

VARIABLES = ("workforce", "hired", "laid_off", "production", "overtime_hours", "inventory", "backlog", "subcontracted")

COSTS = AggregateCosts(material_cost_per_unit=10, regular_wage_per_hour=4, overtime_cost_per_hour=6,
                       hiring_cost_per_worker=300, layoff_cost_per_worker=500, holding_cost_per_unit=2,
                       backlog_cost_per_unit=5, subcontract_cost_per_unit=30)
# Chopra & Meindl's Red Tomato Tools (ch. 8) and variants a rolling plan meets: other horizons, bounds, hours
# that differ by bucket, no overtime (a zero coefficient), an ending backlog priced in the objective.


def _problem(**changes: object) -> AggregateInput:
    fields: dict[str, object] = dict(demand=[1600, 3000, 3200, 3800, 2200, 2200], hours_per_unit=4,
                                     regular_hours_per_worker=160, max_overtime_hours_per_worker=10,
                                     opening_inventory=1000, opening_workforce=80, ending_inventory_min=500,
                                     costs=COSTS)
    return AggregateInput(**{**fields, **changes})  # type: ignore[arg-type]


RED_TOMATO = _problem()
VARIANTS = [
    RED_TOMATO,
    _problem(demand=[2200, 3800, 900], regular_hours_per_worker=[150, 168, 160], max_overtime_hours_per_worker=0.0,
             opening_inventory=0, opening_backlog=300),
    _problem(demand=[500.0], hours_per_unit=2.5, ending_inventory_min=None, ending_backlog_max=None,
             costs=dataclasses.replace(COSTS, ending_backlog_cost_per_unit=40)),
    _problem(production_max=2500, production_min=[1000, 0, 0, 0, 0, 0], subcontract_capacity=[0, 0, 0, 400, 400, 400],
             inventory_max=3000, ending_workforce_max=90, hours_per_unit=3.7),
]


def _reference_matrix(inputs: list[AggregateInput]) -> np.ndarray:
    """The joint constraint matrix written out from the model's equations, one plan after the other: every
    plan's equalities (workforce and inventory balance), then every plan's inequalities (labour capacity,
    overtime limit), the variables W, H, L, P, O, I, S, C of each plan in blocks of its horizon."""
    n_col = sum(8 * inp.horizon for inp in inputs)
    eq_rows: list[np.ndarray] = []
    ub_rows: list[np.ndarray] = []
    col = 0
    for inp in inputs:
        T = inp.horizon
        W, H, L, P, O, I, S, C = (col + k * T for k in range(8))  # noqa: E741 (the model's own names)
        u = np.asarray(inp.regular_hours_per_worker, dtype=float) / inp.hours_per_unit
        ot = np.asarray(inp.max_overtime_hours_per_worker, dtype=float)
        for t in range(T):
            balance, stock, labour, limit = (np.zeros(n_col) for _ in range(4))
            balance[[W + t, H + t, L + t]] = [1.0, -1.0, 1.0]
            stock[[I + t, S + t, P + t, C + t]] = [1.0, -1.0, -1.0, -1.0]
            if t > 0:
                balance[W + t - 1] = -1.0
                stock[[I + t - 1, S + t - 1]] = [-1.0, 1.0]
            labour[[P + t, W + t, O + t]] = [1.0, -u[t], -1.0 / inp.hours_per_unit]
            limit[[O + t, W + t]] = [1.0, -ot[t]]
            eq_rows += [balance, stock]
            ub_rows += [labour, limit]
        col += 8 * T
    return np.array(eq_rows + ub_rows)


def test_the_layout_built_once_gives_each_later_program_its_own_matrix() -> None:
    """Programs of the same shape share one layout, yet each has the matrix of its own coefficients."""
    first = [VARIANTS[0], VARIANTS[1], VARIANTS[2]]
    later = [VARIANTS[3], _problem(demand=[2200, 3800, 900], regular_hours_per_worker=[100, 120, 140],
                                   max_overtime_hours_per_worker=[5, 0, 20]), VARIANTS[2]]
    programs = [agg._program(first), agg._program(later)]
    assert programs[0].indices is programs[1].indices  # the one layout, not rebuilt
    for inputs, program in zip([first, later], programs, strict=True):
        a = sparse.csc_array((program.data, program.indices, program.indptr), shape=program.shape)
        np.testing.assert_array_equal(a.toarray(), _reference_matrix(inputs))
        # Canonical: rows sorted within each column and no cell twice, as scipy's own conversion leaves it.
        canonical = a.copy()
        canonical.sum_duplicates()
        np.testing.assert_array_equal(canonical.indices, program.indices)
        # Every term is stored, also a zero coefficient (no overtime), as the triplet build stored it.
        assert a.nnz == sum(15 * inp.horizon - 3 for inp in inputs)  # 10T - 3 in equalities, 5T in inequalities
    assert programs[1].data is not programs[0].data


@pytest.mark.parametrize("integer", [False, True])
def test_the_direct_solver_call_gives_milps_plans_to_the_bit(integer: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS called directly and through scipy's milp (the fallback) return the same plans, bit for bit."""
    groups = [[VARIANTS[0]], VARIANTS, [VARIANTS[3], VARIANTS[1]]]
    direct_used: list[bool] = []
    optimum = agg._highs_optimum

    def spy(program: agg._Program) -> tuple[np.ndarray, str, str] | None:
        got = optimum(program)
        direct_used.append(got is not None)
        return got

    monkeypatch.setattr(agg, "_highs_optimum", spy)
    fast = [solve_lps(g, integer_workforce=integer) for g in groups]
    monkeypatch.setattr(agg, "_highs_optimum", lambda program: None)
    slow = [solve_lps(g, integer_workforce=integer) for g in groups]
    # The MILP always goes through milp; the LP must take the direct call (if a scipy upgrade moved its
    # private HiGHS bindings, plans stay right but the LP is slower again: update _highs_optimum).
    assert direct_used == ([] if integer else [True] * len(groups))
    for fast_plans, slow_plans in zip(fast, slow, strict=True):
        for a, b in zip(fast_plans, slow_plans, strict=True):
            for name in VARIABLES:
                x, y = getattr(a, name), getattr(b, name)
                np.testing.assert_array_equal(x, y)
                np.testing.assert_array_equal(np.signbit(x), np.signbit(y))
                assert not x.flags.writeable
            assert (a.costs, a.total_cost, a.status, a.message, a.strategy) == (
                b.costs, b.total_cost, b.status, b.message, b.strategy)


def test_an_infeasible_program_is_reported_as_milp_reports_it() -> None:
    """No optimum: the direct call steps aside and milp's status and message name the failure."""
    infeasible = _problem(ending_workforce_max=0, subcontract_capacity=0, inventory_max=600)
    assert agg._highs_optimum(agg._program([infeasible])) is None
    with pytest.raises(AggregatePlanningError, match="infeasible") as info:
        solve_lps([RED_TOMATO, infeasible])
    assert info.value.status == 2 and "Infeasible" in info.value.solver_message


def test_private_highs_bindings_that_fail_in_any_way_leave_the_plan_to_milp(monkeypatch: pytest.MonkeyPatch) -> None:
    """scipy's HiGHS bindings are private: a later scipy may change them so that a call raises something other
    than an import, attribute or type error (it escaped the direct call and ended the plan). Whatever they raise,
    the direct call steps aside and milp gives the plan it gives without them, to the bit. (milp uses the same
    bindings in its own way, so they are broken only while the direct call runs.)"""
    from scipy.optimize._highspy import _core

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("HiGHS bindings changed")

    optimum, works = agg._highs_optimum, _core._Highs
    stepped_aside: list[bool] = []

    def with_broken_bindings(program: agg._Program) -> tuple[np.ndarray, str, str] | None:
        _core._Highs = broken
        try:
            got = optimum(program)
        finally:
            _core._Highs = works
        stepped_aside.append(got is None)
        return got

    expected = solve_lps([RED_TOMATO])
    monkeypatch.setattr(agg, "_highs_optimum", with_broken_bindings)
    got = solve_lps([RED_TOMATO])
    assert stepped_aside == [True]
    for a, b in zip(got, expected, strict=True):
        for name in VARIABLES:
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert (a.total_cost, a.status) == (b.total_cost, b.status)
