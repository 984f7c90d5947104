"""The Beer Game (scenarios/beer_game.yaml): the classic board week by week, and the bullwhip effect of
Sterman's anchor-and-adjust ordering rule.

The expected table was derived by hand from the board's rules, not from the simulator. Weeks are the
board's (1-based); week w's deliveries, incoming orders and customer demand come before the order placed
in week w. With every stage passing its incoming order on and two weeks of order delay and two of shipping
at every link, and at the factory one week for its production request and two of brewing:

* customer demand D_w = 4 for w <= 4, 8 from week 5; the retailer orders D_w, the wholesaler D_{w-2}, the
  distributor D_{w-4}, the factory D_{w-6} (the initial pipelines carry 4 a week);
* the factory receives its own order of three weeks before (4 a week until week 13, 8 from week 14), just
  in time: it ships 4 until week 10, then 8, and never runs a backlog; every other stage receives what its
  supplier shipped two weeks before and ships its backlog and then the new order as far as its stock goes
  (the distributor: 8 in weeks 9-11, 4 in week 12 - its stock ran out - then 8; the wholesaler likewise two
  weeks later with one more 4-week, and so on down the chain);
* net stock N_w = N_{w-1} + received - ordered from it, from 12: on hand max(N, 0), backlog max(-N, 0).
  E.g. the retailer: 12 (weeks 1-4), 8, 4, 0, -4 (weeks 8-11: the doubled shipments arrive in week 9),
  -8 (weeks 12-15, after a 4 in week 12), -12 from week 16: each 4-week upstream costs it 4 more cases
  of backlog.

Costs per week ($0.50 on hand, $1.00 backlog, all stages): 24 a week until week 4, 24 in week 20.
(tests/test_beer_game_board.py plays the board's chips step by step for all 36 weeks.)
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import simsop
from simsop.replication import build_world, run_replication
from simsop.scenario import ScenarioError, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
BEER = ROOT / "scenarios" / "beer_game.yaml"
STAGES = ("retailer", "wholesaler", "distributor", "factory")
WEEKS = 20

# Hand-checked board, weeks 1..20 (see the module docstring).
ORDERS = {
    "retailer": [4] * 4 + [8] * 16,
    "wholesaler": [4] * 6 + [8] * 14,
    "distributor": [4] * 8 + [8] * 12,
    "factory": [4] * 10 + [8] * 10,
}
ON_HAND = {
    "retailer": [12, 12, 12, 12, 8, 4] + [0] * 14,
    "wholesaler": [12] * 6 + [8, 4] + [0] * 12,
    "distributor": [12] * 8 + [8, 4] + [0] * 10,
    "factory": [12] * 10 + [8, 4] + [0] * 8,
}
BACKLOG = {
    "retailer": [0] * 7 + [4] * 4 + [8] * 4 + [12] * 5,
    "wholesaler": [0] * 9 + [4] * 4 + [8] * 7,
    "distributor": [0] * 11 + [4] * 9,
    "factory": [0] * 20,
}


def beer_data() -> dict[str, Any]:
    return yaml.safe_load(BEER.read_text())


def weekly(rec: Any) -> dict[str, dict[str, list[float]]]:
    """Per stage and board week: order placed, on hand and backlog after the week's deliveries."""
    out: dict[str, dict[str, list[float]]] = {}
    snap = rec.snapshots
    rp = rec.replenishments
    for i, st in enumerate(rec.meta.warehouses):
        if st not in STAGES:
            continue
        # Board week w + 1 is days 7w..7w+6: deliveries and orders on its first day, its order the next day.
        days = [7 * w for w in range(WEEKS)]
        sel = rp["warehouse"] == i
        orders = np.zeros(60)
        np.add.at(orders, (rp["time"][sel] // 7).astype(int), rp["qty"][sel])
        out[st] = {"orders": orders[:WEEKS].tolist(), "on_hand": snap.on_hand[days, i].tolist(),
                   "backlog": (snap.backlog[days, i] + snap.internal_backlog[days, i]).tolist()}
    return out


def test_pass_through_matches_the_board_week_by_week() -> None:
    sc = simsop.load_scenario(BEER)
    res = run_replication(sc, seed=3, replication=5, keep_records=True)
    assert res.records is not None
    got = weekly(res.records)
    for st in STAGES:
        assert got[st]["orders"] == ORDERS[st], st
        assert got[st]["on_hand"] == ON_HAND[st], st
        assert got[st]["backlog"] == BACKLOG[st], st
    # Every stage's cost is $0.50 a case on hand and $1.00 a case of backlog per week. simsop counts it per
    # day (0.5/7, 1/7) and a week's state holds for its seven days, so the sums are the board's.
    snap = res.records.snapshots
    on_hand = snap.on_hand[::7].sum(axis=1)
    backlog = (snap.backlog + snap.internal_backlog)[::7].sum(axis=1)
    assert len(on_hand) == 36
    board_cost = [0.5 * sum(ON_HAND[st][w] for st in STAGES) + sum(BACKLOG[st][w] for st in STAGES)
                  for w in range(WEEKS)]
    np.testing.assert_allclose(0.5 * on_hand[:WEEKS] + backlog[:WEEKS], board_cost)
    assert board_cost[:4] == [24] * 4 and board_cost[WEEKS - 1] == 24  # 12 + 8 + 4 + 0 cases of backlog
    assert res.kpis["holding_cost"] == pytest.approx(0.5 * on_hand.sum())
    # The KPIs charge customer backlog only; the workshop's stage costs charge internal backlog too.
    from simsop.workshop.metrics import metrics

    m = metrics(res.records, sc, 0, sc.horizon)
    assert m["total_cost"] == pytest.approx(0.5 * on_hand.sum() + backlog.sum())
    assert snap.internal_backlog[::7, 2].sum() > 0
    assert m["stage_costs"]["distributor"]["backlog"] == pytest.approx(snap.internal_backlog[::7, 2].sum())


def test_the_game_is_deterministic_and_starts_in_steady_state() -> None:
    sc = simsop.load_scenario(BEER)
    a = run_replication(sc, seed=1, replication=0, keep_records=True).records
    b = run_replication(sc, seed=99, replication=7, keep_records=True).records
    assert a is not None and b is not None
    for f in ("on_hand", "backlog", "internal_backlog", "on_order"):
        np.testing.assert_array_equal(getattr(a.snapshots, f), getattr(b.snapshots, f))
    # The board's initial state: 12 on hand, 2 shipments and 2 orders of 4 under way at every stage but
    # the factory, which has 2 batches brewing and 1 production request.
    w = build_world(sc)
    assert [wh.on_hand[0] for wh in w.warehouses] == [12] * 4
    assert [wh.on_order[0] for wh in w.warehouses] == [16, 16, 16, 12]


def aa_policy(**kw: Any) -> dict[str, Any]:
    """Sterman's (1989) average estimates: theta 0.36, alpha_S 0.26, beta 0.34 (alpha_SL = beta x alpha_S)."""
    return {"type": "anchor_and_adjust", "theta": 0.36, "alpha_s": 0.26, "alpha_sl": 0.34 * 0.26,
            "desired_stock": 12, "desired_supply_line": 12, "initial_expected": 4, "review_period": 7,
            "review_offset": 1, **kw}


def order_variances(data: dict[str, Any], seed: int = 1, replication: int = 0, weeks: int = 52) -> list[float]:
    sc = parse_scenario(data, "<beer>")
    rec = run_replication(sc, seed=seed, replication=replication, keep_records=True).records
    assert rec is not None
    rp = rec.replenishments
    out = []
    for i in range(4):
        sel = rp["warehouse"] == i
        orders = np.zeros(weeks + 8)
        np.add.at(orders, (rp["time"][sel] // 7).astype(int), rp["qty"][sel])
        out.append(float(np.var(orders[:weeks])))
    return out


def test_anchor_and_adjust_orders_swing_more_at_every_stage_upstream() -> None:
    """The bullwhip effect: with the classic demand step, order variance rises from retailer to factory;
    with random (Poisson) weekly demand too, on average over replications."""
    data = beer_data()
    data["horizon"] = 7 * 60
    for w in data["warehouses"]:
        w["stock"][0]["policy"] = aa_policy()
    v = order_variances(data)
    assert v[0] < v[1] < v[2] < v[3], v
    assert v[3] > 10 * v[0]
    data["shocks"] = []
    data["customers"][0]["demand"][0]["daily"] = {"dist": "poisson", "mean": 4}
    vs = np.array([order_variances(data, seed=5, replication=r) for r in range(4)]).mean(axis=0)
    assert vs[0] < vs[1] < vs[2] < vs[3], vs


def test_the_workshop_debrief_shows_the_bullwhip_of_anchor_and_adjust_bots(tmp_path: Path, monkeypatch: Any) -> None:
    """A workshop whose teams never decide is played by Sterman's rule: the debrief's amplification chart
    climbs from retailer to factory (on a log scale, one point per stage)."""
    from simsop.workshop.game import Workshop
    from tests.helpers import debrief_figures

    ws = Workshop.create(BEER, tmp_path / "beer", ["A"], rounds=20, bot={"type": "anchor_and_adjust", **{
        k: v for k, v in aa_policy().items() if k not in ("type", "review_period", "review_offset")}})
    for _ in range(20):
        ws.advance()
    data = ws.debrief_data()
    ratios = [data["teams"]["A"]["stages"][s]["bullwhip"] for s in STAGES]
    assert ratios == sorted(ratios) and ratios[0] > 1, ratios
    figs = debrief_figures(data, monkeypatch)
    amp = next(f for title, f in figs.items() if title.startswith("How much each stage amplifies"))
    line = next(ln for ln in amp.axes[0].lines if ln.get_gid() == "amplification:A")
    assert list(line.get_ydata()) == pytest.approx(ratios) and amp.axes[0].get_yscale() == "log"


def test_a_bot_takes_over_knowing_the_demand() -> None:
    """Scheduled orders (a team's) on some weeks; on the others the pass-through bot orders what came in,
    not counting the team's orders as demand."""
    sc = simsop.load_scenario(BEER)
    w = build_world(sc)
    w.plan.schedule_orders("retailer", "beer", {1: 10, 8: 0, 15: 6})
    rec = w.run()
    rp = rec.replenishments
    sel = rp["warehouse"] == 0
    placed = dict(zip(rp["time"][sel].tolist(), rp["qty"][sel].tolist(), strict=True))
    assert placed[1.0] == 10 and 8.0 not in placed and placed[15.0] == 6
    assert placed[22.0] == 4 and placed[29.0] == 8  # the bot: demand of weeks 4 and 5 (4, then 8)


@pytest.mark.parametrize(("patch", "message"), [
    (lambda d: d["warehouses"][0]["stock"][0].pop("source"), "pipeline needs a 'source'"),
    (lambda d: d["warehouses"][0]["stock"][0]["pipeline"]["goods"].update({400: 4}), "not inside the horizon"),
    (lambda d: d["warehouses"][0]["stock"][0]["policy"].update(review_period=0), "greater than or equal to 1"),
    (lambda d: d["workshop"].update(roles=["retailer", "brewery"]), "unknown warehouse 'brewery'"),
    (lambda d: d["workshop"].update(bot="level"), "an 'orders' game's bot"),
])
def test_bad_beer_files_are_explained(patch: Any, message: str) -> None:
    data = copy.deepcopy(beer_data())
    patch(data)
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data, "beer.yaml")
    assert message in str(err.value)
