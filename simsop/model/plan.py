"""The plan board: where an S&OP plan plugs into a running world without rebuilding it.

A planning process (or a test) writes production targets by factory x product x day and replaces the
replenishment parameters of warehouse items; the factories and warehouses read them every day. Explicit
replenishment orders (a workshop team's decisions) are scheduled here too (``schedule_orders``).

When the world is built the board also starts what the scenario says was already under way at day 0
(stock items' ``pipeline``: goods in transit and orders on their way to the source) and binds the rules
that read their stock point's state (``Rule.bind``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from simsop.model.orders import EPS
from simsop.model.replenishment import NoRule, Rule, ScheduledRule, make_rule
from simsop.scenario import PolicySpec

if TYPE_CHECKING:
    from simsop.model.warehouse import WarehouseSite
    from simsop.model.world import World


class PlanBoard:
    """Production targets (units per day) and inventory policy parameters currently in force."""

    def __init__(self, world: World) -> None:
        self.world = world
        # (factory, product) -> units a day over the horizon; lists, because the calendar reads one day of
        # each every day and a list item is much cheaper to read than a numpy element.
        self.targets: dict[tuple[int, int], list[float]] = {}
        self.subcontract: dict[tuple[int, int], list[float]] = {}
        # factory -> (product, daily list) of targets and of subcontract, in the tables' order: what planned() reads.
        self._production_rows: dict[int, list[tuple[int, list[float]]]] = {}
        self._subcontract_rows: dict[int, list[tuple[int, list[float]]]] = {}
        self.version = 0
        self._dest_cache: dict[tuple[int, int], list[tuple[WarehouseSite, int, float]]] = {}
        self._dest_version = -1
        self._start_pipelines()
        for wh in world.warehouses:
            for item, rule in enumerate(wh.rules):
                rule.bind(wh, item)

    def _start_pipelines(self) -> None:
        """Put the scenario's day-0 pipelines on their way: goods to their stock point, orders to the source.

        All goods are scheduled before all orders, so on a day when both arrive at a site the goods come
        in first and the order is served from them (the Beer Game's "receive, then ship" within a week).
        """
        from simsop.model.world import RECEIPT  # here: the world module imports this one

        w = self.world
        goods, orders = [], []
        for wh, spec in zip(w.warehouses, w.scenario.warehouses, strict=True):
            for item, it in enumerate(spec.stock):
                if it.pipeline is not None:
                    goods += [(day, wh, item, qty) for day, qty in sorted(it.pipeline.goods.items())]
                    orders += [(day, wh, item, qty) for day, qty in sorted(it.pipeline.orders.items())]
        for day, wh, item, qty in goods:
            src = wh.sources[item]
            assert src is not None  # the scenario checks that a pipeline has a source
            lane = w.scenario.lane(src.name, wh.name)
            transit = lane.lead_time.mean if lane is not None else 0.0
            sid = w.next_ship_id
            w.next_ship_id = sid + 1
            # It left before the run: a departure before day 0 keeps it out of every KPI window's costs.
            w.rec_departed((sid, min(day - transit, -1.0), src.site, wh.index, wh.products[item], qty, float(day)))
            w.units_initial += qty
            w.units_in_transit += qty
            wh.on_order[item] += qty
            if wh.scheduled is not None:
                wh.schedule(item, float(day), sid, qty)
            w.call_at(day, RECEIPT, w._arrive, (sid, wh, item, qty, None, qty))
        for day, wh, item, qty in orders:
            wh.on_order[item] += qty
            w.call_at(day, RECEIPT, w._order_arrives, (wh.sources[item], wh, item, qty, None))

    def schedule_orders(self, warehouse: str, product: str, orders: Mapping[int, float],
                        fallback: PolicySpec | None = None) -> None:
        """Place explicit replenishment orders (day -> units) for one warehouse item, before the run starts.

        Each order is placed at the start of its day, like a periodic review's. On the other review days
        the item's rule decides: ``fallback`` when given (a bot), else the rule in force (the scenario's).
        """
        wh, item = self._stock_point(warehouse, product)
        if wh.sources[item] is None:
            raise ValueError(f"warehouse {warehouse!r} has no source to order {product!r} from")
        bad = {d: q for d, q in orders.items() if d < 0 or not math.isfinite(q) or q < 0}
        if bad:
            raise ValueError(f"scheduled orders need a day >= 0 and units >= 0, got {bad}")
        if fallback is not None:
            base = make_rule(fallback)
            base.bind(wh, item)
        else:
            base = wh.rules[item]
        self._install(wh, item, ScheduledRule(orders, base))

    def set_production(self, factory: str, product: str, start_day: int,
                       daily: Sequence[float] | npt.NDArray[np.float64]) -> None:
        """Replace the planned output of ``product`` at ``factory`` from ``start_day`` on, one value a day.

        Days the plan does not cover keep their earlier targets. Planned production is pushed to the
        warehouses that source the product from the factory (by their share of nominal demand).
        """
        w = self.world
        f = w.factory_index(factory)
        p = w.product_index(product)
        if p not in w.factories[f].products:
            raise ValueError(f"factory {factory!r} does not make {product!r}")
        values = np.asarray(daily, dtype=float)
        if (values < 0).any():
            raise ValueError("planned production must be >= 0")
        arr = self.targets.get((f, p))
        if arr is None:
            arr = self.targets[(f, p)] = [0.0] * w.horizon
            self._production_rows.setdefault(f, []).append((p, arr))
        end = min(start_day + len(values), w.horizon)
        if end > start_day:
            arr[start_day:end] = values[: end - start_day].tolist()
        self.version += 1

    def set_subcontract(self, factory: str, product: str, start_day: int, daily: Sequence[float]) -> None:
        """Units bought from subcontractors each day, delivered like the factory's own output (replacing what
        was bought for those days before, also by nothing)."""
        w = self.world
        f, p = w.factory_index(factory), w.product_index(product)
        values = np.maximum(np.asarray(daily, dtype=float), 0.0)
        arr = self.subcontract.get((f, p))
        if arr is None:
            if not (values > 0).any():
                return  # nothing bought, nothing to replace: no schedule for the calendar to read every day
            arr = self.subcontract[(f, p)] = [0.0] * w.horizon
            self._subcontract_rows.setdefault(f, []).append((p, arr))
        end = min(start_day + len(values), w.horizon)
        if end > start_day:
            arr[start_day:end] = values[: end - start_day].tolist()
        self.version += 1

    def set_capacity(self, factory: str, start_day: int, regular_per_day: Sequence[float]) -> None:
        """Replace a rate factory's regular capacity (units per day) from ``start_day`` on (workforce plans)."""
        w = self.world
        fac = w.factories[w.factory_index(factory)]
        if fac.lines:
            raise ValueError(f"factory {factory!r} has production lines; only a rate capacity can be planned")
        if fac.regular_by_day is None:
            fac.regular_by_day = [fac.regular] * w.horizon
        end = min(start_day + len(regular_per_day), w.horizon)
        for d in range(start_day, end):
            fac.regular_by_day[d] = max(float(regular_per_day[d - start_day]), 0.0)
        self.version += 1

    def set_policy(self, warehouse: str, product: str, spec: PolicySpec) -> None:
        """Replace the replenishment rule of one warehouse item (e.g. a new base-stock level)."""
        self.set_rule(warehouse, product, make_rule(spec))

    def set_rule(self, warehouse: str, product: str, rule: Rule) -> None:
        """Make ``rule`` (bound here to its stock point) the replenishment rule of one warehouse item."""
        wh, item = self._stock_point(warehouse, product)
        rule.bind(wh, item)
        self._install(wh, item, rule)

    def _stock_point(self, warehouse: str, product: str) -> tuple[WarehouseSite, int]:
        w = self.world
        wh = w.warehouses[w.warehouse_index(warehouse)]
        item = wh.item_of.get(w.product_index(product))
        if item is None:
            raise ValueError(f"warehouse {warehouse!r} does not stock {product!r}")
        return wh, item

    def _install(self, wh: WarehouseSite, item: int, rule: Rule) -> None:
        wh.rules[item] = rule
        wh.refresh_review_lists()
        self.version += 1  # what reads the rules again knows they changed

    def planned(self, factory: int, day: int, table: dict[tuple[int, int], list[float]] | None = None
                ) -> list[tuple[int, float]]:
        """(product, units) planned at a factory for one day (production, or ``table``: subcontracting)."""
        # Asked every day for every factory: each factory's rows are kept apart as the tables grow, rather than
        # looked for among every factory's.
        if table is None or table is self.targets:
            rows = self._production_rows.get(factory, [])
        elif table is self.subcontract:
            rows = self._subcontract_rows.get(factory, [])
        else:
            rows = [(p, arr) for (f, p), arr in table.items() if f == factory]
        return [(p, q) for p, arr in rows if (q := arr[day]) > EPS]

    def destinations(self, factory: int, product: int) -> list[tuple[WarehouseSite, int, float]]:
        """Where planned output goes: (warehouse, item, share), shares summing to 1."""
        # Asked for every planned product every day; the answer changes only when the board does.
        if self._dest_version != self.version:
            self._dest_cache.clear()
            self._dest_version = self.version
        key = (factory, product)
        got = self._dest_cache.get(key)
        if got is None:
            got = self._dest_cache[key] = self._destinations(factory, product)
        return got

    def _destinations(self, factory: int, product: int) -> list[tuple[WarehouseSite, int, float]]:
        w = self.world
        fac = w.factories[factory]
        cands = []
        for wh in w.warehouses:
            item = wh.item_of.get(product)
            if item is not None and wh.sources[item] is fac:
                cands.append((wh, item))
        push = [(wh, i) for wh, i in cands if isinstance(wh.rules[i], NoRule)] or cands
        weights = [w.nominal_demand.get((wh.index, i), 0.0) for wh, i in push]
        total = sum(weights)
        if total <= 0:
            return [(wh, i, 1.0 / len(push)) for wh, i in push]
        return [(wh, i, wt / total) for (wh, i), wt in zip(push, weights, strict=True)]
