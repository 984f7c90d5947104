"""Typed, append-only event records of one replication, turned into columns when the run ends.

Processes append plain tuples, which each table keeps as one flat list of fields (the cheapest thing Python
can do); ``Records.freeze`` turns every table into numpy columns once. ``Table.rows()`` gives the typed
records back (named tuples), for tests and for people. KPIs are computed from these records only
(``simsop.kpi``), never accumulated inside processes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

import numpy as np


class OrderPlaced(NamedTuple):
    """A customer order. Once the records freeze, the orders table also has a ``requested`` column (the date the
    customer asked for: ``due`` unless the order was promised later, see ``OrderPromised``); the typed rows keep
    the fields recorded while running."""

    order_id: int
    time: float
    customer: int
    warehouse: int
    due: float  # the promised date: the order is on time when every line ships complete by then
    n_lines: int


class OrderPromised(NamedTuple):
    """An available-to-promise quote: an order of a ``promise: available`` customer that could not ship at once."""

    order_id: int
    requested: float  # the date the customer asked for
    due: float  # the date promised: the later of the requested date and the date below covers the order
    basis: str  # what covers it: 'stock' (on hand, net of the backlog ahead), 'receipt' (a shipment on its way),
    # 'plant' (a make-to-order item: the plant's queue), 'reorder' (beyond the known supply: the next reorder
    # plus its lead time), 'plan' (an item an S&OP plan supplies: its production and purchases bound here)


class LinePlaced(NamedTuple):
    line_id: int
    order_id: int
    product: int
    qty: float


class LineShipped(NamedTuple):
    line_id: int
    time: float
    qty: float


class LineLost(NamedTuple):
    line_id: int
    time: float
    qty: float


class OrderClosed(NamedTuple):
    order_id: int
    time: float
    complete: bool  # True: delivered in full; False: some quantity was lost


class ReplenishmentOrdered(NamedTuple):
    ro_id: int
    time: float
    warehouse: int
    product: int
    qty: float
    source: int  # site index


class ProductionStarted(NamedTuple):
    job_id: int
    time: float
    factory: int
    product: int
    qty: float
    queued_at: float


class ProductionFinished(NamedTuple):
    job_id: int
    time: float
    good: float
    scrap: float


class ShipmentDeparted(NamedTuple):
    ship_id: int
    time: float
    source: int  # site index
    warehouse: int
    product: int
    qty: float
    arrival: float


class ShipmentArrived(NamedTuple):
    ship_id: int
    time: float


class FactoryDay(NamedTuple):
    day: int
    factory: int
    regular_capacity: float
    regular_used: float
    overtime_used: float
    busy_time: float  # line-days busy (lines mode) or capacity-days used (rate mode)
    staffed_capacity: float  # regular capacity as staffed (the plan's), before capacity shocks scale it


class PlannedProduction(NamedTuple):
    day: int
    factory: int
    product: int
    qty: float


class Subcontracted(NamedTuple):
    day: int
    factory: int
    product: int
    qty: float


class PlanLine(NamedTuple):
    """One product x bucket of the plan agreed at one S&OP cycle (a plan version)."""

    cycle: int
    made: float  # day of the executive meeting
    effective: float  # day the plan takes effect
    product: int
    bucket: int  # absolute bucket index
    bucket_start: int
    bucket_days: int
    demand_plan: float
    production: float  # nan for buckets before the plan takes effect
    workforce: float  # regular capacity per day of the product's factory (nan: unchanged)
    subcontract: float
    inventory_target: float


class PlanNote(NamedTuple):
    """What the policy said of the plan it proposed at one S&OP cycle: its cost by family, where shipping or the
    inventory budget limits it, a replayed file's name ("; "-separated)."""

    cycle: int
    made: float  # day of the executive meeting
    note: str


class ForecastLine(NamedTuple):
    """A forecast snapshot: what each step of the demand review said at one cycle for one bucket."""

    cycle: int
    product: int
    bucket: int
    lag: int  # buckets between the cut-off bucket and the forecast bucket
    naive: float
    statistical: float
    sales: float
    consensus: float


class BucketSales(NamedTuple):
    """Booked customer orders (units, net of cancellations) of one product in one finished bucket."""

    bucket: int
    product: int
    units: float


class Expired(NamedTuple):
    """Units of a perishable product that a warehouse wrote off because their shelf life ended."""

    day: int  # at the close of this day (units that arrive already expired: the day they arrive)
    warehouse: int
    product: int
    qty: float


class ShockApplied(NamedTuple):
    """A shock that happened in this replication (simsop.shocks), for KPIs and for shading charts."""

    name: str
    type: str
    start: float  # first day of the shock
    end: float  # first day after it (a recovery ramp, dip or rebound may follow)
    effect_end: float  # first day without any effect of it (the horizon or later for a lasting change)


