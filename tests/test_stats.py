"""Tests for simsop.stats: each statistical test states the theoretical property it checks."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from simsop.stats import (
    UNBOUNDED,
    KpiSummary,
    bounded_interval,
    mser,
    mser_many,
    paired_difference,
    paired_table,
    precision_reached,
    required_replications,
    summarize,
    summarize_frame,
)

T_975_DF2 = 4.302652729911275  # Student-t 0.975 quantile, 2 degrees of freedom (tables: 4.303)
T_975_DF3 = 3.182446305284263  # 3 degrees of freedom (tables: 3.182)

finite_floats = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


# --- summarize ---------------------------------------------------------------------------------------


def test_summarize_hand_checked() -> None:
    s = summarize([4.0, 1.0, 3.0, 2.0])
    assert s.n == 4 and s.n_nan == 0
    assert s.mean == pytest.approx(2.5)
    assert s.std == pytest.approx(math.sqrt(5.0 / 3.0))  # sum of squares 5, ddof=1
    assert s.half_width == pytest.approx(T_975_DF3 * math.sqrt(5.0 / 3.0) / 2.0)
    assert (s.ci_low, s.ci_high) == pytest.approx((2.5 - s.half_width, 2.5 + s.half_width))
    # numpy linear method: position q·(n-1) in the sorted data, linearly interpolated.
    assert s.p5 == pytest.approx(1.15)  # position 0.15 between 1 and 2
    assert s.p50 == pytest.approx(2.5)
    assert s.p95 == pytest.approx(3.85)  # position 2.85 between 3 and 4
    assert (s.min, s.max) == (1.0, 4.0)
    assert s.confidence == 0.95


def test_summarize_matches_scipy_interval_and_confidence_is_configurable() -> None:
    x = np.random.default_rng(1).normal(5.0, 2.0, size=17)
    for conf in (0.8, 0.95, 0.99):
        s = summarize(x, confidence=conf)
        low, high = sps.t.interval(conf, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
        assert (s.ci_low, s.ci_high) == pytest.approx((low, high))
    assert summarize(x, 0.99).half_width > summarize(x, 0.95).half_width > summarize(x, 0.8).half_width


def test_summarize_single_value_has_nan_spread() -> None:
    s = summarize([7.0])
    assert s.n == 1 and s.mean == 7.0 and s.p5 == s.p50 == s.p95 == 7.0
    assert all(math.isnan(v) for v in (s.std, s.ci_low, s.ci_high, s.half_width))


def test_summarize_drops_and_counts_nans() -> None:
    s = summarize([1.0, np.nan, 2.0, 3.0, np.nan])
    assert (s.n, s.n_nan) == (3, 2)
    assert s.mean == pytest.approx(2.0) and s.std == pytest.approx(1.0)


@pytest.mark.parametrize("values", [[], [np.nan, np.nan]])
def test_summarize_no_values_raises(values: list[float]) -> None:
    with pytest.raises(ValueError, match="zero values"):
        summarize(values)


@pytest.mark.parametrize("conf", [0.0, 1.0, 95.0])
def test_summarize_rejects_bad_confidence(conf: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        summarize([1.0, 2.0], confidence=conf)


def test_summarize_rejects_2d_input() -> None:
    with pytest.raises(ValueError, match="one-dimensional"):
        summarize(np.ones((2, 3)))


def test_summary_is_frozen_and_as_dict_roundtrips() -> None:
    s = summarize([1.0, 2.0, 3.0])
    d = s.as_dict()
    assert list(d) == [f.name for f in dataclasses.fields(KpiSummary)]
    assert d["mean"] == s.mean and d["n"] == 3
    with pytest.raises(AttributeError):
        s.mean = 0.0  # type: ignore[misc]


@settings(max_examples=60, deadline=None)
@given(st.lists(finite_floats, min_size=2, max_size=30), finite_floats)
def test_summarize_invariants(values: list[float], shift: float) -> None:
    s = summarize(values)
    tol = 1e-9 * (1.0 + max(abs(v) for v in values))
    assert s.min - tol <= s.p5 <= s.p50 <= s.p95 <= s.max + tol
    assert s.ci_low - tol <= s.mean <= s.ci_high + tol and s.half_width >= 0
    # Location equivariance: shifting the data shifts the centre and leaves the spread unchanged.
    t = summarize(np.asarray(values) + shift)
    scale = 1.0 + abs(shift) + max(abs(v) for v in values)
    assert t.mean == pytest.approx(s.mean + shift, abs=1e-9 * scale)
    assert t.half_width == pytest.approx(s.half_width, abs=1e-6 * scale)


def test_t_interval_coverage_is_nominal() -> None:
    """A 95% t-interval on normal data covers the true mean in 95% of trials (exact for any n)."""
    rng = np.random.default_rng(20240501)
    trials, n, mu = 2000, 10, 3.0
    samples = rng.normal(mu, 2.0, size=(trials, n))
    covered = 0
    for row in samples:
        s = summarize(row)
        covered += s.ci_low <= mu <= s.ci_high
    band = 4.0 * math.sqrt(0.95 * 0.05 / trials)  # 4 binomial sigmas ≈ 0.0195
    # A z-interval (1.96 instead of t_9 = 2.262) would cover only ~0.92 and fail this band.
    assert abs(covered / trials - 0.95) < band


# --- intervals inside a KPI's natural range ------------------------------------------------------------


def test_recovery_days_interval_never_goes_below_zero() -> None:
    """Recovery time: 0 in most futures, long in one. The t-interval reaches -24.6 days; it is cut at 0."""
    days = [0.0, 0.0, 0.0, 45.0]  # mean 11.25, s = 22.5, t_3 · s / 2 = 35.8
    plain, cut = summarize(days), summarize(days, bounds=(0.0, math.inf))
    assert plain.ci_low == pytest.approx(11.25 - T_975_DF3 * 22.5 / 2) and plain.ci_low < 0  # the old interval
    assert cut.ci_low == 0.0 and cut.ci_high == pytest.approx(plain.ci_high)
    assert cut.ci_method == "t_clipped" and plain.ci_method == "t"
    # The precision the sequential rule targets and every other statistic stay the t ones.
    assert dataclasses.replace(cut, ci_low=plain.ci_low, ci_method="t") == plain


def test_rate_interval_stays_in_zero_one() -> None:
    s = summarize([1.0, 1.0, 1.0, 0.6], bounds=(0.0, 1.0))  # t-interval [0.58, 1.22]
    assert s.ci_high == 1.0 and s.ci_low == pytest.approx(0.9 - T_975_DF3 * 0.2 / 2)
    assert s.ci_method == "t_clipped"


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=2, max_size=30),
       st.sampled_from([0.8, 0.95, 0.99]))
def test_bounded_interval_lies_in_the_range_and_holds_the_mean(values: list[float], conf: float) -> None:
    s = summarize(values, conf, bounds=(0.0, 1.0))
    assert 0.0 <= s.ci_low <= s.mean + 1e-12 and s.mean - 1e-12 <= s.ci_high <= 1.0
    plain = summarize(values, conf)
    at_a_bound = max(values) <= 1e-9 or min(values) >= 1.0 - 1e-9  # rounding slack counts as the bound
    if plain.ci_low >= 0.0 and plain.ci_high <= 1.0 and not at_a_bound:
        # An interval that meets no bound is the plain t-interval, bit for bit.
        assert (s.ci_low, s.ci_high, s.ci_method) == (plain.ci_low, plain.ci_high, "t")


def test_ordinary_intervals_are_unchanged_by_bounds_they_do_not_meet() -> None:
    x = np.random.default_rng(4).normal(0.9, 0.02, size=12)  # a fill rate well inside (0, 1)
    assert summarize(x, bounds=(0.0, 1.0)) == summarize(x)
    assert summarize(x, bounds=UNBOUNDED) == summarize(x) == summarize(x, bounds=None)
    y = np.random.default_rng(5).normal(100.0, 5.0, size=12)  # a cost far from 0
    assert summarize(y, bounds=(0.0, math.inf)) == summarize(y)
    d = paired_difference(x, x[::-1], bounds=(0.0, 1.0))
    assert d == paired_difference(x, x[::-1]) and d.ci_method == "t"


@pytest.mark.parametrize("n", [4, 10, 30])
def test_every_replication_at_the_bound_gives_the_rule_of_three(n: int) -> None:
    """All n values at 1: P(all at 1) <= mu^n for any [0, 1] variable, so the 95% interval is [0.05^(1/n), 1]."""
    top = summarize(np.ones(n), bounds=(0.0, 1.0))
    assert (top.ci_low, top.ci_high, top.ci_method) == (pytest.approx(0.05 ** (1 / n)), 1.0, "at_bound")
    assert top.half_width == 0.0 and top.std == 0.0  # the data have no spread; the interval does
    bottom = summarize(np.zeros(n), bounds=(0.0, 1.0))
    assert (bottom.ci_low, bottom.ci_high) == (0.0, pytest.approx(1 - 0.05 ** (1 / n)))
    if n == 30:
        assert 1 - top.ci_low == pytest.approx(3 / n, rel=0.05)  # the rule of three
    # A finite range of any width scales the same way; an open side has no distribution-free answer.
    wide = summarize(np.full(n, 10.0), bounds=(-10.0, 10.0))
    assert wide.ci_low == pytest.approx(10.0 - 20.0 * (1 - 0.05 ** (1 / n)))
    zero_days = summarize(np.zeros(n), bounds=(0.0, math.inf))
    assert (zero_days.ci_low, zero_days.ci_high, zero_days.ci_method) == (0.0, 0.0, "t")
    assert bounded_interval(np.ones(n), 0.95, (0.0, 1.0)) == (top.ci_low, top.ci_high, "at_bound")


@pytest.mark.parametrize("n", [4, 10, 30])
def test_bounded_intervals_cover_a_rate_near_one(n: int) -> None:
    """Exact coverage for Bernoulli replications (the extreme case of a [0, 1] variable): a service rate near
    100% with few replications. The plain t-interval is a point whenever every replication is perfect and
    covers as little as 1% of the time; the bounded one keeps 95% (up to the t-interval's own error)."""
    for mu in (0.5, 0.8, 0.9, 0.95, 0.97, 0.99, 0.999):
        old = new = 0.0
        for k in range(n + 1):  # k replications at 0, the others at 1
            x = np.r_[np.zeros(k), np.ones(n - k)]
            p = float(sps.binom.pmf(k, n, 1 - mu))
            s, b = summarize(x), summarize(x, bounds=(0.0, 1.0))
            old += p * (s.ci_low <= mu <= s.ci_high)
            new += p * (b.ci_low <= mu <= b.ci_high)
        assert new >= old - 1e-12 and new >= 0.94, (n, mu, old, new)
    assert old < 0.05  # mu = 0.999: the t-interval says "exactly 100%" almost always


def test_values_outside_the_bounds_are_an_error_but_rounding_is_not() -> None:
    with pytest.raises(ValueError, match="outside the bounds"):
        summarize([0.5, 1.2], bounds=(0.0, 1.0))
    with pytest.raises(ValueError, match="outside the bounds"):
        paired_difference([0.5, 0.7], [-3.0, 0.1], bounds=(0.0, math.inf))
    with pytest.raises(ValueError, match="low < high"):
        summarize([0.5, 0.7], bounds=(1.0, 0.0))
    s = summarize([1.0 + 1e-15, 1.0, 1.0 - 1e-15], bounds=(0.0, 1.0))  # ratios of sums, an ulp off
    assert s.ci_method == "at_bound" and s.ci_high == 1.0


def test_single_value_has_no_interval_even_with_bounds() -> None:
    s = summarize([1.0], bounds=(0.0, 1.0))
    assert math.isnan(s.ci_low) and math.isnan(s.ci_high) and s.ci_method == "none"


def test_paired_differences_of_rates_stay_in_minus_one_one() -> None:
    a, b = [1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]  # differences 1, 1, 1, -1: t-interval [-1.09, 2.09]
    plain, cut = paired_difference(a, b), paired_difference(a, b, bounds=(0.0, 1.0))
    assert plain.ci_high > 1 and (cut.ci_low, cut.ci_high) == (-1.0, 1.0) and cut.ci_method == "t_clipped"
    assert (cut.p_value, cut.half_width, cut.significant) == (plain.p_value, plain.half_width, False)
    # Every pair at the extreme difference: the rule of three on the range [-1, 1].
    top = paired_difference(np.ones(10), np.zeros(10), bounds=(0.0, 1.0))
    assert top.ci_method == "at_bound" and top.ci_high == 1.0
    assert top.ci_low == pytest.approx(1.0 - 2.0 * (1 - 0.05 ** 0.1)) and top.significant
    # A KPI open on one side (recovery days >= 0) leaves the differences unbounded.
    days_a, days_b = [0.0, 0.0, 40.0, 0.0], [30.0, 0.0, 0.0, 0.0]
    assert paired_difference(days_a, days_b, bounds=(0.0, math.inf)) == paired_difference(days_a, days_b)


# --- summarize_frame ---------------------------------------------------------------------------------


def _replication_frame(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for scenario in ("base", "peak"):
        for policy in ("sS", "kanban"):
            for rep in range(6):
                rows.append({"scenario": scenario, "policy": policy, "replication": rep,
                             "fill_rate": rng.uniform(0.8, 1.0), "cost": rng.normal(100.0, 5.0),
                             "label": f"{scenario}-{policy}"})
    return pd.DataFrame(rows)


def test_summarize_frame_layout_and_values() -> None:
    df = _replication_frame(np.random.default_rng(3))
    out = summarize_frame(df, by=["scenario", "policy"])
    expected_head = ["scenario", "policy", "kpi", "n", "mean", "std", "ci_low", "ci_high", "half_width",
                     "p5", "p50", "p95"]
    assert list(out.columns[: len(expected_head)]) == expected_head
    # Non-numeric "label" and the identifier "replication" are not KPIs.
    assert set(out["kpi"]) == {"fill_rate", "cost"}
    assert len(out) == 2 * 2 * 2
    row = out[(out.scenario == "peak") & (out.policy == "sS") & (out.kpi == "cost")].iloc[0]
    ref = summarize(df[(df.scenario == "peak") & (df.policy == "sS")]["cost"])
    for col in ("n", "mean", "std", "ci_low", "ci_high", "half_width", "p5", "p50", "p95"):
        assert row[col] == pytest.approx(getattr(ref, col))


def test_summarize_frame_explicit_kpis_no_groups_and_all_nan() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [np.nan] * 3, "c": ["x", "y", "z"]})
    out = summarize_frame(df, by=[], kpis=["a", "b"])
    assert list(out["kpi"]) == ["a", "b"]
    assert out.loc[0, "mean"] == pytest.approx(2.0)
    assert out.loc[1, "n"] == 0 and out.loc[1, "n_nan"] == 3 and bool(out["mean"].isna().iloc[1])
    with pytest.raises(ValueError, match="numeric"):
        summarize_frame(df, by=[], kpis=["c"])
    with pytest.raises(KeyError):
        summarize_frame(df, by=["missing"])


