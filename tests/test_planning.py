"""The S&OP cycle and its policies: textbook LP, replay exactness, fences, bias, and what theory says about
level and chase strategies. Plus one conformance test that every registered policy passes."""

from __future__ import annotations

import itertools
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import simsop
from simsop.cli import main
from simsop.planning.cycle import PlanningCycle, bucket_starts, planned_cycles, policy_params
from simsop.planning.policies import (
    AggregatePolicy,
    ReplayError,
    ReplayPolicy,
    committed_production,
    family_problems,
    split_by_need,
    split_family,
)
from simsop.planning.policy import Plan, PlanningState, PolicyError, available_policies, make_policy
from simsop.planning.spec import SafetyStockSpec
from simsop.replication import build_world, run_replication
from simsop.scenario import Scenario, ScenarioError, parse_scenario
from simsop.stats import paired_difference
from tests.helpers import add_reordering_shop

ROOT = Path(__file__).resolve().parent.parent
SEASONAL = ROOT / "scenarios" / "sop_seasonal.yaml"


def first_state(sc: Scenario, policy: str) -> tuple[PlanningState, Any]:
    """The planning state of cycle 0 and the policy object, without running the simulation."""
    world = build_world(sc, seed=1)
    params = policy_params(sc.planning.params, policy)
    pol = make_policy(policy, params)
    cyc = PlanningCycle(world, sc, pol, params)
    snap = cyc.cutoff(cyc.first)
    views = cyc.demand_review(0, snap)
    return cyc.state(0, snap, views, cyc.first), pol


def short(sc: Scenario, horizon: int = 400, warmup: int = 60, **planning: Any) -> Scenario:
    upd: dict[str, Any] = {"horizon": horizon, "warmup": warmup}
    if planning:
        upd["planning"] = sc.planning.model_copy(update=planning)
    return sc.model_copy(update=upd)


# ---------------------------------------------------------------------------------------------- textbook LP


