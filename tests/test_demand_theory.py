"""Demand against its definitions: what probability theory says each piece of simsop's demand must be.

Every expected value here comes from a formula or from ``scipy.stats``, never from simsop's own moments or
multipliers: the distributions of ``simsop.dists`` (mean, variance, support of every parameterisation the schema
accepts, the normal cut at 0), compound Poisson daily demand (mean lambda E[Q], variance lambda E[Q^2]), arrival
times (uniform within the day, so exponential gaps), seasonality (a sinusoid peaks at 1 + amplitude on its
peak day and keeps the yearly total; monthly factors and patterns land on the right days; a linear trend), and the
demand shocks (each day's mean and each shock's total units against its definition; Bass adoptions sum to m F(t)).

Sample sizes. A statistical check passes when the estimate is within K = 4 standard errors of theory, the standard
errors coming from the theoretical moments (not from the sample). Sizes are chosen from those moments so that
K standard errors are at most half the error to detect: a 2% error in a mean (or 5% in a variance) is then at least
8 standard errors away and fails the check but for a chance below 1 in 30 000, while a correct value fails it with
a chance of about 6e-5. Tests of a whole profile (a chi-square over days, a Kolmogorov-Smirnov test) use the same
two-sided 4-sigma level, ALPHA. Every draw comes from a named numpy SeedSequence stream (:func:`stream`).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter
from scipy import stats

from simsop.demand import draw_demand
from simsop.dists import Dist
from simsop.scenario import DemandSpec
from simsop.shocks import Shock, demand_multiplier, realise
from simsop.streams import Streams

K = 4.0  # standard errors of tolerance
ALPHA = 2 * stats.norm.sf(K)  # the same level for tests of a whole profile: 6.3e-5
REL_MEAN = 0.02  # the smallest error in a mean every check detects
REL_VAR = 0.05  # ... and in a variance
N_MAX = 2_000_000  # draws at most per check (the file runs in seconds)
SEED = 20261129

_DIST: TypeAdapter[Any] = TypeAdapter(Dist)
_SHOCK: TypeAdapter[Any] = TypeAdapter(Shock)


def stream(name: str) -> np.random.Generator:
    """The named stream ``name``: its own SeedSequence, whatever other test draws first."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(SEED, spawn_key=(zlib.crc32(name.encode()),))))


def n_for_mean(cv: float) -> int:
    """Draws so that K standard errors of a mean are half of REL_MEAN: n = (2K cv / REL_MEAN)^2."""
    return math.ceil((2 * K * cv / REL_MEAN) ** 2)


def n_for_var(kurtosis: float) -> int:
    """Draws so that K standard errors of a variance (sqrt((mu4 - sigma^4) / n)) are half of REL_VAR."""
    return math.ceil((2 * K / REL_VAR) ** 2 * (kurtosis - 1))


def assert_within(name: str, got: float, exact: float, se: float) -> None:
    assert abs(got - exact) <= K * se, (
        f"{name}: {got:.6g} against theory {exact:.6g}, off by {abs(got - exact) / se:.1f} standard errors "
        f"(SE {se:.3g})")


@dataclass(frozen=True)
class Moments:
    """The first four raw moments E[X^k] of a law, and what follows from them."""

    raw: tuple[float, float, float, float]

    @classmethod
    def of(cls, moment: Callable[[int], float]) -> Moments:
        return cls((moment(1), moment(2), moment(3), moment(4)))

    def times(self, s: float) -> Moments:
        """The moments of s X."""
        m1, m2, m3, m4 = self.raw
        return Moments((s * m1, s**2 * m2, s**3 * m3, s**4 * m4))

    @property
    def mean(self) -> float:
        return self.raw[0]

    @property
    def var(self) -> float:
        return self.raw[1] - self.raw[0] ** 2

    @property
    def mu4(self) -> float:
        """The fourth central moment."""
        m1, m2, m3, m4 = self.raw
        return m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1**4

    @property
    def kurtosis(self) -> float:
        return self.mu4 / self.var**2


def frozen_moments(law: Any) -> Moments:
    return Moments.of(lambda k: float(law.moment(k)))


def censored_normal(mu: float, sd: float) -> Moments:
    """max(X, 0) for X ~ N(mu, sd): the point mass at 0 adds nothing to E[X^k], k >= 1."""
    return Moments.of(lambda k: float(stats.norm.expect(lambda x: x**k, loc=mu, scale=sd, lb=0.0)))


