"""Sales orders and their lines, as the warehouse sees them while it allocates and ships."""

from __future__ import annotations

from typing import Any

EPS = 1e-9  # quantities are floats; below this a line is complete


class SalesOrder:
    """A customer's order: one or more lines with one promised (due) date."""

    __slots__ = ("customer", "done_at", "due", "id", "lost_any", "open_lines", "time")

    def __init__(self, oid: int, customer: int, time: float, due: float, n_lines: int) -> None:
        self.id = oid
        self.customer = customer
        self.time = time
        self.due = due
        self.open_lines = n_lines
        self.lost_any = False
        self.done_at = time  # when its latest line finished (shipped in full or lost)


class OrderLine:
    """One product x quantity of an order, or a replenishment order from a downstream warehouse.

    ``order`` is None for internal (warehouse-to-warehouse) lines; those carry ``dest`` (the ordering
    warehouse and its item index) instead and never expire.
    """

    __slots__ = ("deadline", "dest", "id", "item", "open", "order", "priority", "seq")

    def __init__(self, lid: int, order: SalesOrder | None, item: int, qty: float, deadline: float,
                 priority: int, seq: int, dest: Any = None) -> None:
        self.id = lid
        self.order = order
        self.item = item
        self.open = qty
        self.deadline = deadline
        self.priority = priority
        self.seq = seq
        self.dest = dest

    def sort_key(self) -> tuple[int, int]:
        return (self.priority, self.seq)
