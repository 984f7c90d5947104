"""The scenario: one YAML file that describes a company, validated once at the boundary.

``load_scenario(path)`` returns an immutable :class:`Scenario` or raises :class:`ScenarioError`, whose
message names the file, the key path of every problem (``factories[1].capacity``) and what was expected.
Nothing downstream re-validates. Unknown keys are errors, never silently ignored.
"""

from __future__ import annotations

import csv
import difflib
import functools
import hashlib
import itertools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from simsop.dists import DIST_NAMES, Deterministic, Dist, NotANumber, StrictModel
from simsop.planning.spec import PlanningSpec
from simsop.shocks import SHOCK_TYPES, Shock, shock_problems
from simsop.workshop.spec import WorkshopSpec, workshop_problems

POLICY_TYPES = ("none", "base_stock", "sS", "rQ", "one_for_one", "pass_through", "anchor_and_adjust",
                "forecast_base_stock")

# Bounds on what a file may ask for. No price, cost, quantity, rate or day count of a company reaches 1e12; a
# larger number is a typo, and squared or summed over a horizon it overflows floating point.
MAX_MAGNITUDE = 1e12
MAX_HORIZON = 1_000_000  # days (2,700 years): the daily state of every stock point is kept in memory
MAX_ORDERS = 100_000_000  # orders one demand stream may place over the horizon: each is simulated
MAX_YAML_VALUES = 1_000_000  # values a YAML file may expand to through its aliases
ALLOCATION_RULES = ("fcfs", "priority", "fair_share")
_TAGS = set(DIST_NAMES) | set(POLICY_TYPES) | set(SHOCK_TYPES)


class _Model(StrictModel):
    model_config = ConfigDict(populate_by_name=True)


# ---------------------------------------------------------------------------------------------- products


class Product(_Model):
    """A finished good: what it sells for, what it costs, what it costs to hold or to miss."""

    id: str = Field(min_length=1)
    family: str = "default"
    price: NonNegativeFloat
    unit_cost: NonNegativeFloat
    holding_cost: NonNegativeFloat | None = Field(
        default=None, description="holding cost per unit per day (give this or holding_rate)"
    )
    holding_rate: NonNegativeFloat | None = Field(
        default=None, description="annual holding rate as a fraction of unit cost (default 0.25)"
    )
    backorder_penalty: NonNegativeFloat = Field(
        default=0.0, description="per unit per day late (open after the promised date)")
    lost_sale_cost: NonNegativeFloat = Field(default=0.0, description="per unit lost, beyond the lost margin")
    internal_backorder_penalty: NonNegativeFloat = Field(
        default=0.0, description="per unit per day a warehouse owes to a downstream warehouse (the Beer Game "
        "charges every stage for its backlog); counted in workshop stage costs")
    shelf_life: PositiveFloat | None = Field(
        default=None, description="days a unit can be sold: it expires that many days after it left its plant or "
        "supplier (the shipment's departure; initial stock is new on day 0; moving between warehouses keeps its "
        "age). Warehouses issue the oldest units first (FIFO) and write expired units off at the close of the day "
        "their life ends; omit it for goods that never expire")

    @model_validator(mode="after")
    def _one_holding(self) -> Product:
        if self.holding_cost is not None and self.holding_rate is not None:
            raise ValueError("give holding_cost (per unit per day) or holding_rate (annual), not both")
        return self

    @property
    def holding_per_day(self) -> float:
        """Holding cost per unit per day."""
        if self.holding_cost is not None:
            return self.holding_cost
        rate = 0.25 if self.holding_rate is None else self.holding_rate
        return rate * self.unit_cost / 365.0


# ---------------------------------------------------------------------------------------------- demand


class Seasonality(_Model):
    """Seasonal multiplier: twelve monthly factors, a sinusoid, or a repeating pattern.

    ``pattern`` splits each ``period`` into equal parts, one factor each: ``period: 7`` with seven
    factors is a day-of-week profile; ``period: 120`` with six factors gives six 20-day "months".
    """

    monthly: tuple[PositiveFloat, ...] | None = Field(default=None, description="12 factors, Jan..Dec")
    amplitude: float | None = Field(default=None, ge=0, lt=1, description="relative swing of a sinusoid")
    pattern: tuple[NonNegativeFloat, ...] | None = Field(default=None, description="factors over one period")
    peak_day: float = Field(default=0.0, description="day of the year of the sinusoid's peak")
    period: PositiveFloat = Field(default=365.0, description="days per seasonal cycle")

    @model_validator(mode="after")
    def _one_form(self) -> Seasonality:
        forms = [x is not None for x in (self.monthly, self.amplitude, self.pattern)]
        if sum(forms) != 1:
            raise ValueError("give exactly one of 'monthly' (12 factors), 'amplitude' (a sinusoid) or 'pattern'")
        if self.monthly is not None and len(self.monthly) != 12:
            raise ValueError(f"'monthly' needs 12 factors, got {len(self.monthly)}")
        if self.pattern is not None and len(self.pattern) == 0:
            raise ValueError("'pattern' needs at least one factor")
        return self


class DemandSpec(_Model):
    """Demand of one customer segment for one product.

    Either ``orders_per_day`` (a Poisson stream of orders, each of ``quantity`` units, arriving at
    random times of the day) or ``daily`` (one order a day of a random total, placed at the start of
    the day). ``trend`` is the relative growth per year (0.1 = +10% a year, linear).
    """

    product: str
    orders_per_day: PositiveFloat | None = None
    quantity: Dist = Field(default_factory=lambda: Deterministic(value=1.0))
    daily: Dist | None = None
    trend: float = Field(default=0.0, gt=-1.0)
    seasonality: Seasonality | None = None

    @model_validator(mode="after")
    def _one_form(self) -> DemandSpec:
        if (self.orders_per_day is None) == (self.daily is None):
            raise ValueError("give either 'orders_per_day' (with 'quantity') or 'daily' (a daily total)")
        if self.daily is not None and "quantity" in self.model_fields_set:
            raise ValueError("'quantity' goes with 'orders_per_day', not with 'daily'")
        return self

    @property
    def mean_per_day(self) -> float:
        """Nominal mean units per day, before trend and seasonality."""
        if self.daily is not None:
            return self.daily.mean
        assert self.orders_per_day is not None
        return self.orders_per_day * self.quantity.mean