RECORD_TYPES: dict[str, type[Any]] = {
    "orders": OrderPlaced,
    "promises": OrderPromised,
    "lines": LinePlaced,
    "shipped": LineShipped,
    "lost": LineLost,
    "closed": OrderClosed,
    "replenishments": ReplenishmentOrdered,
    "production_started": ProductionStarted,
    "production_finished": ProductionFinished,
    "departed": ShipmentDeparted,
    "arrived": ShipmentArrived,
    "factory_days": FactoryDay,
    "planned_production": PlannedProduction,
    "subcontracted": Subcontracted,
    "plan": PlanLine,
    "plan_notes": PlanNote,
    "forecasts": ForecastLine,
    "bucket_sales": BucketSales,
    "shocks": ShockApplied,
    "expired": Expired,
}

SNAPSHOT_FIELDS = ("on_hand", "backlog", "internal_backlog", "on_order", "lost")


def _kind(annotation: Any) -> str:
    """'int', 'float', 'bool' or 'str' from a field annotation (a type, a string or a ForwardRef)."""
    return str(getattr(annotation, "__forward_arg__", getattr(annotation, "__name__", annotation)))


def _refuse_append(name: str, row: tuple[Any, ...]) -> None:
    raise RuntimeError(f"records table {name!r} is frozen (append-only during the run)")


class Table:
    """One record type: rows appended while running, numpy columns after ``freeze``.

    While running, ``append(row)`` extends one flat list with the row's fields: cheaper than keeping a
    tuple per row (the tuple is freed at once and reused), and one flat float conversion makes the columns.
    """

    __slots__ = ("_columns", "_flat", "_width", "append", "name", "row_type")

    def __init__(self, name: str, row_type: type[Any]) -> None:
        self.name = name
        self.row_type = row_type
        self._width = len(row_type._fields)
        self._flat: list[Any] = []
        self.append: Callable[[tuple[Any, ...]], None] = self._flat.extend
        self._columns: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._flat) // self._width if self._columns is None else len(next(iter(self._columns.values())))

    def live_column(self, j: int) -> list[Any]:
        """Field ``j`` of every row appended so far (before ``freeze``), as a list."""
        if self._columns is not None:
            return self._columns[self.row_type._fields[j]].tolist()
        return self._flat[j::self._width]

    def _check_width(self) -> None:
        if len(self._flat) % self._width:
            raise RuntimeError(f"records table {self.name!r}: a row was appended without its "
                               f"{self._width} fields {self.row_type._fields}")

    def freeze(self) -> None:
        self._check_width()
        fields = self.row_type._fields
        kinds = [_kind(self.row_type.__annotations__.get(f, "float")) for f in fields]
        k = self._width
        flat = self._flat
        if flat and "str" in kinds:
            self._columns = {f: np.asarray(flat[j::k]) for j, f in enumerate(fields)}
        elif flat:
            # One flat float conversion is several times faster than a column-by-column one (and fromiter with
            # its count a tenth faster than np.array, which sizes the list first); integer and boolean columns
            # (exact in a double) get their declared type back.
            block = np.fromiter(flat, dtype=float, count=len(flat)).reshape(-1, k)
            self._columns = {}
            for j, (f, kind) in enumerate(zip(fields, kinds, strict=True)):
                col = block[:, j]
                if kind == "bool":
                    col = col.astype(bool)
                elif kind == "int":
                    col = col.astype(np.int64)
                self._columns[f] = col
        else:
            self._columns = {f: np.empty(0) for f in fields}
        # Empty the flat list in place: an ``append`` bound to it elsewhere (a process's local shortcut) must
        # not keep every row alive. The refusing append is a partial, not a bound method, so a frozen table
        # is not a reference cycle and is freed as soon as nothing uses it.
        flat.clear()
        self.append = partial(_refuse_append, self.name)

    def add_column(self, name: str, values: np.ndarray) -> None:
        """A column derived once the table is frozen (not a field of its typed rows)."""
        if self._columns is None:
            raise RuntimeError("freeze the records before deriving columns")
        self._columns[name] = values

    def __getitem__(self, column: str) -> np.ndarray:
        if self._columns is None:
            raise RuntimeError("freeze the records before reading columns")
        return self._columns[column]

    def columns(self) -> dict[str, np.ndarray]:
        if self._columns is None:
            raise RuntimeError("freeze the records before reading columns")
        return self._columns

    def raw_rows(self) -> list[tuple[Any, ...]]:
        """The rows as plain tuples, in the order they were appended (before or after ``freeze``)."""
        if self._columns is None:
            self._check_width()
            it = iter(self._flat)
            return list(zip(*([it] * self._width), strict=True))
        cols = [self._columns[f].tolist() for f in self.row_type._fields]
        return list(zip(*cols, strict=True))

    def rows(self) -> list[Any]:
        """The records as typed named tuples, in the order they were appended."""
        return [self.row_type(*r) for r in self.raw_rows()]


