"""The ``planning`` section of a scenario: rhythm, dated steps, fences, forecasting, sales input, policy."""

from __future__ import annotations

import itertools
from typing import Any, Literal

import numpy as np
from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, model_validator

from simsop.dists import StrictModel


class _Model(StrictModel):
    """Unknown keys are errors; numbers are finite and written as numbers (see simsop.dists.StrictModel)."""


class ForecastSpec(_Model):
    """The statistical forecast of the demand review."""

    method: Literal[
        "naive", "seasonal_naive", "moving_average", "ses", "holt", "damped_holt", "holt_winters_additive",
        "holt_winters_multiplicative", "croston", "sba", "auto",
    ] = "holt_winters_additive"
    params: dict[str, Any] = Field(default_factory=dict, description="method parameters, e.g. {alpha: 0.3}")
    season_length: PositiveInt | None = Field(default=None, description="buckets per season (default: a year)")


class SalesInputSpec(_Model):
    """What the sales team reports: its view of demand, with a bias, and an error that grows with the lag.

    The sales view starts from the demand the market will really bring on average (trend, seasonality, known
    shocks), which the statistical forecast can only infer, times ``1 + bias`` (+0.2 is 20% optimism, -0.2 is
    sandbagging), times a lognormal error of mean 1. The lag is counted as in the ``forecasts`` records and the
    ``_lag1`` KPIs: lag 0 is the bucket the demand review is held in (it starts at the cut-off), lag 1 the next.

    ``noise`` is the coefficient of variation of the error at lag 1, the next bucket. ``noise_growth`` says
    how the error grows with the lag: its log-variance at lag L is ``L ** noise_growth`` times that at lag 1.
    The default 1 is the Martingale Model of Forecast Evolution with revisions of equal variance (Heath &
    Jackson 1994; Graves et al. 1986): the variance grows linearly with the lag (the CV about as the square root
    of it) and is 0 at lag 0; 0 keeps the same error at every lag. ``noise_by_lag`` instead lists the CV at
    lags 0, 1, 2, ... (the last one holds for all further lags), as a planner's forecast-error-by-lag table has it.

    ``evolution`` says how the view of a bucket changes from one cycle to the next. ``martingale``: each cycle
    revises the view it gave last cycle by one independent revision, so the error at a lag is the sum of the
    revisions still to come, consecutive revisions of a bucket are uncorrelated, and a plan changes only as much
    as the sales team learns (the MMFE; Güllü 1996). ``independent``: a fresh error every cycle, so the same
    bucket's view jumps from cycle to cycle by more than it improves. ``noise_growth: 0`` with ``independent``
    is the sales team of earlier versions: the same CV at every lag, drawn afresh each cycle.
    """

    bias: float = Field(default=0.0, gt=-1.0)
    noise: NonNegativeFloat = Field(default=0.0, description="coefficient of variation of the error at lag 1 (the "
                                    "next bucket)")
    noise_growth: NonNegativeFloat = Field(
        default=1.0, description="the error's log-variance at lag L is L ** noise_growth times that at lag 1: "
        "1 grows it linearly with the lag (the MMFE), 0 keeps it the same at every lag")
    noise_by_lag: tuple[NonNegativeFloat, ...] | None = Field(
        default=None, min_length=1, description="instead of noise and noise_growth: the CV of the error at lags 0, "
        "1, 2, ... (the last one holds for all further lags)")
    evolution: Literal["martingale", "independent"] = Field(
        default="martingale", description="martingale: each cycle revises the last view of a bucket by an "
        "independent revision (the MMFE); independent: a fresh error every cycle")

    @model_validator(mode="after")
    def _one_error_model(self) -> SalesInputSpec:
        given = self.model_fields_set
        if self.noise_by_lag is not None and given & {"noise", "noise_growth"}:
            both = " and ".join(k for k in ("noise", "noise_growth") if k in given)
            raise ValueError(f"noise_by_lag gives the error at every lag: leave out {both}")
        cv = self.noise_by_lag
        if cv is not None and self.evolution == "martingale" and any(b < a for a, b in itertools.pairwise(cv)):
            raise ValueError(f"noise_by_lag {list(cv)} falls with the lag: a view revised every cycle can only get "
                             "better closer to its bucket (the error at a lag is the revisions still to come), so "
                             "give CVs that do not fall with the lag, or evolution: independent")
        return self

    def log_variance(self, lags: int) -> np.ndarray:
        """The variance of the log of the error at lags 0 .. ``lags`` - 1."""
        lag = np.arange(lags, dtype=float)
        if self.noise_by_lag is not None:
            cv = np.asarray(self.noise_by_lag, dtype=float)
            return np.log1p(cv[np.minimum(lag.astype(int), len(cv) - 1)] ** 2)
        # 0 ** 0 is 1: with no growth lag 0 has the error of lag 1 too.
        return np.log1p(self.noise**2) * lag**self.noise_growth