def test_summarize_frame_and_paired_table_take_bounds_per_kpi() -> None:
    df = pd.DataFrame({"policy": ["a"] * 4 + ["b"] * 4, "replication": [0, 1, 2, 3] * 2,
                       "days": [0.0, 0.0, 0.0, 45.0, 0.0, 0.0, 0.0, 0.0],
                       "profit": [0.0, 0.0, 0.0, 45.0, 0.0, 0.0, 0.0, 0.0]})
    out = summarize_frame(df, ["policy"], ["days", "profit"], bounds={"days": (0.0, math.inf)}).set_index(
        ["policy", "kpi"])
    assert out.loc[("a", "days"), "ci_low"] == 0.0 and out.loc[("a", "days"), "ci_method"] == "t_clipped"
    assert out.loc[("a", "profit"), "ci_low"] < 0 and out.loc[("a", "profit"), "ci_method"] == "t"
    assert list(out.columns)[-1] == "ci_method"
    empty = summarize_frame(pd.DataFrame({"x": [np.nan, np.nan]}), [], ["x"], bounds={"x": (0.0, 1.0)})
    assert empty.loc[0, "ci_method"] == "none"
    rates = df.assign(days=df["days"] / 45.0)
    pt = paired_table(rates, "policy", "b", ["days"], bounds={"days": (0.0, 1.0)}).iloc[0]
    assert pt["ci_low"] >= -1.0 and pt["ci_high"] <= 1.0 and pt["ci_method"] == "t_clipped"


