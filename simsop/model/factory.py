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

**Bills of materials** (``factories[].bom`` with ``materials``, one level): a unit of a product consumes the given
units of each component, issued from the plant's materials store (a warehouse at the plant) as it is made, scrap
included. A rate plant works its queue in order as usual, but makes of a job only what the components on hand
allow (min over the components of on hand / units per unit); a job held back keeps its place and the day's
capacity left goes to the jobs behind it (those of another product, whose components may be there), as a plant
scheduler would. A line starts the first job in queue order whose components for all of it are on hand, and
otherwise waits until a receipt at the store or a new job. Nothing is drawn at random: the shortage only binds.
Each day's issues are ``materials_issued`` rows; what a rate plant's capacity would have made of a job that day
but its components did not allow is a ``material_short`` row (with the component that bound), and so is a job a
free line passes over (once, its units). The store sees the issues as its demand: a base-stock rule reorders what
was consumed (a kanban loop), so a plant's requirement it could not issue stays in the plant's queue, not in the
store's inventory position. Plants without a bill of materials run exactly as before (the same code path).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from simsop.dists import BlockSampler
from simsop.model.orders import EPS, OrderLine

if TYPE_CHECKING:
    from simsop.model.warehouse import WarehouseSite
    from simsop.model.world import World


class MaterialIssued(NamedTuple):
    """Components a plant took from its materials store: one row a day per component (rate plants) or per job
    (lines)."""

    time: float
    factory: int
    warehouse: int  # the materials store
    product: int  # the component
    qty: float


class MaterialShort(NamedTuple):
    """Units of a product a plant could not make for lack of a component (see the module's docstring)."""

    time: float
    factory: int
    product: int
    qty: float
    component: int  # the component that bound (the scarcest for what was wanted)


MATERIAL_TABLES: dict[str, type[Any]] = {"materials_issued": MaterialIssued, "material_short": MaterialShort}


