"""``simsop plan`` writes "the plan we approved": every cycle's agreed plan as a decisions file that the
``replay`` policy plays back. The records' plan table counts buckets from the forecast history's first month and
a decisions file from day 0, so a planner who wrote the table out as it is replayed nothing; the export converts.

Exact: replayed with the same seed and replication, the file makes what the run made, so every KPI is the same
to the bit (production is the only thing a plan decides in these scenarios: no staffing, no subcontracting).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

import simsop
from simsop.cli import main
from simsop.scenario_notes import scenario_notes

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _replaying(name: str, folder: Path, file: str) -> Path:
    data = yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8"))
    data["planning"]["policy"] = "replay"
    data["planning"]["params"] = {"file": file}
    out = folder / f"{name}-replay.yaml"
    out.write_text(yaml.safe_dump(data), encoding="utf-8")
    return out


def _same(a: dict[str, object], b: dict[str, object]) -> list[str]:
    def eq(x: object, y: object) -> bool:
        return x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
    return [k for k in a if not eq(a[k], b[k])]


@pytest.mark.parametrize(("name", "policy", "seed", "rep"), [("sop_seasonal", "level", 3, 1),
                                                            ("example_company", "lp", 5, 2)])
def test_the_exported_plan_replays_the_run_to_the_bit(tmp_path: Path, name: str, policy: str, seed: int,
                                                      rep: int) -> None:
    out = CliRunner().invoke(main, ["plan", str(SCENARIOS / f"{name}.yaml"), "--policy", policy,
                                                    "--seed", str(seed), "--replication", str(rep),
                                                    "--out", str(tmp_path / "approved.csv")])
    assert out.exit_code == 0, out.output + out.stderr
    assert "decisions of 24 cycles" in out.output and out.stderr == ""
    rows = pd.read_csv(tmp_path / "approved.csv")
    assert list(rows.columns) == ["cycle", "product", "bucket", "production", "inventory_target"]
    assert rows["bucket"].min() >= 1  # cycle 0 plans from the month after day 0's
    replay = simsop.load_scenario(_replaying(name, tmp_path, "approved.csv"))
    assert [n for k, n in scenario_notes(replay) if k == "planning.params.file"] == []  # plays every row
    sc = simsop.load_scenario(SCENARIOS / f"{name}.yaml")
    planned = simsop.run_replication(sc, seed=seed, replication=rep, policy=policy).kpis
    replayed = simsop.run_replication(replay, seed=seed, replication=rep).kpis
    assert _same(planned, replayed) == []


def test_a_policy_without_plans_is_refused(tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["plan", str(SCENARIOS / "sop_seasonal.yaml"), "--policy",
                                                    "none", "--out", str(tmp_path / "x.csv")])
    assert out.exit_code == 2 and "no S&OP cycle plans" in out.stderr
    assert not (tmp_path / "x.csv").exists()


def test_a_stress_test_of_the_approved_plan_says_only_execution_reacts(tmp_path: Path) -> None:
    """The planner's question end to end: export level's plan, add it to the scenario's grouped params as
    ``replay``, stress replay and level under a demand drop. Its terminal output says that the replayed
    production does not answer the shock (only execution does), and a replay under no shock is level's run."""
    runner = CliRunner()
    assert runner.invoke(main, ["plan", str(SCENARIOS / "sop_seasonal.yaml"), "--out",
                                str(tmp_path / "approved.csv")]).exit_code == 0
    data = yaml.safe_load((SCENARIOS / "sop_seasonal.yaml").read_text(encoding="utf-8"))
    data["planning"]["params"]["replay"] = {"file": "approved.csv"}
    data["shocks"] = [{"name": "drop", "type": "demand_step", "magnitude": -0.4, "start": 300, "duration": 90}]
    (tmp_path / "crisis.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    out = runner.invoke(main, ["stress", str(tmp_path / "crisis.yaml"), "--policies", "replay,level", "-n", "2",
                               "--executor", "serial", "--no-report", "--out", str(tmp_path / "run")])
    assert out.exit_code == 0, out.output
    assert "replay: production follows the decisions file whatever the shocks; only execution reacts" in out.output
    kpis = pd.read_csv(tmp_path / "run" / "kpis.csv")
    base = kpis[kpis["case"] == "base"].set_index(["policy", "replication"])
    # Replication 0 of the base case is the future the plan was made in (the scenario's seed): the same run.
    assert base.loc[("replay", 0), "profit"] == base.loc[("level", 0), "profit"]
    assert base.loc[("replay", 1), "profit"] != base.loc[("level", 1), "profit"]  # another future, a fixed plan
