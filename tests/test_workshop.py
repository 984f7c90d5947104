"""Workshops from the command line: a scripted three-team Beer Game (new, decisions, advance every round, a
shock, leaderboard, debrief, replay), interactive decisions, bad decision files that change nothing, and an
S&OP (plan) game."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from simsop.cli import main
from simsop.workshop.game import Workshop

ROOT = Path(__file__).resolve().parent.parent
BEER = ROOT / "scenarios" / "beer_game.yaml"
PROMO = ROOT / "scenarios" / "teach_promotion.yaml"
LAUNCH = ROOT / "scenarios" / "teach_launch_phaseout.yaml"
OUTAGE = ROOT / "scenarios" / "teach_supplier_outage.yaml"
COLLAPSE = ROOT / "scenarios" / "teach_collapse_rebound.yaml"
ROLES = ("retailer", "wholesaler", "distributor", "factory")


def cli(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["workshop", *args], input=input)


def err_text(r: Result) -> str:
    """What a command said on standard error, its lines joined (warnings are wrapped for the terminal)."""
    return " ".join(r.stderr.split())


def files(folder: Path) -> dict[str, bytes]:
    """Every file of a folder, by relative path (to check that a failed command changed nothing)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def new_beer(tmp: Path, rounds: int = 6, *extra: str) -> Path:
    folder = tmp / "beer"
    r = cli("new", str(BEER), "--teams", "A,B,C", "--dir", str(folder), "--rounds", str(rounds), *extra)
    assert r.exit_code == 0, r.output
    return folder


# ---------------------------------------------------------------------------------------------- end to end