def lognormal(mean: float, sd: float) -> Any:
    """The lognormal with this mean and sd of the variable itself: log X ~ N(log mean - s^2/2, s^2),
    s^2 = log(1 + cv^2)."""
    s2 = math.log(1 + (sd / mean) ** 2)
    return stats.lognorm(math.sqrt(s2), scale=math.exp(math.log(mean) - s2 / 2))


def neg_binomial(mean: float, sd: float) -> Any:
    """Counts with this mean and variance: scipy's nbinom(r, p) has mean r(1-p)/p and variance mean/p."""
    p = mean / sd**2
    return stats.nbinom(mean * p / (1 - p), p)


def empirical(values: list[float], weights: list[float] | None = None) -> Any:
    w = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=float)
    return stats.rv_discrete(values=(np.arange(len(values)), w / w.sum())), np.asarray(values, dtype=float)


@dataclass(frozen=True)
class Law:
    """A distribution as a scenario file writes it, and what theory says about it."""

    spec: Any
    moments: Moments
    count: bool = False  # integer draws
    upper: float = math.inf  # the largest value a draw can take
    p_zero: float | None = None  # the probability of exactly 0, checked when given
    scaled: Callable[[float], Moments] | None = None  # moments of a draw scaled by s (default: s x a draw)


def _discrete(values: list[float], weights: list[float] | None = None) -> Moments:
    law, v = empirical(values, weights)
    return Moments.of(lambda k: float(np.dot(law.pk, v**k)))


LAWS: dict[str, Law] = {
    "bare-number": Law(3, Moments((3.0, 9.0, 27.0, 81.0)), upper=3.0),
    "deterministic": Law({"dist": "deterministic", "value": 3}, Moments((3.0, 9.0, 27.0, 81.0)), upper=3.0),
    "poisson": Law({"dist": "poisson", "mean": 4}, frozen_moments(stats.poisson(4)), count=True,
                   scaled=lambda s: frozen_moments(stats.poisson(4 * s))),
    "poisson-small": Law({"dist": "poisson", "mean": 0.3}, frozen_moments(stats.poisson(0.3)), count=True,
                         p_zero=math.exp(-0.3), scaled=lambda s: frozen_moments(stats.poisson(0.3 * s))),
    "normal": Law({"dist": "normal", "mean": 5, "sd": 2}, censored_normal(5, 2), p_zero=float(stats.norm.cdf(-2.5))),
    "normal-often-cut": Law({"dist": "normal", "mean": 1, "sd": 3}, censored_normal(1, 3),
                            p_zero=float(stats.norm.cdf(-1 / 3))),
    "normal-negative-mean": Law({"dist": "normal", "mean": -1, "sd": 2}, censored_normal(-1, 2),
                                p_zero=float(stats.norm.cdf(0.5))),
    # Always 5 (checked draw by draw); simsop declares no largest value for any normal, a loose but true bound.
    "normal-sd-0": Law({"dist": "normal", "mean": 5, "sd": 0}, Moments((5.0, 25.0, 125.0, 625.0)), upper=5.0),
    "lognormal": Law({"dist": "lognormal", "mean": 3, "sd": 1}, frozen_moments(lognormal(3, 1))),
    "lognormal-heavy": Law({"dist": "lognormal", "mean": 3, "sd": 6}, frozen_moments(lognormal(3, 6))),
    "gamma": Law({"dist": "gamma", "mean": 4, "sd": 2}, frozen_moments(stats.gamma(4, scale=1))),
    "gamma-skewed": Law({"dist": "gamma", "mean": 2, "sd": 5}, frozen_moments(stats.gamma(0.16, scale=12.5))),
    "exponential": Law({"dist": "exponential", "mean": 2.5}, frozen_moments(stats.expon(scale=2.5))),
    # A scaled negative binomial keeps its dispersion r (a gamma-Poisson mixture with the rate scaled).
    "negative-binomial": Law({"dist": "negative_binomial", "mean": 6, "sd": 4}, frozen_moments(neg_binomial(6, 4)),
                             count=True, scaled=lambda s: frozen_moments(stats.nbinom(3.6, 3.6 / (3.6 + 6 * s)))),
    "negative-binomial-small": Law({"dist": "negative_binomial", "mean": 0.5, "sd": 1},
                                   frozen_moments(neg_binomial(0.5, 1)), count=True, p_zero=math.sqrt(0.5),
                                   scaled=lambda s: frozen_moments(stats.nbinom(0.5, 0.5 / (0.5 + 0.5 * s)))),
    "uniform": Law({"dist": "uniform", "low": 1, "high": 5}, frozen_moments(stats.uniform(1, 4)), upper=5.0),
    "uniform-one-point": Law({"dist": "uniform", "low": 2, "high": 2}, Moments((2.0, 4.0, 8.0, 16.0)), upper=2.0),
    "triangular": Law({"dist": "triangular", "low": 1, "mode": 2, "high": 6},
                      frozen_moments(stats.triang(0.2, loc=1, scale=5)), upper=6.0),
    "triangular-mode-at-low": Law({"dist": "triangular", "low": 0, "mode": 0, "high": 6},
                                  frozen_moments(stats.triang(0.0, loc=0, scale=6)), upper=6.0),
    "empirical": Law({"dist": "empirical", "values": [1, 2, 7]}, _discrete([1, 2, 7]), upper=7.0),
    "empirical-weighted": Law({"dist": "empirical", "values": [1, 2, 7], "weights": [0.5, 0.2, 0.3]},
                              _discrete([1, 2, 7], [0.5, 0.2, 0.3]), upper=7.0),
}


