"""Aggregate production planning for one product family: the "supply review" step of S&OP.

Everything here is a pure function on numpy arrays: an :class:`AggregateInput` goes in, an
:class:`AggregatePlan` comes out, and nothing is shared between calls but the layout of the LP's constraint
matrix, which depends only on the horizons (read-only index arrays, built once per shape).

Notation (one value per bucket ``t = 1..T``, e.g. months)::

    D_t  demand                      W_t  workforce (workers)       H_t  workers hired
    L_t  workers laid off            P_t  units produced in-house   O_t  overtime hours
    I_t  ending inventory            S_t  ending backlog            C_t  units subcontracted
    u_t  = regular_hours_per_worker_t / hours_per_unit   (units one worker makes in regular time)

Linear program (:func:`solve_lp`), after Chopra & Meindl, *Supply Chain Management*, ch. 8::

    min  sum_t  w_t W_t + c_O O_t + c_H H_t + c_L L_t + h I_t + b S_t + m P_t + c_C C_t
    s.t. W_t = W_{t-1} + H_t - L_t                                  (workforce balance, W_0 given)
         I_t - S_t = I_{t-1} - S_{t-1} + P_t + C_t - D_t           (inventory balance, I_0, S_0 given)
         P_t <= u_t W_t + O_t / hours_per_unit                      (labour capacity)
         O_t <= max_overtime_hours_per_worker_t * W_t              (overtime limit)
         production_min_t <= P_t <= production_max_t,  C_t <= subcontract_capacity_t
         P_t + C_t <= supply_max_t                                  (joint cap, e.g. what the lanes carry)
         inventory_min_t <= I_t <= inventory_max_t
         I_T >= ending_inventory_min,  S_T <= ending_backlog_max
         ending_workforce_min <= W_T <= ending_workforce_max
         all variables >= 0

where ``w_t`` is the regular cost of one worker in bucket t (``regular_wage_per_hour`` times the regular
hours, or ``regular_cost_per_worker``). The joint row is in the program only for a problem that sets a finite
``supply_max`` (a plant whose lanes limit what leaves it, made or bought): without it the program is the
textbook's, row for row. Materials are charged on in-house production only: as in the
textbook, the subcontract price is an all-in price per unit.

Several families planned under one limit on the value of their stock (a company's inventory budget) are one
program (:func:`solve_within_budget`): each family's program down the diagonal, as above, and one coupling row
per bucket across them::

    sum_f v_f I_{f,t} <= B_t                                        (stock budget, v_f the value of a unit)

so the optimiser, not a fixed rule, decides which family holds the stock the budget allows. The row's dual is
the budget's shadow price: how much the optimal cost would fall per unit more of ``B_t``.

Rule-based strategies (:func:`level_plan`, :func:`chase_plan`, :func:`hybrid_plan`) fix the decisions
by a rule and then run them through :func:`evaluate_plan`, which derives hires and layoffs from the
workforce path, inventory and backlog from the balance equation, and prices the result with
:func:`plan_costs`, the same cost function that prices LP solutions. A rule plan is not guaranteed to
respect every LP constraint (a chase plan may run into ``production_max`` and end with backlog, say):
:func:`plan_violations` lists what it breaks. Every rule keeps production within ``[production_min_t,
production_max_t]`` (a time fence of the S&OP cycle, say): where ``production_min_t`` asks for more than the
rule's workforce makes in regular time, the difference is overtime, even beyond the overtime limit (the
bound wins; :func:`plan_violations` then reports the limit). With ``production_min`` at 0 (the default)
every rule is the textbook's, to the bit. Shared definitions used by the rules:

* ``net_0 = I_0 - S_0`` and ``net_t = net_{t-1} + P_t + C_t - D_t``; then ``I_t = max(net_t, 0)`` and
  ``S_t = max(-net_t, 0)``, so a rule plan never holds stock and backlog at once.
* ``target_T = max(ending_inventory_min, inventory_min_T)`` (0 when neither is given) is the stock the
  horizon must end with; ``floor_t = inventory_min_t`` for ``t < T`` and ``floor_T = target_T``.
* ``requirement_t = max(0, D_t + floor_t - net_{t-1})`` is what bucket t must supply to meet its demand
  and floor after using the stock carried in (or clearing the backlog carried in).
* With ``integer_workforce=True`` every workforce the rule computes is rounded *up* to a whole worker.

The exact rules:

``level``
    One workforce for the whole horizon, ``W = max(0, sum_t D_t + S_0 - I_0 + target_T) / sum_t u_t``,
    clipped to ``[ending_workforce_min, ending_workforce_max]``. Production is that workforce's full
    regular-time output kept within the bounds, ``P_t = clip(W u_t, production_min_t, production_max_t)``
    (constant when the hours are); no subcontracting, no overtime but what ``production_min`` asks for. All
    hiring or layoffs happen in bucket 1. Where a bound binds, ``W`` is instead the smallest workforce
    whose output so bounded still makes that net requirement, ``sum_t P_t``: the other buckets make up
    what a bound takes from (or adds to) a bucket, so stock still absorbs the swings.
``chase``
    Production equals the bucket's requirement,
    ``P_t = clip(requirement_t, production_min_t, production_max_t)``, so the
    opening stock is used up first and then each bucket makes its own demand (plus any floor). The
    workforce is exactly what that takes in regular time, ``W_t = P_t / u_t``, hired or laid off every
    bucket; in the last bucket ``W_T`` is clipped to the ending workforce bounds (and production to what
    ``W_T`` can make). No overtime, no subcontracting.
``hybrid``
    A constant workforce ``W`` (given, or the ``workforce_quantile`` quantile of the per-bucket
    requirement ``D_t / u_t``, linear interpolation) clipped to the ending bounds, changed only in
    bucket 1. Each bucket it works regular time up to capacity, but builds stock only for what later
    buckets cannot make in their own regular time: ``R_t = min(c_t, max(0, D_t - net_{t-1} +
    max(floor_t, B_t)))`` with regular capacity ``c_t = min(W u_t, production_max_t)`` and the build-ahead
    ``B_t = max_{k>t} (sum_{j=t+1..k} (D_j - c_j) + floor_k)``, the largest shortfall of the buckets ahead
    (with the stock each must end with). Regular time a later bucket has to spare is not used early, so
    stock is not carried for months before it is needed. A gap ``g_t = max(0, requirement_t - R_t)`` is
    covered first by overtime, up to
    ``W * max_overtime_hours_per_worker_t / hours_per_unit`` units and the production cap, then by
    subcontracting up to ``subcontract_capacity_t`` and what ``supply_max_t`` leaves beside production;
    whatever is left becomes backlog. Production below
    ``production_min_t`` is raised to it (idle regular time first, then overtime) and subcontracts less.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "AggregateCosts",
    "AggregateInput",
    "AggregatePlan",
    "AggregatePlanningError",
    "BudgetedPlans",
    "CostBreakdown",
    "StockBudget",
    "chase_plan",
    "evaluate_plan",
    "hybrid_plan",
    "level_plan",
    "plan_costs",
    "plan_violations",
    "rule_based_plan",
    "solve_lp",
    "solve_lps",
    "solve_within_budget",
]

# Float noise (64.00000000001 workers from 15,500 / 240-style arithmetic) must not round up to a whole
# extra worker, hence the slack before ceil.
_CEIL_SLACK = 1e-9


# --------------------------------------------------------------------------------------------------
# Validation helpers: every error names the field it is about, so a scenario author can find it.
# --------------------------------------------------------------------------------------------------


def _scalar(name: str, value: object, *, allow_inf: bool = False, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    x = float(value)
    if math.isnan(x) or (math.isinf(x) and not allow_inf):
        raise ValueError(f"{name} must be finite, got {x}")
    if positive and not x > 0:
        raise ValueError(f"{name} must be > 0, got {x:g}")
    if x < 0:
        raise ValueError(f"{name} must be >= 0, got {x:g}")
    return x


def _per_bucket(
    name: str, value: object, horizon: int, *, allow_inf: bool = False, positive: bool = False
) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or one number per bucket, got {value!r}") from None
    if arr.ndim == 0:
        arr = np.full(horizon, float(arr))
    elif arr.shape != (horizon,):
        raise ValueError(
            f"{name} must be a scalar or have one value per bucket ({horizon}), got shape {arr.shape}"
        )
    else:
        arr = arr.copy()
    bad = np.isnan(arr) | (np.isinf(arr) & (not allow_inf))
    if bad.any():
        raise ValueError(f"{name} must be finite, got {arr[bad][0]} in bucket {int(np.argmax(bad)) + 1}")
    bad = arr <= 0 if positive else arr < 0
    if bad.any():
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be {bound}, got {arr[bad][0]:g} in bucket {int(np.argmax(bad)) + 1}")
    arr.setflags(write=False)
    return arr


def _frozen(arr: FloatArray) -> FloatArray:
    arr.setflags(write=False)
    return arr


# --------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AggregateCosts:
    """Cost rates of an aggregate plan, all in currency and all ``>= 0``.

    Regular labour is given either per hour (``regular_wage_per_hour``, multiplied by each bucket's
    regular hours) or per worker per bucket (``regular_cost_per_worker``): exactly one of the two.

    Attributes:
        material_cost_per_unit: Material cost of one unit produced in-house.
        overtime_cost_per_hour: Cost of one overtime hour.
        hiring_cost_per_worker: Cost of hiring (and training) one worker.
        layoff_cost_per_worker: Cost of laying off one worker.
        holding_cost_per_unit: Cost of one unit of ending inventory per bucket.
        backlog_cost_per_unit: Cost of one unit of ending backlog (late demand) per bucket.
        subcontract_cost_per_unit: All-in price of one subcontracted unit (no material cost added).
        regular_wage_per_hour: Regular-time wage per hour.
        regular_cost_per_worker: Regular-time cost of one worker for one bucket.
        ending_backlog_cost_per_unit: Cost in the objective of each unit still backlogged at the end of the
            horizon, beyond its bucket's backlog cost (default 0, the textbook's model). A rolling plan whose
            backlog may end above zero needs it, or the last buckets are planned to serve no one: making a
            unit costs more than carrying it a bucket or two as backlog. It steers the plan only: the plan's
            cost (``plan_cost``) leaves it out.
    """

    material_cost_per_unit: float
    overtime_cost_per_hour: float
    hiring_cost_per_worker: float
    layoff_cost_per_worker: float
    holding_cost_per_unit: float
    backlog_cost_per_unit: float
    subcontract_cost_per_unit: float
    regular_wage_per_hour: float | None = None
    regular_cost_per_worker: float | None = None
    ending_backlog_cost_per_unit: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None or f.name not in ("regular_wage_per_hour", "regular_cost_per_worker"):
                object.__setattr__(self, f.name, _scalar(f.name, value))
        if (self.regular_wage_per_hour is None) == (self.regular_cost_per_worker is None):
            raise ValueError(
                "regular_wage_per_hour / regular_cost_per_worker: give exactly one of the two, got "
                f"{self.regular_wage_per_hour!r} and {self.regular_cost_per_worker!r}"
            )


@dataclass(frozen=True)
class _Data:
    """The input normalised to float arrays of length T, with "no limit" spelled as 0 or inf."""

    demand: FloatArray
    units_per_worker: FloatArray  # u_t: regular-time units one worker makes in bucket t
    overtime_hours_per_worker: FloatArray
    regular_cost_per_worker: FloatArray
    subcontract_capacity: FloatArray
    production_min: FloatArray
    production_max: FloatArray
    inventory_min: FloatArray
    inventory_max: FloatArray
    ending_inventory_min: float
    ending_backlog_max: float
    ending_workforce_min: float
    ending_workforce_max: float
    supply_max: FloatArray  # inf where nothing caps production plus subcontracting

    @property
    def joint_cap(self) -> bool:
        """Whether the program needs the joint row P_t + C_t <= supply_max_t (some bucket's is finite)."""
        return bool(np.isfinite(self.supply_max).any())

    @property
    def ending_target(self) -> float:
        return max(self.ending_inventory_min, float(self.inventory_min[-1]))

    @property
    def floors(self) -> FloatArray:
        out = self.inventory_min.copy()
        out[-1] = self.ending_target
        return out


@dataclass(frozen=True, eq=False, kw_only=True)
class AggregateInput:
    """One aggregate-planning problem: a product family's demand, starting state, capacities and costs.

    Per-bucket fields accept a scalar (same value every bucket) or one value per bucket; after
    construction they hold read-only float arrays. Optional limits default to "no limit". Instances
    compare by identity (numpy fields make value equality ambiguous).

    Attributes:
        demand: Demand per bucket (units), length T >= 1.
        hours_per_unit: Labour standard: hours to make one unit (> 0).
        regular_hours_per_worker: Regular hours one worker works per bucket (> 0), e.g. 20 days x 8 h.
        costs: The cost rates.
        opening_inventory: Inventory on hand before bucket 1.
        opening_backlog: Unfilled demand before bucket 1 (must be 0 when there is opening inventory).
        opening_workforce: Workers employed before bucket 1.
        max_overtime_hours_per_worker: Overtime limit per worker per bucket (0 = no overtime).
        subcontract_capacity: Most units that can be subcontracted per bucket (None = unlimited).
        production_max: Cap on in-house production per bucket, e.g. machine capacity (None = none).
        supply_max: Cap on in-house production plus subcontracting per bucket, e.g. what the lanes out of the
            plant carry away, made or bought (None = none). It must not be below ``production_min``. It caps
            production alone too (``production_max`` is taken as the lesser of the two), so the rules keep
            within it; hybrid, the one rule that subcontracts, buys no more than it leaves beside production.
        production_min: Least in-house production per bucket, e.g. what a time fence keeps of an agreed
            plan (None = 0). It must not exceed ``production_max``; where it asks for more than the
            workforce can make, the LP hires or works overtime, and the rules work overtime.
        inventory_min: Minimum ending inventory per bucket, e.g. safety stock (None = 0).
        inventory_max: Maximum ending inventory per bucket, e.g. warehouse space (None = none).
        ending_inventory_min: Required inventory at the end of bucket T (None = no requirement).
        ending_backlog_max: Most backlog allowed at the end of bucket T (default 0; None = any).
        ending_workforce_min: Lower bound on the workforce in bucket T (None = 0).
        ending_workforce_max: Upper bound on the workforce in bucket T (None = none).
    """

    demand: npt.ArrayLike
    hours_per_unit: float
    regular_hours_per_worker: npt.ArrayLike
    costs: AggregateCosts
    opening_inventory: float = 0.0
    opening_backlog: float = 0.0
    opening_workforce: float = 0.0
    max_overtime_hours_per_worker: npt.ArrayLike = 0.0
    subcontract_capacity: npt.ArrayLike | None = None
    production_max: npt.ArrayLike | None = None
    production_min: npt.ArrayLike | None = None
    inventory_min: npt.ArrayLike | None = None
    inventory_max: npt.ArrayLike | None = None
    ending_inventory_min: float | None = None
    ending_backlog_max: float | None = 0.0
    ending_workforce_min: float | None = None
    ending_workforce_max: float | None = None
    supply_max: npt.ArrayLike | None = None
    _data: _Data = field(init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # the dataclass is frozen; normalising in place is the one exception
        if not isinstance(self.costs, AggregateCosts):
            raise ValueError(f"costs must be an AggregateCosts, got {type(self.costs).__name__}")
        try:
            demand = np.asarray(self.demand, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"demand must be a 1-D array of numbers, got {self.demand!r}") from None
        if demand.ndim != 1 or demand.size == 0:
            raise ValueError(f"demand must be a non-empty 1-D array, got shape {demand.shape}")
        horizon = demand.size
        demand = _per_bucket("demand", demand, horizon)
        set_(self, "demand", demand)

        for name in ("opening_inventory", "opening_backlog", "opening_workforce"):
            set_(self, name, _scalar(name, getattr(self, name)))
        set_(self, "hours_per_unit", _scalar("hours_per_unit", self.hours_per_unit, positive=True))
        reg_hours = _per_bucket(
            "regular_hours_per_worker", self.regular_hours_per_worker, horizon, positive=True
        )
        set_(self, "regular_hours_per_worker", reg_hours)
        ot_hours = _per_bucket("max_overtime_hours_per_worker", self.max_overtime_hours_per_worker, horizon)
        set_(self, "max_overtime_hours_per_worker", ot_hours)

        def optional_per_bucket(name: str, default: float) -> FloatArray:
            value = getattr(self, name)
            if value is None:
                return _frozen(np.full(horizon, default))
            arr = _per_bucket(name, value, horizon, allow_inf=True)
            set_(self, name, arr)
            return arr

        sub_cap = optional_per_bucket("subcontract_capacity", math.inf)
        prod_max = optional_per_bucket("production_max", math.inf)
        prod_min = optional_per_bucket("production_min", 0.0)
        if np.isinf(prod_min).any():
            raise ValueError("production_min must be finite")
        supply_max = optional_per_bucket("supply_max", math.inf)
        inv_min = optional_per_bucket("inventory_min", 0.0)
        inv_max = optional_per_bucket("inventory_max", math.inf)
        if np.isinf(inv_min).any():
            raise ValueError("inventory_min must be finite")

        def optional_scalar(name: str, default: float) -> float:
            value = getattr(self, name)
            if value is None:
                return default
            x = _scalar(name, value)
            set_(self, name, x)
            return x

        end_inv = optional_scalar("ending_inventory_min", 0.0)
        end_backlog = optional_scalar("ending_backlog_max", math.inf)
        end_w_min = optional_scalar("ending_workforce_min", 0.0)
        end_w_max = optional_scalar("ending_workforce_max", math.inf)

        # Consistency between fields: each of these makes the problem infeasible by construction, which
        # is better reported against the field than as an opaque solver failure later.
        if self.opening_inventory > 0 and self.opening_backlog > 0:
            raise ValueError(
                "opening_backlog must be 0 when opening_inventory > 0 (stock on hand would have filled it)"
            )
        if (inv_max < inv_min).any():
            t = int(np.argmax(inv_max < inv_min))
            raise ValueError(
                f"inventory_max must be >= inventory_min, got {inv_max[t]:g} < {inv_min[t]:g} "
                f"in bucket {t + 1}"
            )
        if (prod_max < prod_min).any():
            t = int(np.argmax(prod_max < prod_min))
            raise ValueError(
                f"production_min must be <= production_max, got {prod_min[t]:g} > {prod_max[t]:g} "
                f"in bucket {t + 1}"
            )
        if (supply_max < prod_min).any():
            t = int(np.argmax(supply_max < prod_min))
            raise ValueError(
                f"production_min must be <= supply_max, got {prod_min[t]:g} > {supply_max[t]:g} "
                f"in bucket {t + 1}"
            )
        if end_inv > inv_max[-1]:
            raise ValueError(
                f"ending_inventory_min ({end_inv:g}) exceeds inventory_max in the last bucket "
                f"({inv_max[-1]:g})"
            )
        if end_w_min > end_w_max:
            raise ValueError(
                f"ending_workforce_min ({end_w_min:g}) exceeds ending_workforce_max ({end_w_max:g})"
            )

        costs = self.costs
        if costs.regular_cost_per_worker is not None:
            per_worker = np.full(horizon, costs.regular_cost_per_worker)
        else:
            assert costs.regular_wage_per_hour is not None  # AggregateCosts guarantees one of the two
            per_worker = costs.regular_wage_per_hour * reg_hours
        set_(
            self,
            "_data",
            _Data(
                demand=demand,
                units_per_worker=_frozen(reg_hours / self.hours_per_unit),
                overtime_hours_per_worker=ot_hours,
                regular_cost_per_worker=_frozen(per_worker),
                subcontract_capacity=sub_cap,
                production_min=prod_min,
                # What is bought shares the joint cap with what is made: production alone cannot pass it.
                production_max=_frozen(np.minimum(prod_max, supply_max)) if np.isfinite(supply_max).any()
                else prod_max,
                inventory_min=inv_min,
                inventory_max=inv_max,
                ending_inventory_min=end_inv,
                ending_backlog_max=end_backlog,
                ending_workforce_min=end_w_min,
                ending_workforce_max=end_w_max,
                supply_max=supply_max,
            ),
        )

    @property
    def horizon(self) -> int:
        """Number of buckets T."""
        return int(self._data.demand.size)


# --------------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostBreakdown:
    """Cost of a plan by category, summed over the horizon."""

    regular_labor: float
    overtime: float
    hiring: float
    layoff: float
    holding: float
    backlog: float
    materials: float
    subcontracting: float

    @property
    def total(self) -> float:
        """Sum of all categories."""
        return math.fsum(self.as_dict().values())

    def as_dict(self) -> dict[str, float]:
        """The categories as a plain dict, in declaration order."""
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True, eq=False, kw_only=True)
class AggregatePlan:
    """An aggregate plan: the decision variables by bucket, their cost and how they were obtained.

    Attributes:
        strategy: ``"lp"``, ``"milp"``, ``"level"``, ``"chase"``, ``"hybrid"`` or the caller's label.
        status: ``"optimal"`` for a solved program, ``"time_limit"`` for a MILP stopped early with a
            feasible incumbent, ``"evaluated"`` for a plan priced by :func:`evaluate_plan`.
        message: The solver's message (empty for rule-based plans).
        workforce: W_t, workers employed in bucket t.
        hired: H_t, workers hired at the start of bucket t.
        laid_off: L_t, workers laid off at the start of bucket t.
        production: P_t, units made in-house (regular plus overtime).
        overtime_hours: O_t, overtime hours worked.
        inventory: I_t, ending inventory.
        backlog: S_t, ending backlog.
        subcontracted: C_t, units bought from the subcontractor.
        costs: Cost by category.
        total_cost: ``costs.total``.
    """

    strategy: str
    status: str
    message: str
    workforce: FloatArray
    hired: FloatArray
    laid_off: FloatArray
    production: FloatArray
    overtime_hours: FloatArray
    inventory: FloatArray
    backlog: FloatArray
    subcontracted: FloatArray
    costs: CostBreakdown
    total_cost: float

    @property
    def horizon(self) -> int:
        """Number of buckets T."""
        return int(self.workforce.size)

    @property
    def average_inventory(self) -> float:
        """Mean ending inventory over the horizon."""
        return float(np.mean(self.inventory))


class AggregatePlanningError(RuntimeError):
    """The solver found no plan: the problem is infeasible or the solve failed.

    Attributes:
        status: The solver's integer status code.
        solver_message: The solver's own message.
    """

    def __init__(self, message: str, *, status: int, solver_message: str) -> None:
        super().__init__(message)
        self.status = status
        self.solver_message = solver_message


# --------------------------------------------------------------------------------------------------
# Costing and evaluation (shared by the LP and the rules)
# --------------------------------------------------------------------------------------------------

_VARIABLES = (
    "workforce",
    "hired",
    "laid_off",
    "production",
    "overtime_hours",
    "inventory",
    "backlog",
    "subcontracted",
)


def _unit_costs(inp: AggregateInput) -> dict[str, float | FloatArray]:
    """Cost per unit of each decision variable: per bucket for the workforce, else one rate for every bucket."""
    d, c = inp._data, inp.costs
    return {
        "workforce": d.regular_cost_per_worker,
        "hired": c.hiring_cost_per_worker,
        "laid_off": c.layoff_cost_per_worker,
        "production": c.material_cost_per_unit,
        "overtime_hours": c.overtime_cost_per_hour,
        "inventory": c.holding_cost_per_unit,
        "backlog": c.backlog_cost_per_unit,
        "subcontracted": c.subcontract_cost_per_unit,
    }


def _check_vector(name: str, value: npt.ArrayLike, horizon: int) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (horizon,):
        raise ValueError(f"{name} must have one value per bucket ({horizon}), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    return arr


def plan_costs(
    inp: AggregateInput,
    *,
    workforce: npt.ArrayLike,
    hired: npt.ArrayLike,
    laid_off: npt.ArrayLike,
    production: npt.ArrayLike,
    overtime_hours: npt.ArrayLike,
    inventory: npt.ArrayLike,
    backlog: npt.ArrayLike,
    subcontracted: npt.ArrayLike,
) -> CostBreakdown:
    """Price a plan's decision variables with the input's cost rates.

    This is the single cost function behind every plan in this module, LP or rule-based, so their
    totals are comparable.

    Args:
        inp: The planning problem (only its cost rates and regular hours are used).
        workforce: W_t by bucket.
        hired: H_t by bucket.
        laid_off: L_t by bucket.
        production: P_t by bucket.
        overtime_hours: O_t by bucket.
        inventory: I_t by bucket.
        backlog: S_t by bucket.
        subcontracted: C_t by bucket.

    Returns:
        The cost by category.

    Raises:
        ValueError: If an array does not have one finite value per bucket.
    """
    values = {
        "workforce": workforce,
        "hired": hired,
        "laid_off": laid_off,
        "production": production,
        "overtime_hours": overtime_hours,
        "inventory": inventory,
        "backlog": backlog,
        "subcontracted": subcontracted,
    }
    unit = _unit_costs(inp)
    # A rate times an array is the same product, bit for bit, as an array of that rate times it; fsum reads a
    # list faster than an array's elements.
    cost = {
        name: math.fsum((unit[name] * _check_vector(name, values[name], inp.horizon)).tolist())
        for name in _VARIABLES
    }
    return CostBreakdown(
        regular_labor=cost["workforce"],
        overtime=cost["overtime_hours"],
        hiring=cost["hired"],
        layoff=cost["laid_off"],
        holding=cost["inventory"],
        backlog=cost["backlog"],
        materials=cost["production"],
        subcontracting=cost["subcontracted"],
    )


def _make_plan(
    inp: AggregateInput, strategy: str, status: str, message: str, arrays: dict[str, FloatArray],
    fresh: bool = False,
) -> AggregatePlan:
    """The plan of ``arrays``, priced; ``fresh``: the arrays are the caller's own float arrays, which the
    plan may keep (else it keeps copies)."""
    frozen = {name: _frozen(arrays[name] if fresh else np.array(arrays[name], dtype=np.float64))
              for name in _VARIABLES}
    costs = plan_costs(inp, **frozen)
    return AggregatePlan(
        strategy=strategy, status=status, message=message, costs=costs, total_cost=costs.total, **frozen
    )


def evaluate_plan(
    inp: AggregateInput,
    *,
    workforce: npt.ArrayLike,
    production: npt.ArrayLike,
    overtime_hours: npt.ArrayLike | None = None,
    subcontracted: npt.ArrayLike | None = None,
    strategy: str = "custom",
) -> AggregatePlan:
    """Complete and price a plan given its primary decisions.

    Hires and layoffs follow from the workforce path (starting at ``opening_workforce``), inventory and
    backlog from the balance ``I_t - S_t = I_{t-1} - S_{t-1} + P_t + C_t - D_t`` with stock and backlog
    netted (never both positive). No constraint is enforced: use :func:`plan_violations` to check one.

    Args:
        inp: The planning problem.
        workforce: W_t by bucket, ``>= 0``.
        production: P_t by bucket, ``>= 0``.
        overtime_hours: O_t by bucket, ``>= 0`` (default none).
        subcontracted: C_t by bucket, ``>= 0`` (default none).
        strategy: Label stored in the plan.

    Returns:
        The plan, with status ``"evaluated"``.

    Raises:
        ValueError: If an array has the wrong length or a negative or non-finite value.
    """
    horizon = inp.horizon
    zeros = np.zeros(horizon)
    given = {
        "workforce": workforce,
        "production": production,
        "overtime_hours": zeros if overtime_hours is None else overtime_hours,
        "subcontracted": zeros if subcontracted is None else subcontracted,
    }
    arrays: dict[str, FloatArray] = {}
    for name, value in given.items():
        arr = _check_vector(name, value, horizon)
        if (arr < 0).any():
            raise ValueError(f"{name} must be >= 0, got {arr.min():g}")
        arrays[name] = arr
    w = arrays["workforce"]
    change = np.diff(w, prepend=inp.opening_workforce)
    arrays["hired"] = np.maximum(change, 0.0)
    arrays["laid_off"] = np.maximum(-change, 0.0)
    # A running sum rather than cumsum-and-difference keeps each bucket's balance exact to one rounding.
    net = np.empty(horizon)
    running = inp.opening_inventory - inp.opening_backlog
    supply = arrays["production"] + arrays["subcontracted"] - inp._data.demand
    for t in range(horizon):
        running += supply[t]
        net[t] = running
    arrays["inventory"] = np.maximum(net, 0.0)
    arrays["backlog"] = np.maximum(-net, 0.0)
    return _make_plan(inp, strategy, "evaluated", "", arrays)


def plan_violations(inp: AggregateInput, plan: AggregatePlan, *, tol: float = 1e-6) -> list[str]:
    """List the LP constraints a plan breaks.

    Args:
        inp: The planning problem.
        plan: Any plan for it (LP, rule-based or hand-made).
        tol: Relative tolerance: a constraint counts as broken when it is off by more than
            ``tol * max(1, size of the quantities involved)``.

    Returns:
        One human-readable line per broken constraint and bucket; empty when the plan is feasible.
    """
    d = inp._data
    horizon = inp.horizon
    out: list[str] = []

    def check(
        label: str, lhs: FloatArray, relation: Literal["<=", ">=", "=="], rhs: FloatArray, first: int = 0
    ) -> None:
        scale = np.maximum(1.0, np.maximum(np.abs(lhs), np.where(np.isfinite(rhs), np.abs(rhs), 0.0)))
        gap = lhs - rhs
        if relation == "==":
            bad = np.abs(gap) > tol * scale
        else:
            bad = (gap if relation == "<=" else -gap) > tol * scale
        for t in np.flatnonzero(bad):
            out.append(f"{label}: bucket {first + t + 1}: {lhs[t]:.6g} {relation} {rhs[t]:.6g} fails")

    zero = np.zeros(horizon)
    for name in _VARIABLES:
        check(f"{name} >= 0", np.asarray(getattr(plan, name)), ">=", zero)
    w, p, o = plan.workforce, plan.production, plan.overtime_hours
    inv, back, sub = plan.inventory, plan.backlog, plan.subcontracted
    check("workforce balance", w, "==", np.r_[inp.opening_workforce, w[:-1]] + plan.hired - plan.laid_off)
    opening_net = inp.opening_inventory - inp.opening_backlog
    check("inventory balance", inv - back, "==", np.r_[opening_net, (inv - back)[:-1]] + p + sub - d.demand)
    check("labour capacity", p, "<=", d.units_per_worker * w + o / inp.hours_per_unit)
    check("overtime limit", o, "<=", d.overtime_hours_per_worker * w)
    check("production_max", p, "<=", d.production_max)
    check("production_min", p, ">=", d.production_min)
    check("subcontract_capacity", sub, "<=", d.subcontract_capacity)
    check("supply_max", p + sub, "<=", d.supply_max)
    check("inventory_min", inv, ">=", d.inventory_min)
    check("inventory_max", inv, "<=", d.inventory_max)
    last = horizon - 1
    ends: list[tuple[str, FloatArray, Literal["<=", ">="], float]] = [
        ("ending_inventory_min", inv, ">=", d.ending_inventory_min),
        ("ending_backlog_max", back, "<=", d.ending_backlog_max),
        ("ending_workforce_min", w, ">=", d.ending_workforce_min),
        ("ending_workforce_max", w, "<=", d.ending_workforce_max),
    ]
    for label, values, relation, bound in ends:
        check(label, values[last:], relation, np.array([bound]), first=last)
    return out


# --------------------------------------------------------------------------------------------------
# Linear program
# --------------------------------------------------------------------------------------------------


def solve_lp(
    inp: AggregateInput, integer_workforce: bool = False, *, time_limit: float | None = None
) -> AggregatePlan:
    """Find the cheapest aggregate plan with the textbook linear program (see the module docstring).

    Args:
        inp: The planning problem.
        integer_workforce: If True, W, H and L must be whole workers and the mixed-integer program is
            solved with ``scipy.optimize.milp``; otherwise the linear relaxation, also with ``milp``
            (HiGHS; without integer variables it is a linear program).
        time_limit: Wall-clock limit in seconds for the solver (None = none). A MILP stopped by it
            with a feasible plan in hand returns that plan with status ``"time_limit"``.

    Returns:
        The optimal plan (strategy ``"lp"`` or ``"milp"``), priced by :func:`plan_costs`.

    Raises:
        ValueError: If ``integer_workforce`` is set and ``opening_workforce`` is fractional.
        AggregatePlanningError: If the problem is infeasible or the solver fails; the message
            includes the solver's.
    """
    if integer_workforce and not float(inp.opening_workforce).is_integer():
        raise ValueError(
            "opening_workforce must be a whole number when integer_workforce=True, "
            f"got {inp.opening_workforce}"
        )
    return solve_lps([inp], integer_workforce, time_limit=time_limit)[0]


def solve_lps(
    inputs: Sequence[AggregateInput], integer_workforce: bool = False, *, time_limit: float | None = None
) -> list[AggregatePlan]:
    """Solve several independent aggregate plans (a company's families) as one block-diagonal program.

    The problems share no variable or constraint, so the optimum of each is that of :func:`solve_lp`; one
    solver call instead of one per problem saves the solver's set-up, which costs more than solving such
    small programs. If the joint program fails, each problem is solved alone, so the error names the one
    that fails.

    Args:
        inputs: The planning problems.
        integer_workforce: As in :func:`solve_lp`.
        time_limit: As in :func:`solve_lp`, for all of them together.

    Returns:
        The plan of each problem, in order.

    Raises:
        ValueError: As in :func:`solve_lp`.
        AggregatePlanningError: As in :func:`solve_lp`, for the first problem that cannot be solved.
    """
    if not inputs:
        return []
    _check_whole_workforce(inputs, integer_workforce)
    program = _program(inputs)
    strategy = "milp" if integer_workforce else "lp"
    solved = None if integer_workforce or time_limit is not None else _highs_optimum(program)
    if solved is not None:
        x_all, status, message, _ = solved
    else:
        found, res = _milp_solution(program, integer_workforce, time_limit)
        if found is None:
            if len(inputs) > 1:
                return [solve_lps([inp], integer_workforce, time_limit=time_limit)[0] for inp in inputs]
            raise _solver_error(strategy, int(res.status), str(res.message))
        x_all, status, message = found
    return _plans_of(inputs, x_all, strategy, status, message, integer_workforce)


def _plans_of(inputs: Sequence[AggregateInput], x_all: FloatArray, strategy: str, status: str, message: str,
              integer_workforce: bool) -> list[AggregatePlan]:
    """Each input's plan from the joint program's solution ``x_all`` (the plans' variables one after another)."""
    plans = []
    start = 0
    for inp in inputs:
        horizon = inp.horizon
        x = x_all[start: start + len(_VARIABLES) * horizon]
        start += x.size
        # HiGHS may return -1e-12 for a variable at its zero bound; a plan should not show it.
        arrays = {name: np.maximum(x[k * horizon: (k + 1) * horizon].copy(), 0.0) for k, name in enumerate(_VARIABLES)}
        if integer_workforce:
            for name in ("workforce", "hired", "laid_off"):
                arrays[name] = np.round(arrays[name])
        plans.append(_make_plan(inp, strategy, status, message, arrays, fresh=True))
    return plans


@dataclass(frozen=True)
class StockBudget:
    """A limit on the value of several plans' stock together: per bucket t, ``sum_i value_per_unit_i x I_{i,t}
    <= limit_t`` (the coupling rows of :func:`solve_within_budget`).

    Attributes:
        value_per_unit: Per plan, the value of one unit of its ending inventory (currency, >= 0).
        limit: Per bucket, the most the plans' ending inventories may be worth together (inf: no limit).
    """

    value_per_unit: FloatArray
    limit: FloatArray


@dataclass(frozen=True)
class BudgetedPlans:
    """The plans of a joint program under a :class:`StockBudget`.

    Attributes:
        plans: Each input's plan, in order.
        value: Per bucket, the plans' stock at ``value_per_unit`` (the coupling rows' left-hand side).
        shadow_price: Per bucket, how much the optimal objective falls per unit more of the limit (>= 0, the
            coupling row's dual); None for a MILP (whole workers: no dual) or when the solver gave none.
    """

    plans: list[AggregatePlan]
    value: FloatArray
    shadow_price: FloatArray | None


def solve_within_budget(inputs: Sequence[AggregateInput], budget: StockBudget, integer_workforce: bool = False,
                        *, time_limit: float | None = None) -> BudgetedPlans:
    """The cheapest plans of several problems of one horizon whose stock shares one budget: the block-diagonal
    program of :func:`solve_lps` plus one coupling row per bucket (see the module docstring).

    Args:
        inputs: The planning problems (a company's families), all of the same horizon.
        budget: The value of a unit of each problem's stock and the limit per bucket.
        integer_workforce: As in :func:`solve_lp`.
        time_limit: As in :func:`solve_lp`, for the joint program.

    Returns:
        The plans, their stock's value per bucket and the budget's shadow price per bucket.

    Raises:
        ValueError: On problems of different horizons, a budget of the wrong shape, or as :func:`solve_lp`.
        AggregatePlanningError: If the joint program has no plan (the problems are coupled: no one of them is
            to blame, so none is named).
    """
    if not inputs:
        raise ValueError("solve_within_budget needs at least one problem")
    horizon = inputs[0].horizon
    if any(inp.horizon != horizon for inp in inputs):
        raise ValueError(f"the problems under one budget must share a horizon, got {[i.horizon for i in inputs]}")
    value = np.asarray(budget.value_per_unit, dtype=np.float64)
    limit = np.asarray(budget.limit, dtype=np.float64)
    if value.shape != (len(inputs),) or not np.isfinite(value).all() or (value < 0).any():
        raise ValueError(f"value_per_unit must be one finite value >= 0 per problem, got {value!r}")
    if limit.shape != (horizon,) or np.isnan(limit).any() or (limit < 0).any():
        raise ValueError(f"limit must be one value >= 0 per bucket ({horizon}), got {limit!r}")
    _check_whole_workforce(inputs, integer_workforce)
    program = _program(inputs, StockBudget(value, limit))
    strategy = "milp" if integer_workforce else "lp"
    solved = None if integer_workforce or time_limit is not None else _highs_optimum(program, duals=True)
    price: FloatArray | None = None
    if solved is not None:
        x_all, status, message, row_dual = solved
        if row_dual is not None:
            # HiGHS's dual of a <= row of a minimisation is <= 0 (d objective / d rhs); noise may cross 0.
            price = _frozen(np.maximum(-row_dual[-horizon:], 0.0))
    else:
        found, res = _milp_solution(program, integer_workforce, time_limit)
        if found is None:
            raise _solver_error(strategy, int(res.status), str(res.message))
        x_all, status, message = found
    plans = _plans_of(inputs, x_all, strategy, status, message, integer_workforce)
    held = _frozen(np.sum([v * ap.inventory for v, ap in zip(value.tolist(), plans, strict=True)], axis=0))
    return BudgetedPlans(plans, held, price)


@dataclass(frozen=True)
class _Program:
    """The joint program of several plans: min objective @ x, lhs <= A x <= rhs, lower <= x <= upper.

    ``A`` is in compressed sparse column form (``indptr``, ``indices``, ``data``, ``shape``), the rows of every
    plan's equalities first, then those of its inequalities (``lhs`` = -inf), then, under a :class:`StockBudget`,
    its coupling rows (one per bucket).
    """

    objective: FloatArray
    indptr: npt.NDArray[np.int32]
    indices: npt.NDArray[np.int32]
    data: FloatArray
    shape: tuple[int, int]
    lhs: FloatArray
    rhs: FloatArray
    lower: FloatArray
    upper: FloatArray
    horizons: tuple[int, ...]


@dataclass(frozen=True)
class _Layout:
    """Where the coefficients of a joint program go: the same for every program of the same horizons.

    The coefficients are listed as :func:`_program` lists them (every plan's equalities, then every plan's
    inequalities, each term of :func:`_terms` in turn); ``order`` puts that list into the compressed
    sparse column order (by column, then row) of ``indptr`` and ``indices``.
    """

    indptr: npt.NDArray[np.int32]
    indices: npt.NDArray[np.int32]
    order: npt.NDArray[np.intp]
    shape: tuple[int, int]
    eq_values: FloatArray  # the equalities' coefficients, all constants (+1 or -1), in listing order


def _terms(horizon: int, joint: bool = False
           ) -> tuple[list[tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]]],
                      list[tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]]], FloatArray]:
    """The (rows, columns) of each term of one plan's equalities and inequalities, and the equalities'
    coefficients (the inequalities' are :func:`_ub_values`).

    Rows 2t and 2t+1 of the equalities, bucket t:
      workforce balance  W_t - W_{t-1} - H_t + L_t = 0           (W_0 on the right-hand side);
      inventory balance  I_t - S_t - I_{t-1} + S_{t-1} - P_t - C_t = -D_t   (opening net stock at t = 0).
    Rows 2t and 2t+1 of the inequalities:
      labour capacity    P_t - u_t W_t - O_t / hours_per_unit <= 0;
      overtime limit     O_t - max_overtime_t W_t <= 0;
    and with ``joint`` (a finite ``supply_max``) row 2T + t:
      joint cap          P_t + C_t <= supply_max_t.
    """
    t = np.arange(horizon)
    W, H, L, P, Ot, It, S, C = (k * horizon + t for k in range(len(_VARIABLES)))  # Ot, It: O and I look like 0, 1
    balance, stock = 2 * t, 2 * t + 1
    eq = [(balance, W, 1.0), (balance, H, -1.0), (balance, L, 1.0), (balance[1:], W[:-1], -1.0),
          (stock, It, 1.0), (stock, S, -1.0), (stock, P, -1.0), (stock, C, -1.0),
          (stock[1:], It[:-1], -1.0), (stock[1:], S[:-1], 1.0)]
    ub = [(balance, P), (balance, W), (balance, Ot), (stock, Ot), (stock, W)]
    if joint:
        ub += [(2 * horizon + t, P), (2 * horizon + t, C)]
    eq_values = np.concatenate([np.full(r.size, v) for r, _, v in eq])
    return [(r, c) for r, c, _ in eq], ub, eq_values


