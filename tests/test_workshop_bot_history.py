"""A workshop's rounds already played keep the bot that played them when the facilitator changes the bot.

What teams were shown (the leaderboard, each round's KPIs, the dashboards) must stay true: a bot edited into
``workshop.yaml`` between rounds decides from the next round on, and the roles nobody plays are not played
again from day 0 with it. Settings that would change what the bot did in the rounds played (the seed, the
rounds' days, who plays which role) are refused with a message that says how to go on. Sterman's (1989) rule
may be given with his own ``beta`` (alpha_sl = beta x alpha_S).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from pydantic import TypeAdapter

from simsop.scenario import PolicySpec, ScenarioError, parse_scenario, scenario_hash
from simsop.workshop.game import Workshop, WorkshopError
from simsop.workshop.metrics import metrics
from tests.helpers import COLLAPSE_GAME

ROOT = Path(__file__).resolve().parent.parent
BEER = ROOT / "scenarios" / "beer_game.yaml"
ROLES = ("retailer", "wholesaler", "distributor", "factory")
# Sterman's (1989) mean estimates: theta 0.36, alpha_S 0.26, beta 0.34; the board's 12 in stock and on order.
STERMAN = {"type": "anchor_and_adjust", "theta": 0.36, "alpha_s": 0.26, "alpha_sl": 0.34 * 0.26,
           "desired_stock": 12, "desired_supply_line": 12, "initial_expected": 4}
RETAILER = [4, 8, 6, 12, 10, 8, 5]  # team A's orders, rounds 1-7 (a step that makes the bots react)


def edit_config(root: Path, **changes: Any) -> None:
    """The facilitator's hand edit of workshop.yaml between rounds."""
    path = root / "workshop.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def replayed(ws: Workshop, team: str, k: int) -> dict[str, Any]:
    """Round k's totals as a run of the workshop now plays them again."""
    cal = ws.calendar
    rows = [r for r in ws.read_decisions(team) if r.round <= k]
    return metrics(ws.run(team, rows, cal.end(k)).records, ws.scenario, 0, cal.account_end(k))


def beer_retailer_game(root: Path, rounds_played: int) -> Workshop:
    """Teams A and B play the retailer; the stages' own rule (pass the order on) plays the rest."""
    ws = Workshop.create(BEER, root, ["A", "B"], roles=["retailer"], rounds=10)
    for k in range(rounds_played):
        ws.submit("A", {"retailer": RETAILER[k]})
        ws.submit("B", {"retailer": 4})
        ws.advance()
    return ws


def test_rounds_played_keep_their_bot_when_it_changes(tmp_path: Path) -> None:
    """Six rounds with the pass-through stages, then Sterman's rule edited in for every stage: the rounds played
    are played again exactly as shown (every KPI of every round, to the last bit), and round 7's totals are round
    6's plus round 7's own (before, the wholesaler, distributor and factory were played again from day 0 by
    Sterman's rule: team A's cost after round 4 moved from the 94.00 shown to 94.18)."""
    root = tmp_path / "beer"
    ws = beer_retailer_game(root, 6)
    shown = {k: {t: ws._results(t, k) for t in ws.teams} for k in range(7)}
    board6 = ws.leaderboard(6)
    edit_config(root, bot=STERMAN)
    ws = Workshop.open(root)
    for k in range(1, 7):
        for t in ws.teams:
            again = replayed(ws, t, k)
            for key in ("total_cost", "profit", "otif", "fill_rate", "avg_backlog"):
                assert again[key] == shown[k][t]["metrics"][key], (k, t, key)
    assert ws.leaderboard(6) == board6
    ws.submit("A", {"retailer": RETAILER[6]})
    ws.submit("B", {"retailer": 4})
    out = ws.advance()
    assert any("the bot changed after round 6" in w and "anchor_and_adjust" in w for w in out["warnings"])
    for t in ws.teams:
        doc = ws._results(t, 7)
        # Costs add up over weeks: the totals after round 7 are the shown totals of round 6 and round 7's own.
        assert doc["metrics"]["total_cost"] == pytest.approx(
            shown[6][t]["metrics"]["total_cost"] + doc["round_metrics"]["total_cost"], abs=1e-9)
        assert doc["bot"] == ws.current_bot and shown[6][t]["bot"] == "scenario"


