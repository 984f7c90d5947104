"""Result files and terminal tables that read the same way everywhere.

summary.json nests every section policy -> case -> KPI (a planner reads a stress test plan by plan, then case
by case), says the units of its values and the sign of its differences; the stress and compare tables keep every
case name, KPI name and number whole on an 80-column terminal (rich wraps at spaces, never inside a word, when
each column has room for its longest word); a mean and its interval are rounded alike.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text

from simsop.cli import _comparison_tables, _difference, _kpi_label, _stat, _stress_tables
from simsop.experiment import Experiment, run_experiment
from simsop.shocks import apply_shocks
from tests.test_experiment import small

# Case names as a stress grid writes them: long, with no space to wrap at.
OUTAGE = {"name": "o", "type": "factory_outage", "factory": "Plant", "start": 50, "duration": 15}
COLLAPSE = {"name": "c", "type": "collapse_rebound", "start": 60, "duration": 30, "magnitude": -0.5,
            "collapse_days": 7, "recovery": "ramp", "recovery_days": 14}
CASES = ("base", "trucking-shortage", "collapse@day120x0.2")


@pytest.fixture(scope="module")
def stress(tmp_path_factory: pytest.TempPathFactory) -> tuple[Experiment, Path]:
    base = small()
    out = tmp_path_factory.mktemp("stress") / "run"
    exp = run_experiment(base, ["none", "level"], 3, seed=5, executor="serial", series=False, extras=False,
                         cases=[(CASES[0], base), (CASES[1], apply_shocks(base, [OUTAGE])),
                                (CASES[2], apply_shocks(base, [COLLAPSE]))], out=out)
    return exp, out


def test_summary_json_nests_every_section_policy_case_kpi(stress: tuple[Experiment, Path]) -> None:
    """paired was nested case -> policy while summary and case_effects were policy -> case: a reader had to
    know which. Every section is policy -> case -> KPI now, with the same numbers as the CSV files."""
    exp, out = stress
    js = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert js["nesting"] == "policy -> case -> kpi"
    for section, frame, diff in (("summary", exp.summary, "mean"), ("paired", exp.paired, "mean_diff"),
                                 ("case_effects", exp.case_effects, "mean_diff")):
        assert len(frame), section
        policies = list(dict.fromkeys(frame["policy"]))
        assert list(js[section]) == policies, section
        for p in policies:
            assert list(js[section][p]) == list(dict.fromkeys(frame.loc[frame["policy"] == p, "case"])), section
        for r in frame.to_dict("records"):
            got = js[section][r["policy"]][r["case"]][r["kpi"]]
            assert got["n"] == r["n"], (section, r["kpi"])
            if r[diff] == r[diff]:
                assert got[diff] == pytest.approx(r[diff], rel=1e-12, abs=1e-12), (section, r["kpi"])
    assert set(js["paired"]) == {"level"} and set(js["case_effects"]["none"]) == set(CASES[1:])
    assert js["summary"]["none"]["base"]["otif"]["mean"] == js["otif"]["mean"]  # the baseline's, at the top
    # The units of the stored values: rates are fractions, MAPE and WMAPE percent.
    assert js["units"]["otif"] == "fraction" and js["units"]["shock_worst_otif"] == "fraction"
    assert js["units"]["profit"] == "currency units"
    assert "policy - baseline" in js["differences"]["paired"]
    assert "case - baseline_case" in js["differences"]["case_effects"]


def _render(tables: list[Any], width: int) -> tuple[list[str], set[str]]:
    """The tables as printed at ``width`` columns, and every word of their titles, headers and cells."""
    console = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    words: set[str] = set()
    for t in tables:
        console.print(t)
        for src in [t.title, *(c.header for c in t.columns), *(cell for c in t.columns for cell in c._cells)]:
            words |= set(Text.from_markup(str(src or "")).plain.split())
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return out.splitlines(), words


def _broken(lines: list[str], words: set[str]) -> list[str]:
    """Words that no printed line holds whole: folded mid-word (or cut with an ellipsis)."""
    return sorted(w for w in words if not any(w in line for line in lines))


@pytest.mark.parametrize("width", [80, 120])
def test_stress_tables_keep_case_names_kpi_names_and_numbers_whole(stress: tuple[Experiment, Path],
                                                                  width: int) -> None:
    """At 80 columns the stress table folded case names mid-word ('trucki / ng-sho / rtage') and numbers
    ('[-1,44 / 4,'). Each case now heads its own table, and every word of every table is printed whole."""
    exp, _ = stress
    lines, words = _render(_stress_tables(exp), width)
    assert max(len(line) for line in lines) <= width
    assert not _broken(lines, words)
    for name in (*CASES[1:], "Recovery", "days", "Worst", "OTIF", "backlog", "revenue", "no shock", "none"):
        assert any(name in line for line in lines), name


@pytest.mark.parametrize("width", [80, 120])
def test_compare_tables_keep_kpi_names_and_numbers_whole(width: int) -> None:
    """Five policies side by side at 80 columns leave 9 characters a column: '5,134,116' would fold. The
    policies are split over tables that fit, each with the baseline first, and no word is cut."""
    pols = ["none", "chase", "hybrid", "level", "lp"]
    exp = run_experiment(small(), pols, 3, seed=5, executor="serial", series=False, extras=False)
    tables = _comparison_tables(exp, "base", width)
    lines, words = _render(tables, width)
    assert max(len(line) for line in lines) <= width
    assert not _broken(lines, words)
    for p in pols:
        assert any(p in str(c.header) for t in tables for c in t.columns), p
    assert all(str(t.columns[1].header) == "none (baseline)" for t in tables)


def test_a_mean_and_its_interval_are_rounded_alike() -> None:
    """'+0.902 [-1.97, +3.77]' and '1.4 ± 0.46' rounded the mean and its bounds each its own way: the
    decimals now come from the largest number of the cell, and a difference's percentage is in points."""
    d = {"n": 4, "mean_diff": 0.902, "ci_low": -1.97, "ci_high": 3.77, "significant": False}
    assert Text.from_markup(_difference("shock_peak_backlog", d, " ")).plain == "+0.90 [-1.97, +3.77]"
    s = {"n": 4, "mean": 1.4, "half_width": 0.46, "ci_low": 0.94, "ci_high": 1.86, "ci_method": "t"}
    assert Text.from_markup(_stat("bullwhip_East", s)).plain == "1.40 ± 0.46"
    d = {"n": 4, "mean_diff": -0.076, "ci_low": -0.124, "ci_high": -0.028, "significant": True}
    assert Text.from_markup(_difference("shock_worst_otif", d, " ")).plain == "-7.6 pts [-12.4, -2.8] ▼"
    # A significant difference of 0.02 points is shown, as the report shows it (it read '0.0 pts [0.0, 0.0] ▲').
    d = {"n": 4, "mean_diff": 0.0002, "ci_low": 0.0001, "ci_high": 0.0003, "significant": True}
    assert Text.from_markup(_difference("fill_rate", d, " ")).plain == "+0.02 pts [+0.01, +0.03] ▲"


def test_mape_and_wmape_say_they_are_percentages() -> None:
    """MAPE and WMAPE are stored in percent (12.4), other rates as fractions (0.97): the compare table showed
    '12.4 ± 0.885' under 'Forecast MAPE, lag 1', which reads as neither. It shows 12.4% now, as it does OTIF."""
    s = {"n": 4, "mean": 12.38, "half_width": 0.885, "ci_low": 11.5, "ci_high": 13.27, "ci_method": "t"}
    assert Text.from_markup(_stat("forecast_mape_lag1", s)).plain == "12.4% ± 0.9%"
    assert _kpi_label("forecast_wmape_lag3") == "Forecast WMAPE, lag 3 (%)"
    assert _kpi_label("fva_sales_lag1").endswith("(WMAPE points)")
    d = {"n": 4, "mean_diff": 0.26, "ci_low": -0.52, "ci_high": 1.04, "significant": False}
    assert Text.from_markup(_difference("forecast_mape_lag1", d, " ")).plain == "+0.3 pts [-0.5, +1.0]"
