"""Notes on a valid scenario that will not measure what its author probably wants.

Validation refuses what cannot run; these are for what runs but quietly says little: an S&OP plan with
nothing to make, a measuring window no order falls due in, a horizon that ends before the first plan takes
effect, a shock whose strength changes nothing, a supplier's reliability with no delay, a lead time or a
review period as long as the run, a demand stream that orders nothing, a perishable product whose shelf life
its replenishment or its stock target outlasts, a plant or a lane loaded past its capacity. ``simsop validate``
prints them after the file's "ok", and ``run``, ``compare`` and ``stress`` before they start.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from simsop.scenario import Scenario


def scenario_notes(sc: Scenario, policies: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(key path, note) pairs for the scenario run with ``policies`` (default: its own planning policy)."""
    out = shock_notes(sc.shocks, horizon=sc.horizon, warmup=sc.warmup)
    window = sc.horizon - sc.warmup
    soonest_due = min((c.requested_lead_time for c in sc.customers), default=0.0)
    if sc.customers and soonest_due >= window:
        out.append(("warmup", f"the {window}-day window after the warm-up ({sc.warmup} of {sc.horizon} days) "
                              f"holds no order that falls due by the horizon (the soonest is due "
                              f"{soonest_due:g} days after it is placed): OTIF and fill rate will be empty"))
    out += _network_notes(sc) + _perishable_notes(sc) + _promise_notes(sc) + _bom_notes(sc)
    planning = [p for p in (policies or [sc.planning.policy]) if p != "none"]
    if not planning:
        return out
    for i, f in enumerate(sc.factories):
        if f.bom is not None:
            out.append((f"factories[{i}].bom", f"the S&OP supply review checks {f.id}'s capacity, not its "
                        f"materials: plans of {', '.join(planning)} may ask for more than the components in "
                        f"{f.materials!r} allow, and the plant then makes less (material_short_units)"))
    cover = sc.planning.days_of_cover
    made = {p for f in sc.factories for p in f.products}
    for i, pr in enumerate(sc.products):
        if pr.shelf_life is not None and pr.id in made and cover > pr.shelf_life:
            out.append((f"products[{i}].shelf_life",
                        f"the S&OP plans target {cover:g} days of cover of {pr.id} (planning.days_of_cover), more "
                        f"than its {pr.shelf_life:g}-day shelf life: stock planned to that target expires before "
                        "demand takes it (lower days_of_cover)"))
    seasonal = ("holt_winters_additive", "holt_winters_multiplicative")
    if sc.planning.forecast.method in seasonal:
        from simsop.planning.cycle import season_length

        m = sc.planning.forecast.season_length or season_length(sc.planning.bucket)
        if sc.planning.history_buckets < 2 * m:
            out.append(("planning.history_buckets",
                        f"{sc.planning.forecast.method} needs two seasons of history (2 x {m} = {2 * m} buckets) "
                        f"but the cycle keeps {sc.planning.history_buckets}: every demand review falls back to "
                        f"simple exponential smoothing (alpha 0.3); raise planning.history_buckets to {2 * m} or "
                        "choose a method without seasons"))
    if not made and not sc.planning.set_execution_levels:
        out.append(("planning.policy", f"no factory makes anything, so the plans of {', '.join(planning)} change "
                                       "nothing (the same as policy none); set planning.set_execution_levels: "
                                       "true to let each plan set the warehouses' reorder levels"))
    from simsop.planning.cycle import cycle_buckets, planned_cycles

    cycles = planned_cycles(sc.planning, sc.horizon)
    starts, first = cycle_buckets(sc.planning, sc.horizon)
    if not cycles or int(starts[first + cycles[0]]) >= sc.horizon:
        out.append(("planning", f"the {sc.horizon}-day horizon ends before the first S&OP plan takes effect: "
                                "the run has no plan (lengthen the horizon, or plan in shorter buckets)"))
    if "replay" in planning:
        out += _replay_notes(sc, cycles, [int(x) for x in starts[first:]], first)
    return out