def check_sample(name: str, x: np.ndarray, m: Moments, check_var: bool = True) -> None:
    """Mean and variance of ``x`` within K standard errors of theory (exact for a law without spread)."""
    if m.var <= 1e-12 * max(m.mean**2, 1.0):
        np.testing.assert_allclose(x, m.mean, rtol=1e-12, err_msg=name)
        return
    n = len(x)
    assert_within(f"{name} mean", float(x.mean()), m.mean, math.sqrt(m.var / n))
    if check_var:
        assert_within(f"{name} variance", float(x.var(ddof=1)), m.var, math.sqrt((m.mu4 - m.var**2) / n))


def sample_size(m: Moments) -> tuple[int, bool]:
    """Draws for a check of ``m``'s mean and variance, and whether the variance fits in N_MAX draws."""
    if m.var <= 1e-12 * max(m.mean**2, 1.0):
        return 1000, True
    n_var = n_for_var(m.kurtosis)
    return min(max(n_for_mean(math.sqrt(m.var) / m.mean), n_var), N_MAX), n_var <= N_MAX


@pytest.mark.parametrize("case", list(LAWS))
def test_each_distribution_has_its_mean_variance_and_support(case: str) -> None:
    """Draws of every law of a scenario file have the mean and variance theory gives (scipy.stats, or the
    censored normal's integrals), within K standard errors from the theoretical fourth moment, with enough
    draws to see a 2% error in the mean and a 5% error in the variance, which are also the mean and variance
    simsop declares; they are never negative, never above the law's largest value (as declared), whole numbers
    for count laws, and exactly 0 as often as theory says (the normal is cut at 0: a negative draw is a day
    without demand)."""
    law = LAWS[case]
    spec = _DIST.validate_python(law.spec)
    # What simsop declares of the law (its plans and nominal demand use it) is theory's too.
    assert spec.mean == pytest.approx(law.moments.mean, rel=1e-7, abs=1e-12), f"{case}: declared mean"
    assert spec.var == pytest.approx(law.moments.var, rel=1e-7, abs=1e-12), f"{case}: declared variance"
    assert spec.upper == law.upper, f"{case}: declared largest value"
    n, var_fits = sample_size(law.moments)
    x = spec.sample(stream(f"dist:{case}"), n)
    assert x.shape == (n,)
    check_sample(case, x, law.moments, check_var=var_fits)
    if not var_fits:
        # Too heavy a tail for a sample variance (the lognormal of cv 2 has kurtosis 947): its log is normal
        # with variance log(1 + cv^2), which a 5% error in the variance of X moves by 2.4%.
        assert case == "lognormal-heavy", f"{case}: pick a case whose variance can be checked in {N_MAX} draws"
        s2 = math.log(1 + law.moments.var / law.moments.mean**2)
        assert_within(f"{case} variance of log", float(np.log(x).var(ddof=1)), s2, s2 * math.sqrt(2 / n))
    assert x.min() >= 0, f"{case}: a negative draw {x.min()}"
    assert x.max() <= law.upper, f"{case}: a draw of {x.max()} above {law.upper}"
    if law.count:
        assert np.array_equal(x, np.round(x)), f"{case}: counts must be whole numbers"
    if law.p_zero is not None:
        p = law.p_zero
        assert_within(f"{case} share of zeros", float(np.mean(x == 0)), p, math.sqrt(p * (1 - p) / n))


