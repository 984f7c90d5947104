"""`simsop compare FILE1 FILE2 ...`: variants of one company (another stock level, a second plant) on the same
random futures, each KPI with its paired difference from the first file (the reference)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats

from simsop.cli import main
from simsop.experiment import run_experiment, stream_sharing
from simsop.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _base_stock(tmp_path: Path, file: str, name: str, level: int, **settings: Any) -> Path:
    """scenarios/textbook_base_stock.yaml (Poisson(5) a day, lead time 2, daily review, backorders) with the
    order-up-to level ``level``, under ``name``, written to ``file``."""
    data = yaml.safe_load((SCENARIOS / "textbook_base_stock.yaml").read_text(encoding="utf-8"))
    data["warehouses"][0]["stock"][0]["policy"]["level"] = level
    data.update(name=name, **settings)
    path = tmp_path / file
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _compare(*args: Any) -> Any:
    return CliRunner().invoke(main, ["compare", *map(str, args), "--executor", "serial"])


def _expected_on_hand(level: int, mean: float = 15.0) -> float:
    """E[(S - D)^+] with D ~ Poisson(mu (L + 1)): the long-run on hand at the end of a day (the scenario's
    header derives it)."""
    d = np.arange(0, 400)
    return float(np.sum(np.maximum(level - d, 0) * stats.poisson.pmf(d, mean)))


def test_a_base_stock_five_units_higher_holds_its_exact_extra_stock_and_crn_narrows_the_interval(
        tmp_path: Path) -> None:
    """Base stock S against S + 5 (S = 20): on hand is (S - D)^+ with D ~ Poisson(15), so S + 5 holds
    E[(25 - D)^+] - E[(20 - D)^+] = 5 - (E[(D - 20)^+] - E[(D - 25)^+]) = 4.8005 units more: five units, less
    the backorders they remove. The paired difference's 95% CI covers it; the demand of the two variants is
    the same in every replication (one stream, named by customer x product), so the paired interval is far
    narrower than the interval of two independent samples of the same spread."""
    a = _base_stock(tmp_path, "a.yaml", "a", 20)
    b = _base_stock(tmp_path, "b.yaml", "b", 25)
    out = tmp_path / "run"
    r = _compare(a, b, "-n", 20, "--out", out, "--no-report")
    assert r.exit_code == 0, r.output
    effects = pd.read_csv(out / "paired_cases.csv")
    on_hand = effects[(effects["case"] == "b") & (effects["kpi"] == "avg_on_hand")].iloc[0]
    exact = _expected_on_hand(25) - _expected_on_hand(20)
    assert math.isclose(exact, 4.8005, abs_tol=1e-4)
    assert on_hand["ci_low"] <= exact <= on_hand["ci_high"], on_hand.to_dict()
    assert on_hand["baseline_case"] == "a" and bool(on_hand["significant_holm"])
    # The same futures: replication i of both variants sees the same customer demand.
    kpis = pd.read_csv(out / "kpis.csv").set_index(["case", "replication"])
    assert (kpis.loc["a", "demand_units"] == kpis.loc["b", "demand_units"]).all()
    # Welch's interval of two independent samples with these variances, against the paired one.
    summary = pd.read_csv(out / "summary.csv").set_index(["case", "kpi"])
    n = int(on_hand["n"])
    va, vb = (summary.loc[(c, "avg_on_hand"), "std"] ** 2 / n for c in ("a", "b"))
    df = (va + vb) ** 2 / (va ** 2 / (n - 1) + vb ** 2 / (n - 1))
    unpaired = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert on_hand["half_width"] < unpaired / 2, (on_hand["half_width"], unpaired)
    assert on_hand["variance_reduction"] < 0.25


def test_variants_of_different_horizons_are_refused_before_any_run(tmp_path: Path) -> None:
    """Variants are paired day by day: a variant 200 days long cannot be paired with one of 300 days. The
    command says which file differs and how, and makes no result folder; the engine refuses it too."""
    a = _base_stock(tmp_path, "a.yaml", "a", 20, horizon=300, warmup=20)
    b = _base_stock(tmp_path, "b.yaml", "b", 25, horizon=200, warmup=20)
    out = tmp_path / "run"
    r = _compare(a, b, "-n", 2, "--out", out)
    assert r.exit_code == 2
    assert "cannot share random futures" in r.output
    assert f"{b}: horizon 200 days, {a} (the reference) 300" in r.output
    assert not out.exists()
    sa, sb = load_scenario(a), load_scenario(b)
    with pytest.raises(ValueError, match=r"case 'b' has horizon 200 days \(the reference 'a': 300\)"):
        run_experiment(sa, replications=2, executor="serial", cases=[("a", sa), ("b", sb)])


def test_the_output_files_and_report_name_the_variants(tmp_path: Path) -> None:
    """The terminal gives a verdict line per variant and KPI ('b vs a: fill rate +4.0 pts [...]') after saying
    which random sources the variants share; the result files and the report carry the cases by name, and the
    manifest records each file."""
    a = _base_stock(tmp_path, "a.yaml", "a", 20, horizon=400, warmup=20)
    b = _base_stock(tmp_path, "b.yaml", "b", 25, horizon=400, warmup=20)
    out = tmp_path / "run"
    r = _compare(a, b, "-n", 4, "--out", out)
    assert r.exit_code == 0, r.output
    assert "random futures shared, b vs a (the same draws in each replication): 1 of 1 customer x product " \
           "demands" in r.output
    assert "b vs a: fill rate +" in r.output and "b vs a: avg on hand +" in r.output
    assert "a (reference)" in r.output
    for name in ("kpis.csv", "summary.csv", "paired_cases.csv", "summary.json", "report.html"):
        assert (out / name).is_file(), name
    assert set(pd.read_csv(out / "kpis.csv")["case"]) == {"a", "b"}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["cases"] == ["a", "b"] and summary["baseline_case"] == "a"
    assert "avg_on_hand" in summary["case_effects"]["none"]["b"]
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [(v["case"], Path(v["file"]).name) for v in man["variants"]] == [("a", "a.yaml"), ("b", "b.yaml")]
    assert man["variants"][1]["streams"]["same"] == ["demand market x widget"]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "<li>b: " in report and "(case b)" in report  # the variant's paired differences and its daily chart
    # Variants read as variants, not as stress cases.
    assert "What each variant does" in report and "stress case" not in report


def test_clashing_names_become_file_stems_and_a_variant_sharing_no_stream_is_warned(tmp_path: Path) -> None:
    """Two files of one scenario name are told apart by their stems. A variant whose only random source has
    another law (Poisson mean 6, not 5) draws other numbers from the same stream: nothing is paired, and the
    command says so."""
    a = _base_stock(tmp_path, "low.yaml", "shop", 20, horizon=200, warmup=20)
    data = yaml.safe_load(a.read_text(encoding="utf-8"))
    data["customers"][0]["demand"][0]["daily"]["mean"] = 6
    b = tmp_path / "busy.yaml"
    b.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    r = _compare(a, b, "-n", 2, "--out", tmp_path / "run", "--no-report")
    assert r.exit_code == 0, r.output
    assert "warning: busy shares no random source with low" in r.output
    assert "another law, so other draws: demand market x widget" in r.output
    assert set(pd.read_csv(tmp_path / "run" / "kpis.csv")["case"]) == {"low", "busy"}
    sa, sb = load_scenario(a), load_scenario(b)
    assert not stream_sharing(sa, sb).paired and stream_sharing(sa, sa).paired


def test_a_supplier_s_reliability_stream_is_shared_whatever_the_reliability() -> None:
    """The stream that decides whether an order is late draws uniform numbers whatever the reliability (which
    only sets the threshold), so two files that differ in reliability use the same draws: it was reported as
    'another law, so other draws'."""
    from simsop.experiment import stream_sharing
    from tests.helpers import scenario, single_stock_point

    def with_reliability(r: float) -> Any:
        data = single_stock_point({"daily": 5}, {"type": "base_stock", "level": 20},
                                  lead_time={"dist": "uniform", "low": 1, "high": 3})
        data["suppliers"][0].update(reliability=r, delay={"dist": "exponential", "mean": 2})
        return scenario(data)

    sh = stream_sharing(with_reliability(0.9), with_reliability(0.7))
    assert ("supplier", "S reliability") in sh.same and not sh.other_law