class Customer(_Model):
    """A customer segment: where it is served from, what it buys and how long it waits.

    ``unmet: lost_sale`` means what is not shipped by the promised date is lost; ``backorder`` means the
    customer waits, for at most ``patience`` days past the promised date (``null``: for ever).
    ``priority``: 1 is served first under the ``priority`` allocation rule.
    ``promise``: the date the company commits to. ``requested`` (the default) promises the requested date
    whatever the stock; ``available`` quotes available-to-promise when the order cannot ship at once: the later
    of the requested date and the date the warehouse's known supply covers it (stock on hand and shipments
    already on their way, net of the backlog ahead of it), else a quote from the replenishment lead time
    (README, "What is simulated, and how"). A lost-sale customer does not wait for a later date, so
    ``available`` goes with ``unmet: backorder``.
    """

    id: str = Field(min_length=1)
    warehouse: str
    demand: tuple[DemandSpec, ...] = Field(min_length=1)
    requested_lead_time: NonNegativeFloat = Field(default=0.0, description="days from order to due date")
    unmet: Literal["backorder", "lost_sale"] = "backorder"
    patience: NonNegativeFloat | None = Field(default=None, description="days past due before cancelling")
    priority: PositiveInt = 1
    promise: Literal["requested", "available"] = Field(
        default="requested",
        description="the date promised: 'requested' (always the requested date) or 'available' (available-to-"
                    "promise: the later of the requested date and the date stock and supply on its way cover it)")

    @model_validator(mode="after")
    def _patience(self) -> Customer:
        if self.unmet == "lost_sale" and self.patience not in (None, 0):
            raise ValueError("'patience' goes with unmet: backorder (a lost sale waits 0 days)")
        if self.unmet == "lost_sale" and self.promise == "available":
            raise ValueError("'promise: available' goes with unmet: backorder (a lost-sale customer does not wait "
                             "for a later date it is promised)")
        return self

    @property
    def patience_days(self) -> float:
        """Days past the due date before the rest of a line is cancelled (inf: never)."""
        if self.unmet == "lost_sale":
            return 0.0
        return float("inf") if self.patience is None else self.patience


# ---------------------------------------------------------------------------------------------- policies


class NoReplenishment(_Model):
    """No reordering: stock comes only from the initial stock and from planned (pushed) production."""

    type: Literal["none"]


class BaseStock(_Model):
    """Order up to ``level`` every ``review_period`` days (0: after every demand, i.e. continuous)."""

    type: Literal["base_stock"]
    level: NonNegativeFloat
    review_period: int = Field(default=1, ge=0)
    review_offset: int = Field(default=0, ge=0)


class MinMax(_Model):
    """(s, S): when the inventory position is at or below ``s``, order up to ``S``."""

    type: Literal["sS"]
    s: float
    S: NonNegativeFloat
    review_period: int = Field(default=1, ge=0)
    review_offset: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> MinMax:
        if self.s >= self.S:
            raise ValueError(f"S ({self.S:g}) must be greater than s ({self.s:g})")
        return self


class ReorderPointQuantity(_Model):
    """(r, Q): when the inventory position is at or below ``r``, order batches of ``Q`` until above it."""

    type: Literal["rQ"]
    r: float
    Q: PositiveFloat
    review_period: int = Field(default=0, ge=0)
    review_offset: int = Field(default=0, ge=0)


class OneForOne(_Model):
    """Continuous base-stock (S-1, S): every unit demanded is reordered at once."""

    type: Literal["one_for_one"]
    level: NonNegativeFloat


class PassThrough(_Model):
    """Order exactly what was ordered from this stock point since the last review (the Beer Game's
    "pass the order on"), every ``review_period`` days. Demand is what customers and downstream warehouses
    ordered, net of what customers cancelled."""

    type: Literal["pass_through"]
    review_period: int = Field(default=1, ge=1)
    review_offset: int = Field(default=0, ge=0)


class AnchorAndAdjust(_Model):
    """Sterman's (1989) anchoring-and-adjustment ordering rule, every ``review_period`` days.

    Expected demand L is smoothed from the demand of each review period: L = theta x demand + (1 - theta)
    x L (``initial_expected``, default the first period's demand). With S = on hand - backlog and SL = on
    order: order = max(0, L + alpha_s (desired_stock - S) + alpha_sl (desired_supply_line - SL)). Sterman's
    subjects weighed the supply line less than the stock (alpha_sl < alpha_s), which amplifies orders
    upstream (the bullwhip effect); his average estimates are theta 0.36, alpha_s 0.26, alpha_sl = 0.34 x
    alpha_s.

    Sterman (1989, "Modeling managerial behavior: misperceptions of feedback in a dynamic decision making
    experiment", Management Science 35(3), 321-339) writes the supply-line weight as the fraction beta of
    the stock's: alpha_sl = beta x alpha_s (beta = 1: the supply line counts as much as the stock; his
    subjects' mean 0.34). Give ``alpha_sl`` or ``beta``, not both; ``beta`` is read as alpha_sl = beta x
    alpha_s, which is what the policy keeps (and what the scenario's hash sees).
    """

    type: Literal["anchor_and_adjust"]
    theta: float = Field(default=0.36, ge=0, le=1, description="weight of the latest demand in the expectation")
    alpha_s: NonNegativeFloat = Field(default=0.26, description="share of the stock gap ordered each period")
    alpha_sl: NonNegativeFloat = Field(default=0.09, description="share of the supply-line gap ordered each period")
    beta: NonNegativeFloat | None = Field(default=None, exclude=True, description="Sterman's beta instead of "
                                          "alpha_sl: alpha_sl = beta x alpha_s")
    desired_stock: float = Field(default=0.0, description="target of on hand - backlog (units)")
    desired_supply_line: NonNegativeFloat = Field(default=0.0, description="target of units on order")
    initial_expected: NonNegativeFloat | None = Field(default=None, description="expected demand per period at "
                                                      "the start (default: the first period's demand)")
    review_period: int = Field(default=1, ge=1)
    review_offset: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _beta(self) -> AnchorAndAdjust:
        if self.beta is None:
            return self
        if "alpha_sl" in self.model_fields_set:
            raise ValueError("beta: give alpha_sl or Sterman's beta (alpha_sl = beta x alpha_s), not both")
        object.__setattr__(self, "alpha_sl", self.beta * self.alpha_s)  # frozen: set once, while validating
        self.model_fields_set.add("alpha_sl")  # a dump of the keys given keeps the weight (beta is not dumped)
        return self


class ForecastBaseStock(_Model):
    """Order up to a level that follows a demand forecast, every ``review_period`` days.

    level = cover x forecast + z x sd + safety_stock, where the forecast of one review period's demand is
    the moving average of the last ``window`` periods (or exponential smoothing with ``alpha``) and sd the
    standard deviation of those periods' demand. ``cover`` is the periods the stock must last: the lead
    time plus one review period, in review periods. Forecasts that chase demand amplify orders upstream
    (the bullwhip effect; Chen et al., 2000).
    """

    type: Literal["forecast_base_stock"]
    cover: PositiveFloat = Field(description="review periods of demand to cover (lead time + 1 review period)")
    window: int = Field(default=4, ge=1, le=10_000, description="periods in the moving average and the sd")
    alpha: float | None = Field(default=None, gt=0, le=1, description="exponential smoothing instead of the "
                                "moving average, with this weight of the latest period")
    z: NonNegativeFloat = Field(default=0.0, description="safety factor on the sd of demand per period")
    safety_stock: NonNegativeFloat = Field(default=0.0, description="fixed safety stock (units)")
    initial_forecast: NonNegativeFloat | None = Field(default=None, description="demand per period at the start "
                                                      "(default: the stock point's mean demand in the scenario)")
    review_period: int = Field(default=1, ge=1)
    review_offset: int = Field(default=0, ge=0)


