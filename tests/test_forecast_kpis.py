"""The forecast KPIs of the S&OP process (simsop.planning.kpis) audited as a demand planner would: the tracking
signal. Each test states what theory or practice says; tolerances come from sampling error."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from simsop.planning.kpis import TRACKING_WINDOW, forecast_kpis

# ---------------------------------------------------------------------------------------- tracking signal


class _Table(dict):
    """A record table as forecast_kpis reads it: columns by name, len = rows."""

    def __len__(self) -> int:
        return len(next(iter(self.values()))) if dict.__len__(self) else 0


def _records(actual: np.ndarray, consensus: np.ndarray, lag: int = 1) -> Any:
    """One product, one forecast per bucket at ``lag``; buckets are 30 days, no warm-up."""
    n = len(actual)
    b = np.arange(n)
    fcs = _Table(cycle=b - lag, product=np.zeros(n, int), bucket=b, lag=np.full(n, lag), naive=actual * 0 + 100.0,
                 statistical=consensus, sales=consensus, consensus=consensus)
    sales = _Table(bucket=b, product=np.zeros(n, int), units=actual)
    plan = _Table(bucket=b, bucket_start=30 * b)
    return SimpleNamespace(forecasts=fcs, bucket_sales=sales, plan=plan, meta=SimpleNamespace(warmup=0))


def test_tracking_signal_of_a_persistent_bias_is_bounded_by_the_window() -> None:
    # Every error +5 for 30 buckets: sum(E) / MAD counts the buckets, 30 when summed over the whole run.
    # A planner's monitor looks at a rolling window; every error on one side of it is its bound, +/-12.
    actual = np.full(30, 100.0)
    assert forecast_kpis(_records(actual, actual + 5))["tracking_signal_lag1"] == pytest.approx(TRACKING_WINDOW)
    assert forecast_kpis(_records(actual, actual - 5))["tracking_signal_lag1"] == pytest.approx(-TRACKING_WINDOW)
    # A run shorter than the window uses all its buckets.
    assert forecast_kpis(_records(actual[:5], actual[:5] + 5))["tracking_signal_lag1"] == pytest.approx(5.0)


def test_tracking_signal_of_an_unbiased_forecast_does_not_grow_with_the_run() -> None:
    # Unbiased independent normal errors: sum(E) / mean|E| over n buckets has a standard deviation of about
    # sqrt(n) / E|Z| = 1.25 sqrt(n) (exactly 4.29 for n = 12 by simulation). Summed over a 60-bucket run it was
    # about 9.7, so the ±6 rule of thumb flagged most unbiased forecasts. Over the window it is the 12-bucket
    # figure whatever the run's length. 400 runs: the sample SD's standard error is about 4.3 / sqrt(800) =
    # 0.15; the tolerance is 4 of them.
    rng = np.random.default_rng(np.random.SeedSequence(2024))
    ts = []
    for _ in range(400):
        actual = np.full(60, 1000.0)
        ts.append(forecast_kpis(_records(actual, actual + rng.normal(0, 50, 60)))["tracking_signal_lag1"])
    sd = float(np.std(ts, ddof=1))
    assert abs(float(np.mean(ts))) < 4 * 4.3 / np.sqrt(400)
    assert sd == pytest.approx(4.3, abs=0.6)
