"""A factory: a queue of production jobs worked off with finite capacity.

Two kinds of capacity:

* a **rate** (units per day, regular plus overtime): one sweep a day works the queue in order, first come
  first served or, with a planned lead time, earliest due date first; what is made during day d leaves the
  plant at d + 1. Regular time is always worked while there is work. Overtime follows one of two rules:

  - without ``capacity.planned_lead_time`` (the default): overtime whenever the queue holds more than a
    day of regular time, so a weekly order of five days' work is rushed through on overtime the day it
    lands even at 70% utilisation;
  - with ``planned_lead_time`` L days: a job is due to leave the plant L days after it was queued, and a
    day's overtime is only the work that regular time alone (today's and that of the days before each
    job's due date, at today's capacity) would not finish by its due date: the work is levelled over the
    days before it is due and overtime pays only for what would otherwise be late. The shortfall is worked
    as soon as it is seen rather than on the due day, which keeps later overtime free for orders not yet
    received (and a job already late gets overtime at once). Jobs that the S&OP plan pushes are due the day
    the plan schedules them, so a plan whose daily target exceeds regular time still gets its overtime.
    The queue is worked earliest due date first (ties first come first served), as a plant scheduler
    would: a plan job due today goes ahead of a pull order due next week instead of waiting behind it and
    forcing overtime. With work released over time and split freely between days, earliest due date first
    is the order that minimises the maximum lateness (Jackson's rule; Horn's with release dates), and the
    work that must be made by a job's due date is then exactly the work queued ahead of it.
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

    __slots__ = ("dest", "due", "good", "id", "item", "peg", "product", "qty", "queued_at", "remaining", "scrap",
                 "started")

    def __init__(self, jid: int, product: int, qty: float, dest: WarehouseSite, item: int,
                 peg: OrderLine | None, queued_at: float, due: float = math.inf) -> None:
        self.id = jid
        self.product = product
        self.qty = qty
        self.remaining = qty
        self.dest = dest
        self.item = item
        self.peg = peg
        self.queued_at = queued_at
        self.due = due  # time by which it should leave the plant (rate mode with a planned lead time)
        self.started = False
        self.good = 0.0
        self.scrap = 0.0


class FactorySite:
    """One plant. ``regular``/``overtime`` are set in rate mode, ``lines``/``processing`` in lines mode.

    ``planned_lead_time`` (rate mode, days): jobs are due that long after they are queued, the queue is
    kept in earliest-due-date order (ties: first come first served) and overtime only makes the work
    regular time would finish late; None: the queue is first come first served and overtime is worked
    whenever it exceeds a day of regular time. ``queue`` is always in the order the plant works it.
    """

    kind = "factory"

    def __init__(self, world: World, index: int, site: int, name: str, products: list[int],
                 make_to_order: bool, yield_sampler: BlockSampler, regular: float = 0.0,
                 overtime: float = 0.0, lines: int = 0, processing: BlockSampler | None = None,
                 per_unit: bool = True, unit_mean: float = 0.0, overtime_share: float | None = None,
                 planned_lead_time: float | None = None) -> None:
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
        self.planned_lead_time = planned_lead_time
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
                peg: OrderLine | None = None, due: float | None = None) -> None:
        """Queue a job; ``due`` is when it should leave the plant (default: the planned lead time from now)."""
        if peg is not None and peg.open <= EPS:
            # The customer's line was lost, or served from stock, while its order was on its way: nothing to make.
            dest.on_order[item] -= qty
            return
        w = self.world
        jid = w.next_job_id
        w.next_job_id = jid + 1
        now = w.env._now
        if due is None:
            due = math.inf if self.planned_lead_time is None else now + self.planned_lead_time
        job = Job(jid, product, qty, dest, item, peg, now, due)
        queue = self.queue
        if self.planned_lead_time is None or not queue or queue[-1].due <= due:
            queue.append(job)  # FIFO, or EDD with the latest due date: the common case, O(1)
        else:
            # EDD: ahead of the jobs due later (a plan job due today passes pull orders due next week), behind
            # those due no later, so ties stay first come first served. Those due later are few and at the end.
            later = 0
            for other in reversed(queue):
                if other.due <= due:
                    break
                later += 1
            queue.insert(len(queue) - later, job)
        self.queued_units += qty
        if self._idle:
            self._idle.pop().succeed()

    def ready_by(self, t: float, qty: float) -> float:
        """When ``qty`` units queued at ``t`` would leave the plant behind the work queued now, as a quote (an
        estimate: later plan jobs due earlier, overtime, shocks and yield losses move it).

        Rate mode: the queue and the job at regular capacity (at regular plus overtime for a plant without
        regular time), from the day after ``t`` (that day's work may have been done), leaving the day after the
        last day of work. Lines mode: the work's mean time shared by the lines."""
        horizon = float(self.world.horizon)
        work = self.queued_units + qty
        if self.lines:
            per_job = self.unit_mean * (qty if self.per_unit else 1.0)
            total = self.unit_mean * self.queued_units if self.per_unit else self.unit_mean * len(self.queue)
            return t + total / self.lines + per_job
        rate = self.regular * self.capacity_factor
        if rate <= EPS:
            rate = (self.regular + self.overtime) * self.capacity_factor
        if rate <= EPS:  # nothing is being made (an outage): not before the end of the run
            return max(horizon, t)
        days = math.ceil(work / rate - EPS) if work > EPS else 0
        return math.floor(t) + days + 1.0

    def release_pegged(self, line: OrderLine, qty: float) -> float:
        """Take up to ``qty`` units off the jobs for make-to-order ``line`` that have not started (its customer
        gave up, or stock served it): the units taken off. Work under way is finished (its goods go to stock)."""
        left = qty
        for job in [j for j in self.queue if j.peg is line and not j.started]:
            take = job.remaining if job.remaining <= left else left
            job.qty -= take
            job.remaining -= take
            self.queued_units -= take
            left -= take
            if job.remaining <= EPS:
                self.queue.remove(job)
            if left <= EPS:
                break
        if not self.queue:
            self.queued_units = 0.0  # absorb float dust
        return qty - left

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
        if self.planned_lead_time is None or self.queued_units <= regular or overtime <= 0.0:
            budget = min(self.queued_units, regular + overtime)
        else:
            budget = regular + min(overtime, self._late_work(day, regular))
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

    def _late_work(self, day: int, regular: float) -> float:
        """The queued work that regular time would not finish by its due dates, if worked from today on.

        The queue is worked in order, earliest due date first, so job j is done once the work up to it (W_j:
        all the work due no later than j) is made; made on day t it leaves at t + 1, so it is on time if made
        by day last_j = floor(due_j) - 1. Regular time makes today's ``regular`` plus that of days day + 1 ..
        last_j (the plan board's, at today's capacity factor: a plant knows of a shock under way, not when it
        ends), and what it cannot is late unless worked today: max_j (W_j - regular - later regular up to
        last_j), 0 when nothing would be late. (First come first served, a job due early behind work due
        later would count that work as its own.)
        """
        by_day = self.regular_by_day
        factor = self.capacity_factor
        later: dict[int, float] = {}
        cum = 0.0
        short = 0.0
        for job in self.queue:
            cum += job.remaining
            if job.due == math.inf:
                continue
            last = math.floor(job.due + EPS) - 1
            ahead = later.get(last)
            if ahead is None:
                if last <= day:
                    ahead = 0.0
                elif by_day is None:
                    ahead = (last - day) * self.regular * factor
                else:
                    n = len(by_day)
                    ahead = (sum(by_day[day + 1: min(last + 1, n)]) + max(last + 1 - max(n, day + 1), 0)
                             * self.regular) * factor
                later[last] = ahead
            late = cum - regular - ahead
            if late > short:
                short = late
        return short if short > EPS else 0.0

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