def test_the_new_bot_takes_over_as_a_team_roles_bot_does(tmp_path: Path) -> None:
    """The bot edited in decides round 7 from where the stages stand, having watched their demand from day 0, as
    the bot of a team's role does after the team's orders: a second workshop in which team A plays every stage,
    ordering in rounds 1-6 what the first workshop's pass-through stages ordered and leaving round 7 of the other
    stages to Sterman's rule, plays round 7 exactly as the first (same future, same orders, same costs). Before,
    the first workshop's Sterman rule played from day 0 and round 7 differed."""
    root = tmp_path / "one"
    ws = Workshop.create(BEER, root, ["A"], roles=["retailer"], rounds=10)
    for k in range(6):
        ws.submit("A", {"retailer": RETAILER[k]})
        ws.advance()
    cal = ws.calendar
    rp = ws.run("A", ws.read_decisions("A"), cal.end(6)).records.replenishments
    names = [w.id for w in ws.scenario.warehouses]
    placed = {(int(t), names[int(w)]): float(q) for t, w, q in
              zip(rp["time"].tolist(), rp["warehouse"].tolist(), rp["qty"].tolist(), strict=True)}
    edit_config(root, bot=STERMAN)
    ws = Workshop.open(root)
    ws.submit("A", {"retailer": RETAILER[6]})
    ws.advance()

    every = Workshop.create(BEER, tmp_path / "every", ["A"], rounds=10, bot=STERMAN)
    for k in range(6):
        every.submit("A", {role: placed.get((cal.days[k], role), 0.0) for role in ROLES})
        every.advance()
    every.submit("A", {"retailer": RETAILER[6]})
    every.advance()
    assert every._results("A", 6)["metrics"] == ws._results("A", 6)["metrics"]  # the same first six rounds
    ours, theirs = ws._results("A", 7), every._results("A", 7)
    assert ours["round_metrics"] == theirs["round_metrics"]
    assert ours["metrics"]["total_cost"] == theirs["metrics"]["total_cost"]
    # Sterman's rule ordered round 7 for the stages nobody plays, as it does for the team's undecided stages;
    # the stages' own pass-through rule would have ordered otherwise.
    bot_orders = {d["role"]: d["order"] for d in theirs["decisions"] if d["source"] == "bot"}
    assert set(bot_orders) == {"wholesaler", "distributor", "factory"}
    old = Workshop.create(BEER, tmp_path / "old", ["A"], roles=["retailer"], rounds=10)
    for k in range(7):
        old.submit("A", {"retailer": RETAILER[k]})
        old.advance()
    day = cal.days[6]
    assert round7(ws, day) == bot_orders
    assert round7(old, day) != bot_orders


def round7(ws: Workshop, day: int) -> dict[str, float]:
    """What the stages nobody plays ordered on a day, in the run of team A's decisions to the end of round 7."""
    rp = ws.run("A", ws.read_decisions("A"), ws.calendar.end(7)).records.replenishments
    names = [w.id for w in ws.scenario.warehouses]
    at = rp["time"].astype(float) == day
    return {names[int(w)]: float(q) for w, q in zip(rp["warehouse"][at].tolist(), rp["qty"][at].tolist(), strict=True)
            if names[int(w)] != "retailer"}


def test_a_plan_games_played_rounds_keep_their_bot(tmp_path: Path) -> None:
    """In a plan game the bot fills the buckets a team's rows leave out (and a bot cycle's targets): team A plans
    one month a round, the chase bot the rest; with the level bot edited in after three rounds, the three rounds
    play again exactly as shown (before: A's cost moved from 40,275 to 40,303)."""
    root = tmp_path / "plan"
    ws = Workshop.create(COLLAPSE_GAME, root, ["A", "B"], rounds=5)
    items, _ = ws._plan_items()
    for k in range(3):
        ws.submit("A", {(items[0], ws.calendar.first_bucket[k]): 900.0})
        ws.advance(all_bots=True)
    shown = {t: ws._results(t, 3)["metrics"] for t in ws.teams}
    edit_config(root, bot="level")
    ws = Workshop.open(root)
    for t in ws.teams:
        again = replayed(ws, t, 3)
        assert again["total_cost"] == shown[t]["total_cost"] and again["profit"] == shown[t]["profit"], t
    ws.advance(all_bots=True)
    assert ws._results("A", 4)["bot"] == "level"
    assert ws._results("A", 4)["metrics"]["profit"] == pytest.approx(
        shown["A"]["profit"] + ws._results("A", 4)["round_metrics"]["profit"], abs=1e-6)


def test_undo_after_a_bot_change_plays_the_round_again_with_the_new_bot(tmp_path: Path) -> None:
    """undo takes round 4 back: it is the next round again, so the bot now in workshop.yaml plays it, while
    rounds 1-3 keep theirs."""
    root = tmp_path / "beer"
    ws = beer_retailer_game(root, 4)
    shown3 = {t: ws._results(t, 3)["metrics"]["total_cost"] for t in ws.teams}
    edit_config(root, bot=STERMAN)
    ws = Workshop.open(root)
    ws.undo()
    assert ws.played == 3 and ws.played_bots() == ["scenario"] * 4
    ws.advance()
    assert ws._results("A", 4)["bot"] == ws.current_bot
    for t in ws.teams:
        assert replayed(ws, t, 3)["total_cost"] == shown3[t]