class Job:
    """A production order for one product, destined for one warehouse item."""

    __slots__ = ("dest", "due", "good", "held", "id", "item", "peg", "product", "qty", "queued_at", "remaining",
                 "scrap", "started")

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
        self.held = False  # a line passed it over for lack of components (recorded once)
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
        self._idle: list[Any] = []  # events of idle lines, waiting for a job (or for components)
        # Bill of materials: the store components are issued from, and per product (index) its components as
        # (the store's item, units per unit); None: the plant needs no materials.
        self.store: WarehouseSite | None = None
        self.bom: dict[int, list[tuple[int, float]]] = {}

    def set_bom(self, store: WarehouseSite, bom: dict[int, list[tuple[int, float]]]) -> None:
        """Make the plant consume components from ``store``: ``bom`` maps a product to (store item, units per unit)."""
        self.store = store
        self.bom = bom
        if self.lines:
            store.material_users.append(self)

    def materials_arrived(self) -> None:
        """Components reached the store: idle lines look again at the jobs they could not start."""
        idle = self._idle
        while idle:
            idle.pop().succeed()

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
        if self.store is not None:
            self._produce_with_materials(day, regular, base, budget)
            return
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

    def _produce_with_materials(self, day: int, regular: float, base: float, budget: float) -> None:
        """``produce_day``'s work of the queue for a plant with a bill of materials: each job in order gets what
        the day's capacity left and its components on hand allow; what capacity would have made of it but the
        components did not is recorded short, and the capacity goes on to the jobs behind it. The factory day
        records the capacity used, so a shortage shows as idle time, not as overtime worked."""
        w = self.world
        store = self.store
        assert store is not None
        on_hand = store.on_hand
        bom = self.bom
        left = budget
        done_at = day + 1.0
        now = float(day)
        issued: dict[int, float] = {}
        short: dict[int, list[float]] = {}  # product -> [units, binding component's item]
        finished: list[Job] = []
        for job in self.queue:
            if left <= EPS:
                break
            want = job.remaining if job.remaining <= left else left
            made = want
            parts = bom.get(job.product, ())
            bind = -1
            for item, per in parts:
                can = on_hand[item] / per
                if can < made:
                    made, bind = can, item
            if bind >= 0:
                row = short.setdefault(job.product, [0.0, float(bind)])
                row[0] += want - made
            if made <= EPS:
                continue
            if not job.started:
                job.started = True
                w.rec_prod_started((job.id, now, self.index, job.product, job.qty, job.queued_at))
            self._issue(parts, made, issued)
            left -= made
            job.remaining -= made
            self._output(job, made, done_at)
            if job.remaining <= EPS:
                finished.append(job)
        used = budget - left
        reg_used = min(used, regular)
        w.rec_factory_days((day, self.index, regular, reg_used, used - reg_used, used, base))
        self.queued_units -= used
        if finished:
            gone = set(map(id, finished))
            keep = [j for j in self.queue if id(j) not in gone]  # in place: the queue object is shared
            self.queue.clear()
            self.queue.extend(keep)
            for job in finished:
                self._finish(job, done_at)
        if not self.queue:
            self.queued_units = 0.0  # absorb float dust
        self._record_materials(now, issued, short)

    def _issue(self, parts: Sequence[tuple[int, float]], units: float, issued: dict[int, float]) -> None:
        """Take the components of ``units`` of a product (``parts``: store item, units per unit) off the store's
        stock, adding them to ``issued`` (by item)."""
        assert self.store is not None
        on_hand = self.store.on_hand
        for item, per in parts:
            q = units * per
            stock = on_hand[item]
            on_hand[item] = stock - q if q < stock else 0.0  # the binding component is used up exactly
            issued[item] = issued.get(item, 0.0) + (q if q < stock else stock)

    def _record_materials(self, when: float, issued: dict[int, float], short: dict[int, list[float]]) -> None:
        """Record components issued and production held back, and let continuous-review components reorder."""
        w = self.world
        store = self.store
        assert store is not None
        for item, q in issued.items():
            w.units_consumed += q
            w.rec_issued((when, self.index, store.index, store.products[item], q))
            if store.rules[item].review_period == 0:
                store.review(item)  # the consumption is the store's demand, as a customer's order would be
        for product, (units, bind) in short.items():
            if units > EPS:
                w.rec_short((when, self.index, product, units, store.products[int(bind)]))

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
        """One production line: take the oldest job (with a bill of materials: the oldest whose components are on
        hand), process it, ship it, repeat."""
        w = self.world
        env = w.env
        queue = self.queue
        assert self.processing is not None
        processing = self.processing.draw
        kitted = self.store is not None
        while True:
            if kitted:
                job_or_none = self._take_kitted()
                while job_or_none is None:
                    ev = env.event()
                    self._idle.append(ev)
                    yield ev
                    job_or_none = self._take_kitted()
                job = job_or_none
            else:
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

    def _take_kitted(self) -> Job | None:
        """The first job in queue order whose components for all of it are on hand, off the queue with its
        components issued; None when there is none. A job passed over is recorded short once."""
        store = self.store
        assert store is not None
        on_hand = store.on_hand
        now = self.world.env._now
        short: dict[int, list[float]] = {}
        for k, job in enumerate(self.queue):
            parts = self.bom.get(job.product, ())
            bind, worst = -1, 1.0
            for item, per in parts:
                cover = on_hand[item] / (job.qty * per)
                if cover < 1.0 - 1e-12 and cover < worst:
                    bind, worst = item, cover
            if bind >= 0:
                if not job.held:
                    job.held = True
                    row = short.setdefault(job.product, [0.0, float(bind)])
                    row[0] += job.qty
                continue
            del self.queue[k]
            issued: dict[int, float] = {}
            self._issue(parts, job.qty, issued)
            self._record_materials(now, issued, short)
            return job
        self._record_materials(now, {}, short)
        return None
