"""Statistical forecasting for the S&OP demand review.

Every method is a pure function ``fn(history, horizon, **params) -> Forecast`` on a 1-D array of
bucket sales (e.g. monthly units): no SimPy, no global random state, no mutation of the input.

Conventions (they follow the operations-management textbooks the tests reproduce, chiefly
Chopra & Meindl, *Supply Chain Management*, ch. 7):

* ``Forecast.fitted[t]`` is the one-step-ahead forecast of ``history[t]`` made with data up to
  ``t - 1`` (NaN where the method cannot produce one yet, e.g. the first ``n`` buckets of a moving
  average).
* Smoothing parameters given as ``None`` are fitted by minimising the in-sample one-step SSE.
* Holt-Winters uses Winters' (1960) seasonal update, ``s_t = gamma * y_t / l_t + (1 - gamma) *
  s_{t-m}`` (``y_t - l_t`` for the additive form), as in Chopra & Meindl, Nahmias and
  Silver-Pyke-Thomas; Hyndman & Athanasopoulos use ``l_{t-1} + b_{t-1}`` instead.
* Holt-Winters needs two full seasons (``2 * m`` observations) to initialise itself and raises
  ``ValueError`` otherwise; it does not silently fall back.  ``auto`` is the place where a short
  history degrades to a simpler method.
* Forecast errors are ``forecast - actual`` (Chopra's ``E_t = F_t - D_t``), so a positive bias or
  tracking signal means over-forecasting.  Percentage KPIs are returned in percent.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Forecast:
    """Result of a forecasting method.

    Attributes:
        values: Point forecasts for buckets ``T+1 .. T+horizon``.
        fitted: One-step-ahead in-sample forecasts aligned with the history (NaN where undefined).
        method: Registry name of the method that produced the forecast.
        params: Parameters actually used (fitted smoothing constants, initial states, ...).
    """

    values: FloatArray
    fitted: FloatArray
    method: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Copies are made read-only so a Forecast shared between simulation agents cannot be
        # altered behind another agent's back.
        for name in ("values", "fitted"):
            arr = np.array(getattr(self, name), dtype=float)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        # A NaN plan silently propagates through the whole simulation; fail where it arises.
        if not np.all(np.isfinite(self.values)):
            raise ValueError(f"{self.method}: produced non-finite forecasts (numerically unstable)")


# --- Validation helpers -----------------------------------------------------------------------


def _as_history(history: ArrayLike, min_len: int, method: str) -> FloatArray:
    y = np.asarray(history, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"{method}: history must be a 1-D array, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{method}: history contains NaN or infinite values")
    if y.size < min_len:
        raise ValueError(f"{method}: needs at least {min_len} observation(s), got {y.size}")
    return y


def _check_horizon(horizon: int) -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 0:
        raise ValueError(f"horizon must be a non-negative integer, got {horizon!r}")
    return int(horizon)


def _check_int(name: str, value: int, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


_BOUNDS: dict[str, tuple[float, float]] = {
    "alpha": (1e-4, 1.0),
    "beta": (1e-4, 1.0),
    "gamma": (1e-4, 1.0),
    # Hyndman & Athanasopoulos restrict phi to [0.8, 0.98]: below 0.8 damping is too strong to be
    # useful and at 1 the damped model is indistinguishable from Holt.
    "phi": (0.8, 0.98),
}


def _check_params(params: dict[str, float | None]) -> None:
    for name, value in params.items():
        if value is None:
            continue
        if not np.isfinite(value) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {value!r}")


def _sse(y: FloatArray, fitted: FloatArray) -> float:
    ok = np.isfinite(fitted)
    return float(np.sum((y[ok] - fitted[ok]) ** 2))


def _fit_params(
    params: dict[str, float | None], sse: Callable[[dict[str, float]], float]
) -> dict[str, float]:
    """Replace the ``None`` entries of ``params`` by the values minimising ``sse``."""
    _check_params(params)
    free = [k for k, v in params.items() if v is None]
    fixed = {k: float(v) for k, v in params.items() if v is not None}
    if not free:
        return fixed
    from scipy.optimize import minimize  # imported lazily: only fitting needs scipy

    def objective(x: Sequence[float] | FloatArray) -> float:
        trial = {**fixed, **dict(zip(free, (float(v) for v in x), strict=True))}
        try:
            with np.errstate(all="ignore"):
                value = sse(trial)
        except (ValueError, ZeroDivisionError, FloatingPointError):
            return 1e300
        return value if np.isfinite(value) else 1e300

    # SSE surfaces of Holt-Winters are multi-modal; a coarse grid picks the basin before the
    # local optimiser polishes the answer.
    starts = [[min(max(s, _BOUNDS[k][0]), _BOUNDS[k][1]) for s in (0.1, 0.4, 0.8)] for k in free]
    x0 = np.array(min(itertools.product(*starts), key=objective))
    res = minimize(objective, x0, method="L-BFGS-B", bounds=[_BOUNDS[k] for k in free])
    best = res.x if res.fun <= objective(x0) else x0
    return {**fixed, **{k: float(v) for k, v in zip(free, best, strict=True)}}


# --- Simple benchmark methods -----------------------------------------------------------------


def naive(history: ArrayLike, horizon: int) -> Forecast:
    """Naive (random-walk) forecast: every future bucket equals the last observation.

    Args:
        history: 1-D bucket sales, oldest first.
        horizon: Number of buckets to forecast.

    Returns:
        Forecast whose ``fitted[t] = history[t-1]`` (NaN for ``t = 0``).

    Raises:
        ValueError: If the history is empty or not finite.
    """
    y = _as_history(history, 1, "naive")
    h = _check_horizon(horizon)
    fitted = np.concatenate(([np.nan], y[:-1]))
    return Forecast(np.full(h, y[-1]), fitted, "naive", {})


def seasonal_naive(history: ArrayLike, horizon: int, m: int = 12) -> Forecast:
    """Seasonal naive forecast: each bucket repeats the same bucket one season earlier.

    Args:
        history: 1-D bucket sales, oldest first.
        horizon: Number of buckets to forecast.
        m: Season length in buckets (12 for monthly data with yearly seasonality).

    Returns:
        Forecast with ``values[h-1] = history[T - m + (h-1) % m]``.

    Raises:
        ValueError: If fewer than ``m`` observations are available.
    """
    m = _check_int("m", m, 1)
    y = _as_history(history, m, "seasonal_naive")
    h = _check_horizon(horizon)
    last_season = y[-m:]
    values = last_season[np.arange(h) % m]
    fitted = np.concatenate((np.full(m, np.nan), y[:-m]))
    return Forecast(values, fitted, "seasonal_naive", {"m": m})


def moving_average(history: ArrayLike, horizon: int, n: int = 3) -> Forecast:
    """Simple moving average of the last ``n`` buckets, projected flat.

    Args:
        history: 1-D bucket sales, oldest first.
        horizon: Number of buckets to forecast.
        n: Window length in buckets.

    Returns:
        Forecast with ``fitted[t] = mean(history[t-n:t])`` for ``t >= n``.

    Raises:
        ValueError: If fewer than ``n`` observations are available.
    """
    n = _check_int("n", n, 1)
    y = _as_history(history, n, "moving_average")
    h = _check_horizon(horizon)
    csum = np.concatenate(([0.0], np.cumsum(y)))
    means = (csum[n:] - csum[:-n]) / n  # means[i] = mean(y[i:i+n])
    fitted = np.concatenate((np.full(n, np.nan), means[:-1]))
    return Forecast(np.full(h, means[-1]), fitted, "moving_average", {"n": n})


# --- Exponential smoothing family -------------------------------------------------------------


def _ses_core(y: FloatArray, alpha: float, level: float) -> tuple[FloatArray, float]:
    fitted = [0.0] * y.size
    level = float(level)
    for t, obs in enumerate(y.tolist()):  # Python floats: as exact as numpy scalars, much cheaper per step
        fitted[t] = level
        level = alpha * obs + (1.0 - alpha) * level
    return np.array(fitted, dtype=float), level


def ses(
    history: ArrayLike,
    horizon: int,
    alpha: float | None = 0.2,
    init: str = "first",
    init_k: int | None = None,
) -> Forecast:
    """Simple exponential smoothing, ``l_t = alpha * y_t + (1 - alpha) * l_{t-1}``.

    Args:
        history: 1-D bucket sales, oldest first.
        horizon: Number of buckets to forecast (the forecast is flat at the last level).
        alpha: Smoothing constant in [0, 1]; ``None`` fits it by minimising the one-step SSE.
        init: ``"first"`` sets ``l_0 = y_1`` (so ``fitted[0] == history[0]``); ``"mean"`` sets
            ``l_0`` to the mean of the first ``init_k`` buckets (all of them when ``init_k`` is
            None, as in Chopra & Meindl's Tahoe Salt example).
        init_k: Number of buckets averaged by ``init="mean"``.

    Returns:
        Forecast with params ``alpha`` and ``initial_level``.

    Raises:
        ValueError: On an empty history, an unknown ``init`` or ``alpha`` outside [0, 1].
    """
    y = _as_history(history, 1, "ses")
    h = _check_horizon(horizon)
    if init == "first":
        level0 = float(y[0])
    elif init == "mean":
        k = y.size if init_k is None else min(_check_int("init_k", init_k, 1), y.size)
        level0 = float(np.mean(y[:k]))
    else:
        raise ValueError(f"ses: init must be 'first' or 'mean', got {init!r}")
    p = _fit_params({"alpha": alpha}, lambda q: _sse(y, _ses_core(y, q["alpha"], level0)[0]))
    fitted, level = _ses_core(y, p["alpha"], level0)
    params = {**p, "initial_level": level0, "init": init, "level": float(level)}
    return Forecast(np.full(h, level), fitted, "ses", params)


def _holt_core(
    y: FloatArray, alpha: float, beta: float, phi: float, level: float, trend: float
) -> tuple[FloatArray, float, float]:
    fitted = [0.0] * y.size
    level, trend = float(level), float(trend)
    for t, obs in enumerate(y.tolist()):  # Python floats: as exact as numpy scalars, much cheaper per step
        fitted[t] = level + phi * trend
        new_level = alpha * obs + (1.0 - alpha) * fitted[t]
        trend = beta * (new_level - level) + (1.0 - beta) * phi * trend
        level = new_level
    return np.array(fitted, dtype=float), level, trend


def _ols_line(y: FloatArray) -> tuple[float, float]:
    """Intercept and slope of the least-squares line through ``(1, y_1) .. (k, y_k)``."""
    t = np.arange(1.0, y.size + 1.0)
    slope = float(np.sum((t - t.mean()) * (y - y.mean())) / np.sum((t - t.mean()) ** 2))
    return float(y.mean() - slope * t.mean()), slope


def holt(
    history: ArrayLike,
    horizon: int,
    alpha: float | None = 0.2,
    beta: float | None = 0.1,
    phi: float | None = 1.0,
    init: str = "simple",
    init_k: int | None = None,
    initial_level: float | None = None,
    initial_trend: float | None = None,
) -> Forecast:
    """Holt's linear-trend exponential smoothing, optionally damped (Gardner & McKenzie).

    ``l_t = alpha*y_t + (1-alpha)*(l_{t-1} + phi*b_{t-1})``,
    ``b_t = beta*(l_t - l_{t-1}) + (1-beta)*phi*b_{t-1}``, forecast ``l_T + (phi+...+phi^h)*b_T``.

    Args:
        history: 1-D bucket sales, oldest first.
        horizon: Number of buckets to forecast.
        alpha: Level smoothing constant; ``None`` fits it.
        beta: Trend smoothing constant; ``None`` fits it.
        phi: Damping factor; 1 is Holt's undamped method, ``None`` fits it in [0.8, 0.98].
        init: ``"simple"``: the line through the first two buckets, back-dated to ``t = 0``
            (``l_0 = 2*y_1 - y_2``, ``b_0 = y_2 - y_1``); ``"regression"``: least-squares line
            through the first ``init_k`` buckets (all when None), as in Chopra & Meindl.
        init_k: Number of buckets used by ``init="regression"``.
        initial_level: Explicit ``l_0``; must be given together with ``initial_trend``.
        initial_trend: Explicit ``b_0``.

    Returns:
        Forecast named ``"holt"`` (or ``"damped_holt"`` when ``phi != 1``).

    Raises:
        ValueError: With fewer than 2 observations (unless explicit initial states are given),
            inconsistent initial states or parameters outside [0, 1].
    """
    h = _check_horizon(horizon)
    if (initial_level is None) != (initial_trend is None):
        raise ValueError("holt: give both initial_level and initial_trend, or neither")
    if initial_level is not None and initial_trend is not None:
        y = _as_history(history, 1, "holt")
        level0, trend0, init = float(initial_level), float(initial_trend), "explicit"
    else:
        y = _as_history(history, 2, "holt")
        if init == "simple":
            level0, trend0 = float(2.0 * y[0] - y[1]), float(y[1] - y[0])
        elif init == "regression":
            k = y.size if init_k is None else min(_check_int("init_k", init_k, 2), y.size)
            level0, trend0 = _ols_line(y[:k])
        else:
            raise ValueError(f"holt: init must be 'simple' or 'regression', got {init!r}")

    def run(q: dict[str, float]) -> tuple[FloatArray, float, float]:
        return _holt_core(y, q["alpha"], q["beta"], q["phi"], level0, trend0)

    p = _fit_params({"alpha": alpha, "beta": beta, "phi": phi}, lambda q: _sse(y, run(q)[0]))
    fitted, level, trend = run(p)
    damp = np.cumsum(p["phi"] ** np.arange(1, h + 1))  # phi + phi^2 + ... + phi^h
    name = "holt" if p["phi"] == 1.0 else "damped_holt"
    params = {**p, "initial_level": level0, "initial_trend": trend0, "init": init}
    params.update(level=float(level), trend=float(trend))
    return Forecast(level + damp * trend, fitted, name, params)


def damped_holt(
    history: ArrayLike,
    horizon: int,
    alpha: float | None = 0.2,
    beta: float | None = 0.1,
    phi: float | None = 0.98,
    **kwargs: Any,
) -> Forecast:
    """Damped-trend Holt method; same as :func:`holt` with a damping default of ``phi=0.98``.

    Args:
        history: 1-D bucket sales, oldest first.
        horizon: Number of buckets to forecast.
        alpha: Level smoothing constant; ``None`` fits it.
        beta: Trend smoothing constant; ``None`` fits it.
        phi: Damping factor in (0, 1]; ``None`` fits it in [0.8, 0.98].
        **kwargs: Initialisation options forwarded to :func:`holt`.

    Returns:
        Forecast as returned by :func:`holt`.
    """
    return holt(history, horizon, alpha=alpha, beta=beta, phi=phi, **kwargs)


def _hw_init(y: FloatArray, m: int, init: str, mult: bool) -> tuple[float, float, FloatArray]:
    """Initial level (at t=0), trend and the seasonal indices of buckets 1..m."""
    if init == "simple":
        # First two seasons: the difference of their means gives the trend; the level is
        # back-dated to t = 0 so the first season is not credited with half a season of trend.
        trend = float((y[m : 2 * m].mean() - y[:m].mean()) / m)
        level = float(y[:m].mean() - trend * (m + 1) / 2.0)
        line = level + trend * np.arange(1.0, m + 1.0)
        if mult and np.any(line <= 0):
            raise ValueError("holt_winters: non-positive initial level, use the additive form")
        return level, trend, (y[:m] / line if mult else y[:m] - line)
    if init == "decomposition":
        # Chopra & Meindl's static method: deseasonalise with a centred moving average, regress
        # it on time, average the seasonal ratios of each bucket of the cycle.
        weights = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
        deseason = np.convolve(y, weights, mode="valid")
        half = (weights.size - 1) // 2
        t = np.arange(half + 1.0, half + deseason.size + 1.0)
        slope = float(np.sum((t - t.mean()) * (deseason - deseason.mean())) / np.sum((t - t.mean()) ** 2))
        level = float(deseason.mean() - slope * t.mean())
        line = level + slope * np.arange(1.0, y.size + 1.0)
        if mult and np.any(line <= 0):
            raise ValueError("holt_winters: non-positive regression line, use the additive form")
        ratios = y / line if mult else y - line
        cycles = y.size // m
        seasonals = ratios[: cycles * m].reshape(cycles, m).mean(axis=0)
        return level, slope, seasonals
    raise ValueError(f"holt_winters: init must be 'simple' or 'decomposition', got {init!r}")


def _hw_core(
    y: FloatArray,
    m: int,
    q: dict[str, float],
    level: float,
    trend: float,
    seasonals: FloatArray,
    mult: bool,
) -> tuple[FloatArray, float, float, FloatArray]:
    alpha, beta, gamma = q["alpha"], q["beta"], q["gamma"]
    # Python floats, not numpy scalars: the same IEEE arithmetic at a fraction of the cost per step.
    s = seasonals.astype(float).tolist()
    fitted = [0.0] * y.size
    level, trend = float(level), float(trend)
    for t, obs in enumerate(y.tolist()):
        i = t % m
        base = level + trend
        if mult:
            fitted[t] = base * s[i]
            new_level = alpha * obs / s[i] + (1.0 - alpha) * base
            s[i] = gamma * obs / new_level + (1.0 - gamma) * s[i]
        else:
            fitted[t] = base + s[i]
            new_level = alpha * (obs - s[i]) + (1.0 - alpha) * base
            s[i] = gamma * (obs - new_level) + (1.0 - gamma) * s[i]
        trend = beta * (new_level - level) + (1.0 - beta) * trend
        level = new_level
    return np.array(fitted, dtype=float), level, trend, np.array(s, dtype=float)


def _holt_winters(
    history: ArrayLike,
    horizon: int,
    m: int,
    smoothing: tuple[float | None, float | None, float | None],
    init: str,
    states: tuple[float | None, float | None, ArrayLike | None],
    mult: bool,
) -> Forecast:
    alpha, beta, gamma = smoothing
    initial_level, initial_trend, initial_seasonals = states
    name = "holt_winters_multiplicative" if mult else "holt_winters_additive"
    m = _check_int("m", m, 2)
    h = _check_horizon(horizon)
    if initial_level is not None and initial_trend is not None and initial_seasonals is not None:
        y = _as_history(history, 1, name)
        s0 = np.asarray(initial_seasonals, dtype=float)
        if s0.shape != (m,):
            raise ValueError(f"{name}: initial_seasonals must have length m={m}")
        level0, trend0, init = float(initial_level), float(initial_trend), "explicit"
    elif any(v is not None for v in (initial_level, initial_trend, initial_seasonals)):
        raise ValueError(f"{name}: give initial_level, initial_trend and initial_seasonals together")
    else:
        y = _as_history(history, 1, name)
        if mult and np.any(y <= 0):
            raise ValueError(f"{name}: multiplicative seasonality needs strictly positive data")
        if y.size < 2 * m:
            raise ValueError(
                f"{name}: needs at least two full seasons (2*m = {2 * m} observations) to "
                f"initialise, got {y.size}; use seasonal_naive, holt or auto for short histories"
            )
        level0, trend0, s0 = _hw_init(y, m, init, mult)
    if mult and (np.any(y <= 0) or np.any(s0 <= 0)):
        raise ValueError(f"{name}: multiplicative seasonality needs strictly positive data")

    def run(q: dict[str, float]) -> tuple[FloatArray, float, float, FloatArray]:
        return _hw_core(y, m, q, level0, trend0, s0, mult)

    p = _fit_params({"alpha": alpha, "beta": beta, "gamma": gamma}, lambda q: _sse(y, run(q)[0]))
    fitted, level, trend, s = run(p)
    steps = np.arange(1, h + 1)
    season = s[(y.size + steps - 1) % m]
    base = level + steps * trend
    values = base * season if mult else base + season
    params: dict[str, Any] = {**p, "m": m, "init": init, "initial_level": level0}
    params.update(initial_trend=trend0, initial_seasonals=s0.tolist(), level=float(level), trend=float(trend))
    params["seasonals"] = s[(y.size + np.arange(m)) % m].tolist()  # next m buckets, in order
    return Forecast(values, fitted, name, params)


def holt_winters_additive(
    history: ArrayLike,
    horizon: int,
    m: int = 12,
    alpha: float | None = 0.2,
    beta: float | None = 0.1,
    gamma: float | None = 0.1,
    init: str = "simple",
    initial_level: float | None = None,
    initial_trend: float | None = None,
    initial_seasonals: ArrayLike | None = None,
) -> Forecast:
    """Holt-Winters with additive seasonality (Winters' form of the seasonal update).

    ``F_{t+1} = l_t + b_t + s_{t+1-m}``; ``l_t = alpha*(y_t - s_{t-m}) + (1-alpha)*(l_{t-1}+b_{t-1})``;
    ``b_t = beta*(l_t - l_{t-1}) + (1-beta)*b_{t-1}``; ``s_t = gamma*(y_t - l_t) + (1-gamma)*s_{t-m}``.

    Args:
        history: 1-D bucket sales, oldest first.
        horizon: Number of buckets to forecast.
        m: Season length in buckets (>= 2).
        alpha: Level smoothing constant; ``None`` fits it.
        beta: Trend smoothing constant; ``None`` fits it.
        gamma: Seasonal smoothing constant; ``None`` fits it.
        init: ``"simple"`` (means of the first two seasons) or ``"decomposition"`` (Chopra &
            Meindl's static method: centred moving average, regression, averaged seasonal
            indices). Ignored when all three explicit initial states are given.
        initial_level: Explicit level at t = 0.
        initial_trend: Explicit trend at t = 0.
        initial_seasonals: Explicit seasonal indices of buckets 1..m of the history.

    Returns:
        Forecast with the fitted constants, the initial and final states in ``params``.

    Raises:
        ValueError: With fewer than ``2*m`` observations and no explicit initial states (no
            silent fallback), or with parameters outside [0, 1].
    """
    smoothing, states = (alpha, beta, gamma), (initial_level, initial_trend, initial_seasonals)
    return _holt_winters(history, horizon, m, smoothing, init, states, mult=False)


def holt_winters_multiplicative(
    history: ArrayLike,
    horizon: int,
    m: int = 12,
    alpha: float | None = 0.2,
    beta: float | None = 0.1,
    gamma: float | None = 0.1,
    init: str = "simple",
    initial_level: float | None = None,
    initial_trend: float | None = None,
    initial_seasonals: ArrayLike | None = None,
) -> Forecast:
    """Holt-Winters with multiplicative seasonality (Winter's model in Chopra & Meindl).

    ``F_{t+1} = (l_t + b_t) * S_{t+1}``; ``l_t = alpha*y_t/S_t + (1-alpha)*(l_{t-1}+b_{t-1})``;
    ``b_t = beta*(l_t - l_{t-1}) + (1-beta)*b_{t-1}``; ``S_{t+m} = gamma*y_t/l_t + (1-gamma)*S_t``.

    Args:
        history: 1-D bucket sales, oldest first; must be strictly positive.
        horizon: Number of buckets to forecast.
        m: Season length in buckets (>= 2).
        alpha: Level smoothing constant; ``None`` fits it.
        beta: Trend smoothing constant; ``None`` fits it.
        gamma: Seasonal smoothing constant; ``None`` fits it.
        init: ``"simple"`` or ``"decomposition"``, see :func:`holt_winters_additive`.
        initial_level: Explicit level at t = 0.
        initial_trend: Explicit trend at t = 0.
        initial_seasonals: Explicit seasonal factors of buckets 1..m of the history.

    Returns:
        Forecast with the fitted constants, the initial and final states in ``params``.

    Raises:
        ValueError: As :func:`holt_winters_additive`, and on non-positive data.
    """
    smoothing, states = (alpha, beta, gamma), (initial_level, initial_trend, initial_seasonals)
    return _holt_winters(history, horizon, m, smoothing, init, states, mult=True)


# --- Intermittent demand ----------------------------------------------------------------------


def _croston_core(y: FloatArray, alpha: float) -> tuple[FloatArray, float, float]:
    fitted = np.full(y.size, np.nan)
    size = interval = np.nan
    since = 0  # buckets elapsed since the previous demand (or since the start)
    for t, obs in enumerate(y):
        if np.isfinite(size):
            fitted[t] = size / interval
        since += 1
        if obs > 0:
            if np.isfinite(size):
                size += alpha * (obs - size)
                interval += alpha * (since - interval)
            else:  # first demand initialises both estimates, as in Croston (1972)
                size, interval = float(obs), float(since)
            since = 0
    return fitted, size, interval


def croston(
    history: ArrayLike, horizon: int, alpha: float | None = 0.1, variant: str = "croston"
) -> Forecast:
    """Croston's method for intermittent demand, optionally with the SBA bias correction.

    Non-zero demand sizes ``z`` and inter-demand intervals ``p`` are smoothed separately and
    only in buckets with demand; the per-bucket forecast is ``z/p`` (Croston, 1972) or
    ``(1 - alpha/2) * z/p`` (Syntetos & Boylan, 2005).  Both estimates start from the first
    demand and the number of buckets up to and including it.

    Args:
        history: 1-D non-negative bucket sales, oldest first.
        horizon: Number of buckets to forecast (flat).
        alpha: Smoothing constant for size and interval; ``None`` fits it.
        variant: ``"croston"`` or ``"sba"``.

    Returns:
        Forecast; a history without any demand forecasts zeros (``fitted`` stays NaN).

    Raises:
        ValueError: On an empty or negative history, an unknown variant or alpha outside [0, 1].
    """
    if variant not in ("croston", "sba"):
        raise ValueError(f"croston: variant must be 'croston' or 'sba', got {variant!r}")
    y = _as_history(history, 1, variant)
    h = _check_horizon(horizon)
    if np.any(y < 0):
        raise ValueError(f"{variant}: intermittent-demand methods need non-negative history")
    if not np.any(y > 0):
        params: dict[str, Any] = {"alpha": alpha, "size": 0.0, "interval": float("inf")}
        return Forecast(np.zeros(h), np.full(y.size, np.nan), variant, params)

    def run(q: dict[str, float]) -> tuple[FloatArray, float, float]:
        fitted, size, interval = _croston_core(y, q["alpha"])
        factor = 1.0 - q["alpha"] / 2.0 if variant == "sba" else 1.0
        return fitted * factor, size, interval

    p = _fit_params({"alpha": alpha}, lambda q: _sse(y, run(q)[0]))
    fitted, size, interval = run(p)
    factor = 1.0 - p["alpha"] / 2.0 if variant == "sba" else 1.0
    values = np.full(h, factor * size / interval)
    return Forecast(values, fitted, variant, {**p, "size": float(size), "interval": float(interval)})


def sba(history: ArrayLike, horizon: int, alpha: float | None = 0.1) -> Forecast:
    """Syntetos-Boylan approximation: Croston's forecast deflated by ``1 - alpha/2``.

    Args:
        history: 1-D non-negative bucket sales, oldest first.
        horizon: Number of buckets to forecast.
        alpha: Smoothing constant; ``None`` fits it.

    Returns:
        Forecast named ``"sba"``.
    """
    return croston(history, horizon, alpha=alpha, variant="sba")


# --- Forecast-quality KPIs --------------------------------------------------------------------


def _pairs(*arrays: ArrayLike) -> list[FloatArray]:
    arrs = [np.asarray(a, dtype=float) for a in arrays]
    if any(a.ndim != 1 for a in arrs) or len({a.size for a in arrs}) != 1:
        raise ValueError("actuals and forecasts must be 1-D arrays of the same length")
    # Pairs with a NaN are skipped so that Forecast.fitted (NaN where undefined) can be scored.
    mask = np.logical_and.reduce([np.isfinite(a) for a in arrs])
    if not mask.any():
        raise ValueError("no finite (actual, forecast) pairs to evaluate")
    return [a[mask] for a in arrs]


def mae(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Mean absolute error (MAD in Chopra & Meindl).

    Args:
        actual: Observed values.
        forecast: Forecasts aligned with ``actual``; NaN pairs are skipped.

    Returns:
        ``mean(|forecast - actual|)``.

    Raises:
        ValueError: On mismatched shapes or no finite pairs.
    """
    a, f = _pairs(actual, forecast)
    return float(np.mean(np.abs(f - a)))


def rmse(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Root mean squared error.

    Args:
        actual: Observed values.
        forecast: Forecasts aligned with ``actual``; NaN pairs are skipped.

    Returns:
        ``sqrt(mean((forecast - actual)^2))``.

    Raises:
        ValueError: On mismatched shapes or no finite pairs.
    """
    a, f = _pairs(actual, forecast)
    return float(np.sqrt(np.mean((f - a) ** 2)))


def mape(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Mean absolute percentage error, in percent.

    Buckets whose actual is zero are skipped: their percentage error is undefined, and in S&OP
    data they are usually stock-outs or phase-in/phase-out buckets better judged by WMAPE.

    Args:
        actual: Observed values.
        forecast: Forecasts aligned with ``actual``; NaN pairs are skipped.

    Returns:
        ``100 * mean(|forecast - actual| / |actual|)`` over non-zero actuals.

    Raises:
        ValueError: On mismatched shapes, no finite pairs, or only zero actuals.
    """
    a, f = _pairs(actual, forecast)
    nz = a != 0
    if not nz.any():
        raise ValueError("mape: undefined, every actual is zero (use wmape or mae)")
    return float(100.0 * np.mean(np.abs(f[nz] - a[nz]) / np.abs(a[nz])))


def wmape(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Weighted MAPE (volume-weighted), in percent: ``100 * sum|F - A| / sum|A|``.

    Args:
        actual: Observed values.
        forecast: Forecasts aligned with ``actual``; NaN pairs are skipped.

    Returns:
        The WMAPE in percent.

    Raises:
        ValueError: On mismatched shapes, no finite pairs, or all-zero actuals.
    """
    a, f = _pairs(actual, forecast)
    denom = float(np.sum(np.abs(a)))
    if denom == 0.0:
        raise ValueError("wmape: undefined, every actual is zero (use mae)")
    return float(100.0 * np.sum(np.abs(f - a)) / denom)


def bias(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Mean forecast error ``mean(forecast - actual)``; positive means over-forecasting.

    Args:
        actual: Observed values.
        forecast: Forecasts aligned with ``actual``; NaN pairs are skipped.

    Returns:
        The bias in demand units per bucket.

    Raises:
        ValueError: On mismatched shapes or no finite pairs.
    """
    a, f = _pairs(actual, forecast)
    return float(np.mean(f - a))


def relative_bias(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Bias relative to volume, in percent: ``100 * sum(F - A) / sum|A|``.

    Args:
        actual: Observed values.
        forecast: Forecasts aligned with ``actual``; NaN pairs are skipped.

    Returns:
        The relative bias in percent (positive = over-forecasting).

    Raises:
        ValueError: On mismatched shapes, no finite pairs, or all-zero actuals.
    """
    a, f = _pairs(actual, forecast)
    denom = float(np.sum(np.abs(a)))
    if denom == 0.0:
        raise ValueError("relative_bias: undefined, every actual is zero")
    return float(100.0 * np.sum(f - a) / denom)


def tracking_signal(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Tracking signal: cumulative error divided by the mean absolute deviation (MAD).

    Uses ``E_t = F_t - A_t`` as Chopra & Meindl do; values outside about +/-6 flag a biased
    forecast.  A perfect forecast (MAD = 0) returns 0.

    Args:
        actual: Observed values.
        forecast: Forecasts aligned with ``actual``; NaN pairs are skipped.

    Returns:
        ``sum(E_t) / mean(|E_t|)``.

    Raises:
        ValueError: On mismatched shapes or no finite pairs.
    """
    a, f = _pairs(actual, forecast)
    err = f - a
    mad = float(np.mean(np.abs(err)))
    return 0.0 if mad == 0.0 else float(np.sum(err) / mad)


def forecast_value_added(actual: ArrayLike, forecast_step: ArrayLike, forecast_baseline: ArrayLike) -> float:
    """Forecast value added of a process step over a baseline, in WMAPE points.

    Args:
        actual: Observed values.
        forecast_step: Forecasts of the step being judged (e.g. the consensus forecast).
        forecast_baseline: Baseline forecasts, typically naive.  Buckets where any of the three
            arrays is NaN are skipped for both, so both are scored on the same buckets.

    Returns:
        ``wmape(actual, baseline) - wmape(actual, step)``; positive means the step helps.

    Raises:
        ValueError: On mismatched shapes, no finite triples, or all-zero actuals.
    """
    a, step, base = _pairs(actual, forecast_step, forecast_baseline)
    return wmape(a, base) - wmape(a, step)


# --- Automatic selection and registry ---------------------------------------------------------


def _candidate_kwargs(name: str, m: int | None) -> dict[str, Any]:
    smoothing = {"alpha": None}
    table: dict[str, dict[str, Any]] = {
        "naive": {},
        "seasonal_naive": {"m": m},
        "moving_average": {"n": 3},
        "ses": smoothing,
        "croston": smoothing,
        "sba": smoothing,
        "holt": {"alpha": None, "beta": None},
        "damped_holt": {"alpha": None, "beta": None, "phi": None},
        "holt_winters_additive": {"m": m, "alpha": None, "beta": None, "gamma": None},
        "holt_winters_multiplicative": {"m": m, "alpha": None, "beta": None, "gamma": None},
    }
    return dict(table[name])


def auto(
    history: ArrayLike,
    horizon: int,
    m: int | None = None,
    holdout: int | None = None,
    metric: str = "wmape",
    candidates: Sequence[str] | None = None,
) -> Forecast:
    """Pick the method with the lowest hold-out error, then refit it on the full history.

    The last ``holdout`` buckets are held out, every candidate is fitted on the rest (smoothing
    constants fitted by SSE) and scored on a ``holdout``-step forecast.  Candidates that cannot
    run on the shortened history (e.g. Holt-Winters without two seasons) are skipped.  Ties go
    to the simpler method (earlier in the candidate list).  If the history is too short to hold
    anything out, the naive method is returned.

    Args:
        history: 1-D bucket sales, oldest first.
        horizon: Number of buckets to forecast.
        m: Season length; seasonal candidates are only tried when ``m >= 2``.
        holdout: Buckets held out; defaults to ``m`` for seasonal data with at least two seasons of
            history (so a full season is left to train on), else ``min(6, n // 4)`` (at least 1).
        metric: ``"wmape"`` or ``"mae"``; WMAPE switches to MAE on all-zero hold-out actuals.
        candidates: Registry names to compare; defaults to every method that suits the data
            (Croston/SBA only when at least 30% of the buckets are zero).

    Returns:
        The winner's forecast re-labelled ``"auto"``; ``params`` holds ``selected``,
        ``selected_params``, ``scores``, ``skipped``, ``metric`` and ``holdout``.

    Raises:
        ValueError: On an empty history, unknown metric or unknown candidate names.
    """
    y = _as_history(history, 1, "auto")
    h = _check_horizon(horizon)
    if metric not in ("wmape", "mae"):
        raise ValueError(f"auto: metric must be 'wmape' or 'mae', got {metric!r}")
    seasonal = m is not None and _check_int("m", m, 1) >= 2
    if candidates is None:
        names = ["naive"] + (["seasonal_naive"] if seasonal else []) + ["moving_average", "ses"]
        if np.mean(y == 0) >= 0.3 and np.all(y >= 0):
            names += ["croston", "sba"]
        names += ["holt", "damped_holt"]
        if seasonal:
            names += ["holt_winters_additive", "holt_winters_multiplicative"]
    else:
        names = list(candidates)
        unknown = [c for c in names if c not in METHODS or c == "auto"]
        if unknown or not names:
            raise ValueError(f"auto: unknown candidates {unknown}; valid: {sorted(set(METHODS) - {'auto'})}")
    if holdout is None:
        # A season is held out only when a full season is left to train on: otherwise nothing can be
        # scored (weekly buckets, m = 52, with the default 36 buckets of history held everything out
        # and always returned the naive forecast) and the seasonal methods are skipped anyway.
        season = int(m) if seasonal and m is not None else 0
        k = season if season and y.size >= 2 * season else max(min(6, y.size // 4), 1)
    else:
        k = _check_int("holdout", holdout, 1)
    if y.size - k < 1:
        fc = naive(y, h)
        info = {"selected": "naive", "selected_params": {}, "scores": {}, "skipped": {}}
        return Forecast(fc.values, fc.fitted, "auto", {**info, "metric": metric, "holdout": 0})
    train, test = y[:-k], y[-k:]
    used = "mae" if metric == "wmape" and not np.any(test != 0) else metric
    score_fn = wmape if used == "wmape" else mae
    scores: dict[str, float] = {}
    skipped: dict[str, str] = {}
    for name in names:
        try:
            fc = METHODS[name](train, k, **_candidate_kwargs(name, m))
            scores[name] = score_fn(test, fc.values)
        except ValueError as exc:
            skipped[name] = str(exc)
    remaining = dict(scores)
    while remaining:
        best = None
        for name, score in remaining.items():  # insertion order = simplicity order
            if best is None or score < remaining[best] - 1e-9 * max(1.0, abs(remaining[best])):
                best = name
        assert best is not None
        try:
            # The refit can still fail where the hold-out did not (e.g. a zero in the last
            # buckets breaks multiplicative seasonality); the runner-up takes over.
            winner = METHODS[best](y, h, **_candidate_kwargs(best, m))
            break
        except ValueError as exc:
            skipped[best] = f"refit failed: {exc}"
            del remaining[best]
    else:
        raise ValueError(f"auto: no candidate could be fitted: {skipped}")
    info = {"selected": best, "selected_params": winner.params, "scores": scores, "skipped": skipped}
    return Forecast(winner.values, winner.fitted, "auto", {**info, "metric": used, "holdout": k})


METHODS: dict[str, Callable[..., Forecast]] = {
    "naive": naive,
    "seasonal_naive": seasonal_naive,
    "moving_average": moving_average,
    "ses": ses,
    "holt": holt,
    "damped_holt": damped_holt,
    "holt_winters_additive": holt_winters_additive,
    "holt_winters_multiplicative": holt_winters_multiplicative,
    "croston": croston,
    "sba": sba,
    "auto": auto,
}


def held_constants(method: str, params: dict[str, Any], fit: Forecast) -> tuple[str, dict[str, Any]]:
    """The method and parameters that forecast as ``fit`` did, with the smoothing constants it fitted held.

    Every parameter given as ``None`` (fitted) takes the value ``fit`` found; ``auto`` becomes the method it
    selected, with that method's fitted constants. A rolling-origin evaluation can then re-run the method at
    each origin without refitting it there: the constants are those of the full history (a little optimistic,
    as they were chosen on it), the states start afresh from each origin's own history.

    Args:
        method: The registry name ``fit`` was made with.
        params: The parameters it was called with.
        fit: Its forecast on the full history.

    Returns:
        A registry name and parameters for :func:`forecast`.
    """
    if method == "auto":
        method = str(fit.params["selected"])
        params = _candidate_kwargs(method, params.get("m"))
        fitted = dict(fit.params["selected_params"])
    else:
        fitted = dict(fit.params)
    return method, {k: fitted.get(k) if v is None else v for k, v in params.items()}


def rolling_origin(method: str, history: ArrayLike, lag: int, last: int | None = None, **params: Any) -> FloatArray:
    """Out-of-sample forecasts of each bucket of the history at a lag, from a rolling origin.

    ``out[t]`` is the forecast of ``history[t]`` that ``method`` makes ``lag + 1`` steps ahead from the
    history before ``t - lag`` (``lag`` 0: one step ahead, made with every bucket before ``t``). It is NaN where
    that history is empty or too short for the method (Holt-Winters' two seasons): the origins go back from the
    latest until the method first cannot run (on a shorter history it could not either). Unlike ``Forecast.fitted``,
    no forecast has seen the bucket it forecasts, not even through the initial states, which Holt-Winters and
    Holt set from the first buckets: the in-sample fit of those buckets is close to exact by construction
    (Tashman 2000, "Out-of-sample tests of forecasting accuracy"; Hyndman & Athanasopoulos, *Forecasting:
    Principles and Practice*, 3rd ed., 5.8, time series cross-validation). Parameters given as ``None`` are
    fitted at each origin, which is slow: see :func:`held_constants`.

    Args:
        method: A key of :data:`METHODS`.
        history: 1-D bucket sales, oldest first.
        lag: Buckets between the origin and the forecast bucket (>= 0).
        last: Forecast only the last ``last`` buckets (None: all).
        **params: The method's parameters.

    Returns:
        Forecasts aligned with the history.
    """
    if method not in METHODS:
        forecast(method, [], 0)  # the message that lists the valid names
    y = _as_history(history, 0, method)
    lag = _check_int("lag", lag, 0)
    out = np.full(y.size, np.nan)
    stop = lag if last is None else max(lag, y.size - 1 - _check_int("last", last, 0))
    for t in range(y.size - 1, stop, -1):  # latest origin first: a history too short stays so going back
        try:
            out[t] = forecast(method, y[: t - lag], lag + 1, **params).values[lag]
        except ValueError:
            break
    return out


def forecast(method: str, history: ArrayLike, horizon: int, **params: Any) -> Forecast:
    """Dispatch to a forecasting method by registry name.

    Args:
        method: A key of :data:`METHODS`.
        history: 1-D bucket sales, oldest first.
        horizon: Number of buckets to forecast.
        **params: Method parameters (see each method).

    Returns:
        The method's :class:`Forecast`.

    Raises:
        ValueError: If ``method`` is unknown (the message lists the valid names).
    """
    try:
        fn = METHODS[method]
    except KeyError:
        raise ValueError(
            f"unknown forecasting method {method!r}; valid methods: {', '.join(sorted(METHODS))}"
        ) from None
    return fn(history, horizon, **params)