@pytest.mark.parametrize(("change", "named"), [
    ({"seed": 99}, "seed: the rounds played used"),
    ({"first_day": 2}, "round_days/first_day: round 2 was decided on day 8"),
    ({"teams": {"A": {"roles": ["retailer", "wholesaler"]}, "B": {"roles": ["retailer"]}}}, "teams.A.roles"),
])
def test_settings_that_change_the_rounds_played_are_refused(tmp_path: Path, change: dict[str, Any],
                                                            named: str) -> None:
    """The seed, the rounds' days and the roles a team plays decide what the bot did in the rounds played:
    changing them after round 1 is refused on open, naming the key and saying how to go on (before: the rounds
    were silently played again otherwise)."""
    root = tmp_path / "beer"
    beer_retailer_game(root, 2)
    edit_config(root, **change)
    with pytest.raises(WorkshopError) as exc:
        Workshop.open(root)
    assert named in str(exc.value) and "simsop workshop undo" in str(exc.value) and "put it back" in str(exc.value)


def test_a_continuous_bot_cannot_take_over_mid_game(tmp_path: Path) -> None:
    """An (r, Q) bot reviews after every demand, not on the rounds' days: it cannot take over from the
    pass-through stages after round 2 (it is refused, naming the role and how to go on); before round 1 it may."""
    root = tmp_path / "beer"
    beer_retailer_game(root, 2)
    edit_config(root, bot={"default": "scenario", "factory": {"type": "rQ", "r": 10, "Q": 8}})
    with pytest.raises(WorkshopError, match=r"the bot of factory changed since round \d+ .*reviews continuously"):
        Workshop.open(root)
    fresh = tmp_path / "fresh"
    Workshop.create(BEER, fresh, ["A"], roles=["retailer"], rounds=4)
    edit_config(fresh, bot={"default": "scenario", "factory": {"type": "rQ", "r": 10, "Q": 8}})
    Workshop.open(fresh).advance()


# ------------------------------------------------------------------------------------- Sterman's beta


def test_sternmans_beta_orders_as_the_equivalent_alpha_sl(tmp_path: Path) -> None:
    """Sterman (1989) writes the supply-line weight as beta x alpha_S: a bot given beta 0.34 orders, round by round
    and role by role, exactly what the bot given alpha_sl = 0.34 x 0.26 orders, and a scenario with either has the
    same hash (the same company)."""
    beta = {k: v for k, v in STERMAN.items() if k != "alpha_sl"} | {"beta": 0.34}
    runs = []
    for name, bot in (("alpha", STERMAN), ("beta", beta)):
        ws = Workshop.create(BEER, tmp_path / name, ["A"], rounds=10, bot={"default": bot})
        for k in range(10):
            ws.submit("A", {"retailer": RETAILER[k % len(RETAILER)]})
            ws.advance()
        runs.append([ws._results("A", k)["decisions"] for k in range(1, 11)])
    assert runs[0] == runs[1]
    orders = [d["order"] for r in runs[1] for d in r if d["role"] == "factory"]
    assert len(set(orders)) > 1  # the rule reacted to the step: the weight mattered
    a = TypeAdapter(PolicySpec).validate_python(beta)
    assert a.alpha_sl == 0.34 * 0.26
    data = yaml.safe_load(BEER.read_text())
    hashes = []
    for pol in (STERMAN, beta):
        data["warehouses"][1]["stock"][0]["policy"] = {**pol, "review_period": 7, "review_offset": 1}
        hashes.append(scenario_hash(parse_scenario(data, "beer.yaml")))
    assert hashes[0] == hashes[1]


def test_beta_and_alpha_sl_together_are_an_error_naming_beta() -> None:
    data = yaml.safe_load(BEER.read_text())
    data["warehouses"][1]["stock"][0]["policy"] = {"type": "anchor_and_adjust", "alpha_sl": 0.1, "beta": 0.34,
                                                   "review_period": 7}
    with pytest.raises(ScenarioError, match=r"warehouses\[1\]\.stock\[0\]\.policy: beta: give alpha_sl or "
                                            r"Sterman's beta"):
        parse_scenario(data, "beer.yaml")
    data["warehouses"][1]["stock"][0]["policy"] = {"type": "anchor_and_adjust", "beta": -0.1, "review_period": 7}
    with pytest.raises(ScenarioError, match=r"policy\.beta"):
        parse_scenario(data, "beer.yaml")
    assert np.isclose(0.34 * 0.26, 0.0884)