# --- paired comparisons ------------------------------------------------------------------------------


def test_common_random_numbers_shrink_the_interval() -> None:
    """With positively correlated pairs var(a-b) = var a + var b - 2 cov << var a + var b."""
    rng = np.random.default_rng(11)
    n = 30
    common = rng.normal(0.0, 10.0, n)  # shared randomness (same demand stream) dominates
    a = 100.0 + common + rng.normal(0.0, 1.0, n)
    b = 101.0 + common + rng.normal(0.0, 1.0, n)
    paired = paired_difference(a, b)
    indep_hw = sps.t.ppf(0.975, n - 1) * math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / n)
    assert paired.half_width < 0.2 * indep_hw
    assert paired.variance_reduction < 0.05  # theory: 2 / (2 + 2·100) ≈ 0.01
    assert paired.significant and paired.ci_high < 0
    assert paired.mean_diff == pytest.approx(a.mean() - b.mean())
    assert (paired.mean_a, paired.mean_b) == pytest.approx((a.mean(), b.mean()))


def test_independent_pairs_give_no_variance_reduction() -> None:
    rng = np.random.default_rng(12)
    a, b = rng.normal(0.0, 1.0, 400), rng.normal(0.0, 1.0, 400)
    # Independent: var(a-b) = var a + var b, so the ratio is 1 up to sampling error (sd ≈ 0.1 here).
    assert 0.7 < paired_difference(a, b).variance_reduction < 1.3