@dataclass
class Snapshots:
    """End-of-day state of every stock-keeping unit (warehouse x product): arrays of days x skus."""

    on_hand: np.ndarray
    backlog: np.ndarray
    internal_backlog: np.ndarray
    on_order: np.ndarray
    lost: np.ndarray

    @classmethod
    def empty(cls, days: int, skus: int) -> Snapshots:
        return cls(*(np.zeros((days, skus)) for _ in SNAPSHOT_FIELDS))


@dataclass
class Meta:
    """Names behind the integer indices used in the records."""

    products: list[str]
    customers: list[str]
    warehouses: list[str]
    factories: list[str]
    sites: list[str]
    sku_warehouse: np.ndarray  # warehouse index of each sku
    sku_product: np.ndarray  # product index of each sku
    sku_review_period: np.ndarray  # review period in days of each sku's policy (1 when continuous)
    sku_review_offset: np.ndarray  # first review day of each sku's policy
    sku_has_demand: np.ndarray  # whether customers order from the sku (bool)
    horizon: int
    warmup: int
    # Whether an S&OP plan pushes to the sku once one is in force (a make-to-stock factory replenishes it with a
    # reordering rule, which the plan replaces), and whether a factory makes each product.
    sku_plan_fed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # Mean days from a sku's replenishment order to the goods at its warehouse (order delay, supplier, transit).
    sku_lead_time: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Mean yield of each factory: planned production is what a plant starts, the good units it expects are
    # that times its yield (an S&OP plan in good units is grossed up by it).
    factory_yield: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sku_continuous: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # continuous review
    # Whether a sku reorders by a rule, and whether an S&OP plan can push production to it (a make-to-stock
    # plant supplies it): its replenishment cycles, for the cycle service level.
    sku_replenished: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    sku_pushable: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    product_made: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


@dataclass
class Records:
    """Everything that happened in one replication."""

    meta: Meta
    snapshots: Snapshots
    tables: dict[str, Table] = field(default_factory=lambda: {k: Table(k, t) for k, t in RECORD_TYPES.items()})

    def __getattr__(self, name: str) -> Table:
        tables = self.__dict__.get("tables")
        if tables is not None and name in tables:
            return tables[name]
        raise AttributeError(name)

    def freeze(self) -> None:
        for t in self.tables.values():
            t.freeze()
        self._derive_requested()

    def _derive_requested(self) -> None:
        """The orders' requested dates: the promised date (``due``) unless an available-to-promise quote said
        otherwise. Records store them only for the quoted orders, which keeps the path of an order that ships at
        once as it was."""
        orders = self.tables.get("orders")
        if orders is None:
            return
        due = orders["due"]
        requested = np.array(due, dtype=float)
        promises = self.tables.get("promises")
        if promises is not None and len(promises):
            ids = orders["order_id"].astype(int, copy=False)
            p_ids = promises["order_id"].astype(int, copy=False)
            # Order ids are the orders' rows in a run; hand-made records may number them otherwise.
            rows = p_ids if len(ids) and ids[-1] == len(ids) - 1 else np.searchsorted(ids, p_ids)
            requested[rows] = promises["requested"].astype(float, copy=False)
        orders.add_column("requested", requested)

    def to_frames(self) -> dict[str, Any]:
        """Every table as a pandas DataFrame with names instead of indices (imports pandas)."""
        import pandas as pd

        m = self.meta
        names = {"customer": m.customers, "warehouse": m.warehouses, "product": m.products,
                 "factory": m.factories, "source": m.sites}
        out: dict[str, Any] = {}
        for key, t in self.tables.items():
            if t._columns is not None:  # with the derived columns (the orders' requested date)
                df = pd.DataFrame(t.columns())
            else:
                df = pd.DataFrame(t.raw_rows(), columns=list(t.row_type._fields))
            for col, labels in names.items():
                if col in df.columns and len(df):
                    df[col] = np.asarray(labels, dtype=object)[df[col].to_numpy(dtype=int)]
            out[key] = df
        days = np.arange(self.snapshots.on_hand.shape[0])
        skus = self.snapshots.on_hand.shape[1]
        snap = {"day": np.repeat(days, skus),
                "warehouse": np.tile(np.asarray(m.warehouses, dtype=object)[m.sku_warehouse], len(days)),
                "product": np.tile(np.asarray(m.products, dtype=object)[m.sku_product], len(days))}
        for f in SNAPSHOT_FIELDS:
            snap[f] = getattr(self.snapshots, f).ravel()
        out["stock"] = pd.DataFrame(snap)
        return out
