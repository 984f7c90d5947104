"""Speed floor of bare SimPy on this machine, measured in-process.

Each benchmark builds a tiny SimPy model that does nothing but exercise one kernel primitive, runs it to
exhaustion (``env.run()`` with no ``until``) and reports how many events per second the SimPy kernel
processes. A simulator built on SimPy (simsop) cannot go faster than these figures for the same primitive,
so ``simsop_events_per_second / floor_events_per_second`` is the share of the kernel speed it keeps.

How events are counted
----------------------
An *event* here is one call of :meth:`simpy.Environment.step`: one event popped from the event heap and its
callbacks run. This counts everything the kernel schedules: the ``Initialize`` event that starts each process,
every ``Timeout``, every ``StorePut``/``StoreGet``/``ContainerPut``/``ContainerGet``/``Request``/``Release``
event, and the ``Process`` event itself when a process returns. The count is taken in a separate, untimed run
on :class:`CountingEnvironment` (which increments a counter in ``step``); the models are deterministic, so the
count is exact for the timed runs, which use a plain :class:`simpy.Environment` and carry no counting
overhead. To compare another SimPy model with these figures, count its events the same way: run it once on a
``CountingEnvironment`` (or any subclass that counts ``step`` calls) and divide that count by its wall time.

Timing is ``time.perf_counter`` around ``env.run()`` only (model construction excluded), with the garbage
collector left on as in normal use; the best (shortest) of ``repeats`` runs is kept to cut scheduler noise.
"""

from __future__ import annotations

import gc
import platform
import sys
import time
from collections.abc import Callable, Generator
from typing import Any

import simpy
from simpy.core import EmptySchedule

Model = Callable[[simpy.Environment, int], None]
"""A model builder: given an environment and a size ``n``, it creates the processes (not run yet)."""

N_PROCS = 4
"""Number of concurrent processes in the timeout and resource loops."""


class CountingEnvironment(simpy.Environment):
    """A :class:`simpy.Environment` that counts processed events (calls of ``step``) in ``events``."""

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self.events = 0

    def step(self) -> None:
        """Process the next event and count it (an empty heap raises before counting)."""
        if not self._queue:
            raise EmptySchedule
        self.events += 1
        super().step()


def count_events(build: Model, n: int) -> int:
    """Run the model once on a :class:`CountingEnvironment` and return the number of events processed."""
    env = CountingEnvironment()
    build(env, n)
    env.run()
    return env.events


def _time_once(build: Model, n: int) -> float:
    env = simpy.Environment()
    build(env, n)
    gc.collect()
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0


def _measure(name: str, build: Model, n: int, repeats: int) -> dict[str, Any]:
    """Count the events of ``build(n)`` once, then time it ``repeats`` times and keep the best."""
    events = count_events(build, n)
    seconds = min(_time_once(build, n) for _ in range(max(1, repeats)))
    return {
        "name": name,
        "events": events,
        "seconds": seconds,
        "events_per_second": events / seconds if seconds > 0 else float("inf"),
    }


# --- models ---------------------------------------------------------------------------------------------


def _build_timeouts(env: simpy.Environment, n: int) -> None:
    """``N_PROCS`` processes, each yielding ``env.timeout(d)`` with its own delay d; n timeouts in all."""

    def ticker(delay: float, count: int) -> Generator[simpy.Event, Any, None]:
        timeout = env.timeout
        for _ in range(count):
            yield timeout(delay)

    per_proc, extra = divmod(n, N_PROCS)
    for i in range(N_PROCS):
        env.process(ticker(1.0 + 0.25 * i, per_proc + (1 if i < extra else 0)))


def _build_store(env: simpy.Environment, n: int) -> None:
    """One producer puts n items into an unbounded ``simpy.Store``; one consumer gets them."""
    store = simpy.Store(env)

    def producer() -> Generator[simpy.Event, Any, None]:
        put = store.put
        for i in range(n):
            yield put(i)

    def consumer() -> Generator[simpy.Event, Any, None]:
        get = store.get
        for _ in range(n):
            yield get()

    env.process(producer())
    env.process(consumer())


def _build_container(env: simpy.Environment, n: int) -> None:
    """One process puts 1 unit n times into a ``simpy.Container``; another gets 1 unit n times."""
    tank = simpy.Container(env, init=0)

    def filler() -> Generator[simpy.Event, Any, None]:
        put = tank.put
        for _ in range(n):
            yield put(1)

    def drainer() -> Generator[simpy.Event, Any, None]:
        get = tank.get
        for _ in range(n):
            yield get(1)

    env.process(filler())
    env.process(drainer())


def _build_resource(env: simpy.Environment, n: int) -> None:
    """``N_PROCS`` users share a capacity-1 ``simpy.Resource``; n request/release cycles in all.

    Each cycle is ``req = res.request(); yield req; res.release(req)`` (explicit release, no ``with``), so the
    users queue on the resource and each release hands it to the next waiting request.
    """
    res = simpy.Resource(env, capacity=1)

    def user(count: int) -> Generator[simpy.Event, Any, None]:
        request, release = res.request, res.release
        for _ in range(count):
            req = request()
            yield req
            yield release(req)

    per_proc, extra = divmod(n, N_PROCS)
    for i in range(N_PROCS):
        env.process(user(per_proc + (1 if i < extra else 0)))


# --- public API -------------------------------------------------------------------------------------------


def timeout_loop(n_events: int = 200_000, repeats: int = 5) -> dict[str, Any]:
    """Bare timeout floor: ``N_PROCS`` processes looping on ``yield env.timeout(d)``, ~n_events timeouts."""
    return _measure("timeout_loop", _build_timeouts, n_events, repeats)


def store_loop(n: int = 100_000, repeats: int = 5) -> dict[str, Any]:
    """Producer/consumer over an unbounded ``simpy.Store``: n items put and got (about 2n events)."""
    return _measure("store_loop", _build_store, n, repeats)


def container_loop(n: int = 100_000, repeats: int = 5) -> dict[str, Any]:
    """Put/get of 1 unit on a ``simpy.Container`` by two processes, n times each (about 2n events)."""
    return _measure("container_loop", _build_container, n, repeats)


def resource_loop(n: int = 100_000, repeats: int = 5) -> dict[str, Any]:
    """Request/explicit-release cycles on a capacity-1 ``simpy.Resource``, n cycles (about 2n events)."""
    return _measure("resource_loop", _build_resource, n, repeats)


def environment_info() -> dict[str, str]:
    """Versions and machine facts to print next to the floor figures."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "simpy": simpy.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or "unknown",
    }


def measure_floor(quick: bool = False) -> list[dict[str, Any]]:
    """Run all four floor benchmarks; ``quick`` uses small sizes and 3 repeats (well under 2 s in total)."""
    if quick:
        n_timeout, n_other, repeats = 60_000, 30_000, 3
    else:
        n_timeout, n_other, repeats = 400_000, 200_000, 7
    return [
        timeout_loop(n_timeout, repeats),
        store_loop(n_other, repeats),
        container_loop(n_other, repeats),
        resource_loop(n_other, repeats),
    ]


if __name__ == "__main__":
    import json

    full = "--full" in sys.argv
    t_start = time.perf_counter()
    rows = measure_floor(quick=not full)
    print(json.dumps({"env": environment_info(), "floor": rows}, indent=2))
    print(f"total wall time: {time.perf_counter() - t_start:.2f} s", file=sys.stderr)
