"""The terminal's tables list what a run measured, and say what their numbers are.

An analyst comparing policies read 'On time to the requested date 99.7%' (a second copy of OTIF) and 'Average
quoted delay 0 ± 0, Δ 0 [0, 0]' in every `simsop compare` of a company that quotes no dates, though the run
table, the report and the variant verdicts leave those KPIs out unless promises were quoted later than asked
(kpimeta.measured); `simsop run` printed a row of dashes for the utilization of a chain without plants and
'1 replications'; the stress test's bullwhip table called the production ratio 'units made ÷ customer demand'
(0.05 reads as making 5% of demand) when it is the ratio of their variances (series.bullwhip).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text

from simsop.cli import _comparison_tables, _print_table, _print_variants, _stress_tables
from simsop.experiment import Experiment, run_experiment
from simsop.scenario import Scenario, load_scenario
from simsop.shocks import apply_shocks
from tests.helpers import scenario
from tests.test_experiment import small, small_data, variants

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
REQUESTED = ("On time to the requested date", "Average quoted delay")


def atp_small() -> Scenario:
    """The small company whose shops are quoted available-to-promise dates from a lean regional stock: about a
    third of their orders are promised later than asked (otif_requested 0.6, quoted delay 0.3 days)."""
    data = small_data()
    data["customers"][0].update(promise="available", requested_lead_time=0)
    data["warehouses"][1]["stock"][0]["policy"]["level"] = 15
    return scenario(data)


def _labels(tables: list[Any]) -> list[str]:
    """The KPI labels of the tables' rows, as printed (wrapped labels joined)."""
    return [" ".join(Text.from_markup(str(c)).plain.split()) for t in tables for c in t.columns[0]._cells]


def _run(sc: Scenario, policies: list[str], n: int = 3, **kw: Any) -> Experiment:
    return run_experiment(sc, policies, n, seed=5, executor="serial", series=False, extras=False, **kw)


def test_compare_lists_the_requested_date_kpis_only_where_later_dates_were_quoted() -> None:
    """Without order promising the requested-date KPIs repeat OTIF and read 0 days: no rows. Where promises
    were quoted later than asked, both rows are there, apart from OTIF."""
    plain = _labels(_comparison_tables(_run(small(), ["none", "level"]), "base", 120))
    assert any(label.startswith("OTIF (orders)") for label in plain)
    assert not [label for label in plain if label.startswith(REQUESTED)]
    exp = _run(atp_small(), ["none", "level"])
    s = exp.summary_of()
    assert s["avg_quoted_delay"]["mean"] > 0 and s["otif_requested"]["mean"] < s["otif"]["mean"]
    quoted = _labels(_comparison_tables(exp, "base", 120))
    for name in REQUESTED:
        assert any(label.startswith(name) for label in quoted), name


def test_variant_tables_follow_the_same_rule(capsys: pytest.CaptureFixture[str]) -> None:
    """`simsop compare a.yaml b.yaml` of variants that quote nothing shows no requested-date rows either."""
    exp = _run(small(), ["none"], cases=variants())
    _print_variants(exp, "2 variants")
    out = " ".join(capsys.readouterr().out.split())
    assert "OTIF (orders)" in out and "Fill rate" in out
    for name in REQUESTED:
        assert name not in out, name


def test_the_run_table_leaves_out_what_no_replication_measured(capsys: pytest.CaptureFixture[str]) -> None:
    """A warehouse and its supplier, no plant: no utilization row of dashes; one replication is 'replication'."""
    sc = load_scenario(SCENARIOS / "textbook_base_stock.yaml")
    assert not sc.factories
    exp = _run(sc, ["none"], n=1)
    _print_table(sc.name, exp.replications, exp.seed, exp.summary_of())
    out = capsys.readouterr().out
    assert "OTIF (orders)" in out and "Profit" in out
    assert "utilization" not in out.lower()
    assert "1 replication," in out and "1 replications" not in out
    # With a plant the rows are there.
    exp = _run(small(), ["none"], n=2)
    _print_table("small", exp.replications, exp.seed, exp.summary_of())
    out = capsys.readouterr().out
    assert "Factory utilization" in out and "2 replications," in out


def test_the_stress_bullwhip_table_says_the_production_ratio_is_of_variances() -> None:
    """bullwhip_production is var(weekly units made) / var(weekly customer demand of made products)
    (series.bullwhip): the title says so instead of 'units made ÷ customer demand'."""
    base = small()
    outage = {"name": "o", "type": "factory_outage", "factory": "Plant", "start": 50, "duration": 15}
    exp = _run(base, ["none"], cases=[("base", base), ("outage", apply_shocks(base, [outage]))])
    console = Console(width=200, file=io.StringIO(), color_system=None)
    tables = _stress_tables(exp)
    titles = [" ".join(Text.from_markup(str(t.title)).plain.split()) for t in tables]
    bullwhip = [t for t in titles if t.startswith("Bullwhip")]
    assert len(bullwhip) == 1
    assert "production: variance of the weekly units made ÷ that of customer demand" in bullwhip[0]
    assert "production: units made ÷ customer demand" not in bullwhip[0]
    for t in tables:
        console.print(t)
