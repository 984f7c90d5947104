"""The finance review's working-capital limit: an inventory budget every S&OP plan is checked against.

``planning.inventory_budget`` is the most the finished stock of the products the plants make may be worth, at
unit cost, at the end of any planning bucket (currency units). A plan's stock at the end of bucket t is, product
by product, the stock it starts from (:meth:`~simsop.planning.policy.PlanningState.projected_stock`: on hand and
on order, less the backlog, with what the plan in force makes and the demand plan takes before the plan starts)
plus what the plan makes and buys through bucket t, less its demand plan through t; a product short of stock
counts as 0 (a backlog frees no money for another product's stock). Bought-in products are left out: the plan
neither makes nor buys them, their warehouses reorder them.

The ``lp`` policy plans within the budget (:class:`~simsop.planning.policies.LinearProgramPolicy`): all the
families in one program, their own constraints block by block and one budget row per bucket across them
(:func:`~simsop.planning.policies.budget_rungs`), so the optimiser decides which family holds the stock the budget
allows; its notes name the buckets where the budget binds, with the row's shadow price (what a unit more of budget
would save). Every plan, whatever its policy, is checked at the executive meeting, which records each bucket's
projected value against the budget in the ``inventory_budget`` records table (:class:`BudgetLine`), for the
``budget_breach_buckets`` KPI (:func:`simsop.planning.kpis.budget_breach_buckets`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

TABLE = "inventory_budget"
# A plan a solver made exactly at the budget may come out a few ulps above it.
_REL_TOL = 1e-9
_ABS_TOL = 1e-6


class BudgetLine(NamedTuple):
    """One planning bucket of a plan version: the value of the stock it projects against the budget."""

    cycle: int
    made: float  # day of the executive meeting
    bucket: int  # absolute bucket index
    bucket_start: int
    bucket_days: int
    value: float  # stock of the products the plants make at the bucket's end, at unit cost (currency)
    budget: float


def over_budget(value: np.ndarray | float, budget: np.ndarray | float) -> np.ndarray:
    """Whether each value breaks its budget (beyond float noise)."""
    return np.asarray(value, dtype=float) > np.asarray(budget, dtype=float) * (1.0 + _REL_TOL) + _ABS_TOL


def planned_stock(projected: np.ndarray, demand_plan: np.ndarray, production: np.ndarray,
                  subcontract: np.ndarray | None) -> np.ndarray:
    """Products x buckets: the stock a plan leaves at the end of each bucket (negative: a backlog)."""
    supply = np.asarray(production, dtype=float)
    if subcontract is not None:
        supply = supply + np.asarray(subcontract, dtype=float)
    return np.asarray(projected, dtype=float)[:, None] + np.cumsum(supply - demand_plan, axis=1)


def inventory_value(stock: np.ndarray, unit_cost: np.ndarray, made: np.ndarray) -> np.ndarray:
    """Per bucket, the value at unit cost of the stock (products x buckets) of the ``made`` products, each
    product's shortage counting as 0."""
    return (np.asarray(unit_cost, dtype=float)[made, None] * np.maximum(stock[made], 0.0)).sum(axis=0)


def trimmed_target(target: np.ndarray, unit_cost: np.ndarray, made: np.ndarray, budget: np.ndarray | float
                   ) -> np.ndarray | None:
    """The inventory target cut to the budget (one, or one per bucket): in a bucket where the targets of the
    ``made`` products are worth more than its budget, each of them is scaled by budget / their value (the mix
    kept); None when no bucket needs it."""
    value = (np.asarray(unit_cost, dtype=float)[made, None] * target[made]).sum(axis=0)
    cut = value > budget
    if not cut.any():
        return None
    out = np.array(target, dtype=float)
    scale = np.where(cut, budget / np.where(cut, value, 1.0), 1.0)
    out[made] = out[made] * scale
    return out
