"""One replication: a pure function of (scenario, seed, replication)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from simsop.kpi import compute_kpis
from simsop.model.records import Records
from simsop.model.world import World
from simsop.scenario import Scenario
from simsop.streams import Streams

Process = Callable[[World], Generator[Any, Any, Any]]


@dataclass
class ReplicationResult:
    """KPIs of one replication, and its records when they were asked for."""

    seed: int
    replication: int
    kpis: dict[str, Any]
    records: Records | None = None
    events: int = 0


def build_world(scenario: Scenario, seed: int | None = None, replication: int = 0) -> World:
    """The SimPy world of one replication, built but not run (for tests and custom processes)."""
    return World(scenario, Streams(scenario.seed if seed is None else seed, replication))


def run_replication(scenario: Scenario, seed: int | None = None, replication: int = 0,
                    keep_records: bool = False, processes: tuple[Process, ...] = (),
                    policy: str | None = None) -> ReplicationResult:
    """Simulate one replication and compute its KPIs.

    Args:
        scenario: the validated company.
        seed: the experiment seed (default: the scenario's).
        replication: the replication index; with the same seed, replication i is the same random future
            whatever else changes (common random numbers).
        keep_records: return the event records too (they are dropped otherwise, to keep memory flat).
        processes: extra SimPy processes started with the world, each built by ``fn(world)``.
        policy: the planning policy's name (default: the scenario's ``planning.policy``); ``none`` runs
            the execution policies only.
    """
    world = build_world(scenario, seed, replication)
    name = scenario.planning.policy if policy is None else policy
    if name != "none":
        from simsop.planning.cycle import planning_process

        processes = (*processes, planning_process(scenario, name))
    records = world.run(processes)
    kpis = compute_kpis(records, scenario)
    events = world.events_processed()
    world.release()
    return ReplicationResult(world.streams.seed, replication, kpis, records if keep_records else None, events)