def _replay_notes(sc: Scenario, cycles: Sequence[int], starts: Sequence[int], history: int
                  ) -> list[tuple[str, str]]:
    """A replayed decisions file that plays less than it says: rows of a bucket their cycle does not plan
    (beyond its horizon_buckets, which no later cycle carries), and months of the run no row plans, where the
    plants then make nothing.

    ``cycles``: the first bucket each cycle plans (counted from day 0); ``starts``: the buckets' start days
    from day 0; ``history``: the buckets before day 0 that the records' ``plan`` table counts too.
    """
    from simsop.planning.cycle import build_policy
    from simsop.planning.labels import BucketNames
    from simsop.planning.policy import PolicyError

    try:
        policy = build_policy(sc, "replay")
    except PolicyError:
        return []  # validation reports it
    decisions = getattr(policy, "decisions", None)
    if not decisions or not cycles:
        return []
    from simsop.planning.cycle import params_path

    key = f"planning.{params_path(dict(sc.planning.params), 'replay')}.file"
    name = policy.path.name  # type: ignore[union-attr]
    H = sc.planning.horizon_buckets
    names = BucketNames(sc.planning.bucket, starts)
    out: list[tuple[str, str]] = []
    played = [d for d in decisions if d.cycle < len(cycles) and cycles[d.cycle] <= d.bucket < cycles[d.cycle] + H]
    lost = [d for d in decisions if d.cycle < len(cycles) and d.bucket >= cycles[d.cycle] + H]
    if lost:
        # The records' plan table counts buckets from the first month of the forecast history: a file written
        # from it is off by that many buckets, and replays nothing.
        shifted = all(cycles[d.cycle] <= d.bucket - history < cycles[d.cycle] + H for d in lost)
        hint = (f"; a file written from the records' plan table counts buckets from the start of the forecast "
                f"history, {history} buckets before day 0: subtract {history} from its buckets" if shifted else "")
        out.append((key, f"{name}: {len(lost):,} of its {len(decisions):,} rows (lines {_lines(lost)}) plan a "
                          f"bucket beyond the {H} buckets their cycle plans (cycle 0 plans "
                          f"{names.span(cycles[0], cycles[0] + H - 1)}), and no cycle plays them: they change "
                          f"nothing{hint}"))
    covered = {d.bucket for d in played}
    run = [b for b in range(cycles[0], len(starts) - 1) if starts[b] < sc.horizon]
    bare = [b for b in run if b not in covered]
    if bare:
        spans = _bucket_spans(bare, names)
        out.append((key, f"{name}: none of its rows that the run plays plans {spans}: the plan in force makes "
                         f"nothing there, so the plants make nothing for the warehouses they supply (each cycle "
                         f"plans at most {H} buckets ahead; add rows for later cycles)"))
    return out


def _lines(decisions: Sequence[Any], most: int = 3) -> str:
    lines = sorted(d.line for d in decisions)
    return ", ".join(str(x) for x in lines[:most]) + (", ..." if len(lines) > most else "")


def _bucket_spans(buckets: Sequence[int], names: Any) -> str:
    """Runs of consecutive buckets, each named: 'Jan to Dec (buckets 12 to 23)'."""
    runs: list[list[int]] = []
    for b in sorted(buckets):
        if runs and runs[-1][-1] == b - 1:
            runs[-1].append(b)
        else:
            runs.append([b])
    return ", ".join(names.span(r[0], r[-1]) for r in runs)


def _promise_notes(sc: Scenario) -> list[tuple[str, str]]:
    """Available-to-promise quotes that the warehouse's allocation rule can break."""
    out: list[tuple[str, str]] = []
    rule = {w.id: w.allocation for w in sc.warehouses}
    for i, c in enumerate(sc.customers):
        if c.promise != "available" or rule.get(c.warehouse) == "fcfs":
            continue
        who = ("a later order of a better priority" if rule[c.warehouse] == "priority"
               else "every later order, which shares each receipt pro rata,")
        out.append((f"customers[{i}].promise", f"customer {c.id!r} is promised the date {c.warehouse!r} can cover "
                    f"its order from stock and supply on its way after the backlog ahead of it, but under allocation "
                    f"{rule[c.warehouse]!r} {who} can take that supply: OTIF against the promise can fall below "
                    "100% (allocation: fcfs keeps every promise the supply keeps)"))
    return out


