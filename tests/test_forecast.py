"""Tests for simsop.planning.forecast: tests state what theory says.

Published worked examples are reproduced to the precision they are printed with (the books round
intermediate results, so a printed integer is matched by rounding ours).  Where no published
example was available the expected numbers are derived by hand in a comment, so the test can fail.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsop.planning.forecast import (
    METHODS,
    Forecast,
    auto,
    bias,
    croston,
    damped_holt,
    forecast,
    forecast_value_added,
    holt,
    holt_winters_additive,
    holt_winters_multiplicative,
    mae,
    mape,
    moving_average,
    naive,
    relative_bias,
    rmse,
    sba,
    seasonal_naive,
    ses,
    tracking_signal,
    wmape,
)

# Chopra & Meindl, Supply Chain Management: Strategy, Planning, and Operation, ch. 7 "Demand
# Forecasting in a Supply Chain", Table 7-1: quarterly demand at Tahoe Salt (period 1 = Q2 yr 1).
TAHOE = np.array([8000, 13000, 23000, 34000, 10000, 18000, 23000, 38000, 12000, 13000, 32000, 41000.0])

# Nahmias, Production and Operations Analysis, ch. 2 "Forecasting", moving-average and
# exponential-smoothing examples: quarterly failures of aircraft engines at a military base.
ENGINES = np.array([200, 250, 175, 186, 225, 285, 305, 190.0])

# Per-test settings rather than a global profile, so other test modules keep their own settings.
FAST = settings(max_examples=40, deadline=None)

finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)
unit = st.floats(min_value=0.0, max_value=1.0)


# ----------------------------------------------------------------------------------------------
# Published worked examples
# ----------------------------------------------------------------------------------------------


def test_moving_average_nahmias_engine_failures() -> None:
    """Nahmias, Production and Operations Analysis, ch. 2, moving-average example (aircraft
    engine failures 200, 250, 175, 186, 225, 285, 305, 190).

    One-step forecasts rounded to whole engines: MA(3) for quarters 4..8 = 208, 204, 195, 232,
    272 (625/3, 611/3, 586/3, 696/3, 815/3); MA(6) for quarters 7 and 8 = 220, 238 (1321/6,
    1426/6).
    """
    ma3 = moving_average(ENGINES, 1, n=3)
    assert np.all(np.isnan(ma3.fitted[:3]))
    assert np.round(ma3.fitted[3:]).tolist() == [208, 204, 195, 232, 272]
    ma6 = moving_average(ENGINES, 1, n=6)
    assert np.round(ma6.fitted[6:]).tolist() == [220, 238]


def test_ses_nahmias_engine_failures() -> None:
    """Nahmias, Production and Operations Analysis, ch. 2, exponential-smoothing example: alpha =
    0.1 and a period-1 forecast of 200 (= the first observation, i.e. ``init="first"``).

    Printed one-step forecasts for quarters 1..8, rounded to whole engines:
    200, 200, 205, 202, 200, 203, 211, 220.
    """
    fc = ses(ENGINES, 1, alpha=0.1, init="first")
    assert np.round(fc.fitted).tolist() == [200, 200, 205, 202, 200, 203, 211, 220]


def test_moving_average_chopra_milk_and_tahoe() -> None:
    """Chopra & Meindl, ch. 7, moving-average example (weekly milk demand 120, 127, 114, 122;
    four-week moving average): L4 = 120.75 = F5; with D5 = 125, E5 = F5 - D5 = -4.25 and
    L5 = 122.  Tahoe Salt four-period moving average (§ "Selecting the best method"): F13 = L12 =
    24,500.
    """
    milk = np.array([120, 127, 114, 122.0])
    assert moving_average(milk, 1, n=4).values[0] == pytest.approx(120.75)
    fc = moving_average(np.append(milk, 125.0), 1, n=4)
    assert fc.fitted[4] - 125.0 == pytest.approx(-4.25)
    assert fc.values[0] == pytest.approx(122.0)
    assert moving_average(TAHOE, 1, n=4).values[0] == pytest.approx(24500.0)


def test_ses_chopra_milk_and_tahoe() -> None:
    """Chopra & Meindl, ch. 7, simple exponential smoothing with alpha = 0.1 and L0 = mean of the
    history.

    Milk example: L0 = 120.75 = F1, E1 = F1 - D1 = 0.75, L1 = 120.68.
    Tahoe Salt: L0 = 22,083 = F1, E1 = 14,083, L1 = 20,675 = F2, and F13 = L12 = 23,490.
    """
    milk = ses(np.array([120, 127, 114, 122.0]), 1, alpha=0.1, init="mean")
    assert milk.fitted[0] == pytest.approx(120.75)
    assert milk.fitted[0] - 120.0 == pytest.approx(0.75)
    assert round(milk.fitted[1], 2) == 120.68

    tahoe = ses(TAHOE, 1, alpha=0.1, init="mean")
    assert round(tahoe.fitted[0]) == 22083
    assert round(tahoe.fitted[0] - TAHOE[0]) == 14083
    assert round(tahoe.fitted[1]) == 20675
    assert round(tahoe.values[0]) == 23490
    # init_k restricts the mean to the first k buckets.
    assert ses(TAHOE, 1, alpha=0.1, init="mean", init_k=4).params["initial_level"] == 19500.0


def test_holt_chopra_mp3_player() -> None:
    """Chopra & Meindl, ch. 7, Holt's model example (MP3-player demand 8,415, 8,732, 9,014, 9,808,
    10,413, 11,961; alpha = 0.1, beta = 0.2; L0, T0 from a regression of demand on time).

    Printed: L0 = 7,367, T0 = 673, F1 = 8,040, E1 = F1 - D1 = -375, L1 = 8,078, T1 = 681,
    F2 = 8,759.
    """
    demand = np.array([8415, 8732, 9014, 9808, 10413, 11961.0])
    fc = holt(demand, 1, alpha=0.1, beta=0.2, init="regression")
    l0, t0 = fc.params["initial_level"], fc.params["initial_trend"]
    assert (round(l0), round(t0)) == (7367, 673)
    assert round(fc.fitted[0]) == 8040
    assert round(fc.fitted[0] - demand[0]) == -375
    one = holt(demand[:1], 1, alpha=0.1, beta=0.2, initial_level=l0, initial_trend=t0)
    assert (round(one.params["level"]), round(one.params["trend"])) == (8078, 681)
    assert round(fc.fitted[1]) == 8759


def test_holt_chopra_tahoe_salt() -> None:
    """Chopra & Meindl, ch. 7, Holt's model for Tahoe Salt (alpha = 0.1, beta = 0.2, L0 and T0 by
    regression).

    Printed: L0 = 12,015, T0 = 1,549, F1 = 13,564, L1 = 13,008, T1 = 1,438; after period 12:
    L12 = 30,443, T12 = 1,541, F13 = L12 + T12 = 31,984.
    """
    fc = holt(TAHOE, 4, alpha=0.1, beta=0.2, init="regression")
    l0, t0 = fc.params["initial_level"], fc.params["initial_trend"]
    assert (round(l0), round(t0)) == (12015, 1549)
    assert round(fc.fitted[0]) == 13564
    one = holt(TAHOE[:1], 1, alpha=0.1, beta=0.2, initial_level=l0, initial_trend=t0)
    assert (round(one.params["level"]), round(one.params["trend"])) == (13008, 1438)
    assert (round(fc.params["level"]), round(fc.params["trend"])) == (30443, 1541)
    assert round(fc.values[0]) == 31984
    assert fc.values[3] == pytest.approx(fc.params["level"] + 4 * fc.params["trend"])


def test_holt_winters_static_decomposition_chopra_tahoe() -> None:
    """Chopra & Meindl, ch. 7, static method for Tahoe Salt: centred moving-average
    deseasonalisation of periods 3..10, regression L = 18,439, T = 524, seasonal factors averaged
    per quarter: 0.472, 0.683, 1.171, 1.664 in the chapter's spreadsheet (the text prints 0.47,
    0.68, 1.17, 1.67: its S4 averages the rounded ratios 1.66, 1.68, 1.66).  With all smoothing
    constants 0, Winter's model *is* the static forecast F_t = (L + T*t) * S_t; printed (with the
    rounded factors): F1..F4 = 8,913, 13,251, 23,413, 34,293 and F13..F16 = 11,868, 17,527,
    30,770, 44,794.
    """
    dec = holt_winters_multiplicative(TAHOE, 4, m=4, alpha=0, beta=0, gamma=0, init="decomposition")
    assert (round(dec.params["initial_level"]), round(dec.params["initial_trend"])) == (18439, 524)
    assert np.round(dec.params["initial_seasonals"], 3).tolist() == [0.472, 0.683, 1.171, 1.664]

    static = holt_winters_multiplicative(
        TAHOE,
        4,
        m=4,
        alpha=0,
        beta=0,
        gamma=0,
        initial_level=18439,
        initial_trend=524,
        initial_seasonals=[0.47, 0.68, 1.17, 1.67],
    )
    assert np.round(static.fitted[:4]).tolist() == [8913, 13251, 23413, 34293]
    assert np.round(static.values).tolist() == [11868, 17527, 30770, 44794]


def test_winters_model_chopra_tahoe() -> None:
    """Chopra & Meindl, ch. 7, Winter's model for Tahoe Salt: alpha = 0.05, beta = 0.1,
    gamma = 0.1, L0 = 18,439, T0 = 524, S1..S4 = 0.47, 0.68, 1.17, 1.67.

    Printed: F1 = (L0 + T0) S1 = 8,913; L1 = 18,866; T1 = 514; S5 = 0.47; F2 = (L1 + T1) S2 =
    13,178 (the book multiplies the rounded L1, T1, so we allow one unit); after period 12:
    L12 = 24,791, T12 = 532 and F13 = (L12 + T12) S13 = 11,902 with S13 rounded to 0.47.
    """
    init = {"initial_level": 18439, "initial_trend": 524, "initial_seasonals": [0.47, 0.68, 1.17, 1.67]}
    params: dict[str, Any] = {"m": 4, "alpha": 0.05, "beta": 0.1, "gamma": 0.1, **init}
    fc = holt_winters_multiplicative(TAHOE, 4, **params)
    assert round(fc.fitted[0]) == 8913
    one = holt_winters_multiplicative(TAHOE[:1], 1, **params)
    assert (round(one.params["level"]), round(one.params["trend"])) == (18866, 514)
    assert round(one.params["seasonals"][3], 2) == 0.47  # S5: seasonal index of bucket 5
    assert abs(fc.fitted[1] - 13178) <= 1
    level, trend, s13 = fc.params["level"], fc.params["trend"], fc.params["seasonals"][0]
    assert (round(level), round(trend)) == (24791, 532)
    assert round(s13, 2) == 0.47
    assert round((round(level) + round(trend)) * round(s13, 2)) == 11902
    assert fc.values[0] == pytest.approx((level + trend) * s13)


def test_holt_winters_additive_hand_computed() -> None:
    """No published additive example was at hand; Winters' additive recursions by hand.

    m = 2, y = 13, 18, 17, 25, alpha = beta = gamma = 0.5, l0 = 14, b0 = 1, s = (-3, 3):
      t1: F = 14+1-3 = 12;        l = .5(13+3) + .5(15) = 15.5;       b = .5(1.5)+.5(1) = 1.25
          s1 = .5(13-15.5) + .5(-3) = -2.75
      t2: F = 15.5+1.25+3 = 19.75; l = .5(18-3) + .5(16.75) = 15.875;  b = .5(.375)+.5(1.25) = .8125
          s2 = .5(18-15.875) + .5(3) = 2.5625
      t3: F = 15.875+.8125-2.75 = 13.9375; l = .5(17+2.75) + .5(16.6875) = 18.21875
          b = .5(2.34375)+.5(.8125) = 1.578125; s1 = .5(17-18.21875) + .5(-2.75) = -1.984375
      t4: F = 18.21875+1.578125+2.5625 = 22.359375; l = .5(25-2.5625) + .5(19.796875) = 21.1171875
          b = .5(2.8984375)+.5(1.578125) = 2.23828125; s2 = .5(25-21.1171875)+.5(2.5625) = 3.22265625
      h1: 21.1171875 + 2.23828125 - 1.984375 = 21.37109375
      h2: 21.1171875 + 2*2.23828125 + 3.22265625 = 28.81640625
    """
    fc = holt_winters_additive(
        [13, 18, 17, 25],
        2,
        m=2,
        alpha=0.5,
        beta=0.5,
        gamma=0.5,
        initial_level=14,
        initial_trend=1,
        initial_seasonals=[-3, 3],
    )
    assert fc.fitted.tolist() == pytest.approx([12, 19.75, 13.9375, 22.359375])
    assert fc.values.tolist() == pytest.approx([21.37109375, 28.81640625])
    assert fc.params["seasonals"] == pytest.approx([-1.984375, 3.22265625])


def test_damped_holt_hand_computed() -> None:
    """Gardner-McKenzie damped trend, by hand (y = 10, 13; l0 = 8, b0 = 2; alpha = beta = 0.5,
    phi = 0.9):
      t1: F = 8 + .9*2 = 9.8;      l = .5*10 + .5*9.8 = 9.9;      b = .5(1.9) + .5*.9*2 = 1.85
      t2: F = 9.9 + .9*1.85 = 11.565; l = .5*13 + .5*11.565 = 12.2825
          b = .5(2.3825) + .5*.9*1.85 = 2.02375
      h1: 12.2825 + .9*2.02375 = 14.103875;  h2: 12.2825 + (.9 + .81)*2.02375 = 15.7431125
    """
    fc = damped_holt([10, 13], 2, alpha=0.5, beta=0.5, phi=0.9, initial_level=8, initial_trend=2)
    assert fc.method == "damped_holt"
    assert fc.fitted.tolist() == pytest.approx([9.8, 11.565])
    assert fc.values.tolist() == pytest.approx([14.103875, 15.7431125])


def test_croston_and_sba_hand_computed() -> None:
    """Croston (1972) updates size z and interval p only in buckets with demand; Syntetos &
    Boylan (2005) multiply z/p by (1 - alpha/2).  By hand with alpha = 0.5 on
    y = 0, 0, 3, 0, 0, 0, 2, 0, 5:
      first demand (bucket 3, 3 buckets since start): z = 3, p = 3 -> forecast 1 for buckets 4..7
      bucket 7: demand 2 after 4 buckets: z = 3 + .5(2-3) = 2.5, p = 3 + .5(4-3) = 3.5
                -> 2.5/3.5 = 0.714285... for buckets 8 and 9
      bucket 9: demand 5 after 2 buckets: z = 2.5 + .5(5-2.5) = 3.75, p = 3.5 + .5(2-3.5) = 2.75
      Croston forecast = 3.75/2.75 = 1.363636...; SBA = .75 * 1.363636... = 1.0227272...
    """
    y = [0, 0, 3, 0, 0, 0, 2, 0, 5]
    fc = croston(y, 3, alpha=0.5)
    assert np.all(np.isnan(fc.fitted[:3]))
    assert fc.fitted[3:].tolist() == pytest.approx([1, 1, 1, 1, 2.5 / 3.5, 2.5 / 3.5])
    assert fc.values.tolist() == pytest.approx([3.75 / 2.75] * 3)
    assert (fc.params["size"], fc.params["interval"]) == pytest.approx((3.75, 2.75))
    corrected = sba(y, 1, alpha=0.5)
    assert corrected.method == "sba"
    assert corrected.values[0] == pytest.approx(0.75 * 3.75 / 2.75)
    assert corrected.fitted[3] == pytest.approx(0.75)


# ----------------------------------------------------------------------------------------------
# Properties that follow from the definitions
# ----------------------------------------------------------------------------------------------


@FAST
@given(st.lists(finite, min_size=1, max_size=30), st.integers(0, 6))
def test_ses_with_alpha_one_is_naive(values: list[float], h: int) -> None:
    """With alpha = 1 the level is the last observation, which is the naive forecast."""
    s, n = ses(values, h, alpha=1.0), naive(values, h)
    assert s.values == pytest.approx(n.values)
    assert s.fitted[1:] == pytest.approx(n.fitted[1:])


@FAST
@given(finite, st.integers(1, 20), st.integers(1, 12))
def test_moving_average_of_constant_is_constant(c: float, extra: int, n: int) -> None:
    fc = moving_average([c] * (n + extra), 5, n=n)
    assert fc.values == pytest.approx([c] * 5)
    assert fc.fitted[n:] == pytest.approx([c] * extra)


@FAST
@given(
    finite, st.floats(-100, 100), st.integers(2, 25), unit, unit, st.sampled_from(["simple", "regression"])
)
def test_holt_reproduces_an_exact_line(
    a: float, b: float, n: int, alpha: float, beta: float, init: str
) -> None:
    """On y_t = a + b t every one-step error is zero, so level and trend never move off the line."""
    t = np.arange(1, n + 1)
    fc = holt(a + b * t, 4, alpha=alpha, beta=beta, init=init)
    assert fc.fitted == pytest.approx(a + b * t, abs=1e-6)
    assert fc.values == pytest.approx(a + b * np.arange(n + 1, n + 5), abs=1e-6)


@FAST
@given(st.lists(finite, min_size=2, max_size=20), unit, unit)
def test_damped_holt_with_phi_one_is_holt(values: list[float], alpha: float, beta: float) -> None:
    d = damped_holt(values, 5, alpha=alpha, beta=beta, phi=1.0)
    h = holt(values, 5, alpha=alpha, beta=beta)
    assert d.values == pytest.approx(h.values)
    assert d.fitted == pytest.approx(h.fitted)


@FAST
@given(
    st.lists(st.floats(-50, 50), min_size=2, max_size=6),
    st.floats(100, 1000),
    st.floats(-5, 5),
    st.integers(2, 4),
    unit,
    unit,
    unit,
)
def test_additive_holt_winters_reproduces_trend_plus_season(
    pattern: list[float], level: float, slope: float, cycles: int, alpha: float, beta: float, gamma: float
) -> None:
    """An exact linear trend plus a zero-mean additive season is a fixed point of the recursions."""
    m = len(pattern)
    season = np.array(pattern) - np.mean(pattern)
    t = np.arange(1, cycles * m + 1)
    y = level + slope * t + season[(t - 1) % m]
    fc = holt_winters_additive(y, 2 * m, m=m, alpha=alpha, beta=beta, gamma=gamma)
    future = np.arange(cycles * m + 1, (cycles + 2) * m + 1)
    assert fc.fitted == pytest.approx(y, abs=1e-6)
    assert fc.values == pytest.approx(level + slope * future + season[(future - 1) % m], abs=1e-6)


@FAST
@given(st.lists(st.floats(1, 100), min_size=2, max_size=6), st.integers(2, 4), unit, unit, unit)
def test_multiplicative_holt_winters_reproduces_a_seasonal_pattern(
    pattern: list[float], cycles: int, alpha: float, beta: float, gamma: float
) -> None:
    y = np.tile(pattern, cycles)
    fc = holt_winters_multiplicative(y, len(pattern), m=len(pattern), alpha=alpha, beta=beta, gamma=gamma)
    assert fc.fitted == pytest.approx(y, rel=1e-9)
    assert fc.values == pytest.approx(pattern, rel=1e-9)


@FAST
@given(st.lists(st.floats(0.1, 1e4), min_size=1, max_size=30), st.floats(0.0, 1.0), st.integers(0, 5))
def test_croston_with_demand_every_bucket_is_ses(values: list[float], alpha: float, h: int) -> None:
    """Every interval is 1, so p stays 1 and z/p is SES of the demand started at y_1."""
    c, s = croston(values, h, alpha=alpha), ses(values, h, alpha=alpha, init="first")
    assert c.values == pytest.approx(s.values)
    assert c.fitted[1:] == pytest.approx(s.fitted[1:])


@FAST
@given(st.lists(finite, min_size=1, max_size=30))
def test_methods_do_not_modify_the_history(values: list[float]) -> None:
    y = np.array(values)
    before = y.copy()
    for fn in (naive, ses, lambda v, h: moving_average(v, h, n=1), croston if y.min() >= 0 else naive):
        fn(y, 3)
    assert np.array_equal(y, before)


def test_auto_picks_a_seasonal_method_on_noiseless_seasonal_data() -> None:
    y = np.tile([120.0, 80.0, 60.0, 140.0], 6)
    fc = auto(y, 8, m=4)
    assert fc.method == "auto"
    assert fc.params["selected"] in {"seasonal_naive", "holt_winters_additive", "holt_winters_multiplicative"}
    assert fc.params["scores"][fc.params["selected"]] == pytest.approx(0.0, abs=1e-6)
    assert fc.values == pytest.approx(np.tile([120.0, 80.0, 60.0, 140.0], 2), abs=1e-6)


def test_auto_picks_holt_winters_when_seasonal_data_also_trends() -> None:
    t = np.arange(1, 25)
    y = 200 + 3 * t + np.array([20.0, -10.0, -30.0, 20.0])[(t - 1) % 4]
    fc = auto(y, 4, m=4)
    assert fc.params["selected"].startswith("holt_winters")
    assert fc.params["scores"]["seasonal_naive"] > fc.params["scores"][fc.params["selected"]]


def test_auto_on_trending_data_prefers_a_trend_method_and_reports_scores() -> None:
    y = 50.0 + 4.0 * np.arange(20)
    fc = auto(y, 3, metric="mae")
    assert fc.params["selected"] in {"holt", "damped_holt"}
    assert fc.params["metric"] == "mae" and fc.params["holdout"] == 5
    assert set(fc.params["scores"]) >= {"naive", "ses", "holt"}
    assert fc.values == pytest.approx([130.0, 134.0, 138.0], abs=0.5)


def test_auto_degrades_gracefully_on_short_histories() -> None:
    # Not enough data for Holt-Winters in the training window: it is skipped, not crashed.
    fc = auto([10.0, 12, 11, 13, 12, 14], 4, m=4)
    assert "holt_winters_additive" in fc.params["skipped"]
    assert np.all(np.isfinite(fc.values))
    single = auto([7.0], 2)
    assert single.params["selected"] == "naive" and single.values.tolist() == [7.0, 7.0]
    # Intermittent data brings Croston/SBA into the race; all-zero hold-out switches to MAE.
    lumpy = auto([0, 0, 4, 0, 0, 3, 0, 0, 5, 0, 0, 0], 2)
    assert {"croston", "sba"} <= set(lumpy.params["scores"])
    assert lumpy.params["metric"] == "mae"


def test_auto_falls_back_to_the_runner_up_when_the_winner_cannot_be_refitted() -> None:
    # Multiplicative seasonality wins the hold-out (WMAPE 40/60 vs naive 100/60) but the final
    # zero makes it impossible on the full history, so the runner-up is used.
    y = np.tile([10.0, 20.0, 30.0, 40.0], 6)
    y[-1] = 0.0
    fc = auto(y, 4, m=4, candidates=["naive", "holt_winters_multiplicative"])
    assert fc.params["scores"]["holt_winters_multiplicative"] < fc.params["scores"]["naive"]
    assert fc.params["selected"] == "naive"
    assert "refit failed" in fc.params["skipped"]["holt_winters_multiplicative"]
    with pytest.raises(ValueError, match="unknown candidates"):
        auto(y, 4, m=4, candidates=["prophet"])


# ----------------------------------------------------------------------------------------------
# Fitting, registry and input validation
# ----------------------------------------------------------------------------------------------


def test_alpha_none_minimises_in_sample_sse() -> None:
    rng = np.random.default_rng(42)
    y = 100 + np.cumsum(rng.normal(0, 5, 60)) + rng.normal(0, 5, 60)
    fitted = ses(y, 1, alpha=None)

    def sse(alpha: float) -> float:
        return float(np.sum((y - ses(y, 1, alpha=alpha).fitted) ** 2))

    best_grid = min(sse(a) for a in np.linspace(0.01, 1.0, 100))
    assert sse(fitted.params["alpha"]) <= best_grid + 1e-6
    hw = holt_winters_additive(y, 3, m=12, alpha=None, beta=None, gamma=None)
    assert all(0.0 <= hw.params[k] <= 1.0 for k in ("alpha", "beta", "gamma"))
    dh = damped_holt(y, 3, alpha=None, beta=None, phi=None)
    assert 0.8 <= dh.params["phi"] <= 0.98


def test_registry_and_dispatch() -> None:
    assert set(METHODS) == {
        "naive",
        "seasonal_naive",
        "moving_average",
        "ses",
        "holt",
        "damped_holt",
        "holt_winters_additive",
        "holt_winters_multiplicative",
        "croston",
        "sba",
        "auto",
    }
    fc = forecast("seasonal_naive", [1.0, 2, 3, 4, 5, 6], 3, m=3)
    assert isinstance(fc, Forecast) and fc.values.tolist() == [4, 5, 6]
    assert np.isnan(fc.fitted[:3]).all() and fc.fitted[3:].tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="valid methods: auto, croston"):
        forecast("arima", [1.0, 2.0], 1)


def test_non_finite_forecasts_are_rejected() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        Forecast(np.array([np.nan]), np.array([1.0]), "broken")


def test_forecast_is_immutable() -> None:
    fc = naive([1.0, 2.0], 2)
    with pytest.raises(ValueError):
        fc.values[0] = 5.0
    with pytest.raises(AttributeError):
        fc.method = "other"  # type: ignore[misc]


@pytest.mark.parametrize("name", sorted(METHODS))
def test_empty_history_raises_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="at least"):
        METHODS[name]([], 3)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: holt_winters_additive(np.arange(1.0, 8.0), 2, m=4), "two full seasons"),
        (lambda: holt_winters_multiplicative(np.arange(1.0, 8.0), 2, m=4), "two full seasons"),
        (lambda: holt_winters_multiplicative([1.0, 0.0, 2.0, 3.0], 2, m=2), "strictly positive"),
        (lambda: seasonal_naive([1.0, 2.0], 1, m=3), "at least 3"),
        (lambda: moving_average([1.0, 2.0], 1, n=3), "at least 3"),
        (lambda: holt([5.0], 1), "at least 2"),
        (lambda: holt([5.0, 6.0], 1, initial_level=5.0), "both"),
        (lambda: ses([1.0, np.nan], 1), "NaN"),
        (lambda: ses([[1.0, 2.0]], 1), "1-D"),
        (lambda: ses([1.0, 2.0], 1, alpha=1.5), r"\[0, 1\]"),
        (lambda: ses([1.0, 2.0], -1), "horizon"),
        (lambda: croston([1.0, -1.0], 1), "non-negative"),
        (lambda: auto([1.0, 2.0], 1, metric="mse"), "metric"),
    ],
)
def test_invalid_inputs_raise_clear_errors(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_short_but_valid_histories_give_finite_forecasts() -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("naive", {}),
        ("ses", {}),
        ("ses", {"alpha": None}),
        ("croston", {}),
        ("holt", {"alpha": None, "beta": None}),
        ("moving_average", {"n": 1}),
    ]
    for name, kwargs in cases:
        fc = forecast(name, [5.0, 7.0], 3, **kwargs)
        assert np.all(np.isfinite(fc.values)), name
    zero = croston([0.0, 0.0, 0.0], 2)
    assert zero.values.tolist() == [0.0, 0.0]
    assert holt([3.0], 2, initial_level=2.0, initial_trend=1.0).values.tolist() == [4.0, 5.0]


# ----------------------------------------------------------------------------------------------
# Forecast-quality KPIs
# ----------------------------------------------------------------------------------------------

ACTUAL = [100.0, 0.0, 50.0, 150.0]
FCST = [110.0, 5.0, 40.0, 150.0]  # errors F - A = 10, 5, -10, 0


def test_kpis_hand_computed() -> None:
    assert mae(ACTUAL, FCST) == pytest.approx(25 / 4)  # (10 + 5 + 10 + 0) / 4
    assert rmse(ACTUAL, FCST) == pytest.approx(7.5)  # sqrt((100 + 25 + 100 + 0) / 4)
    assert mape(ACTUAL, FCST) == pytest.approx(10.0)  # zero actual skipped: (10% + 20% + 0%) / 3
    assert wmape(ACTUAL, FCST) == pytest.approx(100 * 25 / 300)
    assert bias(ACTUAL, FCST) == pytest.approx(5 / 4)  # (10 + 5 - 10 + 0) / 4
    assert relative_bias(ACTUAL, FCST) == pytest.approx(100 * 5 / 300)
    assert tracking_signal(ACTUAL, FCST) == pytest.approx(5 / 6.25)  # sum(E) / MAD
    # Naive baseline 90, 100, 0, 50 has |E| = 10, 100, 50, 100 -> WMAPE 260/300 = 86.67%.
    fva = forecast_value_added(ACTUAL, FCST, [90.0, 100.0, 0.0, 50.0])
    assert fva == pytest.approx(100 * 260 / 300 - 100 * 25 / 300)


def test_tracking_signal_detects_persistent_bias() -> None:
    actual = np.full(10, 100.0)
    assert tracking_signal(actual, actual + 5) == pytest.approx(10.0)  # 50 / 5: every error +5
    assert tracking_signal(actual, actual - 5) == pytest.approx(-10.0)
    assert tracking_signal(actual, actual) == 0.0


def test_kpis_skip_nan_pairs_so_fitted_values_can_be_scored() -> None:
    y = np.array([10.0, 12.0, 9.0, 11.0])
    fc = naive(y, 1)  # fitted[0] is NaN
    assert mae(y, fc.fitted) == pytest.approx((2 + 3 + 2) / 3)
    assert math.isfinite(wmape(y, fc.fitted))


@pytest.mark.parametrize("kpi", [mae, rmse, mape, wmape, bias, relative_bias, tracking_signal])
def test_kpis_reject_empty_and_mismatched_input(kpi: object) -> None:
    with pytest.raises(ValueError, match="no finite"):
        kpi([], [])  # type: ignore[operator]
    with pytest.raises(ValueError, match="same length"):
        kpi([1.0, 2.0], [1.0])  # type: ignore[operator]


def test_percentage_kpis_reject_all_zero_actuals() -> None:
    for kpi in (mape, wmape, relative_bias):
        with pytest.raises(ValueError, match="zero"):
            kpi([0.0, 0.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="zero"):
        forecast_value_added([0.0], [1.0], [2.0])
