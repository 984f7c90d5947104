"""Output analysis (pure functions, no random state) for a stochastic simulator run as i.i.d. replications.

* Confidence intervals are Student-t: ``mean ± t_{1-α/2, n-1} · s / sqrt(n)``, ``s`` with ddof=1. They assume
  i.i.d. replications (independent seeds), not autocorrelated observations inside one run.
* Percentiles use numpy's default ``method="linear"`` (Hyndman & Fan type 7), so ``p50`` is the median.
* NaNs are dropped and counted in ``n_nan``; ``n`` counts the values used. Infinities are kept so a model bug
  stays visible. One value gives NaN ``std``/CI (not an error: a one-replication smoke run still reports);
  zero values raise ValueError.

References: Law (2015), *Simulation Modeling and Analysis*, 5th ed., ch. 9-10; White (1997), *Simulation*
69(6):323-334; Franklin & White (2008), "Stationarity tests and MSER-5", *Proc. Winter Simulation Conf.*
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats as sps

__all__ = ["KpiSummary", "PairedDifference", "mser", "mser_many", "paired_difference", "paired_table",
           "precision_reached", "required_replications", "summarize", "summarize_frame"]

FloatArray = npt.NDArray[np.float64]

_SUMMARY_COLUMNS = ["n", "mean", "std", "ci_low", "ci_high", "half_width", "p5", "p50", "p95", "n_nan", "min",
                    "max"]
_PAIRED_FIELDS = ["mean_diff", "std_diff", "ci_low", "ci_high", "half_width", "p_value", "significant",
                  "variance_reduction"]


@dataclass(frozen=True)
class KpiSummary:
    """Across-replication summary of one KPI.

    Attributes:
        n: Number of non-NaN values used. n_nan: number of NaNs dropped.
        mean: Sample mean. std: sample standard deviation (ddof=1), NaN when ``n == 1``.
        ci_low, ci_high, half_width: Student-t confidence interval for the mean, NaN when ``n == 1``.
        p5, p50, p95: Percentiles (numpy linear interpolation). min, max: extreme values.
        confidence: Confidence level of the interval, e.g. 0.95.
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

    def as_dict(self) -> dict[str, float | int]:
        """Return the fields as a plain dict (e.g. a DataFrame row or JSON)."""
        return asdict(self)


