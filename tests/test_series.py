"""Daily series bands: across-replication quantiles of each day, as numpy's linear method gives them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsop.series import BAND_COLUMNS, bands


def test_bands_of_a_small_matrix_are_the_linear_quantiles_and_skip_missing_days() -> None:
    m = np.array([[1.0, 1.0, np.nan], [2.0, np.nan, np.nan], [3.0, 3.0, np.nan]])
    b = bands(m)
    assert list(b) == list(BAND_COLUMNS)
    # Column 0: 1, 2, 3 -> P5 = 1.1, P25 = 1.5, P50 = 2, P75 = 2.5, P95 = 2.9 (linear interpolation).
    assert [b[c][0] for c in BAND_COLUMNS] == pytest.approx([1.1, 1.5, 2.0, 2.5, 2.9, 2.0])
    # Column 1: the missing replication is skipped: 1, 3.
    assert [b[c][1] for c in BAND_COLUMNS] == pytest.approx([1.1, 1.5, 2.0, 2.5, 2.9, 2.0])
    # Column 2: nothing known that day.
    assert all(np.isnan(b[c][2]) for c in BAND_COLUMNS)


@settings(max_examples=60, deadline=None)
@given(reps=st.integers(1, 40), days=st.integers(1, 30), seed=st.integers(0, 2**32 - 1),
       nan_share=st.sampled_from([0.0, 0.05, 0.5, 1.0]), nan_days=st.integers(0, 5))
def test_bands_equal_numpys_nan_quantiles_bit_for_bit(reps: int, days: int, seed: int, nan_share: float,
                                                        nan_days: int) -> None:
    rng = np.random.default_rng(seed)
    m = rng.gamma(2.0, 50.0, size=(reps, days))
    m[rng.random(m.shape) < nan_share] = np.nan
    m[:, :nan_days] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        q = np.nanpercentile(m, [5, 25, 50, 75, 95], axis=0)
        mean = np.nanmean(m, axis=0)
    b = bands(m)
    got = np.vstack([b[c] for c in BAND_COLUMNS[:-1]])
    assert np.array_equal(got, q, equal_nan=True)
    assert np.array_equal(b["mean"], mean, equal_nan=True)


def test_bands_refuse_a_matrix_without_replications() -> None:
    with pytest.raises(ValueError, match="replications, days"):
        bands(np.empty((0, 5)))
