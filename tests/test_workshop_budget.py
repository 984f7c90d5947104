"""The plan workshop's dashboard shows the inventory budget against the stock the team's plan leads to."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from simsop.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _show_after_one_round(tmp: Path, scenario: str, plan: float) -> str:
    """A one-team workshop of ``scenario`` whose first round the bot played, the team then planning ``plan``
    heaters a month for the two months after it; the team's dashboard text."""
    folder = tmp / "ws"
    runner = CliRunner()
    r = runner.invoke(main, ["workshop", "new", str(ROOT / "scenarios" / scenario), "--teams", "A", "--dir",
                             str(folder), "--rounds", "3"])
    assert r.exit_code == 0, r.output
    assert runner.invoke(main, ["workshop", "advance", str(folder), "--yes"]).exit_code == 0
    with (folder / "decisions" / "A.csv").open("a", encoding="utf-8") as fh:
        for bucket in (2, 3):  # the bot wrote round 1's rows by product: the team follows (60% radiators)
            fh.write(f"1,radiator,{bucket},{0.6 * plan:g},,\n1,fan,{bucket},{0.4 * plan:g},,\n")
    r = runner.invoke(main, ["workshop", "show", str(folder), "--team", "A"], env={"COLUMNS": "120"})
    assert r.exit_code == 0, r.output
    return " ".join(r.output.split())


def test_the_dashboard_sets_the_estimated_stock_value_against_the_inventory_budget(tmp_path: Path) -> None:
    """teach_limits has an inventory budget of 40,000: a team planning 3,000 heaters a month against a forecast
    of about 2,200 sees the estimated stock value of each month ahead against it, marked where it is over (the
    dashboard never showed the budget, so the facilitator had to announce it); a team planning 1,000 sees no
    month over. The collapse game has no budget: no such line."""
    high = _show_after_one_round(tmp_path / "high", "teach_limits.yaml", 3000)
    line = re.search(r"Inventory budget 40,000 \(.*?\): est\. stock value (.*?)\.", high)
    assert line is not None, high
    assert line.group(1).count("(over)") >= 2 and len(line.group(1).split(", ")) == 3
    low = _show_after_one_round(tmp_path / "low", "teach_limits.yaml", 1000)
    assert "Inventory budget 40,000" in low and "(over)" not in low
    collapse = tmp_path / "collapse"
    r = CliRunner().invoke(main, ["workshop", "new", str(ROOT / "scenarios" / "teach_collapse_rebound.yaml"),
                                  "--teams", "A", "--dir", str(collapse), "--rounds", "2"])
    assert r.exit_code == 0, r.output
    assert "Inventory budget" not in CliRunner().invoke(main, ["workshop", "show", str(collapse), "--team", "A"]).output
