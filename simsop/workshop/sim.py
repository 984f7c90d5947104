"""One team's company, simulated from day 0 to the end of a round with the team's decisions.

A round runs from one decision to the next. In an ``orders`` game (the Beer Game) the decision day of
round k is ``first_day + (k - 1) x round_days`` and each played role's order is placed on that day through
the plan board (``PlanBoard.schedule_orders``); on a round without a decision the bot's rule orders. In a
``plan`` game round k is S&OP cycle k - 1 and its decision day is the cycle's supply review: the team's
rows (the ``replay`` policy's format) are what the cycle's policy proposes; on a cycle without rows the bot
policy plans.

The run stops at the end of the round (the next decision day, or the horizon), like ``World.run`` at the
horizon: the future is drawn for the whole horizon, so stopping early never changes what was drawn.

The facilitator may change the bot between rounds. Every round's results keep the bot that played it, and a
run is given the bot of each round (``bots``): the rounds played are played again by the bots that played
them, so what the class was shown stays true, and the new bot decides from the next round on. In an ``orders``
game a bot that takes over mid-game has watched the role's demand from day 0 (as the bot of a team's role
does, see :class:`BotHistoryRule`); in a ``plan`` game each cycle asks the bot of its round.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from simsop.model.records import Records
from simsop.model.replenishment import PeriodDemandRule, Rule, make_rule
from simsop.model.world import World
from simsop.planning.cycle import PlanningCycle, step_days
from simsop.planning.policies import Decision, ReplayPolicy
from simsop.planning.policy import Plan, PlanningState, Policy
from simsop.replication import build_world
from simsop.scenario import Scenario
from simsop.workshop.spec import role_bots
from simsop.workshop.supply import plant_queue


@dataclass(frozen=True)
class Calendar:
    """When each round's decision is made, the accounting periods, and (``plan`` games) the buckets.

    Rounds are numbered from 1; ``days[k - 1]`` is the decision day of round k (every decision day the
    horizon holds, also past the last round played). Periods are whole ``round_days`` blocks from day 0
    (``orders`` games) or the planning buckets (``plan`` games); results are counted over whole periods.

    After round k the company is simulated up to ``end(k)``, the next decision day (the team then sees
    everything that happened before it), and counted up to ``account_end(k)``, the start of the period
    that decision day falls in: in the Beer Game, round k is board week k and the leaderboard after it
    holds the costs of weeks 1..k, as the board's cost sheet does when week k's order is placed. The last
    round runs to ``final_end``.
    """

    kind: str
    days: tuple[int, ...]
    horizon: int
    n_rounds: int
    period_starts: tuple[int, ...]  # 0 first, all before the horizon
    first_bucket: tuple[int, ...] = ()  # plan games: first bucket (absolute index) each round may plan
    plan_buckets: int = 0  # plan games: buckets in a plan (the planning horizon)
    bucket_starts: tuple[int, ...] = ()  # plan games: start day of every absolute bucket (0: day 0)
    record_offset: int = 0  # plan games: planning records number buckets from the history's start; subtract this

    @property
    def rounds(self) -> int:
        return self.n_rounds

    def start(self, k: int) -> int:
        """Round k's decision day (round 0: day 0)."""
        return 0 if k == 0 else self.days[k - 1]

    def period_start(self, day: int) -> int:
        i = int(np.searchsorted(np.asarray(self.period_starts), day, side="right")) - 1
        return self.period_starts[max(i, 0)]

    def period_end(self, day: int) -> int:
        i = int(np.searchsorted(np.asarray(self.period_starts), day, side="right"))
        return self.period_starts[i] if i < len(self.period_starts) else self.horizon

    @property
    def final_end(self) -> int:
        """Where the game ends. An ``orders`` round's decision is the order of its own period: the game ends
        with the last round's period (the Beer Game's last week). A ``plan`` round plans the buckets after
        its own: the game ends with the bucket the last round planned first."""
        if self.n_rounds == 0:
            return 0
        if self.kind == "orders":
            return min(self.horizon, self.period_end(self.days[self.n_rounds - 1]))
        if self.n_rounds >= len(self.days):
            return self.horizon
        return min(self.horizon, self.period_end(self.days[self.n_rounds]))

    def end(self, k: int) -> int:
        """Simulated days after round k: [0, end(k))."""
        return self.days[k] if k < self.n_rounds else self.final_end

    def account_end(self, k: int) -> int:
        """Counted days after round k: [0, account_end(k)), whole periods."""
        return self.period_start(self.days[k]) if k < self.n_rounds else self.final_end

    def round_end(self, k: int) -> int:
        """The end of round k's own period (round k counts [account_end(k - 1), round_end(k))). It is
        ``account_end(k)`` for every round but the last of a ``plan`` game, whose plan plays out after it:
        the game runs on to ``final_end`` (the bucket the last round planned first), and that tail,
        [round_end(k), account_end(k)), is counted in the totals but is not the round's own month."""
        if k == 0:
            return self.account_end(0)
        return min(self.account_end(k), self.period_end(self.days[k - 1]))

    def last_useful_bucket(self) -> int:
        """The last bucket that starts before the game ends (a plan for a later bucket changes nothing)."""
        return int(np.searchsorted(np.asarray(self.bucket_starts), self.final_end, side="left")) - 1

    def edges(self, upto: int) -> np.ndarray:
        """Period edges up to a day: [0, p1, p2, ..., upto] (the last period may be partial)."""
        return np.asarray([*(p for p in self.period_starts if p < upto), upto], dtype=int)

    def round_of_day(self, day: int) -> int:
        """The round whose decision is the last one on or before a day (0 before the first decision)."""
        return int(np.searchsorted(np.asarray(self.days), day, side="right"))

    def bucket_span(self, b: int) -> tuple[int, int]:
        return self.bucket_starts[b], self.bucket_starts[b + 1]


