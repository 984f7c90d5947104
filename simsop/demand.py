"""Customer demand over the horizon, drawn up front in vectorized blocks per (customer, product) stream.

Demand is exogenous: it does not depend on what the company does, so it is drawn before the run from the
stream ``demand:<customer>:<product>``. Two policies run on the same replication see the same orders,
whatever happens inside the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simsop.scenario import DemandSpec, Seasonality

# Cumulative day-of-year at which each month starts (a 365-day year), to map a day to its month.
_MONTH_STARTS = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365])


def seasonal_factor(season: Seasonality | None, days: np.ndarray) -> np.ndarray:
    """Seasonal multiplier for each day (day 0 is the 1st of January).

    A sinusoid peaks at ``1 + amplitude`` on ``peak_day`` and averages exactly 1 over a period of whole days, so
    it keeps the yearly total. Monthly factors and patterns are used as given, not rescaled: their day-weighted
    mean multiplies the yearly total (example_company's monthly factors average 1.052: 5.2% more units a year
    than ``orders_per_day`` x 365 x the mean quantity).
    """
    if season is None:
        return np.ones(len(days))
    if season.monthly is not None:
        month = np.searchsorted(_MONTH_STARTS, days % 365, side="right") - 1
        return np.asarray(season.monthly, dtype=float)[month]
    if season.pattern is not None:
        k = len(season.pattern)
        part = np.floor((days % season.period) / season.period * k).astype(int).clip(0, k - 1)
        return np.asarray(season.pattern, dtype=float)[part]
    assert season.amplitude is not None
    return 1.0 + season.amplitude * np.cos(2 * np.pi * (days - season.peak_day) / season.period)


def multiplier(spec: DemandSpec, horizon: int, shock: np.ndarray | None = None, first_day: int = 0) -> np.ndarray:
    """Daily mean multiplier: linear trend x seasonality (x shocks, when given), from ``first_day`` on."""
    days = np.arange(first_day, first_day + horizon, dtype=float)
    m = (1.0 + spec.trend * days / 365.0) * seasonal_factor(spec.seasonality, days)
    if shock is not None:
        m = m * shock
    return np.maximum(m, 0.0)


@dataclass(frozen=True)
class DemandDraws:
    """The orders one (customer, product) stream places over the horizon.

    ``daily`` streams give a quantity per day (``times`` is the day); ``orders_per_day`` streams give one
    arrival per order at a random time of its day.
    """

    times: np.ndarray
    qty: np.ndarray
    per_day: bool


def draw_demand(spec: DemandSpec, horizon: int, rng: np.random.Generator,
                shock: np.ndarray | None = None, first_day: int = 0) -> DemandDraws:
    """Draw every order of one stream.

    The draws of the stream without its demand shocks come first and always in the same order (counts,
    times, quantities), so a shock changes its own days and nothing else: the run with the shock and the run
    without it are the same future outside the shock, and their paired difference carries none of the
    noise of the other days. On a day whose mean a shock lowers, each order is kept with probability
    new/old mean; on a day it raises, Poisson(new - old) orders are added; either way the day's orders are
    exactly Poisson with the new mean. A daily quantity of a continuous law is the same draw times the day's
    mean; one of a count law (Poisson, negative binomial) is drawn again on the days the shock moves.

    ``first_day`` < 0 draws a past (for the sales history a planner starts from); times stay relative
    to ``first_day``.
    """
    base = multiplier(spec, horizon, None, first_day)
    m = base if shock is None else multiplier(spec, horizon, shock, first_day)
    if spec.daily is not None:
        if spec.daily.scales_draws:
            qty = spec.daily.sample(rng, horizon) * m
        else:
            qty = spec.daily.sample_scaled(rng, base)
            moved = np.nonzero(m != base)[0]
            if len(moved):
                qty[moved] = spec.daily.sample_scaled(rng, m[moved])
        days = np.nonzero(qty > 0)[0]
        return DemandDraws(days.astype(float), qty[days], True)
    assert spec.orders_per_day is not None
    counts = rng.poisson(spec.orders_per_day * base)
    n = int(counts.sum())
    # A Poisson count per day with uniform times inside the day is exactly a (piecewise) Poisson process.
    times = np.repeat(np.arange(horizon, dtype=float), counts) + rng.random(n)
    times.sort(kind="stable")  # within a day uniforms are unsorted; days stay in order
    qty = spec.quantity.sample(rng, n)
    if shock is not None:
        times, qty = _shocked_orders(spec, rng, times, qty, base, m)
    keep = qty > 0
    return DemandDraws(times[keep], qty[keep], False)


def _shocked_orders(spec: DemandSpec, rng: np.random.Generator, times: np.ndarray, qty: np.ndarray,
                    base: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The orders of the stream without shocks, thinned on the days a shock lowers and added to on the days
    it raises (drawn after every draw of the stream without shocks)."""
    assert spec.orders_per_day is not None
    stay = rng.random(len(times))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(base > 0, m / base, 1.0)
    kept = stay < share[times.astype(np.int64)]
    extra = rng.poisson(spec.orders_per_day * np.maximum(m - base, 0.0))
    n = int(extra.sum())
    if n == 0:
        return times[kept], qty[kept]
    t = np.concatenate([times[kept], np.repeat(np.arange(len(m), dtype=float), extra) + rng.random(n)])
    q = np.concatenate([qty[kept], spec.quantity.sample(rng, n)])
    order = np.argsort(t, kind="stable")
    return t[order], q[order]


def daily_units(spec: DemandSpec, days: int, rng: np.random.Generator, first_day: int = 0) -> np.ndarray:
    """Total units demanded per day over ``days`` days (for a synthetic sales history)."""
    draws = draw_demand(spec, days, rng, first_day=first_day)
    out = np.zeros(days)
    np.add.at(out, draws.times.astype(int), draws.qty)
    return out


def expected_units(spec: DemandSpec, days: int, first_day: int = 0) -> np.ndarray:
    """Expected units demanded per day (the market's true mean, which a sales team may know)."""
    return spec.mean_per_day * multiplier(spec, days, first_day=first_day)