PolicySpec = Annotated[
    NoReplenishment | BaseStock | MinMax | ReorderPointQuantity | OneForOne | PassThrough | AnchorAndAdjust
    | ForecastBaseStock,
    Field(discriminator="type"),
]


# ---------------------------------------------------------------------------------------------- sites


class Pipeline(_Model):
    """What is already under way at day 0, by the day it arrives (the Beer Game starts with full pipelines).

    ``goods``: shipments on their way to this stock point, arriving on each day (units); ``orders``: orders
    this stock point placed before day 0, reaching its source on each day. Both count as on order.
    """

    goods: dict[NonNegativeInt, PositiveFloat] = Field(default_factory=dict, description="day -> units")
    orders: dict[NonNegativeInt, PositiveFloat] = Field(default_factory=dict, description="day -> units")


class StockItem(_Model):
    """One product held at a warehouse: initial stock, replenishment policy and where it comes from."""

    product: str
    initial: NonNegativeFloat = 0.0
    policy: PolicySpec = Field(default_factory=lambda: NoReplenishment(type="none"))
    source: str | None = Field(default=None, description="a factory, supplier or another warehouse")
    pipeline: Pipeline | None = Field(default=None, description="goods and orders already under way at day 0")


class Warehouse(_Model):
    """A stocking point. ``capacity`` caps on-hand plus on-order units (orders are cut to fit)."""

    id: str = Field(min_length=1)
    stock: tuple[StockItem, ...] = Field(min_length=1)
    capacity: PositiveFloat | None = None
    allocation: Literal["fcfs", "priority", "fair_share"] = "fcfs"


class RateCapacity(_Model):
    """Capacity in units per day: regular time, plus overtime used only when the queue needs it.

    Without ``planned_lead_time`` a plant works overtime whenever its queue holds more than a day of regular
    time; with it, only for work that regular time would not finish within that many days of its order
    (the S&OP plan's daily targets are due the day they are planned, so planned overtime is still worked).
    """

    regular: PositiveFloat
    overtime: NonNegativeFloat = 0.0
    overtime_cost: NonNegativeFloat = Field(default=0.0, description="extra cost per unit made on overtime")
    planned_lead_time: float | None = Field(
        default=None, ge=1,
        description="days from a job's order to leaving the plant that the plant plans on: regular time levels "
                    "the queue and overtime makes only the work that would otherwise leave later than this "
                    "(S&OP plan targets are due the day they are planned); omit it for overtime whenever the "
                    "queue exceeds a day of regular time")


class Factory(_Model):
    """A plant. Capacity is a rate (``capacity``) or parallel ``lines`` with a ``processing_time``.

    ``processing_per: unit`` makes a job of q units take the time of q units: the mean and variance of the
    sum of q unit times, from one draw d as q x mean + sqrt(q) x (d - mean) (the sum itself for a normal
    law or a constant); ``order`` makes every job take one draw whatever its size.
    ``yield`` is the fraction of good units of each job (the rest is scrapped, its components with it).
    ``bom`` and ``materials``: what each unit consumes, and the store it is issued from (``simsop.model.factory``).
    """

    id: str = Field(min_length=1)
    products: tuple[str, ...] = Field(min_length=1)
    mode: Literal["make_to_stock", "make_to_order"] = "make_to_stock"
    capacity: RateCapacity | None = None
    lines: PositiveInt | None = None
    processing_time: Dist | None = None
    processing_per: Literal["unit", "order"] = "unit"
    yield_: Dist = Field(default_factory=lambda: Deterministic(value=1.0), alias="yield")
    fixed_cost_per_day: NonNegativeFloat = 0.0
    bom: dict[str, dict[str, PositiveFloat]] | None = Field(
        default=None, description="bill of materials, one level: product -> {component: units per unit made}. "
        "Components are products the plant does not make, issued from its 'materials' store as it makes them: a "
        "rate plant makes of a job only what the components on hand allow that day, a line starts a job only when "
        "the components of all of it are on hand. A product without an entry needs none")
    materials: str | None = Field(
        default=None, description="the warehouse at the plant that stocks its components (with 'bom'): it "
        "reorders them from their sources by its own policies, the plant's consumption being its demand")

    @field_validator("yield_")
    @classmethod
    def _a_fraction(cls, y: Dist) -> Dist:
        # The model makes min(draw, 1) good units of each unit: a yield above 1 would silently mean 1.
        if y.upper > 1 and (math.isfinite(y.upper) or y.mean > 1):
            top = f"up to {y.upper:g}" if math.isfinite(y.upper) else f"a mean of {y.mean:g}"
            raise ValueError(f"a yield is the fraction of good units: expected values from 0 to 1, got {top}")
        if y.upper <= 0:
            raise ValueError("a yield of 0 makes no good unit at all; expected a fraction above 0 (1: no scrap)")
        return y

    @model_validator(mode="after")
    def _one_capacity(self) -> Factory:
        if (self.capacity is None) == (self.lines is None):
            raise ValueError("give either 'capacity' (units per day) or 'lines' with 'processing_time'")
        if self.lines is not None and self.processing_time is None:
            raise ValueError("'lines' needs a 'processing_time' distribution")
        if self.capacity is not None and self.processing_time is not None:
            raise ValueError("'processing_time' goes with 'lines', not with a rate 'capacity'")
        return self


class Supplier(_Model):
    """An external supplier: a lead time, optionally a daily capacity and an on-time reliability.

    ``deliveries``: ``independent`` (default) gives every order its own lead time (plus delay and transit), so
    the lead times a warehouse sees are the configured ones and a later order can overtake an earlier one.
    ``in_order`` delivers each warehouse's orders in the order placed, as one supplier's shipments on one lane
    do: an order that would come before an earlier one arrives with it, so a late order holds up those behind
    it (Kaplan's non-crossing lead times) and the lead times seen are longer than the configured ones, the more
    so the more often it is ordered from.
    """

    id: str = Field(min_length=1)
    lead_time: Dist = Field(default_factory=lambda: Deterministic(value=0.0))
    capacity: PositiveFloat | None = Field(default=None, description="units it can ship per day")
    reliability: float = Field(default=1.0, gt=0, le=1, description="probability an order ships on time")
    delay: Dist = Field(default_factory=lambda: Deterministic(value=0.0), description="extra days when late")
    deliveries: Literal["independent", "in_order"] = Field(
        default="independent", description="independent: each order its own lead time, so orders can cross; "
                                           "in_order: a warehouse's orders arrive in the order placed (a late one "
                                           "holds up those behind it)")
    products: tuple[str, ...] | None = None


