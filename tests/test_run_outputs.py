"""`simsop run` writes what the simulated-company issue promises: a manifest that reproduces the run, a KPI
row per replication, and per-KPI statistics in summary.json (mean, CI, std, quantiles, n)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner

from simsop.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_run_writes_manifest_kpis_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(ROOT / "scenarios" / "textbook_base_stock.yaml"), "-n", "3",
                                    "--seed", "5", "--executor", "serial", "--no-report", "--out", str(out)])
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["replications"] == 3
    assert len(manifest["scenario_file_sha256"]) == 64 and "simpy" in manifest["versions"]
    assert manifest["command"] and all(isinstance(a, str) for a in manifest["command"])
    rows = list(csv.DictReader((out / "kpis.csv").open()))
    assert [int(r["replication"]) for r in rows] == [0, 1, 2]
    summary = json.loads((out / "summary.json").read_text())
    for kpi in ("otif", "fill_rate", "avg_on_hand", "profit"):
        s = summary[kpi]
        assert {"mean", "ci_low", "ci_high", "std", "p5", "p50", "p95", "n"} <= set(s)
        values = [float(r[kpi]) for r in rows]
        assert s["n"] == 3 and abs(s["mean"] - sum(values) / 3) < 1e-9 * max(1.0, abs(s["mean"]))
        assert s["ci_low"] <= s["mean"] <= s["ci_high"]


def test_the_run_table_shows_promising_and_budget_rows_only_when_the_run_measures_them(tmp_path: Path) -> None:
    """teach_limits quotes available-to-promise dates and sets an inventory budget: its run table shows OTIF to
    the requested dates, the quoted delay and the buckets over budget (they were missing: the table said OTIF
    99.7% and nothing of the 69% on time to the dates customers asked for). textbook_base_stock does neither:
    those rows would repeat OTIF, read 0 days and show '–', so they are left out."""
    labels = ("OTIF (requested dates)", "Quoted delay (days)", "Buckets over budget")
    for name, shown in (("teach_limits", True), ("textbook_base_stock", False)):
        res = CliRunner().invoke(main, ["run", str(ROOT / "scenarios" / f"{name}.yaml"), "-n", "2", "--executor",
                                        "serial", "--no-report", "--out", str(tmp_path / name)],
                                 env={"COLUMNS": "120"})
        assert res.exit_code == 0, res.output
        assert all((label in res.output) is shown for label in labels), res.output
