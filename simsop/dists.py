"""Distribution specifications: what a scenario file says about a random quantity.

Each spec is a small immutable pydantic model with ``sample(rng, n)``, ``mean`` and ``var``. Draws always go
through a numpy ``Generator`` handed in by the caller (never a global state), in vectorized blocks.

In a scenario file a distribution is written as a mapping with a ``dist`` key, for example
``{dist: poisson, mean: 4}`` or ``{dist: lognormal, mean: 3, sd: 1}``; a bare number means a
deterministic value.
"""

from __future__ import annotations

import functools
import math
import types
import typing
from collections.abc import Callable, Iterator
from itertools import repeat
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

FloatArray = np.ndarray


# ---------------------------------------------------------------------------------------------- strict numbers


def _strip(tp: Any) -> Any:
    """The type without ``Annotated`` constraints and without ``None`` in an optional union."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _is_number_type(tp: Any) -> bool:
    return _strip(tp) in (int, float)


def _number_items(tp: Any) -> bool:
    """A tuple of numbers (``tuple[float, ...]``, ``tuple[int, int]``) or a mapping to numbers."""
    tp = _strip(tp)
    origin, args = get_origin(tp), get_args(tp)
    if origin is tuple:
        return bool(args) and all(a is Ellipsis or _is_number_type(a) for a in args)
    if origin is dict:
        return len(args) == 2 and _is_number_type(args[1])
    return False


def _not_a_number(x: Any) -> bool:
    # YAML reads `yes`, `no`, `on`, `off`, `true` as booleans and quoted digits as text: neither is a quantity.
    return isinstance(x, str | bool)


def _kind(x: Any) -> str:
    return f"text {x!r}" if isinstance(x, str) else f"{str(x).lower()} (a yes/no value)"


class NotANumber:
    """Stands in for text or a yes/no value written where a number is expected, so that pydantic reports it at
    its key path (``expected a number, got text '10'``) instead of reading ``"10"`` as 10 and ``yes`` as 1."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return _kind(self.value)


_NUMBER_FIELDS: dict[type, dict[str, str]] = {}


def _number_fields(model: type[BaseModel]) -> dict[str, str]:
    """Keys (names and aliases) of a model's number fields: "one" (a number) or "items" (numbers in a list/map)."""
    found = _NUMBER_FIELDS.get(model)
    if found is None:
        found = {}
        for name, f in model.model_fields.items():
            kind = "one" if _is_number_type(f.annotation) else "items" if _number_items(f.annotation) else None
            if kind:
                found[name] = kind
                if f.alias:
                    found[f.alias] = kind
        _NUMBER_FIELDS[model] = found
    return found


def _marked(value: Any, kind: str) -> Any:
    """``value`` with NotANumber in place of each text or yes/no value (the same object when there is none)."""
    if kind == "one":
        return NotANumber(value) if _not_a_number(value) else value
    if isinstance(value, dict) and any(_not_a_number(x) for x in value.values()):
        return {k: NotANumber(x) if _not_a_number(x) else x for k, x in value.items()}
    if isinstance(value, list | tuple) and any(_not_a_number(x) for x in value):
        return [NotANumber(x) if _not_a_number(x) else x for x in value]
    return value