class Lane(_Model):
    """A transport link between two sites, with a random transit time, a cost per unit and optionally a capacity.

    ``order_delay`` is the time an order takes to reach the source (information lead time). ``capacity`` is
    what the lane can dispatch a day (see simsop.model.lane): goods wait at the dock for it, in the order booked.
    """

    from_: str = Field(alias="from")
    to: str
    lead_time: Dist = Field(default_factory=lambda: Deterministic(value=0.0))
    cost_per_unit: NonNegativeFloat = 0.0
    order_delay: NonNegativeFloat = 0.0
    capacity: PositiveFloat | None = Field(
        default=None, description="units the lane can dispatch per day, all products together (none: unlimited). "
        "Goods leave as soon as they are ready while the day's capacity lasts; what does not fit waits and leaves "
        "at the start of the next day with room, first booked first served (a large shipment leaves in parts); "
        "the transit starts when goods leave")


# ---------------------------------------------------------------------------------------------- scenario


class Scenario(_Model):
    """A company to simulate, with the run settings (days; warm-up is cut from every KPI)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    horizon: PositiveInt = Field(le=MAX_HORIZON, description="days simulated")
    warmup: int = Field(default=0, ge=0, description="days cut from the KPIs")
    seed: int = Field(default=0, ge=0)
    replications: PositiveInt = 10
    products: tuple[Product, ...] = Field(min_length=1)
    customers: tuple[Customer, ...] = Field(min_length=1)
    warehouses: tuple[Warehouse, ...] = Field(min_length=1)
    factories: tuple[Factory, ...] = ()
    suppliers: tuple[Supplier, ...] = ()
    lanes: tuple[Lane, ...] = ()
    planning: PlanningSpec = Field(default_factory=PlanningSpec, description="the S&OP cycle and its policy")
    shocks: tuple[Shock, ...] = Field(default=(), description="scheduled or random events overlaid on the company")
    workshop: WorkshopSpec | None = Field(default=None, description="how teams play it (simsop workshop)")
    # The folder of the file it was read from: a policy module kept beside the scenario is imported from there,
    # in this process and in every worker the scenario is sent to. Not a field: never written, hashed or compared.
    _source_dir: str | None = PrivateAttr(default=None)

    @property
    def source_dir(self) -> str | None:
        """The folder of the scenario file this was read from (None when built in code)."""
        return self._source_dir

    def product(self, pid: str) -> Product:
        return next(p for p in self.products if p.id == pid)

    def lane(self, src: str, dst: str) -> Lane | None:
        return next((ln for ln in self.lanes if ln.from_ == src and ln.to == dst), None)

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.family for p in self.products))


# ---------------------------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where (a key path) and what was expected."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{_printable(self.path)}: {_printable(self.message)}" if self.path else _printable(self.message)


def _printable(text: str) -> str:
    """The text with control and other unprintable characters escaped: a key or value from a file must not
    break the one-line-per-problem message (``\\x1e`` or a newline in a key would start a new line)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {p}" for p in self.problems]
        super().__init__("\n".join(lines))


def _union_label(part: Any) -> bool:
    """A part of an error location that names a member of a union ("literal['month','week']",
    "constrained-int", "dict[str,any]", a discriminator tag): which variant failed, not where."""
    text = str(part)
    return (part in _TAGS or text.startswith(("function-", "literal[", "constrained-")) or "[" in text
            or text in ("int", "float", "str", "bool", "none"))


def _format_loc(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _union_label(part):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _problem_from_error(err: Mapping[str, Any]) -> Problem:
    def _shown(value: Any) -> str:
        """A short description of a value someone wrote, for a message."""
        if isinstance(value, dict):
            return "a mapping" if value else "an empty mapping"
        if isinstance(value, list | tuple):
            return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}" if value else "an empty list"
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."

    loc = tuple(err.get("loc", ()))
    kind = err.get("type", "")
    msg = str(err.get("msg", ""))
    given = err.get("input")
    key_note = ""
    if len(loc) >= 2 and loc[-1] == "[key]":
        # A bad key of a mapping (pipeline days): the mapping's path, and which key.
        key_note, loc = f"key {loc[-2]!r}: ", loc[:-2]
    path = _format_loc(loc)
    if isinstance(given, NotANumber):
        return Problem(path, f"{key_note}expected {'an integer' if kind == 'int_type' else 'a number'}, got {given!r}")
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        path = ".".join(x for x in (_format_loc(loc[:-1]), key) if x)  # a key of the user's, whatever its name
        return Problem(path, f"unknown key '{key}'{_suggest(key, loc[:-1])}")
    if kind == "missing":
        return Problem(path, "required key is missing")
    if kind == "invalid_key":
        # The last part of the location is the offending key itself, not an index or a field.
        return Problem(_format_loc(loc[:-1]), f"keys must be text, got {_shown(loc[-1] if loc else given)}")
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return Problem(path, f"unknown type {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}")
    if kind == "union_tag_not_found":
        ctx = err.get("ctx", {})
        return Problem(path, f"needs a '{ctx.get('discriminator', '').strip(chr(39))}' key")
    if kind in ("tuple_type", "list_type"):
        return Problem(path, f"expected a list, got {_shown(given)}")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return Problem(path, f"expected a mapping of keys, got {_shown(given)}")
    if kind == "too_short":
        least = err.get("ctx", {}).get("min_length", 1)
        return Problem(path, f"expected at least {least} item{'s' if least != 1 else ''}, got {_shown(given)}")
    msg = msg.removeprefix("Value error, ")
    if kind not in ("value_error", "assertion_error", "number_type") and (kind.endswith("_type")
                                                                          or not isinstance(given, dict | list)):
        msg += f" (got {_shown(given)})"  # a list where text belongs: "(got a list of 2 items)"
    return Problem(path, key_note + msg)