def _ub_values(inp: AggregateInput) -> list[FloatArray]:
    """The inequalities' coefficients of one plan, term by term as :func:`_terms` lists them."""
    d = inp._data
    horizon = inp.horizon
    ones = np.ones(horizon)
    values = [ones, -d.units_per_worker, np.full(horizon, -1.0 / inp.hours_per_unit), ones,
              -d.overtime_hours_per_worker]
    return [*values, ones, ones] if d.joint_cap else values


def _ub_rhs(inp: AggregateInput) -> FloatArray:
    """The inequalities' right-hand side of one plan: 0, then supply_max for the joint rows it has."""
    zeros = np.zeros(2 * inp.horizon)
    return np.concatenate([zeros, inp._data.supply_max]) if inp._data.joint_cap else zeros


_LAYOUTS: dict[tuple[tuple[tuple[int, bool], ...], bool], _Layout] = {}


def _layout(horizons: tuple[int, ...], joint: tuple[bool, ...] | None = None, coupled: bool = False) -> _Layout:
    """The layout of the joint program of plans of these horizons (``joint``: which of them have the joint
    rows of a finite ``supply_max``; default none; ``coupled``: the plans, of one horizon, share a
    :class:`StockBudget`, one row per bucket after every other row), built once: an S&OP cycle solves programs of
    the same shape every month, and the sort into column order cost more than the solve's set-up."""
    key = tuple(zip(horizons, joint or (False,) * len(horizons), strict=True))
    got = _LAYOUTS.get((key, coupled))
    if got is not None:
        return got
    n_var = [len(_VARIABLES) * h for h in horizons]
    col_off = np.cumsum([0, *n_var])
    eq_off = np.cumsum([0, *(2 * h for h in horizons)])
    ub_off = eq_off[-1] + np.cumsum([0, *((3 if j else 2) * h for h, j in key)])
    eq_rows, eq_cols, ub_rows, ub_cols, eq_values = [], [], [], [], []
    for k, (h, j) in enumerate(key):
        eq, ub, values = _terms(h, j)
        eq_rows += [r + eq_off[k] for r, _ in eq]
        eq_cols += [c + col_off[k] for _, c in eq]
        ub_rows += [r + ub_off[k] for r, _ in ub]
        ub_cols += [c + col_off[k] for _, c in ub]
        eq_values.append(values)
    n_row = int(ub_off[-1])
    if coupled:  # row n_row + t: the stock I_t of every plan (the inventory block, the sixth of eight)
        t = np.arange(horizons[0])
        ub_rows += [n_row + t for _ in horizons]
        ub_cols += [col_off[k] + 5 * h + t for k, h in enumerate(horizons)]
        n_row += horizons[0]
    rows = np.concatenate(eq_rows + ub_rows)
    cols = np.concatenate(eq_cols + ub_cols)
    order = np.lexsort((rows, cols))  # by column, then row: the compressed sparse column order
    shape = (n_row, int(col_off[-1]))
    if np.any((np.diff(cols[order]) == 0) & (np.diff(rows[order]) == 0)):
        raise AssertionError("aggregate LP: two coefficients in one cell of the constraint matrix")
    indptr = np.zeros(shape[1] + 1, dtype=np.int32)
    np.cumsum(np.bincount(cols, minlength=shape[1]), out=indptr[1:])
    layout = _Layout(indptr, rows[order].astype(np.int32), order, shape, np.concatenate(eq_values))
    for a in (layout.indptr, layout.indices, layout.order, layout.eq_values):
        a.setflags(write=False)
    if len(_LAYOUTS) >= 64:  # a long-lived process planning many shapes: forget the oldest
        del _LAYOUTS[next(iter(_LAYOUTS))]
    _LAYOUTS[(key, coupled)] = layout
    return layout


