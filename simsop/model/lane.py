"""A lane at run time: its transit-time sampler, information delay, cost, and (optionally) a daily capacity.

A capacity-limited lane dispatches at most ``capacity`` units per calendar day (all products together), the way
a carrier contract or a fleet of trucks gives a lane so many loads a day. Goods ready to leave go at once while
the day's capacity lasts; what does not fit waits at the dock and leaves at the start (t = d) of the next day
with room, first booked first served, so a shipment larger than what is left of the day is split into parts
that leave on successive days (a partial load today, the rest tomorrow). The day is the unit a transport planner
books and reports lane capacity in ("25 pallets a day"), and goods below the daily capacity never wait: a lane
carrying 10 units a day on a capacity of 25 behaves exactly as an unlimited one.

The other design, a fluid FIFO server as a capacity-limited supplier is (a job of q units occupies the lane
q / capacity days), fits a conveyor or a pipeline rather than trucks: it would hold a 10-unit shipment 0.4 days
on a 25-a-day lane even when nothing else is waiting, and it never splits a shipment.

Capacity is booked when a shipment is tendered (``book``), for the day its goods are ready: a supplier tenders
its goods at acceptance for the day its lead time ends, a plant and a warehouse when the goods are ready. The
departure of every part is then known at once, so a capacity-limited lane needs no process and no event of its
own: each part is one shipment, with one arrival event, as on an unlimited lane. When goods tendered later are
ready earlier (a supplier's random lead times), they take what is left of their day's capacity but never bump
an earlier booking, as a carrier honours bookings in the order it took them.
"""

from __future__ import annotations

import math

from simsop.dists import BlockSampler

# Days whose booked units reach capacity within this fraction of it are full (float sums of parts).
_FULL = 1e-9


class LaneRun:
    """A lane at run time: transit-time sampler, information delay, daily capacity and its bookings."""

    __slots__ = ("booked", "capacity", "cost", "first_open", "lead_time", "order_delay", "shocked")

    def __init__(self, lead_time: BlockSampler, cost: float, order_delay: float,
                 capacity: float | None = None) -> None:
        self.lead_time = lead_time.draw
        self.cost = cost
        self.order_delay = order_delay
        # Under a lane_delay: (factor, extra days) on each day of the horizon. A shipment takes the transit in
        # force on the day it departs, which can be later than the moment it is booked (a plant books the
        # goods it finishes at the end of the day, a capacity-limited lane may hold them for days).
        self.shocked: tuple[list[float], list[float]] | None = None
        self.capacity = capacity  # units a day; None: unlimited (nothing below is used then)
        self.booked: list[float] = []  # units booked to leave on each day 0, 1, ...
        self.first_open = 0  # every day before it is fully booked

    def shocked_transit(self, depart: float) -> float:
        """A transit under a lane_delay (``shocked`` set): the draw times the factor, plus the extra days, in force
        on the day the goods depart."""
        assert self.shocked is not None
        factor, extra = self.shocked
        day = min(int(depart), len(factor) - 1)
        return self.lead_time() * factor[day] + extra[day]

    def book(self, ready: float, qty: float) -> list[tuple[float, float]]:
        """Book ``qty`` units ready to leave at ``ready``: the (departure time, units) of each part, in order.

        The first part leaves at ``ready`` if its day has room; later parts (and a first part whose day is full)
        leave at the start of the next day with room.
        """
        cap = self.capacity
        assert cap is not None
        booked = self.booked
        day0 = math.floor(ready + 1e-9)
        day = day0 if day0 >= self.first_open else self.first_open
        full = cap * (1.0 - _FULL)
        parts: list[tuple[float, float]] = []
        left = qty
        while True:
            if day >= len(booked):
                booked.extend([0.0] * (day + 1 - len(booked)))
            used = booked[day]
            if used < full:
                room = cap - used
                when = ready if day == day0 else float(day)
                if left <= room * (1.0 + _FULL):
                    booked[day] = used + left
                    parts.append((when, left))
                    break
                booked[day] = cap
                parts.append((when, room))
                left -= room
            day += 1
        first = self.first_open
        while first < len(booked) and booked[first] >= full:
            first += 1
        self.first_open = first
        return parts


def split_lots(lots: list[tuple[float, float]], units: float) -> tuple[list[tuple[float, float]],
                                                                       list[tuple[float, float]]]:
    """The oldest ``units`` of perishable lots ((expires at, units), oldest first), and the rest."""
    head: list[tuple[float, float]] = []
    for i, (exp, q) in enumerate(lots):
        if units <= 0:
            return head, lots[i:]
        if q <= units * (1.0 + _FULL):
            head.append((exp, q))
            units -= q
        else:
            head.append((exp, units))
            return head, [(exp, q - units), *lots[i + 1:]]
    return head, []
