"""The simulator against exact inventory theory (Zipkin, "Foundations of Inventory Management"; Axsäter,
"Inventory Control"; Snyder & Shen, "Fundamentals of Supply Chain Theory").

Every assertion is |simulated mean - exact| <= 4 standard errors of the replications' mean.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from simsop.replication import run_replication
from tests.helpers import assert_close_to_theory, kpi_samples, scenario, single_stock_point

REPS = 16


def _poisson(mean: float, k: np.ndarray) -> np.ndarray:
    return stats.poisson.pmf(k, mean)


@pytest.mark.parametrize(("mu", "lead", "level"), [(5.0, 2, 20), (3.0, 0, 5), (8.0, 4, 45)])
def test_periodic_base_stock_poisson(mu: float, lead: int, level: int) -> None:
    """Periodic review (R = 1), order-up-to S, Poisson daily demand, lead time L, backorders.

    The net inventory at the end of a period is S - D(L+1), so
    E[on hand] = E[(S - D)^+], E[backorders] = E[(D - S)^+], CSL = P(D <= S), and the fill rate is
    1 - (E[(D_{L+1} - S)^+] - E[(D_L - S)^+]) / mu (Zipkin ch. 6; Axsäter sec. 5.11).
    """
    sc = scenario(single_stock_point({"daily": {"dist": "poisson", "mean": mu}},
                                     {"type": "base_stock", "level": level, "review_period": 1},
                                     lead_time=lead, initial=level, horizon=3000, warmup=100))
    k = np.arange(0, 400)
    p1 = _poisson(mu * (lead + 1), k)
    pl = _poisson(mu * lead, k) if lead > 0 else (k == 0).astype(float)
    on_hand = float(np.sum(np.maximum(level - k, 0) * p1))
    backorders = float(np.sum(np.maximum(k - level, 0) * p1))
    csl = float(stats.poisson.cdf(level, mu * (lead + 1)))
    fill = 1 - (backorders - float(np.sum(np.maximum(k - level, 0) * pl))) / mu
    s = kpi_samples(sc, REPS, keys=("avg_on_hand", "avg_backlog", "cycle_service_level", "fill_rate"))
    assert_close_to_theory(s["avg_on_hand"], on_hand, "E[on hand]")
    assert_close_to_theory(s["avg_backlog"], backorders, "E[backorders]")
    assert_close_to_theory(s["cycle_service_level"], csl, "cycle service level")
    assert_close_to_theory(s["fill_rate"], fill, "fill rate")


def test_periodic_base_stock_review_period() -> None:
    """Review every R = 4 days with L = 0: at the end of a review period NI = S - D(R); CSL = P(D(R) <= S)."""
    mu, R, S = 4.0, 4, 22
    sc = scenario(single_stock_point({"daily": {"dist": "poisson", "mean": mu}},
                                     {"type": "base_stock", "level": S, "review_period": R},
                                     lead_time=0, initial=S, horizon=4000, warmup=100))
    s = kpi_samples(sc, REPS, keys=("cycle_service_level", "avg_on_hand"))
    assert_close_to_theory(s["cycle_service_level"], float(stats.poisson.cdf(S, mu * R)), "CSL (R=4)")
    # Average over the R days of a cycle of E[(S - D(j))^+], j = 1..R.
    k = np.arange(0, 300)
    oh = np.mean([np.sum(np.maximum(S - k, 0) * _poisson(mu * j, k)) for j in range(1, R + 1)])
    assert_close_to_theory(s["avg_on_hand"], float(oh), "E[on hand] (R=4)")


@pytest.mark.parametrize(("mu", "R", "lead", "S"), [(5.0, 7, 3, 55), (4.0, 4, 2, 26), (3.0, 5, 2.5, 24)])
def test_cycle_service_level_of_a_periodic_base_stock_covers_review_and_lead_time(mu: float, R: int, lead: float,
                                                                                  S: int) -> None:
    """A review's order protects the R + L days until the next review's order arrives, so the textbook cycle
    service level is P(D(R + L) <= S), not the chance of no backlog at the next review (P(D(R) <= S)). The
    KPI reads end-of-day stock: with L = 2.5 the order arrives at midday and the cycle is judged at the end of
    the day before, on D(R + 2) (the documented daily granularity)."""
    sc = scenario(single_stock_point({"daily": {"dist": "poisson", "mean": mu}},
                                     {"type": "base_stock", "level": S, "review_period": R},
                                     lead_time=lead, initial=S, horizon=3000, warmup=100))
    s = kpi_samples(sc, REPS, keys=("cycle_service_level",))
    exposed = R + int(np.floor(lead))
    assert_close_to_theory(s["cycle_service_level"], float(stats.poisson.cdf(S, mu * exposed)), "CSL (R + L)")


def _erlang_b(servers: int, load: float) -> float:
    b = 1.0
    for n in range(1, servers + 1):
        b = load * b / (n + load * b)
    return b


@pytest.mark.parametrize(("lam", "lead", "level"), [(4.0, 3.0, 12), (2.0, 5.0, 8)])
def test_one_for_one_lost_sales_is_erlang_loss(lam: float, lead: float, level: int) -> None:
    """(S-1, S) with Poisson unit demand and lost sales: units on order behave like an M/G/S/S loss system,
    so the lost fraction is Erlang B(S, lambda L) and E[on hand] = S - lambda L (1 - B) (Axsäter 5.9)."""
    sc = scenario(single_stock_point({"orders_per_day": lam, "quantity": 1},
                                     {"type": "one_for_one", "level": level}, lead_time=lead,
                                     initial=level, horizon=4000, warmup=100, unmet="lost_sale"))
    s = kpi_samples(sc, REPS, keys=("lost_sales_units", "demand_units", "avg_on_hand", "fill_rate"))
    b = _erlang_b(level, lam * lead)
    assert_close_to_theory(s["lost_sales_units"] / s["demand_units"], b, "lost fraction")
    assert_close_to_theory(s["fill_rate"], 1 - b, "fill rate")
    assert_close_to_theory(s["avg_on_hand"], level - lam * lead * (1 - b), "E[on hand]")


def test_one_for_one_lost_sales_with_random_lead_time() -> None:
    """Erlang's loss formula is insensitive to the service-time distribution: gamma lead times, same B. Units on
    order are an M/G/S/S system because each order keeps its own lead time (``deliveries: independent``, the
    default, said here since the result depends on it): in order a late unit holds up those behind it, and the
    loss is about 36% instead of 10%."""
    lam, level = 3.0, 10
    data = single_stock_point({"orders_per_day": lam, "quantity": 1}, {"type": "one_for_one", "level": level},
                              lead_time={"dist": "gamma", "mean": 2.5, "sd": 1.5},
                              initial=level, horizon=4000, warmup=100, unmet="lost_sale")
    data["suppliers"][0]["deliveries"] = "independent"
    sc = scenario(data)
    s = kpi_samples(sc, REPS, keys=("lost_sales_units", "demand_units"))
    assert_close_to_theory(s["lost_sales_units"] / s["demand_units"], _erlang_b(level, lam * 2.5),
                           "lost fraction")


def test_continuous_rq_poisson() -> None:
    """(r, Q), continuous review, Poisson unit demand, backorders: the inventory position is uniform on
    {r+1, ..., r+Q} and NI(t) = IP(t-L) - D(t-L, t) (Zipkin ch. 6; Axsäter 5.3). At the end of a day:
    E[OH] = E[NI^+], E[BO] = E[NI^-]; the fill rate (PASTA) is P(NI > 0) before a demand."""
    lam, lead, r, Q = 3.0, 2.0, 5, 8
    sc = scenario(single_stock_point({"orders_per_day": lam, "quantity": 1}, {"type": "rQ", "r": r, "Q": Q},
                                     lead_time=lead, initial=r + Q, horizon=4000, warmup=100))
    k = np.arange(0, 200)
    pd_ = _poisson(lam * lead, k)
    ips = np.arange(r + 1, r + Q + 1)
    oh = np.mean([np.sum(np.maximum(y - k, 0) * pd_) for y in ips])
    bo = np.mean([np.sum(np.maximum(k - y, 0) * pd_) for y in ips])
    fill = np.mean([stats.poisson.cdf(y - 1, lam * lead) for y in ips])
    ready = np.mean([stats.poisson.cdf(y, lam * lead) for y in ips])
    s = kpi_samples(sc, REPS, keys=("avg_on_hand", "avg_backlog", "fill_rate", "cycle_service_level"))
    assert_close_to_theory(s["avg_on_hand"], float(oh), "E[on hand]")
    assert_close_to_theory(s["avg_backlog"], float(bo), "E[backorders]")
    assert_close_to_theory(s["fill_rate"], float(fill), "fill rate")
    # A cycle runs from one receipt to the next: the order placed when IP fell to r protects the lead time,
    # and a unit demand finds the shelf empty before it arrives iff D(L) > r, so CSL = P(D(L) <= r), well
    # below the share of time with stock on hand (P(NI > 0), the fill rate).
    assert_close_to_theory(s["cycle_service_level"], float(stats.poisson.cdf(r, lam * lead)), "CSL P(D(L) <= r)")
    assert s["cycle_service_level"].mean() < ready - 0.2


@pytest.mark.parametrize(("policy", "lam", "lead", "exact"), [
    ({"type": "sS", "s": 3, "S": 10, "review_period": 0}, 2.0, 1.5, ("P(D(L) <= s)", 3)),
    ({"type": "one_for_one", "level": 8}, 2.0, 3.0, ("P(D(L) <= S - 1)", 7)),
])
def test_cycle_service_level_of_other_continuous_reviews(policy: dict[str, Any], lam: float, lead: float,
                                                         exact: tuple[str, int]) -> None:
    """Continuous (s, S) with unit demand is (r, Q) with r = s: P(D(L) <= s). One-for-one orders a unit at each
    demand with the position back at S, so net stock just before that unit arrives is S - 1 - D(L)."""
    sc = scenario(single_stock_point({"orders_per_day": lam, "quantity": 1}, policy, lead_time=lead,
                                     initial=10, horizon=3000, warmup=100))
    s = kpi_samples(sc, REPS, keys=("cycle_service_level",))
    assert_close_to_theory(s["cycle_service_level"], float(stats.poisson.cdf(exact[1], lam * lead)), exact[0])


@pytest.mark.parametrize(("lam", "lead", "r", "Q"), [(10.0, 0.5, 3, 5), (1.0, 5.0, 6, 4)])
def test_cycle_service_level_of_continuous_review_is_no_stock_out_between_receipts(lam: float, lead: float, r: int,
                                                                                   Q: int) -> None:
    """(r, Q) with unit Poisson demand: no stock-out in a replenishment cycle with probability P(D(L) <= r)."""
    sc = scenario(single_stock_point({"orders_per_day": lam, "quantity": 1}, {"type": "rQ", "r": r, "Q": Q},
                                     lead_time=lead, initial=r + Q, horizon=3000, warmup=100))
    s = kpi_samples(sc, REPS, keys=("cycle_service_level",))
    assert_close_to_theory(s["cycle_service_level"], float(stats.poisson.cdf(r, lam * lead)), "CSL P(D(L) <= r)")


def test_periodic_ss_poisson_markov_chain() -> None:
    """(s, S) reviewed daily with Poisson demand: the position after ordering is a Markov chain on
    {s+1..S} (order up to S when the position falls to s or below); solve it exactly and compare E[OH]
    and E[BO] at the end of a period: NI = Y - D(L+1) with Y the position after ordering."""
    mu, lead, s_, S_ = 4.0, 1, 6, 18
    sc = scenario(single_stock_point({"daily": {"dist": "poisson", "mean": mu}},
                                     {"type": "sS", "s": s_, "S": S_, "review_period": 1},
                                     lead_time=lead, initial=S_, horizon=4000, warmup=100))
    states = np.arange(s_ + 1, S_ + 1)
    P = np.zeros((len(states), len(states)))
    for i, y in enumerate(states):
        for j, z in enumerate(states):
            # Next position before ordering is y - d; it becomes z directly, or S after an order.
            P[i, j] += stats.poisson.pmf(y - z, mu) if y >= z else 0.0
        P[i, -1] += stats.poisson.cdf(S_, mu) - stats.poisson.cdf(y - s_ - 1, mu) + stats.poisson.sf(S_, mu)
        P[i] /= P[i].sum()  # the last column collects every fall to s or below (and beyond zero)
    w, v = np.linalg.eig(P.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1))])
    pi = pi / pi.sum()
    k = np.arange(0, 300)
    pd_ = _poisson(mu * (lead + 1), k)
    oh = sum(p * np.sum(np.maximum(y - k, 0) * pd_) for p, y in zip(pi, states, strict=True))
    bo = sum(p * np.sum(np.maximum(k - y, 0) * pd_) for p, y in zip(pi, states, strict=True))
    s = kpi_samples(sc, REPS, keys=("avg_on_hand", "avg_backlog"))
    assert_close_to_theory(s["avg_on_hand"], float(oh), "E[on hand]")
    assert_close_to_theory(s["avg_backlog"], float(bo), "E[backorders]")


def test_newsvendor_quantile_is_the_best_base_stock_level() -> None:
    """With L = 0 and R = 1, each day is a newsvendor: expected daily cost h E[(S-D)^+] + b E[(D-S)^+]
    is minimised at the critical fractile b/(b+h). The simulated cost at the fractile beats its neighbours,
    and matches the closed form."""
    mu, h, b = 10.0, 1.0, 4.0
    best = int(stats.poisson.ppf(b / (b + h), mu))

    def cost(level: int) -> tuple[np.ndarray, float]:
        data = single_stock_point({"daily": {"dist": "poisson", "mean": mu}},
                                  {"type": "base_stock", "level": level, "review_period": 1},
                                  lead_time=0, initial=level, horizon=3000, warmup=10,
                                  products=[{"id": "A", "price": 0, "unit_cost": 0, "holding_cost": h,
                                             "backorder_penalty": b}])
        s = kpi_samples(scenario(data), 8, keys=("holding_cost", "backorder_cost"))
        k = np.arange(0, 200)
        p = _poisson(mu, k)
        exact = h * np.sum(np.maximum(level - k, 0) * p) + b * np.sum(np.maximum(k - level, 0) * p)
        return (s["holding_cost"] + s["backorder_cost"]) / 2990, float(exact)

    at_best, exact_best = cost(best)
    assert_close_to_theory(at_best, exact_best, "newsvendor daily cost")
    for other in (best - 3, best + 3):
        c, exact = cost(other)
        assert exact > exact_best
        assert c.mean() > at_best.mean()


def test_lost_sales_never_backlog() -> None:
    sc = scenario(single_stock_point({"daily": {"dist": "poisson", "mean": 5}},
                                     {"type": "base_stock", "level": 8, "review_period": 1}, lead_time=1,
                                     initial=8, horizon=300, unmet="lost_sale"))
    s = kpi_samples(sc, 3, keys=("avg_backlog", "lost_sales_units", "otif"))
    assert np.all(s["avg_backlog"] == 0)
    assert np.all(s["lost_sales_units"] > 0)
    assert math.isfinite(float(s["otif"].mean()))


@pytest.mark.parametrize(("cover", "window", "lead"), [(3, 5, 2), (3, 10, 2), (6, 8, 5)])
def test_bullwhip_of_an_order_up_to_policy_with_a_moving_average_forecast(cover: int, window: int,
                                                                           lead: int) -> None:
    """Chen, Drezner, Ryan & Simchi-Levi (2000): an order-up-to level of cover x the moving average of the
    last `window` periods' i.i.d. demand gives orders q_t = D_{t-1} + (cover/window)(D_{t-1} - D_{t-1-window}),
    so Var(q) / Var(D) = 1 + 2 cover/window + 2 cover²/window² exactly (a fixed safety stock changes nothing).

    Measured per replication as the variance of the daily replenishment orders over that of daily demand.
    """
    horizon, warmup = 1500, 100
    sc = scenario(single_stock_point({"daily": {"dist": "poisson", "mean": 100}},
                                     {"type": "forecast_base_stock", "cover": cover, "window": window,
                                      "safety_stock": 50},
                                     lead_time=lead, initial=100 * cover + 50, horizon=horizon, warmup=warmup))
    ratios = []
    for r in range(12):
        rec = run_replication(sc, seed=4, replication=r, keep_records=True).records
        assert rec is not None
        days = np.arange(warmup, horizon - 1)
        ro = rec.replenishments
        orders = np.bincount(ro["time"].astype(int), weights=ro["qty"], minlength=horizon)[days + 1]
        placed = rec.orders["time"][rec.lines["order_id"].astype(int)]
        demand = np.bincount(placed.astype(int), weights=rec.lines["qty"], minlength=horizon)[days]
        assert (orders > 0).all()  # never a negative order cut to zero: the identity above holds exactly
        ratios.append(orders.var(ddof=1) / demand.var(ddof=1))
    exact = 1 + 2 * cover / window + 2 * cover**2 / window**2
    assert_close_to_theory(np.array(ratios), exact, f"bullwhip (cover {cover}, window {window})")


def test_forecast_order_up_to_level_by_hand() -> None:
    """The level is cover x forecast + z x sd(window) + safety stock; the forecast starts at the stock
    point's mean demand, and the first review (which closes no full period) teaches it nothing."""
    from types import SimpleNamespace

    from simsop.model.replenishment import ForecastOrderUpTo

    class Point:  # the little of a warehouse a rule reads
        index = 0
        world = SimpleNamespace(nominal_demand={(0, 0): 10.0})
        pos = 100.0

        def position(self, item: int) -> float:
            return self.pos

    wh = Point()
    ma = ForecastOrderUpTo(cover=3, window=4, z=2.0, safety_stock=5.0)
    ma.bind(wh, 0)  # type: ignore[arg-type]
    assert ma.order_qty(100.0) == 0.0 and ma.level() == pytest.approx(35.0)  # 3 x 10 + 2 x 0 + 5
    assert ma.order_qty(80.0) == 0.0  # 20 units of demand since the last review
    sd = float(np.std([10, 10, 10, 20], ddof=1))
    assert ma.level() == pytest.approx(3 * 12.5 + 2 * sd + 5)
    # 60 more units: the window is 10, 10, 20, 60 (mean 25); it orders up from the position 20.
    assert ma.order_qty(20.0) == pytest.approx(3 * 25 + 2 * float(np.std([10, 10, 20, 60], ddof=1)) + 5 - 20)
    ses = ForecastOrderUpTo(cover=2, window=3, alpha=0.5, initial_forecast=8.0)
    ses.bind(wh, 0)  # type: ignore[arg-type]
    ses.order_qty(100.0)
    ses.order_qty(90.0)  # 10 units: 0.5 x 10 + 0.5 x 8 = 9
    assert ses.forecast == pytest.approx(9.0) and ses.level() == pytest.approx(18.0)
