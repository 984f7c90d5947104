"""The SimPy world of one replication: built from a Scenario and its random streams, run, checked.

Time is in days. Within a day, events that fall on the same instant run in a fixed order, so results
never depend on the order in which events happened to be scheduled:

1. ``SNAPSHOT`` (at t = d): the end-of-day state of day d-1 is recorded;
2. ``RECEIPT``: shipments due at t = d are received and the backlog served;
3. ``DAILY``: periodic reviews place replenishment orders, daily customer orders arrive, and
   rate-capacity factories work their queue for the day.

Orders placed with ``orders_per_day`` arrive at random times inside the day, one event each (see
``simsop.model.arrivals``). Shipments and arrivals are callback events, not processes: only real waits (the
calendar, production lines, the S&OP cycle) are processes. The run stops at the horizon before any event due
then.

Perishable products (``shelf_life``): a unit's life starts when it leaves its plant or supplier (the shipment's
departure, or the moment it is ready when it waits for a capacity-limited lane; initial stock starts new on day 0,
and goods of a day-0 pipeline at their arrival) and moving between warehouses keeps its age. A unit that left at time
t expires at ``ceil(t + shelf_life)``: it can be sold until the close of the day its life ends in, and it is written
off at that close (the ``SNAPSHOT`` instant, before the snapshot), e.g. stock there at day 0 with a shelf life of 5
sells on days 0-4 and what is left is written off at the close of day 4. Goods whose life ended in transit are
written off on the day they arrive.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Generator
from heapq import heappush
from typing import Any

import numpy as np
import simpy
from simpy.events import Event

from simsop.demand import draw_demand
from simsop.dists import BlockSampler, Uniform, fraction_mean
from simsop.model.arrivals import ArrivalStream
from simsop.model.factory import MATERIAL_TABLES, FactorySite
from simsop.model.lane import LaneRun, split_lots
from simsop.model.orders import EPS, OrderLine
from simsop.model.plan import PlanBoard
from simsop.model.records import SNAPSHOT_FIELDS, Meta, Records, Snapshots, Table
from simsop.model.replenishment import NoRule, make_rule
from simsop.model.supplier import SupplierSite
from simsop.model.warehouse import WarehouseSite
from simsop.scenario import Scenario
from simsop.streams import Streams

SNAPSHOT, RECEIPT, DAILY = 1, 2, 3

Site = WarehouseSite | FactorySite | SupplierSite
Recorder = Callable[[tuple[Any, ...]], None]


class InvariantError(RuntimeError):
    """Units or orders were not conserved: a bug in the model, never a property of the scenario."""


class World:
    """Everything simulated in one replication."""

    # Shortcuts to the record tables' append (see _bind_recorders).
    rec_orders: Recorder
    rec_promises: Recorder
    rec_lines: Recorder
    rec_shipped: Recorder
    rec_lost: Recorder
    rec_closed: Recorder
    rec_replenishment: Recorder
    rec_prod_started: Recorder
    rec_prod_finished: Recorder
    rec_departed: Recorder
    rec_arrived: Recorder
    rec_factory_days: Recorder
    rec_planned: Recorder
    rec_subcontracted: Recorder
    rec_expired: Recorder
    rec_issued: Recorder  # bills of materials only (the tables exist only then)
    rec_short: Recorder

    def __init__(self, scenario: Scenario, streams: Streams) -> None:
        self.scenario = scenario
        self.streams = streams
        self.horizon = scenario.horizon
        self.env = simpy.Environment()
        self.next_order_id = 0
        self.next_line_id = 0
        self.next_job_id = 0
        self.next_ship_id = 0
        self.next_ro_id = 0
        self.seq = 0
        self.orders_open = 0
        self.inline_events = 0
        self.units_initial = 0.0
        self.units_produced = 0.0
        self.units_scrapped = 0.0
        self.units_expired = 0.0
        self.units_supplied = 0.0
        self.units_consumed = 0.0  # components plants took from their materials stores
        self.units_to_customers = 0.0
        self.units_in_transit = 0.0
        self._product_ix = {p.id: i for i, p in enumerate(scenario.products)}
        self.shelf_life: list[float | None] = [p.shelf_life for p in scenario.products]
        # Booked customer orders per product, net of cancellations: what the company's order book shows.
        self.booked = [0.0] * len(scenario.products)
        # The last day whose planned production and purchases have been queued and bought (run_day).
        self.plan_pushed_through = -1
        self._build_sites()
        self._track_promised_items()
        # Good units per unit made, on average, by factory: what plans gross up for and attainment expects.
        self.mean_yield = np.array([fraction_mean(f.yield_) for f in scenario.factories])
        self.records = self._make_records()
        self._snap_days: list[int] = []
        self._snap_rows: tuple[list[list[float]], ...] = tuple([] for _ in SNAPSHOT_FIELDS)
        self._bind_recorders()
        self.plan = PlanBoard(self)
        self._build_demand()
        self._finished = False
        # Called with the end day when the run ends, before the records freeze (a planning cycle closes the
        # books of a bucket that ends with the run).
        self.on_finish: list[Callable[[int], None]] = []

    # ------------------------------------------------------------------ building

    _RECORDERS = (("rec_orders", "orders"), ("rec_promises", "promises"), ("rec_lines", "lines"),
                  ("rec_shipped", "shipped"), ("rec_lost", "lost"), ("rec_closed", "closed"),
                  ("rec_replenishment", "replenishments"), ("rec_prod_started", "production_started"),
                  ("rec_prod_finished", "production_finished"), ("rec_departed", "departed"),
                  ("rec_arrived", "arrived"), ("rec_factory_days", "factory_days"),
                  ("rec_planned", "planned_production"), ("rec_subcontracted", "subcontracted"),
                  ("rec_expired", "expired"))

    def _bind_recorders(self) -> None:
        """Point the ``rec_*`` shortcuts at the tables' current ``append`` (the row lists while running).

        Called again after the records freeze: a shortcut left bound to a row list would keep every row
        alive for as long as the world lives (it sits in reference cycles, so only the cyclic collector
        would free it), and would let a frozen table grow.
        """
        t = self.records.tables
        for attr, table in self._RECORDERS:
            setattr(self, attr, t[table].append)
        if "materials_issued" in t:
            self.rec_issued = t["materials_issued"].append
            self.rec_short = t["material_short"].append

    def _sampler(self, spec: Any, name: str) -> BlockSampler:
        return BlockSampler(spec, self.streams.rng(name))

    def _build_sites(self) -> None:
        sc = self.scenario
        names = [w.id for w in sc.warehouses] + [f.id for f in sc.factories] + [s.id for s in sc.suppliers]
        self.site_names = names
        self.warehouses: list[WarehouseSite] = []
        skus_p: list[int] = []
        skus_w: list[int] = []
        skus_r: list[int] = []
        skus_o: list[int] = []
        for wi, w in enumerate(sc.warehouses):
            products = [self._product_ix[it.product] for it in w.stock]
            skus = list(range(len(skus_p), len(skus_p) + len(products)))
            skus_p += products
            skus_w += [wi] * len(products)
            rules = [make_rule(it.policy) for it in w.stock]
            skus_r += [max(r.review_period, 1) for r in rules]
            skus_o += [r.review_offset if r.review_period > 0 else 0 for r in rules]
            site = WarehouseSite(self, wi, wi, w.id, w.allocation, w.capacity, products, skus,
                                 [it.initial for it in w.stock], rules)
            self.units_initial += sum(it.initial for it in w.stock)
            for i, p in enumerate(products):
                if self.shelf_life[p] is not None:
                    site.set_shelf_life(i, self.expires_at(0.0, p))
            self.warehouses.append(site)
        self.sku_product = np.asarray(skus_p, dtype=int)
        self.sku_warehouse = np.asarray(skus_w, dtype=int)
        self.sku_review = np.asarray(skus_r, dtype=int)
        self.sku_offset = np.asarray(skus_o, dtype=int)
        base = len(sc.warehouses)
        self.factories: list[FactorySite] = []
        # Overtime that is hours per worker (planning.workforce) grows and shrinks with the staff a plan sets.
        overtime_share = {w.factory: w.overtime_hours_fraction for w in sc.planning.workforce
                          if w.overtime_hours_fraction > 0}
        for fi, f in enumerate(sc.factories):
            ys = self._sampler(f.yield_, f"factory:{f.id}:yield")
            prods = [self._product_ix[p] for p in f.products]
            mto = f.mode == "make_to_order"
            if f.capacity is not None:
                fs = FactorySite(self, fi, base + fi, f.id, prods, mto, ys, regular=f.capacity.regular,
                                 overtime=f.capacity.overtime, overtime_share=overtime_share.get(f.id),
                                 planned_lead_time=f.capacity.planned_lead_time)
            else:
                assert f.lines is not None and f.processing_time is not None
                fs = FactorySite(self, fi, base + fi, f.id, prods, mto, ys, lines=f.lines,
                                 processing=self._sampler(f.processing_time, f"factory:{f.id}:processing"),
                                 per_unit=f.processing_per == "unit", unit_mean=f.processing_time.mean)
            self.factories.append(fs)
        self._build_boms()
        base += len(sc.factories)
        self.suppliers: list[SupplierSite] = []
        for si, s in enumerate(sc.suppliers):
            self.suppliers.append(SupplierSite(
                self, si, base + si, s.id, self._sampler(s.lead_time, f"supplier:{s.id}:lead_time"),
                s.capacity, s.reliability,
                self._sampler(Uniform(dist="uniform", low=0.0, high=1.0), f"supplier:{s.id}:reliability"),
                self._sampler(s.delay, f"supplier:{s.id}:delay"), in_order=s.deliveries == "in_order"))
        self.sites: list[Site] = [*self.warehouses, *self.factories, *self.suppliers]
        by_name = {s.name: s for s in self.sites}
        for site, spec in zip(self.warehouses, sc.warehouses, strict=True):
            for i, it in enumerate(spec.stock):
                if it.source is not None:
                    src = by_name[it.source]
                    site.sources[i] = src
                    site.make_to_order[i] = isinstance(src, FactorySite) and src.make_to_order
        self.lanes: dict[tuple[int, int], LaneRun] = {}
        for ln in sc.lanes:
            a, b = by_name[ln.from_].site, by_name[ln.to].site
            self.lanes[(a, b)] = LaneRun(self._sampler(ln.lead_time, f"lane:{ln.from_}->{ln.to}:lead_time"),
                                         ln.cost_per_unit, ln.order_delay, ln.capacity)
        self.nominal_demand = self._nominal_demand()

    def _build_boms(self) -> None:
        """Plants with a bill of materials take their components from their materials store's items."""
        stores = {w.name: w for w in self.warehouses}
        for fs, f in zip(self.factories, self.scenario.factories, strict=True):
            if f.bom is None or f.materials is None:
                continue
            store = stores[f.materials]
            fs.set_bom(store, {self._product_ix[p]: [(store.item_of[self._product_ix[c]], per)
                                                     for c, per in parts.items()]
                               for p, parts in f.bom.items()})

    def _track_promised_items(self) -> None:
        """Customers quoted available-to-promise (``promise: available``): the warehouse items they buy keep the
        receipts scheduled to them (before the day-0 pipelines leave); no other item pays for the bookkeeping."""
        self.customer_atp = [c.promise == "available" for c in self.scenario.customers]
        wix = {w.name: w for w in self.warehouses}
        for c, atp in zip(self.scenario.customers, self.customer_atp, strict=True):
            if atp:
                wh = wix[c.warehouse]
                for d in c.demand:
                    wh.track_receipts(wh.item_of[self._product_ix[d.product]])

    def _nominal_demand(self) -> dict[tuple[int, int], float]:
        """Mean units a day each warehouse item must supply (its customers plus the warehouses it feeds)."""
        direct: dict[tuple[int, int], float] = {}
        wix = {w.name: w.index for w in self.warehouses}
        for c in self.scenario.customers:
            wh = self.warehouses[wix[c.warehouse]]
            for d in c.demand:
                key = (wh.index, wh.item_of[self._product_ix[d.product]])
                direct[key] = direct.get(key, 0.0) + d.mean_per_day

        def total(wi: int, item: int, depth: int = 0) -> float:
            x = direct.get((wi, item), 0.0)
            if depth > len(self.warehouses):
                return x
            src = self.warehouses[wi]
            p = src.products[item]
            for w in self.warehouses:
                j = w.item_of.get(p)
                if j is not None and w.sources[j] is src:
                    x += total(w.index, j, depth + 1)
            return x

        return {(w.index, i): total(w.index, i) for w in self.warehouses for i in range(len(w.products))}

    def _make_records(self) -> Records:
        sc = self.scenario
        meta = Meta(products=[p.id for p in sc.products], customers=[c.id for c in sc.customers],
                    warehouses=[w.id for w in sc.warehouses], factories=[f.id for f in sc.factories],
                    sites=self.site_names, sku_warehouse=self.sku_warehouse, sku_product=self.sku_product,
                    sku_review_period=self.sku_review, sku_review_offset=self.sku_offset,
                    sku_has_demand=self._sku_has_demand(), horizon=sc.horizon, warmup=sc.warmup,
                    sku_plan_fed=self._sku_plan_fed(),
                    sku_replenished=np.array([not isinstance(r, NoRule) for w in self.warehouses for r in w.rules],
                                             dtype=bool),
                    sku_pushable=np.array([self._pushable(w, i) for w in self.warehouses
                                           for i in range(len(w.products))], dtype=bool),
                    sku_lead_time=np.array([self.replenishment_lead_time(w, i) for w in self.warehouses
                                            for i in range(len(w.products))]),
                    product_made=np.isin(np.arange(len(sc.products)), [p for f in self.factories for p in f.products]),
                    factory_yield=self.mean_yield,
                    sku_continuous=np.array([r.continuous for w in self.warehouses for r in w.rules], dtype=bool))
        records = Records(meta, Snapshots.empty(sc.horizon, len(self.sku_product)))
        if any(f.store is not None for f in self.factories):
            # Only with a bill of materials: the records of every other company stay as they were.
            for name, row_type in MATERIAL_TABLES.items():
                records.tables[name] = Table(name, row_type)
        return records

    def replenishment_lead_time(self, wh: WarehouseSite, item: int) -> float:
        """Mean days from a warehouse's reorder to the goods on its shelf: order delay, supplier (its lead time
        and, for the share of orders it ships late, their mean delay), transit. A factory's or another
        warehouse's own time to make or find the goods, and a capacity-limited supplier's queue, are not
        known in advance, nor is the wait for a capacity-limited lane."""
        src = wh.sources[item]
        if src is None:
            return 0.0
        sc = self.scenario
        days = next((s.lead_time.mean + (1.0 - s.reliability) * s.delay.mean for s in sc.suppliers
                     if s.id == src.name), 0.0)
        lane = sc.lane(src.name, wh.name)
        if lane is not None:
            days += lane.lead_time.mean + lane.order_delay
        return float(days)

    def lane_capacities(self, factory: int) -> dict[int, float | None]:
        """Units a day each lane out of plant ``factory`` can dispatch, by the index of the warehouse it feeds, for
        every warehouse stocking something from the plant (None: no lane, or a lane without capacity)."""
        fac = self.factories[factory]
        out: dict[int, float | None] = {}
        for wh in self.warehouses:
            if any(src is fac for src in wh.sources):
                lane = self.lanes.get((fac.site, wh.site))
                out[wh.index] = None if lane is None else lane.capacity
        return out

    def shipping_capacity(self, factory: int) -> float | None:
        """Units a day plant ``factory`` can ship over its capacity-limited lanes when its output is split among
        the warehouses it supplies as the S&OP plan splits it (PlanBoard.destinations: by their mean demand,
        nominal_demand): min over those lanes of capacity x D / D_w, where D_w is the mean demand the lane to
        warehouse w carries and D the plant's. None when no lane out of the plant is capacity-limited (or none
        carries any demand): shipping then never limits what the plant can push out."""
        caps = self.lane_capacities(factory)
        if all(c is None for c in caps.values()):
            return None
        fac = self.factories[factory]
        flow = {wi: sum(self.nominal_demand.get((wi, i), 0.0) for i, src in enumerate(self.warehouses[wi].sources)
                        if src is fac) for wi in caps}
        total = sum(flow.values())
        if total <= 0:  # no demand to weigh by: the plan splits evenly (as destinations does)
            flow = {wi: float(sum(src is fac for src in self.warehouses[wi].sources)) for wi in caps}
            total = sum(flow.values())
        limits = [c * total / flow[wi] for wi, c in caps.items() if c is not None and flow[wi] > 0]
        return min(limits) if limits else None

    def plan_fed(self, wh: WarehouseSite, item: int) -> bool:
        """Whether an S&OP plan replenishes this item once it is in force: a make-to-stock factory supplies it
        and it reorders, which the plan's push replaces (PlanningCycle's switch to push)."""
        return self._pushable(wh, item) and not isinstance(wh.rules[item], NoRule)

    def _pushable(self, wh: WarehouseSite, item: int) -> bool:
        """Whether an S&OP plan can push production to an item: a make-to-stock plant supplies it."""
        src = wh.sources[item]
        return isinstance(src, FactorySite) and not src.make_to_order

    def _sku_plan_fed(self) -> np.ndarray:
        """The skus an S&OP plan replenishes once it is in force."""
        fed = np.zeros(len(self.sku_product), dtype=bool)
        for w in self.warehouses:
            for i in range(len(w.sources)):
                fed[w.skus[i]] = self.plan_fed(w, i)
        return fed

    def _sku_has_demand(self) -> np.ndarray:
        has = np.zeros(len(self.sku_product), dtype=bool)
        wix = {w.name: w for w in self.warehouses}
        for c in self.scenario.customers:
            wh = wix[c.warehouse]
            for d in c.demand:
                if d.mean_per_day > 0:  # a stream of zero (daily: 0) orders nothing
                    has[wh.skus[wh.item_of[self._product_ix[d.product]]]] = True
        return has

    def _build_demand(self) -> None:
        """Draw all customer orders up front, one stream per (customer, product)."""
        from simsop.shocks import realise, stream_multipliers  # here: simsop.shocks imports the world lazily

        sc = self.scenario
        H = sc.horizon
        # Shocks are realised once per replication from their own streams; start() installs the others.
        self.shocks_realised = realise(sc.shocks, self.streams, H)
        shock = stream_multipliers(sc, self.shocks_realised)
        wix = {w.name: w.index for w in self.warehouses}
        self.daily_orders: list[list[tuple[WarehouseSite, int, list[tuple[int, float]]]]] = [[] for _ in range(H)]
        self.customer_terms: list[tuple[float, float, int]] = []
        stream_parts: dict[int, list[tuple[np.ndarray, np.ndarray, int, int]]] = {}
        for ci, c in enumerate(sc.customers):
            self.customer_terms.append((c.requested_lead_time, c.patience_days, c.priority))
            wh = self.warehouses[wix[c.warehouse]]
            per_day: dict[int, list[tuple[int, float]]] = {}
            for d in c.demand:
                item = wh.item_of[self._product_ix[d.product]]
                draws = draw_demand(d, H, self.streams.rng(f"demand:{c.id}:{d.product}"),
                                    shock=shock.get((c.id, d.product)))
                if draws.per_day:
                    for day, q in zip(draws.times.astype(int).tolist(), draws.qty.tolist(), strict=True):
                        per_day.setdefault(day, []).append((item, q))
                else:
                    stream_parts.setdefault(wh.index, []).append((draws.times, draws.qty, ci, item))
            for day, lines in per_day.items():
                self.daily_orders[day].append((wh, ci, lines))
        self.arrivals: list[tuple[WarehouseSite, list[float], list[int], list[int], list[float]]] = []
        for wi, parts in sorted(stream_parts.items()):
            times = np.concatenate([p[0] for p in parts])
            qty = np.concatenate([p[1] for p in parts])
            cust = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
            items = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
            order = np.argsort(times, kind="stable")
            self.arrivals.append((self.warehouses[wi], times[order].tolist(), cust[order].tolist(),
                                  items[order].tolist(), qty[order].tolist()))

    # ------------------------------------------------------------------ lookups

    def product_index(self, pid: str) -> int:
        try:
            return self._product_ix[pid]
        except KeyError:
            raise ValueError(f"unknown product {pid!r}") from None

    def factory_index(self, fid: str) -> int:
        for f in self.factories:
            if f.name == fid:
                return f.index
        raise ValueError(f"unknown factory {fid!r}")

    def warehouse_index(self, wid: str) -> int:
        for w in self.warehouses:
            if w.name == wid:
                return w.index
        raise ValueError(f"unknown warehouse {wid!r}")

    # ------------------------------------------------------------------ scheduling helpers

    def call_at(self, delay: float, priority: int, fn: Callable[[Event], None], value: Any) -> None:
        """Run ``fn(event)`` after ``delay`` at the given same-instant priority; ``event._value`` is ``value``."""
        env = self.env
        ev = Event.__new__(Event)  # what Event(env) and env.schedule do, without their two calls (hot path)
        ev.env = env
        ev.callbacks = [fn]
        ev._ok = True
        ev._value = value
        heappush(env._queue, (env._now + delay, priority, next(env._eid), ev))  # type: ignore[misc]

    def tick(self, delay: float, priority: int) -> Event:
        ev = Event(self.env)
        ev._ok = True
        ev._value = None
        self.env.schedule(ev, priority, delay)  # type: ignore[arg-type]
        return ev

    # ------------------------------------------------------------------ goods and orders between sites

    def order_from(self, source: Site, dest: WarehouseSite, item: int, qty: float, peg: OrderLine | None) -> None:
        """A warehouse orders from its source; the order reaches it after the lane's information delay."""
        product = dest.products[item]
        rid = self.next_ro_id
        self.next_ro_id = rid + 1
        self.rec_replenishment((rid, self.env._now, dest.index, product, qty, source.site))
        lane = self.lanes.get((source.site, dest.site))
        if lane is not None and lane.order_delay > 0:
            self.call_at(lane.order_delay, RECEIPT, self._order_arrives, (source, dest, item, qty, peg))
        else:
            self._deliver_order(source, dest, item, qty, peg)

    def _order_arrives(self, ev: Event) -> None:
        self._deliver_order(*ev._value)

    def _deliver_order(self, source: Site, dest: WarehouseSite, item: int, qty: float, peg: OrderLine | None) -> None:
        # Most replenishment orders go from one warehouse to another: that case first.
        if isinstance(source, WarehouseSite):
            source.internal_order(dest, item, dest.products[item], qty)
        elif isinstance(source, FactorySite):
            source.add_job(dest.products[item], qty, dest, item, peg)
        else:
            source.accept(dest, item, qty, peg)

    def expires_at(self, t: float, product: int) -> float:
        """When a unit of a perishable product that left its source at ``t`` is written off: the close of the day
        its life ends in (an instant that is a whole day)."""
        shelf = self.shelf_life[product]
        assert shelf is not None
        return float(math.ceil(t + shelf - 1e-9))

    def ship(self, src: Site, dest: WarehouseSite, item: int, qty: float, peg: OrderLine | None = None,
             ordered: float | None = None, depart: float | None = None,
             lots: list[tuple[float, float]] | None = None, not_before: float = 0.0) -> float:
        """Send goods from a site to a warehouse over their lane (if any); they arrive after the transit, and
        no earlier than ``not_before`` (a supplier delivering in order). Returns the arrival time.

        ``lots``: the age of perishable goods leaving a warehouse ((expires at, units), oldest first); goods of a
        perishable product from a plant or supplier start their life at ``depart``.
        """
        now = self.env._now
        if depart is None:
            depart = now
        lane = self.lanes.get((src.site, dest.site))
        if lane is None:
            transit = 0.0
        elif lane.capacity is not None:
            return self._ship_booked(lane, src, dest, item, qty, peg, qty if ordered is None else ordered, depart,
                                     lots, not_before)
        else:
            transit = lane.lead_time() if lane.shocked is None else lane.shocked_transit(depart)
        arrival = depart + transit
        if arrival < not_before:
            arrival = not_before
        sid = self.next_ship_id
        self.next_ship_id = sid + 1
        product = dest.products[item]
        self.rec_departed((sid, depart, src.site, dest.index, product, qty, arrival))
        self.units_in_transit += qty
        if dest.scheduled is not None and peg is None:
            dest.schedule(item, arrival, sid, qty)
        if self.shelf_life[product] is None:
            self.call_at(arrival - now, RECEIPT, self._arrive,
                         (sid, dest, item, qty, peg, qty if ordered is None else ordered))
            return arrival
        if lots is None:
            lots = [(self.expires_at(depart, product), qty)]
        self.call_at(arrival - now, RECEIPT, self._arrive_lots,
                     (sid, dest, item, qty, peg, qty if ordered is None else ordered, lots))
        return arrival

    def _ship_booked(self, lane: LaneRun, src: Site, dest: WarehouseSite, item: int, qty: float,
                     peg: OrderLine | None, ordered: float, ready: float, lots: list[tuple[float, float]] | None,
                     not_before: float) -> float:
        """``ship`` over a capacity-limited lane: the goods, ready to leave at ``ready``, go in the parts the lane
        books them in (``LaneRun.book``), each a shipment of its own that departs when the lane takes it and
        settles its share of ``ordered``. Waiting goods are in transit (the company's, on their way) and keep
        ageing: a perishable unit's life started when it was ready. Returns the last part's arrival."""
        now = self.env._now
        product = dest.products[item]
        perishable = self.shelf_life[product] is not None
        if perishable and lots is None:
            lots = [(self.expires_at(ready, product), qty)]
        self.units_in_transit += qty
        parts = lane.book(ready, qty)
        last = len(parts) - 1
        latest = not_before
        for k, (depart, units) in enumerate(parts):
            # The transit in force on the day this part leaves.
            arrival = depart + (lane.lead_time() if lane.shocked is None else lane.shocked_transit(depart))
            if arrival < not_before:
                arrival = not_before
            if arrival > latest:
                latest = arrival
            settles = ordered
            part_lots = lots
            if k < last:  # the earlier parts settle their share; the last what is left, so the shares add up
                settles = ordered * units / qty
                ordered -= settles
                qty -= units
                if lots is not None:
                    part_lots, lots = split_lots(lots, units)
            sid = self.next_ship_id
            self.next_ship_id = sid + 1
            self.rec_departed((sid, depart, src.site, dest.index, product, units, arrival))
            if dest.scheduled is not None and peg is None:
                dest.schedule(item, arrival, sid, units)
            if not perishable:
                self.call_at(arrival - now, RECEIPT, self._arrive, (sid, dest, item, units, peg, settles))
            else:
                self.call_at(arrival - now, RECEIPT, self._arrive_lots,
                             (sid, dest, item, units, peg, settles, part_lots))
        return latest

    def _arrive(self, ev: Event) -> None:
        sid, dest, item, qty, peg, ordered = ev._value
        now = self.env._now
        self.rec_arrived((sid, now))
        self.units_in_transit -= qty
        if dest.scheduled is not None and peg is None:
            dest.unschedule(item, sid)
        if dest.lots[item] is None:
            dest.receive(item, qty, peg, ordered)
        else:  # perishable goods of a day-0 pipeline: their life starts as they arrive
            dest.receive(item, qty, peg, ordered, [(self.expires_at(now, dest.products[item]), qty)])

    def _arrive_lots(self, ev: Event) -> None:
        """Perishable goods arrive: what expired on the way is written off, the rest received with its age."""
        sid, dest, item, qty, peg, ordered, lots = ev._value
        now = self.env._now
        self.rec_arrived((sid, now))
        self.units_in_transit -= qty
        if dest.scheduled is not None and peg is None:
            dest.unschedule(item, sid)
        dead = sum(q for exp, q in lots if exp <= now + EPS)
        if dead > 0:
            lots = [(exp, q) for exp, q in lots if exp > now + EPS]
            dead = min(dead, qty)
            qty -= dead
            self.units_expired += dead
            self.rec_expired((int(now), dest.index, dest.products[item], dead))
        dest.receive(item, qty, peg, ordered, lots)

    # ------------------------------------------------------------------ processes

    def calendar(self) -> Generator[Event, Any, None]:
        """The daily rhythm: reviews, daily orders and production each day; a stock snapshot each night."""
        day = 0
        while True:
            yield self.tick(0, DAILY)
            self.run_day(day)
            yield self.tick(1, SNAPSHOT)
            self.snapshot(day)
            day += 1

    def run_day(self, day: int) -> None:
        for wh in self.warehouses:
            if wh.periodic_items:
                wh.review_due(day)
        terms = self.customer_terms
        now = float(day)
        for wh, ci, lines in self.daily_orders[day]:
            lead, patience, prio = terms[ci]
            wh.new_order(ci, lines, now + lead, patience, prio)
        plan = self.plan
        for f in self.factories:
            if plan.targets:
                for product, qty in plan.planned(f.index, day):
                    self.rec_planned((day, f.index, product, qty))
                    for wh, item, share in plan.destinations(f.index, product):
                        wh.on_order[item] += qty * share
                        f.add_job(product, qty * share, wh, item, due=day + 1.0)  # the plan's day
            if plan.subcontract:
                for product, qty in plan.planned(f.index, day, plan.subcontract):
                    self.rec_subcontracted((day, f.index, product, qty))
                    self.units_supplied += qty
                    for wh, item, share in plan.destinations(f.index, product):
                        wh.on_order[item] += qty * share
                        self.ship(f, wh, item, qty * share)
            if f.lines == 0:
                f.produce_day(day)
        self.plan_pushed_through = day  # an order quoted from the plan now counts its production from tomorrow

    def snapshot(self, day: int) -> None:
        """Take the end-of-day state of ``day`` (kept as rows; ``finish`` writes them into the snapshots)."""
        now = self.env._now
        on_hand: list[float] = []
        backlog: list[float] = []
        internal: list[float] = []
        on_order: list[float] = []
        lost: list[float] = []
        for wh in self.warehouses:
            wh.expire_all(now)
            if wh.perishable:
                for item, q in wh.outdate(now):
                    self.units_expired += q
                    self.rec_expired((day, wh.index, wh.products[item], q))
            on_hand += wh.on_hand
            backlog += wh.bo_ext
            internal += wh.bo_int
            on_order += wh.on_order
            lost += wh.lost_today
            wh.lost_today = [0.0] * len(wh.products)
        self._snap_days.append(day)
        for rows, values in zip(self._snap_rows, (on_hand, backlog, internal, on_order, lost), strict=True):
            rows.append(values)

    def _write_snapshots(self) -> None:
        snap = self.records.snapshots
        days = self._snap_days
        if days:
            for f, rows in zip(SNAPSHOT_FIELDS, self._snap_rows, strict=True):
                getattr(snap, f)[days] = rows
        self._snap_days = []
        self._snap_rows = tuple([] for _ in SNAPSHOT_FIELDS)

    def start(self, extra: tuple[Callable[[World], Generator[Any, Any, Any]], ...] = ()) -> None:
        env = self.env
        env.process(self.calendar())
        for f in self.factories:
            for _ in range(f.lines):
                env.process(f.line_process())
        for wh, times, custs, items, qtys in self.arrivals:
            ArrivalStream(self, wh, times, custs, items, qtys).start()
        for wh in self.warehouses:
            for i, r in enumerate(wh.rules):
                if r.review_period == 0:
                    wh.review(i)
        for make in extra:
            env.process(make(self))
        from simsop.shocks import install

        install(self, self.shocks_realised)

    def run(self, extra: tuple[Callable[[World], Generator[Any, Any, Any]], ...] = ()) -> Records:
        """Run to the horizon, take the last snapshot, check conservation, and freeze the records."""
        if self._finished:
            raise RuntimeError("a world runs once; build a new one for another replication")
        self.start(extra)
        # The run allocates hundreds of thousands of record tuples and no reference cycles worth collecting
        # mid-run; the cyclic collector would walk them over and over (about a tenth of the run time).
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            self.env.run(until=self.horizon)
        finally:
            if gc_was_on:
                gc.enable()
        return self.finish(self.horizon)

    def finish(self, end: int) -> Records:
        """After running to ``end``: take the last day's snapshot, check conservation, freeze the records."""
        for hook in self.on_finish:
            hook(end)
        self.snapshot(end - 1)  # the calendar's snapshot of the last day would fall at ``end``, not run
        self._write_snapshots()
        self.check_invariants()
        self.records.freeze()
        self._bind_recorders()
        self._finished = True
        return self.records

    def release(self) -> None:
        """Drop what a finished run holds (records, drawn demand, pending events), keeping the counters.

        A world is a web of reference cycles (sites and processes point back at it), which only Python's
        cyclic collector frees, and only now and then: without this, every finished replication would keep
        its records in memory for a while and an experiment's memory would grow with its replications.
        The records themselves live on for whoever took them from ``run``.
        """
        self.records = Records(self.records.meta, Snapshots.empty(0, 0))
        self.daily_orders = []
        self.arrivals = []
        self.env._queue.clear()

    def events_processed(self) -> int:
        """Discrete events simulated so far: SimPy events processed (scheduled minus still pending) plus
        customer arrivals handled inline because nothing else was due before them."""
        env = self.env
        scheduled = next(env._eid)
        return scheduled - len(env._queue) - 1 + self.inline_events

    # ------------------------------------------------------------------ invariants

    def check_invariants(self) -> None:
        """Units and orders are conserved; raise InvariantError with the numbers otherwise."""
        on_hand = sum(sum(w.on_hand) for w in self.warehouses)
        inflow = self.units_initial + self.units_produced + self.units_supplied
        outflow = (self.units_to_customers + on_hand + self.units_in_transit + self.units_scrapped
                   + self.units_expired + self.units_consumed)
        tol = 1e-6 * max(1.0, inflow)
        if abs(inflow - outflow) > tol:
            raise InvariantError(
                f"units not conserved: start stock {self.units_initial:.6g} + produced {self.units_produced:.6g}"
                f" + received from suppliers {self.units_supplied:.6g} = {inflow:.6g}, but shipped "
                f"{self.units_to_customers:.6g} + on hand {on_hand:.6g} + in transit "
                f"{self.units_in_transit:.6g} + scrapped {self.units_scrapped:.6g} + expired "
                f"{self.units_expired:.6g} + consumed as components {self.units_consumed:.6g} = {outflow:.6g}")
        t = self.records.tables
        placed = len(t["orders"])
        complete = t["closed"].live_column(2)
        delivered = sum(1 for c in complete if c)
        lost = len(complete) - delivered
        open_ids: set[int] = set()
        open_units = 0.0
        for w in self.warehouses:
            for lines in (*w.backlog, *w.pegged):
                for ln in lines:
                    if ln.order is not None and ln.open > EPS:
                        open_ids.add(ln.order.id)
                        open_units += ln.open
        if placed != delivered + lost + len(open_ids):
            raise InvariantError(f"orders not conserved: placed {placed} != delivered {delivered} + lost "
                                 f"{lost} + open {len(open_ids)}")
        ordered_units = sum(t["lines"].live_column(3))
        shipped_units = sum(t["shipped"].live_column(2))
        lost_units = sum(t["lost"].live_column(2))
        if abs(ordered_units - shipped_units - lost_units - open_units) > 1e-6 * max(1.0, ordered_units):
            raise InvariantError(f"order lines not conserved: ordered {ordered_units:.6g} units != shipped "
                                 f"{shipped_units:.6g} + lost {lost_units:.6g} + open {open_units:.6g}")