def _network_notes(sc: Scenario) -> list[tuple[str, str]]:
    """Parts of the company that are valid but will not act within the run."""
    out: list[tuple[str, str]] = []
    for i, s in enumerate(sc.suppliers):
        if s.reliability < 1 and s.delay.mean == 0:
            out.append((f"suppliers[{i}].reliability", f"supplier {s.id!r} is late with probability "
                        f"{1 - s.reliability:g}, but by 0 days: give its 'delay' (extra days when late) for "
                        "the reliability to matter"))
        if s.lead_time.mean >= sc.horizon:
            out.append((f"suppliers[{i}].lead_time", f"supplier {s.id!r} takes {s.lead_time.mean:g} days on "
                        f"average, as long as the {sc.horizon}-day run or longer: little it supplies arrives "
                        "before the end"))
    for i, ln in enumerate(sc.lanes):
        if ln.lead_time.mean + ln.order_delay >= sc.horizon:
            out.append((f"lanes[{i}].lead_time", f"the lane from {ln.from_!r} to {ln.to!r} takes "
                        f"{ln.lead_time.mean + ln.order_delay:g} days on average, as long as the {sc.horizon}-day "
                        "run or longer: little sent over it arrives before the end"))
    for i, w in enumerate(sc.warehouses):
        for j, it in enumerate(w.stock):
            r = getattr(it.policy, "review_period", 0) or 0
            if r > sc.horizon:
                out.append((f"warehouses[{i}].stock[{j}].policy.review_period",
                            f"{w.id} reviews {it.product} every {r} days, longer than the {sc.horizon}-day "
                            "horizon: it reorders at most once"))
    regular = {f.id: f.capacity.regular for f in sc.factories if f.capacity is not None}
    for i, ws in enumerate(sc.planning.workforce):
        staffed = ws.workers * ws.units_per_worker_day
        if ws.factory in regular and abs(staffed - regular[ws.factory]) > 1e-6 * max(staffed, 1.0):
            out.append((f"planning.workforce[{i}].workers", f"{ws.workers:g} workers x {ws.units_per_worker_day:g} "
                        f"units a day make {staffed:g}, but {ws.factory}'s regular capacity is "
                        f"{regular[ws.factory]:g}: the plant starts with its capacity "
                        f"({regular[ws.factory] / ws.units_per_worker_day:g} workers), and plans and labour "
                        "costs count from there"))
    out += _unused_source_notes(sc) + _overload_notes(sc) + _lane_capacity_notes(sc)
    for i, c in enumerate(sc.customers):
        for j, d in enumerate(c.demand):
            if d.mean_per_day == 0:
                out.append((f"customers[{i}].demand[{j}]", f"{c.id}'s demand for {d.product} has a mean of 0: "
                            "it orders nothing"))
    return out


def _lane_capacity_notes(sc: Scenario) -> list[tuple[str, str]]:
    """Lanes whose daily capacity is below the mean flow they must carry: the customers' mean demand of every
    stock item the lane feeds, and of the warehouses those items feed in turn. Goods then queue at the dock
    longer and longer, all run long (late deliveries and backorders grow), which no replenishment policy mends.
    A product launched or phased out is left out (its nominal mean is no daily load), as for plants."""
    if all(ln.capacity is None for ln in sc.lanes):
        return []
    rate = _mean_flow(sc, {p for sh in sc.shocks if sh.type in ("launch", "phase_out") for p in sh.products})
    out: list[tuple[str, str]] = []
    for i, ln in enumerate(sc.lanes):
        if ln.capacity is None:
            continue
        w = next((w for w in sc.warehouses if w.id == ln.to), None)
        carried = [(it.product, rate((w.id, it.product))) for it in w.stock if it.source == ln.from_] if w else []
        load = sum(r for _, r in carried)
        if load > 0 and load >= ln.capacity * (1 - 1e-9):
            out.append((f"lanes[{i}].capacity", f"the lane from {ln.from_!r} to {ln.to!r} can dispatch "
                        f"{ln.capacity:g} units a day, but carries a mean of {load:g} a day of "
                        f"{', '.join(p for p, r in carried if r > 0)} (its customers' and the warehouses' it feeds, "
                        f"before trend, seasonality and shocks): {load / ln.capacity:.0%} of its capacity, so goods "
                        "wait at the dock longer and longer, all run long; give the lane more capacity"))
    return out


