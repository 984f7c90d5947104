"""The daily chart's 7-day lines have bands: the quantiles across replications of each replication's own 7-day
average (simsop.series.trailing_mean, ``rolling7:<series>`` rows of series.csv).

A quantile of averages is not the average of quantiles, so the bands must be computed where each replication's
daily values still exist (the experiment's workers), not from series.csv's daily quantiles afterwards.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simsop.experiment import run_experiment
from simsop.replication import run_replication
from simsop.report import charts
from simsop.report.build import build
from simsop.report.data import load_results
from simsop.series import BASE_SERIES, daily_series, rolling_name, trailing_mean
from tests.test_experiment import small

REPLICATIONS, SEED = 8, 2


def _artist(fig, gid: str):  # type: ignore[no-untyped-def]
    found = [a for ax in fig.axes for a in (*ax.collections, *ax.lines) if a.get_gid() == gid]
    assert len(found) == 1, (gid, len(found))
    return found[0]


def _band_limits(coll, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    v = coll.get_paths()[0].vertices
    return (np.array([v[v[:, 0] == d, 1].min() for d in days]), np.array([v[v[:, 0] == d, 1].max() for d in days]))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("weekly") / "run"
    run_experiment(small(), ["none"], REPLICATIONS, seed=SEED, executor="serial", out=out)
    return out


def test_trailing_mean_is_the_average_of_each_day_and_the_six_before_it() -> None:
    x = np.array([[7.0, 0.0, 14.0, np.nan, 7.0, 0.0, 0.0, 0.0, 0.0, 0.0], [np.nan] * 10])
    got = trailing_mean(x)
    want = pd.Series(x[0]).rolling(7, min_periods=1).mean().to_numpy()
    np.testing.assert_allclose(got[0], want, rtol=1e-15)
    assert got[0][:3].tolist() == [7.0, 3.5, 7.0] and got[0][-1] == 7.0 / 6  # a NaN day is skipped
    assert np.isnan(got[1]).all()
    assert charts.rolling_series("demand") == rolling_name("demand") == "rolling7:demand"


def test_weekly_bands_are_the_quantiles_of_each_replications_own_7_day_average(run: Path) -> None:
    """The production, orders and demand lines are 7-day averages; their 5-95% and 25-75% bands must be the
    quantiles (numpy's linear rule, as every band) of the 8 replications' own trailing 7-day averages, recomputed
    here from each replication's records with pandas, and the line their mean. The old chart drew no band."""
    b = build(load_results(run), keep_figures=True)
    fig = b.figures["series"]
    sc = small()
    per_rep = []
    for r in range(REPLICATIONS):
        rec = run_replication(sc, seed=SEED, replication=r, keep_records=True, policy="none").records
        assert rec is not None
        s = daily_series(rec)
        per_rep.append({k: pd.Series(v).rolling(7, min_periods=1).mean().to_numpy() for k, v in s.items()
                        if k in BASE_SERIES or k.startswith("orders_")})
    days = np.arange(sc.horizon, dtype=float)
    checked = 0
    for name, gid in (("production", "production:none"), ("orders_Central", "orders_Central:none"),
                      ("orders_East", "orders_East:none"), ("demand", "demand")):
        weekly = np.vstack([r[name] for r in per_rep])
        for lo_q, hi_q in (("p5", "p95"), ("p25", "p75")):
            lo, hi = _band_limits(_artist(fig, f"band:{gid}:{lo_q}-{hi_q}"), days)
            np.testing.assert_allclose(lo, np.percentile(weekly, int(lo_q[1:]), axis=0), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(hi, np.percentile(weekly, int(hi_q[1:]), axis=0), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(_artist(fig, f"mean7:{gid}").get_ydata(), weekly.mean(axis=0), rtol=1e-12)
        # Not the 7-day average of the daily P5 (what a band drawn from series.csv's daily rows would be).
        p5, _ = _band_limits(_artist(fig, f"band:{gid}:p5-p95"), days)
        assert np.abs(p5 - pd.Series(_daily_p5(run, name)).rolling(7, min_periods=1).mean().to_numpy()).max() > 1e-6
        checked += 1
    assert checked == 4
    caption = next(c.caption for c in b.charts if c.key == "series")
    assert "each replication's 7-day average" in caption


def _daily_p5(run: Path, name: str) -> np.ndarray:
    """The daily P5 of series ``name`` in series.csv."""
    s = pd.read_csv(run / "series.csv")
    return s[(s["series"] == name) & (s["policy"] == "none")].sort_values("day")["p5"].to_numpy(dtype=float)


def test_results_without_the_7_day_rows_keep_the_line_and_draw_no_band(run: Path) -> None:
    """series.csv of an older simsop has no rolling7 rows: the 7-day line is the average of the daily mean, and
    no band is drawn (one cannot be had from daily quantiles)."""
    data = load_results(run)
    assert data.series is not None
    data.series = data.series[~data.series["series"].astype(str).str.startswith("rolling7:")]
    fig = charts.time_series(data.series, {"none": "#1f77b4"}, ["none"], data.cases[0])
    gids = {a.get_gid() for ax in fig.axes for a in (*ax.collections, *ax.lines)}
    assert "mean7:production:none" in gids and not [g for g in gids if str(g).startswith("band:production")]
    d = data.series[data.series["series"] == "production"].sort_values("day")
    np.testing.assert_allclose(_artist(fig, "mean7:production:none").get_ydata(),
                               d["mean"].rolling(7, min_periods=1).mean().to_numpy())
