"""Customers' orders arriving one by one at a warehouse, at random times drawn before the run.

A stream is not a SimPy process: it is one event that reschedules itself for the next arrival that has to
wait its turn. An arrival with nothing else due before it is handled at once, without waking up through
the event queue (the clock moves to it all the same, and it counts as a simulated event). Each arrival is
scheduled exactly when, and at exactly the time, a process's timeout would have been, so that the order of
same-instant events is what a process would give.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING

from simpy.core import NORMAL, URGENT
from simpy.events import Event

if TYPE_CHECKING:
    from simsop.model.warehouse import WarehouseSite
    from simsop.model.world import World


class ArrivalStream:
    """The one-line orders of a warehouse's order-by-order customers, in time order."""

    __slots__ = ("_next", "_run_bound", "custs", "items", "qtys", "times", "warehouse", "world")

    def __init__(self, world: World, warehouse: WarehouseSite, times: list[float], custs: list[int],
                 items: list[int], qtys: list[float]) -> None:
        self.world = world
        self.warehouse = warehouse
        self.times = times
        self.custs = custs
        self.items = items
        self.qtys = qtys
        self._next = 0
        # The stream reschedules itself for most of its arrivals: one bound method, made once.
        self._run_bound = self._run

    def start(self) -> None:
        """Schedule the stream's first look at its arrivals, now (urgent, as a process starts)."""
        self.world.call_at(0.0, URGENT, self._run_bound, None)

    def _run(self, ev: Event) -> None:
        world = self.world
        env = world.env
        queue = env._queue
        terms = world.customer_terms
        new_line_order = self.warehouse.new_line_order
        times, custs, items, qtys = self.times, self.custs, self.items, self.qtys
        i = self._next
        n = len(times)
        while i < n:
            t = times[i]
            now = env._now
            if t > now:
                if queue and queue[0][0] <= t:
                    # Something else is due first: wait for this arrival through the queue. The step the
                    # kernel is in has already taken this event's callbacks, so the event can be reused.
                    self._next = i
                    ev.callbacks = [self._run_bound]
                    heappush(queue, (now + (t - now), NORMAL, next(env._eid), ev))
                    return
                env._now = t
                world.inline_events += 1
            ci = custs[i]
            lead, patience, prio = terms[ci]
            new_line_order(ci, items[i], qtys[i], t + lead, patience, prio)
            i += 1
        self._next = n