def _bounds_and_costs(inp: AggregateInput) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """One plan's objective, equalities' right-hand side and the variables' lower and upper bounds."""
    d, c = inp._data, inp.costs
    T = inp.horizon
    objective = np.concatenate([d.regular_cost_per_worker, np.repeat(
        [c.hiring_cost_per_worker, c.layoff_cost_per_worker, c.material_cost_per_unit, c.overtime_cost_per_hour,
         c.holding_cost_per_unit, c.backlog_cost_per_unit, c.subcontract_cost_per_unit], T)])
    objective[7 * T - 1] += c.ending_backlog_cost_per_unit  # the last backlog S_T
    b_eq = np.zeros(2 * T)
    b_eq[0] = inp.opening_workforce
    b_eq[1::2] = -d.demand
    b_eq[1] += inp.opening_inventory - inp.opening_backlog
    # Blocks W, H, L, P, O, I, S, C of T variables each.
    zeros = np.zeros(T)
    lower = np.concatenate([zeros, zeros, zeros, d.production_min, zeros, d.inventory_min, zeros, zeros])
    lower[6 * T - 1] = d.ending_target
    lower[T - 1] = d.ending_workforce_min
    free = np.full(T, np.inf)
    upper = np.concatenate([free, free, free, d.production_max, free, d.inventory_max, free,
                            d.subcontract_capacity])
    upper[7 * T - 1] = d.ending_backlog_max
    upper[T - 1] = d.ending_workforce_max
    return objective, b_eq, lower, upper