@pytest.mark.parametrize("seed", range(5))
def test_paired_p_value_matches_scipy_ttest_rel(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 1.0, 15)
    b = a + rng.normal(0.2 * seed, 0.5, 15)
    a[3] = np.nan  # the pair is dropped, as nan_policy="omit" does
    res = paired_difference(a, b)
    ref = sps.ttest_rel(a, b, nan_policy="omit")
    assert res.n == 14 and res.n_nan == 1
    assert res.p_value == pytest.approx(float(ref.pvalue), rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert (res.ci_low, res.ci_high) == pytest.approx((ci.low, ci.high))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(finite_floats, finite_floats), min_size=3, max_size=20))
def test_ci_excludes_zero_iff_p_below_alpha(pairs: list[tuple[float, float]]) -> None:
    """Duality of the t test and the t interval: 0 ∉ CI_{1-α} ⇔ p < α."""
    a, b = np.array(pairs).T
    res = paired_difference(a, b)
    if math.isnan(res.p_value) or abs(res.p_value - 0.05) < 1e-9:
        return  # identical pairs or a boundary case where rounding decides
    assert res.significant == (res.p_value < 0.05)


def test_paired_difference_edge_cases() -> None:
    one = paired_difference([1.0], [0.5])
    assert one.n == 1 and one.mean_diff == 0.5 and math.isnan(one.half_width) and not one.significant
    same = paired_difference([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert same.mean_diff == 0.0 and math.isnan(same.p_value) and not same.significant
    with pytest.raises(ValueError, match="same length"):
        paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="pairs"):
        paired_difference([np.nan, 1.0], [1.0, np.nan])


def test_paired_table_against_baseline() -> None:
    rng = np.random.default_rng(5)
    df = _replication_frame(rng).sample(frac=1.0, random_state=1)  # row order must not matter
    out = paired_table(df, "policy", "sS", ["fill_rate", "cost"], by=["scenario"])
    assert list(out.columns[:4]) == ["scenario", "policy", "kpi", "n"]
    assert set(out["policy"]) == {"kanban"} and len(out) == 2 * 2
    row = out[(out.scenario == "base") & (out.kpi == "cost")].iloc[0]
    sub = df[df.scenario == "base"].sort_values("replication")
    ref = paired_difference(sub[sub.policy == "kanban"]["cost"], sub[sub.policy == "sS"]["cost"])
    assert row["mean_diff"] == pytest.approx(ref.mean_diff)
    assert row["p_value"] == pytest.approx(ref.p_value)
    assert row["variance_reduction"] == pytest.approx(ref.variance_reduction)
    assert row["mean_policy"] - row["mean_baseline"] == pytest.approx(row["mean_diff"])


def test_paired_table_errors() -> None:
    df = _replication_frame(np.random.default_rng(6))
    broken = df.drop(df[(df.policy == "kanban") & (df.replication == 2) & (df.scenario == "peak")].index)
    with pytest.raises(ValueError, match="do not match baseline"):
        paired_table(broken, "policy", "sS", ["cost"], by=["scenario"])
    with pytest.raises(ValueError, match="baseline 'nope' not found"):
        paired_table(df, "policy", "nope", ["cost"], by=["scenario"])
    with pytest.raises(ValueError, match="more than once"):
        paired_table(df, "policy", "sS", ["cost"])  # without by, replication ids repeat across scenarios
    with pytest.raises(KeyError):
        paired_table(df, "policy", "sS", ["nope"])


# --- sequential precision ----------------------------------------------------------------------------


def test_required_replications_hand_calculation() -> None:
    """Law's (2015, §9.4.1) n* = min{i : t_{0.975, i-1} · s / sqrt(i) <= h}: the quantile of the i replications
    the interval will have. The pilot's own quantile (t_{0.975, 2} = 4.303 here) asked (4.303 · 2 / 1)^2 -> 75
    replications where 18 give the half-width, 4 times too many."""
    values = [8.0, 10.0, 12.0]  # mean 10, s = 2, n = 3
    # i = 18: t_{17} = 2.1098, 2.1098 · 2 / sqrt(18) = 0.9946 <= 1; i = 17: t_{16} = 2.1199 · 2 / sqrt(17) = 1.028
    assert required_replications(values, target_half_width=1.0) == 18
    # A relative error of 0.1 holds the half-width to 0.1/1.1 of the mean (Law's γ'): 0.909, so more.
    # t_{21} · 2 / sqrt(22) = 0.8868 <= 0.909 < t_{20} · 2 / sqrt(21) = 0.9104
    assert required_replications(values, target_relative=0.1) == 22
    # (t_{3} = 3.182) · 2 / sqrt(4) = 3.18 <= 4 < (t_{2} = 4.303) · 2 / sqrt(3) = 4.97
    assert required_replications(values, target_half_width=4.0) == 4
    assert required_replications(values, target_half_width=100.0) == 2  # never below 2
    assert required_replications(values, target_half_width=1.0, confidence=0.9) < 18
    assert required_replications([5.0, 5.0, 5.0], target_half_width=1.0) == 2  # no variance seen


@pytest.mark.parametrize("seed", range(5))
def test_required_replications_from_a_pilot_of_ten_is_what_the_interval_needs(seed: int) -> None:
    """From a pilot of 10, the estimate is the smallest n whose t-interval (with n - 1 degrees of freedom and
    the pilot's s) reaches the target, about (1.96 s / h)^2 plus a few: not (t_9 / 1.96)^2 = 1.33 times it,
    as the pilot's quantile made it."""
    x = np.random.default_rng(seed).normal(100.0, 10.0, 10)
    s, h = float(np.std(x, ddof=1)), 1.0
    n = required_replications(x, target_half_width=h)
    assert sps.t.ppf(0.975, n - 1) * s / math.sqrt(n) <= h < sps.t.ppf(0.975, n - 2) * s / math.sqrt(n - 1)
    assert n <= (1.96 * s / h) ** 2 + 5


def test_precision_reached_hand_calculation() -> None:
    values = [8.0, 10.0, 12.0]  # half-width = 4.3027 · 2 / sqrt(3) = 4.968
    assert precision_reached(values, target_half_width=5.0)
    assert not precision_reached(values, target_half_width=4.9)
    assert precision_reached(values, target_relative=1.0)  # h = 1/(1+1) · 10 = 5
    assert not precision_reached([8.0], target_half_width=100.0)  # precision unknown with one value
    assert not precision_reached([-1.0, 1.0], target_relative=0.1)  # relative target, mean 0


def test_a_relative_target_bounds_the_error_against_the_true_mean() -> None:
    """Law (2015, §9.4.1): a relative error γ = |X̄ - μ| / |μ| needs the half-width within γ' = γ/(1+γ) of |X̄|:
    when the interval covers μ, |X̄ - μ| <= γ'|X̄| <= γ'(|μ| + |X̄ - μ|), i.e. |X̄ - μ| <= γ|μ|. A half-width of
    0.497 of the mean (below γ = 0.5, above γ' = 1/3) leaves μ = 0.503 X̄ inside the interval, an error of
    99% of μ, not 50%: not reached."""
    values = [8.0, 10.0, 12.0]  # half-width 4.968: 0.497 of the mean
    assert not precision_reached(values, target_relative=0.5)
    assert precision_reached(values, target_relative=0.995)  # γ' = 0.4987: 4.987 >= 4.968
    assert not precision_reached(values, target_relative=0.98)  # γ' = 0.4949: 4.949 < 4.968


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=-100, max_value=100), min_size=2, max_size=25),
       st.floats(min_value=0.01, max_value=50))
