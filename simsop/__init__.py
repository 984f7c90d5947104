"""simsop: a discrete-event supply-chain simulator for Sales & Operations Planning (S&OP).

The Python API mirrors the command line::

    import simsop
    sc = simsop.load_scenario("scenarios/example_company.yaml")
    res = simsop.run_replication(sc, seed=1, replication=0)
    res.kpis["otif"]
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "Scenario", "ScenarioError", "__version__", "load_scenario", "run_experiment", "run_replication",
    "run_replications",
]


def __getattr__(name: str) -> Any:
    # Imported on first use so that `simsop --help` does not pay for numpy, simpy and pydantic.
    if name in ("load_scenario", "Scenario", "ScenarioError", "parse_scenario"):
        from simsop import scenario

        return getattr(scenario, name)
    if name in ("run_replication", "build_world"):
        from simsop import replication

        return getattr(replication, name)
    if name in ("run_replications", "run_experiment"):
        from simsop import experiment

        return getattr(experiment, name)
    raise AttributeError(f"module 'simsop' has no attribute {name!r}")