def _program(inputs: Sequence[AggregateInput], budget: StockBudget | None = None) -> _Program:
    """The joint program of several plans, the block of each down the diagonal, and with a ``budget`` its
    coupling rows (see :class:`_Program`)."""
    horizons = tuple(inp.horizon for inp in inputs)
    layout = _layout(horizons, tuple(inp._data.joint_cap for inp in inputs), budget is not None)
    parts = [_bounds_and_costs(inp) for inp in inputs]
    b_eq = np.concatenate([p[1] for p in parts])
    n_ub = layout.shape[0] - b_eq.size
    ub_values = [v for inp in inputs for v in _ub_values(inp)]
    ub_rhs = [_ub_rhs(inp) for inp in inputs]
    if budget is not None:
        ub_values += [np.full(h, v) for h, v in zip(horizons, budget.value_per_unit.tolist(), strict=True)]
        ub_rhs.append(np.asarray(budget.limit, dtype=np.float64))
    values = np.concatenate([layout.eq_values, *ub_values])
    return _Program(
        objective=np.concatenate([p[0] for p in parts]), indptr=layout.indptr, indices=layout.indices,
        data=values[layout.order], shape=layout.shape, lhs=np.concatenate([b_eq, np.full(n_ub, -np.inf)]),
        rhs=np.concatenate([b_eq, *ub_rhs]), lower=np.concatenate([p[2] for p in parts]),
        upper=np.concatenate([p[3] for p in parts]), horizons=horizons)


