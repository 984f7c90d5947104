"""Experiments: common random numbers, executors that agree byte for byte, resume, sequential precision,
result files that match the statistics, daily series and bullwhip, and the `run`/`compare`/`stress` commands.

Policies other than ``none`` are being written by others: the engine is tested with ``none`` and scenario
variants (cases); the tests that need real planning policies skip when they are not registered.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats as sps

from simsop import experiment
from simsop.cli import main
from simsop.executors import ExecutorError, open_pool
from simsop.experiment import ResumeError, Target, read_manifest, run_experiment, run_replications
from simsop.planning.policy import PolicyError, available_policies
from simsop.replication import run_replication
from simsop.report.kpimeta import value_range
from simsop.scenario import Scenario, load_scenario
from simsop.series import bullwhip, daily_series, incoming_demand
from simsop.stats import mser_many, paired_difference, precision_reached, summarize
from tests.helpers import product, scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
FILES = ("kpis.csv", "summary.csv", "paired.csv", "paired_cases.csv", "series.csv", "summary.json")


def small_data(horizon: int = 150, warmup: int = 20) -> dict[str, Any]:
    """A plant feeding a central warehouse that feeds a regional one; about 0.03 s a replication."""
    return {
        "name": "small", "horizon": horizon, "warmup": warmup, "seed": 11, "replications": 6,
        "products": [product("A", family="F1"), product("B", family="F1", price=20.0, unit_cost=12.0)],
        "customers": [
            {"id": "shops", "warehouse": "East", "requested_lead_time": 2, "patience": 10,
             "demand": [{"product": "A", "orders_per_day": 3, "quantity": {"dist": "poisson", "mean": 4}},
                        {"product": "B", "daily": {"dist": "gamma", "mean": 6, "sd": 3}}]},
            {"id": "web", "warehouse": "Central", "unmet": "lost_sale",
             "demand": [{"product": "A", "orders_per_day": 2, "quantity": 1}]},
        ],
        "warehouses": [
            {"id": "Central", "stock": [
                {"product": "A", "initial": 120, "source": "Plant", "policy": {"type": "sS", "s": 60, "S": 160}},
                {"product": "B", "initial": 60, "source": "Plant",
                 "policy": {"type": "base_stock", "level": 80, "review_period": 7}}]},
            {"id": "East", "stock": [
                {"product": "A", "initial": 40, "source": "Central", "policy": {"type": "base_stock", "level": 50}},
                {"product": "B", "initial": 20, "source": "Central", "policy": {"type": "base_stock", "level": 30}}]},
        ],
        "factories": [{"id": "Plant", "products": ["A", "B"],
                       "capacity": {"regular": 25, "overtime": 5, "overtime_cost": 1.0}}],
        "lanes": [{"from": "Plant", "to": "Central", "lead_time": {"dist": "uniform", "low": 1, "high": 3}},
                  {"from": "Central", "to": "East", "lead_time": 1}],
    }


def small(**kw: Any) -> Scenario:
    return scenario(small_data(**kw))


def with_levels(sc: Scenario, warehouse: str, factor: float) -> Scenario:
    """The scenario with the base-stock levels of one warehouse scaled (a policy-parameter variant)."""
    whs = []
    for w in sc.warehouses:
        if w.id == warehouse:
            items = [it.model_copy(update={"policy": it.policy.model_copy(update={"level": it.policy.level * factor})})
                     if it.policy.type == "base_stock" else it for it in w.stock]
            w = w.model_copy(update={"stock": tuple(items)})
        whs.append(w)
    return sc.model_copy(update={"warehouses": tuple(whs)})


def variants() -> list[tuple[str, Scenario]]:
    sc = small()
    return [("base", sc), ("lean", with_levels(sc, "East", 0.6))]


def same_files(a: Path, b: Path, names: tuple[str, ...] = FILES) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


# ---------------------------------------------------------------------------------------------- CRN


def _var_ratio_bound(var_independent: float, var_paired: float, n: int) -> float:
    """One-sided 99% lower confidence bound of var_independent / var_paired (two sample variances, n-1 df)."""
    return var_independent / var_paired / float(sps.f.ppf(0.99, n - 1, n - 1))


def test_common_random_numbers_shrink_the_variance_of_paired_differences() -> None:
    """Two base-stock variants of the example company, paired on the same streams (replication i of both)
    against the variant run on other seeds: the paired difference in profit varies several times less."""
    sc = load_scenario(SCENARIOS / "example_company.yaml").model_copy(update={"horizon": 180, "warmup": 30})
    b = with_levels(sc, "DC-Central", 1.3)
    n = 16
    crn = run_experiment(sc, ["none"], n, seed=5, cases=[("a", sc), ("b", b)], series=False, extras=False)
    ind = run_experiment(b, ["none"], n, seed=6, series=False, extras=False)
    pa = crn.kpis.loc[crn.kpis["case"] == "a", "profit"].to_numpy()
    pb = crn.kpis.loc[crn.kpis["case"] == "b", "profit"].to_numpy()
    pi = ind.kpis["profit"].to_numpy()
    var_crn, var_ind = np.var(pb - pa, ddof=1), np.var(pi - pa, ddof=1)
    # "Several times": the 99% lower bound of the variance ratio is above 3.
    assert _var_ratio_bound(var_ind, var_crn, n) > 3, (var_ind, var_crn)
    # The experiment reports it too: var(a - b) / (var(a) + var(b)) is far below 1 under CRN.
    eff = crn.case_effects.set_index("kpi").loc["profit"]
    assert eff["variance_reduction"] < 1 / 3
    # Identical customer demand in every pair: the streams are common.
    assert (crn.kpis.loc[crn.kpis["case"] == "a", "demand_units"].to_numpy()
            == crn.kpis.loc[crn.kpis["case"] == "b", "demand_units"].to_numpy()).all()


@pytest.mark.skipif(not {"level", "chase"} <= set(available_policies()), reason="planning policies not there yet")
def test_common_random_numbers_between_two_planning_policies() -> None:
    sc = load_scenario(SCENARIOS / "example_company.yaml").model_copy(update={"horizon": 240, "warmup": 30})
    n = 20
    crn = run_experiment(sc, ["level", "chase"], n, seed=5, series=False, extras=False)
    ind = run_experiment(sc, ["chase"], n, seed=6, series=False, extras=False)
    pa = crn.kpis.loc[crn.kpis["policy"] == "level", "profit"].to_numpy()
    pb = crn.kpis.loc[crn.kpis["policy"] == "chase", "profit"].to_numpy()
    var_crn, var_ind = np.var(pb - pa, ddof=1), np.var(ind.kpis["profit"].to_numpy() - pa, ddof=1)
    assert var_ind / var_crn > 3 and _var_ratio_bound(var_ind, var_crn, n) > 1, (var_ind, var_crn)


# ---------------------------------------------------------------------------------------------- executors


def executors() -> list[str]:
    """Every executor this machine can run: serial, process, and Dask when it is installed."""
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        return ["serial", "process"]
    return ["serial", "process", "dask"]


def test_every_executor_writes_the_same_files(tmp_path: Path) -> None:
    kinds = executors()
    for kind in kinds:
        run_experiment(small(), ["none"], 6, seed=3, cases=variants(), executor=kind, jobs=2, out=tmp_path / kind)
    for kind in kinds[1:]:
        same_files(tmp_path / "serial", tmp_path / kind)


def shock_cases() -> list[tuple[str, Scenario]]:
    """The small network without shocks, and under two cases with random timing (a window, a probability)."""
    from simsop.shocks import apply_shocks

    sc = small()
    return [("base", sc),
            ("outage", apply_shocks(sc, [{"name": "o", "type": "factory_outage", "factory": "Plant",
                                          "window": [40, 70], "duration": {"dist": "uniform", "low": 5, "high": 20}}])),
            ("surge", apply_shocks(sc, [{"name": "s", "type": "demand_spike", "window": [50, 90], "duration": 10,
                                         "magnitude": 1.0, "probability": 0.7}]))]


def test_the_reference_is_simulated_once_per_replication_and_judged_over_each_cases_windows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """However many shock cases there are, a replication of the reference case is simulated once per policy;
    the shock outcomes it gives each case are those of that very run over the windows the case's own run
    records (same future, same window, without the shocks)."""
    from simsop.kpi import NO_SHOCK_SUFFIX, SHOCK_OUTCOME_NAMES, shock_kpis

    cases = shock_cases()
    runs: list[tuple[str, int]] = []
    real = experiment.run_replication

    def counted(sc: Scenario, **kw: Any) -> Any:
        runs.append((next(name for name, v in cases if v is sc), kw["replication"]))
        return real(sc, **kw)

    monkeypatch.setattr(experiment, "run_replication", counted)
    exp = run_experiment(small(), ["none"], 3, seed=5, cases=cases, executor="serial", series=False, extras=False)
    assert sorted(runs) == sorted((c, r) for c, _ in cases for r in range(3))
    monkeypatch.undo()
    for r in range(3):
        ref = run_replication(cases[0][1], seed=5, replication=r, keep_records=True, policy="none").records
        for name, sc in cases[1:]:
            shocked = run_replication(sc, seed=5, replication=r, keep_records=True, policy="none").records
            assert ref is not None and shocked is not None
            want = shock_kpis(ref, cases[0][1], windows=shocked.shocks.rows())
            row = exp.kpis[(exp.kpis["case"] == name) & (exp.kpis["replication"] == r)].iloc[0]
            for k in SHOCK_OUTCOME_NAMES:
                got = row[k + NO_SHOCK_SUFFIX]
                assert got == want[k] or (np.isnan(got) and np.isnan(want[k])), (name, r, k)
    # The case effects of a shock outcome pair each case with its own reference values.
    eff = exp.case_effects.set_index(["case", "kpi"])
    out = exp.kpis[exp.kpis["case"] == "outage"]
    assert eff.loc[("outage", "shock_peak_backlog"), "mean_baseline"] == pytest.approx(
        out["shock_peak_backlog" + NO_SHOCK_SUFFIX].mean())
    assert not any(str(k).endswith(NO_SHOCK_SUFFIX) for k in exp.case_effects["kpi"])


def test_every_executor_writes_the_same_stress_files_and_a_resume_too(tmp_path: Path) -> None:
    kinds = executors()
    for kind in kinds:
        run_experiment(small(), ["none"], 5, seed=3, cases=shock_cases(), executor=kind, jobs=2, out=tmp_path / kind,
                       series=False)
    for kind in kinds[1:]:
        same_files(tmp_path / "serial", tmp_path / kind, ("kpis.csv", "summary.csv", "paired_cases.csv",
                                                          "summary.json", "shocks.csv"))
    cut = tmp_path / "cut"
    with pytest.raises(Stop):
        run_experiment(small(), ["none"], 5, seed=3, cases=shock_cases(), executor="process", jobs=2, out=cut,
                       series=False, progress=_stop_after(4))
    run_experiment(small(), ["none"], 5, seed=3, cases=shock_cases(), executor="serial", out=cut, resume=True,
                   series=False)
    same_files(tmp_path / "serial", cut, ("kpis.csv", "summary.csv", "paired_cases.csv", "summary.json"))


def test_a_stress_run_of_older_shock_kpis_is_not_resumed(tmp_path: Path) -> None:
    """Its finished replications hold shock KPIs of another definition (recovery NaN when not recovered, no
    values without the shocks): mixing them with new ones would be wrong, so the resume says so."""
    run_dir = tmp_path / "run"
    with pytest.raises(Stop):
        run_experiment(small(), ["none"], 4, seed=3, cases=shock_cases(), executor="serial", out=run_dir,
                       series=False, progress=_stop_after(2))
    man = json.loads((run_dir / "manifest.json").read_text())
    assert man["shock_kpis_version"] == experiment.SHOCK_KPIS_VERSION
    del man["shock_kpis_version"]
    (run_dir / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    with pytest.raises(ResumeError, match="shock KPIs were defined otherwise"):
        run_experiment(small(), ["none"], 4, seed=3, cases=shock_cases(), executor="serial", out=run_dir,
                       series=False, resume=True)


def test_rows_are_pure_functions_of_their_inputs() -> None:
    sc = small()
    exp = run_experiment(sc, ["none"], 4, seed=9, executor="serial", series=False, extras=False)
    legacy = run_replications(sc, 4, 9, executor="serial")
    for r in range(4):
        direct = run_replication(sc, seed=9, replication=r, policy="none").kpis
        row = exp.kpis[exp.kpis["replication"] == r].iloc[0]
        for k, v in direct.items():
            assert row[k] == v or (np.isnan(row[k]) and np.isnan(v)), k
            assert legacy[r][k] == v or (np.isnan(legacy[r][k]) and np.isnan(v)), k


# ---------------------------------------------------------------------------------------------- resume


class Stop(KeyboardInterrupt):
    pass


def _stop_after(k: int) -> Any:
    def progress(done: int, total: int) -> None:
        if done >= k:
            raise Stop

    return progress


@pytest.mark.parametrize("kind", ["serial", "process"])
def test_a_resumed_experiment_equals_an_uninterrupted_one(tmp_path: Path, kind: str) -> None:
    full, cut = tmp_path / "full", tmp_path / "cut"
    run_experiment(small(), ["none"], 12, seed=4, cases=variants(), executor="serial", out=full)
    with pytest.raises(Stop):
        run_experiment(small(), ["none"], 12, seed=4, cases=variants(), executor=kind, jobs=2, out=cut,
                       progress=_stop_after(5))
    kept = pd.read_csv(cut / "kpis.csv")
    assert len(kept) >= 5 and not kept.duplicated(["policy", "case", "replication"]).any()
    assert json.loads((cut / "manifest.json").read_text())["status"] == "interrupted"
    assert list((cut / "partial").glob("*.npz"))
    # Resuming on another executor skips the finished replications and ends with the same files.
    seen: list[tuple[int, int]] = []
    run_experiment(small(), ["none"], 12, seed=4, cases=variants(), executor="serial" if kind == "process"
                   else "process", jobs=2, out=cut, resume=True, progress=lambda d, t: seen.append((d, t)))
    assert seen[0][0] >= 5 and seen[-1] == (24, 24)
    same_files(full, cut)
    assert not (cut / "partial").exists()
    assert json.loads((cut / "manifest.json").read_text())["status"] == "complete"


def test_a_resume_over_batches_without_the_newer_series_keeps_the_series_all_have(tmp_path: Path) -> None:
    """Batches written before the 7-day series existed (no ``rolling7:*`` arrays) resume: the groups they are
    in get no 7-day bands rather than a KeyError, and every other series is as in an uninterrupted run."""
    full, cut = tmp_path / "full", tmp_path / "cut"
    run_experiment(small(), ["none"], 12, seed=4, executor="serial", out=full)
    with pytest.raises(Stop):
        run_experiment(small(), ["none"], 12, seed=4, executor="serial", out=cut, progress=_stop_after(5))
    older = sorted((cut / "partial").glob("*.npz"))
    assert older
    for path in older:  # as an older simsop wrote them
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if not k.startswith("s_rolling7:")}
            assert len(arrays) < len(z.files)
        np.savez(path, **arrays)
    run_experiment(small(), ["none"], 12, seed=4, executor="serial", out=cut, resume=True)
    got, want = pd.read_csv(cut / "series.csv"), pd.read_csv(full / "series.csv")
    assert not got["series"].str.startswith("rolling7:").any()
    want = want[~want["series"].str.startswith("rolling7:")].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)


def test_resume_refuses_other_inputs(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with pytest.raises(Stop):
        run_experiment(small(), ["none"], 8, seed=4, executor="serial", out=run_dir, progress=_stop_after(2))
    with pytest.raises(ResumeError, match="seed"):
        run_experiment(small(), ["none"], 8, seed=5, executor="serial", out=run_dir, resume=True)
    with pytest.raises(ResumeError, match="scenario_sha256"):
        run_experiment(small(horizon=140), ["none"], 8, seed=4, executor="serial", out=run_dir, resume=True)
    with pytest.raises(ResumeError, match="unfinished"):
        run_experiment(small(), ["none"], 8, seed=4, executor="serial", out=run_dir)
    run_experiment(small(), ["none"], 8, seed=4, executor="serial", out=run_dir, resume=True)
    with pytest.raises(ResumeError, match=r"complete; there is nothing to resume\. Its results are there "
                                          r"\(summary\.csv.*\); to run it again, name a new folder"):
        run_experiment(small(), ["none"], 8, seed=4, executor="serial", out=run_dir, resume=True)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_complete_run_is_not_written_over(tmp_path: Path) -> None:
    """Running again into the folder of a complete run is refused and changes no file (resuming it says the
    run is complete)."""
    run_dir = tmp_path / "run"
    run_experiment(small(), ["none"], 3, seed=4, executor="serial", out=run_dir)
    before = _files(run_dir)
    with pytest.raises(ResumeError, match="holds a complete run; a new run would replace them"):
        run_experiment(small(), ["none"], 3, seed=5, executor="serial", out=run_dir)
    assert _files(run_dir) == before
    # Results whose manifest cannot be read are results still.
    (run_dir / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(ResumeError, match="holds results"):
        run_experiment(small(), ["none"], 3, seed=5, executor="serial", out=run_dir)
    assert (run_dir / "kpis.csv").read_bytes() == before["kpis.csv"]


@pytest.mark.parametrize(("step", "error"), [("_summarise", RuntimeError("the summary broke")),
                                             ("_write", OSError(28, "No space left on device"))])
def test_a_failure_after_the_replications_is_recorded_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  step: str, error: Exception) -> None:
    """A failure while summarising or writing the results leaves the manifest at "failed" with the error (not
    "running"), keeps the replications, and a resume finishes the run as an uninterrupted one."""
    full, run_dir = tmp_path / "full", tmp_path / "run"
    run_experiment(small(), ["none"], 3, seed=4, executor="serial", out=full)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(experiment, step, broken)
    with pytest.raises(type(error)):
        run_experiment(small(), ["none"], 3, seed=4, executor="serial", out=run_dir)
    man = json.loads((run_dir / "manifest.json").read_text())
    assert man["status"] == "failed" and error.args[-1] in man["error"] and man["finished_replications"] == 3
    assert len(pd.read_csv(run_dir / "kpis.csv")) == 3 and list((run_dir / "partial").glob("*.npz"))
    monkeypatch.undo()
    run_experiment(small(), ["none"], 3, seed=4, executor="serial", out=run_dir, resume=True)
    same_files(full, run_dir, ("kpis.csv", "summary.csv", "paired.csv", "series.csv", "summary.json"))
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "complete"


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_batch_file_is_named_with_what_to_do(tmp_path: Path, damage: str) -> None:
    """A partial/*.npz that is not what was written (numpy says only "pickled data" of garbage) is named in
    the error, which says to delete it and resume; then the run resumes to the uninterrupted result."""
    full, run_dir = tmp_path / "full", tmp_path / "run"
    run_experiment(small(), ["none"], 8, seed=4, executor="serial", out=full)
    with pytest.raises(Stop):
        run_experiment(small(), ["none"], 8, seed=4, executor="serial", out=run_dir, progress=_stop_after(2))
    bad = sorted((run_dir / "partial").glob("*.npz"))[0]
    data = bad.read_bytes()
    bad.write_bytes(b"not a batch file" if damage == "garbage" else data[: len(data) // 2])
    with pytest.raises(ResumeError) as err:
        run_experiment(small(), ["none"], 8, seed=4, executor="serial", out=run_dir, resume=True)
    assert str(bad) in str(err.value) and "delete it and resume" in str(err.value)
    bad.unlink()
    run_experiment(small(), ["none"], 8, seed=4, executor="serial", out=run_dir, resume=True)
    same_files(full, run_dir, ("kpis.csv", "summary.csv", "series.csv"))


@pytest.mark.parametrize(("content", "message"), [
    (None, "no manifest.json; not a run folder of simsop"),
    (b"{", "manifest.json: not a manifest of simsop (JSONDecodeError: "),
    (b"\xff\xfe{}", "manifest.json: not a manifest of simsop (UnicodeDecodeError: "),
    (b"[1, 2]", "manifest.json: not a manifest of simsop (a JSON list)"),
])
def test_read_manifest_says_what_is_wrong(tmp_path: Path, content: bytes | None, message: str) -> None:
    if content is not None:
        (tmp_path / "manifest.json").write_bytes(content)
    with pytest.raises(ResumeError) as err:
        read_manifest(tmp_path)
    assert message in str(err.value)


def test_policies_are_built_before_any_folder_or_replication(tmp_path: Path) -> None:
    """run_experiment builds every policy from the scenario's parameters and checks it against the scenario
    first: a parameter of the wrong type or a replay file naming an unknown product fails with the key path,
    and no run folder is made."""
    sc = small()

    def planning(**update: Any) -> Scenario:
        return sc.model_copy(update={"planning": sc.planning.model_copy(update=update)})

    lp = planning(params={"lp": {"integer_workforce": "maybe"}})
    with pytest.raises(PolicyError, match=r"policy 'lp': planning\.params\.lp\.integer_workforce: .*boolean"):
        run_experiment(lp, ["none", "lp"], 2, executor="serial", out=tmp_path / "lp")
    assert not (tmp_path / "lp").exists()
    decisions = tmp_path / "decisions.csv"
    decisions.write_text("cycle,product,bucket,production\n0,Z,1,5\n", encoding="utf-8")
    replay = planning(policy="replay", params={"file": str(decisions), "missing": "hold"})
    with pytest.raises(PolicyError, match=r"planning\.params\.file: .*decisions\.csv: line 2: unknown product"):
        run_experiment(replay, None, 2, executor="serial", out=tmp_path / "replay")
    assert not (tmp_path / "replay").exists()


@pytest.mark.parametrize(("address", "why"), [("nowhere", "missing port number"),
                                              ("tcp://127.0.0.1:http", "the port is not a number"),
                                              ("tcp://127.0.0.1:99999", "port 99999 is not between 1 and 65535"),
                                              ("htp://127.0.0.1:8786", "unknown address scheme 'htp'")])
def test_a_dask_address_that_does_not_parse_is_an_executor_error(tmp_path: Path, address: str, why: str) -> None:
    pytest.importorskip("distributed")
    with pytest.raises(ExecutorError) as err, open_pool("dask", 1, address):
        pass
    assert f"{address!r} does not parse ({why}" in str(err.value) and "tcp://HOST:PORT" in str(err.value)
    with pytest.raises(ExecutorError, match="does not parse"):
        run_experiment(small(), ["none"], 2, executor="dask", dask_scheduler=address, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------------------------------------- sequential


def test_sequential_mode_stops_when_precision_is_reached_and_not_before(tmp_path: Path) -> None:
    target = Target.parse("profit:0.01")
    exp = run_experiment(small(), ["none"], 200, seed=1, cases=variants(), executor="serial", target=target,
                         series=False, extras=False)
    p = exp.precision
    assert p is not None and p["reached"] and p["rounds"][0] == 10 and len(p["rounds"]) >= 2
    assert p["rounds"] == sorted(set(p["rounds"])) and exp.replications == p["rounds"][-1] < 200
    groups = [g["profit"].to_numpy() for _, g in exp.kpis.groupby("case", sort=False)]
    assert all(precision_reached(v, target_relative=0.01) for v in groups)
    for n in p["rounds"][:-1]:  # at every earlier stop, some case had not reached it
        assert not all(precision_reached(v[:n], target_relative=0.01) for v in groups), n


def test_sequential_mode_stops_at_the_maximum(tmp_path: Path) -> None:
    exp = run_experiment(small(), ["none"], 14, seed=1, executor="serial", target="profit:abs=1",
                         series=False, extras=False, out=tmp_path / "run")
    assert exp.precision is not None and not exp.precision["reached"] and exp.replications == 14
    man = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert man["precision"]["reached"] is False and man["precision"]["rounds"] == [10, 14]


def test_precision_targets_parse() -> None:
    assert Target.parse("profit:0.01") == Target("profit", relative=0.01)
    assert Target.parse("otif:abs=0.005") == Target("otif", absolute=0.005)
    assert Target.parse("fill_rate:rel=0.2") == Target("fill_rate", relative=0.2)
    for bad in ("profit", "profit:", "profit:x", "profit:abs=-1", "profit:std=1"):
        with pytest.raises(ValueError):
            Target.parse(bad)
    with pytest.raises(ValueError, match="did you mean 'profit'"):
        run_experiment(small(), ["none"], 4, executor="serial", target="proift:0.1")


# ---------------------------------------------------------------------------------------------- files


def test_result_files_match_the_statistics(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    sc = small()
    exp = run_experiment(sc, ["none"], 6, seed=2, cases=variants(), executor="serial", out=run_dir)
    for name in ("manifest.json", "kpis.csv", "summary.json", "summary.csv", "paired.csv", "paired_cases.csv",
                 "series.csv"):
        assert (run_dir / name).is_file(), name
    assert not list(run_dir.glob(".*.tmp"))
    kpis = pd.read_csv(run_dir / "kpis.csv")
    assert list(kpis.columns[:4]) == ["policy", "case", "replication", "seed"]
    assert {"bullwhip_Central", "bullwhip_East", "bullwhip_production", "profit", "otif"} <= set(kpis.columns)
    assert list(zip(kpis["case"], kpis["replication"], strict=True)) == [(c, r) for c in ("base", "lean")
                                                                         for r in range(6)]
    summary = pd.read_csv(run_dir / "summary.csv")
    for (case, kpi), row in summary.set_index(["case", "kpi"]).iterrows():
        values = kpis.loc[kpis["case"] == case, kpi].to_numpy(dtype=float)
        if np.isnan(values).all():
            assert row["n"] == 0
            continue
        # Each KPI's interval stays inside its natural range (a backlog's cannot go below 0).
        s = summarize(values, bounds=value_range(kpi))
        for f in ("n", "mean", "std", "ci_low", "ci_high", "p5", "p50", "p95"):
            assert row[f] == pytest.approx(getattr(s, f), rel=1e-12, abs=1e-12, nan_ok=True), (case, kpi, f)
        assert row["ci_method"] == s.ci_method, (case, kpi)
    effects = pd.read_csv(run_dir / "paired_cases.csv").set_index("kpi")
    a = kpis.loc[kpis["case"] == "lean", "profit"].to_numpy()
    b = kpis.loc[kpis["case"] == "base", "profit"].to_numpy()
    d = paired_difference(a, b, bounds=value_range("profit"))
    assert effects.loc["profit", "mean_diff"] == pytest.approx(d.mean_diff)
    assert effects.loc["profit", "ci_low"] == pytest.approx(d.ci_low)
    assert bool(effects.loc["profit", "significant"]) == d.significant

    # Bands: quantiles of the per-replication series; the suggested warm-up is MSER-5 of them.
    per_rep = [daily_series(run_replication(sc, seed=2, replication=r, keep_records=True, policy="none").records)
               for r in range(6)]
    series = pd.read_csv(run_dir / "series.csv")
    on_hand = series[(series["case"] == "base") & (series["series"] == "on_hand")]
    matrix = np.vstack([s["on_hand"] for s in per_rep])
    assert len(on_hand) == sc.horizon
    np.testing.assert_allclose(on_hand["p50"], np.median(matrix, axis=0))
    np.testing.assert_allclose(on_hand["p95"], np.percentile(matrix, 95, axis=0))
    np.testing.assert_allclose(on_hand["mean"], matrix.mean(axis=0))
    assert {"on_hand", "backlog", "demand", "orders_Central", "orders_East", "production", "planned_production",
            "capacity_load"} <= set(series["series"])
    man = json.loads((run_dir / "manifest.json").read_text())
    expected = max(mser_many(np.vstack([s[k] for s in per_rep])) for k in ("on_hand", "backlog"))
    by_group = next(g for g in man["suggested_warmup_by_group"] if g["case"] == "base")
    assert max(by_group["on_hand"], by_group["backlog"]) == expected
    assert man["suggested_warmup"] == exp.suggested_warmup >= expected
    for key in ("scenario_sha256", "seed", "versions", "command", "policies", "cases", "replications"):
        assert key in man, key
    assert man["replications"] == 6 and man["policies"] == ["none"] and man["status"] == "complete"
    js = json.loads((run_dir / "summary.json").read_text())
    assert js["summary"]["none"]["lean"]["profit"]["mean"] == pytest.approx(a.mean())
    # The Python API gives the same numbers as DataFrames.
    assert exp.kpis["profit"].tolist() == pytest.approx(kpis["profit"].tolist())
    assert exp.summary_of("none", "lean")["profit"]["mean"] == pytest.approx(a.mean())


@pytest.mark.skipif("level" not in available_policies(), reason="planning policies not there yet")
def test_paired_differences_between_policies(tmp_path: Path) -> None:
    exp = run_experiment(small(), ["none", "level"], 5, seed=2, executor="serial", out=tmp_path / "run")
    paired = pd.read_csv(tmp_path / "run" / "paired.csv")
    assert set(paired["policy"]) == {"level"} and (paired["baseline"] == "none").all()
    k = exp.kpis
    d = paired_difference(k.loc[k["policy"] == "level", "avg_on_hand"], k.loc[k["policy"] == "none", "avg_on_hand"])
    row = paired.set_index("kpi").loc["avg_on_hand"]
    assert row["mean_diff"] == pytest.approx(d.mean_diff) and row["half_width"] == pytest.approx(d.half_width)
    assert (tmp_path / "run" / "plan.csv").is_file()


# ---------------------------------------------------------------------------------------------- series


def test_daily_series_add_up_to_the_kpis() -> None:
    sc = small()
    res = run_replication(sc, seed=1, replication=0, keep_records=True)
    rec = res.records
    assert rec is not None
    s = daily_series(rec)
    w = sc.warmup
    k = res.kpis
    assert all(len(v) == sc.horizon for v in s.values())
    assert s["on_hand"][w:].mean() == pytest.approx(k["avg_on_hand"])
    assert s["backlog"][w:].mean() == pytest.approx(k["avg_backlog"])
    assert s["demand"][w:].sum() == pytest.approx(k["demand_units"])
    assert s["shipments"][w:].sum() == pytest.approx(k["shipped_units"])
    assert s["capacity_load"][w:].mean() == pytest.approx(k["utilization"])
    assert np.isnan(s["planned_production"]).all()  # no S&OP plan
    # Orders of the regional DC are the central DC's internal demand; units ordered = units replenished.
    ro = rec.replenishments
    assert s["orders_East"].sum() == pytest.approx(ro["qty"][ro["warehouse"] == 1].sum())
    demand = incoming_demand(rec)
    assert demand["Central"].sum() == pytest.approx(s["orders_East"].sum() + s["demand"].sum()
                                                    - demand["East"].sum())


def test_bullwhip_of_a_daily_base_stock_is_one_and_batching_amplifies() -> None:
    data = small_data(horizon=400, warmup=50)
    # The regional DC orders up to a base stock every day: its orders repeat yesterday's demand, so weekly
    # orders vary like weekly demand (up to the one-day shift). The central DC orders (s, S) batches.
    res = run_replication(scenario(data), seed=3, replication=0, keep_records=True)
    bw = bullwhip(res.records)
    assert bw["bullwhip_East"] == pytest.approx(1.0, abs=0.15)
    assert bw["bullwhip_Central"] > 1.5
    assert set(bw) == {"bullwhip_Central", "bullwhip_East", "bullwhip_production"}


# ---------------------------------------------------------------------------------------------- CLI


def _write_small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_data()), encoding="utf-8")
    return path


def test_cli_run_writes_results_and_prints_the_table(tmp_path: Path) -> None:
    f = _write_small(tmp_path)
    out = tmp_path / "res"
    r = CliRunner().invoke(main, ["run", str(f), "-n", "3", "--executor", "serial", "--out", str(out),
                                  "--no-report", "--policy", "none"])
    assert r.exit_code == 0, r.output
    assert "Profit" in r.output and "3 replications" in r.output and "MSER-5" in r.output
    assert "small (no S&OP cycle)" in r.output  # whose numbers they are
    kpis = pd.read_csv(out / "kpis.csv")
    assert len(kpis) == 3 and (kpis["policy"] == "none").all()
    r = CliRunner().invoke(main, ["run", str(f), "--resume", str(out), "--no-report"])
    assert r.exit_code == 2 and "complete" in r.output


def test_cli_run_resumes_an_interrupted_run(tmp_path: Path) -> None:
    f = _write_small(tmp_path)
    with pytest.raises(Stop):
        run_experiment(load_scenario(f), ["none"], 6, executor="serial", out=tmp_path / "cut",
                       progress=_stop_after(2), scenario_file=f)
    r = CliRunner().invoke(main, ["run", str(f), "--resume", str(tmp_path / "cut"), "--executor", "serial",
                                  "--no-report"])
    assert r.exit_code == 0, r.output
    run_experiment(load_scenario(f), ["none"], 6, executor="serial", out=tmp_path / "full")
    same_files(tmp_path / "full", tmp_path / "cut", ("kpis.csv", "summary.csv", "series.csv"))
    r = CliRunner().invoke(main, ["run", str(f), "--resume", str(tmp_path / "cut"), "--seed", "99"])
    assert r.exit_code == 2


def test_cli_compare(tmp_path: Path) -> None:
    f = _write_small(tmp_path)
    pols = "none,level" if "level" in available_policies() else "none"
    out = tmp_path / "cmp"
    r = CliRunner().invoke(main, ["compare", str(f), "--policies", pols, "-n", "4", "--executor", "serial",
                                  "--out", str(out), "--no-report", "--seed", "5"])
    assert r.exit_code == 0, r.output
    for group in ("Service", "Stock", "Profit and loss", "Bullwhip"):
        assert group in r.output, group
    assert "none (baseline)" in r.output
    if pols != "none":
        assert "Δ" in r.output
    assert (out / "summary.csv").is_file() and (out / "paired.csv").is_file()
    r = CliRunner().invoke(main, ["compare", str(f), "--policies", "none,nonsense", "--executor", "serial"])
    assert r.exit_code == 2 and "unknown policy 'nonsense'" in r.output


def test_cli_stress_with_a_shocks_file(tmp_path: Path) -> None:
    f = _write_small(tmp_path)
    shocks = tmp_path / "shocks.yaml"
    shocks.write_text(yaml.safe_dump({"cases": [
        {"name": "collapse", "shocks": [{"name": "c", "type": "collapse_rebound", "start": 60, "duration": 30,
                                         "magnitude": -0.5, "collapse_days": 7, "recovery": "ramp",
                                         "recovery_days": 14, "rebound": 0.3, "rebound_days": 14}]},
        {"name": "outage", "shocks": [{"name": "o", "type": "factory_outage", "factory": "Plant", "start": 50,
                                       "duration": 15}]},
    ]}), encoding="utf-8")
    out = tmp_path / "st"
    r = CliRunner().invoke(main, ["stress", str(f), "--shocks", str(shocks), "--policies", "none", "-n", "4",
                                  "--executor", "serial", "--out", str(out), "--no-report"])
    assert r.exit_code == 0, r.output
    assert "Recovery" in r.output and "Bullwhip" in r.output and "outage" in r.output
    kpis = pd.read_csv(out / "kpis.csv")
    assert list(dict.fromkeys(kpis["case"])) == ["base", "collapse", "outage"]
    assert kpis.loc[kpis["case"] == "base", "shock_recovery_days"].isna().all()
    assert kpis.loc[kpis["case"] == "outage", "shock_peak_backlog"].notna().all()
    eff = pd.read_csv(out / "paired_cases.csv")
    assert set(eff["case"]) == {"collapse", "outage"}
    man = json.loads((out / "manifest.json").read_text())
    assert [c["name"] for c in man["cases"]] == ["base", "collapse", "outage"]
    assert man["cases"][2]["shocks"][0]["type"] == "factory_outage"
    shocks_csv = pd.read_csv(out / "shocks.csv")
    assert set(shocks_csv["case"]) == {"collapse", "outage"}


def test_cli_stress_file_with_a_scenario_of_its_own_shocks(tmp_path: Path) -> None:
    data = copy.deepcopy(small_data())
    data["shocks"] = [{"name": "o", "type": "factory_outage", "factory": "Plant", "start": 50, "duration": 10}]
    f = tmp_path / "shocked.yaml"
    f.write_text(yaml.safe_dump(data), encoding="utf-8")
    r = CliRunner().invoke(main, ["stress", str(f), "-n", "2", "--executor", "serial", "--out",
                                  str(tmp_path / "o"), "--no-report"])
    assert r.exit_code == 0, r.output
    assert list(dict.fromkeys(pd.read_csv(tmp_path / "o" / "kpis.csv")["case"])) == ["base", "shocks"]
    r = CliRunner().invoke(main, ["stress", str(_write_small(tmp_path)), "--executor", "serial"])
    assert r.exit_code == 2 and "no shocks" in r.output


@pytest.mark.parametrize("sizes, workers", [([200], 2), ([30, 30, 30], 2), ([7], 4), ([0, 5, 0], 2), ([1000], 8)])
def test_guided_batches_cover_every_replication_once_and_shrink_towards_the_end(sizes: list[int],
                                                                                workers: int) -> None:
    """Each group's replications, in order, in batches of one group; never above the cap; sizes never grow
    within the submission order; the last batches are single replications, so no worker finishes alone."""
    from simsop.executors import guided_batches

    groups = [list(range(100 * g, 100 * g + n)) for g, n in enumerate(sizes)]
    out = guided_batches(groups, workers, cap=16)
    for gi, reps in enumerate(groups):
        assert [r for g, b in out if g == gi for r in b] == reps
    lengths = [len(b) for _, b in out]
    assert all(1 <= n <= 16 for n in lengths)
    # A group's last batch may be cut short by the group's end; every other batch is at most the one before.
    full = [len(b) for i, (g, b) in enumerate(out) if i + 1 < len(out) and out[i + 1][0] == g]
    assert full == sorted(full, reverse=True)
    total = sum(sizes)
    if total >= 3 * workers:
        assert lengths[-workers:] == [1] * workers


def test_a_single_replication_runs_in_this_process_not_in_a_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process pool costs more to start than one replication takes: one replication in all runs serially,
    more than one uses the pool asked for."""
    kinds: list[str] = []
    real = experiment.open_pool

    def spy(kind: str, *args: Any, **kwargs: Any) -> Any:
        kinds.append(kind)
        return real(kind, *args, **kwargs)

    monkeypatch.setattr(experiment, "open_pool", spy)
    run_experiment(small(), ["none"], 1, seed=1, executor="process", jobs=2, series=False, extras=False)
    run_experiment(small(), ["none"], 2, seed=1, executor="process", jobs=2, series=False, extras=False)
    assert kinds == ["serial", "process"]


def test_a_run_folder_is_one_run_s_at_a_time(tmp_path: Path) -> None:
    """Two runs writing one folder would mix their batches: while a live simsop process holds the folder's
    lock another run is refused (naming the process), a lock left by a process that has ended is taken over,
    and a run leaves no lock behind, finished or failed."""
    import os
    import socket
    import subprocess
    import sys

    out = tmp_path / "run"
    out.mkdir()
    lock = out / experiment._LOCK
    lock.write_text(f"{os.getppid()} {socket.gethostname()}", encoding="utf-8")  # a live process: pytest's parent
    with pytest.raises(ResumeError, match=f"another simsop run \\(process {os.getppid()}\\) is writing"):
        run_experiment(small(), ["none"], 2, seed=1, executor="serial", out=out)
    assert not (out / "manifest.json").exists()  # refused before anything was written
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    lock.write_text(f"{int(ended.stdout)} {socket.gethostname()}", encoding="utf-8")
    run_experiment(small(), ["none"], 2, seed=1, executor="serial", out=out)
    assert read_manifest(out)["status"] == "complete" and not lock.exists()
    with pytest.raises(ResumeError, match="complete"):
        run_experiment(small(), ["none"], 2, seed=1, executor="serial", out=out)
    assert not lock.exists()


def _sleep(seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


def test_an_interrupt_ends_the_workers_at_once_and_a_second_one_cannot_cut_the_cleanup_short() -> None:
    """Ctrl-C while workers run batches: the pool ends them now (their batches would be thrown away) instead of
    waiting, so the run stops in moments and leaves no worker behind; and inside the cleanup a second Ctrl-C
    is ignored (it had cut the pool's shutdown short and left the run waiting at exit for workers forever)."""
    import os
    import signal
    import time

    from simsop.executors import deferred_interrupts

    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt), open_pool("process", 2) as pool:
        assert pool.executor is not None
        futures = [pool.executor.submit(_sleep, 30.0) for _ in range(2)]
        processes = list(pool.executor._processes.values())  # type: ignore[attr-defined]
        manager = pool.executor._executor_manager_thread  # type: ignore[attr-defined]
        while not all(f.running() for f in futures):
            time.sleep(0.05)
        raise KeyboardInterrupt
    assert time.perf_counter() - t0 < 15 and processes and not any(p.is_alive() for p in processes)
    assert not manager.is_alive()  # it would hold the interpreter at exit
    with deferred_interrupts():
        os.kill(os.getpid(), signal.SIGINT)  # ignored here
        time.sleep(0.1)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