def _mean_flow(sc: Scenario, without: Collection[str] = ()) -> Callable[[tuple[str, str]], float]:
    """Mean units a day a (warehouse, product) stock item must supply: its customers' mean demand and, in turn,
    that of the warehouses it feeds (products in ``without`` left out: no steady daily load)."""
    demand: dict[tuple[str, str], float] = {}
    for c in sc.customers:
        for d in c.demand:
            if d.product not in without:
                demand[(c.warehouse, d.product)] = demand.get((c.warehouse, d.product), 0.0) + d.mean_per_day
    feeds = {(w.id, it.product): [(v.id, it.product) for v in sc.warehouses for jt in v.stock
                                  if jt.source == w.id and jt.product == it.product]
             for w in sc.warehouses for it in w.stock}

    def rate(key: tuple[str, str], depth: int = 0) -> float:
        if depth > len(sc.warehouses):  # a cycle of warehouses sourcing from each other: stop
            return 0.0
        return demand.get(key, 0.0) + sum(rate(k, depth + 1) for k in feeds.get(key, []))

    return rate


def _stock_level(policy: Any) -> float | None:
    """The most stock a reordering rule aims to hold (its order-up-to level); None when it has none."""
    t = getattr(policy, "type", "none")
    if t in ("base_stock", "one_for_one"):
        return float(policy.level)
    if t == "sS":
        return float(policy.S)
    if t == "rQ":
        return float(policy.r + policy.Q)
    return None


def _perishable_notes(sc: Scenario) -> list[tuple[str, str]]:
    """Perishable stock its replenishment cannot sell in time: a shelf life the transit plus the review period
    outlasts (every unit of an order cannot sell before it expires: a unit's life starts when it leaves its
    source), and an order-up-to level above what demand takes over the lead time and the shelf life left on
    arrival (the excess outdates, cycle after cycle: Nahmias' outdating)."""
    shelf = {p.id: p.shelf_life for p in sc.products if p.shelf_life is not None}
    if not shelf:
        return []
    suppliers = {s.id: s for s in sc.suppliers}
    rate = _mean_flow(sc)
    out: list[tuple[str, str]] = []
    for i, w in enumerate(sc.warehouses):
        for j, it in enumerate(w.stock):
            m = shelf.get(it.product)
            if m is None or it.source is None:
                continue
            lane = sc.lane(it.source, w.id)
            transit = lane.lead_time.mean if lane is not None else 0.0
            lead = transit + (lane.order_delay if lane is not None else 0.0)
            if it.source in suppliers:
                lead += suppliers[it.source].lead_time.mean
            review = max(int(getattr(it.policy, "review_period", 0) or 0), 1)
            at = f"warehouses[{i}].stock[{j}]"
            if m < transit + review:
                out.append((at, f"{it.product} keeps {m:g} days, but reaches {w.id} {transit:g} days after it "
                            f"leaves {it.source} and is reordered every {review} day{'s' if review > 1 else ''}: "
                            "every unit expires before it can sell" if m <= transit else
                            f"{it.product} keeps {m:g} days, but reaches {w.id} {transit:g} days after it leaves "
                            f"{it.source} and each order must last {review} days: the end of every order's "
                            "stock expires before it can sell (review more often, or shorten the transit)"))
                continue
            level, per_day = _stock_level(it.policy), rate((w.id, it.product))
            if level is None or per_day <= 0:
                continue
            sells = per_day * (lead + m - transit)
            if level > sells * (1 + 1e-9):
                out.append((f"{at}.policy", f"{w.id} stocks {it.product} up to {level:g}, but demand takes about "
                            f"{sells:g} ({per_day:g} a day over the {lead:g}-day lead time and the {m - transit:g} "
                            f"days of shelf life left on arrival): the {level - sells:g} units above that expire "
                            "instead of selling, over and over (lower the level)"))
    return out