def test_scripted_three_team_beer_game(tmp_path: Path) -> None:
    folder = new_beer(tmp_path)
    assert (folder / "workshop.yaml").is_file() and (folder / "scenario.yaml").is_file()
    for t in "ABC":
        assert (folder / "decisions" / f"{t}.csv").read_text() == "round,role,order,source\n"
        assert (folder / "results" / "round-0" / f"{t}.json").is_file()
    # A passes orders on; B over-orders at the retailer once; C skips round 2 (the bot decides).
    plans = {"A": lambda k: {r: 4 if k < 5 else 8 for r in ROLES},
             "B": lambda k: {**{r: 4 for r in ROLES}, "retailer": 12 if k == 2 else 4},
             "C": lambda k: {r: 4 for r in ROLES}}
    for k in range(1, 7):
        if k == 3:
            r = cli("shock", str(folder), "{type: demand_spike, magnitude: 2.0, duration: 7}")
            assert r.exit_code == 0, r.output
            # It starts on round 3's decision day, after week 3's customers ordered: their demand spikes in week 4.
            assert "demand spike: demand +200%, days 15-21 (weeks 3-4)" in r.output
        for team, plan in plans.items():
            if team == "C" and k == 2:
                continue
            append(folder / "decisions" / f"{team}.csv",
                   "".join(f"{k},{role},{q}\n" for role, q in plan(k).items()))
        r = cli("advance", str(folder))
        assert r.exit_code == 0, r.output
        assert f"Leaderboard after round {k} of 6" in r.output
        if k == 2:
            # One line per team that forgot, naming the bot and what it ordered for each role.
            assert r.stderr.count("warning:") == 1
            assert ("warning: team C did not decide round 2: the bot (the roles' own rule: pass_through) ordered "
                    "retailer 4, wholesaler 4, distributor 4, factory 4") in err_text(r)
    # The bot's decisions were logged in C's file, marked as the bot's.
    assert "2,retailer,4,bot" in (folder / "decisions" / "C.csv").read_text()
    r = cli("advance", str(folder))
    assert r.exit_code == 2 and "the workshop is over" in r.output

    # Leaderboard: week k's costs after round k (the board's cost sheet); all teams saw the same demand.
    r = cli("leaderboard", str(folder))
    assert r.exit_code == 0 and "rank" in r.output and "total cost (lower is better)" in r.output
    # The Beer Game has no revenue: a profit column would only repeat the cost with a minus sign.
    assert "profit" not in r.output and "cost this round" in r.output
    r = cli("status", str(folder))
    assert "the workshop is over" in r.output and "not yet" not in r.output
    with (folder / "results" / "round-6" / "leaderboard.csv").open() as fh:
        board = {row["team"]: row for row in csv.DictReader(fh)}
    assert set(board) == {"A", "B", "C"}
    # C ordered what it was asked for (the bot too): the pass-through chain of the board, with the shock's
    # extra 8 cases in week 3. Weeks 1-6 cost 24 each until the spike empties the retailer (week 3).
    doc_c = json.loads((folder / "results" / "round-6" / "C.json").read_text())
    assert doc_c["counted"] == [35, 42] and doc_c["bot_rounds"] == 1  # round 6 = board week 6, days 35-41
    doc_b = json.loads((folder / "results" / "round-6" / "B.json").read_text())
    assert float(board["B"]["total_cost"]) != float(board["C"]["total_cost"])
    assert doc_b["stage_costs"]["retailer"]["holding"] > doc_c["stage_costs"]["retailer"]["holding"]
    ranks = sorted(board.values(), key=lambda row: int(row["rank"]))
    assert [float(x["score"]) for x in ranks] == sorted(float(x["score"]) for x in ranks)  # lowest cost first

    # Replay: each team's decisions against 5 other futures. The Beer Game's demand is deterministic and
    # the spike a fixed shock, so every future is the workshop's: the spread is 0, all skill.
    r = cli("replay", str(folder), "-n", "5")
    assert r.exit_code == 0, r.output
    assert "ranked 1st" in r.output
    assert "Every future gave the same scores" in r.output  # the facilitator is told why the spread is 0
    with (folder / "results" / "replay.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 * 3
    for team in "ABC":
        scores = {float(x["score"]) for x in rows if x["team"] == team}
        assert scores == {float(board[team]["score"])}

    # Debrief: one HTML file with the leaderboard and the charts embedded as data: URIs.
    r = cli("debrief", str(folder))
    assert r.exit_code == 0, r.output
    html = (folder / "debrief.html").read_text()
    assert "Leaderboard" in html and "team A" in html and "bullwhip" in html.lower()
    assert "Skill or luck" in html and 'id="fig-replay"' in html
    # Orders and stock per team; amplification by stage; cost; replay; service week by week.
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 3 * 2 + 3 + 1
    assert "What made the difference" in html
    # A game scored on cost, with no revenue, says its gaps in cost, not in profit.
    difference = html[html.index('id="difference"'):]
    difference = difference[:difference.index("</section>")]
    assert "spent" in difference and "profit" not in difference.lower(), difference
    assert not re.search(r"on time \(OTIF (?!100%)", difference), difference  # late orders are not 'on time'
    assert "<script" not in html
    # The facilitator's log reads as a story: plain rounds together, the shock in words (not a dict).
    assert "rounds 3-6 played" in html and "round 2 played; the bot played for 1 team(s) (C)" in html
    assert "before round 3: shock, demand spike: demand +200%, days 15-21 (weeks 3-4)" in html
    assert "{&#x27;dist&#x27;" not in html and "{'dist'" not in html
    assert "Every future gave the same scores" in html


def test_decisions_replay_the_workshop_exactly(tmp_path: Path) -> None:
    """The simulation is a pure function of the decisions: a team's dashboard re-simulated from its log is
    what was stored after the round, and replication 0 of a replay is the leaderboard."""
    folder = new_beer(tmp_path, 3)
    for k in (1, 2):
        append(folder / "decisions" / "A.csv", f"{k},retailer,{4 + 3 * k}\n")
        assert cli("advance", str(folder)).exit_code == 0
    ws = Workshop.open(folder)
    stored = json.loads((folder / "results" / "round-2" / "A.json").read_text())["dashboard"]
    assert json.loads(json.dumps(ws.dashboard("A"))) == stored
    out = ws.replay(1)
    lb = {row["team"]: float(row["score"]) for row in ws.leaderboard()}
    assert {r["team"]: r["score"] for r in out["rows"] if r["replication"] == 0} == lb
    # A replay is about the rounds played when it ran: the debrief says so once more rounds are played.
    assert cli("debrief", str(folder)).exit_code == 0
    assert "This replay was run after round" not in (folder / "debrief.html").read_text()
    assert cli("advance", str(folder), "--yes").exit_code == 0
    assert cli("debrief", str(folder)).exit_code == 0
    assert "This replay was run after round 2, not after the 3 rounds played" in (folder / "debrief.html").read_text()


def test_decide_shows_the_dashboard_and_writes_the_decision(tmp_path: Path) -> None:
    folder = new_beer(tmp_path, 4)
    r = cli("decide", str(folder), "--team", "A", input="6\n5\n\n3\n")
    assert r.exit_code == 0, r.output
    assert "Team A - round 1 of 4" in r.output and "on hand" in r.output and "ordered from you" in r.output
    assert (folder / "decisions" / "A.csv").read_text() == ("round,role,order,source\n1,retailer,6,\n"
                                                            "1,wholesaler,5,\n1,distributor,4,\n1,factory,3,\n")
    # Deciding again replaces the round's rows for the roles asked; one player per role works too.
    r = cli("decide", str(folder), "--team", "A", "--role", "factory", input="9\n")
    assert r.exit_code == 0, r.output
    assert (folder / "decisions" / "A.csv").read_text().splitlines()[-1] == "1,factory,9,"
    assert cli("advance", str(folder)).exit_code == 0
    doc = json.loads((folder / "results" / "round-1" / "A.json").read_text())
    assert {d["role"]: d["order"] for d in doc["decisions"]} == {"retailer": 6, "wholesaler": 5,
                                                                 "distributor": 4, "factory": 9}
    r = cli("decide", str(folder), "--team", "Z")
    assert r.exit_code == 2 and "no team 'Z'" in r.output


def test_full_visibility_shows_every_stage(tmp_path: Path) -> None:
    folder = new_beer(tmp_path, 3, "--roles", "retailer")
    r = cli("show", str(folder), "--team", "A")
    assert "retailer" in r.output and "wholesaler" not in r.output
    assert cli("visibility", str(folder), "full").exit_code == 0
    r = cli("show", str(folder), "--team", "A")
    assert "wholesaler (bot)" in r.output and "customer demand" in r.output
    assert "retailer your orders" in r.output and "wholesaler its orders (bot)" in r.output
    append(folder / "decisions" / "A.csv", "1,retailer,5\n")
    r = cli("status", str(folder))
    assert "team A: round 1 decided for retailer" in r.output and "bot: the roles' own rule: pass_through" in r.output
    assert "team B: round 1 not decided yet (the bot will decide if it stays so)" in r.output


def test_a_bot_given_as_a_rule_is_named_not_dumped(tmp_path: Path) -> None:
    r = cli("new", str(BEER), "--teams", "A", "--dir", str(tmp_path / "b"), "--rounds", "6", "--bot",
            "{type: anchor_and_adjust, theta: 0.36, alpha_s: 0.26, alpha_sl: 0.09, desired_stock: 12, "
            "desired_supply_line: 12, initial_expected: 4}")
    assert r.exit_code == 0, r.output
    assert "bot: anchor_and_adjust, visibility none." in r.output and "{" not in r.output
    for _ in range(6):
        r = cli("advance", str(tmp_path / "b"), "--yes")
    assert "retailer 8.22, " in err_text(r)  # (8.2184 cases)
    # The rule orders fractions of a case: the warning rounds them to cents of a case.
    assert re.search(r"the bot \(anchor_and_adjust\) ordered retailer \d+(\.\d{1,2})?, ", err_text(r)), r.stderr


# ---------------------------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def played_two(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A five-round Beer Game workshop after two rounds (copied by each test that damages it)."""
    folder = new_beer(tmp_path_factory.mktemp("two"), 5)
    for k in (1, 2):
        append(folder / "decisions" / "A.csv", "".join(f"{k},{role},4\n" for role in ROLES))
        assert cli("advance", str(folder)).exit_code == 0
    return folder


def _two_rounds(template: Path, tmp: Path) -> Path:
    folder = tmp / "beer"
    shutil.copytree(template, folder)
    return folder


BAD: list[tuple[str, Any, str]] = [
    ("wrong team", lambda f: (f / "decisions" / "Zeta.csv").write_text("round,role,order\n3,retailer,4\n"),
     "Zeta.csv: no team 'Zeta' in this workshop (teams: A, B, C)"),
    ("extra value", lambda f: append(f / "decisions" / "A.csv", "3,retailer,4,,B\n"),
     "A.csv: line 10: 5 values for 4 columns"),
    ("team column", lambda f: (f / "decisions" / "A.csv").write_text(
        (f / "decisions" / "A.csv").read_text().replace("round,role,order,source", "round,role,order,source,team")
        + "3,retailer,4,,B\n"),
     "A.csv: line 10: team 'B' in the file of team 'A' (wrong team's file?)"),
    ("negative", lambda f: append(f / "decisions" / "A.csv", "3,retailer,-4\n"),
     "A.csv: line 10: order must be a number >= 0, got '-4'"),
    ("non-numeric", lambda f: append(f / "decisions" / "B.csv", "3,wholesaler,lots\n"),
     "B.csv: line 10: order must be a number >= 0, got 'lots'"),
    ("future round", lambda f: append(f / "decisions" / "C.csv", "4,retailer,4\n"),
     "C.csv: line 10: round 4 has not started (the next round to play is 3)"),
    ("unknown role", lambda f: append(f / "decisions" / "C.csv", "3,brewery,4\n"),
     "C.csv: line 10: unknown role 'brewery'"),
    ("absurd quantity", lambda f: append(f / "decisions" / "A.csv", "3,retailer,1e300\n"),
     "A.csv: line 10: order must be at most 1e+12 units, got '1e300'"),
    ("semicolons", lambda f: (f / "decisions" / "B.csv").write_text(
        (f / "decisions" / "B.csv").read_text().replace(",", ";")),
     "B.csv: line 1: missing column(s) round, role, order; found ['round;role;order;source'] (the file separates "
     "values with ';'; save it with commas)"),
    # The facilitator may edit workshop.yaml: a key given twice must not silently change the game.
    ("settings key given twice", lambda f: append(f / "workshop.yaml", "seed: 99\n"),
     "workshop.yaml: seed: the key is given twice (lines"),
    ("settings not YAML", lambda f: append(f / "workshop.yaml", "rounds: [5\n"),
     "workshop.yaml: not valid YAML: line"),
    ("settings not text", lambda f: (f / "workshop.yaml").write_bytes(b"\xff\xfe" + bytes(range(200))),
     "workshop.yaml: cannot read the file: expected UTF-8 text"),
]


@pytest.mark.parametrize(("what", "damage", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_decision_files_change_nothing(played_two: Path, tmp_path: Path, what: str, damage: Any,
                                           message: str) -> None:
    folder = _two_rounds(played_two, tmp_path)
    damage(folder)
    before = files(folder)
    for args in (("advance", str(folder)), ("replay", str(folder), "-n", "1"), ("debrief", str(folder))):
        r = cli(*args)
        assert r.exit_code == 2, (what, args, r.output)
        assert isinstance(r.exception, SystemExit), (what, args, r.exception)
        assert message in r.stderr, r.stderr
        assert files(folder) == before, what


def test_a_spreadsheets_byte_order_mark_is_not_part_of_the_header(played_two: Path, tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts the file with a byte-order mark; the header is still read."""
    folder = _two_rounds(played_two, tmp_path)
    path = folder / "decisions" / "A.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes() + b"3,retailer,9\n")
    r = cli("advance", str(folder))
    assert r.exit_code == 0, r.output
    assert "3,retailer,9" in path.read_text(encoding="utf-8")
    assert "team A did not decide round 3 for retailer" not in err_text(r)


def _bytes(path: Path) -> str:
    """A file of bytes that are not text; its name."""
    path.write_bytes(bytes(range(256)))
    return str(path)


BAD_COMMANDS: list[tuple[str, Any, str]] = [
    ("shock file missing", lambda f, t: ("shock", str(f), "--file", str(t / "nope.yaml")),
     "nope.yaml: cannot read the file: No such file or directory"),
    ("shock file not text", lambda f, t: ("shock", str(f), "--file", _bytes(t / "s.yaml")),
     "s.yaml: cannot read the file: expected UTF-8 text"),
    ("shock not YAML", lambda f, t: ("shock", str(f), "{type: demand_spike"), "not valid YAML: line 1, column"),
    ("shock key given twice", lambda f, t: ("shock", str(f), "{type: demand_spike, type: demand_step}"),
     "type: the key is given twice"),
    ("shock number as text", lambda f, t: ("shock", str(f), "{type: demand_spike, magnitude: '2'}"),
     "shocks[0].magnitude: expected a number, got text '2'"),
    ("shock lasting for ever", lambda f, t: ("shock", str(f), "{type: demand_spike, magnitude: 1, duration: .inf}"),
     "finite number (got inf)"),
    ("more rounds than the horizon holds", lambda f, t: ("new", str(BEER), "--teams", "A", "--dir", str(t / "new"),
                                                         "--rounds", "1000"),
     "--rounds 1000: the horizon (252 days) holds only 36 rounds"),
    ("bot not YAML", lambda f, t: ("new", str(BEER), "--teams", "A", "--dir", str(t / "new"), "--bot", "{type: x"),
     "not valid YAML: line 1, column"),
]


@pytest.mark.parametrize(("what", "command", "message"), BAD_COMMANDS, ids=[b[0] for b in BAD_COMMANDS])
def test_bad_workshop_commands_are_one_clear_line(played_two: Path, tmp_path: Path, what: str, command: Any,
                                                  message: str) -> None:
    """A bad shock, shock file or option exits 2 with one line that says what is wrong (no traceback, no YAML
    error spread over several lines), and changes nothing: the workshop's files stay, no new folder is made."""
    folder = _two_rounds(played_two, tmp_path)
    before = files(folder)
    r = cli(*command(folder, tmp_path))
    assert r.exit_code == 2, r.output
    assert isinstance(r.exception, SystemExit), r.exception
    assert message in r.stderr, r.stderr
    assert not any(line.startswith(("  in ", "    ")) for line in r.stderr.splitlines()), r.stderr
    assert files(folder) == before
    assert not (tmp_path / "new").exists()


def test_bad_shocks_and_folders(played_two: Path, tmp_path: Path) -> None:
    folder = _two_rounds(played_two, tmp_path)
    before = files(folder)
    for shock, message in (("{type: demand_spike, magnitude: 1, start: 3}", "before the next round"),
                           ("{type: demand_spike, magnitude: -1}", "magnitude"),
                           ("{type: factory_outage, factory: nowhere, duration: 3}", "unknown factory"),
                           ("[1, 2]", "a shock is a mapping")):
        r = cli("shock", str(folder), shock)
        assert r.exit_code == 2 and message in r.output, r.output
    assert files(folder) == before
    r = cli("advance", str(tmp_path))
    assert r.exit_code == 2 and "not a workshop folder" in r.output
    r = cli("new", str(BEER), "--teams", "A,A", "--dir", str(tmp_path / "x"))
    assert r.exit_code == 2 and "must differ" in r.output
    r = cli("new", str(BEER), "--teams", "A", "--dir", str(folder))
    assert r.exit_code == 2 and "not an empty folder" in r.output
    (folder / "scenario.yaml").write_text((folder / "scenario.yaml").read_text().replace("initial: 12", "initial: 13"))
    r = cli("status", str(folder))
    assert r.exit_code == 2 and "scenario changed" in r.output


# ---------------------------------------------------------------------------------------------- S&OP game


def test_sop_plan_game(tmp_path: Path) -> None:
    folder = tmp_path / "promo"
    r = cli("new", str(PROMO), "--teams", "A,B", "--dir", str(folder), "--rounds", "3")
    assert r.exit_code == 0, r.output
    r = cli("decide", str(folder), "--team", "A", input="700\n")
    assert r.exit_code == 0, r.output
    assert "plan Feb's production" in r.output and "- Feb -" in r.output and "Capacity" in r.output
    assert (folder / "decisions" / "A.csv").read_text().splitlines()[1] == "0,snacks,1,700,,"
    append(folder / "decisions" / "B.csv", "0,snacks,0,500\n")  # bucket 0 is already under way
    before = files(folder)
    r = cli("advance", str(folder))
    # The month is named as the dashboard names it (and the bucket number the file uses).
    assert r.exit_code == 2 and ("line 2: Jan (bucket 0) is already under way or past: cycle 0 (round 1) plans Feb "
                                 "to Jul (buckets 1 to 6)") in r.stderr
    assert files(folder) == before
    (folder / "decisions" / "B.csv").write_text("cycle,family,bucket,production,inventory_target,source\n")
    for _ in range(3):
        r = cli("advance", str(folder), "--yes")
        assert r.exit_code == 0, r.output
    # B never decided: the bot's plans are in its log, by product and bucket, and replay exactly; the header
    # says the rows are products.
    log = (folder / "decisions" / "B.csv").read_text().splitlines()
    assert log[0] == "cycle,product,bucket,production,inventory_target,source"
    assert any(line.startswith("0,crisps,1,") and line.endswith(",bot") for line in log)
    ws = Workshop.open(folder)
    doc = json.loads((folder / "results" / "round-3" / "A.json").read_text())
    assert {d["source"] for d in doc["decisions"]} == {"bot"}  # A decided round 1 only; the bot rounds 2, 3
    assert doc["bot_rounds"] == 2
    out = ws.replay(2)
    assert {r["team"]: r["score"] for r in out["rows"] if r["replication"] == 0} == {
        row["team"]: float(row["score"]) for row in ws.leaderboard()}
    r = cli("debrief", str(folder))
    assert r.exit_code == 0, r.output
    html = (folder / "debrief.html").read_text()
    assert "Forecast bias and plan nervousness" in html and "data:image/png;base64," in html


def test_a_product_named_like_its_family_is_planned_as_the_product(tmp_path: Path) -> None:
    """In the launch scenario each product is its own family of the same name: a row for 'classic' is the
    product (as the replay policy reads it), not a family planned together with its product."""
    folder = tmp_path / "launch"
    assert cli("new", str(LAUNCH), "--teams", "A", "--dir", str(folder), "--rounds", "2").exit_code == 0
    r = cli("decide", str(folder), "--team", "A", input="800\n300\n")
    assert r.exit_code == 0, r.output
    assert (folder / "decisions" / "A.csv").read_text().splitlines()[1:] == ["0,classic,1,800,,", "0,nova,1,300,,"]
    # The dashboard lists each product once (no family row repeating it).
    now = r.output.split("Now (units):")[1].split("\n\n")[0]
    assert [ln.split()[0] for ln in now.strip().splitlines()[1:3]] == ["classic", "nova"]
    assert sum(ln.split()[0] == "classic" for ln in now.splitlines() if ln.strip()) == 1
    r = cli("advance", str(folder))
    assert r.exit_code == 0, r.output
    doc = json.loads((folder / "results" / "round-1" / "A.json").read_text())
    assert {d["item"]: d["production"] for d in doc["decisions"]} == {"classic": 800, "nova": 300}


def test_plan_dashboard_speaks_months_and_whole_units_and_counts_capacity_shocks(tmp_path: Path) -> None:
    folder = tmp_path / "outage"
    assert cli("new", str(OUTAGE), "--teams", "A", "--dir", str(folder), "--rounds", "4").exit_code == 0
    assert cli("advance", str(folder), "--yes").exit_code == 0
    r = cli("shock", str(folder), "{type: capacity_loss, factory: Plant, factor: 0.5, duration: 60}")
    assert r.exit_code == 0, r.output
    assert "capacity loss: Plant at 50% of its capacity, days 38-97 (8 Feb - 8 Apr)" in r.output
    r = cli("show", str(folder), "--team", "A")
    assert r.exit_code == 0, r.output
    out = r.output
    assert out.startswith("Team A - round 2 of 4: plan Mar's production (8 Feb, day 38;")
    assert "Last round (1 Jan - 31 Jan)" in out
    # The month under way (its forecast, plan and the stock they leave), then the months to plan.
    assert "Feb forecast" in out and "Feb plan" in out and "est. stock end Feb" in out
    ahead = out.split("Ahead (units):")[1].splitlines()
    assert re.search(r"-+ Mar -+ +-+ Apr -+ +-+ May -+", ahead[1])
    assert " ".join(ahead[2].split()) == " ".join(["forecast in force est. stock"] * 3)  # no decision yet
    # Units are whole: no decimals in the tables, no "-0".
    tables = out.split("Now (units):")[1]
    assert not re.search(r"\d\.\d", tables) and " -0 " not in tables
    # The plant works at half capacity until day 97 and the dashboard says so: rest of February (21 days), March
    # (31 days) and April up to day 97 (8 of its 30 days) at half of 58 + 12 a day, May in full.
    d = Workshop.open(folder).dashboard("A")
    cap = d["capacity"]["Plant"]
    assert cap["now"] == {"regular": 21 * 29, "overtime": 21 * 6, "reduced": True}
    assert cap["regular"] == [31 * 29, 8 * 29 + 22 * 58, 31 * 58]  # the months to plan, as d["buckets"]
    assert cap["reduced"] == [True, True, False] and d["capacity_shocks"][0]["factory"] == "Plant"
    assert "609 + 126*" in out and "* Plant: capacity loss from 8 Feb to 8 Apr (50% of capacity)" in out
    assert d["capacity"]["CoPack"]["reduced"] == [False] * 3  # its scheduled outage has not begun
    # Typing: a word or a negative number is asked again with a clear reason; a plan above what the plant
    # can make (half of its capacity in March) is taken when the team confirms it, with a warning that counts
    # the queue the halved February leaves to March, as the dashboard projects it.
    r = cli("decide", str(folder), "--team", "A", input="lots\n-5\n5000\n600\n\n")
    assert r.exit_code == 0, r.output
    assert "Error: 'lots' is not a number; type a number of units, e.g. 12" in r.output
    assert "Error: -5 is below 0; type a number of units, 0 or more" in r.output
    said = " ".join(r.output.split())
    carried = cap["carried"][0]
    assert carried > 100 and f"{carried:,.0f} units are still queued when Mar starts" in " ".join(out.split())
    assert (f"warning: Mar (bucket 2): Plant has {carried + 5000:,.0f} units to make, {carried:,.0f} carried over in "
            "its queue from earlier plans + 5,000 newly planned (orange); capacity 1,085 (899 regular + 186 overtime): "
            f"exceeds capacity by {carried + 5000 - 1085:,.0f} units") in said
    assert "at CoPack" not in said  # smoothie's 600 fit CoPack's March
    assert (folder / "decisions" / "A.csv").read_text().splitlines()[-2:] == ["1,orange,2,5000,,", "1,smoothie,2,600,,"]


def test_plan_debrief_shows_each_family_and_the_costs_plans_move(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "outage"
    assert cli("new", str(OUTAGE), "--teams", "A,B", "--dir", str(folder), "--rounds", "4").exit_code == 0
    assert cli("advance", str(folder), "--yes").exit_code == 0
    assert cli("shock", str(folder), "{type: capacity_loss, factory: Plant, factor: 0.5, duration: 60}").exit_code == 0
    for k in (2, 3, 4):
        append(folder / "decisions" / "B.csv", f"{k - 1},orange,{k},2000\n{k - 1},smoothie,{k},900\n")
        assert cli("advance", str(folder)).exit_code == 0
    data = Workshop.open(folder).debrief_data()
    a = data["teams"]["A"]
    # January had no plan (the warehouse pulled): no point rather than a plan of 0.
    assert a["planned"][0] != a["planned"][0] and a["families"]["core"]["planned"][0] != a["families"]["core"][
        "planned"][0]
    assert data["period_labels"][:3] == ["Jan", "Feb", "Mar"]
    assert set(a["families"]) == {"core", "premium"}
    assert len(a["families"]["premium"]["net_stock"]) == 5  # January to May, the month round 4 planned
    figs = _figures(data, monkeypatch)
    prod = figs["Team B: production against demand by family"]
    core, premium = prod.axes[:2]
    assert (core.get_title(), premium.get_title()) == ("core (orange)", "premium (smoothie)")
    # The plant that lost capacity makes orange only: its shock is shaded there, not on the smoothies.
    assert any(p.get_gid() == "shock:workshop-r2-1" for p in core.patches)
    assert not any(p.get_gid() == "shock:workshop-r2-1" for p in premium.patches)
    assert [ln.get_ydata()[3] for ln in premium.lines if ln.get_gid() == "planned:premium"] == [900]
    assert "Stock (above 0) and backlog (below 0) at DC, by family, end of each month" in figs
    cost = figs["The costs the plans moved, by type"]
    assert [t.get_text() for t in cost.axes[0].get_xticklabels()][:2] == ["holding", "backlog"]
    html = (folder / "debrief.html")
    assert cli("debrief", str(folder)).exit_code == 0
    text = html.read_text()
    assert "Production against demand" in text and "Cost by type" in text and "Orders against demand" not in text


def _figures(data: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from tests.helpers import debrief_figures

    return debrief_figures(data, monkeypatch)


def _gid(fig: Any, gid: str) -> Any:
    return next(a for ax in fig.axes for a in [*ax.lines, *ax.collections, *ax.patches] if a.get_gid() == gid)


def test_beer_debrief_compares_teams_on_one_scale_in_their_own_colours(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.colors import to_hex

    from simsop.report.colors import policy_colors

    folder = new_beer(tmp_path, 8)
    for k in range(1, 9):
        append(folder / "decisions" / "A.csv", "".join(f"{k},{r},{4 if k < 5 else 8}\n" for r in ROLES))
        append(folder / "decisions" / "B.csv", "".join(f"{k},{r},{4 + 6 * (i + 1) * (k % 2)}\n"
                                                       for i, r in enumerate(ROLES)))
        assert cli("advance", str(folder)).exit_code == 0
    ws = Workshop.open(folder)
    ws.replay(2)
    data = ws.debrief_data()
    figs = _figures(data, monkeypatch)
    colors = policy_colors(["A", "B", "C"])
    orders = {t: figs[f"Team {t}: orders placed by each stage against customer demand"] for t in "ABC"}
    # One scale for every team, so that a calm chain looks calm next to a wild one.
    assert len({f.axes[0].get_ylim() for f in orders.values()}) == 1
    assert len({f.axes[0].get_ylim() for t, f in figs.items() if t.startswith("Team ") and "stock" in t}) == 1
    # A team is one colour everywhere: its stages are shades of it, light downstream to dark upstream.
    for t, fig in orders.items():
        shades = [_gid(fig, f"orders:{r}").get_color() for r in ROLES]
        lum = [sum(c) for c in shades]
        assert lum == sorted(lum, reverse=True), (t, shades)
        assert to_hex(shades[1]) != to_hex(shades[2])
    amp = figs["How much each stage amplifies the swings of customer demand"]
    rep = next(f for title, f in figs.items() if title.startswith("Skill or luck"))
    for t in "ABC":
        assert to_hex(_gid(amp, f"amplification:{t}").get_color()) == colors[t].lower()
        assert to_hex(_gid(rep, f"replay:{t}").get_facecolor()[0]) == colors[t].lower()
    # The scenario's demand step (week 5, for good) is marked where it happens.
    step = _gid(orders["A"], "shock:step")
    assert step.get_xdata()[0] == pytest.approx(4.5)
    # B, which swings its orders, amplifies demand at every stage; the chart's scale is the same for all.
    b = data["teams"]["B"]["stages"]
    assert b["factory"]["bullwhip"] > b["retailer"]["bullwhip"] > 1


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


@pytest.mark.parametrize("name", ["teach_collapse_rebound", "teach_promotion", "teach_supplier_outage",
                                  "teach_launch_phaseout"])
def test_teaching_guides_name_the_days_and_rounds_the_game_plays(name: str) -> None:
    """Dates in a facilitator's guide are the simulator's (day 0 is 1 January): '1 July (day 181)', and
    'round 5 (8 May)' is the day that round is decided."""
    from simsop.scenario import load_scenario
    from simsop.workshop.dashboard import day_label
    from simsop.workshop.sim import plan_calendar

    path = ROOT / "scenarios" / f"{name}.yaml"
    guide = " ".join(ln.lstrip("#").strip() for ln in path.read_text().splitlines() if ln.startswith("#"))
    month = "|".join(MONTHS)
    dated = re.findall(rf"(\d{{1,2}}) ({month}) \(day (\d+)\)", guide)
    for d, m, day in dated:
        assert day_label("month", int(day)) == f"{d} {m[:3]}", (d, m, day)
    cal = plan_calendar(load_scenario(path), None)
    rounds = re.findall(rf"round (\d+) \((\d{{1,2}}) ({month})", guide)
    for k, d, m in rounds:
        assert day_label("month", cal.days[int(k) - 1]) == f"{d} {m[:3]}", (k, d, m)
    assert dated or rounds or name == "teach_collapse_rebound"


def _header(folder: Path, team: str) -> str:
    return (folder / "decisions" / f"{team}.csv").read_text().splitlines()[0]


def test_a_plan_files_header_names_what_its_rows_are(tmp_path: Path) -> None:
    """The column of a plan file says what its rows are: family rows under 'family', product rows under
    'product' (the bot's rows, or a team deciding by product), 'item' once they mix; a row that does not fit
    its column is an error naming the file, the line and the column."""
    folder = tmp_path / "promo"
    assert cli("new", str(PROMO), "--teams", "A,B,C", "--dir", str(folder), "--rounds", "3").exit_code == 0
    assert _header(folder, "A") == "cycle,family,bucket,production,inventory_target,source"  # planned by family
    assert cli("decide", str(folder), "--team", "A", input="700\n").exit_code == 0
    r = cli("decide", str(folder), "--team", "B", "--by", "product", input="400\n300\n")
    assert r.exit_code == 0, r.output
    assert _header(folder, "A").startswith("cycle,family,") and _header(folder, "B").startswith("cycle,product,")
    assert cli("advance", str(folder)).exit_code == 0
    assert _header(folder, "C").startswith("cycle,product,")  # C forgot: the bot planned its products
    # Nobody decided round 2 (--yes): A's file now mixes families and products.
    assert cli("advance", str(folder), "--yes").exit_code == 0
    assert _header(folder, "A").startswith("cycle,item,")
    assert _header(folder, "B").startswith("cycle,product,")
    before = files(folder)
    # A product under 'family' and a family under 'product' are named by file, line and column.
    append(folder / "decisions" / "B.csv", "2,snacks,3,900,,\n")
    n = len((folder / "decisions" / "B.csv").read_text().splitlines())
    path = folder / "decisions" / "C.csv"
    path.write_text(path.read_text().replace("cycle,product,", "cycle,family,", 1))
    r = cli("advance", str(folder))
    assert r.exit_code == 2, r.output
    assert (f"B.csv: line {n}: column product: 'snacks' is a family, not a product; name the column family to plan "
            "families; or name the column item to mix products and families") in r.stderr
    assert ("C.csv: line 2: column family: 'crisps' is a product (of family snacks), not a family; name the column "
            "product to plan products") in r.stderr
    assert files(folder) == {**before, "decisions/B.csv": (folder / "decisions" / "B.csv").read_bytes(),
                             "decisions/C.csv": path.read_bytes()}


def test_plan_file_messages_name_the_month_not_only_the_bucket(tmp_path: Path) -> None:
    folder = tmp_path / "promo"
    assert cli("new", str(PROMO), "--teams", "A", "--dir", str(folder), "--rounds", "3").exit_code == 0
    append(folder / "decisions" / "A.csv", "0,snacks,2,700\n0,snacks,2,650\n0,snacks,9,10\n")
    r = cli("advance", str(folder))
    assert r.exit_code == 2
    assert "line 3: a second row for cycle 0, snacks, Mar (bucket 2) (first on line 2)" in r.stderr
    assert ("line 4: Oct (bucket 9) is beyond the plan: cycle 0 (round 1) plans Feb to Jul (buckets 1 to 6)"
            in r.stderr)
    (folder / "decisions" / "A.csv").write_text("cycle,family,bucket,production\n0,snacks,1,700\n")
    assert cli("advance", str(folder)).exit_code == 0
    (folder / "decisions" / "A.csv").write_text("cycle,family,bucket,production\n0,snacks,1,750\n")
    r = cli("advance", str(folder))
    assert r.exit_code == 2  # nobody decided round 2; the edit of round 1 is named, with what was played
    assert ("line 2: cycle 0 (round 1) was already played (as decided: production 700 of snacks in Feb (bucket 1); "
            "this row says 750); your next decision is for cycle 1 (round 2)") in r.stderr
    # The dashboard names the months the file may also plan.
    (folder / "decisions" / "A.csv").write_text("cycle,family,bucket,production\n0,snacks,1,700\n")
    r = cli("show", str(folder), "--team", "A")
    # A 3-round game ends with April (the bucket its last round plans first): later months change nothing.
    assert "may also plan Apr (bucket 3). The game ends on 30 Apr." in r.output.replace("\n", " ")
    assert "Aug" not in r.output.split("This round sets")[1]


def _promo_with_a_shop(tmp: Path) -> Path:
    """teach_promotion plus a shop that reorders crisps from the DC (base stock, 2 days away), with the plan's
    inventory targets setting its reorder level (set_execution_levels)."""
    import yaml

    from tests.helpers import add_reordering_shop

    data = yaml.safe_load(PROMO.read_text(encoding="utf-8"))
    add_reordering_shop(data, "crisps", "kiosk")
    data["planning"]["set_execution_levels"] = True
    path = tmp / "promo_shop.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_teams_decide_inventory_targets_when_the_plan_sets_the_reorder_levels(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    r = cli("new", str(_promo_with_a_shop(tmp_path)), "--teams", "A,B", "--dir", str(folder), "--rounds", "2")
    assert r.exit_code == 0, r.output
    d = Workshop.open(folder).dashboard("A")
    proposed = d["families"]["snacks"]["target"]
    cover = d["inventory_targets"]["days_of_cover"]
    fc = d["families"]["snacks"]["forecast"][0]
    assert proposed == pytest.approx(cover * fc / d["buckets"][0]["days"], abs=0.02)
    # A takes the proposal (Enter); B wants much more stock, after a word and a negative number are refused.
    r = cli("decide", str(folder), "--team", "A", input="700\n\n")
    assert r.exit_code == 0, r.output
    assert f"inventory target of snacks for Feb (units of stock the reordering warehouses aim to hold; proposed " \
           f"{proposed:,.0f}: {cover:g} days of forecast)" in r.output.replace("\n", " ")
    assert "Inventory targets for Feb" in r.output
    r = cli("decide", str(folder), "--team", "B", input="700\nplenty\n-1\n2000\n")
    assert r.exit_code == 0, r.output
    assert "Error: 'plenty' is not a number" in r.output and "Error: -1 is below 0" in r.output
    assert (folder / "decisions" / "B.csv").read_text().splitlines()[1] == "0,snacks,1,700,2000,"
    a_row = (folder / "decisions" / "A.csv").read_text().splitlines()[1].split(",")
    assert float(a_row[4]) == pytest.approx(proposed, abs=0.5)
    assert cli("advance", str(folder)).exit_code == 0
    # The targets reach the plan (split over the family's products) and the shop's order-up-to level.
    ws = Workshop.open(folder)
    levels = {}
    for team, want in (("A", float(a_row[4])), ("B", 2000.0)):
        run = ws.run(team, ws.read_decisions(team), ws.calendar.end(1))
        plan = run.records.plan
        first = (plan["cycle"] == 0) & (plan["bucket"] == plan["bucket"][plan["cycle"] == 0].min())
        assert float(plan["inventory_target"][first].sum()) == pytest.approx(want)
        shop = run.world.warehouses[run.world.warehouse_index("Shop")]
        levels[team] = shop.rules[0].level
    assert levels["B"] > levels["A"] + 100
    # The next round shows the target in force.
    assert ws.dashboard("B")["families"]["snacks"]["target_in_force"] is not None


def test_no_inventory_target_is_asked_when_the_plan_does_not_set_reorder_levels(tmp_path: Path) -> None:
    folder = tmp_path / "promo"
    assert cli("new", str(PROMO), "--teams", "A", "--dir", str(folder), "--rounds", "2").exit_code == 0
    r = cli("decide", str(folder), "--team", "A", input="700\n")
    assert r.exit_code == 0, r.output
    assert "inventory target" not in r.output.lower()
    assert Workshop.open(folder).dashboard("A")["inventory_targets"] is None


def test_a_team_is_told_when_its_inventory_targets_change_nothing(tmp_path: Path) -> None:
    """teach_promotion's plans do not set reorder levels: a team that writes targets anyway is told at advance
    that they change nothing, rather than wondering why they did not act."""
    folder = tmp_path / "promo"
    assert cli("new", str(PROMO), "--teams", "A,B", "--dir", str(folder), "--rounds", "2").exit_code == 0
    (folder / "decisions" / "A.csv").write_text("cycle,family,bucket,production,inventory_target,source\n"
                                                "0,snacks,1,700,500,\n")
    (folder / "decisions" / "B.csv").write_text("cycle,family,bucket,production,inventory_target,source\n"
                                                "0,snacks,1,700,,\n")
    r = cli("advance", str(folder))
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "team A: the inventory targets of round 1 change nothing" in said
    assert "team B: the inventory targets" not in said


def _announced_daily(sc: Any) -> dict[str, Any]:
    """Each product's expected demand a day, as the facilitator announces it (the launch and phase-out plans)."""
    from simsop.planning.cycle import PlanningCycle
    from simsop.planning.policy import make_policy
    from simsop.replication import build_world

    cyc = PlanningCycle(build_world(sc, seed=sc.seed), sc, make_policy("chase", {}), {})
    return {p: cyc.true_daily[i, cyc.day0:] for i, p in enumerate(cyc.products)}


def test_the_launch_game_rewards_planning_from_the_announcement_and_punishes_the_naive_plan(tmp_path: Path) -> None:
    """Team R plans each month from the announced demand with 12 days of stock; team N never decides (the bot
    follows the dashboard's forecast). R serves almost every order; N misses most of them while nova ramps up
    (April to September) but recovers once its history catches up, so the game is not lost for good."""
    from simsop.workshop.metrics import metrics

    ws = Workshop.create(LAUNCH, tmp_path / "launch", teams=["R", "N"])
    demand = _announced_daily(ws.base)
    while not ws.over:
        d = ws.dashboard("R")
        b, now = d["buckets"][0], d["now"][0]
        values = {}
        for p, r in d["products"].items():
            rest = (r["now_plan"] or 0.0) * now["days_left"] / now["days"] - demand[p][d["day"]:b["start"]].sum()
            stock = r["on_hand"] - r["backlog"] + r["pipeline"] + rest
            need = demand[p][b["start"]:b["start"] + b["days"] + 12].sum()
            values[(p, b["bucket"])] = max(0.0, need - stock)
        ws.submit("R", values)
        ws.advance()
    board = {row["team"]: row for row in ws.leaderboard()}
    assert float(board["R"]["otif"]) > 0.9
    assert 0.4 < float(board["N"]["otif"]) < 0.75
    # (A late order costs its backorder penalty per day late: N's waits inside the customers' lead time cost
    # nothing, and R still earns about a fifth more.)
    assert float(board["N"]["profit"]) > 0 and float(board["R"]["profit"]) > 1.15 * float(board["N"]["profit"])
    run = ws.run("N", ws.read_decisions("N"), ws.calendar.final_end)
    month = {m: ws.calendar.bucket_span(b) for m, b in (("Jul", 6), ("Nov", 10), ("Dec", 11))}
    otif = {m: metrics(run.records, ws.scenario, a, z)["otif"] for m, (a, z) in month.items()}
    assert otif["Jul"] < 0.3 and otif["Nov"] > 0.9 and otif["Dec"] > 0.9


# ---------------------------------------------------------------------------------------------- supply review


def _collapse_capacity() -> tuple[float, float]:
    """The collapse game's one plant: regular and overtime units a day, read from the scenario file itself."""
    import yaml

    plant = yaml.safe_load(COLLAPSE.read_text())["factories"][0]
    return float(plant["capacity"]["regular"]), float(plant["capacity"]["overtime"])


FEB_DAYS = 28  # day 31 to day 58: the collapse game's first month to plan


def _over_feb(planned: float) -> str:
    reg, ot = _collapse_capacity()
    cap = (reg + ot) * FEB_DAYS
    ex = planned - cap
    return (f"Feb (bucket 1): planned production {planned:,.0f} units at Plant (drinks), capacity {cap:,.0f} "
            f"({reg * FEB_DAYS:,.0f} regular + {ot * FEB_DAYS:,.0f} overtime): exceeds capacity by {ex:,.0f} units "
            f"({100 * ex / cap:.1f}%)")


def test_a_plan_file_above_capacity_is_warned_and_the_warning_reaches_the_round_result(tmp_path: Path) -> None:
    """The supply review: team A plans 3,000 drinks for February, whose plant makes 66 + 15 a day (2,268 in 28
    days); it is told so, with the month and the numbers, before the round (show) and at advance, and the round's
    result keeps the warning. Team B's 2,000 fit: no warning. Neither plan is changed."""
    folder = tmp_path / "covid"
    assert cli("new", str(COLLAPSE), "--teams", "A,B", "--dir", str(folder), "--rounds", "2").exit_code == 0
    assert _over_feb(3000).startswith("Feb (bucket 1): planned production 3,000 units at Plant (drinks), capacity "
                                      "2,268 (1,848 regular + 420 overtime): exceeds capacity by 732 units (32.3%)")
    append(folder / "decisions" / "A.csv", "0,drinks,1,3000,,\n")
    append(folder / "decisions" / "B.csv", "0,drinks,1,2000,,\n")
    r = cli("show", str(folder), "--team", "A")
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "Supply review of your plan for round 1" in said and f"warning: {_over_feb(3000)}" in said
    # What happens: the plant queues what it cannot make and makes it later.
    assert "732 units it cannot make in Feb stay in its queue; they are made in Mar or later" in said
    r = cli("show", str(folder), "--team", "B")
    assert r.exit_code == 0 and "Supply review" not in r.output and "warning" not in r.output
    r = cli("advance", str(folder))
    assert r.exit_code == 0, r.output
    assert f"warning: team A: {_over_feb(3000)}" in err_text(r)
    assert "team B:" not in err_text(r)
    doc_a = json.loads((folder / "results" / "round-1" / "A.json").read_text())
    doc_b = json.loads((folder / "results" / "round-1" / "B.json").read_text())
    assert len(doc_a["warnings"]) == 1 and doc_a["warnings"][0].startswith(f"team A: {_over_feb(3000)}")
    assert doc_b["warnings"] == []
    # The plan stands as the team made it.
    assert [d["production"] for d in doc_a["decisions"]] == [3000]


def test_interactive_decide_warns_at_once_and_asks_to_confirm(tmp_path: Path) -> None:
    folder = tmp_path / "covid"
    assert cli("new", str(COLLAPSE), "--teams", "A", "--dir", str(folder), "--rounds", "2").exit_code == 0
    # Within capacity: saved without a word about it.
    r = cli("decide", str(folder), "--team", "A", input="2000\n")
    assert r.exit_code == 0, r.output
    assert "warning" not in r.output and "anyway" not in r.output
    # Above: the warning right after the number, then a question; "n" asks again, and the new plan is saved.
    r = cli("decide", str(folder), "--team", "A", input="3000\nn\n2100\n")
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert said.count("warning:") == 1 and f"warning: {_over_feb(3000)}" in said
    assert "Keep this plan for Feb anyway? [Y/n]" in said
    assert (folder / "decisions" / "A.csv").read_text().splitlines()[1:] == ["0,drinks,1,2100,,"]
    # Confirmed (Enter): saved as typed, and the round's result keeps the warning.
    r = cli("decide", str(folder), "--team", "A", input="2500\n\n")
    assert r.exit_code == 0, r.output
    assert f"warning: {_over_feb(2500)}" in " ".join(r.output.split())
    assert (folder / "decisions" / "A.csv").read_text().splitlines()[1:] == ["0,drinks,1,2500,,"]
    assert cli("advance", str(folder)).exit_code == 0
    doc = json.loads((folder / "results" / "round-1" / "A.json").read_text())
    assert [w.startswith(f"team A: {_over_feb(2500)}") for w in doc["warnings"]] == [True]


def test_the_dashboard_estimates_closing_stock_with_what_the_plant_can_make(tmp_path: Path) -> None:
    """After A planned 3,000 for February, the next dashboard (8 February) counts only what the plant can make in
    the rest of February (81 a day, its queue first), carries the rest into March, and says so."""
    folder = tmp_path / "covid"
    assert cli("new", str(COLLAPSE), "--teams", "A", "--dir", str(folder), "--rounds", "3").exit_code == 0
    append(folder / "decisions" / "A.csv", "0,drinks,1,3000,,\n")
    assert cli("advance", str(folder)).exit_code == 0
    ws = Workshop.open(folder)
    d = ws.dashboard("A")
    fam = d["families"]["drinks"]
    day = d["day"]
    assert d["now"][0]["label"] == "Feb" and day == 38 and fam["now_plan"] == pytest.approx(3000)
    reg, ot = _collapse_capacity()
    rest = 59 - day  # days of February still to come
    # The plant's queue as the model holds it (not the dashboard's arithmetic).
    run = ws.run("A", ws.read_decisions("A"), day)
    plant = run.world.factories[0]
    queued = plant.queued_units
    assert queued > 0 and fam["queued"] == pytest.approx(queued, abs=0.05)
    plan_rest = 3000 * rest / FEB_DAYS
    made = min(queued + plan_rest, (reg + ot) * rest)
    assert made == (reg + ot) * rest  # the plan is above capacity: the plant makes all it can
    already = fam["on_hand"] - fam["backlog"] + fam["pipeline"] - queued
    expected_feb = already + made - fam["now_forecast"] * rest / FEB_DAYS
    assert fam["projected"] == pytest.approx(expected_feb, abs=0.05)
    raw = fam["on_hand"] - fam["backlog"] + fam["pipeline"] + (3000 - fam["now_forecast"]) * rest / FEB_DAYS
    assert raw - fam["projected"] > 500  # the old estimate, as if all 3,000 were made
    # What the plant cannot make in February waits: the model's queue at the end of February says the same.
    left_feb = queued + plan_rest - made
    end_feb = ws.run("A", ws.read_decisions("A"), 59).world.factories[0].queued_units
    assert end_feb == pytest.approx(left_feb, abs=1e-6)
    # March (31 days) starts with that queue, then its plan in force (the bot's).
    mar_plan, mar_fc = fam["plan_in_force"][0], fam["forecast"][0]
    made_mar = min(left_feb + mar_plan, (reg + ot) * 31)
    assert fam["projected_ahead"][0] == pytest.approx(expected_feb + made_mar - mar_fc, abs=0.1)
    # The text says the estimate is capacity-limited and shows the queue.
    r = cli("show", str(folder), "--team", "A")
    out = " ".join(r.output.split())
    assert "est. stock end Feb (capacity-limited)" in out and "of it queued" in out and "- Mar -" in out
    assert ("est. stock: at the month's end, capacity-limited, with the plan in force (you have not decided round 2 "
            "yet)") in out
    assert f"Plant: {queued:,.0f} units of earlier plans are still queued" in out
    now = r.output.split("Now (units):")[1].splitlines()
    drinks = next(ln for ln in now if ln.startswith("drinks")).split()
    assert drinks[-1] == f"{round(expected_feb):,}"


MAR_DAYS = 31  # day 59 to day 89: the collapse game's second month to plan


def _carried_game(tmp: Path) -> tuple[Path, float, float]:
    """Two teams that both planned 3,000 drinks for February (above what the plant can make), one round played:
    the plant's queue as the model holds it at the end of February (what February leaves to March) and March's
    capacity, read from the scenario file."""
    folder = tmp / "covid"
    assert cli("new", str(COLLAPSE), "--teams", "A,B", "--dir", str(folder), "--rounds", "3").exit_code == 0
    for team in "AB":
        append(folder / "decisions" / f"{team}.csv", "0,drinks,1,3000,,\n")
    assert cli("advance", str(folder)).exit_code == 0
    ws = Workshop.open(folder)
    left_feb = ws.run("A", ws.read_decisions("A"), 59).world.factories[0].queued_units
    reg, ot = _collapse_capacity()
    return folder, left_feb, (reg + ot) * MAR_DAYS


def _over_mar(carried: float, planned: float) -> str:
    reg, ot = _collapse_capacity()
    cap = (reg + ot) * MAR_DAYS
    ex = carried + planned - cap
    return (f"Mar (bucket 2): Plant has {carried + planned:,.0f} units to make, {carried:,.0f} carried over in its "
            f"queue from earlier plans + {planned:,.0f} newly planned (drinks); capacity {cap:,.0f} "
            f"({reg * MAR_DAYS:,.0f} regular + {ot * MAR_DAYS:,.0f} overtime): exceeds capacity by {ex:,.0f} units "
            f"({100 * ex / cap:.1f}%). The plan alone fits: the {carried:,.0f} units still queued from earlier plans "
            f"take {carried:,.0f} of Mar's capacity first.")


def test_the_supply_review_counts_the_queue_carried_into_a_month(tmp_path: Path) -> None:
    """February's plan of 3,000 is more than the plant can make; what it leaves in the queue is made first in
    March. Team A's March plan fits March's capacity alone but not after that queue: it is warned, with the queue
    carried over and the new plan apart, in show, decide and advance, and the round's result keeps the warning.
    Team B's plan fits after the queue: no warning. The carried-over queue is the model's own at the end of
    February and the one the dashboard shows."""
    folder, carried, cap = _carried_game(tmp_path)
    assert carried > 500  # February's excess and what the plant held before
    d = Workshop.open(folder).dashboard("A")
    assert d["buckets"][0]["label"] == "Mar"
    assert d["capacity"]["Plant"]["carried"][0] == pytest.approx(carried, abs=0.01)
    shown = " ".join(cli("show", str(folder), "--team", "A").output.split())
    assert f"{carried:,.0f} units are still queued when Mar starts; Mar's plan has {cap - carried:,.0f} units" in shown
    fits_alone = float(int(cap - carried / 2))  # below March's capacity, above what the queue leaves of it
    fits = float(int(cap - carried - 5))
    assert fits < fits_alone <= cap < fits_alone + carried
    append(folder / "decisions" / "A.csv", f"1,drinks,2,{fits_alone:g},,\n")
    append(folder / "decisions" / "B.csv", f"1,drinks,2,{fits:g},,\n")
    said = " ".join(cli("show", str(folder), "--team", "A").output.split())
    assert ("Supply review of your plan for round 2 (decisions/A.csv): warning: "
            f"{_over_mar(carried, fits_alone)}") in said
    left = carried + fits_alone - cap
    assert (f"the carried-over units first: the {left:,.0f} units it cannot make in Mar stay in its queue; they are "
            "made in Apr or later") in said
    r = cli("show", str(folder), "--team", "B")
    assert r.exit_code == 0 and "Supply review" not in r.output and "warning" not in r.output
    r = cli("advance", str(folder))
    assert r.exit_code == 0, r.output
    assert f"warning: team A: {_over_mar(carried, fits_alone)}" in " ".join(r.stderr.split())
    assert "team B:" not in err_text(r)
    ws = Workshop.open(folder)
    doc_a = json.loads((ws.round_dir(2) / "A.json").read_text())
    assert [w.startswith(f"team A: {_over_mar(carried, fits_alone)}") for w in doc_a["warnings"]] == [True]
    assert json.loads((ws.round_dir(2) / "B.json").read_text())["warnings"] == []
    assert [x["production"] for x in doc_a["decisions"]] == [fits_alone]  # the plan stands
    # What March leaves in the queue is what the warning said: the model's queue at the end of March.
    end_mar = ws.run("A", ws.read_decisions("A"), 90).world.factories[0].queued_units
    assert end_mar == pytest.approx(left, abs=1e-6)
    assert ws.run("B", ws.read_decisions("B"), 90).world.factories[0].queued_units == pytest.approx(0.0, abs=1e-6)


def test_interactive_decide_warns_about_the_carried_over_queue(tmp_path: Path) -> None:
    folder, carried, cap = _carried_game(tmp_path)
    fits_alone = float(int(cap - carried / 2))
    r = cli("decide", str(folder), "--team", "A", input=f"{fits_alone:g}\nn\n{int(cap - carried - 5)}\n")
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert said.count("warning:") == 1 and f"warning: {_over_mar(carried, fits_alone)}" in said
    assert "Keep this plan for Mar anyway? [Y/n]" in said
    assert (folder / "decisions" / "A.csv").read_text().splitlines()[-1] == f"1,drinks,2,{int(cap - carried - 5)},,"


def test_the_supply_review_projection_counts_the_queue_first_come_first_served() -> None:
    """The check on made-up numbers: a plant of 8 + 2 units a day and a 30-day bucket (300 units) that starts
    with 50 units queued from earlier plans. A plan of 280 fits alone but not after the queue (30 units left);
    250 fits after it; the queue's units are made first."""
    from simsop.workshop.supply import PlantCapacity, overloads, project_plants

    days = 40
    pc = PlantCapacity("P", (0, 1), np.full(days, 8.0), np.full(days, 2.0), 8.0, 2.0, np.ones(days))
    spans = [(0, 0, 30)]

    def check(plan: float) -> tuple[list[Any], Any]:
        load = {(1, 0): plan}
        proj = project_plants({"P": [(0, 50.0)]}, {"P": pc}, load, spans, lambda b: (0, 30))
        return overloads(proj, [0], {"P": pc}, days, lambda b, made: ("x",), load), proj["P"][0]

    found, ld = check(280.0)
    assert ld.carried == 50 and ld.planned == pytest.approx(280) and ld.left == pytest.approx(30)
    assert ld.made == pytest.approx({0: 50.0, 1: 250.0})  # the queue first, then the plan
    assert len(found) == 1 and found[0].excess == pytest.approx(30) and found[0].carried == 50
    found, ld = check(250.0)
    assert found == [] and ld.left == pytest.approx(0, abs=1e-9)


def _promo_with_safety_stock(tmp: Path) -> tuple[Path, float]:
    """The kiosk game with a safety stock in the plan's inventory targets (planning.safety_stock, 95%), and its
    days of cover, both read from the file written."""
    import yaml

    path = _promo_with_a_shop(tmp)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["planning"]["safety_stock"] = {"service_level": 0.95}
    path.write_text(yaml.safe_dump(data))
    return path, float(data["planning"]["days_of_cover"])


def test_the_proposed_inventory_target_is_what_the_plan_sets_safety_stock_included(tmp_path: Path) -> None:
    """With a safety stock in the plan's targets, the dashboard's proposed target is the cycle's own proposal,
    days of cover of the forecast plus the safety stock, and says so: a team that leaves the target empty gets
    exactly that number in its plan, and one that takes decide's default gets the same."""
    path, cover = _promo_with_safety_stock(tmp_path)
    folder = tmp_path / "shop_ss"
    assert cli("new", str(path), "--teams", "A,B", "--dir", str(folder), "--rounds", "2").exit_code == 0
    d = Workshop.open(folder).dashboard("A")
    snacks = d["families"]["snacks"]
    proposed, ss = snacks["target"], snacks["target_safety_stock"]
    days_part = cover * snacks["forecast"][0] / d["buckets"][0]["days"]
    assert ss > 1 and proposed == pytest.approx(days_part + ss, abs=0.05)
    assert d["inventory_targets"] == {"days_of_cover": cover, "safety_stock_service_level": 0.95}
    out = " ".join(cli("show", str(folder), "--team", "A").output.split())
    assert f"proposed ({cover:g} days of forecast + safety stock) of it safety stock in force" in out
    assert f"snacks {proposed:,.0f} {ss:,.0f} -" in out
    assert "plus a safety stock for a 95% cycle service level" in out
    assert "days_of_cover days of forecast + safety stock)" in " ".join((folder / "README.txt").read_text().split())
    # A leaves the target empty; B takes the default that decide offers.
    append(folder / "decisions" / "A.csv", "0,snacks,1,700,,\n")
    r = cli("decide", str(folder), "--team", "B", input="700\n\n")
    assert r.exit_code == 0, r.output
    assert (f"proposed {proposed:,.0f}: {cover:g} days of forecast + safety stock {ss:,.0f})"
            in " ".join(r.output.split()))
    assert cli("advance", str(folder)).exit_code == 0
    ws = Workshop.open(folder)
    for team, tol in (("A", 0.05), ("B", 0.5)):
        plan = ws.run(team, ws.read_decisions(team), ws.calendar.end(1)).records.plan
        first = (plan["cycle"] == 0) & (plan["bucket"] == plan["bucket"][plan["cycle"] == 0].min())
        assert float(plan["inventory_target"][first].sum()) == pytest.approx(proposed, abs=tol), team


# ---------------------------------------------------------------------------------------------- a live class


def _yaml(folder: Path) -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load((folder / "workshop.yaml").read_text()))


def _state(folder: Path) -> dict[str, bytes]:
    """The folder's files, with workshop.yaml's log times (wall clock) left out."""
    out = files(folder)
    out["workshop.yaml"] = re.sub(rb"time: '[^']*'", b"time: ''", out["workshop.yaml"])
    return out


def test_advance_refuses_a_round_nobody_decided_unless_told_to(tmp_path: Path) -> None:
    """A second `advance` typed by mistake would play the next round with the bot for every team: it is refused,
    naming the teams and the ways on, and changes nothing; --yes plays it; one team's decision is enough."""
    folder = tmp_path / "promo"
    assert cli("new", str(PROMO), "--teams", "A,B,C", "--dir", str(folder), "--rounds", "3").exit_code == 0
    before = files(folder)
    r = cli("advance", str(folder))
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit)
    assert "round 1 not played: no team has decided it yet (A, B, C have no rows for round 1" in r.stderr
    assert "simsop workshop decide" in r.stderr and "--yes" in r.stderr
    assert files(folder) == before
    assert cli("advance", str(folder), "--yes").exit_code == 0
    r = cli("advance", str(folder))
    assert r.exit_code == 2 and "round 2 not played" in r.stderr and "simsop workshop undo" in r.stderr
    assert _yaml(folder)["played"] == 1
    append(folder / "decisions" / "B.csv", "1,crisps,2,800,,\n")
    r = cli("advance", str(folder))
    assert r.exit_code == 0, r.output
    # The facilitator's log counts the teams the bot played, not the warnings.
    assert _yaml(folder)["log"][-1]["detail"] == "round 2 played; the bot played for 2 team(s) (A, C)"


def test_the_log_counts_teams_the_bot_played_not_capacity_warnings(tmp_path: Path) -> None:
    folder = tmp_path / "covid"
    assert cli("new", str(COLLAPSE), "--teams", "A,B,C", "--dir", str(folder), "--rounds", "2").exit_code == 0
    append(folder / "decisions" / "A.csv", "0,drinks,1,3000,,\n")  # above capacity: a warning, not a bot
    append(folder / "decisions" / "B.csv", "0,drinks,1,2000,,\n")
    r = cli("advance", str(folder))
    assert r.exit_code == 0 and "team A: Feb (bucket 1): planned production 3,000" in err_text(r)
    assert _yaml(folder)["log"][-1]["detail"] == "round 1 played; the bot played for 1 team(s) (C)"


def test_undo_takes_back_the_last_round_and_the_round_plays_again_the_same(tmp_path: Path) -> None:
    """undo: the rounds played go back by one, the round's results and the bot's rows go, the teams' own rows
    stay; the folder is then as before the advance (but for the log, which says so), and advancing again gives
    the same files."""
    folder = tmp_path / "promo"
    assert cli("new", str(PROMO), "--teams", "A,B", "--dir", str(folder), "--rounds", "4").exit_code == 0
    r = cli("undo", str(folder))
    assert r.exit_code == 2 and "no round has been played: nothing to undo" in r.stderr
    assert cli("advance", str(folder), "--yes").exit_code == 0
    append(folder / "decisions" / "A.csv", "1,crisps,2,820,,\n")
    before = _state(folder)
    assert cli("advance", str(folder)).exit_code == 0
    played = _state(folder)
    assert "source" in (folder / "decisions" / "B.csv").read_text() and b",1,2," not in before["decisions/B.csv"]
    assert cli("replay", str(folder), "-n", "1").exit_code == 0
    r = cli("undo", str(folder))
    assert r.exit_code == 0, r.output
    assert "Round 2 taken back" in r.output and "B (" in r.output
    after = _state(folder)
    cfg = _yaml(folder)
    assert cfg["played"] == 1 and cfg["log"][-1]["action"] == "undo"
    assert not (folder / "results" / "round-2").exists() and not (folder / "results" / "replay.csv").exists()
    assert {k: v for k, v in after.items() if k != "workshop.yaml"} == {
        k: v for k, v in before.items() if k != "workshop.yaml"}
    assert "1,crisps,2,820" in (folder / "decisions" / "A.csv").read_text()  # A's own decision stays
    assert cli("advance", str(folder)).exit_code == 0
    again = _state(folder)
    assert {k: v for k, v in again.items() if k != "workshop.yaml"} == {
        k: v for k, v in played.items() if k not in ("workshop.yaml", "results/replay.csv")}


def test_an_interrupted_advance_is_played_again_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """advance writes workshop.yaml last. A crash before it leaves the bot's rows in the files: they are not the
    team's decision (status, show and advance say nothing about them), the next advance plays the round exactly
    as an uninterrupted one, and an undo only cleans up (it takes back no round)."""
    folder = tmp_path / "promo"
    assert cli("new", str(_promo_with_a_shop(tmp_path)), "--teams", "A,B", "--dir", str(folder),
               "--rounds", "3").exit_code == 0
    append(folder / "decisions" / "A.csv", "0,snacks,1,800,,\n")
    clean = tmp_path / "clean"
    shutil.copytree(folder, clean)
    assert cli("advance", str(clean)).exit_code == 0

    def crash(self: Any, cfg: Any) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(Workshop, "_save", crash)
        with pytest.raises(KeyboardInterrupt):
            Workshop.open(folder).advance(all_bots=False)
    assert ",bot" in (folder / "decisions" / "B.csv").read_text() and _yaml(folder)["played"] == 0
    r = cli("status", str(folder))
    assert "team B: round 1 not decided yet" in r.output and "note" not in r.output
    r = cli("show", str(folder), "--team", "B")
    assert r.exit_code == 0 and "warning" not in r.output and "note" not in r.output
    interrupted = tmp_path / "interrupted"
    shutil.copytree(folder, interrupted)
    r = cli("advance", str(folder))
    assert r.exit_code == 0, r.output
    assert "team B did not decide round 1" in err_text(r) and "inventory target" not in err_text(r)
    assert "team A" not in err_text(r)
    assert {k: v for k, v in _state(folder).items() if k != "workshop.yaml"} == {
        k: v for k, v in _state(clean).items() if k != "workshop.yaml"}
    # An undo after the crash finishes the clean-up of round 1 and takes back nothing more.
    r = cli("undo", str(interrupted))
    assert r.exit_code == 0 and "interrupted" in r.output, r.output
    assert _yaml(interrupted)["played"] == 0 and not (interrupted / "results" / "round-1").exists()
    assert ",bot" not in (interrupted / "decisions" / "B.csv").read_text()
    assert "0,snacks,1,800" in (interrupted / "decisions" / "A.csv").read_text()


def test_the_bot_writes_whole_units_that_replay_what_was_played(tmp_path: Path) -> None:
    """The bot's rows in a team's file are whole units (it plans whole units), without a target column of its
    own, and replaying them gives exactly what was played, also when the plan sets the reorder levels."""
    for scenario in (PROMO, _promo_with_a_shop(tmp_path)):
        folder = tmp_path / scenario.stem
        assert cli("new", str(scenario), "--teams", "A", "--dir", str(folder), "--rounds", "3").exit_code == 0
        for _ in range(2):
            assert cli("advance", str(folder), "--yes").exit_code == 0
        with (folder / "decisions" / "A.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        assert rows and all(r["source"] == "bot" and re.fullmatch(r"\d+", r["production"]) for r in rows), rows
        assert all(r["inventory_target"] == "" for r in rows)
        ws = Workshop.open(folder)
        stored = json.loads((folder / "results" / "round-2" / "A.json").read_text())["dashboard"]
        assert json.loads(json.dumps(ws.dashboard("A"))) == stored, scenario.stem
        assert cli("advance", str(folder), "--yes").exit_code == 0  # the file still reads as the log


def test_a_row_for_a_played_round_is_named_and_does_not_block_the_class(tmp_path: Path) -> None:
    """A team that writes its decision after the round was played (a new row, or one over the bot's row) is told
    which round it was and which is next, by show, status and advance; the row is ignored, the game goes on as
    played, and the other teams are not blocked."""
    folder = tmp_path / "promo"
    assert cli("new", str(PROMO), "--teams", "A,B", "--dir", str(folder), "--rounds", "3").exit_code == 0
    assert cli("advance", str(folder), "--yes").exit_code == 0
    twin = tmp_path / "twin"
    shutil.copytree(folder, twin)
    path = folder / "decisions" / "A.csv"
    first_bot_row = path.read_text().splitlines()[1].split(",")  # 0,crisps,1,<q>,,bot
    append(path, "0,snacks,1,900,,\n")  # late, by family
    append(path, f"0,crisps,1,{int(first_bot_row[3]) + 50},,\n")  # late, over the bot's row
    said = "cycle 0 (round 1) was already played (by the bot"
    nxt = "your next decision is for cycle 1 (round 2)"
    for args in (("show", str(folder), "--team", "A"), ("status", str(folder))):
        r = cli(*args)
        out = " ".join(r.output.split())
        assert r.exit_code == 0 and out.count(said) == 2 and nxt in out, (args, r.output)
        assert "a second row" not in out
    r = cli("show", str(folder), "--team", "B")
    assert said not in r.output
    for f in (folder, twin):
        append(f / "decisions" / "B.csv", "1,crisps,2,800,,\n")
        r = cli("advance", str(f))
        assert r.exit_code == 0, r.output
    assert " ".join(r.stderr.split()).count(said) == 0  # the twin had no late rows
    for team in "AB":
        doc = json.loads((folder / "results" / "round-2" / f"{team}.json").read_text())
        twin_doc = json.loads((twin / "results" / "round-2" / f"{team}.json").read_text())
        assert doc["metrics"] == twin_doc["metrics"] and doc["decisions"] == twin_doc["decisions"]


def test_the_last_round_counts_its_own_month_and_plans_stop_at_the_end(tmp_path: Path) -> None:
    """In a 395-day teaching game every round counts its own month (at most 31 days), and the month after the
    last round (where its plan plays out) is counted in the totals but apart; no dashboard offers a month that
    starts after the game ends."""
    folder = tmp_path / "promo"
    assert cli("new", str(PROMO), "--teams", "A", "--dir", str(folder)).exit_code == 0
    ws = Workshop.open(folder)
    cal = ws.calendar
    for _ in range(cal.rounds):
        d = ws.dashboard("A")
        a, b = d["plannable_buckets"]
        assert cal.bucket_starts[b] < cal.final_end and b >= a
        ws.advance()
    docs = [json.loads((folder / "results" / f"round-{k}" / "A.json").read_text()) for k in range(1, cal.rounds + 1)]
    assert all(0 < d["counted"][1] - d["counted"][0] <= 31 for d in docs)
    last = docs[-1]
    assert last["tail"] == [last["counted"][1], cal.final_end] and last["tail"][1] > last["tail"][0]
    # "profit this round" of the last round is one month's, like the others' (it was two months' before).
    months = sorted(d["round_metrics"]["profit"] for d in docs[:-1])
    assert 0 < last["round_metrics"]["profit"] < 1.5 * months[len(months) // 2], [d["round_metrics"] for d in docs]
    r = cli("leaderboard", str(folder))
    assert r.exit_code == 0


def test_numbers_with_a_thousands_separator_get_a_hint_and_show_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "promo"
    assert cli("new", str(PROMO), "--teams", "A", "--dir", str(folder), "--rounds", "3").exit_code == 0
    append(folder / "decisions" / "A.csv", '0,snacks,1,"1,200",,\n')
    r = cli("show", str(folder), "--team", "A")
    assert r.exit_code == 2
    assert "production must be a number >= 0, got '1,200' (write it without the thousands separator: 1200)" in r.stderr
    assert "nothing was changed" not in r.stderr  # show never changes anything
    r = cli("advance", str(folder))
    assert r.exit_code == 2 and "Bad decision file(s); nothing was changed" in r.stderr
    (folder / "decisions" / "A.csv").write_text("cycle,family,bucket,production,inventory_target,source\n")
    r = cli("decide", str(folder), "--team", "A", input="1,200\n1200\n")
    assert r.exit_code == 0, r.output
    assert "'1,200' is not a number (write it without the thousands separator: 1200)" in r.output
    assert "0,snacks,1,1200," in (folder / "decisions" / "A.csv").read_text()


def test_the_supplier_outage_game_starts_clean_and_the_outage_still_bites(tmp_path: Path) -> None:
    """Before any decision the warehouses serve January (as in the other teaching games); the outage is what
    hurts: the months it runs through are served far worse."""
    folder = tmp_path / "outage"
    assert cli("new", str(OUTAGE), "--teams", "A", "--dir", str(folder), "--rounds", "9").exit_code == 0
    ws = Workshop.open(folder)
    for _ in range(9):
        ws.advance()
    otif = [json.loads((folder / "results" / f"round-{k}" / "A.json").read_text())["round_metrics"]["otif"]
            for k in range(1, 10)]
    assert otif[0] >= 0.97, otif  # January
    assert min(otif[7:9]) < 0.9 * min(otif[:6]), otif  # August/September (outage 20 Jul - 23 Aug) against Jan-Jun