def orders_calendar(sc: Scenario, round_days: int, first_day: int, rounds: int | None) -> Calendar:
    days = tuple(range(first_day, sc.horizon, round_days))
    n = len(days) if rounds is None else min(rounds, len(days))
    return Calendar("orders", days, sc.horizon, n, tuple(range(0, sc.horizon, round_days)))


def plan_calendar(sc: Scenario, rounds: int | None) -> Calendar:
    """Decision days of the S&OP cycles (their supply reviews), as ``simsop.planning.cycle`` schedules them."""
    from simsop.planning.cycle import bucket_starts

    spec = sc.planning
    H = sc.horizon
    max_len = 31 if spec.bucket == "month" else (7 if spec.bucket == "week" else int(spec.bucket))
    ahead = (spec.horizon_buckets + 4) * max_len + spec.executive_meeting_day + spec.plan_delay_days
    starts = [int(s) for s in bucket_starts(spec.bucket, 0, H + ahead) if s >= 0]
    days: list[int] = []
    first: list[int] = []
    for c in range(len(starts) - 1):
        s, last = starts[c], starts[c + 1] - starts[c] - 1
        if s >= H:
            break
        review = s + min(spec.demand_review_day, last)
        supply = max(review, s + min(spec.supply_review_day, last))
        meeting = max(supply, s + min(spec.executive_meeting_day, last))
        effective = meeting + spec.plan_delay_days
        fb = int(np.searchsorted(starts, effective, side="left"))
        if supply >= H or starts[fb] >= H:
            break  # a decision that could not change anything inside the horizon is not a round
        days.append(supply)
        first.append(fb)
    n = len(days) if rounds is None else min(rounds, len(days))
    # The cycle's own calendar reaches back over the forecast history (simsop.planning.cycle).
    history = bucket_starts(spec.bucket, -spec.history_buckets * max_len, H + ahead)
    offset = int(np.searchsorted(history, 0))
    periods = tuple(x for x in starts if x < H)
    return Calendar("plan", tuple(days), H, n, periods, tuple(first), spec.horizon_buckets, tuple(starts), offset)


# ---------------------------------------------------------------------------------------------- orders games

Bot = str | dict[str, Any]  # a workshop's bot as workshop.yaml holds it (see simsop.workshop.spec)


def segments(cal: Calendar, bots: Sequence[Any]) -> list[tuple[int, Any]]:
    """(first day, bot) of each run of rounds that one bot played, from the bot of each round (``bots[k]``:
    round k, 0 the days before the first decision); a round's days start on its decision day."""
    out: list[tuple[int, Any]] = []
    for k, b in enumerate(bots):
        if not out or out[-1][1] != b:
            out.append((cal.start(k), b))
    return out