def test_precision_reached_iff_required_not_above_n(values: list[float], h: float) -> None:
    """half_width <= h  ⇔  (t·s/h)^2 <= n  ⇔  n* <= n (n* is the ceiling of an exact bound)."""
    hw = summarize(values).half_width
    if abs(hw - h) < 1e-6 * h:
        return  # at the boundary rounding decides
    assert precision_reached(values, target_half_width=h) == (
        required_replications(values, target_half_width=h) <= len(values)
    )


def test_every_replication_at_a_bound_needs_the_rule_of_three_not_a_zero_variance() -> None:
    """OTIF 100% in every future: the t half-width is 0 after two replications, yet n futures all at 100%
    only show the mean is above 0.05^(1/n). The rule waits for n with 1 - 0.05^(1/n) <= h:
    ln 0.05 / ln(1 - 0.005) = 597.6, so 598 replications for +/-0.5 points."""
    assert precision_reached(np.ones(10), target_half_width=0.005)  # without bounds: "certain" at once
    assert required_replications(np.ones(10), target_half_width=0.005, bounds=(0.0, 1.0)) == 598
    assert not precision_reached(np.ones(597), target_half_width=0.005, bounds=(0.0, 1.0))
    assert precision_reached(np.ones(598), target_half_width=0.005, bounds=(0.0, 1.0))
    assert precision_reached(np.zeros(598), target_half_width=0.005, bounds=(0.0, 1.0))  # mirrored at 0
    # An open side says nothing more (see bounded_interval): a recovery of 0 days everywhere stays "certain".
    assert precision_reached(np.zeros(3), target_half_width=0.5, bounds=(0.0, math.inf))
    # Values off the bound: the bounded rule is the t rule (the cut interval is never wider).
    values = [0.9, 0.95, 1.0, 1.0]
    assert precision_reached(values, target_half_width=0.2, bounds=(0.0, 1.0)) == precision_reached(
        values, target_half_width=0.2)
    assert required_replications(values, target_half_width=0.01, bounds=(0.0, 1.0)) == required_replications(
        values, target_half_width=0.01)


