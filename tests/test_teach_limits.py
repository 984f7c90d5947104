"""scenarios/teach_limits.yaml does what its facilitator's guide says: each of the three limits binds.

The heater maker's demand peaks at 160 a day in December; the plant could make it, its lane carries 110 a day,
so the winter must be built in the autumn; finance caps the made stock at 40,000 at every month's end, about
half of what that pre-build needs; retailers are quoted available-to-promise dates. What the domain says:

* the lane: the supply review plans no bucket above 110 a day out of the plant (K x days) and says so, in the
  peak months, because the peak's demand is above what the lane carries;
* the budget: lp plans within it, so its plan in force can break it only where it cannot change, in the frozen
  month (production fixed by the previous plan on an older forecast); a level plan, checked but not trimmed,
  builds its seasonal stock through the summer and breaks it most months; the lp plan builds to the budget
  before the peak (its pre-build stops there);
* the promises: a backlogged peak is quoted later dates, so OTIF against the promise is above OTIF against the
  request, the quoted delay is positive, and taking the budget away (more pre-build) raises on-time-to-request.

Random KPIs are compared over paired replications with a margin of 4 standard errors of the paired difference.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from simsop.replication import run_replication
from simsop.scenario import Scenario, load_scenario

FILE = Path(__file__).resolve().parents[1] / "scenarios" / "teach_limits.yaml"
REPS = 6
LANE = 110.0
BUDGET = 40000.0


def _scenario(policy: str = "lp", **planning: Any) -> Scenario:
    sc = load_scenario(FILE)
    return sc.model_copy(update={"planning": sc.planning.model_copy(update={"policy": policy, **planning})})


def _runs(sc: Scenario, reps: int = REPS) -> list[tuple[dict[str, float], dict[str, pd.DataFrame]]]:
    out = []
    for rep in range(reps):
        r = run_replication(sc, seed=sc.seed, replication=rep, keep_records=True)
        assert r.records is not None
        out.append((r.kpis, r.records.to_frames()))
    return out


@pytest.fixture(scope="module")
def lp() -> list[tuple[dict[str, float], dict[str, pd.DataFrame]]]:
    return _runs(_scenario("lp"))


def _above(diff: np.ndarray) -> float:
    """The paired difference's mean less 4 standard errors (> 0: significantly positive)."""
    return float(diff.mean() - 4.0 * diff.std(ddof=1) / np.sqrt(len(diff)))


def _in_force(table: pd.DataFrame, warmup: int, horizon: int) -> pd.DataFrame:
    """The inventory_budget rows of the plan version in force when each whole bucket after the warm-up began."""
    b = table[table.made <= table.bucket_start]
    b = b.sort_values(["bucket", "made", "cycle"]).groupby("bucket").tail(1)
    return b[(b.bucket_start >= warmup) & (b.bucket_start + b.bucket_days <= horizon)]


def test_the_file_is_small_and_valid() -> None:
    sc = load_scenario(FILE)
    assert sc.lanes[0].capacity == LANE and sc.planning.inventory_budget == BUDGET
    assert sc.customers[0].promise == "available"
    # The peak month's mean demand is above what the lane carries, the year's mean below it.
    raw = yaml.safe_load(FILE.read_text(encoding="utf-8"))["customers"][0]["demand"]
    factors = [np.asarray(d["seasonality"]["monthly"], dtype=float) for d in raw]
    peak = max(sum(d.mean_per_day * f[m] for d, f in zip(sc.customers[0].demand, factors, strict=True))
               for m in range(12))
    assert peak > LANE > sum(d.mean_per_day for d in sc.customers[0].demand)


def test_the_lane_caps_every_plan_and_the_notes_say_so(lp: list[Any]) -> None:
    """No plan version makes more than the lane carries a day in any bucket, the cap binds (a bucket at it), and
    the notes of the plans made before the peak name it in the peak months."""
    for _, f in lp:
        plan = f["plan"]
        by = plan.groupby(["cycle", "bucket"])
        per_day = by.production.sum() / by.bucket_days.first()
        assert per_day.max() <= LANE * (1 + 1e-9)
        assert per_day.max() >= LANE * (1 - 1e-6)
        notes = f["plan_notes"].set_index("cycle").note
        # The first plan (made in January for February on) sees the winter in its buckets 10 to 12 (November to
        # January), and the forecast's noise can add October.
        m = re.search(r"shipping limits Plant to 110 a day in the plan's bucket\(s\) (\d+) to 12\b", notes[0])
        assert m is not None and int(m.group(1)) <= 10, notes[0]
        assert notes.str.contains("shipping limits Plant to 110 a day").all()