class StrictModel(BaseModel):
    """Base of every model a user writes (scenario, distributions, shocks, planning, workshop).

    Unknown keys are errors; numbers must be finite and written as numbers: pydantic alone would read
    ``"10"`` as 10 and ``true`` as 1 and accept ``.nan`` and ``.inf``, all of which the JSON Schema of
    scenario files (and an editor that uses it) rejects.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = data
        for key, kind in _number_fields(cls).items():
            if key in data and (new := _marked(data[key], kind)) is not data[key]:
                out = dict(out) if out is data else out
                out[key] = new
        return out


class _Spec(StrictModel):
    # sample_scaled multiplies one draw by its scale, so the same draw serves any scale (a demand shock changes
    # a day's mean without changing its random numbers); count laws draw at the scale instead.
    scales_draws: ClassVar[bool] = True

    @property
    def mean(self) -> float:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @property
    def var(self) -> float:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @property
    def sd(self) -> float:
        return math.sqrt(self.var)

    @property
    def upper(self) -> float:
        """The largest value a draw can take (inf when unbounded)."""
        return math.inf

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:  # pragma: no cover
        raise NotImplementedError

    def sample_scaled(self, rng: np.random.Generator, scale: FloatArray) -> FloatArray:
        """Draw one value per entry of ``scale``, with the mean multiplied by it.

        The default keeps the coefficient of variation (every draw multiplied by its scale); count
        distributions override it so that a scaled Poisson stays Poisson.
        """
        return self.sample(rng, len(scale)) * scale


class Deterministic(_Spec):
    """Always the same value."""

    dist: Literal["deterministic"] = "deterministic"
    value: float = Field(ge=0)

    @property
    def mean(self) -> float:
        return self.value

    @property
    def var(self) -> float:
        return 0.0

    @property
    def upper(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return np.full(n, self.value)


class Poisson(_Spec):
    """Poisson counts with the given mean."""

    scales_draws: ClassVar[bool] = False
    dist: Literal["poisson"]
    mean_: float = Field(alias="mean", ge=0)

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def var(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.poisson(self.mean_, n).astype(float)

    def sample_scaled(self, rng: np.random.Generator, scale: FloatArray) -> FloatArray:
        return rng.poisson(self.mean_ * scale).astype(float)


class Normal(_Spec):
    """Normal, truncated at zero (a negative draw becomes 0). ``mean`` and ``var`` are of the truncated law."""

    dist: Literal["normal"]
    mu: float = Field(alias="mean")
    sigma: float = Field(alias="sd", ge=0)

    def _moments(self) -> tuple[float, float]:
        # Zero-truncation as "clip at 0" (a censored normal): demand that would be negative is zero.
        if self.sigma == 0:
            return max(self.mu, 0.0), 0.0
        z = self.mu / self.sigma
        pdf = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        cdf = 0.5 * (1 + math.erf(z / math.sqrt(2)))
        m1 = self.mu * cdf + self.sigma * pdf
        m2 = (self.mu**2 + self.sigma**2) * cdf + self.mu * self.sigma * pdf
        return m1, max(m2 - m1 * m1, 0.0)

    @property
    def mean(self) -> float:
        return self._moments()[0]

    @property
    def var(self) -> float:
        return self._moments()[1]

    @property
    def upper(self) -> float:
        # Unbounded, except a normal of no spread: then every draw is max(mean, 0).
        return max(self.mu, 0.0) if self.sigma == 0 else math.inf

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return np.maximum(rng.normal(self.mu, self.sigma, n), 0.0)


class LogNormal(_Spec):
    """Lognormal given by the mean and standard deviation of the variable itself (not of its log)."""

    dist: Literal["lognormal"]
    mu: PositiveFloat = Field(alias="mean")
    sigma: float = Field(alias="sd", ge=0)

    def _log_params(self) -> tuple[float, float]:
        s2 = math.log1p((self.sigma / self.mu) ** 2)
        return math.log(self.mu) - s2 / 2, math.sqrt(s2)

    @property
    def mean(self) -> float:
        return self.mu

    @property
    def var(self) -> float:
        return self.sigma**2

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        m, s = self._log_params()
        return rng.lognormal(m, s, n)


class Gamma(_Spec):
    """Gamma given by mean and standard deviation."""

    dist: Literal["gamma"]
    mu: PositiveFloat = Field(alias="mean")
    sigma: PositiveFloat = Field(alias="sd")

    @property
    def mean(self) -> float:
        return self.mu

    @property
    def var(self) -> float:
        return self.sigma**2

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        shape = (self.mu / self.sigma) ** 2
        return rng.gamma(shape, self.sigma**2 / self.mu, n)


class Exponential(_Spec):
    """Exponential with the given mean."""

    dist: Literal["exponential"]
    mu: PositiveFloat = Field(alias="mean")

    @property
    def mean(self) -> float:
        return self.mu

    @property
    def var(self) -> float:
        return self.mu**2

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.exponential(self.mu, n)


class NegativeBinomial(_Spec):
    """Negative binomial counts given by mean and standard deviation (overdispersed: sd^2 > mean)."""

    scales_draws: ClassVar[bool] = False

    dist: Literal["negative_binomial"]
    mu: PositiveFloat = Field(alias="mean")
    sigma: PositiveFloat = Field(alias="sd")

    @field_validator("sigma")
    @classmethod
    def _finite_variance(cls, v: float) -> float:
        if not math.isfinite(v * v):
            raise ValueError("sd is too large: its square (the variance) is not a finite number")
        return v

    @model_validator(mode="after")
    def _overdispersed(self) -> NegativeBinomial:
        if self.sigma * self.sigma <= self.mu:  # a product, not **2: a huge sd must not overflow
            raise ValueError(
                f"a negative binomial needs sd^2 > mean (got sd^2={self.sigma**2:g}, mean={self.mu:g}); "
                "use poisson for sd^2 == mean"
            )
        return self

    def _np(self) -> tuple[float, float]:
        p = self.mu / self.sigma**2
        return self.mu * p / (1 - p), p

    @property
    def mean(self) -> float:
        return self.mu

    @property
    def var(self) -> float:
        return self.sigma**2

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        r, p = self._np()
        return rng.negative_binomial(r, p, n).astype(float)

    def sample_scaled(self, rng: np.random.Generator, scale: FloatArray) -> FloatArray:
        # Scale the mean with the dispersion r fixed: a gamma-Poisson mixture with a scaled rate.
        r, p = self._np()
        lam = rng.gamma(r, (1 - p) / p * scale)
        return rng.poisson(lam).astype(float)


class Uniform(_Spec):
    """Continuous uniform on [low, high]."""

    dist: Literal["uniform"]
    low: float = Field(ge=0)
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high:g}) must be >= low ({self.low:g})")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def upper(self) -> float:
        return self.high

    @property
    def var(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.uniform(self.low, self.high, n)


class Triangular(_Spec):
    """Triangular on [low, high] with the given mode."""

    dist: Literal["triangular"]
    low: float = Field(ge=0)
    mode: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError("needs low <= mode <= high and low < high")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    @property
    def upper(self) -> float:
        return self.high

    @property
    def var(self) -> float:
        a, c, b = self.low, self.mode, self.high
        return (a * a + b * b + c * c - a * b - a * c - b * c) / 18

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.triangular(self.low, self.mode, self.high, n)


class Empirical(_Spec):
    """Resamples observed values (with optional weights), e.g. a column of a CSV file of history.

    In a scenario file give either ``values: [...]`` or ``file: history.csv`` (relative to the scenario
    file) with ``column: name``; the loader reads the file and fills ``values``.
    """

    dist: Literal["empirical"]
    values: tuple[float, ...] = ()
    weights: tuple[float, ...] | None = None
    file: str | None = None
    column: str | None = None

    @model_validator(mode="after")
    def _has_values(self) -> Empirical:
        if not self.values:
            raise ValueError("needs 'values' (a list of numbers) or 'file' (a CSV of history)")
        if any(v < 0 or not math.isfinite(v) for v in self.values):
            raise ValueError("values must be finite and >= 0")
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(f"weights has {len(self.weights)} entries for {len(self.values)} values")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:  # finite: allow_inf_nan
                raise ValueError("weights must be >= 0 with a positive sum")
        return self

    def _probs(self) -> np.ndarray:
        if self.weights is None:
            return np.full(len(self.values), 1.0 / len(self.values))
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    @property
    def mean(self) -> float:
        return float(np.dot(self._probs(), self.values))

    @property
    def upper(self) -> float:
        return max(self.values)

    @property
    def var(self) -> float:
        v = np.asarray(self.values)
        return float(np.dot(self._probs(), (v - self.mean) ** 2))

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        v = np.asarray(self.values, dtype=float)
        if self.weights is None:
            return v[rng.integers(0, len(v), n)]
        return rng.choice(v, size=n, p=self._probs())


DistSpec = Annotated[
    Deterministic
    | Poisson
    | Normal
    | LogNormal
    | Gamma
    | Exponential
    | NegativeBinomial
    | Uniform
    | Triangular
    | Empirical,
    Field(discriminator="dist"),
]

DIST_NAMES = (
    "deterministic",
    "poisson",
    "normal",
    "lognormal",
    "gamma",
    "exponential",
    "negative_binomial",
    "uniform",
    "triangular",
    "empirical",
)


@functools.lru_cache(maxsize=64)
def fraction_mean(spec: Any) -> float:
    """The mean of a fraction drawn from ``spec`` and cut to [0, 1], as the model uses a yield (a draw above 1
    makes every unit good). A distribution within [0, 1] has its own mean; for one that reaches past 1 (a
    normal of mean 0.98 and sd 0.1 does in 42% of draws: 0.949, not 0.98) the mean is estimated from a fixed
    set of draws, the same every time, so plans that gross up for the yield do not depend on any stream.
    Kept per spec (specs are immutable and equal specs hash alike): every replication's world asks again."""
    if spec.upper <= 1.0:
        return min(max(float(spec.mean), 0.0), 1.0)
    draws = spec.sample(np.random.default_rng(20261128), 200_000)
    return float(np.clip(draws, 0.0, 1.0).mean())


