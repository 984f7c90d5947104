"""A factory: a queue of production jobs worked off with finite capacity.

Two kinds of capacity:

* a **rate** (units per day, regular plus overtime): one sweep a day works the queue first come first
  served; what is made during day d leaves the plant at d + 1. Overtime is used only when the queue is
  longer than regular capacity.
* parallel **lines** with a random processing time: one SimPy process per line takes the next job, holds
  it for its processing time, and ships it.

Jobs come from warehouses' replenishment orders (make-to-stock, pull), from customer orders (make-to-order,
pegged to the customer's line) and from the S&OP plan's production targets (push).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from simsop.dists import BlockSampler
from simsop.model.orders import EPS, OrderLine

if TYPE_CHECKING:
    from simsop.model.warehouse import WarehouseSite
    from simsop.model.world import World


class Job:
    """A production order for one product, destined for one warehouse item."""

    __slots__ = ("dest", "good", "id", "item", "peg", "product", "qty", "queued_at", "remaining", "scrap",
                 "started")

    def __init__(self, jid: int, product: int, qty: float, dest: WarehouseSite, item: int,
                 peg: OrderLine | None, queued_at: float) -> None:
        self.id = jid
        self.product = product
        self.qty = qty
        self.remaining = qty
        self.dest = dest
        self.item = item
        self.peg = peg
        self.queued_at = queued_at
        self.started = False
        self.good = 0.0
        self.scrap = 0.0


class FactorySite:
    """One plant. ``regular``/``overtime`` are set in rate mode, ``lines``/``processing`` in lines mode."""

    kind = "factory"

    def __init__(self, world: World, index: int, site: int, name: str, products: list[int],
                 make_to_order: bool, yield_sampler: BlockSampler, regular: float = 0.0,
                 overtime: float = 0.0, lines: int = 0, processing: BlockSampler | None = None,
                 per_unit: bool = True, unit_mean: float = 0.0, overtime_share: float | None = None) -> None:
        self.world = world
        self.index = index
        self.site = site
        self.name = name
        self.products = products
        self.make_to_order = make_to_order
        self.yield_ = yield_sampler.draw
        self.regular = regular
        self.overtime = overtime
        # Overtime as a share of the staffed regular capacity (hours of overtime per regular hour), once a plan
        # staffs the plant; None: the fixed ``overtime`` a day.
        self.overtime_share = overtime_share
        self.capacity_factor = 1.0  # scales the rate capacity (shocks: 0 is an outage)
        self.regular_by_day: list[float] | None = None  # planned regular capacity (workforce plans)
        self.lines = lines
        self.processing = processing
        self.per_unit = per_unit
        self.unit_mean = unit_mean  # mean processing time of one unit (per_unit)
        self.queue: deque[Job] = deque()
        self.queued_units = 0.0
        self._idle: list[Any] = []  # events of idle lines, waiting for a job

    def add_job(self, product: int, qty: float, dest: WarehouseSite, item: int,
                peg: OrderLine | None = None) -> None:
        w = self.world
        jid = w.next_job_id
        w.next_job_id = jid + 1
        self.queue.append(Job(jid, product, qty, dest, item, peg, w.env.now))
        self.queued_units += qty
        if self._idle:
            self._idle.pop().succeed()

    # ------------------------------------------------------------------ rate mode

    def produce_day(self, day: int) -> None:
        """Work the queue for one day at the rate capacity; the output leaves the plant tomorrow."""
        w = self.world
        if self.regular_by_day is None:
            base, overtime = self.regular, self.overtime
        else:
            base = self.regular_by_day[day]
            overtime = self.overtime if self.overtime_share is None else base * self.overtime_share
        regular = base * self.capacity_factor
        overtime *= self.capacity_factor
        budget = min(self.queued_units, regular + overtime)
        reg_used = min(budget, regular)
        w.rec_factory_days((day, self.index, regular, reg_used, budget - reg_used, budget, base))
        if budget <= EPS:
            return
        self.queued_units -= budget
        queue = self.queue
        done_at = day + 1.0
        while budget > EPS and queue:
            job = queue[0]
            if not job.started:
                job.started = True
                w.rec_prod_started((job.id, float(day), self.index, job.product, job.qty, job.queued_at))
            made = job.remaining if job.remaining <= budget else budget
            budget -= made
            job.remaining -= made
            self._output(job, made, done_at)
            if job.remaining <= EPS:
                queue.popleft()
                self._finish(job, done_at)
        if not queue:
            self.queued_units = 0.0  # absorb float dust

    def _output(self, job: Job, made: float, when: float) -> None:
        y = self.yield_()
        good = made * y if y < 1.0 else made
        scrap = made - good
        job.good += good
        job.scrap += scrap
        w = self.world
        w.units_produced += made
        w.units_scrapped += scrap
        if good > EPS:
            w.ship(self, job.dest, job.item, good, peg=job.peg, ordered=good, depart=when)

    def _finish(self, job: Job, when: float) -> None:
        w = self.world
        w.rec_prod_finished((job.id, when, job.good, job.scrap))
        if job.scrap > EPS:
            # Scrapped units will never arrive: the warehouse stops counting them as on order, and a
            # make-to-order line still short of its quantity is made again.
            job.dest.on_order[job.item] -= job.scrap
            if job.peg is not None and job.peg.open > EPS:
                job.dest.place_order(job.item, min(job.scrap, job.peg.open), peg=job.peg)

    # ------------------------------------------------------------------ lines mode

    def job_time(self, qty: float, draw: float) -> float:
        """The time of a job of ``qty`` units from one draw of a unit's time.

        The sum of ``qty`` independent unit times has mean qty x m and variance qty x v, and so does
        qty x m + sqrt(qty) x (draw - m) (never negative for qty >= 1, as draws are not): it is the sum itself
        for a normal law and a constant, and the sum's mean and variance for any other, which is what a queue's
        mean wait depends on (Pollaczek-Khinchine). Taking qty times the draw instead would give the variance
        of qty^2 units. Part of a unit takes that part of a draw.
        """
        if qty < 1.0:
            return qty * draw
        m = self.unit_mean
        return qty * m + math.sqrt(qty) * (draw - m)

    def line_process(self) -> Generator[Any, Any, None]:
        """One production line: take the oldest job, process it, ship it, repeat."""
        w = self.world
        env = w.env
        queue = self.queue
        assert self.processing is not None
        processing = self.processing.draw
        while True:
            while not queue:
                ev = env.event()
                self._idle.append(ev)
                yield ev
            job = queue.popleft()
            self.queued_units -= job.qty
            job.started = True
            start = env.now
            w.rec_prod_started((job.id, start, self.index, job.product, job.qty, job.queued_at))
            duration = processing()
            q = job.qty
            if self.per_unit and q != 1.0:
                duration = self.job_time(q, duration)
            yield env.timeout(duration)
            job.remaining = 0.0
            self._output(job, job.qty, env.now)
            self._finish(job, env.now)