def test_lp_plans_within_the_budget_but_for_the_frozen_month(lp: list[Any]) -> None:
    """Every bucket lp's plan in force breaks the budget in is the frozen bucket of that version (the one month it
    could not change); the KPI counts exactly those; and each year the plan builds to the budget before the peak."""
    sc = load_scenario(FILE)
    noted = 0
    for kpis, f in lp:
        table = f["inventory_budget"]
        first = table.groupby("cycle").bucket.min()
        inforce = _in_force(table, sc.warmup, sc.horizon)
        over = inforce[inforce.value > inforce.budget * (1 + 1e-9) + 1e-6]
        assert (over.bucket.to_numpy() == first[over.cycle].to_numpy()).all(), over
        assert kpis["budget_breach_buckets"] == len(over)
        # Pre-build stopped by the budget: some autumn month of the first plan ends at the budget. The lp values
        # the family's stock at its mean unit cost, the check each product at its own (radiators 40, fans 20), so
        # they part by the mix of the sales view, whose error grows with the lag: by up to 0.5% in these futures.
        v0 = table[table.cycle == 0]
        assert v0.value.max() == pytest.approx(BUDGET, rel=1e-2)
        assert "inventory budget 40,000" in f["plan_notes"].note.iloc[0]
        # Each version whose frozen bucket projects over the budget says so in its notes (it said nothing of it).
        notes = f["plan_notes"].set_index("cycle").note
        frozen = table[(table.bucket == first[table.cycle].to_numpy())
                       & (table.value > table.budget * (1 + 1e-9) + 1e-6)]
        for c, value in zip(frozen.cycle, frozen.value, strict=True):
            assert f"the frozen bucket(s) 1 hold stock worth up to {value:,.0f}" in notes[c], notes[c]
            noted += 1
    assert noted > 0  # the case happens in these futures, so the check above checks something


def test_a_level_plan_breaks_the_budget_lp_keeps_it() -> None:
    """A level plan builds seasonal stock all summer: most months over the budget, many more than lp's."""
    lp_b = np.array([k["budget_breach_buckets"] for k, _ in _runs(_scenario("lp"))], dtype=float)
    level = np.array([k["budget_breach_buckets"] for k, _ in _runs(_scenario("level"))], dtype=float)
    assert _above(level - lp_b) > 10
    assert level.min() >= 12  # more than half of the 23 months a plan is in force


def test_promises_move_the_date_and_the_budget_moves_the_promises(lp: list[Any]) -> None:
    """ATP: OTIF against the promise above OTIF against the request, a positive quoted delay; without the budget
    the plan pre-builds for the peak and more orders ship by the date asked for."""
    otif = np.array([k["otif"] for k, _ in lp])
    req = np.array([k["otif_requested"] for k, _ in lp])
    delay = np.array([k["avg_quoted_delay"] for k, _ in lp])
    assert _above(otif - req) > 0.1
    assert _above(delay) > 0
    # The quotes are the promises table's, in days: promised minus requested.
    for _, f in lp:
        p = f["promises"]
        assert (p.due >= p.requested - 1e-9).all() and (p.due > p.requested).any()
    free = np.array([k["otif_requested"] for k, _ in _runs(_scenario("lp", inventory_budget=None))])
    assert _above(free - req) > 0.1


def test_promises_under_the_plan_fall_within_the_run(lp: list[Any]) -> None:
    """An order placed well before the end is promised a date inside the run: the plan in force makes the heaters
    it waits for within weeks (the peak's backlog of about 1,900 is cleared at 110 a day within a month). Once a
    plan pushed to the DC, its items had no reorder rule and such an order was quoted the horizon plus the lead
    time (day 735 of 730: out of OTIF, and an average quoted delay of 80 days); the quote now comes from the
    plan's production bound for the DC."""
    sc = load_scenario(FILE)
    for _, f in lp:
        p = f["promises"]
        early = p[p.requested < sc.horizon - 90]
        assert (early.due < sc.horizon).all()
        assert (early.due - early.requested).max() < 90
