"""The planning-policy contract: a read-only planning state in, a plan out.

A policy never touches the SimPy environment. The S&OP cycle (``simsop.planning.cycle``) builds the
:class:`PlanningState`, calls ``policy.plan(state)``, applies time fences, and hands the plan to the world.

Register a policy with :func:`register`; name it in a scenario (``planning: {policy: lp}``) or on the
command line. A class outside simsop is named ``package.module:ClassName``; it is built with the
scenario's ``planning.params`` as keyword arguments.

Two optional class attributes let a policy refuse bad input when a scenario is loaded rather than when its
first plan is made:

* ``Params``: a pydantic model (e.g. a :class:`simsop.dists.StrictModel`) of its parameters. ``make_policy``
  validates ``params`` with it, so a wrong type or an unknown key is an error at its key path
  (``planning.params.integer_workforce``) instead of a value the constructor silently converts.
* ``check_scenario(scenario) -> list[tuple[str, str]]``: what this policy cannot do with a scenario, as
  (parameter, message) pairs, e.g. a replayed decisions file naming a product the scenario does not have.
  :func:`simsop.planning.cycle.build_policy` calls it; the scenario loader reports its problems.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class PlanningState:
    """What the company knows at a cycle's data cut-off. Arrays are read-only.

    Index conventions: products ``p`` (``products``), families ``f`` (``families``), planning buckets
    ``t`` = 0..H-1 starting with the plan's first bucket (``bucket_start[t]``, ``bucket_days[t]``), past
    buckets ``k`` oldest first (``history``).

    Attributes:
        cycle: the cycle number (0 for the first).
        day: the data cut-off day.
        products, families: ids; ``product_family[p]`` is the family index of product p.
        history: booked customer orders (units) per product x past bucket, as the company saw them.
        demand_plan: the consensus forecast per product x planning bucket (units).
        statistical_forecast, sales_input: the two views the consensus came from.
        on_hand, backlog, pipeline: network totals per product (pipeline = ordered, not yet received).
        demand_before_plan, production_before_plan: per product, the demand plan and the production of the
            plan in force for the buckets from the cut-off to the plan's first bucket (units; None: none; a
            bucket before any plan is in force makes its demand plan, as the warehouses still reorder). The
            stock the plan starts from is on hand + pipeline - backlog + production_before_plan -
            demand_before_plan.
        factory_of: index of the factory that makes each product (-1: bought in).
        factories: factory ids; ``regular_capacity``/``overtime_capacity`` in good units per day, per factory
            (the plant's capacity x its mean yield: plans count good units, the cycle asks the plant for more).
        previous_production: the plan in force per product x planning bucket (nan where none).
        frozen, slushy: number of planning buckets in each fence.
        slushy_change_limit: in the slushy fence, a product's production may move from the plan in force by at
            most this fraction of the larger of that plan and its demand plan (the scenario's
            ``planning.slushy_change_limit``; None: not known, and :meth:`slushy_interval` bounds nothing).
        unit_cost, price, holding_per_day, backorder_per_day: per product.
        inventory_target: target stock per product x planning bucket (units; days of cover x demand, plus the
            safety stock of ``planning.safety_stock`` when the scenario sets one).
        bucket_index: absolute index of each planning bucket (0: the bucket starting on day 0).
        overtime_cost_per_unit: per factory.
        params: the policy's parameters from the scenario.
        workforce: the scenario's workforce entries (planning.workforce).
        previous_subcontract: the subcontracting of the plan in force per product x planning bucket (nan where
            none; None: not known), which the frozen fence keeps like its production.
        capacity_in_force: regular capacity (good units per day) per factory x (horizon + 1): column j is what the
            plant has on the last day before planning bucket j as things stand (the workforce of the plan in
            force, or the scenario's capacity), so a plan that hires or lays off starts from the workforce it
            has, not from the scenario's headcount. None: the scenario's capacity throughout.
        mean_yield: per factory, the mean fraction of good units (None: 1). A worker of a ``workforce`` entry
            makes ``units_per_worker_day x mean_yield`` good units a day.
        inventory_budget: the scenario's ``planning.inventory_budget`` (currency units; None: no limit): the
            most the stock of the products a factory makes may be worth, at unit cost, at the end of any
            planning bucket (see :mod:`simsop.planning.budget`).
        shipping_capacity: per factory, the good units a day its capacity-limited lanes can carry away when its
            output is split among the warehouses it supplies as the plan board splits it
            (:meth:`simsop.model.world.World.shipping_capacity`; inf where no lane limits the plant). None when
            no lane out of any plant has a ``capacity``. Output above it waits at the plant's dock.
    """

    cycle: int
    day: int
    products: tuple[str, ...]
    families: tuple[str, ...]
    product_family: np.ndarray
    bucket_start: np.ndarray
    bucket_days: np.ndarray
    history: np.ndarray
    demand_plan: np.ndarray
    statistical_forecast: np.ndarray
    sales_input: np.ndarray
    on_hand: np.ndarray
    backlog: np.ndarray
    pipeline: np.ndarray
    factory_of: np.ndarray
    factories: tuple[str, ...]
    regular_capacity: np.ndarray
    overtime_capacity: np.ndarray
    previous_production: np.ndarray
    frozen: int
    slushy: int
    unit_cost: np.ndarray
    price: np.ndarray
    holding_per_day: np.ndarray
    backorder_per_day: np.ndarray
    inventory_target: np.ndarray
    bucket_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    overtime_cost_per_unit: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)
    workforce: tuple[Any, ...] = ()
    demand_before_plan: np.ndarray | None = None
    production_before_plan: np.ndarray | None = None
    capacity_in_force: np.ndarray | None = None
    previous_subcontract: np.ndarray | None = None
    slushy_change_limit: float | None = None
    mean_yield: np.ndarray | None = None
    inventory_budget: float | None = None
    shipping_capacity: np.ndarray | None = None

    @property
    def horizon(self) -> int:
        return len(self.bucket_start)

    def slushy_interval(self) -> tuple[np.ndarray, np.ndarray]:
        """Products x buckets: the least and the most production the slushy fence lets a new plan give each
        product (nan outside the fence, where no plan is in force, or when the limit is not known); the
        executive meeting clips a fence-respecting policy's plan to them."""
        if self.slushy_change_limit is None:
            nan = np.full(self.previous_production.shape, np.nan)
            return nan, nan.copy()
        return slushy_interval(self.previous_production, self.demand_plan, self.frozen, self.slushy,
                               self.slushy_change_limit)

    def projected_stock(self) -> np.ndarray:
        """Per product, the stock expected when the plan starts (negative: a backlog): on hand and on order,
        less the backlog, plus what the plan in force still makes and less what the demand plan takes before."""
        net = self.on_hand + self.pipeline - self.backlog
        if self.production_before_plan is not None:
            net = net + self.production_before_plan
        if self.demand_before_plan is not None:
            net = net - self.demand_before_plan
        return net

    def inventory_value(self, production: np.ndarray, subcontract: np.ndarray | None = None) -> np.ndarray:
        """Per planning bucket, what the stock of the products a factory makes is worth at unit cost at the
        bucket's end under a plan making ``production`` and buying ``subcontract`` (products x buckets), as the
        executive meeting checks it against ``inventory_budget`` (:mod:`simsop.planning.budget`)."""
        from simsop.planning.budget import inventory_value, planned_stock

        stock = planned_stock(self.projected_stock(), self.demand_plan, production, subcontract)
        return inventory_value(stock, self.unit_cost, np.asarray(self.factory_of) >= 0)

    def opening_capacity(self, factory: int, bucket: int) -> float:
        """Regular capacity (units per day) the factory has just before planning bucket ``bucket``."""
        if self.capacity_in_force is None:
            return float(self.regular_capacity[factory])
        return float(self.capacity_in_force[factory, bucket])

    def family_sum(self, per_product: np.ndarray) -> np.ndarray:
        """Sum a products x ... array into families x ..."""
        out = np.zeros((len(self.families), *per_product.shape[1:]))
        np.add.at(out, self.product_family, per_product)
        return out


def slushy_interval(previous: np.ndarray, demand_plan: np.ndarray, frozen: int, slushy: int, limit: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Products x buckets: the production interval the slushy fence allows (buckets ``frozen`` to
    ``frozen + slushy - 1``), ``[max(prev - step, 0), prev + step]`` with ``step = limit * max(prev, demand
    plan)``, prev being the plan in force (``previous``); nan elsewhere and where no plan is in force.

    The step is relative to the larger of the two: a fraction of a plan of 0 (a product just launched) would
    keep it at 0 for good, and of a tiny plan barely move it.
    """
    previous = np.asarray(previous, dtype=float)
    lo = np.full(previous.shape, np.nan)
    hi = lo.copy()
    horizon = int(previous.shape[-1])
    fence = slice(min(frozen, horizon), min(frozen + slushy, horizon))
    prev = previous[:, fence]
    step = limit * np.maximum(prev, np.asarray(demand_plan, dtype=float)[:, fence])
    lo[:, fence] = np.maximum(prev - step, 0.0)
    hi[:, fence] = prev + step
    return lo, hi


@dataclass(frozen=True)
class Plan:
    """A policy's decisions for the planning buckets.

    Attributes:
        production: good units to make per product x planning bucket (products not made in a factory: 0); the
            cycle asks a plant to start production / its mean yield.
        workforce: optional regular capacity in good units per day per factory x bucket (plans that hire and
            lay off), as the state's capacities; None keeps the factories' capacity.
        subcontract: optional units bought from subcontractors per product x bucket.
        inventory_target: optional target stock per product x bucket, for the execution policies.
        notes: free text kept in the records table ``plan_notes`` (e.g. the LP's cost by family, the limits that bind).
    """

    production: np.ndarray
    workforce: np.ndarray | None = None
    subcontract: np.ndarray | None = None
    inventory_target: np.ndarray | None = None
    notes: str = ""


@runtime_checkable
class Policy(Protocol):
    """Decides the supply plan from the planning state. Must not touch the simulation."""

    name: str
    respects_fences: bool

    def plan(self, state: PlanningState) -> Plan: ...


PolicyFactory = Callable[..., Policy]
_REGISTRY: dict[str, PolicyFactory] = {}


def register(name: str) -> Callable[[PolicyFactory], PolicyFactory]:
    """Class decorator: make a policy available by name."""

    def deco(cls: PolicyFactory) -> PolicyFactory:
        _REGISTRY[name] = cls
        return cls

    return deco


def _load_builtins() -> None:
    if not _REGISTRY or "level" not in _REGISTRY:
        importlib.import_module("simsop.planning.policies")


def available_policies() -> list[str]:
    """Names of the registered policies ("none" runs the world on its execution policies only)."""
    _load_builtins()
    return ["none", *sorted(_REGISTRY)]


class PolicyError(ValueError):
    """A policy name or its parameters cannot be used.

    ``problems`` lists what is wrong as (where, message) pairs, ``where`` being a key path inside the scenario's
    ``planning`` section (``policy``, ``params``, ``params.file``...) or, from
    :func:`~simsop.planning.cycle.build_policy`, in the whole scenario (``planning.params.file``). Raised
    with a message only, every line of it is a problem at ``where`` (the class attribute).
    """

    where = "params"

    def __init__(self, message: str, problems: Sequence[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = (list(problems) if problems is not None
                         else [(self.where, line) for line in message.splitlines() if line.strip()])


def make_policy(name: str, params: dict[str, Any] | None = None, base_dir: str | None = None) -> Policy | None:
    """Build a policy by registered name or ``module:Class``; ``none`` gives None (no planning)."""
    if name == "none":
        return None
    params = dict(params or {})
    if ":" in name:
        mod_name, _, cls_name = name.partition(":")
        try:
            cls = getattr(_import_policy_module(mod_name, base_dir), cls_name)
        except (ImportError, AttributeError) as exc:
            raise _at_policy(f"cannot import policy {name!r}: {exc}") from None
    else:
        _load_builtins()
        if name not in _REGISTRY:
            raise _at_policy(f"unknown policy {name!r}; expected one of {', '.join(available_policies())} or "
                             "package.module:Class")
        cls = _REGISTRY[name]
    params = _validated(name, getattr(cls, "Params", None), params)
    try:
        policy = cls(base_dir=base_dir, **params) if getattr(cls, "wants_base_dir", False) else cls(**params)
    except TypeError as exc:
        raise PolicyError(f"policy {name!r}: bad parameters {sorted(params)}: {exc}") from None
    if not isinstance(policy, Policy):
        raise _at_policy(f"{name!r} does not implement the Policy protocol (name, respects_fences, plan)")
    return policy


def _import_policy_module(mod_name: str, base_dir: str | None) -> Any:
    """The module of a ``module:Class`` policy: installed or on the path, else kept beside the scenario file.

    The scenario's folder is looked in only when the module is found nowhere else (a module of the same name
    elsewhere on the path wins, as it would for ``python`` run in that folder), and is then added to the end
    of ``sys.path`` so that the module's own imports of its neighbours work too.
    """
    try:
        return importlib.import_module(mod_name)
    except ModuleNotFoundError as exc:
        top = mod_name.split(".")[0]
        if base_dir is None or exc.name != top:
            raise
        here = Path(base_dir)
        if not ((here / f"{top}.py").is_file() or (here / top).is_dir()):
            raise ModuleNotFoundError(f"{exc}; not installed, not on PYTHONPATH and not beside the scenario "
                                      f"in {base_dir}", name=exc.name) from None
        if base_dir not in sys.path:
            sys.path.append(base_dir)
        importlib.invalidate_caches()
        return importlib.import_module(mod_name)


def _at_policy(message: str) -> PolicyError:
    return PolicyError(message, [("policy", message)])


def _validated(name: str, model: Any, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` checked by the policy's ``Params`` model: the keys given, with the values it validated."""
    from pydantic import BaseModel, ValidationError

    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return params
    try:
        valid = model.model_validate(params)
    except ValidationError as exc:
        from simsop.scenario import validation_problems

        problems = [(f"params.{p.path}" if p.path else "params", p.message) for p in validation_problems(exc)]
        raise PolicyError("\n".join(f"policy {name!r}: {where}: {msg}" for where, msg in problems),
                          problems) from None
    return {k: getattr(valid, k) for k in valid.model_fields_set}