def _check_whole_workforce(inputs: Sequence[AggregateInput], integer_workforce: bool) -> None:
    for inp in inputs:
        if integer_workforce and not float(inp.opening_workforce).is_integer():
            raise ValueError(
                "opening_workforce must be a whole number when integer_workforce=True, "
                f"got {inp.opening_workforce}"
            )


def _milp_solution(program: _Program, integer_workforce: bool, time_limit: float | None
                   ) -> tuple[tuple[FloatArray, str, str] | None, Any]:
    """``milp``'s solution of the program with its status ("optimal", or "time_limit" for a MILP stopped with
    a plan) and message, or None when it has none; and milp's result, for the error that says why."""
    res = _milp(program, integer_workforce, time_limit)
    if res.x is not None and (res.status == 0 or (res.status == 1 and integer_workforce)):
        status = "optimal" if res.status == 0 else "time_limit"
        return (np.asarray(res.x, dtype=np.float64), status, str(res.message)), res
    return None, res


def _milp(program: _Program, integer_workforce: bool, time_limit: float | None) -> Any:
    """``scipy.optimize.milp`` on the program (W, H and L integer with ``integer_workforce``)."""
    # milp, also for the LP: with no integer variable it solves the LP through a thinner wrapper than
    # linprog (about 40% less time per solve, the same optimum).
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp  # here: loading a scenario needs no solver

    integrality = np.zeros(program.objective.size)
    if integer_workforce:
        start = 0
        for h in program.horizons:
            integrality[start: start + 3 * h] = 1  # W, H and L are the first three blocks of each plan
            start += len(_VARIABLES) * h
    a = sparse.csc_array((program.data, program.indices, program.indptr), shape=program.shape)
    options: dict[str, Any] = {} if time_limit is None else {"time_limit": time_limit}
    return milp(program.objective, constraints=LinearConstraint(a, program.lhs, program.rhs),
                integrality=integrality, bounds=Bounds(program.lower, program.upper), options=options)