@pytest.mark.parametrize("case", [c for c in LAWS if not c.startswith(("bare", "uniform-one", "normal-sd"))])
def test_scaled_draws_have_the_scaled_law(case: str) -> None:
    """A draw scaled by s (a demand shock or seasonality on a daily total) has mean s x mean: a continuous law
    keeps its coefficient of variation (variance s^2 x variance); a Poisson stays Poisson (mean = variance =
    s x mean) and a negative binomial keeps its dispersion r (variance s mu + (s mu)^2 / r). Checked at
    s = 0.4 and 2.5, each with the draws of the unscaled check."""
    law = LAWS[case]
    spec = _DIST.validate_python(law.spec)
    n, var_fits = sample_size(law.moments)
    scales = (0.4, 2.5)
    x = spec.sample_scaled(stream(f"scaled:{case}"), np.repeat(scales, n))
    for i, s in enumerate(scales):
        m = law.scaled(s) if law.scaled is not None else law.moments.times(s)
        check_sample(f"{case} x {s}", x[i * n:(i + 1) * n], m, check_var=var_fits)


def test_an_empirical_law_draws_its_values_as_often_as_their_weights() -> None:
    """Each value comes up with probability weight / sum of weights (within K binomial standard errors, n from
    the rarest value's 2% relative error), and no other value ever does."""
    values, weights = [1.0, 2.0, 7.0, 0.5], [0.5, 0.2, 0.3, 0.1]
    spec = _DIST.validate_python({"dist": "empirical", "values": values, "weights": weights})
    p = np.asarray(weights) / sum(weights)
    n = n_for_mean(math.sqrt((1 - p.min()) / p.min()))
    x = spec.sample(stream("empirical:weights"), n)
    assert set(np.unique(x)) <= set(values)
    for v, pv in zip(values, p, strict=True):
        assert_within(f"share of {v}", float(np.mean(x == v)), float(pv), math.sqrt(pv * (1 - pv) / n))


# ---------------------------------------------------------------------------------------------- daily demand


def units_per_day(spec: DemandSpec, days: int, rng: np.random.Generator, shock: np.ndarray | None = None
                  ) -> np.ndarray:
    """Units of each day (days without an order are 0)."""
    d = draw_demand(spec, days, rng, shock=shock)
    return np.bincount(d.times.astype(np.int64), weights=d.qty, minlength=days)


QUANTITIES: dict[str, tuple[Any, Moments]] = {
    "one-unit": (1, Moments((1.0, 1.0, 1.0, 1.0))),
    "deterministic": ({"dist": "deterministic", "value": 2}, Moments((2.0, 4.0, 8.0, 16.0))),
    "poisson": ({"dist": "poisson", "mean": 3}, frozen_moments(stats.poisson(3))),
    "gamma": ({"dist": "gamma", "mean": 4, "sd": 3}, frozen_moments(stats.gamma(16 / 9, scale=9 / 4))),
    "negative-binomial": ({"dist": "negative_binomial", "mean": 6, "sd": 4}, frozen_moments(neg_binomial(6, 4))),
    "lognormal": ({"dist": "lognormal", "mean": 3, "sd": 1}, frozen_moments(lognormal(3, 1))),
    "empirical": ({"dist": "empirical", "values": [1, 2, 7], "weights": [0.5, 0.2, 0.3]},
                  _discrete([1, 2, 7], [0.5, 0.2, 0.3])),
}


def compound_poisson(lam: float, q: Moments) -> Moments:
    """A day's units: Poisson(lam) orders of iid sizes Q. Its cumulants are kappa_k = lam E[Q^k]; the raw
    moments follow (mean lam E[Q], variance lam E[Q^2])."""
    k1, k2, k3, k4 = (lam * r for r in q.raw)
    m2 = k2 + k1**2
    m3 = k3 + 3 * k2 * k1 + k1**3
    m4 = k4 + 4 * k3 * k1 + 3 * k2**2 + 6 * k2 * k1**2 + k1**4
    return Moments((k1, m2, m3, m4))


