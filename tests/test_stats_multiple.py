"""Several policies against one baseline: Holm's adjustment of the paired comparisons, and the sequential
rule's pilot.

A paired comparison is significant at level α on its own; with m policies against a baseline, the chance that
at least one of m no-difference comparisons comes out significant (the family-wise error rate) is up to
1 - (1 - α)^m (23% for five). Holm's (1979) step-down procedure holds it at α whatever the dependence
between the comparisons (they share the baseline's replications).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from simsop.experiment import run_experiment
from simsop.stats import holm, paired_table
from tests.test_experiment import small, variants, with_levels


def test_holm_hand_calculation() -> None:
    """Sorted 0.01, 0.03, 0.04 (m = 3): 3 · 0.01 = 0.03, 2 · 0.03 = 0.06, max(0.06, 1 · 0.04) = 0.06; NaN is
    no test and does not count in m; adjusted values never pass 1."""
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(holm([0.04, np.nan, 0.01, 0.03]), [0.06, np.nan, 0.03, 0.06])
    np.testing.assert_allclose(holm([0.6, 0.9]), [1.0, 1.0])
    assert holm([]).size == 0 and np.isnan(holm([np.nan])).all()


def test_holm_holds_the_family_wise_error_rate_of_policies_against_a_baseline() -> None:
    """Four policies no different from the baseline, 10 paired replications each, 400 experiments: the
    unadjusted comparisons call at least one policy different in about 1 - 0.95^4 = 19% of them (less with
    the shared baseline), Holm's in at most 5% (one-sided binomial tests at 0.1%)."""
    rng = np.random.default_rng(20240611)
    families, n, policies = 400, 10, ["base", "p1", "p2", "p3", "p4"]
    any_raw = any_holm = 0
    for _ in range(families):
        future = rng.normal(100.0, 10.0, n)  # common random numbers: every policy sees the same futures
        rows = [{"policy": p, "replication": r, "cost": future[r] + rng.normal(0.0, 3.0)}
                for p in policies for r in range(n)]
        t = paired_table(pd.DataFrame(rows), "policy", "base", ["cost"])
        any_raw += bool(t["significant"].any())
        any_holm += bool(t["significant_holm"].any())
    assert any_raw > sps.binom.ppf(0.999, families, 0.05), any_raw / families
    assert any_holm <= sps.binom.ppf(0.999, families, 0.05), any_holm / families


def test_experiment_tables_carry_the_adjusted_comparisons() -> None:
    """paired.csv's family: the policies against the baseline on one KPI in one case; paired_cases.csv's:
    the cases against the first on one KPI under one policy (a stress grid compares many cases)."""
    sc = small()
    cases = [*variants(), ("leaner", with_levels(sc, "East", 0.4))]
    exp = run_experiment(sc, ["none"], 4, seed=3, cases=cases, executor="serial", series=False, extras=False)
    ce = exp.case_effects
    assert {"p_value_holm", "significant_holm"} <= set(ce.columns) and {"p_value_holm"} <= set(exp.paired.columns)
    for (_, _), g in ce.groupby(["policy", "kpi"]):
        np.testing.assert_allclose(g["p_value_holm"].to_numpy(dtype=float), holm(g["p_value"].to_numpy(dtype=float)))
    assert (ce["p_value_holm"].dropna() >= ce["p_value"][ce["p_value_holm"].notna()]).all()
    assert not (ce["significant_holm"] & ~ce["significant"]).any()  # the adjustment only removes


def test_sequential_mode_needs_a_pilot_of_ten() -> None:
    """Law (2015, §9.4.1) checks a sequential rule only from n0 >= 10: simulating this runner's rule on
    normal data (CV 0.3, relative error 0.3), a pilot of 2 stops at 2 replications in over 5% of the runs and
    its final interval covers the mean 88.5% of the time (94.5% from a pilot of 10)."""
    with pytest.raises(ValueError, match="at least 10"):
        run_experiment(small(), ["none"], 50, executor="serial", target="profit:0.3", initial_replications=3,
                       series=False, extras=False)