def _bom_notes(sc: Scenario) -> list[tuple[str, str]]:
    """Components their materials store never replenishes: the plant stops for good once the stock runs out."""
    out: list[tuple[str, str]] = []
    stores = {w.id: w for w in sc.warehouses}
    for i, f in enumerate(sc.factories):
        store = stores.get(f.materials) if f.bom is not None and f.materials is not None else None
        if store is None or f.bom is None:
            continue
        items = {it.product: it for it in store.stock}
        for product, parts in f.bom.items():
            for comp in parts:
                it = items.get(comp)
                if it is not None and (it.source is None or it.policy.type == "none"):
                    out.append((f"factories[{i}].bom.{product}.{comp}", f"{store.id} does not reorder {comp} "
                                f"(no source or policy 'none'): {f.id} makes {product} only from the "
                                f"{it.initial:g} on hand at the start, then stops"))
    return out


def _unused_source_notes(sc: Scenario) -> list[tuple[str, str]]:
    """Suppliers and plants no stock point orders from: valid, but they never act (a dairy's milk supplier, say:
    a plant consumes materials only through a bill of materials, from a store that orders them)."""
    sources = {it.source for w in sc.warehouses for it in w.stock}
    out = [(f"suppliers[{i}]", f"supplier {s.id!r} is no warehouse's 'source': it supplies nothing (a plant uses "
            "raw materials only through its 'bom', issued from its 'materials' store, which orders them from "
            "their sources)")
           for i, s in enumerate(sc.suppliers) if s.id not in sources]
    out += [(f"factories[{i}]", f"factory {f.id!r} is no warehouse's 'source': it makes nothing")
            for i, f in enumerate(sc.factories) if f.id not in sources]
    return out


def _overload_notes(sc: Scenario) -> list[tuple[str, str]]:
    """Plants whose customers' mean demand exceeds what they can make a day: the queue, the backlog and the lost
    sales then grow all run long, which no replenishment policy or plan can mend (the furniture maker whose three
    upholstery lines of 0.4 days a unit meet 9 units a day: 120% of their capacity). A plant is charged with a
    product's demand when it is the product's only outside source (the source of every stock item of it that does
    not order from another warehouse); a plant a plan may staff up (``planning.workforce``) and a product launched
    or phased out are left out."""
    wh = {w.id for w in sc.warehouses}
    outside: dict[str, set[str]] = {}
    for w in sc.warehouses:
        for it in w.stock:
            if it.source is not None and it.source not in wh:
                outside.setdefault(it.product, set()).add(it.source)
    demand: dict[str, float] = {}
    orders: dict[str, float] = {}  # customer lines a day, for lines that take one time per order
    for c in sc.customers:
        for d in c.demand:
            demand[d.product] = demand.get(d.product, 0.0) + d.mean_per_day
            per_day = d.orders_per_day if d.orders_per_day is not None else float(d.mean_per_day > 0)
            orders[d.product] = orders.get(d.product, 0.0) + per_day
    staffed = {ws.factory for ws in sc.planning.workforce} if sc.planning.policy != "none" else set()
    # A launched product's demand is its level once diffusion is over, a phased-out one's is gone by the end: its
    # nominal mean is no daily load.
    for sh in sc.shocks:
        if sh.type in ("launch", "phase_out"):
            for p in sh.products:
                demand.pop(p, None)
                orders.pop(p, None)
    out: list[tuple[str, str]] = []
    for i, f in enumerate(sc.factories):
        mine = [p for p in f.products if outside.get(p) == {f.id} and p in demand]
        if f.id in staffed or not mine:
            continue
        good = f.yield_.mean
        if f.capacity is not None:
            cap, load = (f.capacity.regular + f.capacity.overtime) * good, sum(demand.get(p, 0.0) for p in mine)
            what = f"{cap:g} good units a day (regular + overtime{f' at a mean yield of {good:g}' if good < 1 else ''})"
            unit = "units"
        elif f.lines and f.processing_time is not None and f.processing_time.mean > 0:
            per_order = f.processing_per == "order"
            if per_order and f.mode != "make_to_order":
                continue  # a job is a replenishment order, whose number a day the file does not say
            cap = f.lines / f.processing_time.mean * (1.0 if per_order else good)
            load = sum((orders if per_order else demand).get(p, 0.0) for p in mine)
            unit = "orders" if per_order else "units"
            lines = f"{f.lines} line{'s' if f.lines > 1 else ''} at {f.processing_time.mean:g} days"
            if per_order:
                what = f"{cap:g} orders a day ({lines} an order)"
            else:
                what = f"{cap:g} good units a day ({lines} a unit{f', a mean yield of {good:g}' if good < 1 else ''})"
        else:
            continue
        if load >= cap * (1 - 1e-9):
            out.append((f"factories[{i}]", f"factory {f.id!r} can make {what}, but its customers order "
                        f"{load:g} {unit} a day of {', '.join(mine)} (their mean, before trend, seasonality and "
                        f"shocks): {load / cap:.0%} of its capacity, so its queue and backlog grow all run long; "
                        "give it more capacity (or lines), or less demand"))
    return out