class BotHistoryRule(Rule):
    """A role's orders when its bot changed between rounds: on each day the bot of that day's round decides,
    except on the days a team ordered (``orders``, as :class:`ScheduledRule`).

    Each bot that takes over later observes the role's demand from day 0 on its own review days (as the bot of
    a team's role does under :class:`ScheduledRule`), so that it takes over from the role's position with an
    expectation of demand, not a cold start; observing places nothing, so the days before it takes over are
    played exactly as its predecessors played them.
    """

    __slots__ = ("_day", "orders", "rules", "starts")

    def __init__(self, parts: Sequence[tuple[int, Rule]], orders: Mapping[int, float]) -> None:
        # Asked every day (due() says which days are reviews): the bots may review on different days.
        super().__init__(1, 0)
        if any(r.continuous for _, r in parts):
            raise ValueError("a bot that reviews continuously cannot take over from another mid-game")
        self.starts = [int(d) for d, _ in parts]
        self.rules = [r for _, r in parts]
        self.orders = {int(d): float(q) for d, q in orders.items()}
        self._day = -1

    def _active(self, day: int) -> int:
        i = 0
        while i + 1 < len(self.starts) and self.starts[i + 1] <= day:
            i += 1
        return i

    def due(self, day: int) -> bool:
        self._day = day  # order_qty follows at once, on the same day
        i = self._active(day)
        if day in self.orders or self.rules[i].due(day):
            return True
        return any(isinstance(r, PeriodDemandRule) and r.due(day) for r in self.rules[i + 1:])

    def bind(self, warehouse: Any, item: int) -> None:
        for r in self.rules:
            r.bind(warehouse, item)

    def order_qty(self, position: float) -> float:
        day = self._day
        i = self._active(day)
        q = self.orders.get(day)
        active = self.rules[i]
        watching = self.rules[i + 1:]
        if q is None:
            q = active.order_qty(position) if active.due(day) else 0.0
        elif isinstance(active, PeriodDemandRule) and active.due(day):
            watching = [active, *watching]
        for r in watching:
            if isinstance(r, PeriodDemandRule) and r.due(day):
                r.observe(position)
                r.placed(position, q)
        return q


def _set_role(world: World, sc: Scenario, role: str, product: str, parts: Sequence[tuple[int, Any]],
              orders: Mapping[int, float] | None) -> None:
    """Set up one role of an ``orders`` game: the bots that play it (``parts``: first day, bot) and the team's
    orders (None: nobody plays it). One bot for the whole game is set up as before bots could change."""
    from pydantic import TypeAdapter

    from simsop.scenario import PolicySpec

    def spec(b: Any) -> Any:
        return None if b == "scenario" else TypeAdapter(PolicySpec).validate_python(b)

    if len(parts) == 1:
        one = spec(parts[0][1])
        if orders is not None:
            world.plan.schedule_orders(role, product, orders, fallback=one)
        elif one is not None:
            world.plan.set_policy(role, product, one)
        return
    own = next(it.policy for w in sc.warehouses if w.id == role for it in w.stock)
    rules = [(day, make_rule(spec(b) or own)) for day, b in parts]
    world.plan.set_rule(role, product, BotHistoryRule(rules, orders or {}))


# ---------------------------------------------------------------------------------------------- plan games


class MemoryReplay(ReplayPolicy):
    """The ``replay`` policy over decisions already read and checked (a team's log), holding the plan in
    force on cycles without rows."""

    def __init__(self, decisions: Sequence[Decision], label: str) -> None:  # no file to read
        self.path = Path(label)
        self.missing = "hold"
        self.decisions = list(decisions)
        self.by_cycle: dict[int, list[Decision]] = {}
        for d in self.decisions:
            self.by_cycle.setdefault(d.cycle, []).append(d)
        self._checked = True


class TeamPlanPolicy:
    """A team's S&OP decisions: on a cycle with rows, the bot's proposal with the team's rows written over
    it (so buckets the team leaves out are not planned at zero); on other cycles, the bot's plan.

    A team's plan is taken as agreed: the time fences do not apply to it. The bot's own plans go through
    them when the bot respects fences (``respects_fences`` is read by the cycle right after ``plan``). With
    the ``hold`` bot (None) the rows are written over the plan in force, as the ``replay`` policy does.
    ``earlier``: cycle -> (bot, its parameters) for the cycles another bot played (the facilitator changed the
    bot since); the others are ``bot``'s.
    """

    name = "workshop"

    def __init__(self, decisions: Sequence[Decision], bot: Policy | None, label: str,
                 earlier: Mapping[int, tuple[Policy | None, dict[str, Any]]] | None = None) -> None:
        self.replay = MemoryReplay(decisions, label)
        self.decided = {d.cycle for d in decisions}
        self.bot = bot
        self.earlier = dict(earlier or {})
        self.respects_fences = False
        self.bot_cycles: list[int] = []

    def plan(self, state: PlanningState) -> Plan:
        bot = self.bot
        if state.cycle in self.earlier:
            bot, params = self.earlier[state.cycle]
            state = replace(state, params=dict(params))
        if state.cycle in self.decided and bot is not None:
            self.respects_fences = False
            proposal = bot.plan(state)
            base = replace(state, previous_production=np.asarray(proposal.production, dtype=float),
                           inventory_target=(state.inventory_target if proposal.inventory_target is None
                                             else np.asarray(proposal.inventory_target, dtype=float)))
            return self.replay.plan(base)
        if state.cycle in self.decided or bot is None:
            self.respects_fences = False
            return self.replay.plan(state)
        self.bot_cycles.append(state.cycle)
        self.respects_fences = bool(getattr(bot, "respects_fences", True))
        return bot.plan(state)


