"""The workshop's supply review counts what a plant makes as the simulated plant does: in good units, its
capacity times its mean yield (``FactorySite._output`` scraps the rest of what it works)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from simsop.cli import main
from simsop.workshop.game import Workshop
from tests.helpers import collapse_workshop

FEB = (31, 59)  # the collapse game's first month to plan: days 31 to 58


def _game_with_yield(tmp: Path) -> tuple[Path, float, float]:
    """The collapse game with a plant that scraps 20% of what it works on average (yield uniform on 0.7-0.9),
    and its raw capacity over February (regular + overtime units a day x 28 days), from the file written."""
    def scrap(data: dict[str, Any]) -> None:
        data["factories"][0]["yield"] = {"dist": "uniform", "low": 0.7, "high": 0.9}

    folder, data = collapse_workshop(tmp, scrap)
    capacity = data["factories"][0]["capacity"]
    raw = (capacity["regular"] + capacity["overtime"]) * (FEB[1] - FEB[0])
    return folder, raw, 0.8


def test_a_plan_within_raw_capacity_but_above_what_the_yield_leaves_is_warned(tmp_path: Path) -> None:
    """A plan of 2,000 good drinks for February fits the plant's 2,268 units of capacity but not the 1,814 good
    units they make at an 80% yield: the cycle asks the plant to start 2,000 / 0.8 = 2,500. The warning says
    so in good units; the model's own queue agrees: February's plan adds (plan / yield - capacity) units to it,
    which is the warning's excess in good units, whatever the yield's draws (they change what is scrapped, not
    what is worked)."""
    folder, raw, y = _game_with_yield(tmp_path)
    plan = 2000.0
    assert raw * y < plan < raw  # the case the old check missed: it compared 2,000 with 2,268
    with (folder / "decisions" / "A.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"0,drinks,1,{plan:g},,\n")
    ws = Workshop.open(folder)
    warnings = ws.supply_check("A")
    excess = plan - raw * y
    assert len(warnings) == 1, warnings
    w = " ".join(warnings[0].split())
    assert (f"planned production {plan:,.0f} units at Plant (drinks), capacity {raw * y:,.0f} good units "
            f"(") in w and f"the {raw:,.0f} units it can work at its 80% mean yield" in w
    assert f"exceeds capacity by {excess:,.0f} units ({100 * excess / (raw * y):.1f}%)" in w
    # The simulated plant: what February's plan leaves in its queue beyond what it held when February began.
    rows = ws.read_decisions("A")
    start = ws.run("A", rows, FEB[0]).world.factories[0].queued_units
    end = ws.run("A", rows, FEB[1]).world.factories[0].queued_units
    assert (end - start) * y == pytest.approx(excess, rel=1e-9)
    # The dashboard shows the same capacity, in good units.
    shown = " ".join(CliRunner().invoke(main, ["workshop", "show", str(folder), "--team", "A"]).output.split())
    assert "Capacity (good units, regular + overtime)" in shown and "80% mean yield" in shown
    # A plan the yield leaves room for is not warned.
    text = (folder / "decisions" / "A.csv").read_text(encoding="utf-8")
    (folder / "decisions" / "A.csv").write_text(text.replace(f",{plan:g},", f",{int(raw * y) - 5},"),
                                                encoding="utf-8")
    assert Workshop.open(folder).supply_check("A") == []

