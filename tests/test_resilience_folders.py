"""Run folders under stress: someone's own files, a killed run's leftovers, another simsop, a late Ctrl-C."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import simsop.experiment as ex
from simsop.cli import main
from simsop.experiment import ReplicationError, ResumeError, run_experiment
from simsop.scenario import load_scenario
from tests.helpers import break_replication

ROOT = Path(__file__).resolve().parent.parent
TEXTBOOK = ROOT / "scenarios" / "textbook_base_stock.yaml"


def _unfinished(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run of 3 replications that stopped after the first (replication 1 failed)."""
    real = break_replication(monkeypatch, 1, RuntimeError("stopped"))
    with pytest.raises(ReplicationError):
        run_experiment(load_scenario(TEXTBOOK), replications=3, executor="serial", out=out)
    monkeypatch.setattr(ex, "run_replication", real)


def test_someone_s_files_in_a_folder_without_a_manifest_are_not_deleted(tmp_path: Path) -> None:
    """--out pointed at a folder of one's own that has a summary.csv: the run deleted it (and wrote its own)."""
    out = tmp_path / "my work"
    out.mkdir()
    (out / "summary.csv").write_text("my own numbers\n")
    with pytest.raises(ResumeError, match=r"summary\.csv but no manifest\.json: not a simsop run folder"):
        run_experiment(load_scenario(TEXTBOOK), replications=2, executor="serial", out=out)
    assert (out / "summary.csv").read_text() == "my own numbers\n"


def test_a_killed_run_s_temporary_files_are_removed_and_the_resume_is_whole(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """kill -9 between writing a file's temporary copy and renaming it leaves '.kpis.csv.<random>.tmp' (and one
    in partial/): they stayed in the finished folder for good. A path with spaces and non-ASCII letters."""
    out = tmp_path / "résultats été" / "run 1"
    _unfinished(out, monkeypatch)
    torn = [out / ".kpis.csv.x1y2z3.tmp", out / ".manifest.json.a1b2.tmp",
            out / "partial" / ".000-000-000001-000001.npz.q9.tmp"]
    for t in torn:
        t.write_bytes(b"half a file")
    (out / "notes.tmp").write_text("mine")  # not one of simsop's
    run_experiment(load_scenario(TEXTBOOK), replications=3, executor="serial", out=out, resume=True)
    assert not any(t.exists() for t in torn) and (out / "notes.tmp").exists()
    run_experiment(load_scenario(TEXTBOOK), replications=3, executor="serial", out=tmp_path / "fresh")
    assert (out / "kpis.csv").read_bytes() == (tmp_path / "fresh" / "kpis.csv").read_bytes()


def test_a_run_is_not_resumed_by_another_version_of_simsop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same seed gives the same numbers only with the same versions: finishing a run begun by another simsop
    (or numpy) mixes two versions' replications in one result, and was done without a word."""
    out = tmp_path / "run"
    _unfinished(out, monkeypatch)
    man = json.loads((out / "manifest.json").read_text())
    man["versions"]["simsop"] = "0.0.1"
    (out / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(ResumeError, match=r"versions: the run was made with simsop 0\.0\.1 \(now "):
        run_experiment(load_scenario(TEXTBOOK), replications=3, executor="serial", out=out, resume=True)


def test_ctrl_c_while_the_report_is_written_says_the_results_are_complete(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """It said only 'Aborted!' with exit 1, as if the run were lost."""
    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("simsop.report.write_report", interrupted)
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(TEXTBOOK), "-n", "2", "--executor", "serial", "--out", str(out)])
    assert res.exit_code == 130
    assert f"the results in {out} are complete" in res.output and f"simsop report {out}" in res.output
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
