"""The workshop's supply review warns when a team's plan sends more out of a plant than its lanes carry.

A lane with a ``capacity`` carries so many units a day (simsop.model.lane): what a plant makes, and what it buys,
beyond that waits at its dock and leaves on later days, so the warehouses get it later than the plan says. The
supply review says so where it warns of capacity, with the plant, the month, the plan per day and what the lanes
carry a day (``World.shipping_capacity``). The game: the collapse workshop (one plant of 66 + 15 a day making
cola and lemonade, demand about 60 a day), whose lane to the DC carries 65 a day in these tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner

from simsop.cli import main
from simsop.workshop.game import Workshop
from tests.helpers import collapse_workshop

FEB = (31, 59)  # the game's first month to plan: days 31 to 58
LANE = 65.0


def _game(tmp: Path, lane: float | None, plan: float) -> Path:
    """A one-team, two-round collapse workshop (the lane Plant -> DC carries ``lane`` units a day; None: no limit),
    whose team plans ``plan`` units of drinks for February."""
    def limit(data: dict[str, Any]) -> None:
        if lane is not None:
            data["lanes"][0]["capacity"] = lane

    folder, _ = collapse_workshop(tmp, limit)
    with (folder / "decisions" / "A.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"0,drinks,1,{plan:g},,\n")
    return folder


def _show(folder: Path) -> str:
    r = CliRunner().invoke(main, ["workshop", "show", str(folder), "--team", "A"])
    assert r.exit_code == 0, r.output
    return " ".join(r.output.split())


def test_a_plan_above_what_the_lane_carries_is_warned_with_its_numbers(tmp_path: Path) -> None:
    """2,000 drinks in February's 28 days is 71.4 a day: within the plant's 81 a day (2,268 in February, so no
    capacity warning) but above the lane's 65 a day (1,820 in February). The supply review warns once, naming the
    plant, the month, the plan per day against the lanes' 65 a day and the 180 units (9.9%) that wait at the dock;
    the dashboard says what the lanes carry; ``show`` and the round's results give the warning."""
    days = FEB[1] - FEB[0]
    plan = 2000.0
    assert LANE * days < plan < (66 + 15) * days  # the case: the lane binds, the plant's capacity does not
    folder = _game(tmp_path, LANE, plan)
    warnings = Workshop.open(folder).supply_check("A")
    assert len(warnings) == 1, warnings
    w = " ".join(warnings[0].split())
    excess = plan - LANE * days
    assert w.startswith("Feb (bucket 1): planned production 2,000 units at Plant (drinks), "
                        f"{plan / days:.3g} a day over Feb's {days} days; its lanes carry 65 a day (1,820 in Feb): "
                        f"exceeds what they ship by {excess:,.0f} units ({100 * excess / (LANE * days):.1f}%)"), w
    assert "waits at the plant's dock" in w and "exceeds capacity" not in w
    shown = _show(folder)
    assert "Plant: its lanes carry 65 units a day out of the plant" in shown
    assert "Supply review of your plan for round 1" in shown and "its lanes carry 65 a day (1,820 in Feb)" in shown
    out = Workshop.open(folder).advance()
    assert any("its lanes carry 65 a day" in " ".join(x.split()) for x in out["warnings"]), out["warnings"]


def test_a_plan_the_lane_carries_and_a_game_without_lane_capacity_say_nothing_of_lanes(tmp_path: Path) -> None:
    """1,800 drinks (64.3 a day) fit the lane of 65 a day: no warning, while the dashboard still says what the
    lanes carry. Without a lane capacity the 2,000 of the first test are not warned and nothing anywhere speaks
    of lanes (the dashboard is the old one)."""
    fits = _game(tmp_path / "fits", LANE, 1800.0)
    assert Workshop.open(fits).supply_check("A") == []
    assert "its lanes carry 65 units a day" in _show(fits)
    free = _game(tmp_path / "free", None, 2000.0)
    ws = Workshop.open(free)
    assert ws.supply_check("A") == []
    assert "lanes_per_day" not in ws.dashboard("A")["capacity"]["Plant"]
    assert "lane" not in _show(free)
