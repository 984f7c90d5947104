"""A Beer Game workshop's bot per role: each role's bot orders as configured, a bot for an unknown role is an
error naming ``workshop.bot.<role>``, the dashboard and the debrief say which bot played which role, and Sterman's
(1989) anchoring-and-adjustment bot amplifies order variance upstream where a pass-through bot does not."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from simsop.scenario import ScenarioError, parse_scenario
from simsop.workshop.dashboard import render
from simsop.workshop.game import Workshop, WorkshopError
from simsop.workshop.metrics import flows

ROOT = Path(__file__).resolve().parent.parent
BEER = ROOT / "scenarios" / "beer_game.yaml"
ROLES = ("retailer", "wholesaler", "distributor", "factory")

# Sterman's (1989) mean estimates over the subjects: theta 0.36, alpha_S 0.26, beta 0.34 (alpha_sl = beta x
# alpha_S = 0.09); desired stock and supply line at the board's initial 12 and 12 on order.
STERMAN = {"type": "anchor_and_adjust", "theta": 0.36, "alpha_s": 0.26, "alpha_sl": 0.09, "desired_stock": 12,
           "desired_supply_line": 12, "initial_expected": 4}


def beer_data() -> dict[str, Any]:
    return dict(yaml.safe_load(BEER.read_text()))


def orders_by_role(ws: Workshop, team: str) -> dict[str, list[float]]:
    """Each role's order per round, as the rounds' results recorded them."""
    out: dict[str, list[float]] = {r: [] for r in ws.roles(team)}
    for k in range(1, ws.played + 1):
        for d in ws._results(team, k)["decisions"]:
            out[d["role"]].append(float(d["order"]))
    return out


def test_each_role_is_played_by_its_own_bot(tmp_path: Path) -> None:
    """The classic board (demand 4 a week, 8 from week 5), no team decision: the retailer's bot is a base stock
    of 30, the factory's Sterman's rule, the others the stages' own pass-through (``default`` left out).

    By hand (a stage decides on the day after its week's orders came in; 12 on order then, 8 at the factory):
    * retailer, order up to 30: position 12 + 12 = 24, so 6; then it reorders the week's demand: 4, 4, 4, 8 ...
    * wholesaler, pass-through: the board's initial orders (4, 4), then the retailer's two weeks later: 6, 4 ...
    * distributor: the same two weeks later again.
    * factory, L <- 0.5 x demand + 0.5 x L, order L + 0.5 (12 - S) + 0.25 (8 - SL): at rest (4) until the
      distributor's 6 reaches it in week 7: L = 5, stock 12 + 4 - 6 = 10, supply line 8: 5 + 1 + 0 = 6; week 8:
      L = 4.5, stock 12 + 4 - 4 - 2 = 10, supply line 4 + 6 = 10: 4.5 + 1 - 0.5 = 5.
    """
    bot = {"retailer": {"type": "base_stock", "level": 30},
           "factory": {"type": "anchor_and_adjust", "theta": 0.5, "alpha_s": 0.5, "alpha_sl": 0.25,
                       "desired_stock": 12, "desired_supply_line": 8, "initial_expected": 4}}
    ws = Workshop.create(BEER, tmp_path / "beer", ["A"], rounds=8, bot=bot)
    warnings = []
    for _ in range(8):
        warnings = ws.advance()["warnings"]
    assert orders_by_role(ws, "A") == {
        "retailer": [6, 4, 4, 4, 8, 8, 8, 8],
        "wholesaler": [4, 4, 6, 4, 4, 4, 8, 8],
        "distributor": [4, 4, 4, 4, 6, 4, 4, 4],
        "factory": [4, 4, 4, 4, 4, 4, 6, 5],
    }
    # Each bot's order says whose it is.
    assert warnings == ["team A did not decide round 8: the bots ordered retailer 8 (base_stock), wholesaler 8 (its "
                        "own rule: pass_through), distributor 4 (its own rule: pass_through), factory 5 "
                        "(anchor_and_adjust)"]
    # The periodic bots review on the game's rhythm (round 1 is day 1, then weekly).
    stored = ws.cfg.bot
    assert isinstance(stored, dict)
    assert stored["retailer"]["review_period"] == 7 and stored["factory"]["review_offset"] == 1
    # Which bot played which role: the dashboard, and the debrief (its settings and each stage).
    who = "retailer: base_stock; wholesaler, distributor: its own rule: pass_through; factory: anchor_and_adjust"
    assert ws.bot_name == who
    text = " ".join(render(ws.dashboard("A"), "week").split())
    assert f"The bot (orders for a stage nobody plays, or that you leave undecided): {who}." in text
    data = ws.debrief_data()
    assert data["bot"] == who
    assert {s: st["bot"] for s, st in data["teams"]["A"]["stages"].items()} == {
        "retailer": "base_stock", "wholesaler": "its own rule: pass_through",
        "distributor": "its own rule: pass_through", "factory": "anchor_and_adjust"}


def test_a_team_playing_one_role_gets_that_roles_bot(tmp_path: Path) -> None:
    """A team that plays the retailer and decides round 1 only (10): its order stands; the retailer's bot (base
    stock 30) orders on from the position the team left (24 + 10 - 4 = 30: nothing in round 2, then the demand);
    the ``default`` bot (base stock 28) plays the roles nobody plays: the wholesaler reorders what it is asked
    (4, 4, then the team's 10 and the bot's 0 two weeks later), the factory first lifts its position from
    12 + 8 = 20 to 28."""
    bot = {"retailer": {"type": "base_stock", "level": 30}, "default": {"type": "base_stock", "level": 28}}
    ws = Workshop.create(BEER, tmp_path / "beer", ["A"], rounds=4, roles=["retailer"], bot=bot)
    ws.submit("A", {"retailer": 10})
    for _ in range(4):
        ws.advance()
    assert orders_by_role(ws, "A") == {"retailer": [10, 0, 4, 4]}  # the team's results hold its roles
    run = ws.run("A", ws.read_decisions("A"), ws.calendar.end(4))
    rp = run.records.replenishments
    names = run.records.meta.warehouses
    placed = {r: rp["qty"][rp["warehouse"] == names.index(r)].tolist() for r in ROLES}
    assert placed == {"retailer": [10, 4, 4], "wholesaler": [4, 4, 10], "distributor": [4, 4, 4, 4],
                      "factory": [8, 4, 4, 4]}  # an order of 0 places nothing
    assert ws.bot_name == "retailer: base_stock; wholesaler, distributor, factory: base_stock"


@pytest.mark.parametrize(("bot", "path", "message"), [
    ({"retailerr": {"type": "pass_through"}}, "workshop.bot.retailerr",
     "unknown role 'retailerr' (did you mean 'retailer'?); expected one of ['retailer', 'wholesaler', "
     "'distributor', 'factory'] or 'default'"),
    ({"brewery": "scenario"}, "workshop.bot.brewery", "unknown role 'brewery'"),
    ({"factory": {"type": "anchor_and_adjust", "theta": 2}}, "workshop.bot.factory.theta", "less than or equal to 1"),
    # Sterman's beta is a key of the rule now (alpha_sl = beta x alpha_S); with alpha_sl as well it is an error.
    ({"factory": {"type": "anchor_and_adjust", "alpha_sl": 0.1, "beta": 0.34}}, "workshop.bot.factory",
     "beta: give alpha_sl or Sterman's beta (alpha_sl = beta x alpha_s), not both"),
    ({"retailer": "level"}, "workshop.bot.retailer", "an 'orders' game's bot is 'scenario' or a replenishment"),
    ({"default": {"type": "bogus"}}, "workshop.bot.default", "unknown type 'bogus'"),
    ({}, "workshop.bot", "an empty mapping"),
])
def test_a_bad_bot_per_role_is_an_error_naming_the_role(bot: dict[str, Any], path: str, message: str) -> None:
    data = copy.deepcopy(beer_data())
    data["workshop"]["bot"] = bot
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data, "beer.yaml")
    # One line per problem: "beer.yaml: <key path>: <message>".
    assert any(f"beer.yaml: {path}: " in line and message in line for line in str(err.value).splitlines()), err.value


def test_a_bot_per_role_is_checked_on_new_and_when_the_facilitator_edits_it(tmp_path: Path) -> None:
    with pytest.raises(WorkshopError, match=r"workshop\.bot\.whole_saler: unknown role 'whole_saler'"):
        Workshop.create(BEER, tmp_path / "a", ["A"], bot={"whole_saler": {"type": "pass_through"}})
    ws = Workshop.create(BEER, tmp_path / "b", ["A"], bot={"retailer": STERMAN})
    cfg = tmp_path / "b" / "workshop.yaml"
    cfg.write_text(cfg.read_text().replace("  retailer:\n", "  retialer:\n"))
    # A misspelt role would otherwise leave the retailer to the scenario's rule without a word.
    with pytest.raises(WorkshopError, match=r"workshop\.yaml: bot\.retialer: unknown role 'retialer'"):
        Workshop.open(ws.root)
    # A bot edited in without a review period reviews on the rounds' rhythm, as one given to `new` does (not
    # every day): the factory's base stock of 28 lifts its position 20 once, in round 1, then reorders 4 a week.
    cfg.write_text(cfg.read_text().replace("  retialer:\n", "  factory:\n    type: base_stock\n    level: 28\n"
                                           "  retailer:\n"))
    ws = Workshop.open(ws.root)
    run = ws.run("A", [], ws.calendar.end(3))
    rp = run.records.replenishments
    at = rp["warehouse"] == run.records.meta.warehouses.index("factory")
    assert rp["time"][at].tolist() == [1, 8, 15] and rp["qty"][at].tolist() == [8, 4, 4]


def test_sterman_bots_amplify_upstream_and_a_pass_through_bot_does_not(tmp_path: Path) -> None:
    """Customer demand Poisson(4) a week, no step; Sterman's estimated rule at the retailer, wholesaler and
    factory, the distributor passing orders on. Per stage, the amplification is the variance of the orders it
    places over the variance of the orders it receives, per week over 94 weeks (the first 10 left out).

    Theory: anchoring and adjustment that weighs the supply line less than the stock (alpha_sl < alpha_S)
    overshoots, so stages that receive autocorrelated orders amplify them (Sterman 1989: the bullwhip); passing
    orders on leaves their variance exactly as it is. The wholesaler and the factory must amplify by more than 4
    standard errors over 40 replications, the distributor by less than 4 (it is 1). (The retailer, facing
    independent weekly demand, smooths it with these weak adjustments: about 0.8; not asserted.)"""
    data = beer_data()
    data["shocks"] = []
    data["horizon"] = 7 * 104
    data["customers"][0]["demand"][0]["daily"] = {"dist": "poisson", "mean": 4}
    path = tmp_path / "beer_poisson.yaml"
    path.write_text(yaml.safe_dump(data))
    ws = Workshop.create(path, tmp_path / "beer", ["A"],
                         bot={"retailer": STERMAN, "wholesaler": STERMAN, "factory": STERMAN})
    end = ws.calendar.end(ws.calendar.rounds)
    edges = ws.calendar.edges(end)
    ratios = []
    for rep in range(1, 41):
        run = ws.run("A", [], end, replication=rep)
        fl = flows(run.records, ws.scenario, end)
        placed, incoming = fl.per_period("placed", edges), fl.per_period("incoming", edges)
        ratios.append([np.var(placed[fl.index(r)][10:], ddof=1) / np.var(incoming[fl.index(r)][10:], ddof=1)
                       for r in ROLES])
    a = np.asarray(ratios)
    mean, se = a.mean(axis=0), a.std(axis=0, ddof=1) / np.sqrt(len(a))
    amp = dict(zip(ROLES, zip(mean, se, strict=True), strict=True))
    for role in ("wholesaler", "factory"):
        m, s = amp[role]
        assert m - 1 > 4 * s, (role, amp)
    m, s = amp["distributor"]
    assert abs(m - 1) <= 4 * s + 1e-9, amp


def test_the_beer_games_example_of_a_bot_per_role_plays_as_its_comment_says(tmp_path: Path) -> None:
    """scenarios/beer_game.yaml shows Sterman's rule per role in a comment: the chain starts at rest (every stage
    orders 4 until the step reaches it) and after the step orders peak at about 11, 16, 25 and 31 cases."""
    lines = BEER.read_text().splitlines()
    at = lines.index("  # bot:")
    block = []
    for line in lines[at:]:
        if not line.startswith("  #   ") and line != "  # bot:":
            break
        block.append(line.replace("  # ", "", 1))
    bot = yaml.safe_load("\n".join(block))["bot"]
    ws = Workshop.create(BEER, tmp_path / "beer", ["A"], bot=bot)
    while not ws.over:
        ws.advance()
    orders = orders_by_role(ws, "A")
    # The step (week 5) reaches each stage two weeks after the one below it: orders take two weeks to arrive.
    for i, role in enumerate(ROLES):
        assert orders[role][: 4 + 2 * i] == [4] * (4 + 2 * i), role
    assert [round(max(orders[r])) for r in ROLES] == [11, 16, 25, 31]
