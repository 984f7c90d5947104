"""The S&OP cycle as a SimPy process: cut-off, demand review, supply review, executive meeting, go-live.

Each cycle starts at a bucket's first day with the data cut-off: the order book (booked customer orders
net of cancellations, which hides demand lost to stock-outs) and the stock position are frozen as the
cycle's information. The demand review forecasts from that history and takes the sales team's (possibly
biased) view; the supply review asks the policy for a plan; the executive meeting applies the consensus
rule and the time fences and records the plan version; the plan goes live ``plan_delay_days`` later,
from the first bucket that starts then. Cycles overlap when their steps outlast a bucket.

The plan drives the factories: planned production replaces the pull orders of the warehouses that the
factories supply directly (they become push destinations); warehouses further down keep their own
replenishment policies, optionally re-levelled from the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from statistics import NormalDist  # the z of a service level: no scipy import at start-up
from typing import Any

import numpy as np

from simsop.demand import daily_units, expected_units
from simsop.model.records import Table
from simsop.model.replenishment import MinMaxRule, NoRule, OrderUpTo, ReorderPointRule
from simsop.model.warehouse import WarehouseSite
from simsop.model.world import RECEIPT, SNAPSHOT, World
from simsop.planning import budget
from simsop.planning import forecast as fc
from simsop.planning.policy import (
    Plan,
    PlanningState,
    Policy,
    PolicyError,
    available_policies,
    make_policy,
    slushy_interval,
)
from simsop.planning.sales_input import SalesView
from simsop.planning.spec import PlanningSpec
from simsop.scenario import MinMax, ReorderPointQuantity, Scenario
from simsop.shocks import PLANNED_TYPES, nominal_demand, stream_profile

_MONTH_STARTS = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


def bucket_starts(bucket: str | int, first_day: int, last_day: int) -> np.ndarray:
    """Start days of the planning buckets covering [first_day, last_day], aligned on day 0."""
    if bucket == "month":
        years = range(first_day // 365 - 1, last_day // 365 + 2)
        starts = [y * 365 + m for y in years for m in _MONTH_STARTS]
    else:
        n = 7 if bucket == "week" else int(bucket)
        starts = list(range((first_day // n - 1) * n, last_day + 2 * n, n))
    arr = np.asarray(starts, dtype=int)
    lo = np.searchsorted(arr, first_day, side="right") - 1
    hi = np.searchsorted(arr, last_day, side="right") + 1
    return arr[max(lo, 0): hi + 1]


def cycle_buckets(spec: PlanningSpec, horizon: int) -> tuple[np.ndarray, int]:
    """The bucket calendar of the S&OP cycle: start days reaching back over the forecast history and ahead past
    the last plan, and the index of the bucket that starts on day 0."""
    max_len = 31 if spec.bucket == "month" else (7 if spec.bucket == "week" else int(spec.bucket))
    lookahead = (spec.horizon_buckets + 4) * max_len + spec.executive_meeting_day + spec.plan_delay_days
    starts = bucket_starts(spec.bucket, -spec.history_buckets * max_len, horizon + lookahead)
    return starts, int(np.searchsorted(starts, 0))


def step_days(spec: PlanningSpec, start: int, length: int) -> tuple[int, int, int, int]:
    """Days of a cycle's demand review, supply review, executive meeting and go-live, for the bucket that
    starts on day ``start`` and lasts ``length`` days (steps past the bucket's last day happen on it)."""
    last = length - 1
    review = start + min(spec.demand_review_day, last)
    supply = max(review, start + min(spec.supply_review_day, last))
    meeting = max(supply, start + min(spec.executive_meeting_day, last))
    return review, supply, meeting, meeting + spec.plan_delay_days


def planned_cycles(spec: PlanningSpec, horizon: int) -> list[int]:
    """The cycles whose policy is asked for a plan within the horizon (their supply review comes before it),
    as the first planning bucket of each, cycle 0 first; buckets are counted from the one starting on day 0,
    as ``PlanningState.bucket_index`` counts them."""
    starts, first = cycle_buckets(spec, horizon)
    out = []
    b = first
    while starts[b] < horizon:
        _, supply, _, effective = step_days(spec, int(starts[b]), int(starts[b + 1] - starts[b]))
        if supply >= horizon:
            break
        out.append(int(np.searchsorted(starts, effective, side="left")) - first)
        b += 1
    return out


def season_length(bucket: str | int) -> int:
    if bucket == "month":
        return 12
    if bucket == "week":
        return 52
    return max(1, round(365 / int(bucket)))


@dataclass
class _Cutoff:
    """What the company knew at a cut-off."""

    bucket: int  # absolute bucket index (into starts)
    day: int
    on_hand: np.ndarray
    backlog: np.ndarray
    position: np.ndarray
    history: np.ndarray  # products x past buckets (units)
    history_days: np.ndarray


def _read_only(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.setflags(write=False)


class PlanningCycle:
    """Runs the S&OP cycles of one replication and records every plan version and forecast."""

    def __init__(self, world: World, scenario: Scenario, policy: Policy,
                 params: dict[str, Any] | None = None) -> None:
        self.world = world
        self.params = dict(params or {})
        self.sc = scenario
        self.spec: PlanningSpec = scenario.planning
        self.policy = policy
        spec = self.spec
        H = world.horizon
        self.n_products = len(scenario.products)
        families = scenario.families
        self.families = families
        self.product_family = np.array([families.index(p.family) for p in scenario.products])
        self.products = tuple(p.id for p in scenario.products)
        self.factory_of = np.full(self.n_products, -1)
        for f in reversed(world.factories):  # the first factory listing a product makes it
            for p in f.products:
                self.factory_of[p] = f.index
        # Products a make-to-order plant makes: the plan sets that plant's capacity, the orders what it makes.
        self.made_to_order = np.array([f >= 0 and world.factories[f].make_to_order for f in self.factory_of],
                                      dtype=bool)
        self.starts, self.first = cycle_buckets(spec, H)
        self.lengths = np.diff(self.starts)
        self.m = spec.forecast.season_length or season_length(spec.bucket)
        self.sales_rng = world.streams.rng("planning:sales")
        self.review_lags = spec.horizon_buckets + 4  # buckets each demand review forecasts, from the current one
        self.sales_view = SalesView(spec.sales, self.n_products, self.review_lags, self.sales_rng)
        self._prior_rmse: np.ndarray | None = None  # the safety stock's sigma before the plans have errors
        # Mean daily demand per product over the whole look-ahead: the market's truth the sales team sees,
        # with the commercial events the company plans (launches, promotions, phase-outs) but no surprises.
        end = int(self.starts[-1])
        pre = int(-self.starts[0])
        self.true_daily = np.zeros((self.n_products, end + pre))
        hist_daily = np.zeros((self.n_products, pre))
        days = np.arange(-pre, end)
        nominal = nominal_demand(scenario)
        for c in scenario.customers:
            for d in c.demand:
                p = world.product_index(d.product)
                known = stream_profile(world.shocks_realised, c.id, d.product, days, nominal, PLANNED_TYPES)
                truth = expected_units(d, end + pre, first_day=-pre)
                self.true_daily[p] += truth if known is None else truth * known
                rng = world.streams.rng(f"prehistory:{c.id}:{d.product}")
                past = daily_units(d, pre, rng, first_day=-pre)
                # Before day 0 only a launch differs: a product launched during the run never sold before it.
                hist_daily[p] += past if known is None else past * known[:pre]
        self.day0 = pre  # index of day 0 in true_daily
        # Bucket sales, absolute bucket index -> units per product; the past before day 0 is synthetic.
        self.sales: dict[int, np.ndarray] = {}
        for b in range(self.first):
            a, z = self.starts[b] + pre, self.starts[b + 1] + pre
            self.sales[b] = hist_daily[:, max(a, 0): max(z, 0)].sum(axis=1)
        self.cum_booked = np.zeros(self.n_products)
        world.on_finish.append(self._close_last_bucket)
        if spec.inventory_budget is not None:
            # The table exists only with a budget: runs without one keep the records (and their digests) they had.
            world.records.tables.setdefault(budget.TABLE, Table(budget.TABLE, budget.BudgetLine))
        self.in_force: dict[int, np.ndarray] = {}  # production per product for each bucket in force
        self.in_force_subcontract: dict[int, np.ndarray] = {}  # units bought per product, likewise
        self.in_force_workforce: dict[int, np.ndarray] = {}  # regular capacity per factory (nan: unchanged)
        self.plan_mode = False
        self.nominal_rate = np.zeros(self.n_products)
        self.direct_rate: dict[tuple[int, int], float] = {}  # (warehouse, item) -> its customers' units a day
        wix = {wh.name: wh for wh in world.warehouses}
        for c in scenario.customers:
            wh = wix[c.warehouse]
            for d in c.demand:
                p = world.product_index(d.product)
                self.nominal_rate[p] += d.mean_per_day
                key = (wh.index, wh.item_of[p])
                self.direct_rate[key] = self.direct_rate.get(key, 0.0) + d.mean_per_day
        # Plans are in good units; a plant scraps a share of what it starts, so it is asked for plan / yield
        # and can offer capacity x yield good units (the mean of its yield: the plan cannot know each draw).
        self.mean_yield = world.mean_yield
        # What each plant's lanes can carry away a day (good units: a plant ships what it made good), the logistics
        # limit of the supply review; None when no lane out of a plant has a capacity, so such runs plan as before.
        shipping = [world.shipping_capacity(f.index) for f in world.factories]
        self.shipping_capacity: np.ndarray | None = (
            None if all(k is None for k in shipping) else np.array([np.inf if k is None else k for k in shipping]))
        # The consensus forecast each bucket had when it was the first bucket of a plan, for the safety stock.
        self.plan_forecasts: dict[int, np.ndarray] = {}
        # Days from a plant's (or supplier's) shipment to the shelf of the stock point it feeds, per product.
        self.supply_lead_days = np.zeros(self.n_products)
        for wh in world.warehouses:
            for i, p in enumerate(wh.products):
                if wh.sources[i] is not None and not isinstance(wh.sources[i], WarehouseSite):
                    self.supply_lead_days[p] = max(self.supply_lead_days[p], self.world.replenishment_lead_time(wh, i))

    # ------------------------------------------------------------------ the process

    def run(self) -> Generator[Any, Any, None]:
        w = self.world
        env = w.env
        b = self.first
        cycle = 0
        while self.starts[b] < w.horizon:
            delay = self.starts[b] - env.now
            if delay > 0:
                yield w.tick(delay, SNAPSHOT)
            snap = self.cutoff(b)
            env.process(self.one_cycle(cycle, snap))
            b += 1
            cycle += 1

    def _at(self, day: float, priority: int) -> Any:
        w = self.world
        return w.tick(max(day - w.env.now, 0.0), priority)

    def one_cycle(self, cycle: int, snap: _Cutoff) -> Generator[Any, Any, None]:
        review, supply, meeting, effective = step_days(self.spec, snap.day, int(self.lengths[snap.bucket]))
        yield self._at(review, RECEIPT)
        views = self.demand_review(cycle, snap)
        yield self._at(supply, RECEIPT)
        first_bucket = int(np.searchsorted(self.starts, effective, side="left"))
        state = self.state(cycle, snap, views, first_bucket)
        proposal = self.policy.plan(state)
        plan = self.check_plan(proposal, state)
        yield self._at(meeting, RECEIPT)
        final = self.executive_meeting(cycle, state, plan, meeting, effective, first_bucket)
        if effective > meeting or effective > snap.day:
            yield self._at(effective, RECEIPT)
        self.apply(state, final, first_bucket)

    # ------------------------------------------------------------------ steps

    def _close_last_bucket(self, end: int) -> None:
        """Book the sales of the bucket that ends with the run (no cycle follows to close it), so that its
        forecasts are judged like every other bucket's; a bucket the run cuts short is not booked."""
        b = int(np.searchsorted(self.starts, end, side="left"))
        if b > self.first and b < len(self.starts) and int(self.starts[b]) == end and (b - 1) not in self.sales:
            self._book(b - 1)

    def _book(self, bucket: int) -> None:
        """Record the units customers booked in ``bucket``, which has just ended: the orders since the last
        booking."""
        cum = np.asarray(self.world.booked, dtype=float)
        units = cum - self.cum_booked
        self.sales[bucket] = units
        rec = self.world.records.tables["bucket_sales"].append
        for p in range(self.n_products):
            rec((bucket, p, float(units[p])))
        self.cum_booked = cum

    def cutoff(self, bucket: int) -> _Cutoff:
        """Close the books of the bucket that just ended, and freeze what the company knows."""
        w = self.world
        if bucket > self.first:
            self._book(bucket - 1)
        else:
            self.cum_booked = np.asarray(w.booked, dtype=float)
        on_hand = np.zeros(self.n_products)
        backlog = np.zeros(self.n_products)
        position = np.zeros(self.n_products)
        for wh in w.warehouses:
            for i, p in enumerate(wh.products):
                on_hand[p] += wh.on_hand[i]
                backlog[p] += wh.bo_ext[i]
                position[p] += wh.position(i)
        # Made-to-order work still queued at its plant is on order but not supply: the plan must staff it.
        for f in w.factories:
            if f.make_to_order:
                for job in f.queue:
                    position[job.product] -= job.remaining
        n = min(self.spec.history_buckets, bucket)
        past = range(bucket - n, bucket)
        history = np.stack([self.sales[b] for b in past], axis=1)
        return _Cutoff(bucket, int(self.starts[bucket]), on_hand, backlog, position, history,
                       self.lengths[bucket - n: bucket].astype(float))

    def demand_review(self, cycle: int, snap: _Cutoff) -> dict[str, np.ndarray]:
        """Statistical forecast, sales input and consensus per product for the next buckets (units)."""
        spec = self.spec
        n = self.review_lags
        b = snap.bucket
        days = self.lengths[b: b + n].astype(float)
        rates = snap.history / snap.history_days  # per-day rates: months differ in length
        stat = np.zeros((self.n_products, n))
        fits = []
        for p in range(self.n_products):
            f, method, params = self._stat_forecast(rates[p], n)
            stat[p] = np.maximum(f.values, 0.0) * days
            fits.append((method, params, f))
        naive = np.outer(rates[:, -1], days) if rates.shape[1] else stat.copy()
        truth = np.stack([self.true_daily[:, self.starts[b + j] + self.day0: self.starts[b + j + 1] + self.day0]
                          .sum(axis=1) for j in range(n)], axis=1)
        sales = self.sales_view.view(truth, b)
        w_sales, w_stat = self.consensus_weights()
        consensus = w_sales * sales + w_stat * stat
        rec = self.world.records.tables["forecasts"].append
        # Lists of Python floats: the values float() gives, without indexing numpy element by element.
        rows = zip(*(np.asarray(a, dtype=float).tolist() for a in (naive, stat, sales, consensus)), strict=True)
        for p, (nv, st, sa, co) in enumerate(rows):
            for j in range(n):
                rec((cycle, p, b + j, j, nv[j], st[j], sa[j], co[j]))
        views = {"statistical": stat, "sales": sales, "consensus": consensus, "naive": naive}
        ss_spec = spec.safety_stock
        if ss_spec is not None and self.forecast_errors(b).shape[1] < ss_spec.min_errors:
            # Reckoned once, at the first review, over the year before it: each rolling-origin pass costs a
            # forecast per past bucket, and the few buckets later reviews would add barely move a year's RMSE.
            if self._prior_rmse is None:
                methods = [fc.held_constants(method, params, f) for method, params, f in fits]
                self._prior_rmse = self.prior_rmse(snap, methods, self.first_bucket(b) - b)
            views["prior_rmse"] = self._prior_rmse
        return views

    def consensus_weights(self) -> tuple[float, float]:
        """The consensus rule as weights of the sales input and of the statistical forecast."""
        rule = self.spec.consensus
        if rule.rule == "statistical":
            return 0.0, 1.0
        if rule.rule == "sales":
            return 1.0, 0.0
        if rule.rule == "blend":
            return rule.weight, 1.0 - rule.weight
        return 1.0 - rule.haircut, 0.0

    def first_bucket(self, bucket: int) -> int:
        """The first bucket of the plan of the cycle whose cut-off opens ``bucket``: the first that starts on or
        after its go-live day."""
        effective = step_days(self.spec, int(self.starts[bucket]), int(self.lengths[bucket]))[3]
        return int(np.searchsorted(self.starts, effective, side="left"))

    def _stat_forecast(self, history: np.ndarray, n: int) -> tuple[fc.Forecast, str, dict[str, Any]]:
        """The statistical forecast of the next n per-day rates, with the method and parameters that made it."""
        spec = self.spec.forecast
        params = dict(spec.params)
        if spec.method in ("seasonal_naive", "holt_winters_additive", "holt_winters_multiplicative", "auto"):
            params.setdefault("m", self.m)
        if len(history) == 0:
            return fc.Forecast(np.zeros(n), np.zeros(0), spec.method), spec.method, params
        try:
            return fc.forecast(spec.method, history, n, **params), spec.method, params
        except ValueError:
            # Too little history for the method (e.g. Holt-Winters needs two seasons): smooth instead.
            return fc.ses(history, n, alpha=0.3), "ses", {"alpha": 0.3}

    def prior_rmse(self, snap: _Cutoff, methods: list[tuple[str, dict[str, Any]]], lag: int) -> np.ndarray:
        """Per product, the RMSE the consensus forecast would have had at ``lag`` over the history before the
        cut-off: the safety stock's sigma until the plans have errors of their own.

        The plan's first bucket lies ``lag`` buckets after the cut-off's (1 with monthly meetings on day 12), and
        the consensus there blends the sales team's view with the statistical forecast, so neither the
        statistical forecast's one-step in-sample fit nor its own error is the error the stock must cover. Each
        past bucket t is forecast as the demand review would have: the statistical forecast from a rolling origin
        ``lag + 1`` buckets ahead (:func:`simsop.planning.forecast.rolling_origin`, the method's fitted
        constants held), and the sales team's view by its error model, ``(1 + bias) x truth x`` a lognormal of
        mean 1 and log-variance s2 at that lag. With the consensus ``c = w_s S + w_f F``, the expected squared
        error over the sales team's error is exact, so no view need be drawn:

            E[(y_t - c_t)^2] = (y_t - w_f F_t - w_s (1 + bias) T_t)^2 + w_s^2 (1 + bias)^2 T_t^2 (exp(s2) - 1)

        sigma is the square root of its mean over the last season of history (a year of monthly buckets, the
        trailing twelve months of an S&OP accuracy review: every month once, and little of a trend's growth), over
        the buckets the method can forecast from an origin. Where it can forecast none (a history just long
        enough for it), its in-sample one-step fit stands in. The errors are in units of their own buckets, as
        the plans' own errors are: in a low season the prior is above the error to come, in a high one below.
        """
        hist, days = snap.history, snap.history_days
        n_products, n_hist = hist.shape
        out = np.zeros(n_products)
        if n_hist == 0:
            return out
        first = snap.bucket - n_hist
        edges = self.starts[first: snap.bucket + 1] + self.day0
        cum = np.concatenate([np.zeros((n_products, 1)), np.cumsum(self.true_daily[:, edges[0]: edges[-1]], axis=1)],
                             axis=1)
        truth = cum[:, edges[1:] - edges[0]] - cum[:, edges[:-1] - edges[0]]  # the market's mean, bucket by bucket
        w_sales, w_stat = self.consensus_weights()
        bias = self.spec.sales.bias
        s2 = float(self.sales_view.s2[lag])
        sales_mean = w_sales * (1 + bias) * truth
        sales_var = (w_sales * (1 + bias) * truth) ** 2 * np.expm1(s2)
        rates = hist / days
        window = min(self.m, n_hist)
        recent = np.arange(n_hist) >= n_hist - window
        for p, (method, params) in enumerate(methods):
            stat = np.zeros(n_hist)
            if w_stat > 0:
                stat = fc.rolling_origin(method, rates[p], lag, last=window, **params) * days
                if not np.isfinite(stat).any():
                    stat = np.asarray(fc.forecast(method, rates[p], 1, **params).fitted, dtype=float) * days
            ok = np.isfinite(stat) & recent
            if ok.any():
                err2 = (hist[p] - w_stat * stat - sales_mean[p]) ** 2 + sales_var[p]
                out[p] = float(np.sqrt(np.mean(err2[ok])))
        return out

    def state(self, cycle: int, snap: _Cutoff, views: dict[str, np.ndarray], first_bucket: int) -> PlanningState:
        """The read-only planning state handed to the policy."""
        spec = self.spec
        H = spec.horizon_buckets
        j0 = first_bucket - snap.bucket
        sl = slice(j0, j0 + H)
        buckets = range(first_bucket, first_bucket + H)
        days = self.lengths[first_bucket: first_bucket + H].astype(float)
        demand = views["consensus"][:, sl].copy()
        prev = np.full((self.n_products, H), np.nan)
        prev_sub = np.full((self.n_products, H), np.nan)
        for t, b in enumerate(buckets):
            if b in self.in_force:
                prev[:, t] = self.in_force[b]
            if b in self.in_force_subcontract:
                prev_sub[:, t] = self.in_force_subcontract[b]
        target = spec.days_of_cover * demand / days
        if spec.safety_stock is not None:
            target = target + self.safety_stock(views, snap.bucket, days)[:, None]
        target[self.made_to_order] = 0.0  # made for each order: no stock to hold
        # This cycle's forecast of its plan's first bucket is judged when that bucket's sales are in.
        self.plan_forecasts[first_bucket] = views["consensus"][:, j0].copy()
        # The buckets between the cut-off and the plan's first one still consume stock and still get the plan
        # in force: the plan starts from the stock they leave, not from the stock at the cut-off. Before any
        # plan is in force the warehouses still reorder what they sell, so such a bucket makes its demand plan.
        made_before = np.zeros(self.n_products)
        for j, b in enumerate(range(snap.bucket, first_bucket)):
            made_before += self.in_force.get(b, views["consensus"][:, j])
        w = self.world
        # Capacity in good units, as the plan counts its production.
        reg = np.array([f.regular if not f.lines else 0.0 for f in w.factories]) * self.mean_yield
        ot = np.array([f.overtime if not f.lines else 0.0 for f in w.factories]) * self.mean_yield
        prices = self.sc.products
        arrays = dict(
            product_family=self.product_family.copy(), bucket_start=self.starts[first_bucket: first_bucket + H].copy(),
            bucket_days=days, history=snap.history.copy(), demand_plan=demand,
            statistical_forecast=views["statistical"][:, sl].copy(), sales_input=views["sales"][:, sl].copy(),
            on_hand=snap.on_hand.copy(), backlog=snap.backlog.copy(),
            pipeline=snap.position - snap.on_hand + snap.backlog, factory_of=self.factory_of.copy(),
            regular_capacity=reg, overtime_capacity=ot, previous_production=prev,
            unit_cost=np.array([p.unit_cost for p in prices]), price=np.array([p.price for p in prices]),
            holding_per_day=np.array([p.holding_per_day for p in prices]),
            backorder_per_day=np.array([p.backorder_penalty for p in prices]), inventory_target=target,
            bucket_index=np.arange(first_bucket, first_bucket + H) - self.first,
            overtime_cost_per_unit=np.array([f.capacity.overtime_cost if f.capacity else 0.0
                                             for f in self.sc.factories]),
            demand_before_plan=views["consensus"][:, :j0].sum(axis=1), production_before_plan=made_before,
            capacity_in_force=self._capacity_in_force(first_bucket, H) * self.mean_yield[:, None],
            previous_subcontract=prev_sub, mean_yield=self.mean_yield.copy(),
        )
        if self.shipping_capacity is not None:
            arrays["shipping_capacity"] = self.shipping_capacity.copy()
        _read_only(*arrays.values())
        return PlanningState(cycle=cycle, day=snap.day, products=self.products, families=self.families,
                             factories=tuple(f.name for f in w.factories), frozen=spec.frozen_buckets,
                             slushy=spec.slushy_buckets, slushy_change_limit=spec.slushy_change_limit,
                             params=dict(self.params), workforce=spec.workforce,
                             inventory_budget=spec.inventory_budget, **arrays)

    def forecast_errors(self, before: int) -> np.ndarray:
        """Products x buckets: sales minus the consensus forecast each plan had for its first bucket, for the
        buckets before ``before`` whose sales are in (oldest first)."""
        done = [b for b in sorted(self.plan_forecasts) if b < before and b in self.sales]
        if not done:
            return np.zeros((self.n_products, 0))
        return np.stack([self.sales[b] - self.plan_forecasts[b] for b in done], axis=1)

    def safety_stock(self, views: dict[str, np.ndarray], cutoff_bucket: int, days: np.ndarray) -> np.ndarray:
        """Safety stock per product against the consensus forecast's error (units), as Chopra & Meindl set it:

            ss = z * sigma_L,   sigma_L = sqrt(L) * sigma,   z = Phi^-1(service_level)

        sigma is the root mean square error, per bucket, of the consensus forecast at the lag the plan
        depends on (the forecast each past plan had for its first bucket, against that bucket's booked sales),
        over the cycles so far (the buckets closed by the cut-off ``cutoff_bucket``). RMSE rather than
        1.25 MAD: it is the standard deviation itself where the errors are normal, with no factor to assume,
        and it counts a forecast's bias, which the stock must cover too (1.25 MAD assumes errors centred on
        zero). L is the protection interval in buckets, the time the plan cannot react within: the frozen
        fence plus the replenishment lead time from plant (or supplier) to shelf,
        ``frozen_buckets + lead_days / mean bucket days``. With fewer than ``min_errors`` errors, sigma is the
        error the consensus would have had at that lag over the history (:meth:`prior_rmse`, ``prior_rmse`` of
        the demand review).
        """
        ss_spec = self.spec.safety_stock
        assert ss_spec is not None
        z = NormalDist().inv_cdf(ss_spec.service_level)
        errors = self.forecast_errors(cutoff_bucket)
        if errors.shape[1] >= ss_spec.min_errors:
            sigma = np.sqrt(np.mean(errors**2, axis=1))
        else:
            sigma = views.get("prior_rmse", np.zeros(self.n_products))
        protection = self.spec.frozen_buckets + self.supply_lead_days / float(days.mean())
        return z * sigma * np.sqrt(protection)

    def _capacity_in_force(self, first_bucket: int, n: int) -> np.ndarray:
        """Regular capacity per factory on the last day before each of the n planning buckets and after the
        last one, as the plan board holds it now (rate factories; 0 for factories with production lines)."""
        w = self.world
        last_days = self.starts[first_bucket: first_bucket + n + 1].astype(int) - 1
        last_days = np.pad(last_days, (0, n + 1 - len(last_days)), mode="edge")  # the calendar's end
        out = np.zeros((len(w.factories), len(last_days)))
        for i, f in enumerate(w.factories):
            if f.lines:
                continue
            by_day = f.regular_by_day
            out[i] = [f.regular if by_day is None or not 0 <= d < len(by_day) else by_day[d] for d in last_days]
        return out

    def check_plan(self, plan: Plan, state: PlanningState) -> Plan:
        """A policy's plan must have the right shape and finite, non-negative quantities."""
        name = getattr(self.policy, "name", type(self.policy).__name__)
        shape = (self.n_products, state.horizon)
        prod = np.asarray(plan.production, dtype=float)
        if prod.shape != shape:
            raise PolicyError(f"policy {name!r} returned production of shape {prod.shape}, expected {shape}")
        if not np.all(np.isfinite(prod)) or (prod < -1e-9).any():
            raise PolicyError(f"policy {name!r} returned production that is negative or not finite")
        return plan

    def executive_meeting(self, cycle: int, state: PlanningState, plan: Plan, meeting: int, effective: int,
                          first_bucket: int) -> Plan:
        """Apply the time fences to the proposal and record the agreed plan version."""
        prod, wf, sub = self.fenced(state, plan, first_bucket)
        made = self.factory_of >= 0
        prod[~made] = 0.0
        if self.spec.inventory_budget is not None:
            self._check_budget(cycle, state, prod, sub, meeting, first_bucket)
        rec = self.world.records.tables["plan"].append
        target = plan.inventory_target if plan.inventory_target is not None else state.inventory_target
        # Lists of Python floats and ints: the values float() and int() give, without indexing numpy element by
        # element.
        demand, made_q, kept = (np.asarray(a, dtype=float).tolist() for a in (state.demand_plan, prod, target))
        staff = np.asarray(wf, dtype=float).tolist() if wf is not None else None
        bought = np.asarray(sub, dtype=float).tolist() if sub is not None else None
        starts = np.asarray(state.bucket_start).astype(int).tolist()
        lengths = np.asarray(state.bucket_days).astype(int).tolist()
        factory_of = self.factory_of.tolist()
        meeting_day, effective_day, nan = float(meeting), float(effective), float("nan")
        for t in range(state.horizon):
            b = first_bucket + t
            for p in range(self.n_products):
                f = factory_of[p]
                rec((cycle, meeting_day, effective_day, p, b, starts[t], lengths[t], demand[p][t], made_q[p][t],
                     staff[f][t] if staff is not None and f >= 0 else nan,
                     bought[p][t] if bought is not None else 0.0, kept[p][t]))
        if plan.notes:
            self.world.records.tables["plan_notes"].append((cycle, meeting_day, plan.notes))
        return Plan(production=prod, workforce=wf, subcontract=sub, inventory_target=target, notes=plan.notes)

    def _check_budget(self, cycle: int, state: PlanningState, prod: np.ndarray, sub: np.ndarray | None,
                      meeting: int, first_bucket: int) -> None:
        """Record what the agreed plan's stock is worth at the end of each of its buckets, against the budget.

        The meeting checks every plan, whatever its policy, and trims none: a rule plan (level, chase, hybrid) or
        a replayed one cut to the budget would no longer be the plan its policy or its file says, and cutting
        production is a supply decision the meeting cannot cost. The ``lp`` policy plans within the budget
        itself; the records show where any other plan breaks it (KPI ``budget_breach_buckets``).
        """
        limit = self.spec.inventory_budget
        assert limit is not None
        value = state.inventory_value(prod, sub).tolist()
        rec = self.world.records.tables[budget.TABLE].append
        starts = np.asarray(state.bucket_start).astype(int).tolist()
        lengths = np.asarray(state.bucket_days).astype(int).tolist()
        for t in range(state.horizon):
            rec((cycle, float(meeting), first_bucket + t, starts[t], lengths[t], value[t], float(limit)))

    def fenced(self, state: PlanningState, plan: Plan, first_bucket: int
               ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The proposal's production, workforce and subcontracting held to the time fences (unless the policy
        plans within them itself)."""
        spec = self.spec
        prod = np.maximum(np.asarray(plan.production, dtype=float), 0.0)
        prev = state.previous_production
        wf = None if plan.workforce is None else np.array(plan.workforce, dtype=float)
        sub = None if plan.subcontract is None else np.array(plan.subcontract, dtype=float)
        if getattr(self.policy, "respects_fences", True):
            # The guard for policies that do not plan within the fences themselves (the aggregate ones do).
            lo, hi = slushy_interval(prev, state.demand_plan, spec.frozen_buckets, spec.slushy_buckets,
                                     spec.slushy_change_limit)
            for t in range(state.horizon):
                had = ~np.isnan(prev[:, t])
                if t < spec.frozen_buckets:
                    # Frozen means the whole plan of the bucket: what is made, bought and who is employed.
                    prod[had, t] = prev[had, t]
                    sub, wf = self._frozen_supply(first_bucket + t, t, sub, wf)
                elif t < spec.frozen_buckets + spec.slushy_buckets:
                    prod[had, t] = np.clip(prod[had, t], lo[had, t], hi[had, t])
                    if wf is not None:
                        self._staff_for(prod[:, t], wf[:, t], float(state.bucket_days[t]))
        return prod, wf, sub

    def _staff_for(self, prod: np.ndarray, wf: np.ndarray, days: float) -> None:
        """Raise a bucket's planned regular capacity (``wf``, good units a day, in place) where the fence kept
        more production than the proposal's workforce can make with the plant's overtime: the meeting that
        holds a plant to making it also agrees the staff to make it (a plan it cannot make would only slip)."""
        for f, site in enumerate(self.world.factories):
            if site.lines or not np.isfinite(wf[f]) or days <= 0:
                continue
            daily = float(prod[self.factory_of == f].sum()) / days
            # Overtime that is a share of the staffed capacity grows with the staff; a fixed one does not.
            need = (daily / (1.0 + site.overtime_share) if site.overtime_share is not None
                    else daily - site.overtime * float(self.mean_yield[f]))
            if need > wf[f]:
                wf[f] = need

    def _frozen_supply(self, bucket: int, t: int, sub: np.ndarray | None, wf: np.ndarray | None
                       ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The proposal's subcontracting and workforce of planning bucket t with the plan in force's kept."""
        kept_sub = self.in_force_subcontract.get(bucket)
        if kept_sub is not None:
            if sub is None:
                sub = np.zeros((self.n_products, self.spec.horizon_buckets))
            sub[:, t] = kept_sub
        kept_wf = self.in_force_workforce.get(bucket)
        if kept_wf is not None and np.isfinite(kept_wf).any():
            if wf is None:
                wf = np.full((len(self.world.factories), self.spec.horizon_buckets), np.nan)
            wf[:, t] = np.where(np.isfinite(kept_wf), kept_wf, wf[:, t])
        return sub, wf

    # ------------------------------------------------------------------ going live

    def apply(self, state: PlanningState, plan: Plan, first_bucket: int) -> None:
        """Hand the agreed plan to the world's plan board."""
        w = self.world
        if not self.plan_mode:
            self.plan_mode = True
            # Pull replenishment stops when planned production starts, not before (no gap in supply).
            start = float(state.bucket_start[0])
            w.call_at(max(start - w.env.now, 0.0), RECEIPT, lambda _ev: self._switch_to_push(), None)
        board = w.plan
        # The plan is in good units; the plant starts enough to get them at its mean yield.
        gross = np.where(self.mean_yield > 0, 1.0 / np.where(self.mean_yield > 0, self.mean_yield, 1.0), 1.0)
        for t in range(state.horizon):
            self.in_force[first_bucket + t] = plan.production[:, t].copy()
            if plan.subcontract is not None:
                self.in_force_subcontract[first_bucket + t] = np.asarray(plan.subcontract[:, t], dtype=float).copy()
            if plan.workforce is not None:
                self.in_force_workforce[first_bucket + t] = np.asarray(plan.workforce[:, t], dtype=float).copy()
        # The buckets follow each other day after day (bucket_days are the gaps of bucket_start), so a product's
        # production plan is one run of days from the first bucket's start, each bucket's rate repeated over its
        # days, cut at the end of the run: one board update per product instead of one per product and bucket.
        first_day = int(state.bucket_start[0])
        days = np.asarray(state.bucket_days, dtype=int)
        in_run = max(w.horizon - first_day, 0)
        for p in range(self.n_products if in_run else 0):
            f = self.factory_of[p]
            if f >= 0 and not self.made_to_order[p]:  # make to order: the plant makes what is ordered
                daily = np.repeat(plan.production[p] * gross[f] / days, days)[:in_run]
                board.set_production(w.factories[f].name, self.products[p], first_day, daily)
        for t in range(state.horizon):
            start = int(state.bucket_start[t])
            days_t = int(state.bucket_days[t])
            if start >= w.horizon:
                continue
            sub = plan.subcontract
            # Bucket by bucket, product by product: the order in which products start buying is the order the
            # calendar delivers their purchases in.
            for p in range(self.n_products if sub is not None else 0):
                f = self.factory_of[p]
                if f >= 0 and sub is not None:  # also 0: a revised plan replaces what an earlier one bought
                    board.set_subcontract(w.factories[f].name, self.products[p], start, [sub[p, t] / days_t] * days_t)
            if plan.workforce is not None:
                for f, fac_site in enumerate(w.factories):
                    if not fac_site.lines and np.isfinite(plan.workforce[f, t]):
                        board.set_capacity(fac_site.name, start, [float(plan.workforce[f, t] * gross[f])] * days_t)
        if self.spec.set_execution_levels:
            self._set_execution_levels(state, plan)

    def _switch_to_push(self) -> None:
        """Factories now make what the plan says: their direct customers stop pulling."""
        for wh in self.world.warehouses:
            changed = False
            for i in range(len(wh.sources)):
                if self.world.plan_fed(wh, i):
                    wh.rules[i] = NoRule()
                    changed = True
            if changed:
                wh.refresh_review_lists()
                self.world.plan.version += 1  # the board's readers (where planned output goes) must look again

    def _set_execution_levels(self, state: PlanningState, plan: Plan) -> None:
        """The plan's inventory targets set the parameters of the warehouses that still reorder.

        For a stock point of product p, in the first bucket of the plan: mu = the plan's demand rate of p x
        the point's share of p's flow (its customers and the warehouses it feeds), its target = the plan's
        inventory target of p x the point's share of p's customers, L its replenishment lead time and R its
        review period. The parameters make ``target`` the average stock on hand (up to backorders): base stock
        S = target + mu (L + R/2); (s, S): s = target + mu L - (B + mu R)/2 and S = s + B, with the
        scenario's batch B = S - s scaled by the demand; (r, Q): Q scaled by the demand, r = target + mu L -
        Q/2. Points the plan pushes to, and rules that set their own levels, are left alone.
        """
        w = self.world
        rate = state.demand_plan[:, 0] / state.bucket_days[0]
        target = (plan.inventory_target if plan.inventory_target is not None else state.inventory_target)[:, 0]
        for wh, spec in zip(w.warehouses, self.sc.warehouses, strict=True):
            for i, p in enumerate(wh.products):
                rule, base, nominal = wh.rules[i], spec.stock[i].policy, self.nominal_rate[p]
                if nominal <= 0 or not isinstance(rule, OrderUpTo | MinMaxRule | ReorderPointRule):
                    continue
                ratio = float(rate[p]) / nominal  # the plan's demand against the scenario's
                mu = ratio * w.nominal_demand.get((wh.index, i), 0.0)
                tgt = float(target[p]) * self.direct_rate.get((wh.index, i), 0.0) / nominal
                lead = self.world.replenishment_lead_time(wh, i)
                review = max(rule.review_period, 0)
                if isinstance(rule, OrderUpTo):
                    rule.level = tgt + mu * (lead + review / 2)
                elif isinstance(rule, MinMaxRule) and isinstance(base, MinMax):
                    batch = (base.S - base.s) * ratio
                    rule.s = max(tgt + mu * lead - (batch + mu * review) / 2, 0.0)
                    rule.S = rule.s + batch
                elif isinstance(rule, ReorderPointRule) and isinstance(base, ReorderPointQuantity):
                    rule.Q = max(base.Q * ratio, 1e-9)
                    rule.r = max(tgt + mu * lead - rule.Q / 2, 0.0)


def _grouped(params: dict[str, Any]) -> list[str]:
    """The keys of ``params`` that group the parameters of a policy named so (``lp: {...}``)."""
    known = set(available_policies())
    return [k for k, v in params.items() if k in known and isinstance(v, dict)]


def _namespaced(params: dict[str, Any]) -> bool:
    return bool(params) and len(_grouped(params)) == len(params)


def policy_params(params: dict[str, Any], name: str) -> dict[str, Any]:
    """The parameters of one policy. ``params`` may be namespaced by policy name so that one scenario can
    carry the parameters of several policies for a comparison (``{lp: {...}, hybrid: {...}}``)."""
    return dict(params.get(name, {})) if _namespaced(params) else dict(params)


def params_path(params: dict[str, Any], name: str) -> str:
    """Where the parameters of one policy are in a scenario: ``params``, or ``params.<name>`` when namespaced."""
    return f"params.{name}" if _namespaced(params) else "params"


def build_policy(scenario: Scenario, name: str, base_dir: str | None = None) -> Policy | None:
    """The named planning policy, built from the scenario's ``planning.params`` and checked against the
    scenario (its ``check_scenario`` hook: a replayed file's products, cycles and buckets, for example).

    This is how simsop builds a policy: when a scenario is loaded, when an experiment starts and at the start
    of every replication, so a problem is reported before anything runs, never when a plan is first made.

    Raises:
        PolicyError: its ``problems`` are (key path in the scenario, message) pairs, e.g.
            (``planning.params.file``, ``decisions.csv: line 4: unknown product or family 'Z'``) or
            (``planning.params.lp.integer_workforce``, ...); its message has one such line per problem.
    """
    all_params = dict(scenario.planning.params)
    params = policy_params(all_params, name)
    where = params_path(all_params, name)

    def failed(problems: list[tuple[str, str]]) -> PolicyError:
        # "params.file" is this policy's parameter: under "params.<name>" when the parameters are namespaced.
        at = [(f"planning.{where}{k.removeprefix('params')}" if k.split(".")[0] == "params" else f"planning.{k}", m)
              for k, m in problems]
        return PolicyError("\n".join(f"{k}: {m}" for k, m in at), at)

    grouped = _grouped(all_params)
    loose = [k for k in all_params if k not in grouped]
    if grouped and loose:  # else a key added beside the groups reads as if the groups were unknown keys
        raise failed([("params", f"{', '.join(loose)} sits beside parameters grouped by policy "
                                 f"({', '.join(grouped)}); put it under the policy it is for, e.g. "
                                 f"{grouped[0]}: {{{loose[0]}: ...}}")])

    try:
        policy = make_policy(name, params, base_dir if base_dir is not None else scenario.source_dir)
    except PolicyError as exc:
        raise failed(exc.problems) from None
    except Exception as exc:  # a user's policy class refusing its parameters in its own way
        raise failed([("params", f"policy {name!r} cannot be built from these parameters: "
                                 f"{type(exc).__name__}: {exc}")]) from None
    hook = getattr(policy, "check_scenario", None)
    try:
        found = [(f"params.{k}" if k else "params", m) for k, m in hook(scenario)] if callable(hook) else []
    except PolicyError as exc:
        raise failed(exc.problems) from None
    except Exception as exc:  # a user's check that fails instead of answering
        raise failed([("params", f"policy {name!r} cannot check this scenario: {type(exc).__name__}: "
                                 f"{exc}")]) from None
    if found:
        raise failed(found)
    return policy


def planning_process(scenario: Scenario, name: str,
                     base_dir: str | None = None) -> Callable[[World], Generator[Any, Any, None]]:
    """A process factory for ``run_replication(processes=...)``: the S&OP cycle with the named policy."""
    params = policy_params(scenario.planning.params, name)
    policy = build_policy(scenario, name, base_dir)
    if policy is None:
        raise PolicyError("policy 'none' has no planning cycle")

    def make(world: World) -> Generator[Any, Any, None]:
        return PlanningCycle(world, scenario, policy, params).run()

    return make