@dataclass(frozen=True)
class PairedDifference:
    """Paired comparison ``a - b`` of two policies run with common random numbers.

    Attributes:
        n: Pairs used. n_nan: pairs dropped because either side is NaN.
        mean_a, mean_b: Means of ``a`` and ``b`` over the used pairs.
        mean_diff, std_diff: Mean and standard deviation (ddof=1) of ``a - b``.
        ci_low, ci_high, half_width: Student-t confidence interval of ``mean_diff``. confidence: its level.
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

    def as_dict(self) -> dict[str, float | int | bool]:
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
    return float(sps.t.ppf(0.5 + confidence / 2.0, n - 1) * std / math.sqrt(n)) if n > 1 else math.nan


def summarize(values: npt.ArrayLike, confidence: float = 0.95) -> KpiSummary:
    """Summarize one KPI across independent replications.

    Args:
        values: One value per replication (1-D). NaNs are dropped and counted in ``n_nan``.
        confidence: Confidence level of the Student-t interval for the mean.

    Returns:
        The summary; with a single non-NaN value ``std`` and the CI fields are NaN.

    Raises:
        ValueError: If no non-NaN value is left, the input is not 1-D, or ``confidence`` is not in (0, 1).
    """
    arr = _as_1d(values)
    x = arr[~(nan_mask := np.isnan(arr))]
    if (n := int(x.size)) == 0:
        raise ValueError(f"cannot summarize zero values ({int(nan_mask.sum())} NaN dropped)")
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else math.nan
    hw = _t_half_width(std, n, confidence)
    p5, p50, p95 = (float(q) for q in np.percentile(x, [5.0, 50.0, 95.0]))
    return KpiSummary(n=n, n_nan=int(nan_mask.sum()), mean=mean, std=std, ci_low=mean - hw, ci_high=mean + hw,
                      half_width=hw, p5=p5, p50=p50, p95=p95, min=float(x.min()), max=float(x.max()),
                      confidence=confidence)


def _group_items(df: pd.DataFrame, by: Sequence[str]) -> list[tuple[tuple[object, ...], pd.DataFrame]]:
    if not by:
        return [((), df)]
    # dropna=False: a NaN group key (e.g. an unset scenario tag) must still be reported, not silently lost.
    return [(tuple(k), g) for k, g in df.groupby(list(by), sort=True, dropna=False)]


def summarize_frame(df: pd.DataFrame, by: Sequence[str], kpis: Sequence[str] | None = None,
                    confidence: float = 0.95,
                    exclude: Sequence[str] = ("replication", "seed")) -> pd.DataFrame:
    """Tidy summary table, one row per group × KPI.

    Args:
        df: One row per replication (within each group), one column per KPI.
        by: Grouping columns (e.g. ``["scenario", "policy"]``); may be empty.
        kpis: KPI columns; ``None`` selects every numeric column not in ``by`` or ``exclude``.
        confidence: Confidence level of the intervals.
        exclude: Identifier columns never auto-selected as KPIs when ``kpis`` is None.

    Returns:
        Columns ``*by, kpi, n, mean, std, ci_low, ci_high, half_width, p5, p50, p95, n_nan, min, max``; an
        all-NaN KPI gives ``n == 0`` and NaN statistics rather than aborting the whole report.

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
                row.update({**dict.fromkeys(_SUMMARY_COLUMNS, math.nan), "n": 0, "n_nan": int(values.size)})
            else:
                row.update(summarize(values, confidence).as_dict())
            rows.append(row)
    return pd.DataFrame(rows, columns=[*by, "kpi", *_SUMMARY_COLUMNS])


def paired_difference(a: npt.ArrayLike, b: npt.ArrayLike, confidence: float = 0.95) -> PairedDifference:
    """Compare two policies replication by replication with common random numbers (CRN).

    Args:
        a: KPI values of the candidate policy, one per replication.
        b: KPI values of the reference policy; ``b[i]`` must share random numbers (seed) with ``a[i]``, which
            makes the differences i.i.d. (a one-sample t interval is valid) and, if correlated, less variable.
        confidence: Confidence level of the interval on ``mean(a - b)``.

    Returns:
        The comparison; with a single pair the spread-based fields are NaN and ``significant`` is False.

    Raises:
        ValueError: If lengths differ, no complete pair remains, or ``confidence`` is not in (0, 1).
    """
    xa, xb = _as_1d(a, "a"), _as_1d(b, "b")
    if xa.shape != xb.shape:
        raise ValueError(f"a and b must have the same length, got {xa.size} and {xb.size}")
    keep = ~(np.isnan(xa) | np.isnan(xb))
    xa, xb = xa[keep], xb[keep]
    if (n := int(xa.size)) == 0:
        raise ValueError("no complete (non-NaN) pairs to compare")
    mean_diff = float((d := xa - xb).mean())
    std_diff = reduction = p_value = math.nan
    if n > 1:
        std_diff = float(d.std(ddof=1))
        var_sum = float(xa.var(ddof=1) + xb.var(ddof=1))
        reduction = std_diff**2 / var_sum if var_sum > 0 else math.nan
        if std_diff > 0:
            p_value = float(2.0 * sps.t.sf(abs(mean_diff) / (std_diff / math.sqrt(n)), n - 1))
        elif mean_diff != 0:
            p_value = 0.0  # constant non-zero differences: certainty, as scipy.stats.ttest_rel reports
    hw = _t_half_width(std_diff, n, confidence)
    ci_low, ci_high = mean_diff - hw, mean_diff + hw
    return PairedDifference(n=n, n_nan=int((~keep).sum()), mean_a=float(xa.mean()), mean_b=float(xb.mean()),
                            mean_diff=mean_diff, std_diff=std_diff, ci_low=ci_low, ci_high=ci_high,
                            half_width=hw, p_value=p_value, significant=bool(ci_low > 0 or ci_high < 0),
                            variance_reduction=reduction, confidence=confidence)


