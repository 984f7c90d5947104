"""A warehouse: stock per product, allocation of scarce stock to orders, shipping, backlog, replenishment.

State is kept in plain Python lists indexed by the warehouse's item (product) number, because scalar list
access is several times cheaper than numpy scalar access in a per-event hot path.

Order promising (a customer with ``promise: available``): an order that cannot ship at once is promised the later
of its requested date and the date the warehouse's known supply covers it (available-to-promise, ``quote``). The
known supply is the stock on hand and the receipts scheduled to the item (shipments on their way, kept in arrival
order by ``schedule``/``unschedule`` only for the items such customers buy), net of the backlog ahead of the
order. Under first come first served that is exactly when its last unit is served, as long as the shipments
arrive when they are due: nothing that comes later is served before it.

Perishable items (a product with a ``shelf_life``) also keep their stock as lots, oldest first: (the end of
the day the lot expires at, units). Issuing stays what it is for every item (``on_hand`` goes down) and the lots
are reconciled lazily: the units issued since the last look are the lots' total minus ``on_hand``, and they come
off the oldest lots (FIFO). Issues only ever take from the front, so looking once a day is exact, as long as the
warehouse looks before a receipt (which may bring units older than some in stock) and before an internal
transfer (whose units carry their age to the next warehouse). At the day's close, before the snapshot, lots whose
life has ended leave stock and are recorded as ``expired``. Items without a shelf life never touch the lots.
"""

from __future__ import annotations

import math
from bisect import insort
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from simsop.model.factory import FactorySite
from simsop.model.orders import EPS, OrderLine, SalesOrder
from simsop.model.replenishment import NoRule, Rule

if TYPE_CHECKING:
    from simsop.model.world import Site, World

INF = float("inf")