@pytest.mark.parametrize("quantity", list(QUANTITIES))
def test_daily_demand_is_compound_poisson(quantity: str) -> None:
    """Orders arrive as a Poisson stream (2.5 a day) with iid quantities, so a day's units have mean
    lambda E[Q] and variance lambda E[Q^2]; every day of a stream without trend or seasonality is an independent
    draw, so one long horizon holds enough days to see a 2% error in the mean and a 5% one in the variance."""
    spec_q, q = QUANTITIES[quantity]
    lam = 2.5
    spec = DemandSpec.model_validate({"product": "A", "orders_per_day": lam, "quantity": spec_q})
    theory = compound_poisson(lam, q)
    n, var_fits = sample_size(theory)
    assert var_fits
    check_sample(f"daily units, quantity {quantity}", units_per_day(spec, n, stream(f"compound:{quantity}")), theory)


def test_daily_totals_have_their_law_scaled_by_the_season() -> None:
    """A ``daily`` stream draws one total a day from its law, times the day's multiplier: under a two-level
    pattern (0.5 and 1.5) the days of each level have mean 0.5 x and 1.5 x the law's mean and, the law being
    continuous, its coefficient of variation."""
    law = frozen_moments(stats.gamma(4, scale=2.5))  # mean 10, sd 5
    spec = DemandSpec.model_validate({"product": "A", "daily": {"dist": "gamma", "mean": 10, "sd": 5},
                                      "seasonality": {"pattern": [0.5, 1.5], "period": 2}})
    n, _ = sample_size(law)
    x = units_per_day(spec, 2 * n, stream("daily:pattern"))
    for level, days in ((0.5, x[0::2]), (1.5, x[1::2])):
        check_sample(f"daily x {level}", days, law.times(level))


def test_orders_arrive_as_a_poisson_process() -> None:
    """A Poisson count per day with uniform times inside the day is a Poisson process: the times of day are
    uniform on [0, 1) and the gaps between orders exponential with mean 1/lambda, across midnight too
    (Kolmogorov-Smirnov at ALPHA; with 10^5 orders a 2% shift of the gaps' scale is 4.5 times the critical
    distance). Times are sorted."""
    lam = 5.0
    spec = DemandSpec.model_validate({"product": "A", "orders_per_day": lam})
    t = draw_demand(spec, 20_000, stream("arrivals")).times
    assert np.all(np.diff(t) >= 0)
    assert stats.kstest(t % 1.0, "uniform").pvalue > ALPHA
    assert stats.kstest(np.diff(t), "expon", args=(0, 1 / lam)).pvalue > ALPHA