def test_red_tomato_lp_policy() -> None:
    """Chopra & Meindl ch. 8: the `lp` policy's first cycle on the Red Tomato scenario file costs $422,275
    (the linear relaxation) and reproduces the book's plan: 65 workers, 2,583 units a month."""
    sc = simsop.load_scenario(ROOT / "scenarios" / "red_tomato_lp.yaml")
    state, pol = first_state(sc, "lp")
    np.testing.assert_allclose(state.demand_plan[0], [1600, 3000, 3200, 3800, 2200, 2200])
    plan = pol.plan(state)
    ap = pol.last["garden_tools"]
    assert ap.total_cost == pytest.approx(422_275, abs=0.5)
    np.testing.assert_array_equal(np.round(ap.workforce), [65] * 6)
    np.testing.assert_array_equal(np.round(ap.laid_off), [15, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(np.round(ap.inventory), [1983, 1567, 950, 0, 117, 500])
    np.testing.assert_array_equal(np.round(ap.backlog), [0, 0, 0, 267, 0, 0])
    np.testing.assert_allclose(plan.production[0], 15_500 / 6)
    # The plan's workforce becomes the plant's regular capacity: 775/12 workers x 2 units a day.
    np.testing.assert_allclose(plan.workforce[0], 775 / 12 * 2)


def test_each_cycle_plans_from_the_workforce_in_force_not_the_scenario_headcount() -> None:
    """Red Tomato: the first plan lays off 15 of the 80 workers (775/12 stay). The next cycles start from
    those 64.6 workers; starting each month from 80 again made every plan pay that layoff once more, and the
    plant's workforce (and its labour cost) swing with it."""
    sc = simsop.load_scenario(ROOT / "scenarios" / "red_tomato_lp.yaml")
    params = policy_params(sc.planning.params, "lp")
    pol = make_policy("lp", params)
    assert isinstance(pol, AggregatePolicy)
    opening: list[float] = []
    solve_all = pol.solve_all

    def spy(problems: list[Any]) -> Any:
        opening.append(sum(p.opening_workforce for p in problems))
        return solve_all(problems)

    pol.solve_all = spy  # type: ignore[method-assign]
    res = run_replication(sc, seed=1, policy="none", keep_records=True,
                          processes=(lambda world: PlanningCycle(world, sc, pol, params).run(),))
    assert len(opening) >= 3
    assert opening[0] == pytest.approx(80)
    np.testing.assert_allclose(opening[1:3], 775 / 12)
    rec = res.records
    assert rec is not None
    capacity = rec.factory_days["regular_capacity"]
    assert np.ptp(capacity[:60]) == pytest.approx(0, abs=1e-9)  # the plans keep the workforce they set


class _Restless:
    """Proposes a different workforce and subcontracting every cycle (cycle c: 60 + 5c workers' output, 10c
    units bought in every bucket)."""

    name = "restless"
    respects_fences = True

    def plan(self, state: PlanningState) -> Plan:
        shape = state.demand_plan.shape
        workforce = np.full((len(state.factories), state.horizon), (60.0 + 5 * state.cycle) * 2)
        return Plan(production=np.full(shape, 100.0), workforce=workforce,
                    subcontract=np.full(shape, 10.0 * state.cycle))


def test_the_frozen_fence_keeps_the_workforce_and_purchases_of_the_plan_in_force() -> None:
    """Red Tomato with one frozen bucket: each cycle's first bucket keeps what the plan in force staffs and
    buys there, whatever the new proposal; the buckets after it take the proposal."""
    base = simsop.load_scenario(ROOT / "scenarios" / "red_tomato_lp.yaml")
    sc = base.model_copy(update={"planning": base.planning.model_copy(update={"frozen_buckets": 1})})
    policy = _Restless()
    res = run_replication(sc, seed=1, policy="none", keep_records=True,
                          processes=(lambda world: PlanningCycle(world, sc, policy).run(),))
    rec = res.records
    assert rec is not None
    plan = rec.plan
    cycles = sorted(set(plan["cycle"].astype(int).tolist()))
    assert len(cycles) >= 3
    for c in cycles[1:]:
        mine = plan["cycle"] == c
        first = int(plan["bucket"][mine].min())
        kept = mine & (plan["bucket"] == first)
        before = (plan["cycle"] == c - 1) & (plan["bucket"] == first)
        np.testing.assert_allclose(plan["workforce"][kept], plan["workforce"][before])
        np.testing.assert_allclose(plan["subcontract"][kept], plan["subcontract"][before])
        later = mine & (plan["bucket"] > first)
        np.testing.assert_allclose(plan["workforce"][later], (60 + 5 * c) * 2)
        np.testing.assert_allclose(plan["subcontract"][later], 10.0 * c)


def test_what_the_frozen_fence_makes_and_buys_is_supply_already_decided() -> None:
    state, _ = first_state(simsop.load_scenario(SEASONAL), "chase")
    shape = state.previous_production.shape
    frozen = replace(state, frozen=1, previous_production=np.full(shape, 50.0),
                     previous_subcontract=np.full(shape, 20.0))
    got = committed_production(frozen)
    np.testing.assert_allclose(got[:, 0], 70.0)
    assert np.isnan(got[:, 1:]).all()
    assert np.allclose(committed_production(replace(frozen, previous_subcontract=None))[:, 0], 50.0)


def test_red_tomato_runs_in_the_simulator() -> None:
    """The scenario file runs end to end: the first plan's production and capacity are what the world does."""
    sc = simsop.load_scenario(ROOT / "scenarios" / "red_tomato_lp.yaml")
    res = run_replication(sc, seed=1, keep_records=True)
    rec = res.records
    assert rec is not None
    plan = rec.plan
    first = plan["cycle"] == 0
    np.testing.assert_allclose(plan["production"][first], 15_500 / 6)
    fd = rec.factory_days
    np.testing.assert_allclose(fd["regular_capacity"][:20], 775 / 12 * 2)
    # Inside capacity, production follows the plan day by day.
    np.testing.assert_allclose(fd["regular_used"][:20], 15_500 / 6 / 20)
    # Labour: wages of the workers each day keeps, and the first plan's layoff of 80 - 64.58 workers on day 0
    # (the book's month-1 layoff, $7,708), as well as every later change of the workforce.
    workers = fd["regular_capacity"] / 2
    later = np.diff(workers)
    expected = (32 * workers.sum() + 500 * (80 - workers[0])
                + 300 * np.maximum(later, 0).sum() + 500 * np.maximum(-later, 0).sum())
    assert 80 - workers[0] == pytest.approx(80 - 775 / 12)
    assert res.kpis["labor_cost"] == pytest.approx(expected)


# ---------------------------------------------------------------------------------------------- replay


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(textwrap.dedent(text).lstrip())
    return p


def replay_scenario(tmp: Path, decisions: str, **params: Any) -> Scenario:
    f = write(tmp, "decisions.csv", decisions)
    sc = simsop.load_scenario(SEASONAL)
    return short(sc, horizon=200, warmup=0, policy="replay", params={"file": str(f), **params},
                 frozen_buckets=1, executive_meeting_day=5)


def test_replay_gives_exactly_the_recorded_production(tmp_path: Path) -> None:
    """Each cycle's recorded decisions are what the plant is told to make, and (inside capacity) makes."""
    rows = ["cycle,product,bucket,production"]
    for cycle in range(7):
        for bucket in range(cycle + 1, cycle + 4):
            rows.append(f"{cycle},A,{bucket},{400 + 10 * cycle + bucket}")
            rows.append(f"{cycle},B,{bucket},{200 + cycle}")
    sc = replay_scenario(tmp_path, "\n".join(rows) + "\n")
    res = run_replication(sc, seed=2, keep_records=True)
    rec = res.records
    assert rec is not None
    starts = bucket_starts("month", 0, 200)
    starts = starts[starts >= 0]
    pp = rec.planned_production
    for b in range(1, 6):
        lo, hi = starts[b], starts[b + 1]
        sel = (pp["day"] >= lo) & (pp["day"] < hi)
        # The last cycle that set bucket b before it started is cycle b - 1 (meetings on day 5 of a month).
        for pname, expect in (("A", 400 + 10 * (b - 1) + b), ("B", 200 + b - 1)):
            p = 0 if pname == "A" else 1
            got = pp["qty"][sel & (pp["product"] == p)].sum()
            assert got == pytest.approx(expect), (b, pname)
        if b >= 2:  # bucket 1 still finishes the pull orders queued before the plan went live
            fd = rec.factory_days
            fsel = (fd["day"] >= lo) & (fd["day"] < hi)
            made = fd["regular_used"][fsel].sum() + fd["overtime_used"][fsel].sum()
            assert made == pytest.approx(400 + 10 * (b - 1) + b + 200 + b - 1)


# Seven monthly cycles plan within 200 days (their supply reviews, on day 7 of each month, come before day 200).
ALL_CYCLES = "".join(f"{c},A,{c + 1},5\n" for c in range(7))
REPLAY_BAD = [
    ("cycle,product,bucket,production\n0,A,1,ten\n", "line 2: production must be a number >= 0, got 'ten'"),
    ("cycle,product,bucket,production\n0,A,1,-5\n", "line 2: production must be a number >= 0, got '-5'"),
    ("cycle,product,bucket,production\n0,A,1,inf\n", "line 2: production must be a number >= 0, got 'inf'"),
    ("cycle,product,bucket,production\n0,A,1,1e300\n", "line 2: production must be at most 1e+12 units, got '1e300'"),
    ("cycle,product,bucket,production,inventory_target\n0,A,1,5,-1\n", "line 2: inventory_target must be a number"),
    ("cycle,product,bucket,production\n0.5,A,1,5\n", "line 2: cycle must be a whole number >= 0, got '0.5'"),
    ("cycle,product,bucket\n0,A,1\n", "missing column(s) production"),
    ("cycle,bucket,production\n0,1,5\n", "product (or family, or item)"),
    ("cycle,product,bucket,production\n0,A,1,5,7\n", "line 2: 5 values for 4 columns"),
    # An unquoted thousands separator with empty cells after it: production 1 and a target of 200 nobody wrote.
    ("cycle,product,bucket,production,inventory_target\n0,A,1,1,200,,\n",
     "line 2: 7 values for 5 columns (cycle, product, bucket, production, inventory_target): '1,200' is cut in two "
     "at its thousands separator; write 1200, or quote it: \"1,200\""),
    ("cycle,product,bucket,production\n0,A,1,5,\n", "line 2: 5 values for 4 columns"),
    ("cycle;product;bucket;production\n0;A;1;5\n", "(the file separates values with ';'; save it with commas)"),
    ("cycle,product,bucket,production\n0,A,1,5\n0,B,1,5\n0,A,1,6\n",
     "line 4: a second row for cycle 0, A, bucket 1 (the first is on line 2)"),
    ("cycle,product,bucket,production\n" + ALL_CYCLES + "0,ZZ,1,5\n", "line 9: unknown product or family 'ZZ'"),
    ("cycle,item,bucket,production\n" + ALL_CYCLES + "0,F1,1,5\n",
     "line 9: family F1 and its product A (line 2) are both planned for cycle 0, Feb (bucket 1)"),
    ("cycle,product,bucket,production\n0,A,1,5\n2,A,3,5\n", "no decisions for cycles 1, 3 to 6 (the simulation "
     "plans cycles 0 to 6 within its 200-day horizon); add rows for them or set missing: hold"),
    ("cycle,product,bucket,production\n0,A,1,5\n", "no decisions for cycles 1 to 6"),
    ("cycle,product,bucket,production\n" + ALL_CYCLES + "1,A,1,5\n",
     "line 9: Feb (bucket 1) is already under way or past at cycle 1 (its plan starts at Mar (bucket 2))"),
]


@pytest.mark.parametrize(("text", "message"), REPLAY_BAD)
def test_replay_errors_are_clear(tmp_path: Path, text: str, message: str) -> None:
    """A decisions file that cannot be replayed stops the replication before it starts, with the file and line."""
    sc = replay_scenario(tmp_path, text)
    with pytest.raises(PolicyError) as err:
        run_replication(sc, seed=1)
    assert message in str(err.value)
    assert "planning.params.file: " in str(err.value) and "decisions.csv" in str(err.value)


def replay_file(tmp: Path, decisions: str | bytes, **params: Any) -> Path:
    """The seasonal scenario as a file of its own, replaying the decisions in decisions.csv next to it."""
    f = tmp / "decisions.csv"
    f.write_bytes(decisions if isinstance(decisions, bytes) else decisions.encode())
    data = yaml.safe_load(SEASONAL.read_text(encoding="utf-8"))
    data.update(horizon=200, warmup=0)
    data["planning"].update(policy="replay", params={"file": "decisions.csv", **params}, executive_meeting_day=7)
    out = tmp / "replay.yaml"
    out.write_text(yaml.safe_dump(data), encoding="utf-8")
    return out


@pytest.mark.parametrize(("text", "message"), REPLAY_BAD)
def test_replay_errors_are_found_when_the_scenario_is_loaded(tmp_path: Path, text: str, message: str) -> None:
    """Every problem of a decisions file, those that need the scenario's products and calendar included, is a
    problem of the scenario file at planning.params.file, so `simsop validate` reports it."""
    f = replay_file(tmp_path, text)
    with pytest.raises(ScenarioError) as err:
        simsop.load_scenario(f)
    assert [p.path for p in err.value.problems] == ["planning.params.file"], str(err.value)
    assert message in str(err.value) and str(tmp_path / "decisions.csv") in str(err.value)
    result = CliRunner().invoke(main, ["validate", str(f)])
    assert result.exit_code == 2 and message in result.stderr


def test_replay_reads_spreadsheet_files_and_names_the_line_of_a_bad_byte(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts with a byte-order mark, which is not part of the first column's name; a file
    in another encoding is an error at the line of its first bad byte."""
    rows = "cycle,product,bucket,production\r\n" + ALL_CYCLES.replace("\n", "\r\n")
    sc = simsop.load_scenario(replay_file(tmp_path, b"\xef\xbb\xbf" + rows.encode()))
    assert sc.planning.policy == "replay"
    latin1 = (rows + "7,Caf\xe9,8,5\r\n").encode("latin-1")
    with pytest.raises(ScenarioError) as err:
        simsop.load_scenario(replay_file(tmp_path, latin1))
    assert "decisions.csv: line 9: not UTF-8 text (byte 0xe9); save the file as CSV UTF-8" in str(err.value)


def test_replay_cycles_past_the_horizon_and_held_cycles_are_fine(tmp_path: Path) -> None:
    """Rows of cycles after the last one the horizon plans are allowed (a file recorded over a longer run), and
    with missing: hold a cycle without rows keeps the plan in force."""
    simsop.load_scenario(replay_file(tmp_path, "cycle,product,bucket,production\n" + ALL_CYCLES + "40,A,41,5\n"))
    simsop.load_scenario(replay_file(tmp_path, "cycle,product,bucket,production\n0,A,1,5\n", missing="hold"))


class _Recorder:
    """A policy that records the cycle and first planning bucket of every state it is asked to plan."""

    name = "recorder"
    respects_fences = True

    def __init__(self) -> None:
        self.asked: list[tuple[int, int]] = []

    def plan(self, state: PlanningState) -> Plan:
        self.asked.append((state.cycle, int(state.bucket_index[0])))
        return Plan(production=np.zeros_like(state.demand_plan))


@pytest.mark.parametrize("planning", [
    {}, {"plan_delay_days": 20}, {"bucket": "week", "demand_review_day": 1, "supply_review_day": 2,
                                  "executive_meeting_day": 3, "plan_delay_days": 4},
    {"bucket": 10, "demand_review_day": 0, "supply_review_day": 9, "executive_meeting_day": 9},
    {"supply_review_day": 25, "executive_meeting_day": 30},
])
@pytest.mark.parametrize("horizon", [200, 215, 222])
def test_planned_cycles_are_the_cycles_the_simulation_plans(planning: dict[str, Any], horizon: int) -> None:
    """The calendar the load-time check uses (the cycles whose policy is asked for a plan within the horizon,
    and the first bucket each one plans) is the one the S&OP cycle follows in the simulation."""
    base = simsop.load_scenario(SEASONAL)
    sc = base.model_copy(update={"horizon": horizon, "warmup": 0,
                                 "planning": base.planning.model_copy(update=planning)})
    policy = _Recorder()
    run_replication(sc, seed=1, policy="none", processes=(lambda world: PlanningCycle(world, sc, policy).run(),))
    assert [c for c, _ in policy.asked] == list(range(len(policy.asked)))
    assert planned_cycles(sc.planning, horizon) == [b for _, b in policy.asked]


class _BuysOnceThenStops:
    """Subcontracts 300 units of product 0 in every bucket at the first cycle, nothing from the second on."""

    name = "buys_once"
    respects_fences = False

    def plan(self, state: PlanningState) -> Plan:
        sub = np.zeros(state.demand_plan.shape)
        if state.cycle == 0:
            sub[0, :] = 300.0
        return Plan(production=np.zeros(state.demand_plan.shape), subcontract=sub)


def test_a_revised_plan_that_stops_subcontracting_cancels_the_earlier_purchases() -> None:
    """Cycle 0 buys 300 units a bucket; cycle 1 buys none. The buckets cycle 1 plans get nothing (an earlier
    version's purchase stayed on the plan board when the new plan bought 0); the one bucket only cycle 0
    planned keeps its 300."""
    base = simsop.load_scenario(SEASONAL)
    sc = base.model_copy(update={"horizon": 200, "warmup": 0})
    policy = _BuysOnceThenStops()
    res = run_replication(sc, seed=1, policy="none", keep_records=True,
                          processes=(lambda world: PlanningCycle(world, sc, policy).run(),))
    rec = res.records
    assert rec is not None
    plan, sub = rec.plan, rec.subcontracted
    first_of = {c: int(plan["bucket_start"][plan["cycle"] == c].min()) for c in (0, 1)}
    end_of_first_bucket = first_of[1]  # cycle 1 plans from the bucket after cycle 0's first one
    day = sub["day"]
    assert sub["qty"][(day >= first_of[0]) & (day < end_of_first_bucket)].sum() == pytest.approx(300)
    assert sub["qty"][day >= end_of_first_bucket].sum() == pytest.approx(0)


def test_replay_missing_file_and_family_rows(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="cannot read"):
        ReplayPolicy(file=str(tmp_path / "nope.csv"))
    sc = replay_scenario(tmp_path, "cycle,family,bucket,production\n0,F1,1,600\n", missing="hold")
    res = run_replication(sc, seed=1, keep_records=True)
    assert res.records is not None
    plan = res.records.plan
    sel = (plan["cycle"] == 0) & (plan["bucket"] == plan["bucket"][plan["cycle"] == 0].min())
    # A family's quantity is split over its products by the demand plan (A twice B).
    assert plan["production"][sel].sum() == pytest.approx(600)


def _bought_in_b(tmp: Path, decisions: str) -> Path:
    """sop_seasonal with product B (family F1, like A) bought from a vendor: the plant makes only A."""
    data = yaml.safe_load(SEASONAL.read_text(encoding="utf-8"))
    data["factories"][0]["products"] = ["A"]
    data["suppliers"] = [{"id": "Vendor", "lead_time": 3}]
    data["warehouses"][0]["stock"][1]["source"] = "Vendor"
    data.update(horizon=200, warmup=0)
    data["planning"].update(policy="replay", params={"file": str(write(tmp, "decisions.csv", decisions)),
                                                     "missing": "hold"})
    return write(tmp, "bought_in.yaml", yaml.safe_dump(data))


def test_replay_plans_a_family_on_the_products_its_factories_make(tmp_path: Path) -> None:
    """A family's recorded quantity is made in full, by the products a factory makes; a product no
    factory makes cannot be planned, which loading the scenario says."""
    sc = simsop.load_scenario(_bought_in_b(tmp_path, "cycle,family,bucket,production\n0,F1,1,600\n"))
    rec = run_replication(sc, seed=1, keep_records=True).records
    assert rec is not None
    plan = rec.plan
    sel = (plan["cycle"] == 0) & (plan["bucket"] == plan["bucket"][plan["cycle"] == 0].min())
    assert plan["production"][sel].sum() == pytest.approx(600)
    assert plan["production"][sel & (plan["product"] == 1)].sum() == 0  # B is bought in
    with pytest.raises(ScenarioError, match="line 2: no factory makes 'B'"):
        simsop.load_scenario(_bought_in_b(tmp_path, "cycle,product,bucket,production\n0,B,1,50\n"))


# ---------------------------------------------------------------------------------------------- fences


def test_time_fences_hold_the_plan() -> None:
    """Inside the frozen fence a bucket keeps its earlier quantity; in the slushy fence it moves by at most
    the allowed fraction of the larger of that quantity and the bucket's demand plan (the fence-respecting
    chase policy re-plans every cycle)."""
    sc = short(simsop.load_scenario(SEASONAL), horizon=400, policy="chase", frozen_buckets=1, slushy_buckets=2,
               slushy_change_limit=0.1)
    rec = run_replication(sc, seed=3, keep_records=True).records
    assert rec is not None
    plan = rec.plan
    q = {(c, p, b): x for c, p, b, x in zip(plan["cycle"].tolist(), plan["product"].tolist(),
                                           plan["bucket"].tolist(), plan["production"].tolist(), strict=True)}
    demand = dict(zip(q, plan["demand_plan"].tolist(), strict=True))
    first = {c: min(b for (cc, _p, b) in q if cc == c) for (c, _p, _b) in q}
    checked = 0
    for (c, p, b), x in q.items():
        prev = q.get((c - 1, p, b))
        if prev is None:
            continue
        t = b - first[c]
        if t < 1:
            assert x == pytest.approx(prev)
            checked += 1
        elif t < 3:
            step = 0.1 * max(prev, demand[(c, p, b)])
            assert prev - step - 1e-9 <= x <= prev + step + 1e-9
            checked += 1
    assert checked > 20


def _meeting(prev: np.ndarray, proposal: np.ndarray, limit: float = 0.2) -> tuple[np.ndarray, PlanningState]:
    """The executive meeting of sop_seasonal's first cycle (1 frozen and 2 slushy buckets), given the plan in
    force and the policy's proposal for the first four buckets: the agreed production, and the state."""
    sc = short(simsop.load_scenario(SEASONAL), policy="chase", frozen_buckets=1, slushy_buckets=2,
               slushy_change_limit=limit)
    pol = make_policy("chase", {})
    assert pol is not None
    cyc = PlanningCycle(build_world(sc, seed=1), sc, pol, {})
    snap = cyc.cutoff(cyc.first)
    state = cyc.state(0, snap, cyc.demand_review(0, snap), cyc.first + 1)
    full_prev = np.full(state.demand_plan.shape, np.nan)
    full_prev[:, :4] = prev
    full = np.zeros(state.demand_plan.shape)
    full[:, :4] = proposal
    state = replace(state, previous_production=full_prev)
    plan = cyc.executive_meeting(0, state, Plan(production=full), 12, 12, cyc.first + 1)
    return plan.production[:, :4], state


def test_a_zero_plan_can_grow_within_the_slushy_fence() -> None:
    """The slushy fence's allowed change is a fraction of the larger of the plan in force and the demand plan:
    a product planned at 0 (not launched yet, say) can grow by 20% of its demand plan, where 20% of 0 kept it
    at 0 for good; the frozen bucket keeps its 0 and buckets beyond the fence take the proposal."""
    prev = np.zeros((2, 4))
    got, state = _meeting(prev, np.full((2, 4), 1e6))
    demand = state.demand_plan[:, :4]
    assert (demand > 0).all()
    np.testing.assert_array_equal(got[:, 0], 0.0)
    np.testing.assert_allclose(got[:, 1:3], 0.2 * demand[:, 1:3])
    np.testing.assert_array_equal(got[:, 3], 1e6)


def test_the_slushy_fence_limits_a_plan_above_its_demand_plan_by_a_fraction_of_itself() -> None:
    """The ordinary case: a plan in force at or above the demand plan moves by at most the limit times itself,
    up or down; a change within the limit is taken as proposed."""
    _, state = _meeting(np.zeros((2, 4)), np.zeros((2, 4)))
    prev = 2 * state.demand_plan[:, :4]
    up, _ = _meeting(prev, 10 * prev)
    down, _ = _meeting(prev, np.zeros((2, 4)))
    inside, _ = _meeting(prev, 1.05 * prev)
    np.testing.assert_allclose(up[:, 1:3], 1.2 * prev[:, 1:3])
    np.testing.assert_allclose(down[:, 1:3], 0.8 * prev[:, 1:3])
    np.testing.assert_allclose(inside[:, 1:3], 1.05 * prev[:, 1:3])
    np.testing.assert_array_equal(down[:, 0], prev[:, 0])


class _Spy:
    """Wraps a policy and keeps each cycle's proposal (production, and the plan's first absolute bucket)."""

    respects_fences = True

    def __init__(self, inner: Any) -> None:
        self.inner, self.name = inner, inner.name
        self.proposals: dict[int, tuple[np.ndarray, int]] = {}
        self.states: dict[int, PlanningState] = {}

    def plan(self, state: PlanningState) -> Plan:
        plan = self.inner.plan(state)
        self.proposals[state.cycle] = (np.array(plan.production), int(state.bucket_index[0]))
        self.states[state.cycle] = state
        return plan


@pytest.mark.parametrize("name", ["lp", "level", "chase", "hybrid"])
def test_aggregate_plans_are_made_within_the_fences_so_the_meeting_changes_nothing(name: str) -> None:
    """The aggregate policies plan within the slushy fence (sop_seasonal with a tight 5% limit, where the
    fence binds): every product's proposal in a slushy bucket is within its interval, and the executive meeting
    agrees to every proposal as it is. Clipped afterwards, the meeting changed 10 to 12 of the 13 proposals."""
    sc = short(simsop.load_scenario(SEASONAL), horizon=400, slushy_change_limit=0.05)
    params = {**policy_params(sc.planning.params, name), "plan_within_slushy_fence": True}
    spy = _Spy(make_policy(name, params))
    world = build_world(sc, seed=3)
    rec = world.run((lambda w: PlanningCycle(w, sc, spy, params).run(),))
    plan = rec.plan
    cycle, product, bucket, agreed = (np.asarray(plan[c]) for c in ("cycle", "product", "bucket", "production"))
    at_bound = 0
    for c, (proposal, _) in spy.proposals.items():
        mine = cycle == c
        got = np.zeros_like(proposal)
        got[product[mine], bucket[mine] - bucket[mine].min()] = agreed[mine]
        np.testing.assert_array_equal(got, proposal)
        lo, hi = spy.states[c].slushy_interval()
        fenced = ~np.isnan(lo)
        assert np.all(proposal[fenced] >= lo[fenced]) and np.all(proposal[fenced] <= hi[fenced])
        at_bound += int(np.isclose(proposal[fenced], lo[fenced]).sum() + np.isclose(proposal[fenced], hi[fenced]).sum())
    assert len(spy.proposals) == 13 and at_bound > 0


FENCED = {"plan_within_slushy_fence": True}


def _fenced(state: PlanningState, prev: list[float], limit: float = 0.2) -> PlanningState:
    """The synthetic state (frozen bucket 0, slushy bucket 1) with a plan in force of ``prev`` (per product) in
    both buckets and the scenario's slushy limit."""
    full = np.full(state.previous_production.shape, np.nan)
    full[:, :2] = np.asarray(prev)[:, None]
    full.setflags(write=False)
    return replace(state, previous_production=full, slushy_change_limit=limit)


@pytest.mark.parametrize("name", ["lp", "level", "chase", "hybrid"])
@pytest.mark.parametrize("prev", [[50.0, 60.0, 0.0], [700.0, 500.0, 0.0]], ids=["below", "above"])
def test_the_family_plan_is_within_the_slushy_fence_and_plans_after_it_for_what_it_allows(
        name: str, prev: list[float]) -> None:
    """A plan in force far below (50 and 60 units) or above (700 and 500) what the family needs: the family
    problem's production in the slushy bucket is bounded by the sum of its products' intervals, each product's
    plan is within its own and the products add up to the family plan. The family plan then makes more after
    the fence (below) or less (above) than the plan without the fence, for the stock the fence leaves it. (Level
    at the textbook's rate: the rate without a planned shortage is the plant's capacity here, with no room
    to make more.)"""
    state = _fenced(synthetic_state(), prev)
    textbook = {"no_shortage": False} if name == "level" else {}
    pol = make_policy(name, {**FENCED, **textbook})
    assert isinstance(pol, AggregatePolicy)
    production = pol.plan(state).production
    family = pol.last["F1"].production
    lo, hi = state.slushy_interval()
    fp = next(f for f in family_problems(state) if f.family == 0)
    assert fp.start == 1 and fp.fenced
    np.testing.assert_allclose(np.asarray(fp.problem.production_min)[0], lo[:2, 1].sum())
    assert family[0] >= lo[:2, 1].sum() - 1e-6 and family[0] <= hi[:2, 1].sum() + 1e-6
    assert np.all(production[:2, 1] >= lo[:2, 1]) and np.all(production[:2, 1] <= hi[:2, 1])
    np.testing.assert_allclose(production[:2, 1:].sum(axis=0), family, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(production[:, 0], [prev[0], prev[1], 0.0])
    free = make_policy(name, textbook)  # the default: plan freely, the meeting clips
    assert isinstance(free, AggregatePolicy)
    free.plan(state)
    unfenced = free.last["F1"].production
    unknown = make_policy(name, {**FENCED, **textbook})
    assert isinstance(unknown, AggregatePolicy)
    unknown.plan(replace(state, slushy_change_limit=None))  # the limit not known: the fence is not modelled
    np.testing.assert_array_equal(unknown.last["F1"].production, unfenced)
    assert not np.isclose(unfenced[0], family[0])  # the fence binds
    # Hybrid works its steady workforce and all its overtime in both plans: it has nothing to make up with.
    later = (family[1:3].sum() - unfenced[1:3].sum()) * (1 if prev[0] < 100 else -1)
    assert later > 1 if name != "hybrid" else later > -1e-6


@pytest.mark.parametrize("name", ["lp", "level", "chase", "hybrid"])
def test_the_fence_wins_over_capacity_and_never_makes_a_plan_impossible(name: str) -> None:
    """A plan in force of 5,000 units of A and B each, ten times the plant's 1,050 a month: the slushy fence
    keeps at least 80% of it (8,000), beyond what the family's share of the plant can make, as the meeting
    would. The problem stays solvable (the extra is overtime) and the plan keeps the fence."""
    state = _fenced(synthetic_state(), [5000.0, 5000.0, 0.0])
    pol = make_policy(name, FENCED)
    assert isinstance(pol, AggregatePolicy)
    production = pol.plan(state).production
    np.testing.assert_allclose(production[:2, 1], [4000.0, 4000.0])
    fp = next(f for f in family_problems(state) if f.family == 0)
    assert np.asarray(fp.problem.production_max)[0] == pytest.approx(8000.0)


def test_a_fence_that_leaves_no_plan_gives_way_to_the_plan_without_it() -> None:
    """With no backlog allowed at the end, the plant (1,050 a month) can make the family's 800 a month from
    bucket 1 on (4,800 in all, the frozen bucket's included, since its plan in force makes nothing), but not
    if the fence keeps the slushy bucket at 160 (20% of its demand plan): the LP has no plan then, and the
    family is planned without the fence (the meeting clips it) instead of failing."""
    base = _with(synthetic_state(), demand_plan={0: np.full(6, 400.0), 1: np.full(6, 400.0)},
                 inventory_target={0: 0.0, 1: 0.0}, on_hand={0: 0.0, 1: 0.0}, pipeline={0: 0.0, 1: 0.0})
    state = _fenced(base, [0.0, 0.0, 0.0])
    pol = make_policy("lp", {"allow_ending_backlog": False, **FENCED})
    assert isinstance(pol, AggregatePolicy)
    production = pol.plan(state).production
    assert production[:2, 1:].sum() == pytest.approx(6 * 800, rel=1e-6)
    assert production[:2, 1].sum() > 160 + 1


def test_the_split_keeps_each_product_in_its_fence_and_the_family_total() -> None:
    """Three products sharing a family plan of 900 by need (600, 200, 100): A's interval allows at most 400, so
    the 200 it cannot take go to the others, first to C (still 150 short of its need) and then by room; the
    total stays 900. A floor above B's share takes from the others' surplus. Without intervals, the shares."""
    required = np.array([[600.0], [200.0], [250.0]])
    mix = np.full((3, 1), 1 / 3)
    none = np.full((3, 1), np.nan)
    made, bought = split_family(np.array([900.0]), np.array([30.0]), required, mix, none,
                                (np.array([[0.0], [0.0], [0.0]]), np.array([[400.0], [900.0], [900.0]])))
    assert made.sum() == pytest.approx(900.0)
    assert made[0, 0] == pytest.approx(400.0)
    assert made[2, 0] >= 250.0 - 1e-9  # C's need is met before B gets more than its share
    np.testing.assert_allclose(bought[:, 0], 30.0 * split_by_need(np.array([900.0]), np.array([30.0]), required,
                                                                    mix, none)[:, 0])
    made, _ = split_family(np.array([900.0]), np.zeros(1), required, mix, none,
                           (np.array([[np.nan], [500.0], [np.nan]]), none))
    assert made.sum() == pytest.approx(900.0) and made[1, 0] == pytest.approx(500.0)
    assert made[0, 0] <= 600.0 and made[2, 0] <= 250.0
    plain, _ = split_family(np.array([900.0]), np.zeros(1), required, mix, none, None)
    np.testing.assert_array_equal(plain, split_by_need(np.array([900.0]), np.zeros(1), required, mix, none) * 900.0)


# ---------------------------------------------------------------------------------------------- behaviour


def paired(sc_a: Scenario, sc_b: Scenario, n: int, kpis: tuple[str, ...], policy: str | None = None
           ) -> dict[str, Any]:
    out = {}
    a = [run_replication(sc_a, seed=5, replication=r, policy=policy).kpis for r in range(n)]
    b = [run_replication(sc_b, seed=5, replication=r, policy=policy).kpis for r in range(n)]
    for k in kpis:
        out[k] = paired_difference([x[k] for x in a], [x[k] for x in b])
    return out


def test_optimistic_sales_raise_inventory_and_cut_profit() -> None:
    """Sales over-forecasting by 20% (consensus = sales) against an unbiased team on the same random
    futures: inventory goes up and profit down, significantly. Sandbagging by 20% lowers OTIF."""
    base = short(simsop.load_scenario(SEASONAL), horizon=500, warmup=120, policy="chase",
                 consensus=simsop.load_scenario(SEASONAL).planning.consensus.model_copy(update={"rule": "sales"}))

    def with_bias(bias: float) -> Scenario:
        return base.model_copy(update={"planning": base.planning.model_copy(
            update={"sales": base.planning.sales.model_copy(update={"bias": bias})})})

    up = paired(with_bias(0.2), with_bias(0.0), 5, ("avg_on_hand", "profit", "otif"))
    assert up["avg_on_hand"].mean_diff > 0 and up["avg_on_hand"].significant
    assert up["profit"].mean_diff < 0 and up["profit"].significant
    down = paired(with_bias(-0.2), with_bias(0.0), 5, ("otif",))
    assert down["otif"].mean_diff < 0 and down["otif"].significant


def test_chase_holds_less_inventory_and_level_changes_production_less() -> None:
    """The textbook trade-off (Chopra & Meindl 8.2): on the same futures, chase carries less stock than
    level, and level's production moves less from month to month."""
    sc = short(simsop.load_scenario(SEASONAL), horizon=730, warmup=120)
    n = 4
    chase = [run_replication(sc, seed=9, replication=r, policy="chase").kpis for r in range(n)]
    level = [run_replication(sc, seed=9, replication=r, policy="level").kpis for r in range(n)]
    inv = paired_difference([c["avg_on_hand"] for c in chase], [x["avg_on_hand"] for x in level])
    var = paired_difference([c["production_variation"] for c in chase], [x["production_variation"] for x in level])
    assert inv.mean_diff < 0 and inv.significant
    assert var.mean_diff > 0 and var.significant


def test_forecast_kpis_are_recorded_per_lag() -> None:
    sc = short(simsop.load_scenario(SEASONAL), horizon=400, policy="level")
    k = run_replication(sc, seed=1).kpis
    for lag in (1, 3):
        assert 0 <= k[f"forecast_wmape_lag{lag}"] < 50
        assert np.isfinite(k[f"fva_consensus_lag{lag}"])
        assert np.isfinite(k[f"tracking_signal_lag{lag}"])
    assert 0.9 <= k["plan_attainment"] <= 1.0001


# ---------------------------------------------------------------------------------------------- conformance


def synthetic_state(P: int = 3, H: int = 6) -> PlanningState:
    rng = np.random.default_rng(0)
    arrays = {
        "product_family": np.array([0, 0, 1][:P]), "bucket_start": np.arange(H) * 30,
        "bucket_days": np.full(H, 30.0), "history": rng.uniform(200, 400, (P, 24)),
        "demand_plan": rng.uniform(200, 400, (P, H)), "statistical_forecast": rng.uniform(200, 400, (P, H)),
        "sales_input": rng.uniform(200, 400, (P, H)), "on_hand": np.full(P, 100.0), "backlog": np.zeros(P),
        "pipeline": np.full(P, 50.0), "factory_of": np.array([0, 0, -1][:P]), "regular_capacity": np.array([30.0]),
        "overtime_capacity": np.array([5.0]), "previous_production": np.full((P, H), np.nan),
        "unit_cost": np.full(P, 5.0), "price": np.full(P, 9.0), "holding_per_day": np.full(P, 0.01),
        "backorder_per_day": np.full(P, 0.1), "inventory_target": np.full((P, H), 100.0),
        "bucket_index": np.arange(H), "overtime_cost_per_unit": np.array([1.0]),
    }
    for a in arrays.values():
        a.setflags(write=False)
    return PlanningState(cycle=0, day=0, products=("A", "B", "C")[:P], families=("F1", "F2"), factories=("F",),
                         frozen=1, slushy=1, **arrays)


def _with(state: PlanningState, **rows: dict[int, Any]) -> PlanningState:
    """The state with some products' rows replaced: ``_with(s, backlog={0: 300.0})``."""
    changes = {}
    for name, by_product in rows.items():
        arr = np.array(getattr(state, name), dtype=float if name != "product_family" else int)
        for p, value in by_product.items():
            arr[p] = value
        arr.setflags(write=False)
        changes[name] = arr
    return replace(state, **changes)


def _launch_state() -> PlanningState:
    """The synthetic state where product A has no forecast (and so no inventory target), no stock and 300 units
    of backlog; B, of the same family and factory, has a forecast, 100 on hand and 50 on order."""
    return _with(synthetic_state(), demand_plan={0: 0.0}, inventory_target={0: 0.0}, backlog={0: 300.0},
                 on_hand={0: 0.0}, pipeline={0: 0.0})


@pytest.mark.parametrize("name", ["chase", "level", "lp"])
def test_a_product_without_forecast_gets_production_for_its_backlog(name: str) -> None:
    """A product whose forecast is zero (just launched, or its orders cancelled) but which owes customers 300
    units is planned those 300 units: the family plan is split by net requirements, not by the forecast mix
    (by which it got nothing, whatever its backlog). Chase makes them in the first bucket."""
    pol = make_policy(name, {})
    assert pol is not None
    production = pol.plan(_launch_state()).production
    assert production[0].sum() == pytest.approx(300, rel=1e-6)
    assert production[0, 0] > 0
    if name == "chase":
        assert production[0, 0] == pytest.approx(300, rel=1e-6)


def _in_force(state: PlanningState, first: list[float]) -> PlanningState:
    """The state with a plan in force for the frozen first bucket (``first``: per product), none beyond."""
    prev = np.full(state.previous_production.shape, np.nan)
    prev[:, 0] = first
    prev.setflags(write=False)
    return replace(state, previous_production=prev)


@pytest.mark.parametrize("name", ["chase", "level", "lp"])
def test_a_family_without_forecast_gets_plant_capacity_after_the_frozen_fence(name: str) -> None:
    """A (family F1 alone) has no forecast, no stock and 300 units of backlog; B (family F2) has a forecast and
    shares A's plant; the plan in force makes none of A in the frozen first bucket. The plant is shared by net
    requirement, so A gets capacity for its 300 units (by forecast share it got none), and they are planned
    after the fence: inside it the new plan is the plan in force, which is what the plant will make."""
    state = _in_force(_with(_launch_state(), product_family={1: 1}), [0.0, 250.0, 0.0])
    pol = make_policy(name, {})
    assert pol is not None
    production = pol.plan(state).production
    np.testing.assert_array_equal(production[:, 0], [0.0, 250.0, 0.0])
    assert production[0, 1:].sum() == pytest.approx(300, rel=1e-6)
    if name == "chase":
        assert production[0, 1] == pytest.approx(300, rel=1e-6)


def test_the_family_plan_starts_from_the_stock_the_frozen_fence_leaves() -> None:
    """The family problem covers the buckets after the frozen fence, from the stock projected at its end: on
    hand and on order less the backlog, plus what the plan in force makes in the fence, less the demand plan
    there and the inventory target at its end. Without a plan in force (the first cycle) it starts at once."""
    base = synthetic_state()
    state = _in_force(base, [500.0, 0.0, 0.0])
    fp = next(f for f in family_problems(state) if f.family == 0)
    assert fp.start == 1 and fp.problem.horizon == state.horizon - 1
    a_b = [0, 1]
    expect = (float((state.on_hand + state.pipeline - state.backlog)[a_b].sum()) + 500.0
              - float(state.demand_plan[a_b, 0].sum()) - float(state.inventory_target[a_b, 0].sum()))
    assert fp.problem.opening_inventory - fp.problem.opening_backlog == pytest.approx(expect)
    assert next(f for f in family_problems(base) if f.family == 0).start == 0


def test_families_with_nothing_to_make_share_their_plant_by_the_forecast_mix() -> None:
    """When stock covers every family's needs, a shared plant's capacity goes by the families' demand plans."""
    state = _with(synthetic_state(), product_family={1: 1}, on_hand={0: 1e6, 1: 1e6})
    caps = {fp.family: np.asarray(fp.problem.production_max) for fp in family_problems(state)}
    demand = np.asarray(state.demand_plan[:2])
    np.testing.assert_allclose(caps[0] / (caps[0] + caps[1]), demand[0] / demand.sum(axis=0), rtol=1e-12)


def test_a_bucket_under_way_without_a_plan_in_force_makes_its_demand_plan() -> None:
    """Before the first plan goes live the warehouses still reorder what they sell, so the plan's projected
    stock counts the bucket under way as making its demand plan (not as making nothing)."""
    sc = simsop.load_scenario(SEASONAL)
    cyc = PlanningCycle(build_world(sc, seed=1), sc, make_policy("chase", {}), {})
    snap = cyc.cutoff(cyc.first)
    state = cyc.state(0, snap, cyc.demand_review(0, snap), cyc.first + 1)  # the plan starts next month
    assert state.demand_before_plan is not None and state.production_before_plan is not None
    assert state.demand_before_plan.sum() > 0
    np.testing.assert_array_equal(state.production_before_plan, state.demand_before_plan)


@pytest.mark.parametrize("state", [synthetic_state(), _launch_state()], ids=["synthetic", "launch"])
@pytest.mark.parametrize("name", ["chase", "level", "hybrid", "lp"])
def test_the_product_split_adds_up_to_the_family_plan(name: str, state: PlanningState) -> None:
    """Whatever the needs, the products of a family are planned exactly the family's plan in every bucket."""
    pol = make_policy(name, {})
    assert isinstance(pol, AggregatePolicy)
    production = pol.plan(state).production
    for f, family in enumerate(state.families):
        made = (state.product_family == f) & (state.factory_of >= 0)
        if made.any():
            np.testing.assert_allclose(production[made].sum(axis=0), pol.last[family].production, rtol=1e-12,
                                       atol=1e-9)
    assert (production[state.factory_of < 0] == 0).all()


@pytest.mark.parametrize("name", ["chase", "level", "lp"])
def test_needs_in_the_forecast_mix_split_the_plan_by_the_forecast_mix(name: str) -> None:
    """When every product needs what its share of the forecast says (A twice B in forecast, target, stock
    and on order, no backlog), the split is the forecast mix, as before net requirements were used: A gets
    2/3 of the family plan in every bucket (the same to rounding, not to the bit)."""
    base = synthetic_state()
    demand_b = np.asarray(base.demand_plan[1])
    state = _with(base, demand_plan={0: 2 * demand_b}, inventory_target={0: 200.0, 1: 100.0},
                  on_hand={0: 200.0, 1: 100.0}, pipeline={0: 100.0, 1: 50.0})
    pol = make_policy(name, {})
    assert isinstance(pol, AggregatePolicy)
    production = pol.plan(state).production
    family = pol.last["F1"].production
    assert family.sum() > 0
    np.testing.assert_allclose(production[0], 2 / 3 * family, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(production[1], 1 / 3 * family, rtol=1e-12, atol=1e-9)


def test_split_by_need_buckets_frozen_production_and_single_products() -> None:
    """Bucket by bucket: what the frozen fence keeps of the plan in force counts as given (A's 200 in bucket 0
    covers its need through bucket 1, so B gets bucket 1); a shortfall is shared by need, a surplus by the
    forecast mix; a family of one product gets exactly all of it (plans of one-product families, like Red
    Tomato's, are bit-identical to the forecast-mix split)."""
    required = np.array([[100.0, 200.0, 300.0], [100.0, 200.0, 300.0]])
    mix = np.full((2, 3), 0.5)
    committed = np.array([[200.0, np.nan, np.nan], [0.0, np.nan, np.nan]])
    none = np.full((2, 3), np.nan)
    sub = np.zeros(3)
    shares = split_by_need(np.array([200.0, 200.0, 200.0]), sub, required, mix, committed)
    np.testing.assert_allclose(shares[:, 1], [0.0, 1.0])
    np.testing.assert_allclose(split_by_need(np.array([100.0, 100.0, 100.0]), sub,
                                             np.array([[300.0, 300, 300], [100, 100, 100]]), mix, none)[:, 0],
                               [0.75, 0.25])
    np.testing.assert_allclose(split_by_need(np.array([600.0, 0.0, 0.0]), sub,
                                             np.array([[300.0, 300, 300], [100, 100, 100]]), mix, none)[:, 0],
                               [(300 + 100) / 600, (100 + 100) / 600])
    np.testing.assert_array_equal(split_by_need(np.array([5.0, 7.0]), np.zeros(2), np.array([[1e9, -3.0]]),
                                                np.ones((1, 2)), np.full((1, 2), np.nan)), np.ones((1, 2)))


@pytest.mark.parametrize("name", [n for n in available_policies() if n != "none"])
def test_every_policy_conforms(name: str, tmp_path: Path) -> None:
    """Every registered policy: a Plan of the right shape, finite and non-negative, the same twice, no
    write to the (read-only) state, the protocol's attributes; and a full simulation with it runs and
    conserves units and orders."""
    params: dict[str, Any] = {}
    if name == "replay":
        rows = ["cycle,product,bucket,production"] + [f"{c},A,{c + 1},100" for c in range(40)]
        f = tmp_path / "d.csv"
        f.write_text("\n".join(rows) + "\n")
        params = {"file": str(f)}
    pol = make_policy(name, params)
    assert pol is not None
    assert isinstance(pol.name, str) and isinstance(pol.respects_fences, bool)
    state = synthetic_state()
    plan1, plan2 = pol.plan(state), pol.plan(state)
    assert isinstance(plan1, Plan)
    assert plan1.production.shape == (3, 6)
    assert np.all(np.isfinite(plan1.production)) and np.all(plan1.production >= -1e-9)
    np.testing.assert_array_equal(plan1.production, plan2.production)
    sc = short(simsop.load_scenario(SEASONAL), horizon=240, warmup=30, policy=name, params=params)
    res = run_replication(sc, seed=4)
    assert 0 <= res.kpis["otif"] <= 1


class _HalfOfDemand:
    name = "half"
    respects_fences = True

    def __init__(self, share: float = 0.5) -> None:
        self.share = share

    def plan(self, state: PlanningState) -> Plan:
        return Plan(production=np.asarray(state.demand_plan) * self.share)


@pytest.mark.parametrize(("name", "params", "path", "message"), [
    ("lp", {"integer_workforce": "maybe"}, "planning.params.integer_workforce", "valid boolean (got 'maybe')"),
    ("level", {"allow_ending_backlog": 1}, "planning.params.allow_ending_backlog", "valid boolean (got 1)"),
    ("chase", {"ending_inventory": "500"}, "planning.params.ending_inventory", "expected a number, got text '500'"),
    ("lp", {"ending_inventory": 1e300}, "planning.params.ending_inventory", "less than or equal to 1000000000000"),
    ("hybrid", {"workforce_quantile": 2}, "planning.params.workforce_quantile", "less than or equal to 1 (got 2)"),
    ("hybrid", {"hybrid": {"workforce_quantile": True}}, "planning.params.hybrid.workforce_quantile",
     "expected a number, got true"),
    ("level", {"colour": "red"}, "planning.params.colour", "unknown key 'colour'"),
    ("replay", {"missing": "hold"}, "planning.params.file", "required key is missing"),
    ("replay", {"file": "d.csv", "missing": "maybe"}, "planning.params.missing", "'error' or 'hold' (got 'maybe')"),
])
def test_policy_parameters_are_typed_and_named_by_key_path(tmp_path: Path, name: str, params: dict[str, Any],
                                                           path: str, message: str) -> None:
    """A policy's parameters are checked like the rest of a scenario file (no "maybe" read as true, no text
    read as a number) and each problem is reported at its key path."""
    (tmp_path / "d.csv").write_text("cycle,product,bucket,production\n0,A,1,5\n", encoding="utf-8")
    data = yaml.safe_load(SEASONAL.read_text(encoding="utf-8"))
    data["planning"].update(policy=name, params=params)
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        simsop.load_scenario(f)
    assert [p.path for p in err.value.problems] == [path], str(err.value)
    assert message in err.value.problems[0].message
    assert make_policy("lp", {"integer_workforce": True}) is not None


def test_custom_policy_by_module_path() -> None:
    """A user's class named `module:Class` in the scenario runs without touching simsop."""
    sc = short(simsop.load_scenario(SEASONAL), horizon=200, policy="tests.test_planning:_HalfOfDemand",
               params={"share": 1.0})
    res = run_replication(sc, seed=1, keep_records=True)
    assert res.records is not None and len(res.records.plan) > 0
    with pytest.raises(PolicyError, match="unknown policy 'nope'"):
        make_policy("nope")
    with pytest.raises(PolicyError, match="cannot import"):
        make_policy("no_such_module:X")
    with pytest.raises(PolicyError, match=r"params\.speed: unknown key 'speed'"):
        make_policy("level", {"speed": 3})
    with pytest.raises(PolicyError, match="bad parameters"):  # a class without a Params model: its own signature
        make_policy("tests.test_planning:_HalfOfDemand", {"speed": 3})


_BESIDE = """
import numpy as np

from simsop.planning.policy import Plan
from {helper} import SHARE


class Mine:
    name = "mine"
    respects_fences = False

    def plan(self, state):
        return Plan(production=np.asarray(state.demand_plan) * SHARE)
"""


def _policy_beside_a_scenario(tmp_path: Path, module: str) -> Path:
    """sop_seasonal copied into a folder with a policy module (and a module it imports) beside it."""
    data = yaml.safe_load(SEASONAL.read_text(encoding="utf-8"))
    data.update(horizon=200, warmup=60)
    data["planning"].update(policy=f"{module}:Mine", params={})
    (tmp_path / f"{module}.py").write_text(_BESIDE.format(helper=f"{module}_share"), encoding="utf-8")
    (tmp_path / f"{module}_share.py").write_text("SHARE = 0.5\n", encoding="utf-8")
    f = tmp_path / "company.yaml"
    f.write_text(yaml.safe_dump(data), encoding="utf-8")
    return f


def test_a_policy_module_beside_the_scenario_is_found_here_and_in_a_fresh_worker(tmp_path: Path) -> None:
    """A planner keeps `my_policy.py` next to the scenario and names `my_policy:Mine` in it: no install and no
    PYTHONPATH. A worker of another interpreter (a spawned process, a Dask worker) finds it from the scenario
    it was sent; a name found nowhere says where it was looked for."""
    import pickle
    import subprocess
    import sys

    f = _policy_beside_a_scenario(tmp_path, "beside_policy_a")
    sc = simsop.load_scenario(f)
    assert sc.source_dir == str(tmp_path.resolve())
    res = run_replication(sc, seed=1, keep_records=True)
    assert res.records is not None and len(res.records.plan) > 0
    # A fresh interpreter that never loaded the file, as a spawned worker: only the unpickled scenario.
    child = ("import pickle, sys; from simsop.replication import run_replication; "
             "sc = pickle.loads(sys.stdin.buffer.read()); print(run_replication(sc, seed=1).kpis['fill_rate'])")
    out = subprocess.run([sys.executable, "-c", child], input=pickle.dumps(sc), capture_output=True,
                         cwd=ROOT, check=False, timeout=120)
    assert out.returncode == 0, out.stderr.decode()
    assert float(out.stdout.decode()) == res.kpis["fill_rate"]
    # The CLI from another folder.
    other = tmp_path / "elsewhere"
    other.mkdir()
    g = _policy_beside_a_scenario(tmp_path / "elsewhere", "beside_policy_b")
    result = CliRunner().invoke(main, ["validate", str(g)])
    assert result.exit_code == 0, result.output
    (other / "beside_policy_b.py").rename(other / "beside_policy_c.py")
    g.write_text(g.read_text(encoding="utf-8").replace("beside_policy_b:", "beside_policy_x:"), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(g)])
    assert result.exit_code != 0
    assert "planning.policy" in result.output and "beside_policy_x" in result.output
    assert f"not beside the scenario in {other.resolve()}" in result.output


def test_policy_params_can_be_namespaced() -> None:
    assert policy_params({"hybrid": {"workforce_quantile": 0.6}}, "hybrid") == {"workforce_quantile": 0.6}
    assert policy_params({"hybrid": {"workforce_quantile": 0.6}}, "lp") == {}
    assert policy_params({"file": "x.csv"}, "replay") == {"file": "x.csv"}


def test_bucket_starts_follow_calendar_months() -> None:
    s = bucket_starts("month", 0, 400)
    assert list(s[(s >= 0) & (s < 400)][:13]) == [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365]
    w = bucket_starts("week", -14, 30)
    assert list(w[(w >= -14) & (w <= 28)]) == [-14, -7, 0, 7, 14, 21, 28]


def _shop_scenario(tmp: Path, days_of_cover: float) -> Scenario:
    """sop_seasonal plus a shop that reorders product A from the DC (base stock, daily, 2 days away) and whose
    reorder levels each plan sets from its demand plan and inventory target."""
    data = yaml.safe_load(SEASONAL.read_text(encoding="utf-8"))
    add_reordering_shop(data, "A", "walk_in")
    data.update(horizon=500, warmup=100)
    data["planning"].update(policy="chase", days_of_cover=days_of_cover, set_execution_levels=True)
    return simsop.load_scenario(write(tmp, f"shop_{days_of_cover:g}.yaml", yaml.safe_dump(data)))


def _levels_and_records(sc: Scenario) -> tuple[np.ndarray, Any]:
    """The shop's order-up-to level in force on each day (read at midday), and the run's records."""
    levels = np.full(sc.horizon, np.nan)

    def watch(world: Any) -> Any:
        shop = world.warehouses[world.warehouse_index("Shop")]
        yield world.env.timeout(0.5)
        for day in range(sc.horizon):
            levels[day] = shop.rules[0].level
            yield world.env.timeout(1)

    res = run_replication(sc, seed=5, keep_records=True, processes=(watch,))
    return levels, res.records


def test_inventory_targets_set_the_reorder_levels_of_the_points_that_still_reorder(tmp_path: Path) -> None:
    """From each plan's go-live, the shop orders up to its share of the plan's inventory target plus its
    demand over the lead time and half a review period: S = target x 5/25 + (plan rate x 5/25) x (2 + 1/2)."""
    levels, rec = _levels_and_records(_shop_scenario(tmp_path, 10))
    plan = rec.plan
    a = plan["product"] == 0
    cycles = sorted(set(plan["cycle"][a].tolist()))
    checked = 0
    for c in cycles:
        mine = a & (plan["cycle"] == c)
        first = mine & (plan["bucket"] == plan["bucket"][mine].min())
        live = int(plan["effective"][first][0])
        until = int(plan["effective"][a & (plan["cycle"] == c + 1)][0]) if c + 1 in cycles else len(levels)
        if live >= len(levels):
            continue
        share = 5 / 25
        rate = float(plan["demand_plan"][first][0]) / float(plan["bucket_days"][first][0])
        expect = float(plan["inventory_target"][first][0]) * share + rate * share * 2.5
        days = slice(live, min(until, len(levels)))
        assert levels[days] == pytest.approx(np.full(len(levels[days]), expect)), c
        checked += 1
    assert checked >= 10
    assert levels[0] == 60  # before the first plan: the scenario's own level


def test_a_higher_inventory_target_holds_that_much_more_stock(tmp_path: Path) -> None:
    """Twenty days of cover instead of ten: on the same random future the shop holds more stock on hand by
    the rise of its order-up-to level (its share of the extra target), give or take the days around a change."""
    lo_levels, lo = _levels_and_records(_shop_scenario(tmp_path, 10))
    hi_levels, hi = _levels_and_records(_shop_scenario(tmp_path, 20))
    shop = lo.meta.warehouses.index("Shop")
    sku = int(np.flatnonzero(lo.meta.sku_warehouse == shop)[0])
    days = slice(120, 480)
    more_stock = float(hi.snapshots.on_hand[days, sku].mean() - lo.snapshots.on_hand[days, sku].mean())
    more_level = float(np.mean(hi_levels[days] - lo_levels[days]))
    assert more_level > 20
    assert more_stock == pytest.approx(more_level, rel=0.1)


def test_the_sales_team_knows_planned_launches_and_a_launched_product_has_no_past() -> None:
    """The synthetic sales history before day 0 has nothing for a product launched during the run, and the
    sales team's view of the market includes the launch (the company plans it) but not a surprise."""
    from simsop.shocks import apply_shocks

    sc = simsop.load_scenario(ROOT / "scenarios" / "teach_launch_phaseout.yaml")
    world = build_world(sc, seed=1)
    cyc = PlanningCycle(world, sc, make_policy("chase", {}), {})
    nova, classic = sc.products.index(next(p for p in sc.products if p.id == "nova")), 0
    past = np.stack([cyc.sales[b] for b in range(cyc.first)], axis=1)
    assert past[nova].sum() == 0 and past[classic].sum() > 0
    day = cyc.day0
    assert cyc.true_daily[nova, day: day + 59].sum() == 0  # launched on day 59
    assert cyc.true_daily[nova, day + 59] > 0
    assert cyc.true_daily[classic, day + 300] < 0.5 * cyc.true_daily[classic, day + 100]  # the phase-out
    surprise = apply_shocks(sc, [{"name": "drop", "type": "demand_step", "products": ["classic"], "start": 100,
                                  "duration": 50, "magnitude": -0.5}])
    cyc2 = PlanningCycle(build_world(surprise, seed=1), surprise, make_policy("chase", {}), {})
    assert np.array_equal(cyc2.true_daily, cyc.true_daily)



# ---------------------------------------------------------------------------------------------- safety stock


def _example(**planning: Any) -> Scenario:
    if isinstance(planning.get("safety_stock"), dict):
        planning["safety_stock"] = SafetyStockSpec(**planning["safety_stock"])
    return short(simsop.load_scenario(ROOT / "scenarios" / "example_company.yaml"), horizon=450, **planning)


def _supply_lead_days(sc: Scenario) -> dict[str, float]:
    """Per product, days from the plant or supplier to the shelf of the warehouse it ships to (the scenario's
    means: supplier lead time with the mean delay of the share of orders it ships late, lane transit and order
    delay)."""
    sites = {f.id for f in sc.factories} | {s.id for s in sc.suppliers}
    out: dict[str, float] = {}
    for wh in sc.warehouses:
        for st in wh.stock:
            if st.source not in sites:
                continue
            sup = next((s for s in sc.suppliers if s.id == st.source), None)
            lane = sc.lane(st.source, wh.id)
            own = sup.lead_time.mean + (1 - sup.reliability) * sup.delay.mean if sup else 0.0
            days = own + (lane.lead_time.mean + lane.order_delay if lane else 0.0)
            out[st.product] = max(out.get(st.product, 0.0), days)
    return out


def test_the_safety_stock_is_z_sigma_sqrt_protection_from_the_recorded_forecast_errors() -> None:
    """Chopra & Meindl: ss = z sigma sqrt(L). Recomputed here from the run's records: sigma is the RMSE of each
    plan's consensus forecast for its first bucket against that bucket's booked sales, over the buckets closed
    by the cycle's cut-off; L = the frozen fence + the plant-to-shelf lead time in buckets; z = Phi^-1(0.95)."""
    from statistics import NormalDist

    sc = _example(safety_stock={"service_level": 0.95})
    rec = run_replication(sc, seed=3, policy="lp", keep_records=True).records
    assert rec is not None
    plan, fcs, bs = rec.plan, rec.forecasts, rec.bucket_sales
    sales = {(int(b), int(p)): u for b, p, u in zip(bs["bucket"], bs["product"], bs["units"], strict=True)}
    cutoff = {int(c): int(fcs["bucket"][(fcs["cycle"] == c) & (fcs["lag"] == 0)][0])
              for c in np.unique(fcs["cycle"])}
    first = {int(c): int(plan["bucket"][plan["cycle"] == c].min()) for c in np.unique(plan["cycle"])}
    forecast_of = {}  # (bucket, product) -> the consensus the plan starting with that bucket had for it
    for c, fb in first.items():
        sel = (fcs["cycle"] == c) & (fcs["bucket"] == fb)
        for p, q in zip(fcs["product"][sel], fcs["consensus"][sel], strict=True):
            forecast_of[(fb, int(p))] = q
    z = NormalDist().inv_cdf(0.95)
    lead = _supply_lead_days(sc)
    checked = 0
    for c in sorted(first):
        errors_of = [b for b in sorted({b for b, _ in forecast_of}) if b < cutoff[c] and (b, 0) in sales]
        if len(errors_of) < 3:
            continue
        mine = plan["cycle"] == c
        days = plan["bucket_days"][mine & (plan["product"] == 0)].astype(float)
        for p, prod in enumerate(sc.products):
            row = mine & (plan["product"] == p)
            errors = np.array([sales[(b, p)] - forecast_of[(b, p)] for b in errors_of])
            sigma = float(np.sqrt(np.mean(errors**2)))
            protection = sc.planning.frozen_buckets + lead[prod.id] / days.mean()
            cover = sc.planning.days_of_cover * plan["demand_plan"][row] / plan["bucket_days"][row]
            np.testing.assert_allclose(plan["inventory_target"][row] - cover, z * sigma * np.sqrt(protection),
                                       rtol=1e-9, atol=1e-9)
            checked += 1
    assert checked >= 5 * len(sc.products)
    # Before there are three errors, the target still carries a safety stock (from the forecast's fit).
    c0 = plan["cycle"] == 0
    cover0 = sc.planning.days_of_cover * plan["demand_plan"][c0] / plan["bucket_days"][c0]
    assert (plan["inventory_target"][c0] > cover0).any()


def test_without_a_safety_stock_the_target_is_the_days_of_cover_exactly() -> None:
    sc = _example(safety_stock=None)
    state, _ = first_state(sc, "lp")
    np.testing.assert_array_equal(state.inventory_target,
                                  sc.planning.days_of_cover * state.demand_plan / state.bucket_days)
    with_ss, _ = first_state(_example(safety_stock={"service_level": 0.9}), "lp")
    assert sc.planning.safety_stock is None
    assert (with_ss.inventory_target >= state.inventory_target).all()
    assert (with_ss.inventory_target > state.inventory_target).any()


def test_a_higher_service_level_holds_more_stock() -> None:
    kpis = ("avg_on_hand",)
    lo = run_replication(_example(safety_stock={"service_level": 0.6}), seed=5, policy="lp").kpis
    hi = run_replication(_example(safety_stock={"service_level": 0.99}), seed=5, policy="lp").kpis
    assert all(hi[k] > lo[k] for k in kpis)


# ---------------------------------------------------------------------------------------------- yield


def _with_yield(sc: Scenario, factory: str, value: float) -> Scenario:
    facs = tuple(f.model_copy(update={"yield_": simsop.scenario.Deterministic(value=value)}) if f.id == factory
                 else f for f in sc.factories)
    return sc.model_copy(update={"factories": facs})


def test_plans_are_in_good_units_and_the_plant_starts_plan_over_yield() -> None:
    """F-South scraps 20%: the policy sees its capacity in good units, the plant is asked plan / 0.8, and the
    good units it makes meet the plan bucket by bucket (capacity allows: demand is about half of it)."""
    sc = _with_yield(_example(), "F-South", 0.8)
    state, _ = first_state(sc, "lp")
    south = state.factories.index("F-South")
    assert state.regular_capacity[south] == pytest.approx(40 * 0.8)
    assert state.overtime_capacity[south] == pytest.approx(10 * 0.8)
    rec = run_replication(sc, seed=2, policy="lp", keep_records=True).records
    assert rec is not None
    plan, pp, fd = rec.plan, rec.planned_production, rec.factory_days
    sa = [i for i, p in enumerate(sc.products) if p.id.startswith("SA-0") and p.id != "SA-04"]
    buckets = sorted({int(b) for b in plan["bucket"]})
    checked = 0
    for b in buckets:
        rows = plan["bucket"] == b
        start, days = int(plan["bucket_start"][rows][0]), int(plan["bucket_days"][rows][0])
        if start + days > sc.horizon:
            continue
        effective = plan["effective"][rows]
        live = rows & (plan["effective"] <= start)
        if not live.any() or effective.min() > start:
            continue
        in_force = live & (plan["cycle"] == plan["cycle"][live].max())
        good_plan = sum(float(plan["production"][in_force & (plan["product"] == p)][0]) for p in sa)
        in_bucket = (pp["day"] >= start) & (pp["day"] < start + days) & (pp["factory"] == south)
        asked = float(pp["qty"][in_bucket].sum())
        assert asked == pytest.approx(good_plan / 0.8, rel=1e-9, abs=1e-6)
        made = (fd["day"] >= start) & (fd["day"] < start + days) & (fd["factory"] == south)
        good = 0.8 * float(fd["regular_used"][made].sum() + fd["overtime_used"][made].sum())
        assert good == pytest.approx(good_plan, rel=1e-6, abs=1e-6)
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize("policy", ["chase", "level", "hybrid"])
def test_a_plan_the_slushy_fence_keeps_is_staffed_to_be_made(policy: str) -> None:
    """Red Tomato with fences (1 frozen, 2 slushy months moving at most 10%) and a biased sales input: where the
    meeting keeps more production than a rule's proposal, it also keeps the workers to make it. Every agreed
    bucket inside the fences is within what its planned regular capacity and the overtime of that staff can make
    (beyond them the proposal's own capacity model holds; chase had asked
    1,611 units of 14.9 workers who can make 634, and then missed the plan it froze)."""
    data = yaml.safe_load((ROOT / "scenarios" / "red_tomato_lp.yaml").read_text(encoding="utf-8"))
    data.update(horizon=360)
    data["planning"].update(policy=policy, params={}, frozen_buckets=1, slushy_buckets=2, slushy_change_limit=0.1,
                            sales={"bias": 0.1, "noise": 0.1})
    sc = parse_scenario(data)
    share = sc.planning.workforce[0].overtime_hours_fraction  # overtime hours per regular hour of the staff
    for rep in range(3):
        res = run_replication(sc, seed=8, replication=rep, keep_records=True)
        rec = res.records
        assert rec is not None
        plan = rec.to_frames()["plan"]
        fenced = plan["bucket"] - plan.groupby("cycle")["bucket"].transform("min") < 3  # the meeting decides these
        plan = plan[plan["workforce"].notna() & fenced]
        assert len(plan) > 0
        can_make = plan["workforce"] * (1 + share) * plan["bucket_days"]
        assert (plan["production"] <= can_make + 1e-6).all(), plan[plan["production"] > can_make + 1e-6]
        assert res.kpis["plan_attainment"] > 0.95


def test_a_rolling_lp_without_an_end_condition_still_plans_to_serve_its_horizon() -> None:
    """Red Tomato with no ending inventory or backlog condition (the lp's defaults): a backlog the plan may
    end with is priced at the revenue it loses, so the first plan makes the horizon's demand net of the opening
    stock. Without that price it laid off 65 of 80 workers, made 600 units and planned to end with the whole
    horizon's demand backlogged (material costs more than a few months of backlog)."""
    data = yaml.safe_load((ROOT / "scenarios" / "red_tomato_lp.yaml").read_text(encoding="utf-8"))
    data["planning"]["params"] = {}
    sc = parse_scenario(data)
    rec = run_replication(sc, seed=8, keep_records=True).records
    assert rec is not None
    plan = rec.to_frames()["plan"]
    first = plan[plan["cycle"] == 0]
    opening = sum(it.initial for w in sc.warehouses for it in w.stock)
    assert first["production"].sum() >= first["demand_plan"].sum() - opening - 1e-6
    assert (first["production"] > 0).all()


@pytest.mark.parametrize("policy", ["level", "chase", "hybrid", "lp"])
def test_a_plan_s_notes_give_its_cost_without_the_placeholder_for_fixed_capacity(policy: str) -> None:
    """sop_seasonal's plants have no workforce: the problems keep their capacity by pricing changes of their
    "workers" at 1e7, which the notes added to the plan's cost (chase 387,786,183 against about 71k for lp).
    A note's cost is the plan's own: its categories without hiring and layoffs."""
    import re

    state, pol = first_state(simsop.load_scenario(SEASONAL), policy)
    plan = pol.plan(state)
    costs = [float(c.replace(",", "")) for c in re.findall(r"cost ([\d,.]+)", plan.notes)]
    assert costs, plan.notes
    expected = [ap.total_cost - ap.costs.hiring - ap.costs.layoff for ap in pol.last.values()]
    assert costs == pytest.approx(expected, abs=0.5)
    assert max(costs) < 1e6, plan.notes


def test_labour_cost_pays_the_staffed_workforce_through_a_capacity_shock_and_adds_up_over_windows() -> None:
    """A factory outage idles Red Tomato's workers: they are not laid off on its first day and hired back on its
    last (the cost read the shocked capacity as the workforce, +$31,000 for a 10-day outage), and their wages
    are paid. Labour and subcontracting of consecutive windows (a workshop's months) add up to the run's: each
    window counted every later day too."""
    from simsop.kpi import window_view
    from simsop.planning.kpis import _workforce_costs

    data = yaml.safe_load((ROOT / "scenarios" / "red_tomato_lp.yaml").read_text(encoding="utf-8"))
    data["shocks"] = [{"name": "fire", "type": "factory_outage", "factory": "Plant", "start": 50, "duration": 10}]
    sc = parse_scenario(data)
    rec = run_replication(sc, seed=8, keep_records=True).records
    assert rec is not None
    fd = rec.factory_days
    assert (fd["regular_capacity"][50:60] == 0).all() and (fd["staffed_capacity"][50:60] > 0).all()
    workers = fd["staffed_capacity"] / 2
    assert (workers[50:60] == workers[49]).all()  # the plan's workforce of the bucket, through the outage
    later = np.diff(workers)
    expected = (32 * workers.sum() + 500 * (80 - workers[0])
                + 300 * np.maximum(later, 0).sum() + 500 * np.maximum(-later, 0).sum())
    whole = _workforce_costs(rec, sc)
    assert whole["labor_cost"] == pytest.approx(expected)
    edges = [0, 30, 60, 90, 120]
    parts = [_workforce_costs(window_view(rec, a, b), sc) for a, b in itertools.pairwise(edges)]
    for key in ("labor_cost", "subcontract_cost"):
        assert sum(p[key] for p in parts) == pytest.approx(whole[key]), key


def test_a_plant_s_overtime_grows_and_shrinks_with_the_staff_a_plan_sets() -> None:
    """Red Tomato's overtime is hours per worker (10 a month on 160 regular hours): the plans count it so, and
    the simulated plant now gives it so, a share of the staff each plan sets (it kept the scenario's 10 units a
    day whatever the staff). With fences and the chase rule the plant works overtime on staffs of every size."""
    data = yaml.safe_load((ROOT / "scenarios" / "red_tomato_lp.yaml").read_text(encoding="utf-8"))
    data.update(horizon=360)
    data["planning"].update(policy="chase", params={}, frozen_buckets=1, slushy_buckets=2, slushy_change_limit=0.1,
                            sales={"bias": 0.1, "noise": 0.1})
    sc = parse_scenario(data)
    share = sc.planning.workforce[0].overtime_hours_fraction
    assert sc.factories[0].capacity.overtime == pytest.approx(sc.factories[0].capacity.regular * share)
    rec = run_replication(sc, seed=8, keep_records=True).records
    assert rec is not None
    fd = rec.factory_days
    staffed, ot = fd["staffed_capacity"], fd["overtime_used"]
    assert (ot <= staffed * share + 1e-9).all()
    busy = ot > 0
    assert busy.any() and (staffed[busy] < 150).any() and (staffed[busy] > 170).any(), np.unique(staffed[busy])


def test_the_bucket_that_ends_with_the_run_is_booked_and_one_it_cuts_short_is_not() -> None:
    """Red Tomato runs six 20-day months: the last month's sales are booked when the run ends (no cycle follows
    to close its books), so its forecasts are judged like the others'; they are the orders placed in it. A run
    that ends inside a month does not book that month."""
    from simsop.report.extract import plan_vs_actual

    sc = simsop.load_scenario(ROOT / "scenarios" / "red_tomato_lp.yaml")
    rec = run_replication(sc, seed=8, keep_records=True).records
    assert rec is not None
    sales = rec.to_frames()["bucket_sales"]
    last = int(sales["bucket"].max())
    start = int(rec.plan["bucket_start"][rec.plan["bucket"] == last][0])
    assert start + 20 == sc.horizon
    orders, lines = rec.to_frames()["orders"], rec.to_frames()["lines"]
    placed = orders.set_index("order_id")["time"].reindex(lines["order_id"]).to_numpy()
    in_last = (placed >= start) & (placed < sc.horizon)
    assert sales[sales["bucket"] == last]["units"].sum() == pytest.approx(lines["qty"][in_last].sum())
    table = plan_vs_actual(rec, sc)
    assert np.isfinite(np.asarray(table["actual_sales"], dtype=float)).all()
    short = run_replication(sc.model_copy(update={"horizon": 110}), seed=8, keep_records=True).records
    assert short is not None
    assert last not in set(short.to_frames()["bucket_sales"]["bucket"].tolist())
