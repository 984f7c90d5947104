"""A team's dashboard before a decision: what its company looks like, as plain data and as text.

``orders`` games show each role's stage: stock, backlog, the order that came in this round, goods received,
the supply line and recent history; ``full`` visibility adds customer demand and every stage of the chain.
``plan`` games show per family and product: stock, backlog, recent sales, the forecast of the buckets to
plan, the plan in force and the plants' capacity, and the last round's P&L; ``full`` visibility adds stock
per warehouse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from simsop.planning.labels import BucketNames, bucket_label, day_label
from simsop.scenario import Scenario
from simsop.workshop.metrics import Flows, flows, metrics
from simsop.workshop.sim import Calendar, TeamRun
from simsop.workshop.supply import (
    PlantCapacity,
    PlantLoad,
    buyers,
    plans_in_force,
    plant_capacity,
    plant_queue,
    project_plants,
    spans_from,
)

HISTORY = 6  # periods of history shown


@dataclass(frozen=True)
class PendingPlan:
    """A plan game team's decision for the next round, not played yet, as the round will play it.

    ``plan`` and ``targets``: (product index, bucket) -> production and inventory target of the plan in force
    once the round is played, from its first bucket on; ``written``: the (product index, bucket) the team's rows
    set (a family's row sets each of its products); the rest is what the bot (or the plan in force) fills in.
    """

    round: int
    plan: Mapping[tuple[int, int], float]
    targets: Mapping[tuple[int, int], float]
    written: frozenset[tuple[int, int]]


def _r(x: float) -> float:
    return round(float(x), 2)


def orders_dashboard(run: TeamRun, sc: Scenario, cal: Calendar, team: str, roles: Sequence[str],
                     game_roles: Sequence[str], visibility: str, next_round: int, counted: int,
                     pending: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The dashboard of an ``orders`` game at the end of ``run`` (the decision day of ``next_round``).

    History is per period (in the Beer Game, per board week; the last one is the current week, whose
    order is what the team decides); money is counted up to ``counted``. ``pending``: the orders the team has
    decided for ``next_round`` (role -> units), not played yet; each played stage shows its own (None: not
    decided).
    """
    end = run.end
    fl = flows(run.records, sc, end)
    edges = cal.edges(end)
    decided = [d for d in cal.days[: max(next_round - 1, 0)]]
    has_order = [any(a <= d < b for d in decided) for a, b in pairwise(edges)]
    rp = run.records.replenishments
    last_day = decided[-1] if decided else None
    shown = list(game_roles) if visibility == "full" else list(roles)
    stages = {}
    for role in shown:
        i = fl.index(role)
        hist: dict[str, list[float | None]] = {name: [_r(x) for x in fl.per_period(name, edges)[i]]
                                               for name in ("incoming", "received", "shipped", "placed")}
        hist["placed"] = [x if ok else None for x, ok in zip(hist["placed"], has_order, strict=True)]
        last = None
        if last_day is not None:
            last = _r(rp["qty"][(rp["warehouse"] == i) & (rp["time"] == last_day)].sum())
        stages[role] = {
            "played": role in roles,
            "on_hand": _r(fl.on_hand[i, end - 1]),
            "backlog": _r(fl.backlog[i, end - 1]),
            "on_order": _r(fl.on_order[i, end - 1]),
            "incoming": hist["incoming"][-1],
            "received": hist["received"][-1],
            "shipped": hist["shipped"][-1],
            "last_order": last,
            "decided": (pending or {}).get(role) if role in roles and next_round <= cal.rounds else None,
            "cost": _r(fl.holding_cost[i, :counted].sum() + fl.backlog_cost[i, :counted].sum()),
            "history": {k: v[-HISTORY:] for k, v in hist.items()},
        }
    n = len(edges) - 1
    out: dict[str, Any] = {
        "kind": "orders", "team": team, "round": next_round, "rounds": cal.rounds, "day": end,
        "visibility": visibility, "periods": list(range(max(1, n - HISTORY + 1), n + 1)), "stages": stages,
        "decided": bool(pending) and next_round <= cal.rounds,
        "metrics": _metric_summary(metrics(run.records, sc, 0, counted, fl)),
    }
    if visibility == "full":
        out["customer_demand"] = [_r(x) for x in fl.per_period("demand", edges).sum(axis=0)[-HISTORY:]]
    return out


def _metric_summary(m: dict[str, Any]) -> dict[str, float]:
    keys = ("profit", "otif", "fill_rate", "total_cost", "revenue", "holding_cost", "backlog_cost", "avg_backlog")
    return {k: float(m[k]) for k in keys}


def _projection(start: np.ndarray, made: Sequence[int], spans: Sequence[tuple[int, int, int]], cal: Calendar,
                in_force: Mapping[tuple[int, int], float], forecast: dict[tuple[int, int], float],
                plants: dict[str, PlantCapacity], loads: dict[str, list[PlantLoad]]) -> list[np.ndarray | None]:
    """Estimated stock (on hand - backlog, per product) at the end of each span ``(bucket, first day, end day)``
    with the plan ``in_force`` (or the team's decision over it), counting what the plants can make of their
    queue and the plan (``loads``, the plants' projection over the same spans), less the forecast; None from the
    first bucket without a plan or forecast.

    Products of plants with production lines (no rate capacity) count their plan as made.
    """
    stock = start.astype(float).copy()
    limited = {p for pc in plants.values() if pc.rate for p in pc.products}
    out: list[np.ndarray | None] = []
    for j, (b, a, z) in enumerate(spans):
        plan = {p: in_force.get((p, b)) for p in made}
        fc = np.array([forecast.get((p, b), float("nan")) for p in made])
        if (out and out[-1] is None) or any(q is None for q in plan.values()) or np.isnan(fc).any():
            out.append(None)
            continue
        ba, bz = cal.bucket_span(b)
        share = (z - a) / (bz - ba)  # production and demand are spread evenly over a bucket's days
        for f in loads.values():
            for p, u in f[j].made.items():
                stock[p] += u
        for k, p in enumerate(made):
            if p not in limited:
                stock[p] += share * float(plan[p] or 0.0)
            stock[p] -= share * fc[k]
        out.append(stock.copy())
    return out


def plan_dashboard(run: TeamRun, sc: Scenario, cal: Calendar, team: str, visibility: str,
                   next_round: int, last_round: tuple[int, int], counted_to: int | None = None,
                   pending: PendingPlan | None = None) -> dict[str, Any]:
    """The dashboard of a ``plan`` game at the end of ``run`` (the supply review of cycle next_round - 1);
    ``last_round`` is the window the last round was counted over (whole buckets), ``counted_to`` the end of
    what the totals count (default ``last_round[1]``; after the last round it also holds the month where the
    last plan plays out).

    Per product (and family): stock, backlog and pipeline (planned or ordered, not yet at the warehouse)
    now; booked sales of the last three buckets; the current bucket's forecast and plan in force and the
    stock they leave at its end (an estimate); the next buckets' forecast and plan in force; the plants'
    capacity per bucket, net of the capacity shocks already under way. With ``pending`` (the team's decision
    for ``next_round``, not played yet), each bucket to plan also shows the team's plan (and inventory target)
    as the round will play it, and the estimated stock of those buckets assumes it.
    """
    rec = run.records
    end = run.end
    fl = flows(rec, sc, end)
    cycle = next_round - 1
    kind = sc.planning.bucket
    names = BucketNames(kind, cal.bucket_starts)
    products = [p.id for p in sc.products]
    made = {p for f in sc.factories for p in f.products}
    families = {f: [p.id for p in sc.products if p.family == f and p.id in made] for f in sc.families}
    families = {f: ps for f, ps in families.items() if ps}
    snap = rec.snapshots
    sku_p = rec.meta.sku_product.astype(int)
    on_hand = np.zeros(len(products))
    backlog = np.zeros(len(products))
    pipeline = np.zeros(len(products))
    np.add.at(on_hand, sku_p, snap.on_hand[end - 1])
    np.add.at(backlog, sku_p, snap.backlog[end - 1])
    np.add.at(pipeline, sku_p, snap.on_order[end - 1])
    over = cycle >= cal.rounds
    fb = cal.first_bucket[cycle] if not over else None
    # Buckets a plan may set that still start before the game ends (later ones would change nothing).
    last_b = min(fb + cal.plan_buckets - 1, max(cal.last_useful_bucket(), fb)) if fb is not None else None
    buckets = list(range(fb, fb + min(cal.plan_buckets, 3))) if fb is not None else []
    # The bucket under way (the decision day falls in it), when it is not the first one planned.
    now_b = int(np.searchsorted(np.asarray(cal.bucket_starts), end, side="right")) - 1
    now = [now_b] if fb is not None and now_b < fb else []
    fc = rec.forecasts
    sel = fc["cycle"] == cycle
    off = cal.record_offset
    forecast = {(int(p), int(b) - off): float(q) for p, b, q in zip(fc["product"][sel], fc["bucket"][sel],
                                                                    fc["consensus"][sel], strict=True)}
    in_force = plans_in_force(rec.plan, cycle, off)
    target_in_force = plans_in_force(rec.plan, cycle, off, "inventory_target")
    if fb is None:
        pending = None
    # What the estimates assume: the team's plan once it has decided the round, else the plan in force.
    assumed = in_force if pending is None else {**in_force, **pending.plan}
    bs = rec.bucket_sales
    sales: dict[int, dict[int, float]] = {}
    for b, p, u in zip(bs["bucket"].tolist(), bs["product"].tolist(), bs["units"].tolist(), strict=True):
        sales.setdefault(int(b) - off, {})[int(p)] = float(u)
    recent = sorted(sales)[-3:]
    pidx = {p: i for i, p in enumerate(products)}
    spans_days = [cal.bucket_span(b)[1] - cal.bucket_span(b)[0] for b in buckets]
    rows: dict[str, dict[str, Any]] = {}
    # What the cycle's supply review proposes as inventory targets for the bucket to plan: what a plan without
    # targets of its own sets (also a team's row without one).
    ss_spec = sc.planning.safety_stock
    proposed = (run.cycle.proposed_target(cycle) if sc.planning.set_execution_levels and buckets
                and run.cycle is not None else None)
    for p in sorted(made, key=pidx.__getitem__):
        i = pidx[p]
        nf = forecast.get((i, now[0]), float("nan")) if now else float("nan")
        npl = in_force.get((i, now[0])) if now else None
        rows[p] = {
            "family": sc.product(p).family, "on_hand": _r(on_hand[i]), "backlog": _r(backlog[i]),
            "pipeline": _r(pipeline[i]),
            "sales": [_r(sales[b].get(i, 0.0)) for b in recent],
            "now_forecast": _r(nf), "now_plan": None if npl is None else _r(npl), "projected": None,
            "forecast": [_r(forecast.get((i, b), float("nan"))) for b in buckets],
            "plan_in_force": [_r(in_force[(i, b)]) if (i, b) in in_force else None for b in buckets],
        }
        if pending is not None:
            rows[p]["plan_decided"] = [_r(pending.plan[(i, b)]) if (i, b) in pending.plan else None for b in buckets]
            # Cells the team's rows leave out: the bot's proposal (or the plan in force) fills them in.
            rows[p]["decided_elsewhere"] = [(i, b) not in pending.written for b in buckets]
        if sc.planning.set_execution_levels and buckets:
            # What the cycle proposes (days of cover of the forecast, plus the safety stock when the scenario
            # sets one), and the target of the plan in force for the bucket to plan.
            fc0, days0 = forecast.get((i, buckets[0]), float("nan")), spans_days[0]
            cover = sc.planning.days_of_cover * fc0 / days0
            full = cover if proposed is None or ss_spec is None else float(proposed[i])
            rows[p]["target"] = _r(full) if fc0 == fc0 and full == full else None
            if ss_spec is not None:
                rows[p]["target_safety_stock"] = _r(full - cover) if rows[p]["target"] is not None else None
            t0 = target_in_force.get((i, buckets[0]))
            rows[p]["target_in_force"] = None if t0 is None or t0 != t0 else _r(t0)
            if pending is not None:
                t1 = pending.targets.get((i, buckets[0]))
                rows[p]["target_decided"] = None if t1 is None or t1 != t1 else _r(t1)

    def total(values: list[Any]) -> Any:
        return None if any(x is None for x in values) else _r(sum(values))

    fam_rows: dict[str, dict[str, Any]] = {}
    for f, ps in families.items():
        fam_rows[f] = {k: total([rows[p][k] for p in ps])
                       for k in ("on_hand", "backlog", "pipeline", "now_forecast", "now_plan", "projected")}
        for k in ("sales", "forecast", "plan_in_force", "plan_decided"):
            if k in rows[ps[0]]:
                fam_rows[f][k] = [total([rows[p][k][j] for p in ps]) for j in range(len(rows[ps[0]][k]))]
        if pending is not None:
            fam_rows[f]["decided_elsewhere"] = [any(rows[p]["decided_elsewhere"][j] for p in ps)
                                                for j in range(len(buckets))]
        for k in ("target", "target_safety_stock", "target_in_force", "target_decided"):
            if k in rows[ps[0]]:
                fam_rows[f][k] = total([rows[p][k] for p in ps])
    spans = [cal.bucket_span(b) for b in buckets]
    # Capacity: the rest of the bucket under way, then the buckets to plan.
    cap_spans = [(end, cal.bucket_span(now[0])[1])] if now else []
    cap_spans += spans
    plants, known = plant_capacity(run.world, rec, sc, end)
    known = [k for k in known if k["end"] > end]  # shocks over by now are history
    capacity: dict[str, dict[str, Any]] = {}
    k0 = len(cap_spans) - len(spans)  # 1 when the rest of the bucket under way comes first
    queues = plant_queue(run.world)
    # The plants' work from now on with the plans in force, bucket by bucket (also a bucket between the one
    # under way and the first to plan, which a plan's delay may leave): the supply review's projection.
    proj_spans = spans_from(end, buckets[-1], cal.bucket_starts) if buckets else []
    shown = [j for j, (b, _, _) in enumerate(proj_spans) if b in now or b in buckets]
    loads = project_plants(queues, plants, assumed, proj_spans, cal.bucket_span)
    for f_index, fac in enumerate(sc.factories):
        pc = plants[fac.id]
        reg = fac.capacity.regular if fac.capacity is not None else float("nan")
        ot = fac.capacity.overtime if fac.capacity is not None else float("nan")
        sums = [pc.span(a, z) for a, z in cap_spans]
        reduced = [pc.reduced(a, z) for a, z in cap_spans]
        # regular/overtime/reduced are per bucket to plan (as "buckets"); "now" is the rest of the one under way.
        # Capacity, queued and carried are good units (at the plant's mean yield), as plans count.
        capacity[fac.id] = {"products": list(fac.products), "regular_per_day": reg, "overtime_per_day": ot,
                            "mean_yield": pc.mean_yield,
                            "regular": [_r(r) for r, _ in sums[k0:]], "overtime": [_r(o) for _, o in sums[k0:]],
                            "reduced": reduced[k0:],
                            "queued": _r(pc.mean_yield * sum(u for _, u in queues.get(fac.id, []))),
                            # Units still queued when each bucket to plan starts (its plan comes after them).
                            "carried": ([_r(ld.carried) for ld in loads[fac.id] if ld.bucket in buckets]
                                        if fac.id in loads else [None] * len(buckets)),
                            "now": ({"regular": _r(sums[0][0]), "overtime": _r(sums[0][1]),
                                     "reduced": reduced[0]} if k0 else None),
                            # Warehouses that order from the plant as they need while no plan is in force (before
                            # the first plan goes live): their orders to come are not known on the decision day,
                            # so the projection (and the supply review) cannot count them.
                            "orders_until_plan": (buyers(sc, fac.id)
                                                  if pc.rate and fb is not None and any(
                                                      all((pidx[p], b) not in in_force for p in fac.products)
                                                      for b in range(now_b, fb)) else [])}
        # What its lanes carry away a day, made and bought together (only a plant with capacity-limited lanes).
        lanes = run.world.shipping_capacity(f_index)
        if lanes is not None:
            capacity[fac.id]["lanes_per_day"] = _r(lanes)
    queued = np.zeros(len(products))
    for f, q in queues.items():
        if plants[f].rate:
            for p, u in q:
                queued[p] += u
    # What is already made (in stock or on its way) counts as stock, as in the old estimate; what is queued
    # counts once the plant can make it.
    every = _projection(on_hand - backlog + pipeline - queued, sorted(pidx[p] for p in made), proj_spans, cal,
                        assumed, forecast, plants, loads)
    projected = [every[j] for j in shown]
    for p in made:
        i = pidx[p]
        rows[p]["queued"] = _r(queued[i])
        rows[p]["projected"] = None if not now or projected[0] is None else _r(projected[0][i])
        rows[p]["projected_ahead"] = [None if x is None else _r(x[i]) for x in projected[k0:]]
    for f, ps in families.items():
        fam_rows[f]["queued"] = total([rows[p]["queued"] for p in ps])
        fam_rows[f]["projected"] = total([rows[p]["projected"] for p in ps])
        fam_rows[f]["projected_ahead"] = [total([rows[p]["projected_ahead"][j] for p in ps])
                                          for j in range(len(buckets))]
    out: dict[str, Any] = {
        "kind": "plan", "team": team, "round": next_round, "rounds": cal.rounds, "cycle": cycle, "day": end,
        "date": day_label(kind, end), "visibility": visibility,
        "buckets": [{"bucket": b, "label": bucket_label(kind, b), "start": a, "days": z - a}
                    for b, (a, z) in zip(buckets, spans, strict=True)],
        "now": [{"bucket": b, "label": bucket_label(kind, b), "start": cal.bucket_span(b)[0],
                 "days": cal.bucket_span(b)[1] - cal.bucket_span(b)[0], "days_left": cal.bucket_span(b)[1] - end}
                for b in now],
        "plannable_buckets": ([fb, last_b] if fb is not None else None),
        "plannable_labels": ([names.label(fb + 1), names.label(last_b)] if fb is not None and last_b is not None
                             else None),
        "game_ends": day_label(kind, cal.final_end - 1),
        "sales_buckets": recent, "sales_labels": [bucket_label(kind, b) for b in recent],
        # Whose plan the estimates of the buckets to plan assume: the team's decision for next_round, or the plan
        # in force (the team has not decided the round yet).
        "decided": pending is not None,
        "products": rows, "families": fam_rows, "capacity": capacity, "capacity_shocks": known,
        "inventory_targets": ({"days_of_cover": sc.planning.days_of_cover,
                               "safety_stock_service_level": None if ss_spec is None else ss_spec.service_level}
                              if sc.planning.set_execution_levels else None),
        "counted": list(last_round),
        "counted_labels": [day_label(kind, last_round[0]), day_label(kind, max(last_round[1] - 1, 0))],
        "last_round": _metric_summary(metrics(rec, sc, last_round[0], last_round[1], fl)),
        "metrics": _metric_summary(metrics(rec, sc, 0, last_round[1] if counted_to is None else counted_to, fl)),
    }
    limit = sc.planning.inventory_budget
    if limit is not None:
        # The finance review's limit against the estimated stock of the buckets to plan, valued as the cycle's check
        # values a plan's stock (budget.inventory_value: the made products at unit cost, a shortage counting 0).
        from simsop.planning.budget import inventory_value

        unit_cost = np.array([p.unit_cost for p in sc.products])
        is_made = np.zeros(len(sc.products), dtype=bool)
        is_made[[pidx[p] for p in made]] = True
        out["inventory_budget"] = {"limit": _r(limit), "value_ahead": [
            None if x is None else _r(float(inventory_value(x[:, None], unit_cost, is_made)[0]))
            for x in projected[k0:]]}
    if visibility == "full":
        out["warehouses"] = {w: {"on_hand": _r(fl.on_hand[i, end - 1]), "backlog": _r(fl.backlog[i, end - 1])}
                             for i, w in enumerate(fl.warehouses)}
    return out


# ---------------------------------------------------------------------------------------------- text


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
          right: Sequence[int] = ()) -> str:
    """A plain-text table (right-aligned numbers), readable in any terminal and in logs.

    Text columns (names) are left-aligned, numbers right-aligned; ``right`` forces columns of text (such as
    ``2,046 + 465``) to the right.
    """

    def cell(x: Any) -> str:
        if x is None:
            return "-"
        if isinstance(x, float):
            if x != x:
                return "-"
            x = x + 0.0  # no "-0"
            text = f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.2f}".rstrip("0").rstrip(".")
            return "0" if text == "-0" else text
        return str(x)

    cells = [[cell(x) for x in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    left = [i not in right and (i == 0 or (bool(rows) and all(
        isinstance(r[i], str) and not r[i].rstrip("%").replace(".", "").isdigit() for r in rows)))
        for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) if lf else v.rjust(w) for v, w, lf in zip(values, widths, left, strict=True))

    return "\n".join([title, line(headers), *(line(r) for r in cells)]).rstrip()


def grouped_table(title: str, groups: Sequence[str], columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table whose columns repeat for each group (``columns`` per month), the group named once above its
    columns: as wide as one set of column names per group, not one name per column. ``rows``: a label, then
    text cells, group by group; every cell but the label is right-aligned."""
    n = len(columns)
    heads = ["", *(list(columns) * len(groups))]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(heads)]
    over = [" " * widths[0]]
    for g, name in enumerate(groups):
        span = sum(widths[1 + g * n:1 + (g + 1) * n]) + 2 * (n - 1)
        over.append(f" {name} ".center(span, "-"))
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(r, widths, strict=True)))
             for r in (heads, *rows)]
    return "\n".join([title, "  ".join(over), *lines]).rstrip()


def wrap(text: str, indent: str = "", width: int = 110, subsequent: str | None = None) -> str:
    """A sentence wrapped for a terminal (tables are as wide as they need; prose is not); its later lines are
    indented by ``subsequent`` (default: ``indent``)."""
    import textwrap

    return textwrap.fill(text, width, initial_indent=indent, break_on_hyphens=False,  # "capacity-limited" stays
                         subsequent_indent=indent if subsequent is None else subsequent)


def money(x: float) -> str:
    """Money: whole units from 100 on, else cents (without ``.00``)."""
    if x != x:
        return "-"
    x = x + 0.0
    text = f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}".removesuffix(".00")
    return "0" if text == "-0" else text


def pct(x: float) -> str:
    return "-" if x != x else f"{100 * x:.1f}%"


def units(x: Any) -> float | None:
    """A quantity of a plan game shown in whole units (None and nan stay as they are: shown as '-')."""
    if x is None:
        return None
    f = float(x)
    return f if f != f else float(round(f)) + 0.0


METRIC_NAMES = {"profit": "profit", "total_cost": "total cost", "otif": "OTIF", "fill_rate": "fill rate",
                "revenue": "revenue", "gross_margin": "gross margin", "avg_backlog": "average backlog"}


def _value(metric: str, x: float) -> str:
    return pct(x) if metric in ("otif", "fill_rate") else money(x)


def results_line(m: dict[str, Any], score: dict[str, Any] | None) -> str:
    """Profit, total cost and OTIF (the score first, said to be the score); a game without revenue (the Beer
    Game: profit is minus the cost) shows no profit."""
    shown = ["profit", "total_cost", "otif"]
    if not m.get("revenue"):
        shown.remove("profit")
    metric = score["metric"] if score else None
    parts = []
    if metric is not None:
        better = "higher" if score and score.get("higher_is_better", True) else "lower"
        parts.append(f"{METRIC_NAMES.get(metric, metric)} {_value(metric, m[metric])} (your score; {better} is "
                     "better)")
    parts += [f"{METRIC_NAMES[k]} {_value(k, m[k])}" for k in shown if k != metric]
    return ", ".join(parts)


def _plan_rows(d: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, row) of families and their products: a family of one product named like it, or a game where
    every family is one product, shows the product only."""
    fams: dict[str, list[str]] = {}
    for p, r in d["products"].items():
        fams.setdefault(r["family"], []).append(p)
    if all(len(ps) == 1 for ps in fams.values()):
        return list(d["products"].items())
    out: list[tuple[str, dict[str, Any]]] = []
    for f, row in d["families"].items():
        ps = fams.get(f, [])
        if ps == [f]:
            out.append((f, d["products"][f]))
            continue
        out.append((f, row))
        out += [(f"  {p}", d["products"][p]) for p in ps]
    return out


def _quantity(x: Any, mark: str = "") -> str:
    """A plan game's quantity as a table shows it (whole units, '-' for none), with a mark after it."""
    if x is None or x != x:
        return "-"
    return f"{units(x) or 0.0:,.0f}" + mark


def _ahead(d: dict[str, Any], items: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """The buckets to plan: forecast, plan in force, the team's decision not played yet (when it has one) and the
    estimated stock, with a line that says whose plan the estimate assumes."""
    bl = [x["label"] for x in d["buckets"]]
    k = d["round"]
    ahead = any(x is not None for _, r in items for x in r.get("projected_ahead", []))
    decided = bool(d.get("decided"))
    cols = [("forecast", "forecast"), ("plan_in_force", "in force")]
    if decided:
        cols.append(("plan_decided", "your decision"))
    if ahead:
        cols.append(("projected_ahead", "est. stock"))
    elsewhere = False
    rows = []
    for label, r in items:
        row: list[Any] = [label]
        for j in range(len(bl)):
            for key, _ in cols:
                if key == "plan_decided":
                    mark = "*" if r["decided_elsewhere"][j] else ""
                    elsewhere |= bool(mark) and r[key][j] is not None
                    row.append(_quantity(r[key][j], mark if r[key][j] is not None else ""))
                else:
                    row.append(_quantity(r[key][j]))
        rows.append(row)
    out = [grouped_table("\nAhead (units):", bl, [name for _, name in cols], rows)]
    file = d.get("decisions_file", "your decision file")
    notes = ["forecast: the consensus forecast", "in force: the plan in force now"]
    if decided:
        notes.append(f"your decision: your rows for round {k} in {file} as the round will play them (not played "
                     "yet)")
        if elsewhere:
            who = ("the plan in force stays" if d.get("bot") == "hold" else
                   f"the bot's ({d.get('bot')}) plan fills it in when the round is played")
            notes.append(f"*: your rows leave this month or product out: {who}")
    if ahead:
        notes.append("est. stock: at the month's end, capacity-limited, " + (
            "with your decision" if decided else f"with the plan in force (you have not decided round {k} yet)"))
    out.append(wrap("; ".join(notes) + ".", indent="  "))
    budget = d.get("inventory_budget")
    if budget and any(v is not None for v in budget["value_ahead"]):
        values = [f"{label} {_quantity(v)}" + (" (over)" if v is not None and v > budget["limit"] else "")
                  for label, v in zip(bl, budget["value_ahead"], strict=True)]
        out.append(wrap(f"Inventory budget {budget['limit']:,.0f} (the finance review's limit on the value of the "
                        f"stock at unit cost at each month's end): est. stock value {', '.join(values)}.",
                        indent="  "))
    return out


def render(d: dict[str, Any], period: str = "round") -> str:
    """The dashboard as text."""
    m = d["metrics"]
    when = d.get("date", f"day {d['day']}")
    if d["round"] > d["rounds"]:
        head = f"Team {d['team']} - the workshop is over ({when})"
    elif d["kind"] == "plan" and d["buckets"]:
        head = (f"Team {d['team']} - round {d['round']} of {d['rounds']}: plan {d['buckets'][0]['label']}'s production "
                f"({when}, day {d['day']}; visibility {d['visibility']})")
    else:
        head = f"Team {d['team']} - round {d['round']} of {d['rounds']} (day {d['day']}; visibility {d['visibility']})"
    parts = [head, "So far: " + results_line(m, d.get("score"))]
    if d["kind"] == "orders":
        rows = []
        # The order the team has decided for this round (its file), not placed yet: beside the last one placed.
        ahead = d["round"] <= d["rounds"] and any(s["played"] for s in d["stages"].values())
        for role, s in d["stages"].items():
            mine = [(s.get("decided") if s["played"] else "bot")] if ahead else []
            rows.append([role + ("" if s["played"] else " (bot)"), s["on_hand"], s["backlog"], s["incoming"],
                         s["received"], s["shipped"], s["on_order"], s["last_order"], *mine, s["cost"]])
        parts.append(table("\nYour stage" + ("s" if len(rows) > 1 else "") + f" now (units; this {period}'s "
                           "orders and deliveries):",
                           ["stage", "on hand", "backlog", "ordered from you", "received", "shipped", "on order",
                            "your last order", *([f"your order {period} {d['round']}"] if ahead else []),
                            "cost so far"], rows, right=range(1, 10)))
        if ahead:
            file = d.get("decisions_file", "your decision file")
            parts.append(wrap(f"your order {period} {d['round']}: what you decided for round {d['round']} in {file}, "
                              "placed when the round is played" + (
                                  "; -: not decided yet (the bot orders if it stays so)"
                                  if any(s["played"] and s.get("decided") is None for s in d["stages"].values())
                                  else "") + ".", indent="  "))
        bots: dict[str, list[str]] = {}
        for role, s in d["stages"].items():
            if s.get("bot"):  # results written before bots were named per role have none
                bots.setdefault(s["bot"], []).append(role)
        if bots:
            by_bot = "; ".join(f"{', '.join(roles)}: {name}" for name, roles in bots.items())
            parts.append(wrap(f"The bot (orders for a stage nobody plays, or that you leave undecided): {by_bot}.",
                              indent="  "))
        periods = d["periods"]
        hist = [[f"{role} {name}", *s["history"][key]] for role, s in d["stages"].items()
                for name, key in (("orders in", "incoming"),
                                  ("your orders" if s["played"] else "its orders (bot)", "placed"))]
        if "customer_demand" in d:
            hist.insert(0, ["customer demand", *d["customer_demand"]])
        parts.append(table(f"\nRecent {period}s (units):", ["", *[f"{period} {p}" for p in periods]], hist))
        return "\n".join(parts)
    lr = d["last_round"]
    a, b = d["counted"]
    if b > a:
        parts.append(f"Last round ({d['counted_labels'][0]} - {d['counted_labels'][1]}): revenue "
                     f"{money(lr['revenue'])}, total cost {money(lr['total_cost'])}, profit {money(lr['profit'])}")
    items = _plan_rows(d)
    now = d.get("now", [])
    nl = now[0]["label"] if now else ""
    nxt = d["buckets"][0]["label"] if d["buckets"] else ""
    # Units the plants were asked for but have not made yet (a plan above capacity): part of the pipeline.
    queued = any((r.get("queued") or 0.0) >= 0.5 for _, r in items)
    heads = ["", "on hand", "backlog", "pipeline", *(["of it queued"] if queued else []),
             *[f"sales {x}" for x in d["sales_labels"]]]
    if now:
        heads += [f"{nl} forecast", f"{nl} plan", f"est. stock end {nl} (capacity-limited)"]
    rows = []
    for label, r in items:
        row = [label, units(r["on_hand"]), units(r["backlog"]), units(r["pipeline"]),
               *([units(r.get("queued"))] if queued else []), *map(units, r["sales"])]
        if now:
            row += [units(r["now_forecast"]), units(r["now_plan"]), units(r["projected"])]
        rows.append(row)
    parts.append(table("\nNow (units):", heads, rows))
    notes = ["pipeline: planned or shipped, not yet in stock"]
    if queued:
        notes.append("of it queued: planned earlier but not made yet (more than the plant could make); the plant "
                     "makes it first, before what newer plans add")
    if d["sales_labels"]:
        notes.append("sales: orders booked")
    if now:
        notes.append(f"est. stock end {nl} (capacity-limited): on hand - backlog + pipeline already made + what the "
                     f"plants can make of their queue and the rest of {nl}'s plan (first come first served, at the "
                     "capacity below) - the rest of its forecast")
        if all(r["now_plan"] is None for _, r in items):
            notes.append(f"{nl} has no plan: the warehouse orders from the plants as it needs until the first plan "
                         "goes live")
    parts.append(wrap("; ".join(notes) + ".", indent="  "))
    if d["buckets"]:
        parts += _ahead(d, items)
        bl = [x["label"] for x in d["buckets"]]
        cap = []
        cols = bl
        for f, c in d["capacity"].items():
            cols = ([f"rest of {nl}"] if c.get("now") else []) + bl
            cells = ([(c["now"]["regular"], c["now"]["overtime"], c["now"]["reduced"])] if c.get("now") else [])
            cells += list(zip(c["regular"], c["overtime"], c["reduced"], strict=True))
            cap.append([f, *[f"{units(r):,.0f} + {units(o):,.0f}" + ("*" if red else "") for r, o, red in cells]])
        yields = {f: float(c.get("mean_yield", 1.0)) for f, c in d["capacity"].items()}
        good = any(y < 1.0 - 1e-9 for y in yields.values())
        parts.append(table("\nCapacity (good units, regular + overtime):" if good else
                           "\nCapacity (units, regular + overtime):", ["plant", *cols], cap,
                           right=range(1, len(cols) + 1)))
        for f, y in yields.items():
            if y < 1.0 - 1e-9:
                # Plans count good units: a plant that scraps part of what it works can make that much less.
                parts.append(wrap(f"{f}: what it can work x its {100 * y:.3g}% mean yield (it scraps the rest); "
                                  "the queued units below count the same way", indent="  "))
        for sh in d.get("capacity_shocks", []):
            what = "no production" if sh["left"] == 0 else f"{100 * sh['left']:.0f}% of capacity"
            a, z = sh.get("dates", (f"day {sh['start']}", f"day {sh['end'] - 1}"))
            parts.append(f"  * {sh['factory']}: {sh['type'].replace('_', ' ')} from {a} to {z} ({what}), "
                         "counted above")
        for f, c in d["capacity"].items():
            if c.get("lanes_per_day") is not None:
                k = float(c["lanes_per_day"])
                days = d["buckets"][0]["days"]
                rate = f"{k:,.0f}" if k >= 100 or k == round(k) else f"{k:,.3g}"
                parts.append(wrap(f"{f}: its lanes carry {rate} units a day out of the plant, what it makes and what "
                                  f"it buys together ({k * days:,.0f} in {bl[0]}); what a plan sends out beyond that "
                                  "waits at its dock.", indent="  "))
        for f, c in d["capacity"].items():
            q_now = float(c.get("queued") or 0.0)
            carried = units((c.get("carried") or [None])[0])
            said = []
            if q_now >= 0.5:
                first = f"the rest of {nl}" if c.get("now") else bl[0]
                said.append(f"{q_now:,.0f} units of earlier plans are still queued (not made yet); they take the "
                            f"first {q_now:,.0f} units of {first}'s capacity, before what the plans add.")
            if carried is not None and carried == carried and (carried >= 0.5 or q_now >= 0.5):
                # What the supply review counts first in the month to plan: the queue carried into it.
                room = max(float(c["regular"][0] + c["overtime"][0]) - carried, 0.0)
                said.append((f"With the plans in force, {carried:,.0f} units are still queued when {bl[0]} starts; "
                             if c.get("now") and carried >= 0.5 else
                             f"With the plans in force, all of them are made before {bl[0]} starts; " if c.get("now")
                             else "") + f"{bl[0]}'s plan has {room:,.0f} units of its capacity left.")
            who = c.get("orders_until_plan") or []
            if who:
                # Said rather than guessed: the orders depend on demand still to come (and a warehouse orders in
                # lumps at its reviews, so an order late in the month can spill into the first planned one).
                one = len(who) == 1
                said.append(f"Until the first plan goes live ({bl[0]}), {', '.join(who)} order{'s' if one else ''} "
                            f"from it as {'it needs' if one else 'they need'}; "
                            f"those orders are not known yet and are not counted here nor in the supply review: what "
                            f"it cannot make of them before {bl[0]} starts is made first in {bl[0]}, before its plan.")
            if said:
                parts.append(wrap(f"{f}: " + " ".join(said), indent="  "))
    if d.get("inventory_targets") and d["buckets"]:
        it = d["inventory_targets"]
        cover, level = it["days_of_cover"], it.get("safety_stock_service_level")
        title = (f"\nInventory targets for {nxt} (units of stock; they set the reorder levels of the warehouses that "
                 "reorder):")
        # The team's decision (a row without a target gets the proposal) beside what is in force.
        yours = (["your decision"], ["target_decided"]) if d.get("decided") else ([], [])
        if level is None:
            parts.append(table(title, ["", f"proposed ({cover:g} days of forecast)", "in force", *yours[0]],
                               [[label, units(r.get("target")), units(r.get("target_in_force")),
                                 *[units(r.get(k)) for k in yours[1]]] for label, r in items]))
        else:
            parts.append(table(title, ["", f"proposed ({cover:g} days of forecast + safety stock)",
                                       "of it safety stock", "in force", *yours[0]],
                               [[label, units(r.get("target")), units(r.get("target_safety_stock")),
                                 units(r.get("target_in_force")), *[units(r.get(k)) for k in yours[1]]]
                                for label, r in items]))
            parts.append(wrap(f"proposed: what the plan sets when you give no target: {cover:g} days of {nxt}'s "
                              f"forecast, plus a safety stock for a {100 * level:g}% cycle service level against the "
                              "forecast's error over the time the plan cannot react (the frozen fence and the supply "
                              "lead time).", indent="  "))
    if "warehouses" in d:
        parts.append(table("\nWarehouses:", ["warehouse", "on hand", "backlog"],
                           [[w, units(x["on_hand"]), units(x["backlog"])] for w, x in d["warehouses"].items()]))
    if d["plannable_buckets"]:
        a, b = d["plannable_buckets"]
        first = d["buckets"][0]
        later = d.get("plannable_labels", [f"bucket {a + 1}", f"bucket {b}"])
        also = (f"; rows in the decision file may also plan {later[0]} (bucket {b})" if b == a + 1 else
                f"; rows in the decision file may also plan {later[0]} to {later[1]} (buckets {a + 1} to {b})"
                if b > a + 1 else "")
        ends = f" The game ends on {d['game_ends']}." if "game_ends" in d else ""
        parts.append("\n" + wrap(f"This round sets the production of {nxt} (bucket {a}, days {first['start']}-"
                                  f"{first['start'] + first['days'] - 1}){also}.{ends} " + (
                                      "Buckets you leave out keep the plan in force." if d.get("bot") == "hold"
                                      else f"Buckets you leave out are planned by the bot ({d.get('bot')}).")))
    return "\n".join(parts)


def flows_of(run: TeamRun, sc: Scenario) -> Flows:
    return flows(run.records, sc, run.end)


def _num(x: Any) -> float:
    return float("nan") if x in (None, "", "None") else float(x)


def leaderboard_view(rows: Sequence[dict[str, Any]], metric: str,
                     higher_is_better: bool) -> tuple[list[str], list[list[str]]]:
    """The leaderboard as headers and text cells, for the terminal and the debrief.

    The score's metric comes first and says it is the score; profit, total cost and OTIF follow, without
    the one that is the score; a game without revenue (every profit is minus the total cost, as in the Beer
    Game) shows no profit. The round's own profit (or cost) shows who is doing well now.
    """
    cost_only = bool(rows) and all(abs(_num(r["profit"]) + _num(r["total_cost"])) < 1e-6 for r in rows)
    shown = [k for k in ("profit", "total_cost", "otif") if k != metric and not (k == "profit" and cost_only)]
    better = "higher" if higher_is_better else "lower"
    headers = ["rank", "team", f"{METRIC_NAMES.get(metric, metric)} ({better} is better)",
               *[METRIC_NAMES[k] for k in shown]]
    last: str | None = None
    if metric == "profit" or not cost_only:
        last = "profit"
        headers.append("profit this round")
    else:
        last = "cost"
        headers.append("cost this round")
    headers.append("bot rounds")
    body = []
    for r in rows:
        lr = _num(r.get("round_profit"))
        body.append([str(r["rank"]), str(r["team"]), _value(metric, _num(r["score"])),
                     *[_value(k, _num(r[k])) for k in shown],
                     money(lr if last == "profit" else -lr), str(r.get("bot_rounds", ""))])
    return headers, body


def _duration(sh: dict[str, Any]) -> float | None:
    d = sh.get("duration")
    if isinstance(d, dict):
        return float(d["value"]) if d.get("dist") == "deterministic" and "value" in d else None
    return None if d is None else float(d)


def shock_text(sh: dict[str, Any], span: Callable[[int, int], str] | None = None) -> str:
    """A shock in words, e.g. ``lane delay distributor -> wholesaler: +7 days per shipment``."""
    t = sh.get("type", "?")
    what = t.replace("_", " ")
    who = ""
    if sh.get("products"):
        who = " of " + ", ".join(sh["products"])
    if sh.get("customers"):
        who += " at " + ", ".join(sh["customers"])
    if t in ("demand_step", "demand_spike"):
        detail = f"demand{who} {float(sh.get('magnitude', 0)):+.0%}"
    elif t == "demand_ramp":
        detail = f"demand{who} ramps to {float(sh.get('magnitude', 0)):+.0%}"
    elif t == "collapse_rebound":
        detail = f"demand{who} {float(sh.get('magnitude', 0)):+.0%}" + (
            f", then a rebound of +{float(sh['rebound']):.0%}" if sh.get("rebound") else "")
    elif t == "promotion":
        detail = (f"demand{who} +{float(sh.get('lift', 0)):.0%}, {float(sh.get('pull_forward', 0)):.0%} of the "
                  "extra pulled forward from after it")
    elif t in ("launch", "phase_out"):
        detail = ", ".join(sh.get("products", ()))
    elif t == "factory_outage":
        detail = f"{sh.get('factory')} makes nothing"
    elif t == "capacity_loss":
        detail = f"{sh.get('factory')} at {float(sh.get('factor', 0)):.0%} of its capacity"
    elif t in ("lane_delay", "supplier_delay"):
        where = (f"{sh['lane'].get('from')} -> {sh['lane'].get('to')}" if t == "lane_delay" and
                 isinstance(sh.get("lane"), dict) else str(sh.get("supplier", "")))
        more = (f"+{float(sh['extra_days']):g} days" if sh.get("extra_days") is not None
                else f"x{float(sh.get('factor', 1)):g}")
        detail = f"{where}: lead time {more}"
    elif t == "supplier_outage":
        detail = f"{sh.get('supplier')} accepts no orders (it accepts those that waited when it ends)"
    else:
        detail = ""
    if sh.get("window") is not None:
        when = f"starting between days {sh['window'][0]} and {sh['window'][1]}"
    else:
        start = int(sh.get("start", 0))
        dur = _duration(sh)
        if dur is not None:
            stop = start + max(1, round(dur))
            when = f"days {start}-{stop - 1}" + (f" ({span(start, stop)})" if span else "")
        else:
            when = f"from day {start}" + (", random duration" if sh.get("duration") is not None else "")
    p = float(sh.get("probability", 1.0))
    chance = f" (probability {p:.0%})" if p < 1 else ""
    return f"{what}: {detail}, {when}{chance}" if detail else f"{what}, {when}{chance}"