class WarehouseSite:
    """One stocking point. Items are the products it holds; ``sku`` maps an item to its snapshot column."""

    kind = "warehouse"

    def __init__(self, world: World, index: int, site: int, name: str, allocation: str,
                 capacity: float | None, products: list[int], skus: list[int], initial: list[float],
                 rules: list[Rule]) -> None:
        self.world = world
        self.index = index
        self.site = site
        self.name = name
        self.allocation = allocation
        self.capacity = capacity
        self.products = products
        self.skus = skus
        self.item_of = {p: i for i, p in enumerate(products)}
        n = len(products)
        self.on_hand = list(initial)
        self.on_order = [0.0] * n
        self.bo_ext = [0.0] * n
        self.bo_int = [0.0] * n
        self.lost_today = [0.0] * n
        self.backlog: list[list[OrderLine]] = [[] for _ in range(n)]
        self.pegged: list[list[OrderLine]] = [[] for _ in range(n)]  # make-to-order lines awaiting their job
        self.next_deadline = [INF] * n
        self.rules = rules
        self.sources: list[Site | None] = [None] * n
        self.make_to_order = [False] * n
        self.periodic_items: list[int] = []
        # Perishable items only: lots [expires at, units] oldest first, and the units the lots held at the last
        # reconciliation (their total then equalled on_hand).
        self.lots: list[deque[list[float]] | None] = [None] * n
        self.lot_total = [0.0] * n
        self.perishable: list[int] = []
        # Receipts on their way, (arrival, ship id, units) in arrival order, of the items customers quoted
        # available-to-promise buy (None: nobody here is, and ``ship`` does no bookkeeping for this warehouse).
        self.scheduled: list[list[tuple[float, int, float]] | None] | None = None
        # Line plants that take components from here (a materials store): told of every receipt.
        self.material_users: list[FactorySite] = []
        self.refresh_review_lists()

    def refresh_review_lists(self) -> None:
        """Recompute which items are reviewed periodically (after a plan changes a rule)."""
        self.periodic_items = [i for i, r in enumerate(self.rules) if r.review_period > 0]

    # ------------------------------------------------------------------ demand

    def new_order(self, customer: int, lines: list[tuple[int, float]], due: float, patience: float,
                  priority: int) -> None:
        """A customer order arrives now: record it, allocate stock to each line, reorder if continuous."""
        if len(lines) == 1:
            item, qty = lines[0]
            self.new_line_order(customer, item, qty, due, patience, priority)
        elif self._fits(lines):
            self._ship_at_once(customer, lines, due)
        else:
            self._book(customer, lines, due, patience, priority)

    def new_line_order(self, customer: int, item: int, qty: float, due: float, patience: float,
                       priority: int) -> None:
        """A one-line customer order arrives now (most orders): ``new_order`` without building its lines."""
        on_hand = self.on_hand
        if qty > on_hand[item] or self.backlog[item] or self.make_to_order[item]:
            self._book(customer, [(item, qty)], due, patience, priority)
            return
        # _ship_at_once for one line, written out: this is the path of most customer orders, and the loop,
        # the lines tuple and the call cost about a fifth of it. Same records, in the same order.
        w = self.world
        now = w.env._now
        oid = w.next_order_id
        w.next_order_id = oid + 1
        w.rec_orders((oid, now, customer, self.index, due, 1))
        lid = w.next_line_id
        w.next_line_id = lid + 1
        p = self.products[item]
        w.rec_lines((lid, oid, p, qty))
        w.booked[p] += qty
        w.seq += 1
        on_hand[item] -= qty
        w.rec_shipped((lid, now, qty))
        w.units_to_customers += qty
        if self.rules[item].review_period == 0:
            self.review(item)
        w.rec_closed((oid, now, True))

    def _ship_at_once(self, customer: int, lines: Sequence[tuple[int, float]], due: float) -> None:
        """Fast path, same records as _book: every line ships in full now, so no order or line objects are
        needed (most orders of a well-stocked warehouse)."""
        w = self.world
        now = w.env._now
        oid = w.next_order_id
        w.next_order_id = oid + 1
        w.rec_orders((oid, now, customer, self.index, due, len(lines)))
        on_hand, products, rules = self.on_hand, self.products, self.rules
        for item, qty in lines:
            lid = w.next_line_id
            w.next_line_id = lid + 1
            p = products[item]
            w.rec_lines((lid, oid, p, qty))
            w.booked[p] += qty
            w.seq += 1
            on_hand[item] -= qty
            w.rec_shipped((lid, now, qty))
            w.units_to_customers += qty
            if rules[item].review_period == 0:
                self.review(item)
        w.rec_closed((oid, now, True))

    def _book(self, customer: int, lines: list[tuple[int, float]], due: float, patience: float,
              priority: int) -> None:
        """The general case of a new order: order and line objects, allocation, backlog or make-to-order."""
        w = self.world
        now = w.env._now
        oid = w.next_order_id
        w.next_order_id = oid + 1
        if w.customer_atp[customer]:
            requested = due
            due, basis = self.quote(lines, requested, priority, now)
            w.rec_promises((oid, requested, due, basis))
        order = SalesOrder(oid, customer, now, due, len(lines))
        w.rec_orders((oid, now, customer, self.index, due, len(lines)))
        w.orders_open += 1
        deadline = due + patience
        on_hand, backlog, products = self.on_hand, self.backlog, self.products
        for item, qty in lines:
            lid = w.next_line_id
            w.next_line_id = lid + 1
            p = products[item]
            w.rec_lines((lid, oid, p, qty))
            w.booked[p] += qty
            w.seq += 1
            stock = on_hand[item]
            if self.make_to_order[item]:
                line = OrderLine(lid, order, item, qty, deadline, priority, w.seq)
                if stock > EPS:
                    # Stock of a make-to-order item (made for a customer who gave up, or there at the start) is
                    # sold before anything is made: nobody waits for it (waiting lines get it when it arrives).
                    q = qty if qty <= stock else stock
                    on_hand[item] = stock - q
                    self._ship(line, q)
                if line.open > EPS:
                    self.bo_ext[item] += line.open
                    self.pegged[item].append(line)
                    if deadline < self.next_deadline[item]:
                        self.next_deadline[item] = deadline
                    self.place_order(item, line.open, peg=line)
            elif stock > EPS and qty <= stock and not backlog[item]:
                # What _allocate_new does with a line that ships in full at once, without making its line
                # object (most lines of a daily order that does not fit as a whole).
                on_hand[item] = stock - qty
                w.rec_shipped((lid, now, qty))
                w.units_to_customers += qty
                self._line_done(order)
            else:
                self._allocate_new(OrderLine(lid, order, item, qty, deadline, priority, w.seq), now)
            rule = self.rules[item]
            if rule.review_period == 0:
                self.review(item)

    def _fits(self, lines: list[tuple[int, float]]) -> bool:
        """Whether every line can ship in full right now from stock, with nobody waiting before it."""
        on_hand, backlog, mto = self.on_hand, self.backlog, self.make_to_order
        need: dict[int, float] = {}
        for item, qty in lines:
            need[item] = need.get(item, 0.0) + qty
            if mto[item] or backlog[item] or on_hand[item] < need[item]:
                return False
        return True

    def internal_order(self, dest: WarehouseSite, dest_item: int, product: int, qty: float) -> None:
        """A downstream warehouse's replenishment order arrives: treat it as a line that never expires."""
        w = self.world
        item = self.item_of[product]
        w.seq += 1
        if not self.backlog[item] and self.on_hand[item] >= qty:
            self.on_hand[item] -= qty
            w.ship(self, dest, dest_item, qty, lots=None if self.lots[item] is None else self.issue_lots(item, qty))
            if self.rules[item].review_period == 0:
                self.review(item)
            return
        line = OrderLine(-1, None, item, qty, INF, 0, w.seq, (dest, dest_item))
        self._allocate_new(line, w.env._now)
        if self.rules[item].review_period == 0:
            self.review(item)

    def _allocate_new(self, line: OrderLine, now: float) -> None:
        item = line.item
        backlog = self.backlog[item]
        if backlog and self.next_deadline[item] < now:
            self._expire(item, now)
        on_hand = self.on_hand[item]
        if on_hand > EPS and not backlog:
            q = line.open if line.open <= on_hand else on_hand
            self.on_hand[item] = on_hand - q
            self._ship(line, q)
        if line.open > EPS:
            if line.deadline <= now:
                self._lose(line, now)
                return
            if line.order is None:
                self.bo_int[item] += line.open
            else:
                self.bo_ext[item] += line.open
            if self.allocation == "priority":
                insort(backlog, line, key=OrderLine.sort_key)
            else:
                backlog.append(line)
            if line.deadline < self.next_deadline[item]:
                self.next_deadline[item] = line.deadline
            if self.on_hand[item] > EPS:
                self._allocate(item)

    # ------------------------------------------------------------------ shipping and losing

    def _ship(self, line: OrderLine, q: float) -> None:
        line.open -= q
        w = self.world
        if line.order is None:
            dest, dest_item = line.dest
            item = line.item
            w.ship(self, dest, dest_item, q, lots=None if self.lots[item] is None else self.issue_lots(item, q))
            return
        w.rec_shipped((line.id, w.env._now, q))
        w.units_to_customers += q
        if line.open <= EPS:
            line.open = 0.0
            self._line_done(line.order)

    def _lose(self, line: OrderLine, when: float) -> None:
        w = self.world
        q = line.open
        line.open = 0.0
        w.rec_lost((line.id, when, q))
        w.booked[self.products[line.item]] -= q
        self.lost_today[line.item] += q
        order = line.order
        assert order is not None
        order.lost_any = True
        self._line_done(order, when)

    def _line_done(self, order: SalesOrder, when: float | None = None) -> None:
        """A line is finished (``when``: the time it was, if not now); the order closes with its last line."""
        w = self.world
        t = w.env._now if when is None else when
        if t > order.done_at:
            order.done_at = t
        order.open_lines -= 1
        if order.open_lines == 0:
            w.orders_open -= 1
            w.rec_closed((order.id, order.done_at, not order.lost_any))

    def _expire(self, item: int, now: float) -> None:
        """Cancel what customers stopped waiting for (lines past due + patience), at their deadline."""
        nxt = INF
        pegged = self.pegged[item]
        for lines in (self.backlog[item], pegged):
            keep = []
            for line in lines:
                if line.deadline < now:
                    if line.open > EPS:
                        self.bo_ext[item] -= line.open
                        if lines is pegged:
                            self._release(item, line, line.open)
                        self._lose(line, line.deadline)
                else:
                    keep.append(line)
                    if line.deadline < nxt:
                        nxt = line.deadline
            lines[:] = keep
        self.next_deadline[item] = nxt

    def expire_all(self, now: float) -> None:
        for i, d in enumerate(self.next_deadline):
            if d < now:
                self._expire(i, now)

    # ------------------------------------------------------------------ allocation

    def _allocate(self, item: int) -> None:
        """Give on-hand stock to waiting lines by the warehouse's rule."""
        backlog = self.backlog[item]
        on_hand = self.on_hand[item]
        if self.allocation == "fair_share":
            total = self.bo_ext[item] + self.bo_int[item]
            share = 1.0 if on_hand >= total - EPS else on_hand / total
            left = on_hand
            for line in backlog:
                q = line.open * share
                left -= q
                self.on_hand[item] = left  # stock after this issue: what an internal line's lots are taken from
                self._take_from_backlog(line, q)
            self.on_hand[item] = max(on_hand - total * share, 0.0)
            backlog[:] = [ln for ln in backlog if ln.open > EPS]
            return
        k = 0
        n = len(backlog)
        while k < n and on_hand > EPS:
            line = backlog[k]
            q = line.open if line.open <= on_hand else on_hand
            on_hand -= q
            self.on_hand[item] = on_hand  # stock after this issue: what an internal line's lots are taken from
            self._take_from_backlog(line, q)
            if line.open <= EPS:
                k += 1
        self.on_hand[item] = on_hand
        if k:
            del backlog[:k]

    def _take_from_backlog(self, line: OrderLine, q: float) -> None:
        if line.order is None:
            self.bo_int[line.item] -= q
        else:
            self.bo_ext[line.item] -= q
        self._ship(line, q)

    # ------------------------------------------------------------------ receiving and reordering

    def receive(self, item: int, qty: float, peg: OrderLine | None, ordered: float,
                lots: list[tuple[float, float]] | None = None) -> None:
        """Goods arrive: fill the pegged line, put the rest on hand, serve the backlog.

        ``ordered`` is how much of this warehouse's on-order quantity the shipment settles; ``lots`` the
        shipment's (expires at, units), oldest first, for a perishable item (None otherwise).
        """
        self.on_order[item] -= ordered
        now = self.world.env._now
        if self.next_deadline[item] < now:
            self._expire(item, now)
        if peg is not None and peg.open > EPS:
            q = peg.open if peg.open <= qty else qty
            self.bo_ext[item] -= q
            self._ship(peg, q)
            qty -= q
            if peg.open <= EPS:
                self.pegged[item].remove(peg)
            if lots is not None:  # the customer's own job: its oldest units go to it, the rest to stock
                rest = deque([exp, units] for exp, units in lots)
                _take(rest, q)
                lots = [(exp, units) for exp, units in rest]
        if lots is not None:
            self._stock_lots(item, lots)
        self.on_hand[item] += qty
        if self.backlog[item]:
            self._allocate(item)
        if self.pegged[item] and self.on_hand[item] > EPS:
            self._serve_pegged(item)
        if self.material_users:
            for plant in self.material_users:
                plant.materials_arrived()

    def _serve_pegged(self, item: int) -> None:
        """Stock of a make-to-order item (goods whose customer gave up) goes to the lines waiting for their own
        jobs, oldest first (by priority under priority allocation), and what it covers is taken off their jobs
        not yet started, as a planner re-pegs supply to demand."""
        pegged = self.pegged[item]
        waiting = sorted(pegged, key=OrderLine.sort_key) if self.allocation == "priority" else list(pegged)
        on_hand = self.on_hand[item]
        for line in waiting:
            if on_hand <= EPS:
                break
            q = line.open if line.open <= on_hand else on_hand
            if q <= EPS:
                continue
            on_hand -= q
            self.bo_ext[item] -= q
            self._ship(line, q)
            self._release(item, line, q)
        self.on_hand[item] = on_hand
        pegged[:] = [ln for ln in pegged if ln.open > EPS]

    def _release(self, item: int, line: OrderLine, qty: float) -> None:
        """A make-to-order line needs ``qty`` units less from its plant (lost, or served from stock): take them off
        its jobs there that have not started."""
        source = self.sources[item]
        if isinstance(source, FactorySite):
            self.on_order[item] -= source.release_pegged(line, qty)

    def position(self, item: int) -> float:
        """Inventory position: on hand + on order - everything owed (customer and internal backlog)."""
        return self.on_hand[item] + self.on_order[item] - self.bo_ext[item] - self.bo_int[item]

    def review(self, item: int) -> None:
        # position(item), inlined: a continuous-review item is reviewed after every order
        q = self.rules[item].order_qty(self.on_hand[item] + self.on_order[item] - self.bo_ext[item]
                                       - self.bo_int[item])
        if q > EPS:
            if self.capacity is not None:
                room = self.capacity - sum(self.on_hand) - sum(self.on_order)
                q = min(q, room)
                if q <= EPS:
                    return
            # place_order(item, q), written out: a review places an order every few days per item
            source = self.sources[item]
            if source is not None:
                self.on_order[item] += q
                self.world.order_from(source, self, item, q, None)

    def place_order(self, item: int, qty: float, peg: OrderLine | None = None) -> None:
        source = self.sources[item]
        if source is None:
            return
        self.on_order[item] += qty
        self.world.order_from(source, self, item, qty, peg)

    def review_due(self, day: int) -> None:
        rules = self.rules
        for i in self.periodic_items:
            if rules[i].due(day):
                self.review(i)

    # ------------------------------------------------------------------ order promising

    def track_receipts(self, item: int) -> None:
        """Keep the receipts scheduled to ``item`` (a customer quoted available-to-promise buys it)."""
        if self.scheduled is None:
            self.scheduled = [None] * len(self.products)
        if self.scheduled[item] is None:
            self.scheduled[item] = []

    def schedule(self, item: int, arrival: float, sid: int, qty: float) -> None:
        """A shipment of ``qty`` units left for this item, due at ``arrival``."""
        assert self.scheduled is not None
        receipts = self.scheduled[item]
        if receipts is not None:
            insort(receipts, (arrival, sid, qty))

    def unschedule(self, item: int, sid: int) -> None:
        """Shipment ``sid`` arrived (usually the first due)."""
        assert self.scheduled is not None
        receipts = self.scheduled[item]
        if receipts is None:
            return
        for k, r in enumerate(receipts):
            if r[1] == sid:
                del receipts[k]
                return

    def quote(self, lines: Sequence[tuple[int, float]], requested: float, priority: int,
              now: float) -> tuple[float, str]:
        """Available-to-promise: the date to promise an order arriving now, and what covers its latest line.

        The later of ``requested`` and, over the order's products, the date the item's known supply covers the
        units the order wants of it after the backlog ahead of it (``available_at``).
        """
        need: dict[int, float] = {}
        for item, qty in lines:
            need[item] = need.get(item, 0.0) + qty
        date, basis = requested, "stock"
        latest = -INF
        for item, qty in need.items():
            t, b = self.available_at(item, qty, priority, now)
            if t > latest:
                latest, basis = t, b
        return (latest if latest > date else date), basis

    def available_at(self, item: int, qty: float, priority: int, now: float) -> tuple[float, str]:
        """When ``qty`` more units of ``item`` can ship to a new order of ``priority``, and from what.

        The stock on hand net of the backlog ahead covers it now ('stock'); else the receipts on their way, in
        arrival order, cover it when the cumulated supply first reaches the backlog ahead plus ``qty``
        ('receipt'). Ahead: every waiting line under ``fcfs`` and ``fair_share`` (a pro-rata share of each
        receipt completes a line only once the whole backlog is served: later orders then share receipts too
        and can delay it), the lines of the same or a better priority under ``priority`` (a later order of a
        better priority can still take what this one was promised, as in an ERP without allocated stock), and
        other warehouses' replenishment orders always. Beyond the known supply, the next reorder and its mean
        lead time ('reorder', ``_reorder_quote``); a make-to-order item's own job, the plant's queue ('plant').
        """
        stock = self.on_hand[item]
        if self.make_to_order[item]:
            # Stock of a make-to-order item goes to new orders first; the rest is the order's own job.
            if stock >= qty - EPS:
                return now, "stock"
            return self._supply_quote(item, qty - max(stock, 0.0), now), "plant"  # its own job, placed now
        if self.allocation == "priority":
            ahead = sum(ln.open for ln in self.backlog[item] if ln.priority <= priority)
        else:
            ahead = self.bo_ext[item] + self.bo_int[item]
        cum = stock - ahead
        if cum >= qty - EPS:
            return now, "stock"
        receipts = self.scheduled[item] if self.scheduled is not None else None
        for arrival, _sid, q in receipts or ():
            cum += q
            if cum >= qty - EPS:
                return (arrival if arrival > now else now), "receipt"
        return self._reorder_quote(item, qty - cum, now), ("plan" if isinstance(self.rules[item], NoRule)
                                                            else "reorder")

    def _reorder_quote(self, item: int, short: float, now: float) -> float:
        """Beyond the known supply: the item's next reorder (now under continuous review, else its next review
        day after today's) plus the mean time to get the goods (``World.replenishment_lead_time``: order delay,
        supplier, transit; plus a plant's queue when a plant makes them). An estimate: a rule that does not
        order enough at that review, a random lead time or a plant's queue can make it late."""
        rule = self.rules[item]
        if isinstance(rule, NoRule):
            # Nothing reorders it: an S&OP plan pushes its supply (or nothing does). The plan's production and
            # purchases bound for it are the supply to promise from, as an ERP promises from its master
            # schedule; beyond them, the plant's queue at its capacity.
            planned = self._planned_quote(item, short, now)
            return planned if planned is not None else self._supply_quote(item, short, now)
        at = now if rule.review_period == 0 else self._next_review(rule, now)
        return self._supply_quote(item, short, at)

    def _planned_quote(self, item: int, short: float, now: float) -> float | None:
        """When the plan in force has sent ``short`` more units of ``item`` here: its good units made (planned
        units x the plant's mean yield, shipped at the end of the day made) and bought (shipped the day bought)
        on the days whose plan has not been pushed yet (today's, for the day's own orders, which come first), at
        this warehouse's share of them (``PlanBoard.destinations``), plus the lane's mean transit; None when the
        plan sends it nothing, or not enough before the horizon. Work already queued at the plant is not
        counted: behind schedule, the plant delivers later than quoted."""
        src = self.sources[item]
        if not isinstance(src, FactorySite):
            return None
        w = self.world
        board = w.plan
        product = self.products[item]
        share = next((s for wh, i, s in board.destinations(src.index, product) if wh is self and i == item), 0.0)
        made, bought = board.targets.get((src.index, product)), board.subcontract.get((src.index, product))
        if share <= 0 or (made is None and bought is None):
            return None
        lane = w.scenario.lane(src.name, self.name)
        transit = lane.lead_time.mean if lane is not None else 0.0
        good = float(w.mean_yield[src.index])
        left = short
        for day in range(w.plan_pushed_through + 1, w.horizon):
            if bought is not None:
                left -= bought[day] * share
                if left <= EPS:
                    return day + transit
            if made is not None:
                left -= made[day] * good * share
                if left <= EPS:
                    return day + 1.0 + transit
        return None

    def _next_review(self, rule: Rule, now: float) -> float:
        """The first review day after today's (today's review comes before the day's orders; an order arriving
        exactly at midnight before it gets a day's slack), or the horizon when the rule never reviews."""
        horizon = self.world.horizon
        if isinstance(rule, NoRule):
            return float(horizon)
        day = math.floor(now) + 1
        while day < horizon and not rule.due(day):
            day += 1
        return float(day)

    def _supply_quote(self, item: int, qty: float, at: float) -> float:
        """When ``qty`` units ordered at ``at`` from the item's source reach this warehouse, on average: the mean
        replenishment lead time (``World.replenishment_lead_time``: order delay, supplier, transit), and from a
        plant its queue when the order reaches it (``FactorySite.ready_by``) between the order delay and the
        transit."""
        src = self.sources[item]
        w = self.world
        lead = w.replenishment_lead_time(self, item)
        if not isinstance(src, FactorySite):
            return at + lead
        lane = w.scenario.lane(src.name, self.name)
        delay = lane.order_delay if lane is not None else 0.0
        return src.ready_by(at + delay, qty) + (lead - delay)

    # ------------------------------------------------------------------ perishable stock

    def set_shelf_life(self, item: int, initial_expiry: float) -> None:
        """Make an item perishable; its initial stock is one lot that expires at ``initial_expiry``."""
        q = self.on_hand[item]
        self.lots[item] = deque([[initial_expiry, q]] if q > EPS else [])
        self.lot_total[item] = q
        self.perishable.append(item)

    def _consume(self, item: int, qty: float) -> list[tuple[float, float]]:
        """Take ``qty`` units off the oldest lots; the lots they came from, oldest first."""
        lots = self.lots[item]
        assert lots is not None
        self.lot_total[item] -= qty
        return _take(lots, qty)

    def _reconcile(self, item: int, pending: float = 0.0) -> None:
        """Take the units issued since the last look off the oldest lots. ``pending``: units already off
        ``on_hand`` that the caller is issuing now (and takes itself)."""
        issued = self.lot_total[item] - self.on_hand[item] - pending
        if issued > EPS:
            self._consume(item, issued)
        # Drift of the float sums would otherwise accumulate over a run.
        self.lot_total[item] = self.on_hand[item] + pending

    def issue_lots(self, item: int, qty: float) -> list[tuple[float, float]]:
        """The lots of ``qty`` units leaving for another warehouse now (already off ``on_hand``): the oldest after
        the units issued before them, so they keep their age on the way."""
        self._reconcile(item, qty)
        return self._consume(item, qty)

    def _stock_lots(self, item: int, new: list[tuple[float, float]]) -> None:
        """Arriving lots join the stock in age order (after the issues so far came off the older lots)."""
        self._reconcile(item)
        lots = self.lots[item]
        assert lots is not None
        for exp, q in new:
            if q <= EPS:
                continue
            if not lots or lots[-1][0] <= exp:
                lots.append([exp, q])
            else:  # older than stock already here (a shorter transit): FIFO issues it first
                k = len(lots)
                while k > 0 and lots[k - 1][0] > exp:
                    k -= 1
                lots.insert(k, [exp, q])
            self.lot_total[item] += q

    def outdate(self, now: float) -> list[tuple[int, float]]:
        """The day's close: units whose life ends by ``now`` leave stock; (item, units) written off."""
        out: list[tuple[int, float]] = []
        for item in self.perishable:
            self._reconcile(item)
            lots = self.lots[item]
            assert lots is not None
            gone = 0.0
            while lots and lots[0][0] <= now + EPS:
                gone += lots.popleft()[1]
            if gone <= EPS:
                continue
            on_hand = self.on_hand[item]
            gone = min(gone, on_hand)
            self.on_hand[item] = on_hand - gone
            self.lot_total[item] = on_hand - gone
            out.append((item, gone))
            if self.rules[item].review_period == 0:
                self.review(item)  # a continuous rule sees its position drop like after a demand
        return out


def _take(lots: deque[list[float]], qty: float) -> list[tuple[float, float]]:
    """Take ``qty`` units off the front of ``lots`` ([expires at, units], oldest first); the lots taken."""
    taken: list[tuple[float, float]] = []
    left = qty
    while left > EPS and lots:
        lot = lots[0]
        if lot[1] <= left + EPS:
            lots.popleft()
            taken.append((lot[0], lot[1]))
            left -= lot[1]
        else:
            lot[1] -= left
            taken.append((lot[0], left))
            left = 0.0
    return taken
