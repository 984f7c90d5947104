"""Hand-written, bare SimPy models of the peers' models a, a_unit and b (see ``peers.py`` for their semantics).

They are what a careful programmer writes for one model and nothing else: processes and timeouts, the state
in a few local variables, no records, no checks, no KPIs beyond the two the benchmark compares (fill rate and
average end-of-day stock). They answer two questions the timeout floor cannot: how close to the floor does a
supply-chain model get when each event does the least possible work, and how much does simsop's generality
(every order, line, shipment and replenishment recorded, every KPI computed, any network) cost on top of it,
for the same random futures' worth of work.

Each function builds and runs one replication on ``env`` (a ``simpy.Environment`` or a counting subclass) and
returns ``(fill_rate, average on hand by stage, upstream first)``. Demand: model a and b draw one Poisson(10)
order a day; a_unit draws a Poisson process of one-unit orders at 10 a day (exponential gaps). Receipts at
time t come before the demand of day t, as in the peers (a receipt's timeout is scheduled before the next
day's demand timeout, so SimPy processes it first at the same instant).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy
from simpy.core import URGENT

HORIZON = 365
BareResult = tuple[float, list[float]]
BareModel = Callable[[simpy.Environment, int], BareResult]


def night(env: simpy.Environment) -> simpy.Event:
    """An event at the next midnight that comes before anything else due then: the end of the day's stock."""
    ev = env.event()
    ev._ok = True
    ev._value = None
    env.schedule(ev, URGENT, 1.0)
    return ev


def model_a(env: simpy.Environment, seed: int, unit: bool = False) -> BareResult:
    """One warehouse, (s, S) = (20, 60) on the inventory position after each demand, lead time 2."""
    rng = np.random.default_rng(seed)
    if unit:
        gaps = rng.exponential(0.1, int(HORIZON * 10 * 1.5)).tolist()
        sizes = [1] * len(gaps)
    else:
        gaps = [1.0] * HORIZON
        sizes = rng.poisson(10.0, HORIZON).tolist()
    st = {"on_hand": 60.0, "on_order": 0.0, "backlog": 0.0, "demanded": 0.0, "short": 0.0}
    waiting: deque[float] = deque()  # backordered quantities, first come first served
    snaps: list[float] = []

    def receive(qty: float) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(2.0)
        st["on_order"] -= qty
        have = st["on_hand"] + qty
        while waiting and have > 0:
            take = min(waiting[0], have)
            have -= take
            st["backlog"] -= take
            if take == waiting[0]:
                waiting.popleft()
            else:
                waiting[0] -= take
        st["on_hand"] = have

    def customers() -> Generator[simpy.Event, Any, None]:
        t = 0.0 if not unit else gaps[0]
        i = 0
        if unit:
            yield env.timeout(t)
        while env.now < HORIZON:
            q = float(sizes[i])
            st["demanded"] += q
            served = min(q, st["on_hand"]) if not waiting else 0.0
            st["on_hand"] -= served
            if served < q:
                st["short"] += q - served
                st["backlog"] += q - served
                waiting.append(q - served)
            position = st["on_hand"] + st["on_order"] - st["backlog"]
            if position <= 20:
                order = 60 - position
                st["on_order"] += order
                env.process(receive(order))
            i += 1
            yield env.timeout(gaps[i] if unit else 1.0)

    def nightly() -> Generator[simpy.Event, Any, None]:
        while True:
            yield night(env)
            snaps.append(st["on_hand"])

    env.process(customers())
    env.process(nightly())
    env.run(until=HORIZON + 0.5)  # the snapshot of the last day falls at HORIZON
    return 1.0 - st["short"] / st["demanded"], [sum(snaps[:HORIZON]) / HORIZON]


def model_a_unit(env: simpy.Environment, seed: int) -> BareResult:
    """Model a with a Poisson process of one-unit orders at 10 a day, reviewed after each."""
    return model_a(env, seed, unit=True)


def model_b(env: simpy.Environment, seed: int) -> BareResult:
    """Supplier -> stage 3 -> stage 2 -> stage 1, base-stock 30/30/40, 2-day links, daily Poisson(10) demand."""
    rng = np.random.default_rng(seed)
    sizes = rng.poisson(10.0, HORIZON).tolist()
    levels = [30.0, 30.0, 40.0]  # upstream first: stage 3, stage 2, stage 1
    on_hand = list(levels)
    pipeline = [0.0, 0.0, 0.0]  # ordered by the stage, not yet received
    owed: list[deque[float]] = [deque(), deque(), deque()]  # what each stage owes downstream (or customers)
    owed_total = [0.0, 0.0, 0.0]
    snaps: list[list[float]] = []
    tally = {"demanded": 0.0, "short": 0.0}

    def ship_to(k: int, qty: float) -> None:
        """Stage k sends qty to stage k + 1, arriving in 2 days."""
        env.process(arrive(k + 1, qty))

    def arrive(k: int, qty: float) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(2.0)
        pipeline[k] -= qty
        have = on_hand[k] + qty
        while owed[k] and have > 0:
            take = min(owed[k][0], have)
            have -= take
            owed_total[k] -= take
            if take == owed[k][0]:
                owed[k].popleft()
            else:
                owed[k][0] -= take
            if k < 2:
                ship_to(k, take)
        on_hand[k] = have

    def demand_at(k: int, qty: float) -> None:
        """Stage k is asked for qty (customers at stage 1, the downstream stage's order otherwise)."""
        served = min(qty, on_hand[k]) if not owed[k] else 0.0
        on_hand[k] -= served
        if k == 2:
            tally["demanded"] += qty
            tally["short"] += qty - served
        elif served > 0:
            ship_to(k, served)
        if served < qty:
            owed[k].append(qty - served)
            owed_total[k] += qty - served
        order = levels[k] - (on_hand[k] + pipeline[k] - owed_total[k])
        if order > 0:
            pipeline[k] += order
            if k == 0:
                env.process(arrive(0, order))  # the supplier ships at once
            else:
                demand_at(k - 1, order)

    def customers() -> Generator[simpy.Event, Any, None]:
        for day in range(HORIZON):
            demand_at(2, float(sizes[day]))
            yield env.timeout(1.0)

    def nightly() -> Generator[simpy.Event, Any, None]:
        while True:
            yield night(env)
            snaps.append(list(on_hand))

    env.process(customers())
    env.process(nightly())
    env.run(until=HORIZON + 0.5)
    days = snaps[:HORIZON]
    return 1.0 - tally["short"] / tally["demanded"], [sum(s[j] for s in days) / HORIZON for j in range(3)]


MODELS: dict[str, BareModel] = {"a": model_a, "a_unit": model_a_unit, "b": model_b}