def test_orders_a_shock_adds_or_keeps_arrive_uniformly_within_their_day() -> None:
    """On days a shock raises (x 2.5) or lowers (x 0.4) demand, the orders added and those kept are still a
    Poisson process: their times of day are uniform on [0, 1) (Kolmogorov-Smirnov at ALPHA, about 10^5 orders
    of each kind of day)."""
    spec = DemandSpec.model_validate({"product": "A", "orders_per_day": 5})
    days = 20_000
    shock = np.tile([1.0, 2.5, 0.4], days // 3 + 1)[:days]
    t = draw_demand(spec, days, stream("arrivals:shocked"), shock=shock).times
    assert np.all(np.diff(t) >= 0)
    day = t.astype(np.int64)
    for factor in (2.5, 0.4):
        assert stats.kstest(t[shock[day] == factor] % 1.0, "uniform").pvalue > ALPHA, f"x {factor}"


# ---------------------------------------------------------------------------------------------- seasonality

_MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def exact_daily(extra: dict[str, Any], days: int, level: float = 10.0) -> np.ndarray:
    """Units per day of a deterministic daily stream: exactly ``level`` x the day's multiplier."""
    spec = DemandSpec.model_validate({"product": "A", "daily": level, **extra})
    return units_per_day(spec, days, stream("exact"))


def test_a_sinusoid_peaks_on_its_day_and_keeps_the_yearly_total() -> None:
    """1 + a cos(2 pi (d - peak) / 365): highest (1 + a) on the peak day, lowest (1 - a) half a year away, and
    summing to 365 over every whole year, so the yearly total is the nominal one."""
    a, peak = 0.4, 200
    x = exact_daily({"seasonality": {"amplitude": a, "peak_day": peak}}, 730)
    d = np.arange(730)
    np.testing.assert_allclose(x, 10 * (1 + a * np.cos(2 * np.pi * (d - peak) / 365)), rtol=1e-12)
    assert int(np.argmax(x[:365])) == peak and x[peak] == pytest.approx(10 * (1 + a))
    assert x.min() == pytest.approx(10 * (1 - a), rel=1e-4)
    assert x[:365].sum() == pytest.approx(3650) and x[365:].sum() == pytest.approx(3650)


def test_seasonal_orders_follow_the_sinusoid_day_by_day() -> None:
    """Orders (10 a day at the mean, one unit each) under a sinusoid of amplitude 0.4: each day of the year has
    mean 10 m(d) and Poisson variance, checked over 400 years by a chi-square of the 365 days' standardised means
    and by the largest of them (Bonferroni over the days); the yearly total is 3650 (a 2% error in it is 19 SE)."""
    a, peak, years = 0.4, 200, 400
    spec = DemandSpec.model_validate({"product": "A", "orders_per_day": 10,
                                      "seasonality": {"amplitude": a, "peak_day": peak}})
    # The sinusoid repeats every 365 days, so 400 years in one horizon are 400 independent years.
    x = units_per_day(spec, 365 * years, stream("season:sinusoid")).reshape(years, 365)
    mu = 10 * (1 + a * np.cos(2 * np.pi * (np.arange(365) - peak) / 365))
    assert_profile("sinusoid", x, mu, mu)
    assert_within("yearly total", float(x.sum(axis=1).mean()), 3650.0, math.sqrt(3650 / years))


def assert_profile(name: str, x: np.ndarray, mu: np.ndarray, var: np.ndarray) -> None:
    """Each day's mean over the rows of ``x`` against ``mu`` (theoretical variance ``var`` a day): days of mean
    0 must be exactly 0; the others' standardised means z are jointly N(0, 1) (sum of z^2 against chi-square at
    ALPHA) and none is beyond the Bonferroni bound for ALPHA over the days."""
    zero = mu <= 0
    assert np.all(x[:, zero] == 0), f"{name}: units on days {np.nonzero(zero & x.any(axis=0))[0]} of mean 0"
    z = (x[:, ~zero].mean(axis=0) - mu[~zero]) / np.sqrt(var[~zero] / len(x))
    worst = int(np.argmax(np.abs(z)))
    bound = stats.norm.isf(ALPHA / (2 * len(z)))
    assert abs(z[worst]) <= bound, f"{name}: day {np.nonzero(~zero)[0][worst]} is {z[worst]:.1f} SE off its mean"
    assert stats.chi2.sf(float(np.sum(z**2)), len(z)) > ALPHA, f"{name}: sum z^2 = {np.sum(z**2):.0f} on {len(z)} days"


def test_monthly_factors_fall_on_their_calendar_months() -> None:
    """Twelve monthly factors apply to the days of their month in a 365-day year from the 1st of January, and
    again the next year."""
    monthly = [0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.5, 1.7]
    x = exact_daily({"seasonality": {"monthly": monthly}}, 730)
    per_day = np.repeat(monthly, _MONTH_DAYS)
    np.testing.assert_allclose(x, 10 * np.tile(per_day, 2), rtol=1e-12)
    assert x[30] == pytest.approx(8.0) and x[31] == pytest.approx(8.5) and x[364] == pytest.approx(17.0)


@pytest.mark.parametrize(("pattern", "period"), [([1, 2, 0.5, 0.5], 120), ([1, 1, 1, 1, 1.2, 1.5, 0.3], 7),
                                                  ([2, 0], 5)])
def test_a_pattern_splits_its_period_into_equal_parts(pattern: list[float], period: int) -> None:
    """Day d has the factor of part floor(k (d mod period) / period) of the k factors, period after period."""
    days = 3 * period
    x = exact_daily({"seasonality": {"pattern": pattern, "period": period}}, days)
    d = np.arange(days)
    np.testing.assert_allclose(x, 10 * np.asarray(pattern)[(len(pattern) * (d % period)) // period], rtol=1e-12)


def test_a_trend_grows_demand_linearly_and_multiplies_the_season() -> None:
    """A trend g is g more demand a year, linearly: day d has 1 + g d / 365, times the seasonal factor."""
    d = np.arange(800)
    np.testing.assert_allclose(exact_daily({"trend": 0.2}, 800), 10 * (1 + 0.2 * d / 365), rtol=1e-12)
    both = exact_daily({"trend": -0.3, "seasonality": {"amplitude": 0.25, "peak_day": 40}}, 800)
    np.testing.assert_allclose(both, 10 * (1 - 0.3 * d / 365) * (1 + 0.25 * np.cos(2 * np.pi * (d - 40) / 365)),
                               rtol=1e-12)


# ---------------------------------------------------------------------------------------------- shocks


def ramp_down(days: int) -> np.ndarray:
    """A linear recovery over ``days`` days: the shock's share left on each of them, 1 - (k + 1)/(days + 1)."""
    return 1 - np.arange(1, days + 1) / (days + 1)


def bass(t: np.ndarray | float, p: float, q: float, m: float) -> np.ndarray:
    """Bass diffusion: adopters by t years, m (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t})."""
    e = np.exp(-(p + q) * np.asarray(t, dtype=float))
    return m * (1 - e) / (1 + q / p * e)


@dataclass(frozen=True)
class ShockCase:
    """A shock starting on day S, its multiplier of the nominal mean on each day by its definition, and the
    extra units over its whole effect (in days of nominal demand) in closed form."""

    shock: dict[str, Any]
    profile: np.ndarray  # days S, S+1, ...; 1 after
    extra_days: float  # sum of (profile - 1): what the shock adds (negative: removes)


S, H = 20, 120  # the day shocks start, the horizon
NOMINAL = 12.0  # units a day: 3 orders of gamma(mean 4, sd 2)


def _cases() -> dict[str, ShockCase]:
    a, d, r = -0.6, 30, 10
    step = np.r_[np.full(d, 1 + a), 1 + a * ramp_down(r)]
    ramp = 1 - 0.5 * np.arange(1, 31) / 30
    c, b, bd = 5, 0.3, 15
    collapse = np.r_[1 - 0.5 * np.arange(1, c + 1) / c, np.full(d - c, 0.5), 1 - 0.5 * ramp_down(r),
                     1 + b * np.arange(bd, 0, -1) / bd]
    promo = np.r_[np.full(10, 2.0), np.full(20, 1 - 0.7 * 1.0 * 10 / 20)]
    phase = 1 - np.arange(1, 41) / 40
    p, q, m = 0.5, 3.0, 800.0
    k = np.arange(H - S)
    launch = (bass((k + 1) / 365, p, q, m) - bass(k / 365, p, q, m)) / NOMINAL
    return {
        # a step of -60% for 30 days and a 10-day ramp back: a linear ramp of R days carries R/2 days of it
        "step": ShockCase({"type": "demand_step", "duration": d, "magnitude": a, "recovery": "ramp",
                           "recovery_days": r}, step, a * (d + r / 2)),
        "spike": ShockCase({"type": "demand_spike", "duration": 3, "magnitude": 1.0}, np.full(3, 2.0), 3.0),
        # a ramp of -50% over 30 days, then kept to the horizon: (D + 1)/2 days of it, then all of it
        "ramp": ShockCase({"type": "demand_ramp", "duration": 30, "magnitude": -0.5}, np.r_[ramp, np.full(H, 0.5)],
                          -0.5 * (31 / 2 + H - S - 30)),
        # a fall of C days ((C + 1)/2 of its depth), the bottom, a ramp back, a rebound fading over B days
        # ((B + 1)/2 days of it)
        "collapse_rebound": ShockCase({"type": "collapse_rebound", "duration": d, "magnitude": -0.5,
                                       "collapse_days": c, "recovery": "ramp", "recovery_days": r,
                                       "rebound": b, "rebound_days": bd}, collapse,
                                      -0.5 * ((c + 1) / 2 + d - c + r / 2) + b * (bd + 1) / 2),
        # units over the promotion and its dip = baseline + (1 - pull_forward) x the promotion's extra units
        "promotion": ShockCase({"type": "promotion", "duration": 10, "lift": 1.0, "pull_forward": 0.7,
                                "dip_days": 20}, promo, (1 - 0.7) * 1.0 * 10),
        # falls linearly to 0 on the last of its 40 days ((D - 1)/2 days of demand left), 0 after
        "phase_out": ShockCase({"type": "phase_out", "products": ["A"], "duration": 40},
                               np.r_[phase, np.zeros(H)], (39 / 2) - (H - S)),
        # m F(t) units by t years after the launch, nothing before it
        "launch": ShockCase({"type": "launch", "products": ["A"], "p": p, "q": q, "m": m}, launch,
                            float(bass((H - S) / 365, p, q, m)) / NOMINAL - (H - S)),
    }


SHOCK_CASES = _cases()


def expected_multiplier(case: ShockCase) -> np.ndarray:
    before = np.zeros(S) if case.shock["type"] == "launch" else np.ones(S)
    after = np.r_[case.profile, np.ones(H)][: H - S]
    return np.r_[before, after]


def shock_multiplier(case: ShockCase, name: str) -> np.ndarray:
    shock = _SHOCK.validate_python({"name": name, "start": S, **case.shock})
    m = demand_multiplier(realise([shock], Streams(0, 0), H), "c", "A", H, {("c", "A"): NOMINAL})
    assert m is not None
    return m


@pytest.mark.parametrize("name", list(SHOCK_CASES))
def test_a_demand_shock_sets_each_day_s_mean_by_its_definition(name: str) -> None:
    """The multiplier a shock puts on a stream's mean is its definition, day by day (a step and its linear
    recovery, a spike, a ramp kept, a collapse's fall, bottom, recovery and fading rebound, a promotion and its
    dip, a phase-out to zero, Bass adoptions), and its days add up to the shock's extra units in closed form."""
    case = SHOCK_CASES[name]
    expected = expected_multiplier(case)
    np.testing.assert_allclose(shock_multiplier(case, name), expected, rtol=1e-9, atol=1e-12)
    assert float(np.sum(expected[S:] - 1)) == pytest.approx(case.extra_days)


def test_bass_adoptions_add_up_to_m_f_of_t() -> None:
    """A launch's daily adoptions on a deterministic stream (and no trend) add up to m F(t) after every t days:
    the cumulative units are the Bass curve itself, day by day."""
    p, q, m, start, horizon = 0.03, 0.4, 1000.0, 10, 730
    shock = _SHOCK.validate_python({"name": "new", "type": "launch", "products": ["A"], "start": start, "p": p,
                                    "q": q, "m": m})
    mult = demand_multiplier(realise([shock], Streams(0, 0), horizon), "c", "A", horizon, {("c", "A"): 5.0})
    spec = DemandSpec.model_validate({"product": "A", "daily": 5})
    units = units_per_day(spec, horizon, stream("launch:exact"), shock=mult)
    assert units[:start].sum() == 0
    t = np.arange(1, horizon - start + 1) / 365
    np.testing.assert_allclose(np.cumsum(units[start:]), bass(t, p, q, m), rtol=1e-9)


def effect_end(case: ShockCase) -> int:
    """The day after the shock's effect (the horizon for one that lasts)."""
    return S + min(len(case.profile), H - S)


def shock_replications(case: ShockCase) -> int:
    """Futures so that K standard errors of the units over the shock's effect are half of 2% of them: the
    units have mean 12 sum m(d) and variance 3 E[Q^2] sum m(d) = 60 sum m(d)."""
    m = expected_multiplier(case)[S:effect_end(case)].sum()
    return n_for_mean(math.sqrt(60 * m) / (NOMINAL * m))


@pytest.mark.parametrize("name", list(SHOCK_CASES))
def test_orders_under_a_shock_have_each_day_s_mean_and_the_shock_s_units(name: str) -> None:
    """Orders (3 a day of gamma(mean 4, sd 2) units: 12 a day, variance 3 x 20 at the nominal mean) drawn with
    the shock's multiplier: each day's units have mean 12 m(d) and compound Poisson variance 3 m(d) E[Q^2]
    (a chi-square over the days and the largest day, at ALPHA), days of mean 0 have no order, and the units over
    the shock's effect are 12 (days + extra days), with enough futures to see a 2% error in them."""
    case = SHOCK_CASES[name]
    spec = DemandSpec.model_validate({"product": "A", "orders_per_day": 3,
                                      "quantity": {"dist": "gamma", "mean": 4, "sd": 2}})
    futures = shock_replications(case)
    # Without trend or seasonality days are independent: one horizon of `futures` x H days is `futures` futures.
    x = units_per_day(spec, futures * H, stream(f"shock:{name}"),
                      shock=np.tile(shock_multiplier(case, name), futures)).reshape(futures, H)
    m = expected_multiplier(case)
    assert_profile(name, x, NOMINAL * m, 3 * m * 20.0)
    end = effect_end(case)
    total = x[:, S:end].sum(axis=1)
    exact = NOMINAL * (end - S + case.extra_days)
    assert_within(f"{name} units", float(total.mean()), exact, math.sqrt(3 * 20 * m[S:end].sum() / futures))