def plan_bot(sc: Scenario, bot: str) -> tuple[Policy | None, dict[str, Any]]:
    """The bot policy of a plan game (None: hold the plan in force) and its parameters."""
    from simsop.planning.cycle import policy_params
    from simsop.planning.policy import make_policy

    if bot == "hold":
        return None, {}
    name = bot
    if bot == "scenario":
        name = sc.planning.policy if sc.planning.policy not in ("none", "replay") else "chase"
    params = policy_params(sc.planning.params, name)
    return make_policy(name, params), params


# ---------------------------------------------------------------------------------------------- a run


class WorkshopCycle(PlanningCycle):
    """The S&OP cycle of a plan game, which also keeps each cycle's demand review (its cut-off and views), so
    that a dashboard on the decision day can show what the cycle's supply review is about to propose."""

    def __init__(self, world: World, scenario: Scenario, policy: Policy, params: dict[str, Any] | None) -> None:
        super().__init__(world, scenario, policy, params)
        self.reviewed: dict[int, tuple[Any, dict[str, np.ndarray]]] = {}
        self.decimals = plan_decimals(self.nominal_rate[self.factory_of >= 0], self.lengths)

    def executive_meeting(self, cycle: int, state: PlanningState, plan: Plan, meeting: int, effective: int,
                          first_bucket: int) -> Plan:
        """The meeting, with the bot's plan (a cycle no team decided) in the units a team writes: fenced as the
        cycle fences it, then rounded to ``decimals``, so that the rows the bot writes into a team's decision file
        are exactly what was played and replay it exactly."""
        pol = self.policy
        if not (isinstance(pol, TeamPlanPolicy) and pol.bot_cycles and pol.bot_cycles[-1] == cycle):
            return super().executive_meeting(cycle, state, plan, meeting, effective, first_bucket)
        prod, wf, sub = self.fenced(state, plan, first_bucket)
        rounded = replace(plan, production=np.round(prod, self.decimals), workforce=wf, subcontract=sub)
        fenced, pol.respects_fences = pol.respects_fences, False  # fenced above (rounding may pass by half a unit)
        try:
            return super().executive_meeting(cycle, state, rounded, meeting, effective, first_bucket)
        finally:
            pol.respects_fences = fenced

    def demand_review(self, cycle: int, snap: Any) -> dict[str, np.ndarray]:
        views = super().demand_review(cycle, snap)
        self.reviewed[cycle] = (snap, views)
        return views

    def proposed_target(self, cycle: int) -> np.ndarray | None:
        """The inventory target per product that the cycle hands its policy for the first bucket of its plan
        (``PlanningState.inventory_target``: ``days_of_cover`` days of the consensus forecast, plus the
        safety stock when ``planning.safety_stock`` is set), as its supply review computes it; None before
        the cycle's demand review. It is what a plan without targets of its own sets. (It asks the cycle for the
        state its supply review hands the policy, which also notes the forecast of that bucket, as the supply
        review does.)"""
        if cycle not in self.reviewed:
            return None
        snap, views = self.reviewed[cycle]
        effective = step_days(self.spec, snap.day, int(self.lengths[snap.bucket]))[3]
        first_bucket = int(np.searchsorted(self.starts, effective, side="left"))
        return np.asarray(self.state(cycle, snap, views, first_bucket).inventory_target[:, 0], dtype=float)