def coerce_dist(value: Any) -> Any:
    """Let a scenario write a bare number for a deterministic value (``lead_time: 3``)."""
    if _not_a_number(value):
        raise PydanticCustomError("number_type", "expected a number or a distribution such as {example}, got {got}",
                                  {"got": _kind(value), "example": "{dist: poisson, mean: 4}"})
    if isinstance(value, int | float):
        return {"dist": "deterministic", "value": value}
    return value


class _NumberOrDistribution:
    """JSON Schema of a distribution field: a bare number (deterministic) or a ``{dist: ...}`` mapping."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        return {"anyOf": [{"type": "number", "minimum": 0}, handler(core_schema)]}


Dist = Annotated[DistSpec, BeforeValidator(coerce_dist), _NumberOrDistribution]
"""A distribution field of a scenario file: validated as a spec, a bare number meaning deterministic."""


class BlockSampler:
    """Serves scalar draws of one spec from one stream, drawing in vectorized blocks.

    Block draws keep common random numbers intact (the k-th draw of a source is the same whatever else
    happens) while costing a fraction of a scalar call. ``draw`` is the cheapest way to take one: a hot
    path keeps it (a generator's ``__next__``, no method call of its own); calling the sampler does the same.
    """

    __slots__ = ("constant", "draw")

    def __init__(self, spec: _Spec, rng: np.random.Generator, block: int = 256) -> None:
        self.constant: float | None = spec.value if isinstance(spec, Deterministic) else None
        self.draw: Callable[[], float] = (repeat(self.constant).__next__ if self.constant is not None
                                          else _blocks(spec, rng, block).__next__)

    def __call__(self) -> float:
        return self.draw()


def _blocks(spec: _Spec, rng: np.random.Generator, block: int) -> Iterator[float]:
    while True:
        yield from spec.sample(rng, block).tolist()
