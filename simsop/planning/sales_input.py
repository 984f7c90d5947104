"""The sales team's view of demand at the demand review: the market's true mean demand, a bias, and an error that
grows with the lag and is revised from cycle to cycle (the Martingale Model of Forecast Evolution, MMFE).

Under ``evolution: martingale`` the log-error of a bucket's view at lag L is the sum of independent revisions
still to come, one per lag: X_L = e_0 + e_1 + ... + e_L with Var(e_k) = s2(k) - s2(k-1), where s2 is the
log-variance by lag that the spec asks for (Heath & Jackson 1994; Güllü 1996). A simulation knows the truth and
moves forward in time, so each cycle draws X_(L-1) given X_L: that is X_L scaled by s2(L-1)/s2(L) plus a normal
of variance s2(L-1) (1 - s2(L-1)/s2(L)) (Gaussian conditioning on the sum). The revision X_(L-1) - X_L is then
independent of the error left after it and of every earlier revision, and the view reaches the truth when s2 does.
Given the truth the views cannot also be a martingale in level (their error shrinks as the bucket nears), which
the MMFE has only over the uncertain truth it forecasts.

Each review draws one standard normal per product and open bucket from the cycle's own stream, whatever the plan
did, so policies compared on the same seed see the same sales views (common random numbers).
"""

from __future__ import annotations

import numpy as np

from simsop.planning.spec import SalesInputSpec


class SalesView:
    """The sales input of one replication's demand reviews, one review after another.

    Args:
        spec: the scenario's ``planning.sales``.
        n_products: products in the scenario.
        lags: buckets each review forecasts (lags 0 .. lags - 1).
        rng: the cycle's sales stream.
    """

    def __init__(self, spec: SalesInputSpec, n_products: int, lags: int, rng: np.random.Generator) -> None:
        self.spec = spec
        self.s2 = spec.log_variance(lags)
        self.rng = rng
        self.bucket: int | None = None  # the bucket at lag 0 of the last review
        self.z = np.zeros((n_products, lags))  # its zero-mean log-errors, lag by lag

    def view(self, truth: np.ndarray, bucket: int) -> np.ndarray:
        """The sales view of the buckets from ``bucket`` on (products x lags, units), from their true mean
        demand ``truth`` (same shape)."""
        spec = self.spec
        level = truth * (1 + spec.bias)
        s2 = self.s2[: truth.shape[1]]
        if not (s2 > 0).any():
            return level  # exactly the truth with its bias: nothing to draw
        if spec.evolution == "independent":
            return level * self.rng.lognormal(-s2 / 2, np.sqrt(s2), truth.shape)
        eps = self.rng.standard_normal(truth.shape)
        z = np.sqrt(s2) * eps  # a bucket seen for the first time: its error at its lag
        shift = -1 if self.bucket is None else bucket - self.bucket
        if 0 <= shift < truth.shape[1]:
            kept = truth.shape[1] - shift  # buckets reviewed last time, now at lags 0 .. kept - 1
            was, now = s2[shift:], s2[:kept]
            keep = np.divide(now, was, out=np.ones_like(now), where=was > 0)  # <= 1: s2 does not fall with lag
            z[:, :kept] = keep * self.z[:, shift:] + np.sqrt(now * (1 - keep)) * eps[:, :kept]
        self.bucket, self.z = bucket, z
        # Mean 1 at every lag: the error is noise, the bias is the bias.
        return level * np.exp(z - s2 / 2)
