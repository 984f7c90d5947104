"""A replayed plan that plays less than its file says is noted by ``simsop validate``.

A planner replays "the plan we approved" by writing the plans of a run to a decisions file. Two files load
without a problem yet replay nothing for months, and the run then makes nothing there (OTIF 10-50% on the
example company), so the notes must say so:

* a file written from the records' ``plan`` table as it is: that table counts buckets from the first month of
  the forecast history (37 months before day 0 here), the decisions file from day 0, so every row lands
  beyond its cycle's horizon and is skipped;
* the approved plan of one cycle with ``missing: hold``: no cycle plans past its last bucket.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml
from click.testing import CliRunner

import simsop
from simsop.cli import main
from simsop.scenario_notes import scenario_notes

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _approved_plan(tmp: Path) -> pd.DataFrame:
    """The plans of a level-policy run of the seasonal company, as the records' plan table gives them."""
    sc = simsop.load_scenario(SCENARIOS / "sop_seasonal.yaml")
    res = simsop.run_replication(sc, seed=3, replication=0, keep_records=True)
    plan = res.records.to_frames()["plan"]
    return plan[["cycle", "product", "bucket", "production"]]


def _replay(tmp: Path, rows: pd.DataFrame, **params: object) -> Path:
    rows.to_csv(tmp / "approved.csv", index=False)
    data = yaml.safe_load((SCENARIOS / "sop_seasonal.yaml").read_text(encoding="utf-8"))
    data["planning"].update(policy="replay", params={"file": "approved.csv", **params})
    f = tmp / "approved.yaml"
    f.write_text(yaml.safe_dump(data), encoding="utf-8")
    return f


def _file_notes(f: Path) -> str:
    return "\n".join(n for k, n in scenario_notes(simsop.load_scenario(f)) if k == "planning.params.file")


def _planned(f: Path) -> pd.Series:
    """Production the plans in force give each bucket (the last cycle's plan of it), in one replication."""
    res = simsop.run_replication(simsop.load_scenario(f), seed=3, replication=0, keep_records=True)
    plan = res.records.to_frames()["plan"]
    return plan.sort_values("cycle").groupby("bucket_start")["production"].last()


def test_a_file_written_from_the_records_plan_table_is_noted_with_the_shift(tmp_path: Path) -> None:
    plan = _approved_plan(tmp_path)
    history = 37  # sop_seasonal: 36 history buckets of up to 31 days reach back into a 37th month
    f = _replay(tmp_path, plan)
    note = _file_notes(f)
    assert f"{len(plan):,} of its {len(plan):,} rows" in note and "no cycle plays them" in note
    assert f"subtract {history} from its buckets" in note
    # What the note says is what the run does: nothing is made under the plan (the rows are skipped).
    assert (_planned(f).dropna() == 0).all()
    # The validate command prints it after the file's "ok".
    out = CliRunner().invoke(main, ["validate", str(f)]).output
    assert ": ok (" in out and f"subtract {history} from its buckets" in out

    shifted = plan.assign(bucket=plan["bucket"] - history)
    g = _replay(tmp_path, shifted)
    assert _file_notes(g) == ""
    assert _planned(g).dropna().sum() > 0


def test_one_cycles_plan_held_for_the_run_is_noted_where_it_runs_out(tmp_path: Path) -> None:
    plan = _approved_plan(tmp_path)
    history = 37
    first = plan[plan["cycle"] == 0].assign(bucket=lambda d: d["bucket"] - history)
    last = int(first["bucket"].max())  # cycle 0 plans buckets 1 to 12 of a 24-month run
    f = _replay(tmp_path, first, missing="hold")
    note = _file_notes(f)
    assert f"(buckets {last + 1} to 23)" in note and "makes nothing" in note
    planned = _planned(f)
    bucket_of_day = {int(s): b for b, s in enumerate(sorted(planned.index))}
    assert all(v == 0 for s, v in planned.items() if bucket_of_day[int(s)] > last)
