"""Workshops: teams make the S&OP decisions, the simulator plays the month, a debrief shows why.

A workshop is a folder (see :mod:`simsop.workshop.game` for the API, ``simsop workshop --help`` for the
commands)::

    workshop.yaml            settings and state: scenario hash, teams and their roles, seed, rounds played,
                             visibility, scoring, bot, injected shocks, the facilitator's log
    scenario.yaml            the validated scenario, as played
    decisions/<team>.csv     each team's decisions, one row per decision (an append-only log)
    results/round-<k>/       <team>.json (decisions applied, metrics, dashboard) and leaderboard.csv
    results/replay.csv       each team's decisions replayed against other random futures
    debrief.html             the debrief

The simulation of a team is a pure function of (scenario, injected shocks, seed, the team's decisions):
every command re-simulates from day 0, so nothing binary is stored and a replay is the same code with
other replication indices. Every team plays the same random future (common random numbers), so teams
differ only by their decisions.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Workshop", "WorkshopError"]


def __getattr__(name: str) -> Any:
    # Lazy: `simsop.scenario` imports `simsop.workshop.spec`, which must not pull in the simulator.
    if name in ("Workshop", "WorkshopError"):
        from simsop.workshop import game

        return getattr(game, name)
    raise AttributeError(f"module 'simsop.workshop' has no attribute {name!r}")
