"""Output analysis (pure functions, no random state) for a stochastic simulator run as i.i.d. replications.

* Confidence intervals are Student-t: ``mean ± t_{1-α/2, n-1} · s / sqrt(n)``, ``s`` with ddof=1. They assume
  i.i.d. replications (independent seeds), not autocorrelated observations inside one run.
* A KPI with a natural range (``bounds``: a rate in [0, 1], a recovery time or a cost >= 0) gets an interval
  inside that range, so a reader never sees an impossible "-3.1 days" (see :func:`bounded_interval`): the
  t-interval is cut at the range (``ci_method`` "t_clipped"), which keeps its coverage exactly, since the
  true mean lies in the range; when every replication sits at one end of a finite range (OTIF 100% in
  every future) the degenerate t-interval is replaced by the exact distribution-free one, the "rule of
  three" (``ci_method`` "at_bound"). ``half_width`` stays the t half-width ``t · s / sqrt(n)``: it is the
  precision the sequential rule targets, and ``ci_low``/``ci_high`` are not ``mean ± half_width`` then.
* Percentiles use numpy's default ``method="linear"`` (Hyndman & Fan type 7), so ``p50`` is the median.
* NaNs are dropped and counted in ``n_nan``; ``n`` counts the values used. Infinities are kept so a model bug
  stays visible. One value gives NaN ``std``/CI (not an error: a one-replication smoke run still reports);
  zero values raise ValueError.

References: Law (2015), *Simulation Modeling and Analysis*, 5th ed., ch. 9-10; White (1997), *Simulation*
69(6):323-334; Franklin & White (2008), "Stationarity tests and MSER-5", *Proc. Winter Simulation Conf.*; Hanley &
Lippman-Hand (1983), "If nothing goes wrong, is everything all right?", *JAMA* 249(13):1743-1745.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

# scipy.special, not scipy.stats: the same t quantiles and tails (scipy.stats computes them with these), but
# importing scipy.stats takes half a second, which every command that summarises would pay.
from scipy.special import ndtri, stdtr, stdtrit

__all__ = ["UNBOUNDED", "Bounds", "KpiSummary", "PairedDifference", "bounded_interval", "holm", "holm_columns",
           "mser", "mser_many", "paired_difference", "paired_table", "precision_reached", "required_replications",
           "summarize", "summarize_frame"]

FloatArray = npt.NDArray[np.float64]
Bounds = tuple[float, float]  # (low, high) a KPI's values cannot leave; ±inf for an open side
UNBOUNDED: Bounds = (-math.inf, math.inf)

_SUMMARY_COLUMNS = ["n", "mean", "std", "ci_low", "ci_high", "half_width", "p5", "p50", "p95", "n_nan", "min",
                    "max", "ci_method"]
_PAIRED_FIELDS = ["mean_diff", "std_diff", "ci_low", "ci_high", "half_width", "p_value", "significant",
                  "variance_reduction", "ci_method"]


@dataclass(frozen=True)
class KpiSummary:
    """Across-replication summary of one KPI.

    Attributes:
        n: Number of non-NaN values used. n_nan: number of NaNs dropped.
        mean: Sample mean. std: sample standard deviation (ddof=1), NaN when ``n == 1``.
        ci_low, ci_high: Confidence interval for the mean (Student-t, kept inside the KPI's bounds; see
            ``ci_method``), NaN when ``n == 1``.
        half_width: Student-t half-width ``t · s / sqrt(n)`` (the precision; NaN when ``n == 1``).
        p5, p50, p95: Percentiles (numpy linear interpolation). min, max: extreme values.
        confidence: Confidence level of the interval, e.g. 0.95.
        ci_method: How the interval was made (:func:`bounded_interval`): "t", "t_clipped", "at_bound", or
            "none" when there is no interval.
    """

    n: int
    n_nan: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    half_width: float
    p5: float
    p50: float
    p95: float
    min: float
    max: float
    confidence: float
    ci_method: str = "t"

    def as_dict(self) -> dict[str, float | int | str]:
        """Return the fields as a plain dict (e.g. a DataFrame row or JSON)."""
        return asdict(self)


@dataclass(frozen=True)
class PairedDifference:
    """Paired comparison ``a - b`` of two policies run with common random numbers.

    Attributes:
        n: Pairs used. n_nan: pairs dropped because either side is NaN.
        mean_a, mean_b: Means of ``a`` and ``b`` over the used pairs.
        mean_diff, std_diff: Mean and standard deviation (ddof=1) of ``a - b``.
        ci_low, ci_high: Confidence interval of ``mean_diff``: Student-t, kept inside the range the differences
            can take (``[low - high, high - low]`` of the KPI's bounds, e.g. [-1, 1] for a rate); see
            ``ci_method``. half_width: the t half-width. confidence: the level.
        p_value: Two-sided paired t-test p-value of ``E[a - b] = 0`` (as ``scipy.stats.ttest_rel``).
        significant: True when the interval excludes 0 (False when it is undefined).
        variance_reduction: ``var(a - b) / (var(a) + var(b))``: paired-estimator variance relative to an
            independent comparison of equal size; < 1 means common random numbers helped. NaN if both are 0.
    """

    n: int
    n_nan: int
    mean_a: float
    mean_b: float
    mean_diff: float
    std_diff: float
    ci_low: float
    ci_high: float
    half_width: float
    p_value: float
    significant: bool
    variance_reduction: float
    confidence: float
    ci_method: str = "t"

    def as_dict(self) -> dict[str, float | int | bool | str]:
        """Return the fields as a plain dict (e.g. a DataFrame row or JSON)."""
        return asdict(self)


def _as_1d(values: npt.ArrayLike, name: str = "values") -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def _floats(col: pd.Series) -> FloatArray:
    # na_value maps pandas' nullable NA (Int64/Float64 columns) to NaN instead of failing the cast.
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


def _t_half_width(std: float, n: int, confidence: float) -> float:
    # Every interval goes through here, so this is the single place that validates the level.
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(stdtrit(n - 1, 0.5 + confidence / 2.0) * std / math.sqrt(n)) if n > 1 else math.nan


def _bounds(bounds: Bounds | None) -> Bounds:
    if bounds is None:
        return UNBOUNDED
    low, high = (float(b) for b in bounds)
    if not low < high:  # also catches NaN
        raise ValueError(f"bounds must be (low, high) with low < high, got {bounds!r}")
    return low, high


def _slack(bound: float) -> float:
    # Rates computed as ratios of sums can land an ulp or so outside [0, 1]: that is still the bound.
    return 1e-9 * max(1.0, abs(bound))


def _check_inside(x: FloatArray, bounds: Bounds, name: str) -> None:
    low, high = bounds
    if (bad := x[(x < low - _slack(low)) | (x > high + _slack(high))]).size:
        raise ValueError(f"{name}: {bad.size} value(s) outside the bounds [{low:g}, {high:g}], e.g. {bad[0]!r}")


def bounded_interval(x: npt.ArrayLike, confidence: float = 0.95,
                     bounds: Bounds | None = None) -> tuple[float, float, str]:
    """Confidence interval for the mean of i.i.d. values that cannot leave ``bounds``.

    * Ordinary case (``"t"``): the Student-t interval ``mean ± t · s / sqrt(n)``, unchanged.
    * ``"t_clipped"``: the t-interval crosses a bound; it is cut there. The true mean lies inside the bounds,
      so "the interval covers the mean" and "the cut interval covers it" are the same event: the coverage is
      unchanged, only impossible values go. Cutting does not repair the t-interval's under-coverage for
      strongly skewed data and few replications (more replications do).
    * ``"at_bound"``: every value sits at one end of a *finite* range (a fill rate of 100% in every
      replication). The t-interval would be the single point, claiming a certainty n futures cannot give.
      For any variable in ``[a, b]`` with mean ``mu``, ``P(X = b) <= (mu - a) / (b - a)``, so n values all at
      ``b`` have probability at most ``((mu - a) / (b - a))^n``; the interval is therefore
      ``[b - (b - a)(1 - α^(1/n)), b]`` with ``α = 1 - confidence`` (mirrored at ``a``): the exact
      distribution-free bound, for a rate the "rule of three" (upper error about 3/n at 95%; Hanley &
      Lippman-Hand 1983). It is one-sided because the mean cannot pass the bound it sits at. With an open
      side (a recovery time of 0 days in every replication) nothing distribution-free can be said, as a rare
      large value could carry any mean, so the point interval stays (``"t"``).
    * ``"none"``: fewer than two values (NaN interval).

    Args:
        x: The values (NaNs are dropped).
        confidence: Confidence level in (0, 1).
        bounds: ``(low, high)``, ``±inf`` for an open side; ``None`` for no bounds.

    Returns:
        ``(ci_low, ci_high, ci_method)``.

    Raises:
        ValueError: If ``confidence`` is not in (0, 1), the bounds are not ``low < high``, or a value lies
            outside them (beyond rounding): a wrong bound must not silently bend an interval.
    """
    arr = _as_1d(x)
    return _interval(arr[~np.isnan(arr)], confidence, _bounds(bounds))


def _interval(x: FloatArray, confidence: float, bounds: Bounds) -> tuple[float, float, str]:
    _check_inside(x, bounds, "values")
    n = int(x.size)
    mean = float(x.mean()) if n else math.nan
    hw = _t_half_width(float(x.std(ddof=1)) if n > 1 else math.nan, n, confidence)
    if math.isnan(hw):
        return math.nan, math.nan, "none"
    low, high = bounds
    if math.isfinite(low) and math.isfinite(high):
        reach = (high - low) * (1.0 - (1.0 - confidence) ** (1.0 / n))
        if bool(np.all(np.abs(x - high) <= _slack(high))):
            return high - reach, high, "at_bound"
        if bool(np.all(np.abs(x - low) <= _slack(low))):
            return low, low + reach, "at_bound"
    ci_low, ci_high = mean - hw, mean + hw
    if ci_low < low or ci_high > high:
        return max(ci_low, low), min(ci_high, high), "t_clipped"
    return ci_low, ci_high, "t"


def summarize(values: npt.ArrayLike, confidence: float = 0.95, bounds: Bounds | None = None) -> KpiSummary:
    """Summarize one KPI across independent replications.

    Args:
        values: One value per replication (1-D). NaNs are dropped and counted in ``n_nan``.
        confidence: Confidence level of the Student-t interval for the mean.
        bounds: The KPI's natural range ``(low, high)`` (``±inf`` for an open side), e.g. ``(0, 1)`` for a
            rate; the interval stays inside it (:func:`bounded_interval`). ``None``: no bounds.

    Returns:
        The summary; with a single non-NaN value ``std`` and the CI fields are NaN.

    Raises:
        ValueError: If no non-NaN value is left, the input is not 1-D, ``confidence`` is not in (0, 1), or a
            value lies outside ``bounds``.
    """
    arr = _as_1d(values)
    x = arr[~(nan_mask := np.isnan(arr))]
    if (n := int(x.size)) == 0:
        raise ValueError(f"cannot summarize zero values ({int(nan_mask.sum())} NaN dropped)")
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else math.nan
    hw = _t_half_width(std, n, confidence)
    ci_low, ci_high, method = _interval(x, confidence, _bounds(bounds))
    p5, p50, p95 = (float(q) for q in np.percentile(x, [5.0, 50.0, 95.0]))
    return KpiSummary(n=n, n_nan=int(nan_mask.sum()), mean=mean, std=std, ci_low=ci_low, ci_high=ci_high,
                      half_width=hw, p5=p5, p50=p50, p95=p95, min=float(x.min()), max=float(x.max()),
                      confidence=confidence, ci_method=method)


def _group_items(df: pd.DataFrame, by: Sequence[str]) -> list[tuple[tuple[object, ...], pd.DataFrame]]:
    if not by:
        return [((), df)]
    # dropna=False: a NaN group key (e.g. an unset scenario tag) must still be reported, not silently lost.
    return [(tuple(k), g) for k, g in df.groupby(list(by), sort=True, dropna=False)]


def summarize_frame(df: pd.DataFrame, by: Sequence[str], kpis: Sequence[str] | None = None,
                    confidence: float = 0.95, exclude: Sequence[str] = ("replication", "seed"),
                    bounds: Mapping[str, Bounds] | None = None) -> pd.DataFrame:
    """Tidy summary table, one row per group × KPI.

    Args:
        df: One row per replication (within each group), one column per KPI.
        by: Grouping columns (e.g. ``["scenario", "policy"]``); may be empty.
        kpis: KPI columns; ``None`` selects every numeric column not in ``by`` or ``exclude``.
        confidence: Confidence level of the intervals.
        exclude: Identifier columns never auto-selected as KPIs when ``kpis`` is None.
        bounds: Natural range per KPI (as in :func:`summarize`); a KPI not in it has none.

    Returns:
        Columns ``*by, kpi, n, mean, std, ci_low, ci_high, half_width, p5, p50, p95, n_nan, min, max,
        ci_method``; an all-NaN KPI gives ``n == 0``, NaN statistics and ``ci_method`` "none" rather than
        aborting the whole report.

    Raises:
        KeyError: If a column in ``by`` or ``kpis`` is missing.
        ValueError: If an explicitly requested KPI column is not numeric.
    """
    by = list(by)
    if missing := [c for c in [*by, *(kpis or [])] if c not in df.columns]:
        raise KeyError(f"columns not in frame: {missing}")
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    kpi_cols = list(kpis) if kpis is not None else [c for c in numeric if c not in {*by, *exclude}]
    if bad := [c for c in kpi_cols if c not in numeric]:
        raise ValueError(f"KPI columns must be numeric: {bad}")
    rows: list[dict[str, object]] = []
    for key, group in _group_items(df, by):
        for kpi in kpi_cols:
            values = _floats(group[kpi])
            row: dict[str, object] = {**dict(zip(by, key, strict=True)), "kpi": kpi}
            if np.isnan(values).all():
                row.update({**dict.fromkeys(_SUMMARY_COLUMNS, math.nan), "n": 0, "n_nan": int(values.size),
                            "ci_method": "none"})
            else:
                row.update(summarize(values, confidence, (bounds or {}).get(kpi)).as_dict())
            rows.append(row)
    return pd.DataFrame(rows, columns=[*by, "kpi", *_SUMMARY_COLUMNS])


def paired_difference(a: npt.ArrayLike, b: npt.ArrayLike, confidence: float = 0.95,
                      bounds: Bounds | None = None) -> PairedDifference:
    """Compare two policies replication by replication with common random numbers (CRN).

    Args:
        a: KPI values of the candidate policy, one per replication.
        b: KPI values of the reference policy; ``b[i]`` must share random numbers (seed) with ``a[i]``, which
            makes the differences i.i.d. (a one-sample t interval is valid) and, if correlated, less variable.
        confidence: Confidence level of the interval on ``mean(a - b)``.
        bounds: The KPI's natural range ``(low, high)`` (of ``a`` and ``b``, not of the difference); the
            interval stays inside the differences' range ``[low - high, high - low]`` (:func:`bounded_interval`),
            e.g. [-1, 1] for a rate, and is not bounded when a side of the KPI's range is open.

    Returns:
        The comparison; with a single pair the spread-based fields are NaN and ``significant`` is False.

    Raises:
        ValueError: If lengths differ, no complete pair remains, ``confidence`` is not in (0, 1), or a value
            lies outside ``bounds``.
    """
    xa, xb = _as_1d(a, "a"), _as_1d(b, "b")
    if xa.shape != xb.shape:
        raise ValueError(f"a and b must have the same length, got {xa.size} and {xb.size}")
    keep = ~(np.isnan(xa) | np.isnan(xb))
    xa, xb = xa[keep], xb[keep]
    low, high = _bounds(bounds)
    _check_inside(xa, (low, high), "a")
    _check_inside(xb, (low, high), "b")
    if (n := int(xa.size)) == 0:
        raise ValueError("no complete (non-NaN) pairs to compare")
    mean_diff = float((d := xa - xb).mean())
    std_diff = reduction = p_value = math.nan
    if n > 1:
        std_diff = float(d.std(ddof=1))
        var_sum = float(xa.var(ddof=1) + xb.var(ddof=1))
        reduction = std_diff**2 / var_sum if var_sum > 0 else math.nan
        if std_diff > 0:
            p_value = float(2.0 * stdtr(n - 1, -abs(mean_diff) / (std_diff / math.sqrt(n))))
        elif mean_diff != 0:
            p_value = 0.0  # constant non-zero differences: certainty, as scipy.stats.ttest_rel reports
    hw = _t_half_width(std_diff, n, confidence)
    # Rounding can put a difference of values at the bounds an ulp outside the differences' range.
    span = (low - high, high - low)
    ci_low, ci_high, method = _interval(np.clip(d, *span), confidence, span)
    return PairedDifference(n=n, n_nan=int((~keep).sum()), mean_a=float(xa.mean()), mean_b=float(xb.mean()),
                            mean_diff=mean_diff, std_diff=std_diff, ci_low=ci_low, ci_high=ci_high,
                            half_width=hw, p_value=p_value, significant=bool(ci_low > 0 or ci_high < 0),
                            variance_reduction=reduction, confidence=confidence, ci_method=method)


def holm(p_values: npt.ArrayLike) -> FloatArray:
    """Holm's (1979) step-down adjusted p-values: a family of comparisons (several policies against one
    baseline) is significant where ``adjusted < α``, with a family-wise error rate of at most ``α`` (any
    dependence between the tests, so also under common random numbers); uniformly more powerful than
    Bonferroni's ``m · p``.

    ``adjusted_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))`` over the ascending ``p_(1..m)``; NaN p-values
    (no test was possible) stay NaN and do not count in ``m``.
    """
    p = _as_1d(p_values, "p_values")
    out = np.full(p.shape, math.nan)
    idx = np.flatnonzero(~np.isnan(p))
    if idx.size:
        order = idx[np.argsort(p[idx], kind="stable")]
        m = order.size
        out[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return out


def holm_columns(frame: pd.DataFrame, family: Sequence[str], confidence: float) -> pd.DataFrame:
    """``p_value_holm`` and ``significant_holm`` per family of comparisons (rows sharing ``family``)."""
    frame = frame.copy()
    p = frame["p_value"].to_numpy(dtype=np.float64, na_value=np.nan)
    adjusted = np.full(p.shape, math.nan)
    if len(frame):
        for idx in frame.groupby(list(family), sort=False, dropna=False).indices.values():
            adjusted[idx] = holm(p[idx])
    frame["p_value_holm"] = adjusted
    frame["significant_holm"] = np.where(np.isnan(adjusted), False, adjusted < 1.0 - confidence).astype(bool)
    return frame


def paired_table(df: pd.DataFrame, policy_col: str, baseline: object, kpis: Sequence[str],
                 replication_col: str = "replication", by: Sequence[str] | None = None,
                 confidence: float = 0.95, bounds: Mapping[str, Bounds] | None = None) -> pd.DataFrame:
    """Paired differences ``policy - baseline`` of every policy, matched by replication id.

    Args:
        df: One row per (group, policy, replication) with KPI columns.
        policy_col: Column naming the policy.
        baseline: Value of ``policy_col`` every other policy is compared against.
        kpis: KPI columns to compare.
        replication_col: Column holding the replication id (same id = same random numbers).
        by: Optional grouping columns (e.g. ``["scenario"]``); comparisons are made within a group.
        confidence: Confidence level of the intervals.
        bounds: Natural range per KPI (as in :func:`paired_difference`); a KPI not in it has none.

    Returns:
        Columns ``*by, policy_col, kpi, n, mean_policy, mean_baseline, mean_diff, std_diff, ci_low, ci_high,
        half_width, p_value, significant, variance_reduction, ci_method, p_value_holm, significant_holm``;
        policies keep their order of appearance. ``significant`` is each comparison's own (its interval
        excludes 0); ``p_value_holm``/``significant_holm`` hold the family-wise error rate of the comparisons of
        one KPI (in one group) at ``1 - confidence`` (:func:`holm`): with five policies against a baseline, the
        chance that at least one of five no-difference comparisons looks significant is up to 23%, not 5%.

    Raises:
        KeyError: If a column is missing.
        ValueError: If the baseline is absent from a group, a (policy, replication) pair repeats, or a
            policy's replication ids differ from the baseline's.
    """
    by = list(by or [])
    if missing := [c for c in [*by, policy_col, replication_col, *kpis] if c not in df.columns]:
        raise KeyError(f"columns not in frame: {missing}")
    rows: list[dict[str, object]] = []
    for key, group in _group_items(df, by):
        where = f" in group {dict(zip(by, key, strict=True))}" if by else ""
        if group.duplicated([policy_col, replication_col]).any():
            raise ValueError(f"a (policy, replication) pair occurs more than once{where}")
        indexed: dict[object, pd.DataFrame] = {p: g.set_index(replication_col)
                                               for p, g in group.groupby(policy_col, sort=False)}
        if baseline not in indexed:
            raise ValueError(f"baseline {baseline!r} not found in column {policy_col!r}{where}")
        base_ids = set((base := indexed[baseline]).index)
        for policy, frame in indexed.items():
            if policy == baseline:
                continue
            if (ids := set(frame.index)) != base_ids:
                lost, extra = sorted(base_ids - ids, key=str)[:5], sorted(ids - base_ids, key=str)[:5]
                raise ValueError(f"replications of policy {policy!r} do not match baseline {baseline!r}"
                                 f"{where}: missing {lost}, extra {extra}")
            for kpi in kpis:
                res = paired_difference(_floats(frame[kpi]), _floats(base.loc[frame.index, kpi]), confidence,
                                        (bounds or {}).get(kpi))
                row: dict[str, object] = {**dict(zip(by, key, strict=True)), policy_col: policy, "kpi": kpi,
                                          "n": res.n, "mean_policy": res.mean_a, "mean_baseline": res.mean_b}
                row.update({f: getattr(res, f) for f in _PAIRED_FIELDS})
                rows.append(row)
    columns = [*by, policy_col, "kpi", "n", "mean_policy", "mean_baseline", *_PAIRED_FIELDS]
    return holm_columns(pd.DataFrame(rows, columns=columns), [*by, "kpi"], confidence)


def _target(mean: float, target_half_width: float | None, target_relative: float | None) -> float:
    """The half-width to reach: the absolute target, or ``γ/(1+γ) · |mean|`` for a relative error ``γ``.

    Law (2015, §9.4.1): a half-width ``δ <= γ' |X̄|`` with ``γ' = γ/(1+γ)`` gives ``|X̄ - μ| <= γ|μ|`` whenever
    the interval covers ``μ`` (``|X̄ - μ| <= γ'|X̄| <= γ'(|μ| + |X̄ - μ|)``), so the estimate is within ``γ``
    of the *true* mean at the confidence level; ``δ <= γ|X̄|`` would only bound the error by ``γ/(1-γ)`` of it.
    """
    if (target_half_width is None) == (target_relative is None):
        raise ValueError("give exactly one of target_half_width and target_relative")
    target = target_half_width if target_half_width is not None else target_relative
    if not (target is not None and target > 0):
        raise ValueError(f"precision target must be > 0, got {target!r}")
    if target_half_width is not None:
        return float(target)
    return float(target) / (1.0 + float(target)) * abs(mean)


def _law_replications(std: float, h: float, confidence: float) -> int:
    """Law's (2015, §9.4.1) ``n*_a = min{i >= 2 : t_{i-1, 1-α/2} · s / sqrt(i) <= h}``.

    The quantile is that of the ``i`` replications the interval will have, not of the pilot: with a pilot
    of 10, ``t_{9}`` = 2.262 against about 1.98 at the answer asks 30% more replications than needed.
    """
    q = 0.5 + confidence / 2.0
    if std == 0.0:
        return 2
    # Round before ceil so an exact ratio computed as e.g. 16.000000000000004 does not become 17.
    i = max(2, math.ceil(round((float(ndtri(q)) * std / h) ** 2, 9)))  # the normal bound, <= n*
    # t_{i-1}/sqrt(i) falls with i, so the first i that meets the target is n*; it is a few past the normal
    # bound (t_{i-1} > z), so a doubling search then bisection stays cheap for any i.
    def ok(m: int) -> bool:
        return float(stdtrit(m - 1, q)) * std / math.sqrt(m) <= h * (1.0 + 1e-12)

    if ok(i):
        return i
    lo, hi = i, 2 * i
    while not ok(hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def required_replications(values: npt.ArrayLike, target_half_width: float | None = None,
                          target_relative: float | None = None, confidence: float = 0.95,
                          bounds: Bounds | None = None) -> int:
    """Estimate the total number of replications needed for a target CI half-width.

    Law's (2015, §9.4.1) ``n* = min{i >= 2 : t_{1-α/2, i-1} · s / sqrt(i) <= h}`` with the pilot's ``s``:
    the t quantile of the ``i`` replications the final interval will have (the pilot's own, ``t_{n-1}``,
    over-asks by ``(t_{n-1}/t_{n*-1})^2``: 33% from a pilot of 10, 5 times from a pilot of 3). For a relative
    error ``γ``, ``h = γ/(1+γ) · |mean|`` (Law's adjusted ``γ'``; see :func:`precision_reached`).

    Args:
        values: Pilot KPI values, one per replication (NaNs dropped).
        target_half_width: Absolute half-width target. Give exactly one of the two targets.
        target_relative: Relative error ``γ`` wanted: ``|mean - true mean| <= γ · |true mean|`` at the
            confidence level, checked as ``half_width <= γ/(1+γ) · |mean|`` (Law's ``γ'``).
        confidence: Confidence level.
        bounds: The KPI's natural range (see :func:`bounded_interval`). When every value sits at one end of
            a finite range, the variance says nothing (it is 0); the estimate is then the smallest ``n``
            whose distribution-free interval reaches no further than the target from the bound:
            ``n* = ceil(ln(1 - confidence) / ln(1 - h / (high - low)))``.

    Returns:
        ``max(2, n*)``; a result ``<= n`` means the target is already met.

    Raises:
        ValueError: If not exactly one positive target is given, fewer than two non-NaN values remain, or
            a relative target meets a zero mean.
    """
    s = summarize(values, confidence)
    if s.n < 2:
        raise ValueError("need at least 2 replications to estimate the variance")
    h = _target(s.mean, target_half_width, target_relative)
    if h == 0.0:
        raise ValueError("relative precision is undefined for a KPI whose mean is 0")
    low, high = _bounds(bounds)
    if bounds is not None and bounded_interval(values, confidence, bounds)[2] == "at_bound":
        if h >= high - low:
            return 2
        return max(2, math.ceil(round(math.log(1.0 - confidence) / math.log(1.0 - h / (high - low)), 9)))
    return _law_replications(s.std, h, confidence)


def precision_reached(values: npt.ArrayLike, target_half_width: float | None = None,
                      target_relative: float | None = None, confidence: float = 0.95,
                      bounds: Bounds | None = None) -> bool:
    """Stopping rule of a sequential procedure: does the current CI half-width meet the target?

    Args:
        values, target_half_width, target_relative, confidence, bounds: As in :func:`required_replications`,
            with ``values`` the replications so far.

    A relative target ``γ`` is met when ``half_width <= γ/(1+γ) · |mean|``, which makes the estimate's error
    at most ``γ`` of the true mean (Law 2015, §9.4.1). Applied after every round of a sequential run, the rule
    is only trustworthy from a pilot of about 10 replications (the experiment runner requires it): from two
    or three, a pair that happens to agree stops the run with a variance estimate far too small.

    Returns:
        ``half_width <= target``; False with fewer than two values or with a relative target and mean 0. With
        ``bounds``, the interval's reach from the mean counts too: when every replication sits at a bound
        (OTIF 100% in all of them) the t half-width is 0, but the distribution-free interval says how far
        the true mean may be, and the rule waits until that is within the target.

    Raises:
        ValueError: If not exactly one positive target is given or there are no non-NaN values.
    """
    s = summarize(values, confidence)
    h = _target(s.mean, target_half_width, target_relative)
    if s.n < 2 or h <= 0:
        return False
    reach = s.half_width
    if bounds is not None:
        low, high, _ = bounded_interval(values, confidence, bounds)
        reach = max(reach, s.mean - low, high - s.mean)
    return reach <= h


def mser(series: npt.ArrayLike, batch_size: int = 5) -> int:
    """Warm-up truncation point by MSER (MSER-5 with the default batch size).

    Rule (White 1997; White, Cobb & Spratt 2000; Franklin & White 2008): average the series in
    non-overlapping batches of ``batch_size`` into ``Z_1..Z_k`` (a trailing partial batch is dropped) and
    return the ``d`` minimising ``MSER(d) = sum_{j>d} (Z_j - mean(Z_{d+1..k}))^2 / (k - d)^2``, the squared
    standard error of the truncated mean up to a constant: deleting biased early data lowers it, deleting
    too much raises it. Only ``d <= k // 2`` is searched (a later minimum means the run is too short to
    trust); ties go to the earliest ``d``.

    Args:
        series: One replication's (or an averaged) output series in time order; finite values only.
        batch_size: Batch length; 5 is the standard MSER-5, 1 gives plain MSER.

    Returns:
        The number of original observations to delete, ``d* · batch_size``.

    Raises:
        ValueError: If ``batch_size < 1``, the series is not finite, or gives fewer than 2 batches.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    y = _as_1d(series, "series")
    if not np.isfinite(y).all():
        raise ValueError("series contains NaN or infinite values")
    if (k := y.size // batch_size) < 2:
        raise ValueError(f"series of length {y.size} gives {k} batch(es) of {batch_size}; need at least 2")
    z = y[: k * batch_size].reshape(k, batch_size).mean(axis=1)
    z = z - z.mean()  # centring avoids cancellation in the sum-of-squares identity below
    # Tail sums give every truncation's statistic at once: O(k) instead of O(k^2).
    s1, s2 = (np.cumsum(v[::-1])[::-1] for v in (z, z * z))
    m = np.arange(k, 0, -1, dtype=np.float64)  # batches kept for d = 0..k-1
    d_max = min(k // 2, k - 2)  # keep >= 2 batches, otherwise the statistic is trivially 0
    stat = np.maximum(s2 - s1 * s1 / m, 0.0)[: d_max + 1] / m[: d_max + 1] ** 2
    # Relative tolerance so rounding noise on an exactly flat series does not move d away from 0.
    return int(np.flatnonzero(stat <= stat.min() + 1e-12 * stat.max())[0]) * batch_size


def mser_many(matrix: npt.ArrayLike, batch_size: int = 5) -> int:
    """Common warm-up for replication/deletion: :func:`mser` of the across-replication mean series.

    Args:
        matrix: Array of shape (replications, time); finite values only.
        batch_size: Batch length passed to :func:`mser`.

    Returns:
        The number of initial time points to delete from every replication.

    Raises:
        ValueError: If ``matrix`` is not 2-D with at least one row, or as :func:`mser`.
    """
    arr = np.asarray(matrix, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"matrix must have shape (replications, time) with >= 1 row, got {arr.shape}")
    return mser(arr.mean(axis=0), batch_size)
