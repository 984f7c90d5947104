"""The sales team's error grows with the lag and its views evolve from cycle to cycle (the Martingale Model of
Forecast Evolution: Heath & Jackson 1994; Graves, Meal, Dasu & Qiu 1986; Güllü 1996).

The MMFE says the log-error of a view at lag L is the sum of the independent revisions still to come, so its
variance is s2(L) = L x s2(1) with revisions of equal variance, the view reaches the truth at lag 0, and the
revisions of one bucket are uncorrelated with each other and with the error left after them. The tests drive the
demand reviews of the example company (12 products, 16 buckets a review) over many seeds, without simulating
the days between them (the sales view does not depend on what happened), and compare with theory within four
standard errors of the estimates.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import simsop
from simsop.planning.cycle import PlanningCycle
from simsop.planning.policy import make_policy
from simsop.replication import build_world, run_replication
from simsop.scenario import Scenario, ScenarioError

EXAMPLE = simsop.load_scenario("scenarios/example_company.yaml")
CYCLES = 24
SEEDS = range(1, 41)


def with_sales(sc: Scenario, **sales: Any) -> Scenario:
    """The scenario with its sales input replaced (keys not given take their defaults)."""
    data = sc.model_dump(mode="json", by_alias=True, exclude_unset=True)
    data["planning"]["sales"] = sales
    return simsop.parse_scenario(data)


def reviews(sc: Scenario, seed: int, cycles: int = CYCLES) -> tuple[np.ndarray, np.ndarray]:
    """The sales views of ``cycles`` consecutive demand reviews (cycles x products x lags, units) and the true
    mean demand they started from (same shape)."""
    policy = make_policy("chase", {})
    assert policy is not None
    cyc = PlanningCycle(build_world(sc, seed=seed), sc, policy, {})
    views, truths = [], []
    for c in range(cycles):
        snap = cyc.cutoff(cyc.first + c)
        views.append(cyc.demand_review(c, snap)["sales"])
        b = snap.bucket
        truths.append(np.stack([cyc.true_daily[:, cyc.starts[b + j] + cyc.day0: cyc.starts[b + j + 1] + cyc.day0]
                                .sum(axis=1) for j in range(views[-1].shape[1])], axis=1))
    return np.stack(views), np.stack(truths)


def log_errors(sc: Scenario) -> np.ndarray:
    """log(sales view / truth) over the seeds: seeds x cycles x products x lags."""
    out = []
    for seed in SEEDS:
        view, truth = reviews(sc, seed)
        out.append(np.log(view / truth))
    return np.stack(out)


def assert_variance(x: np.ndarray, expected: float, what: str) -> None:
    """The sample variance of independent normal draws x is ``expected`` within 4 standard errors
    (sqrt(2 / (n - 1)) sigma^2)."""
    n = x.size
    se = math.sqrt(2.0 / (n - 1)) * expected
    assert abs(float(np.var(x, ddof=1)) - expected) <= 4 * se + 1e-15, (what, float(np.var(x, ddof=1)), expected)


def assert_uncorrelated(x: np.ndarray, y: np.ndarray, what: str) -> None:
    """The sample correlation of n independent pairs is 0 within 4 standard errors (1 / sqrt(n))."""
    r = float(np.corrcoef(x.ravel(), y.ravel())[0, 1])
    assert abs(r) <= 4 / math.sqrt(x.size), (what, r)


@pytest.mark.parametrize("evolution", ["martingale", "independent"])
def test_the_error_s_log_variance_grows_linearly_with_the_lag(evolution: str) -> None:
    """noise 0.1 is the CV at lag 1 (log-variance log(1.01)); by default the log-variance at lag L is L times
    that, so 0 at lag 0 and 0.149 at lag 15, with mean -s2(L)/2 (a view of mean 1 x the truth). Each lag pools
    40 seeds x 24 reviews x 12 products, distinct buckets, so independent draws. (The old sales team had the
    same CV of 0.1 at every lag, lag 0 included.)"""
    sc = with_sales(EXAMPLE, bias=0.05, noise=0.1, evolution=evolution)
    x = log_errors(sc) - math.log(1.05)
    s1 = math.log1p(0.1**2)
    np.testing.assert_allclose(x[..., 0], 0.0, atol=1e-12)
    for lag in range(1, x.shape[-1]):
        at = x[..., lag]
        expected = lag * s1
        assert_variance(at, expected, f"lag {lag}")
        assert abs(float(at.mean()) + expected / 2) <= 4 * math.sqrt(expected / at.size), (lag, float(at.mean()))


def test_a_planner_s_error_by_lag_table_is_the_error_by_lag() -> None:
    """noise_by_lag gives the CV at lags 0, 1, 2, ...; the last holds for all further lags."""
    cv = (0.02, 0.05, 0.1, 0.2)
    x = log_errors(with_sales(EXAMPLE, noise_by_lag=list(cv)))
    for lag in range(x.shape[-1]):
        assert_variance(x[..., lag], math.log1p(cv[min(lag, len(cv) - 1)] ** 2), f"lag {lag}")


def test_a_bucket_s_view_is_revised_by_uncorrelated_revisions_and_reaches_the_truth() -> None:
    """Under martingale evolution a bucket's view at lag L - 1 is the view at lag L revised by an independent
    step: the revision has variance s2(L) - s2(L - 1) = s2(1) (a redraw would move it by s2(L) + s2(L - 1)),
    is uncorrelated with the bucket's previous revision (a redraw correlates them by -1/2) and with the error
    left after it (the later forecast uses what the revision learnt), and at lag 0 the view is the truth.
    Given the truth the view cannot also be uncorrelated with the revision that follows it: its error must
    shrink, so that revision takes back part of it (covariance -s2(1)); the MMFE's martingale holds over the
    uncertain truth, which the simulation knows."""
    x = log_errors(with_sales(EXAMPLE, noise=0.1))  # seeds x cycles x products x lags
    s1 = math.log1p(0.1**2)
    # The same bucket in consecutive reviews: lag L at cycle c is lag L - 1 at cycle c + 1.
    for lag in (2, 6, 12):
        before, now, after = x[:, :-2, :, lag], x[:, 1:-1, :, lag - 1], x[:, 2:, :, lag - 2]
        revision, next_revision = now - before, after - now
        assert_variance(revision, s1, f"revision at lag {lag}")
        assert_uncorrelated(revision, next_revision, f"consecutive revisions at lag {lag}")
        assert_uncorrelated(revision, now, f"revision and the error left, lag {lag}")
        cov = float(np.mean((revision - revision.mean()) * (before - before.mean())))
        assert abs(cov + s1) <= 4 * s1 * math.sqrt(lag + 1) / math.sqrt(revision.size), (lag, cov)
    np.testing.assert_allclose(x[..., 0], 0.0, atol=1e-12)


@pytest.mark.parametrize("evolution", ["martingale", "independent"])
def test_without_noise_the_sales_view_is_the_truth_with_its_bias(evolution: str) -> None:
    """noise 0: every view is exactly the true mean demand x (1 + bias), at every lag and cycle; a CV table of
    zeros is the same."""
    for sales in ({"noise": 0.0}, {"noise_by_lag": [0.0]}):
        view, truth = reviews(with_sales(EXAMPLE, bias=0.2, evolution=evolution, **sales), seed=3, cycles=6)
        np.testing.assert_array_equal(view, truth * 1.2)


def test_the_same_seed_gives_the_same_views_bit_for_bit_and_the_old_sales_team_is_kept() -> None:
    """Two runs of one seed give identical sales views under martingale evolution, another seed others;
    ``noise_growth: 0, evolution: independent`` is the sales team before the MMFE: one lognormal of CV
    ``noise`` drawn afresh for every lag, lag 0 included."""
    sc = with_sales(EXAMPLE, noise=0.1, evolution="martingale")
    a, _ = reviews(sc, seed=5)
    b, _ = reviews(sc, seed=5)
    c, _ = reviews(sc, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    old = log_errors(with_sales(EXAMPLE, noise=0.1, noise_growth=0.0, evolution="independent"))
    for lag in (0, 1, 15):
        assert_variance(old[..., lag], math.log1p(0.1**2), f"lag {lag}")
    assert_uncorrelated(old[:, :-1, :, 5], old[:, 1:, :, 4], "a bucket's old views in consecutive reviews")


def test_the_sales_views_do_not_depend_on_the_policy() -> None:
    """Common random numbers: the sales team's views (records table forecasts) are the same draws whatever the
    plans did, so two policies on one seed are compared on the same sales input. Chase and level plan
    differently on the example company, and the statistical forecasts they see differ."""
    sc = with_sales(EXAMPLE, bias=0.05, noise_by_lag=[0.0, 0.08, 0.12, 0.15])
    sc = sc.model_copy(update={"horizon": 300, "warmup": 0})
    frames = {}
    for policy in ("chase", "level"):
        rec = run_replication(sc, seed=11, policy=policy, keep_records=True).records
        assert rec is not None
        frames[policy] = rec.to_frames()["forecasts"]
    chase, level = frames["chase"], frames["level"]
    assert len(chase) == len(level) > 0
    np.testing.assert_array_equal(chase["sales"].to_numpy(), level["sales"].to_numpy())
    assert not np.array_equal(chase["statistical"].to_numpy(), level["statistical"].to_numpy())


@pytest.mark.parametrize(("sales", "message"), [
    ({"noise": 0.1, "noise_by_lag": [0.0, 0.1]}, "noise_by_lag gives the error at every lag: leave out noise"),
    ({"noise_by_lag": [0.0, 0.2, 0.1]}, "noise_by_lag [0.0, 0.2, 0.1] falls with the lag"),
    ({"evolution": "redraw"}, "planning.sales.evolution: Input should be 'martingale' or 'independent'"),
    ({"noise_growth": -1}, "planning.sales.noise_growth: Input should be greater than or equal to 0"),
])
def test_a_bad_sales_input_names_its_key(sales: dict[str, Any], message: str) -> None:
    data = EXAMPLE.model_dump(mode="json", by_alias=True, exclude_unset=True)
    data["planning"]["sales"] = sales
    with pytest.raises(ScenarioError, match=r"planning\.sales") as err:
        simsop.parse_scenario(data)
    assert message in str(err.value)


def test_a_falling_error_table_is_fine_for_independent_draws() -> None:
    """Only a revised view must get better closer to its bucket: redrawn ones may be any table."""
    sc = with_sales(EXAMPLE, noise_by_lag=[0.0, 0.2, 0.1], evolution="independent")
    assert sc.planning.sales.noise_by_lag == (0.0, 0.2, 0.1)