class _Optimum(NamedTuple):
    x: FloatArray
    status: str
    message: str
    row_dual: FloatArray | None  # with ``duals``: each row's dual (d objective / d its bound)


def _highs_optimum(program: _Program, duals: bool = False) -> _Optimum | None:
    """The optimum of the (continuous) program from HiGHS, called as ``milp`` calls it; None when the program
    has no optimum or scipy's HiGHS bindings are not where this expects them (then ``milp`` solves it). With
    ``duals``, the rows' duals too (the solver has them; the plans alone do not need them).

    ``milp`` spends as long again as HiGHS in Python around each solve (input checks, a HiGHS enum per
    variable, dual values a plan never reads); this hands HiGHS the same model with the same options, so
    its optimum is the same, to the bit. Those bindings are scipy's private modules: any change to them
    falls back to the public ``milp``.
    """
    try:
        from scipy.optimize._highspy import _core as highs  # private: guarded, milp is the fallback
        from scipy.optimize._linprog_highs import _highs_to_scipy_status_message as scipy_message

        n_col, n_row = program.shape[1], program.shape[0]
        lp = highs.HighsLp()
        lp.num_col_ = lp.a_matrix_.num_col_ = n_col
        lp.num_row_ = lp.a_matrix_.num_row_ = n_row
        lp.a_matrix_.format_ = highs.MatrixFormat.kColwise
        lp.col_cost_ = program.objective
        lp.col_lower_ = program.lower
        lp.col_upper_ = program.upper
        lp.row_lower_ = program.lhs
        lp.row_upper_ = program.rhs
        lp.a_matrix_.start_ = program.indptr
        lp.a_matrix_.index_ = program.indices
        lp.a_matrix_.value_ = program.data
        lp.integrality_ = [highs.HighsVarType.kContinuous] * n_col  # as milp passes it for an LP
        solver = highs._Highs()
        options = highs.HighsOptions()
        options.log_to_console = False  # milp's only option here (disp=False)
        error = highs.HighsStatus.kError
        if (solver.passOptions(options) == error or solver.passModel(lp) == error or solver.run() == error
                or solver.getModelStatus() != highs.HighsModelStatus.kOptimal):
            return None
        status = solver.getModelStatus()
        _, message = scipy_message(status, solver.modelStatusToString(status))
        solution = solver.getSolution()
        row_dual = (np.array(solution.row_dual, dtype=np.float64) if duals and solution.dual_valid
                    else None)
        return _Optimum(np.array(solution.col_value, dtype=np.float64), "optimal", str(message), row_dual)
    except Exception:  # private bindings may change in any way: milp then solves the program, or says why not
        return None


