"""Notes on a valid scenario that will not measure what its author probably wants.

Validation refuses what cannot run; these are for what runs but quietly says little: an S&OP plan with
nothing to make, a measuring window no order falls due in, a horizon that ends before the first plan takes
effect, a shock whose strength changes nothing. ``simsop validate`` prints them after the file's "ok", and
``run``, ``compare`` and ``stress`` before they start.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from simsop.scenario import Scenario


def scenario_notes(sc: Scenario, policies: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(key path, note) pairs for the scenario run with ``policies`` (default: its own planning policy)."""
    out = shock_notes(sc.shocks)
    window = sc.horizon - sc.warmup
    soonest_due = min((c.requested_lead_time for c in sc.customers), default=0.0)
    if sc.customers and soonest_due >= window:
        out.append(("warmup", f"the {window}-day window after the warm-up ({sc.warmup} of {sc.horizon} days) "
                              f"holds no order that falls due by the horizon (the soonest is due "
                              f"{soonest_due:g} days after it is placed): OTIF and fill rate will be empty"))
    planning = [p for p in (policies or [sc.planning.policy]) if p != "none"]
    if not planning:
        return out
    made = {p for f in sc.factories for p in f.products}
    if not made and not sc.planning.set_execution_levels:
        out.append(("planning.policy", f"no factory makes anything, so the plans of {', '.join(planning)} change "
                                       "nothing (the same as policy none); set planning.set_execution_levels: "
                                       "true to let each plan set the warehouses' reorder levels"))
    from simsop.planning.cycle import cycle_buckets, planned_cycles

    cycles = planned_cycles(sc.planning, sc.horizon)
    starts, first = cycle_buckets(sc.planning, sc.horizon)
    if not cycles or int(starts[first + cycles[0]]) >= sc.horizon:
        out.append(("planning", f"the {sc.horizon}-day horizon ends before the first S&OP plan takes effect: "
                                "the run has no plan (lengthen the horizon, or plan in shorter buckets)"))
    return out


def shock_notes(shocks: Sequence[Any], where: str = "shocks") -> list[tuple[str, str]]:
    """(key path, note) pairs for shocks that are valid but change nothing (``where[i]`` names each)."""
    from simsop.shocks import no_effect

    return [(f"{where}[{i}]", f"shock {sh.name!r} changes nothing: {why}")
            for i, sh in enumerate(shocks) if (why := no_effect(sh)) is not None]
