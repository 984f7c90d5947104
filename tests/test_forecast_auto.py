"""The demand review's automatic method selection audited as a demand planner would: its hold-out on short
histories. Each test states what theory or practice says."""

from __future__ import annotations

import numpy as np
import pytest

from simsop.planning.forecast import auto

# ------------------------------------------------------------------------------------------- auto's hold-out


def test_auto_on_weekly_buckets_scores_candidates_on_a_short_history() -> None:
    # Weekly buckets (m = 52) with the cycle's default 36 buckets of history: there is not a season to hold
    # out, but there are 36 points of a clean trend. A hold-out of a season left nothing to train on, so
    # every cycle got the naive forecast (flat at 170) and Holt was never even scored.
    t = np.arange(36.0)
    fc = auto(100.0 + 2.0 * t, 4, m=52)
    assert fc.params["holdout"] >= 1 and fc.params["scores"]
    assert fc.params["selected"] in {"holt", "damped_holt"}
    assert fc.values[0] == pytest.approx(172.0, abs=0.5)  # the line's next point, 100 + 2 * 36
    assert fc.values[-1] > fc.values[0]
    # With two seasons a season is still held out, and without seasonality min(6, n // 4) buckets.
    y = 100 + np.random.default_rng(7).normal(0, 5, 36)
    assert auto(y, 3, m=12).params["holdout"] == 12
    assert auto(y, 3).params["holdout"] == 6


def test_auto_keeps_seasonal_naive_in_the_race_with_less_than_two_seasons() -> None:
    # 20 months of an exactly repeating yearly pattern: seasonal naive is exact once a season is known.
    # Holding out 12 left 8 months, too few for any seasonal method, so the pattern was forecast flat.
    pattern = np.array([50.0, 60, 80, 120, 160, 200, 210, 180, 130, 90, 70, 55])
    y = np.tile(pattern, 2)[:20]
    fc = auto(y, 6, m=12)
    assert fc.params["selected"] == "seasonal_naive"
    assert fc.params["scores"]["seasonal_naive"] == pytest.approx(0.0, abs=1e-9)
    assert fc.values == pytest.approx(pattern[[8, 9, 10, 11, 0, 1]])