def _solver_error(strategy: str, status: int, message: str) -> AggregatePlanningError:
    meaning = {1: "iteration or time limit reached", 2: "infeasible", 3: "unbounded", 4: "numerical trouble"}
    what = meaning.get(status, "failed")
    return AggregatePlanningError(
        f"aggregate plan ({strategy}) not found: {what} (status {status}): {message}",
        status=status,
        solver_message=message,
    )


# --------------------------------------------------------------------------------------------------
# Rule-based strategies
# --------------------------------------------------------------------------------------------------


def _workers(x: float, integer_workforce: bool) -> float:
    return float(math.ceil(x - _CEIL_SLACK)) if integer_workforce else x


def _clip_ending_workforce(inp: AggregateInput, w: float) -> float:
    return min(max(w, inp._data.ending_workforce_min), inp._data.ending_workforce_max)


def level_plan(inp: AggregateInput, *, integer_workforce: bool = False, no_shortage: bool = False) -> AggregatePlan:
    """Level strategy: one workforce, constant regular-time production, stock absorbs the seasonality.

    The workforce is set in bucket 1 to make the horizon's net requirement (demand plus opening
    backlog plus ending target, minus opening inventory) in regular time, then held; see the module
    docstring for the exact rule.

    Args:
        inp: The planning problem.
        integer_workforce: Round the workforce up to a whole worker.
        no_shortage: Staff instead for the least constant rate that also meets every bucket's cumulative
            requirement on time, ``W = max_k (sum_{t<=k} D_t + S_0 - I_0 + floor_k) / sum_{t<=k} u_t`` (within
            the production bounds, bucket by bucket): the projected stock never falls below its floor before
            the horizon's end, as a planner checks a level plan's projected inventory. The textbook's rate makes the
            horizon's total and may plan a shortage before a late peak (Red Tomato's April), which a rolling
            plan then meets short every year: it re-levels from the stock built for the peak, as if that stock
            were to last the whole horizon.

    Returns:
        The plan (strategy ``"level"``).
    """
    d = inp._data
    u = d.units_per_worker
    net_requirement = max(
        float(d.demand.sum()) + inp.opening_backlog - inp.opening_inventory + d.ending_target, 0.0
    )
    w = net_requirement / float(u.sum())
    lo, hi = d.production_min, d.production_max
    if no_shortage:
        # Every prefix of the horizon must be made on time, within the bounds; the last is the total.
        cumulative = np.cumsum(d.demand) + inp.opening_backlog - inp.opening_inventory + d.floors
        w = max(_bounded_level(max(float(r), 0.0), u[: k + 1], lo[: k + 1], hi[: k + 1])
                for k, r in enumerate(cumulative))
    elif ((w * u < lo) | (w * u > hi)).any():
        w = _bounded_level(net_requirement, u, lo, hi)
    w = _clip_ending_workforce(inp, _workers(w, integer_workforce))
    production = np.clip(w * u, d.production_min, d.production_max)
    overtime = np.maximum(production - w * u, 0.0) * inp.hours_per_unit  # what production_min adds
    return evaluate_plan(
        inp, workforce=np.full(inp.horizon, w), production=production, overtime_hours=overtime, strategy="level"
    )