@functools.cache
def _schema() -> dict[str, Any]:
    return Scenario.model_json_schema()


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the mapping at ``loc`` (a pydantic error's location, tags of tagged unions included) may have,
    walked down the scenario's JSON Schema; every key of the schema where the walk loses its way."""
    root = _schema()
    defs: dict[str, Any] = root.get("$defs", {})

    def resolve(node: Any) -> dict[str, Any]:
        while isinstance(node, dict) and "$ref" in node:
            node = defs.get(str(node["$ref"]).rsplit("/", 1)[-1], {})
        return node if isinstance(node, dict) else {}

    def alternatives(node: dict[str, Any]) -> list[dict[str, Any]]:
        alts = node.get("anyOf") or node.get("oneOf") or node.get("allOf")
        return [resolve(a) for a in alts] if alts else [node]

    nodes = [root]
    for part in loc:
        nxt: list[dict[str, Any]] = []
        for node in nodes:
            tags = node.get("discriminator", {}).get("mapping", {})
            if isinstance(part, str) and part in tags:
                nxt.append(resolve({"$ref": tags[part]}))
                continue
            for alt in alternatives(node):
                if isinstance(part, int) and "items" in alt:
                    nxt.append(resolve(alt["items"]))
                elif isinstance(part, str) and part in alt.get("properties", {}):
                    nxt.append(resolve(alt["properties"][part]))
                elif isinstance(alt.get("additionalProperties"), dict):
                    nxt.append(resolve(alt["additionalProperties"]))
        nodes = nxt
        if not nodes:
            break
    keys = list(dict.fromkeys(k for node in nodes for alt in alternatives(node) for k in alt.get("properties", {})))
    if keys:
        return keys
    return sorted({k for d in (root, *defs.values()) for k in d.get("properties", {})})


def _suggest(key: str, where: tuple[Any, ...] = ()) -> str:
    """A "did you mean" for an unknown key, among the keys of the mapping it was found in (``where``)."""
    close = difflib.get_close_matches(key, _keys_at(where), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


# ---------------------------------------------------------------------------------------------- loading


def _load_empirical(node: Any, base: Path, path: str, problems: list[Problem]) -> Any:
    """Read the CSV files that empirical distributions name, so the Scenario holds the values."""
    if isinstance(node, dict):
        if node.get("dist") == "empirical" and "file" in node and "values" in node:
            problems.append(Problem(path + ".file", "give 'values' (a list of numbers) or 'file' (a CSV of history), "
                                    "not both"))
            return node
        if node.get("dist") == "empirical" and "column" in node and "file" not in node:
            problems.append(Problem(path + ".column", "'column' goes with 'file' (the CSV file to read it from)"))
            return node
        if node.get("dist") == "empirical" and "file" in node:
            node = dict(node)
            if not isinstance(node["file"], str) or not node["file"]:
                problems.append(Problem(path + ".file", f"expected the name of a CSV file (got {node['file']!r})"))
                return node
            column = node.get("column")
            if column is not None and not isinstance(column, str):
                problems.append(Problem(path + ".column", f"expected a column name (got {column!r})"))
                return node
            fpath = base / node["file"]
            try:
                with fpath.open(newline="", encoding="utf-8-sig") as fh:  # -sig: spreadsheets write a BOM
                    rows = list(csv.DictReader(fh))
            except UnicodeDecodeError as exc:
                problems.append(Problem(path + ".file", f"cannot read {fpath}: expected UTF-8 text, found byte "
                                        f"0x{exc.object[exc.start]:02x} at offset {exc.start}"))
                return node
            except (OSError, csv.Error) as exc:
                why = getattr(exc, "strerror", None) or str(exc)
                problems.append(Problem(path + ".file", f"cannot read {fpath}: {why}"))
                return node
            if not rows:
                problems.append(Problem(path + ".file", f"{fpath} has no data rows"))
                return node
            column = column or next(iter(rows[0]))
            if column not in rows[0]:
                problems.append(Problem(path + ".column", f"{fpath} has no column {column!r}; expected one of "
                                        f"{[c for c in rows[0] if c is not None]}"))
                return node
            values: list[float] = []
            for i, r in enumerate(rows):
                cell = r.get(column)
                if cell in ("", None):
                    continue
                try:
                    x = float(cell)
                    what = "" if math.isfinite(x) and x >= 0 else "a finite number >= 0"
                except ValueError:
                    what = "a number"
                if what:
                    problems.append(Problem(path + ".file", f"{fpath} column {column!r}, data row {i + 1}: "
                                            f"expected {what}, got {cell!r}"))
                    return node
                values.append(x)
            node["values"] = values
            return node
        return {k: _load_empirical(v, base, f"{path}.{k}" if path else str(k), problems) for k, v in node.items()}
    if isinstance(node, list):
        return [_load_empirical(v, base, f"{path}[{i}]", problems) for i, v in enumerate(node)]
    return node


def _resolve_policy_files(data: dict[str, Any], base: Path | None) -> dict[str, Any]:
    """Make a policy's ``file`` parameter (e.g. replayed decisions) relative to the scenario file."""
    planning = data.get("planning")
    if base is None or not isinstance(planning, dict) or not isinstance(planning.get("params"), dict):
        return data

    def fix(params: dict[str, Any]) -> dict[str, Any]:
        out = dict(params)
        for k, v in params.items():
            if k == "file" and isinstance(v, str) and not Path(v).is_absolute():
                out[k] = str((base / v).resolve())
            elif isinstance(v, dict):
                out[k] = fix(v)
        return out

    return {**data, "planning": {**planning, "params": fix(planning["params"])}}


def _references(sc: Scenario) -> list[Problem]:
    """Cross-references a schema cannot express: ids exist, are unique, and the network is connected."""
    probs: list[Problem] = []

    def unique(kind: str, ids: list[str]) -> None:
        seen: set[str] = set()
        for i, x in enumerate(ids):
            if x in seen:
                probs.append(Problem(f"{kind}[{i}].id", f"duplicate id {x!r}"))
            seen.add(x)

    products = [p.id for p in sc.products]
    unique("products", products)
    unique("customers", [c.id for c in sc.customers])
    site_lists = {"warehouses": [w.id for w in sc.warehouses], "factories": [f.id for f in sc.factories],
                  "suppliers": [s.id for s in sc.suppliers]}
    for kind, ids in site_lists.items():
        unique(kind, ids)
    # Sites share one namespace (lanes and sources name them): a second site of another kind with an id
    # already taken is named where it is (a repeat within one kind is reported by unique() above).
    first_kind: dict[str, str] = {}
    for kind, ids in site_lists.items():
        for i, x in enumerate(ids):
            if x in first_kind and first_kind[x] != kind:
                probs.append(Problem(f"{kind}[{i}].id", f"site id {x!r} is already used by one of the {first_kind[x]}; "
                                     "warehouses, factories and suppliers need different ids"))
            first_kind.setdefault(x, kind)
    pset, wh = set(products), {w.id: w for w in sc.warehouses}
    fac, sup = {f.id: f for f in sc.factories}, {s.id: s for s in sc.suppliers}

    def expect_product(path: str, pid: str) -> bool:
        if pid not in pset:
            probs.append(Problem(path, f"unknown product {pid!r}; expected one of {sorted(pset)}"))
            return False
        return True

    if sc.warmup >= sc.horizon:
        probs.append(Problem("warmup", f"must be shorter than the horizon ({sc.horizon} days)"))
    for i, c in enumerate(sc.customers):
        if c.warehouse not in wh:
            probs.append(Problem(f"customers[{i}].warehouse", f"unknown warehouse {c.warehouse!r}; "
                                 f"expected one of {sorted(wh)}"))
            continue
        stocked = {it.product for it in wh[c.warehouse].stock}
        seen_p: set[str] = set()
        for j, d in enumerate(c.demand):
            if d.orders_per_day is not None and d.orders_per_day * sc.horizon > MAX_ORDERS:
                probs.append(Problem(f"customers[{i}].demand[{j}].orders_per_day",
                                     f"about {d.orders_per_day * sc.horizon:.3g} orders over the horizon; every order "
                                     f"is simulated, expected at most {MAX_ORDERS:.0e} (give a large volume as a "
                                     "'daily' total instead)"))
            p = f"customers[{i}].demand[{j}].product"
            if expect_product(p, d.product):
                if d.product not in stocked:
                    probs.append(Problem(p, f"warehouse {c.warehouse!r} has no stock item for {d.product!r}"))
                if d.product in seen_p:
                    probs.append(Problem(p, f"product {d.product!r} appears twice for this customer"))
                seen_p.add(d.product)
    for i, f in enumerate(sc.factories):
        for j, pid in enumerate(f.products):
            expect_product(f"factories[{i}].products[{j}]", pid)
    for i, s in enumerate(sc.suppliers):
        for j, pid in enumerate(s.products or ()):
            expect_product(f"suppliers[{i}].products[{j}]", pid)
    for i, ln in enumerate(sc.lanes):
        for key, site in (("from", ln.from_), ("to", ln.to)):
            if site not in first_kind:
                probs.append(Problem(f"lanes[{i}].{key}", f"unknown site {site!r}"))
        if ln.to not in wh and ln.to in first_kind:
            probs.append(Problem(f"lanes[{i}].to", f"{ln.to!r} is not a warehouse (goods go to warehouses)"))
    lanes_seen: set[tuple[str, str]] = set()
    for i, ln in enumerate(sc.lanes):
        if (ln.from_, ln.to) in lanes_seen:
            probs.append(Problem(f"lanes[{i}]", f"a second lane from {ln.from_!r} to {ln.to!r}"))
        lanes_seen.add((ln.from_, ln.to))
    for i, w in enumerate(sc.warehouses):
        items_seen: set[str] = set()
        for j, it in enumerate(w.stock):
            base = f"warehouses[{i}].stock[{j}]"
            expect_product(base + ".product", it.product)
            if it.product in items_seen:
                probs.append(Problem(base + ".product", f"product {it.product!r} appears twice"))
            items_seen.add(it.product)
            pol = it.policy
            if it.source is None:
                if pol.type != "none":
                    probs.append(Problem(base + ".source", f"policy {pol.type!r} needs a source to order from"))
                continue
            src = it.source
            if src == w.id:
                probs.append(Problem(base + ".source", "a warehouse cannot replenish from itself"))
            elif src in fac:
                if it.product not in fac[src].products:
                    probs.append(Problem(base + ".source", f"factory {src!r} does not make {it.product!r}"))
                if fac[src].mode == "make_to_order" and pol.type != "none":
                    probs.append(Problem(base + ".policy", f"factory {src!r} makes to order: each order is "
                                         "made when a customer orders it, so the policy must be 'none'"))
            elif src in sup:
                prods = sup[src].products
                if prods is not None and it.product not in prods:
                    probs.append(Problem(base + ".source", f"supplier {src!r} does not sell {it.product!r}"))
            elif src in wh:
                upstream = next((x for x in wh[src].stock if x.product == it.product), None)
                if upstream is None:
                    probs.append(Problem(base + ".source", f"warehouse {src!r} does not stock {it.product!r}"))
                elif upstream.source in fac and fac[upstream.source].mode == "make_to_order":
                    probs.append(Problem(base + ".source", f"warehouse {src!r} gets {it.product!r} made to order by "
                                         f"{upstream.source!r} (made for each customer order), so it has no stock "
                                         f"to send here; source {it.product!r} from {upstream.source!r} directly"))
            else:
                probs.append(Problem(base + ".source", f"unknown source {src!r}; expected a factory, "
                                     "supplier or warehouse id"))
                continue
            if src not in sup and src != w.id and (src, w.id) not in lanes_seen:
                probs.append(Problem(base + ".source", f"no lane from {src!r} to {w.id!r}; add one to 'lanes'"))
    probs.extend(_bom_problems(sc))
    probs.extend(_cycles(sc))
    probs.extend(_planning_problems(sc))
    probs.extend(shock_problems(sc, sc.shocks))
    probs.extend(_pipeline_problems(sc))
    probs.extend(workshop_problems(sc))
    return probs


def _bom_problems(sc: Scenario) -> list[Problem]:
    """Bills of materials: a store at the plant that stocks every component, components that are products the
    plant does not make, and entries for products it makes."""
    probs: list[Problem] = []
    products = {p.id for p in sc.products}
    wh = {w.id: w for w in sc.warehouses}
    for i, f in enumerate(sc.factories):
        at = f"factories[{i}]"
        if f.bom is None:
            if f.materials is not None:
                probs.append(Problem(f"{at}.materials", "a materials store goes with a 'bom' (the components each "
                                     "product consumes); give one, or leave 'materials' out"))
            continue
        store = wh.get(f.materials) if f.materials is not None else None
        if f.materials is None:
            probs.append(Problem(f"{at}.materials", "a 'bom' needs 'materials': the id of the warehouse at the plant "
                                 f"that stocks its components; expected one of {sorted(wh)}"))
        elif store is None:
            probs.append(Problem(f"{at}.materials", f"unknown warehouse {f.materials!r}; expected one of {sorted(wh)}"))
        stocked = {it.product for it in store.stock} if store is not None else None
        for product, parts in f.bom.items():
            where = f"{at}.bom.{product}"
            if product not in f.products:
                probs.append(Problem(where, f"factory {f.id!r} does not make {product!r}; expected one of "
                                     f"{list(f.products)}"))
            if not parts:
                probs.append(Problem(where, "no components; give {component: units per unit} or leave the "
                                     "product out"))
            for comp in parts:
                if comp not in products:
                    probs.append(Problem(f"{where}.{comp}", f"unknown product {comp!r}; a component is one of the "
                                         f"'products' ({sorted(products)})"))
                elif comp in f.products:
                    probs.append(Problem(f"{where}.{comp}", f"factory {f.id!r} makes {comp!r} itself; a component "
                                         "comes from its materials store (one level of bill of materials)"))
                elif stocked is not None and comp not in stocked:
                    probs.append(Problem(f"{where}.{comp}", f"the materials store {f.materials!r} does not stock "
                                         f"{comp!r}; add it to that warehouse's 'stock' with a source and a policy"))
    return probs


def _planning_problems(sc: Scenario) -> list[Problem]:
    """The S&OP cycle's days in order and inside a bucket, workforces of rate factories, forecast parameters
    the method takes (the cycle would otherwise clip the days, ignore the workforce and fall back to simple
    exponential smoothing, all silently)."""
    spec, probs = sc.planning, []
    steps = (("demand_review_day", "demand review"), ("supply_review_day", "supply review"),
             ("executive_meeting_day", "executive meeting"))
    for (key_a, what_a), (key_b, what_b) in itertools.pairwise(steps):
        a, b = getattr(spec, key_a), getattr(spec, key_b)
        if b < a:
            probs.append(Problem(f"planning.{key_b}", f"the {what_b} comes after the {what_a} (day {a}); "
                                 f"expected a day >= {a}"))
    longest = 31 if spec.bucket == "month" else 7 if spec.bucket == "week" else int(spec.bucket)
    for key, _ in steps:
        day = getattr(spec, key)
        if day >= longest:
            # The defaults (3, 7, 12) suit a month: a plan in shorter buckets that leaves them out is refused for
            # days its file does not show, so say they are defaults and which key to write.
            if key in spec.model_fields_set:
                probs.append(Problem(f"planning.{key}", f"day {day} of a bucket of at most {longest} days; "
                                     f"expected 0 to {longest - 1}"))
            else:
                days = ", ".join(f"{key_k}: {min(j + 1, longest - 1)}" for j, (key_k, _) in enumerate(steps))
                probs.append(Problem(f"planning.{key}", f"the default day {day} (made for monthly buckets) is not "
                                     f"in a bucket of at most {longest} days; set the cycle's days from 0 to "
                                     f"{longest - 1}, in order, e.g. {days}"))
    fac = {f.id: f for f in sc.factories}
    seen: set[str] = set()
    for i, wf in enumerate(spec.workforce):
        where = f"planning.workforce[{i}].factory"
        if wf.factory not in fac:
            probs.append(Problem(where, f"unknown factory {wf.factory!r}; expected one of {sorted(fac)}"))
        elif fac[wf.factory].capacity is None:
            probs.append(Problem(where, f"factory {wf.factory!r} works with production lines; a workforce staffs a "
                                 "rate 'capacity'"))
        elif wf.factory in seen:
            probs.append(Problem(where, f"a second workforce for factory {wf.factory!r}"))
        seen.add(wf.factory)
    probs.extend(_forecast_problems(sc))
    return probs


def _forecast_problems(sc: Scenario) -> list[Problem]:
    """The forecast method accepts its parameters: it is fitted once on a made-up seasonal history."""
    import numpy as np

    from simsop.planning import forecast as fc
    from simsop.planning.cycle import season_length

    spec = sc.planning.forecast
    if not spec.params and spec.season_length is None:
        return []  # the methods' defaults fit
    params = dict(spec.params)
    m = spec.season_length or season_length(sc.planning.bucket)
    if spec.method in ("seasonal_naive", "holt_winters_additive", "holt_winters_multiplicative", "auto"):
        params.setdefault("m", m)
    n = max(3 * m, 24)
    history = 100.0 + 10.0 * np.sin(2 * np.pi * np.arange(n) / max(m, 1)) + np.arange(n) % 7
    try:
        fc.forecast(spec.method, history, 3, **params)
    except (TypeError, ValueError) as exc:
        return [Problem("planning.forecast.params", f"{spec.method}: {exc}")]
    return []


def _pipeline_problems(sc: Scenario) -> list[Problem]:
    """A stock item's pipeline needs a source, arrives inside the horizon, and orders nothing made to order."""
    probs: list[Problem] = []
    make_to_order = {f.id for f in sc.factories if f.mode == "make_to_order"}
    for i, w in enumerate(sc.warehouses):
        for j, it in enumerate(w.stock):
            pl, base = it.pipeline, f"warehouses[{i}].stock[{j}].pipeline"
            if pl is None:
                continue
            if it.source is None and (pl.goods or pl.orders):
                probs.append(Problem(base, "a pipeline needs a 'source' the goods come from"))
            for key, days in (("goods", pl.goods), ("orders", pl.orders)):
                late = [d for d in days if d >= sc.horizon]
                if late:
                    probs.append(Problem(f"{base}.{key}",
                                         f"day {late[0]} is not inside the horizon ({sc.horizon} days)"))
            if pl.orders and it.source in make_to_order:
                probs.append(Problem(f"{base}.orders",
                                     f"factory {it.source!r} makes to order; it takes no stock orders"))
    return probs


def _cycles(sc: Scenario) -> list[Problem]:
    """Warehouse-to-warehouse sourcing must not loop (an order would chase itself for ever)."""
    wh_ids = {w.id for w in sc.warehouses}
    edges: dict[tuple[str, str], str] = {}
    where: dict[tuple[str, str], str] = {}
    for i, w in enumerate(sc.warehouses):
        for j, it in enumerate(w.stock):
            if it.source in wh_ids and it.source != w.id:  # sourcing from itself is reported elsewhere
                edges[(w.id, it.product)] = it.source
                where[(w.id, it.product)] = f"warehouses[{i}].stock[{j}].source"
    for (start, p) in edges:
        seen, node = [start], start
        while (node, p) in edges:
            node = edges[(node, p)]
            if node == start:
                loop = " -> ".join([*seen, start])
                return [Problem(where[(start, p)], f"sourcing of {p!r} loops ({loop}); expected a chain that ends "
                                "at a factory or supplier")]
            if node in seen:
                break  # a loop further up the chain: reported from one of its own warehouses
            seen.append(node)
    return []


def _huge_numbers(node: Any, path: str = "") -> list[Problem]:
    """Numbers no company has (|x| > MAX_MAGNITUDE), by key path; seeds and free-form policy ``params`` aside."""
    if isinstance(node, dict):
        return [x for k, v in node.items() if k not in ("seed", "params")
                for x in _huge_numbers(v, f"{path}.{k}" if path else str(k))]
    if isinstance(node, list | tuple):
        return [x for i, v in enumerate(node) for x in _huge_numbers(v, f"{path}[{i}]")]
    if isinstance(node, int | float) and not isinstance(node, bool) and abs(node) > MAX_MAGNITUDE \
            and not (isinstance(node, float) and not math.isfinite(node)):  # inf and nan: "a finite number"
        shown = f"{node:.3g}" if isinstance(node, float) or abs(node) < 1e300 else "a number of over 300 digits"
        return [Problem(path, f"number too large (got {shown}); expected a magnitude of at most {MAX_MAGNITUDE:g}")]
    return []


def _policy_problems(sc: Scenario) -> list[Problem]:
    """The planning policy exists, can be built from its parameters and can run this scenario (a replay file
    is read and checked against the products, the cycles and the buckets)."""
    name = sc.planning.policy
    if name == "none":
        return []
    from simsop.planning.cycle import build_policy
    from simsop.planning.policy import PolicyError

    try:
        build_policy(sc, name)
    except PolicyError as exc:
        return [Problem(where, message) for where, message in exc.problems]
    return []


def _cascaded(err: Mapping[str, Any]) -> bool:
    """A "too short" error pydantic adds to a list whose items failed: the list itself is long enough."""
    if err.get("type") != "too_short":
        return False
    given = err.get("input")
    return isinstance(given, list | tuple) and len(given) >= err.get("ctx", {}).get("min_length", 1)


def validation_problems(exc: ValidationError) -> list[Problem]:
    """One problem per error of a file's validation: without the echoes pydantic adds to a list whose items
    failed, and with the errors of each alternative of a union (``bucket: month | week | days``) in one line."""
    errors = [e for e in exc.errors() if not _cascaded(e)] or exc.errors()
    out: list[Problem] = []
    merged: list[bool] = []  # whether out[i] says why each alternative of a union failed
    for e in errors:
        p = _problem_from_error(e)
        union = e["type"] != "extra_forbidden" and any(_union_label(x) and x not in _TAGS for x in e["loc"])
        if union and out and merged[-1] and out[-1].path == p.path:
            out[-1] = Problem(p.path, f"{out[-1].message}; or {p.message[:1].lower()}{p.message[1:]}")
        else:
            out.append(p)
            merged.append(union)
    return out


def not_a_mapping(source: str, data: Any) -> ScenarioError:
    """The error for a file (scenario or stress file) that holds no mapping of keys, saying what it holds."""
    if data is None:
        what = "an empty file"
    elif isinstance(data, list):
        what = "a list"
    elif isinstance(data, str):
        what = "text"
    else:
        what = "a number" if isinstance(data, int | float) else type(data).__name__
    return ScenarioError(source, [Problem("", f"expected a mapping of keys at the top, got {what}")])


def parse_scenario(data: Any, source: str = "<scenario>", base_dir: Path | None = None) -> Scenario:
    """Validate already-parsed data (a dict from YAML/JSON) into a Scenario, or raise ScenarioError."""
    if not isinstance(data, dict):
        raise not_a_mapping(source, data)
    problems: list[Problem] = []
    data = _load_empirical(data, base_dir or Path("."), "", problems)
    data = _resolve_policy_files(data, base_dir)
    if problems:
        raise ScenarioError(source, problems)
    huge = _huge_numbers(data)
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        # An unknown key is said as such, whatever its value; elsewhere "too large" says more than pydantic.
        unknown = {_problem_from_error(e).path for e in exc.errors() if e["type"] == "extra_forbidden"}
        huge = [h for h in huge if not any(h.path == u or h.path.startswith((u + ".", u + "[")) for u in unknown)]
        said = {h.path for h in huge}
        raise ScenarioError(source, huge + [p for p in validation_problems(exc) if p.path not in said]) from None
    except ArithmeticError as exc:
        # A validator computed with an absurd number (e.g. sd: 1e300 squared overflows): name the suspects.
        raise ScenarioError(source, huge or [Problem("", f"a number is out of range: {exc}")]) from None
    if base_dir is not None:
        sc._source_dir = str(base_dir.resolve())
    problems = huge or _references(sc)
    if not problems:
        problems = _policy_problems(sc)
    if problems:
        raise ScenarioError(source, problems)
    return sc


# ---------------------------------------------------------------------------------------------- YAML


def _yaml_message(exc: Exception) -> str:
    """A YAML error on one line: where (line and column, or offset) and what."""
    import yaml

    if isinstance(exc, yaml.reader.ReaderError):
        ch = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        return f"character #x{ch:04x} at offset {exc.position}: {exc.reason}"
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    what = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context and what.startswith("but "):  # "expected a single document in the stream, but found another"
        what = f"{context}, {what}"
    return " ".join(f"{where}{what}".split())


def _yaml_node_problems(root: Any) -> list[Problem]:
    """What YAML allows but a scenario cannot use: a key given twice in a mapping (the later one would win
    silently), an alias inside the node it refers to (an endless structure), and aliases that expand to more
    values than a company has (a "billion laughs")."""
    import yaml

    problems: list[Problem] = []
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def walk(node: Any, path: str) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_nodes:
            problems.append(Problem(path, f"line {node.start_mark.line + 1}: a YAML alias refers to a mapping or "
                                    "list that contains it; expected a structure that ends"))
            return 0
        open_nodes.add(id(node))
        size = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                line = key.start_mark.line + 1
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                here = f"{path}.{name}" if path else str(name)
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if (key.tag, key.value) in seen:
                        first = seen[(key.tag, key.value)]
                        lines = f"lines {first} and {line}" if first != line else f"both on line {line}"
                        problems.append(Problem(here, f"the key is given twice ({lines}); give it once"))
                    seen.setdefault((key.tag, key.value), line)
                size += walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                size += walk(item, f"{path}[{i}]")
        open_nodes.discard(id(node))
        sizes[id(node)] = size
        return size

    total = walk(root, "")
    if total > MAX_YAML_VALUES:
        problems.append(Problem("", f"the file expands to {total:.3g} values through YAML aliases; expected at "
                                f"most {MAX_YAML_VALUES:.0e}"))
    return problems


# YAML 1.1 (PyYAML) reads 1e3 and 2e12 as text, since its floats need a dot; YAML 1.2 and every spreadsheet
# read them as numbers, and so do the files here, which would otherwise reject "1e3" as "text".
_EXPONENT_FLOAT = r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"


def _loader(base: Any) -> Any:
    """``base`` (SafeLoader or CSafeLoader) that also reads exponent floats without a dot as numbers."""
    import re

    cls: Any = type(f"Scenario{base.__name__}", (base,), {})
    # A copy of the lists too: PyYAML's add_implicit_resolver appends to the parent's lists in place.
    cls.yaml_implicit_resolvers = {k: list(v) for k, v in base.yaml_implicit_resolvers.items()}
    cls.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(_EXPONENT_FLOAT), list("-+0123456789."))
    return cls


_LOADERS: dict[str, Any] = {}


def _loader_named(name: str) -> Any:
    import yaml

    if name not in _LOADERS:
        _LOADERS[name] = _loader(getattr(yaml, name))
    return _LOADERS[name]


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML (or JSON) text the way scenario, stress and workshop files are read.

    Raises:
        ScenarioError: not YAML, a key given twice, an alias inside itself, or nesting too deep; one line per
            problem, naming ``source``.
    """
    import yaml

    if hasattr(yaml, "CSafeLoader"):
        # libyaml's parser is several times faster than PyYAML's own; on any trouble the pure-Python loader
        # reads the text again, so that what goes wrong is told in its words (line, column, what was expected).
        try:
            return _parse_yaml_with(_loader_named("CSafeLoader"), text, source)
        except (ScenarioError, yaml.YAMLError, ValueError):
            pass
    return _parse_yaml_with(_loader_named("SafeLoader"), text, source)


def _parse_yaml_with(loader_class: Any, text: str, source: str) -> Any:
    import yaml

    try:
        loader = loader_class(text)
    except yaml.YAMLError as exc:  # the reader checks the characters first
        raise ScenarioError(source, [Problem("", f"not valid YAML: {_yaml_message(exc)}")]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problems = _yaml_node_problems(node)
        if problems:
            raise ScenarioError(source, problems)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [Problem("", f"not valid YAML: {_yaml_message(exc)}")]) from None
    except RecursionError:
        raise ScenarioError(source, [Problem("", "not usable YAML: it nests lists or mappings too deep")]) from None
    finally:
        loader.dispose()


def read_yaml(path: str | Path) -> Any:
    """Read a YAML (or JSON) file: :func:`parse_yaml` of its text, or a ScenarioError saying why it cannot be read."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")  # -sig: a byte-order mark some editors write is not content
    except OSError as exc:
        raise ScenarioError(str(p), [Problem("", f"cannot read the file: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(str(p), [Problem("", f"cannot read the file: expected UTF-8 text, found byte "
                                             f"0x{exc.object[exc.start]:02x} at offset {exc.start}")]) from None
    return parse_yaml(text, str(p))


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (YAML or JSON).

    Raises:
        ScenarioError: the file cannot be read or parsed, or one or more keys are wrong; the message has
            one line per problem, each naming the file and the key path.
    """
    p = Path(path)
    return parse_scenario(read_yaml(p), str(p), p.parent)


def scenario_hash(sc: Scenario) -> str:
    """SHA-256 of the validated scenario's canonical JSON: equal for equal companies, whatever the file layout."""
    blob = json.dumps(sc.model_dump(mode="json", by_alias=True), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, for editors."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "simsop scenario"
    return schema