def plan_decimals(rate_per_day: np.ndarray, bucket_days: np.ndarray) -> int:
    """Decimals of the bot's planned quantities: whole units, or one decimal when some made product sells fewer
    than 20 units in a typical bucket (whole units would then move its plan by more than a few per cent)."""
    per_bucket = np.asarray(rate_per_day, dtype=float) * float(np.median(bucket_days)) if len(bucket_days) else 0.0
    small = np.asarray(per_bucket)[np.asarray(per_bucket) > 0]
    return 1 if len(small) and float(small.min()) < 20 else 0


@dataclass
class TeamRun:
    """A team's company simulated to ``end`` (exclusive): the world as it stands, and frozen records.

    ``queues``: each plant's queue (``simsop.workshop.supply.plant_queue``) as it stood on the days the run
    was asked to look at, exactly as a run that stops on that day leaves it. ``cycle``: a plan game's S&OP
    cycle.
    """

    world: World
    records: Records
    end: int
    bot_cycles: tuple[int, ...] = ()
    queues: dict[int, dict[str, list[tuple[int, float]]]] = field(default_factory=dict)
    cycle: WorkshopCycle | None = None


def run_team(sc: Scenario, cal: Calendar, game_roles: Sequence[str], roles: Sequence[str],
             orders: Mapping[tuple[int, str], float], plan_rows: Sequence[Decision], bot: Bot,
             seed: int, replication: int, end: int, label: str = "team", look_at: Sequence[int] = (),
             bots: Sequence[Bot] | None = None) -> TeamRun:
    """Simulate one team from day 0 to ``end`` (exclusive).

    Args:
        sc: the scenario as played (injected shocks included).
        cal: the workshop's calendar.
        game_roles: the roles (warehouses) of an ``orders`` game; those the team does not play are the bot's.
        roles: the roles the team plays.
        orders: (round, role) -> units ordered (``orders`` games).
        plan_rows: the team's plan decisions (``plan`` games; ``cycle`` = round - 1).
        bot: the workshop's bot (see :class:`simsop.workshop.spec.WorkshopSpec`), in an ``orders`` game maybe one
            per role.
        seed, replication: the random future (replication 0 is the workshop's own).
        end: the day to stop at (a round's end).
        look_at: days (up to ``end``) on which to keep the plants' queues (``TeamRun.queues``): the run pauses
            there as a run stopping on that day would, and goes on; pausing changes nothing that happens.
        bots: the bot of each round (``bots[k]``: round k; 0 the days before the first decision; later rounds
            the last one's), when the facilitator changed it between rounds; None: ``bot`` plays every round.
    """
    bots = list(bots) if bots else [bot]
    world = build_world(sc, seed, replication)
    procs: list[Any] = []
    bot_cycles: list[int] = []
    if cal.kind == "orders":
        per = [role_bots(b, game_roles) for b in bots]
        for w in sc.warehouses:
            if w.id not in game_roles:
                continue
            parts = segments(cal, [b[w.id] for b in per])
            sched = ({cal.days[r - 1]: q for (r, role), q in orders.items() if role == w.id}
                     if w.id in roles else None)
            _set_role(world, sc, w.id, w.stock[0].product, parts, sched)
        if sc.planning.policy != "none":
            from simsop.planning.cycle import planning_process

            procs.append(planning_process(sc, sc.planning.policy))
    cycles: list[WorkshopCycle] = []
    if cal.kind != "orders":
        last = bots[-1]
        assert isinstance(last, str)
        policy, params = plan_bot(sc, last)
        # Cycle c is round c + 1's (the cycles after the last round: the last round's bot).
        names = [str(b) for b in bots]  # a plan game's bots are names
        made = {b: plan_bot(sc, b) for b in set(names[1:]) if b != last}
        earlier = {c: made[names[min(c + 1, len(names) - 1)]] for c in range(len(names))
                   if names[min(c + 1, len(names) - 1)] != last}
        team_policy = TeamPlanPolicy(plan_rows, policy, label, earlier)
        bot_cycles = team_policy.bot_cycles

        def make(w: World) -> Any:
            cycles.append(WorkshopCycle(w, sc, team_policy, params))
            return cycles[-1].run()

        procs.append(make)
    world.start(tuple(procs))
    queues: dict[int, dict[str, list[tuple[int, float]]]] = {}
    for day in sorted({d for d in look_at if d < end}):
        if day > world.env.now:
            world.env.run(until=day)
        queues[day] = plant_queue(world)
    world.env.run(until=end)
    if end in look_at:
        queues[end] = plant_queue(world)
    records = world.finish(end)
    return TeamRun(world, records, end, tuple(bot_cycles), queues, cycles[0] if cycles else None)