def test_a_sequential_target_on_otif_does_not_stop_on_two_perfect_replications() -> None:
    from simsop.experiment import Target

    target = Target.parse("otif:abs=0.01")
    assert not target.reached(np.ones(5))
    assert target.required(np.ones(5)) == 299  # ln 0.05 / ln 0.99 = 298.07
    assert not target.reached(np.ones(298)) and target.reached(np.ones(299))


@pytest.mark.parametrize("kwargs", [{}, {"target_half_width": 1.0, "target_relative": 0.1},
                                    {"target_half_width": -1.0}, {"target_relative": 0.0}])
def test_exactly_one_positive_target(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        required_replications([1.0, 2.0, 3.0], **kwargs)
    with pytest.raises(ValueError):
        precision_reached([1.0, 2.0, 3.0], **kwargs)


def test_required_replications_needs_two_values_and_nonzero_mean() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        required_replications([1.0, np.nan], target_half_width=1.0)
    with pytest.raises(ValueError, match="mean is 0"):
        required_replications([-1.0, 1.0], target_relative=0.1)


# --- MSER warm-up detection --------------------------------------------------------------------------


def _transient_series(rng: np.random.Generator, length: int = 1000, warmup: int = 200) -> np.ndarray:
    t = np.arange(length)
    level = np.where(t < warmup, 100.0 - 90.0 * t / warmup, 10.0)  # linear decay 100 → 10, then flat
    return level + rng.normal(0.0, 1.0, length)


def test_mser_finds_end_of_deterministic_transient() -> None:
    # Exact step without noise: the truncated mean is unbiased exactly from observation 50 on.
    step = np.r_[np.full(50, 100.0), np.tile([9.0, 11.0], 200)]
    assert mser(step) == 50
    # Noisy transient: the truncation should land within a batch or two of the true end (200).
    hits = [abs(mser(_transient_series(np.random.default_rng(s))) - 200) <= 10 for s in range(100)]
    # Empirical rate ≈ 0.85; a stationary-part minimum after 210 happens when noise dips late.
    assert np.mean(hits) >= 0.7
    # It never stops while the bias is still large (a batch at t=150 is still ~22 above steady state).
    assert min(mser(_transient_series(np.random.default_rng(s))) for s in range(20)) >= 180


def test_mser_many_uses_the_across_replication_mean() -> None:
    rng = np.random.default_rng(8)
    matrix = np.stack([_transient_series(rng) for _ in range(10)])
    assert abs(mser_many(matrix) - 200) <= 10
    assert mser_many(matrix) == mser(matrix.mean(axis=0))


def test_mser_keeps_stationary_series() -> None:
    """On an i.i.d. series MSER(d) ≈ σ²/(k-d) increases with d, so d = 0 is the usual minimum."""
    zeros = [mser(np.random.default_rng(s).normal(10.0, 1.0, 1000)) == 0 for s in range(200)]
    assert np.mean(zeros) > 0.5  # empirical rate ≈ 0.68
    assert mser(np.full(100, 3.0)) == 0  # flat series: all statistics 0, earliest wins


def test_mser_searches_only_the_first_half() -> None:
    # A flat tail has zero spread, so an unrestricted search would truncate into it (d ≈ 700); the rule
    # only considers d <= k/2 because such late minima are artefacts of a too-short run.
    y = np.r_[np.random.default_rng(9).normal(0.0, 1.0, 700), np.zeros(300)]
    assert mser(y) <= len(y) // 2


def test_mser_batch_size_and_units() -> None:
    step = np.r_[np.full(7, 50.0), np.tile([0.0, 1.0], 100)]
    assert mser(step, batch_size=1) == 7  # plain MSER works on single observations
    assert mser(step, batch_size=5) % 5 == 0  # result is in original time units, a multiple of the batch


def test_mser_input_validation() -> None:
    with pytest.raises(ValueError, match="batch"):
        mser(np.arange(8.0))  # only one batch of 5
    with pytest.raises(ValueError, match="batch_size"):
        mser(np.arange(100.0), batch_size=0)
    with pytest.raises(ValueError, match="NaN"):
        mser(np.r_[np.arange(20.0), np.nan])
    with pytest.raises(ValueError, match="replications, time"):
        mser_many(np.arange(100.0))