def paired_table(df: pd.DataFrame, policy_col: str, baseline: object, kpis: Sequence[str],
                 replication_col: str = "replication", by: Sequence[str] | None = None,
                 confidence: float = 0.95) -> pd.DataFrame:
    """Paired differences ``policy - baseline`` of every policy, matched by replication id.

    Args:
        df: One row per (group, policy, replication) with KPI columns.
        policy_col: Column naming the policy.
        baseline: Value of ``policy_col`` every other policy is compared against.
        kpis: KPI columns to compare.
        replication_col: Column holding the replication id (same id = same random numbers).
        by: Optional grouping columns (e.g. ``["scenario"]``); comparisons are made within a group.
        confidence: Confidence level of the intervals.

    Returns:
        Columns ``*by, policy_col, kpi, n, mean_policy, mean_baseline, mean_diff, std_diff, ci_low, ci_high,
        half_width, p_value, significant, variance_reduction``; policies keep their order of appearance.

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
                res = paired_difference(_floats(frame[kpi]), _floats(base.loc[frame.index, kpi]), confidence)
                row: dict[str, object] = {**dict(zip(by, key, strict=True)), policy_col: policy, "kpi": kpi,
                                          "n": res.n, "mean_policy": res.mean_a, "mean_baseline": res.mean_b}
                row.update({f: getattr(res, f) for f in _PAIRED_FIELDS})
                rows.append(row)
    columns = [*by, policy_col, "kpi", "n", "mean_policy", "mean_baseline", *_PAIRED_FIELDS]
    return pd.DataFrame(rows, columns=columns)


def _target(mean: float, target_half_width: float | None, target_relative: float | None) -> float:
    if (target_half_width is None) == (target_relative is None):
        raise ValueError("give exactly one of target_half_width and target_relative")
    target = target_half_width if target_half_width is not None else target_relative
    if not (target is not None and target > 0):
        raise ValueError(f"precision target must be > 0, got {target!r}")
    return float(target) if target_half_width is not None else float(target) * abs(mean)


def required_replications(values: npt.ArrayLike, target_half_width: float | None = None,
                          target_relative: float | None = None, confidence: float = 0.95) -> int:
    """Estimate the total number of replications needed for a target CI half-width.

    Classic ``n* = ceil((t_{1-α/2, n-1} · s / h)^2)`` (Law 2015, §9.4.1) from the pilot's ``n`` and ``s``;
    ``h = target_relative · |mean|`` for a relative target (plain ratio, no γ/(1+γ) correction).

    Args:
        values: Pilot KPI values, one per replication (NaNs dropped).
        target_half_width: Absolute half-width target. Give exactly one of the two targets.
        target_relative: Target for ``half_width / |mean|``.
        confidence: Confidence level.

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
    t_q = float(sps.t.ppf(0.5 + confidence / 2.0, s.n - 1))
    # Round before ceil so an exact ratio computed as e.g. 16.000000000000004 does not become 17.
    return max(2, math.ceil(round((t_q * s.std / h) ** 2, 9)))


def precision_reached(values: npt.ArrayLike, target_half_width: float | None = None,
                      target_relative: float | None = None, confidence: float = 0.95) -> bool:
    """Stopping rule of a sequential procedure: does the current CI half-width meet the target?

    Args:
        values, target_half_width, target_relative, confidence: As in :func:`required_replications`, with
            ``values`` the replications so far.

    Returns:
        ``half_width <= target``; False with fewer than two values or with a relative target and mean 0.

    Raises:
        ValueError: If not exactly one positive target is given or there are no non-NaN values.
    """
    s = summarize(values, confidence)
    h = _target(s.mean, target_half_width, target_relative)
    return s.n >= 2 and h > 0 and s.half_width <= h


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
