"""The plans a run's S&OP cycles agreed, as a decisions file the ``replay`` policy plays back.

A planner stress-tests "the plan we approved" by replaying it: production fixed as approved, execution
(warehouses' orders, plants' queues) reacting to what happens. The records' ``plan`` table counts buckets from
the first month of the forecast history; a decisions file counts them from day 0 (bucket 0 is the one day 0
falls in), as the ``replay`` policy reads them. :func:`approved_plan` does that conversion and keeps what a
decisions file can carry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simsop.planning.cycle import cycle_buckets

if TYPE_CHECKING:
    import pandas as pd

    from simsop.model.records import Records
    from simsop.scenario import Scenario

COLUMNS = ("cycle", "product", "bucket", "production", "inventory_target")


def approved_plan(records: Records, scenario: Scenario) -> pd.DataFrame:
    """Every cycle's agreed plan as decisions rows: cycle, product, bucket (from day 0), production and
    inventory target, one row per product and bucket the plan set (buckets before a plan takes effect, which
    it leaves to the plan in force, have no row). Replayed with the same seed it makes what the run made."""
    plan = records.to_frames()["plan"]
    _, first = cycle_buckets(scenario.planning, scenario.horizon)
    rows = plan[np.isfinite(plan["production"].to_numpy(dtype=float))]
    out = rows.loc[:, list(COLUMNS)].copy()
    out["bucket"] = out["bucket"].astype(int) - first
    return out.reset_index(drop=True)


def not_carried(records: Records) -> list[str]:
    """What the plans decided that a decisions file cannot carry (a replay makes do without it)."""
    plan = records.to_frames()["plan"]
    said = []
    bought = float(np.nansum(plan["subcontract"].to_numpy(dtype=float)))
    if bought > 0:
        said.append(f"subcontracting ({bought:,.0f} units over the plans)")
    staff = plan["workforce"].to_numpy(dtype=float)
    if np.isfinite(staff).any():
        said.append("the plants' staffing (the replay keeps the capacity the plants have)")
    return said