class ConsensusSpec(_Model):
    """How the executive meeting combines the statistical forecast and the sales input."""

    rule: Literal["statistical", "sales", "blend", "haircut"] = "statistical"
    weight: float = Field(default=0.5, ge=0, le=1, description="weight of the sales input in a blend")
    haircut: float = Field(default=0.1, ge=0, lt=1, description="cut applied to the sales input")


class SafetyStockSpec(_Model):
    """Safety stock in the plan's inventory target, against the consensus forecast's error.

    ``service_level`` is a cycle service level: the probability that the stock covers the demand of the
    interval the plan cannot react within (z = the standard normal quantile of it). The cycle measures each
    product's forecast error itself, from its own past forecasts and the sales that followed (see
    :meth:`simsop.planning.cycle.PlanningCycle.safety_stock`).
    """

    service_level: float = Field(ge=0.5, lt=1.0, description="cycle service level, e.g. 0.95 (z = 1.645)")
    min_errors: PositiveInt = Field(default=3, description="forecast errors needed before the cycle's own are "
                                    "used; before that, the consensus's error over the year of history before "
                                    "the first review")


class WorkforceSpec(_Model):
    """How a factory's regular capacity is staffed, for plans that hire and lay off (level, chase, lp).

    Without it a factory's capacity is fixed and plans only choose how much of it to use.
    """

    factory: str
    workers: PositiveFloat
    units_per_worker_day: PositiveFloat
    wage_per_worker_day: NonNegativeFloat = 0.0
    overtime_hours_fraction: NonNegativeFloat = Field(default=0.0, description="overtime per regular hour")
    overtime_cost_per_unit: NonNegativeFloat | None = None
    hiring_cost: NonNegativeFloat = 0.0
    layoff_cost: NonNegativeFloat = 0.0
    subcontract_cost: NonNegativeFloat | None = Field(default=None, description="per unit; none: no subcontracting")


class PlanningSpec(_Model):
    """The S&OP cycle: a monthly (or weekly, or every N days) rhythm over a rolling horizon.

    Each cycle starts with the data cut-off at the start of a bucket; the demand review, supply review and
    executive meeting follow on their days; the plan takes effect ``plan_delay_days`` after the meeting,
    from the first bucket that starts then. Inside the frozen fence (buckets from the plan's first) the
    plan cannot change; inside the slushy fence a change is limited to ``slushy_change_limit`` times the
    larger of the plan in force and the demand plan of that product and bucket, and costs ``change_cost``
    per unit; beyond, it is free.
    """

    policy: str = Field(default="none", description="a registered policy name or module:Class")
    params: dict[str, Any] = Field(default_factory=dict, description="the policy's parameters")
    bucket: Literal["month", "week"] | PositiveInt = "month"
    horizon_buckets: PositiveInt = 12
    history_buckets: PositiveInt = 36
    demand_review_day: NonNegativeInt = 3
    supply_review_day: NonNegativeInt = 7
    executive_meeting_day: NonNegativeInt = 12
    plan_delay_days: NonNegativeInt = 0
    frozen_buckets: NonNegativeInt = 1
    slushy_buckets: NonNegativeInt = 2
    slushy_change_limit: NonNegativeFloat = Field(
        default=0.2, description="in the slushy fence, a product's plan moves by at most this fraction of the larger "
        "of its plan in force and its demand plan for that bucket (so a plan of 0 can grow to meet a forecast)")
    change_cost: NonNegativeFloat = 0.0
    days_of_cover: NonNegativeFloat = Field(default=14.0, description="inventory target, days of demand")
    safety_stock: SafetyStockSpec | None = Field(
        default=None, description="safety stock added to the inventory target for the forecast error "
        "(none: the target is the days of cover alone)")
    set_execution_levels: bool = Field(default=False, description="each plan sets the reorder parameters of the "
                                       "warehouses that still reorder from its demand plan and inventory targets")
    forecast: ForecastSpec = Field(default_factory=ForecastSpec)
    sales: SalesInputSpec = Field(default_factory=SalesInputSpec)
    consensus: ConsensusSpec = Field(default_factory=ConsensusSpec)
    workforce: tuple[WorkforceSpec, ...] = ()
    inventory_budget: NonNegativeFloat | None = Field(
        default=None, le=1e12, description="the finance review's working-capital limit: the most the stock of the "
        "products the plants make may be worth, at unit cost, at the end of any planning bucket (currency units; "
        "none: no limit). The lp policy plans within it (cutting the inventory target first, then planning "
        "backlog); every plan is checked against it at the executive meeting (records table inventory_budget, "
        "KPI budget_breach_buckets)")
