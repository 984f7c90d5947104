"""An external supplier: quotes a random lead time, may be capacity-limited, is sometimes late, may stop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simsop.dists import BlockSampler

if TYPE_CHECKING:
    from simsop.model.orders import OrderLine
    from simsop.model.warehouse import WarehouseSite
    from simsop.model.world import World


class SupplierSite:
    """Ships each order after its lead time (plus a delay when it is late), capacity permitting.

    Units enter the company's books (and count as in transit) when the supplier accepts the order. With
    ``in_order`` deliveries an order never reaches a warehouse before the one it placed just before it (the
    arrival is the later of its own and that one's), so lead times do not cross: the effective lead time is
    then longer than the drawn one, as behind a late order in a supplier's queue.

    During an outage (``stop`` .. ``restart``, a ``supplier_outage`` shock) it accepts nothing: the orders that
    reach it wait, and ``restart`` accepts them in the order they came, as if placed then (a lead time drawn
    then; a capacity-limited supplier works them off from then). Orders accepted before the outage keep their
    dates: those goods were already made or on their way.
    """

    kind = "supplier"

    def __init__(self, world: World, index: int, site: int, name: str, lead_time: BlockSampler,
                 capacity: float | None, reliability: float, uniform: BlockSampler,
                 delay: BlockSampler, in_order: bool = False) -> None:
        self.world = world
        self.index = index
        self.site = site
        self.name = name
        self.lead_time = lead_time
        self.capacity = capacity
        self.reliability = reliability
        self.uniform = uniform
        self.delay = delay
        self.free_at = 0.0  # when the capacity-limited supplier has worked off its earlier orders
        # Shocks lengthen lead times as lanes' transits: lead time x factor + extra days.
        self.lead_time_factor = 1.0
        self.extra_lead_time = 0.0
        self.in_order = in_order
        self.last_arrival: dict[int, float] = {}  # by destination site: when its latest order arrives
        self.out = False  # under a supplier_outage: orders wait in ``held``
        self.held: list[tuple[WarehouseSite, int, float, OrderLine | None]] = []

    def stop(self) -> None:
        """An outage begins: from now on orders wait until ``restart``."""
        self.out = True

    def restart(self) -> None:
        """The outage is over: accept the orders that waited, first come first accepted."""
        self.out = False
        held, self.held = self.held, []
        for order in held:
            self.accept(*order)

    def accept(self, dest: WarehouseSite, item: int, qty: float, peg: OrderLine | None) -> None:
        if self.out:
            # Not yet the company's goods: they enter its books (units supplied, in transit) when accepted.
            self.held.append((dest, item, qty, peg))
            return
        w = self.world
        now = w.env._now
        ready = now
        if self.capacity is not None:
            start = self.free_at if self.free_at > now else now
            self.free_at = start + qty / self.capacity
            ready = self.free_at
        lead = self.lead_time() * self.lead_time_factor + self.extra_lead_time
        if self.reliability < 1.0 and self.uniform() > self.reliability:
            lead += self.delay()
        w.units_supplied += qty
        if not self.in_order:
            w.ship(self, dest, item, qty, peg=peg, ordered=qty, depart=ready + lead)
            return
        # One supplier's deliveries to a warehouse do not overtake each other (one lane, one queue).
        self.last_arrival[dest.site] = w.ship(self, dest, item, qty, peg=peg, ordered=qty, depart=ready + lead,
                                              not_before=self.last_arrival.get(dest.site, 0.0))