def _bounded_level(requirement: float, u: FloatArray, lo: FloatArray, hi: FloatArray) -> float:
    """The smallest W >= 0 with ``sum_t clip(W u_t, lo_t, hi_t) >= requirement`` (or, when no W gets there,
    the smallest that makes the most the bounds allow).

    The sum is piecewise linear and non-decreasing in W, with its kinks at ``lo_t / u_t`` and ``hi_t / u_t``,
    so the answer is found exactly between two kinks.
    """

    def made(w: float) -> float:
        return float(np.clip(w * u, lo, hi).sum())

    kinks = np.concatenate([lo / u, hi / u])
    kinks = np.unique(np.concatenate([[0.0], kinks[np.isfinite(kinks)]]))
    below = 0.0
    for k in kinks:
        if made(k) >= requirement:
            break
        below = k
    else:
        slope = float(u[np.isinf(hi)].sum())  # beyond the last kink only unbounded buckets still grow
        return below + (requirement - made(below)) / slope if slope > 0 else below
    if below == k:  # requirement met at W = 0
        return 0.0
    # Between the kinks ``below`` and ``k`` the buckets strictly inside their bounds grow with W.
    mid = (below + k) / 2
    slope = float(u[(mid * u > lo) & (mid * u < hi)].sum())
    return below + (requirement - made(below)) / slope if slope > 0 else k


def chase_plan(inp: AggregateInput, *, integer_workforce: bool = False) -> AggregatePlan:
    """Chase strategy: make each bucket's requirement, hiring and laying off to match it.

    Args:
        inp: The planning problem.
        integer_workforce: Round each bucket's workforce up to a whole worker.

    Returns:
        The plan (strategy ``"chase"``); see the module docstring for the exact rule.
    """
    d = inp._data
    horizon = inp.horizon
    floors = d.floors
    workforce = np.empty(horizon)
    production = np.empty(horizon)
    overtime = np.zeros(horizon)
    net = inp.opening_inventory - inp.opening_backlog
    for t in range(horizon):
        p = max(min(max(0.0, d.demand[t] + floors[t] - net), d.production_max[t]), d.production_min[t])
        w = _workers(p / d.units_per_worker[t], integer_workforce)
        if t == horizon - 1:
            w = _clip_ending_workforce(inp, w)
            regular = w * d.units_per_worker[t]
            p = max(min(p, regular), d.production_min[t])
            overtime[t] = max(p - regular, 0.0) * inp.hours_per_unit  # what production_min adds
        workforce[t], production[t] = w, p
        net += p - d.demand[t]
    return evaluate_plan(inp, workforce=workforce, production=production, overtime_hours=overtime,
                         strategy="chase")


def hybrid_plan(
    inp: AggregateInput,
    *,
    workforce_quantile: float = 0.5,
    workforce: float | None = None,
    integer_workforce: bool = False,
) -> AggregatePlan:
    """Hybrid strategy: a constant workforce, peaks covered by overtime, then subcontracting.

    Args:
        inp: The planning problem.
        workforce_quantile: Quantile (0..1) of the per-bucket requirement ``D_t / u_t`` that sets the
            workforce when ``workforce`` is not given; 0.5 staffs for the median bucket.
        workforce: The constant workforce to use, overriding ``workforce_quantile``.
        integer_workforce: Round the workforce up to a whole worker.

    Returns:
        The plan (strategy ``"hybrid"``); see the module docstring for the exact rule.

    Raises:
        ValueError: If ``workforce_quantile`` is outside [0, 1] or ``workforce`` is negative.
    """
    d = inp._data
    horizon = inp.horizon
    if workforce is None:
        q = _scalar("workforce_quantile", workforce_quantile)
        if q > 1:
            raise ValueError(f"workforce_quantile must be in [0, 1], got {q:g}")
        w = float(np.quantile(d.demand / d.units_per_worker, q))
    else:
        w = _scalar("workforce", workforce)
    w = _clip_ending_workforce(inp, _workers(w, integer_workforce))

    floors = d.floors
    capacity = np.minimum(w * d.units_per_worker, d.production_max)
    build_ahead = _build_ahead(d.demand - capacity, floors)
    production = np.empty(horizon)
    overtime_hours = np.empty(horizon)
    subcontracted = np.empty(horizon)
    net = inp.opening_inventory - inp.opening_backlog
    for t in range(horizon):
        requirement = max(0.0, d.demand[t] + floors[t] - net)
        regular = min(capacity[t], max(0.0, d.demand[t] - net + max(floors[t], build_ahead[t])))
        gap = max(0.0, requirement - regular)
        overtime_units = min(
            gap,
            w * d.overtime_hours_per_worker[t] / inp.hours_per_unit,
            d.production_max[t] - regular,
        )
        # What is bought leaves with what is made (over the plant's lanes, say): supply_max caps the two together.
        sub = min(gap - overtime_units, d.subcontract_capacity[t],
                  max(d.supply_max[t] - regular - overtime_units, 0.0))
        if regular + overtime_units < d.production_min[t]:
            # The bound wins: idle regular time first, then overtime; subcontracting covers less.
            regular = max(regular, min(d.production_min[t], w * d.units_per_worker[t]))
            overtime_units = d.production_min[t] - regular
            sub = min(max(0.0, requirement - d.production_min[t]), d.subcontract_capacity[t],
                      max(d.supply_max[t] - d.production_min[t], 0.0))
        production[t] = regular + overtime_units
        overtime_hours[t] = overtime_units * inp.hours_per_unit
        subcontracted[t] = sub
        net += production[t] + sub - d.demand[t]
    return evaluate_plan(
        inp,
        workforce=np.full(horizon, w),
        production=production,
        overtime_hours=overtime_hours,
        subcontracted=subcontracted,
        strategy="hybrid",
    )


def _build_ahead(shortfall: FloatArray, floors: FloatArray) -> FloatArray:
    """Per bucket t, the stock it must end with so the buckets after it, each making at most its own regular
    capacity (``shortfall`` = demand - capacity), meet their demand and their floors:
    ``max_{k>t} (sum_{j=t+1..k} shortfall_j + floor_k)``, 0 for the last bucket."""
    horizon = len(shortfall)
    out = np.zeros(horizon)
    for t in range(horizon - 1):
        ahead = np.cumsum(shortfall[t + 1:]) + floors[t + 1:]
        out[t] = max(float(ahead.max()), 0.0)
    return out


_RULES: dict[str, Callable[..., AggregatePlan]] = {
    "level": level_plan,
    "chase": chase_plan,
    "hybrid": hybrid_plan,
}


def rule_based_plan(
    inp: AggregateInput, strategy: Literal["level", "chase", "hybrid"], **options: Any
) -> AggregatePlan:
    """Run a rule-based strategy by name, e.g. from a scenario file.

    Args:
        inp: The planning problem.
        strategy: ``"level"``, ``"chase"`` or ``"hybrid"``.
        **options: Keyword options of the strategy's function (e.g. ``workforce_quantile``).

    Returns:
        The plan.

    Raises:
        ValueError: If the strategy name is unknown.
    """
    try:
        rule = _RULES[strategy]
    except KeyError:
        raise ValueError(f"strategy must be one of {sorted(_RULES)}, got {strategy!r}") from None
    return rule(inp, **options)