def shock_notes(shocks: Sequence[Any], where: str = "shocks", horizon: int | None = None,
                warmup: int = 0) -> list[tuple[str, str]]:
    """(key path, note) pairs for shocks that are valid but change nothing, and (given the ``horizon`` and
    the ``warmup`` of the scenario they apply to) for shocks whose measuring window the horizon cuts short or
    whose effect falls in the warm-up (``where[i]`` names each)."""
    from simsop.shocks import no_effect

    out = []
    for i, sh in enumerate(shocks):
        at = f"{where}[{i}]"
        if (why := no_effect(sh)) is not None:
            out.append((at, f"shock {sh.name!r} changes nothing: {why}"))
            continue
        if horizon is not None:
            out += [(at, note) for note in (_past_horizon(sh, horizon), _in_warmup(sh, horizon, warmup)) if note]
    return out


def _days(a: int, b: int) -> str:
    return f"day {a}" if a == b else f"days {a}-{b}"


def _past_horizon(sh: Any, horizon: int) -> str | None:
    """A note when the shock KPIs cannot watch the shock's effect plus the recovery allowance inside the
    horizon: recovery then counts only after the allowance was seen above the threshold (else censored)."""
    from simsop.kpi import RECOVERY_ALLOWANCE as settle
    from simsop.shocks import span

    sp = span(sh, horizon)
    if sp.lasting:
        if sp.last_start + settle <= horizon:
            return None  # it lasts, but there is room to see the OTIF settle at its new level
        what = f"its effect lasts from {_days(sp.first_start, sp.last_start)} to the horizon"
    elif sp.effect_end + settle <= horizon:
        return None
    else:
        when = (f"it starts on {_days(sp.first_start, sp.last_start)} and its effect is gone by day "
                f"{sp.effect_end - 1}" if sp.random else f"its effect lasts {_days(sp.first_start, sp.effect_end - 1)}")
        what = f"{when}, and recovery is watched {settle} days more, to day {sp.effect_end + settle - 1}"
    seen = horizon - sp.last_start
    can = "can run" if sp.random else "runs"
    few = "as few as " if sp.random and sp.first_start != sp.last_start else ""
    head = (f"shock {sh.name!r}: its measuring window {can} past the {horizon}-day horizon ({what}); the shock "
            f"KPIs see {few}{seen} day{'s' if seen != 1 else ''} of it")
    if seen < settle:
        return (f"{head}, fewer than the {settle} that confirm a recovery, so its recovery is censored "
                f"(≥ the days seen, not recovered) in every future it happens in")
    return (f"{head}: a future counts as recovered only when the 7-day OTIF is back above its threshold for the "
            f"last {settle} of them, else its recovery is censored (≥ the days seen, not recovered)")


def _in_warmup(sh: Any, horizon: int, warmup: int) -> str | None:
    """A note when the shock's effect lies (wholly or partly) in the warm-up, which the run KPIs leave out."""
    from simsop.shocks import span

    sp = span(sh, horizon)
    if warmup <= 0 or sp.first_start >= warmup:
        return None
    end = min(sp.effect_end, horizon)
    if end <= warmup:
        return (f"shock {sh.name!r} falls in the warm-up ({_days(sp.first_start, end - 1)} of a {warmup}-day "
                "warm-up): the run KPIs leave it out (its shock KPIs see it)")
    may = "may start" if sp.random else "starts"
    return (f"shock {sh.name!r} {may} in the warm-up (its effect covers {_days(sp.first_start, end - 1)}"
            f"{' at most' if sp.random else ''}, of which {_days(sp.first_start, warmup - 1)} in the {warmup}-day "
            "warm-up): the run KPIs leave those days out (its shock KPIs see them)")
