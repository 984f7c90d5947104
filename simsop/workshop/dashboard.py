"""A team's dashboard before a decision: what its company looks like, as plain data and as text.

``orders`` games show each role's stage: stock, backlog, the order that came in this round, goods received,
the supply line and recent history; ``full`` visibility adds customer demand and every stage of the chain.
``plan`` games show per family and product: stock, backlog, recent sales, the forecast of the buckets to
plan, the plan in force and the plants' capacity, and the last round's P&L; ``full`` visibility adds stock
per warehouse.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from simsop.scenario import Scenario
from simsop.workshop.metrics import Flows, flows, metrics
from simsop.workshop.sim import Calendar, TeamRun

HISTORY = 6  # periods of history shown


def _r(x: float) -> float:
    return round(float(x), 2)


def orders_dashboard(run: TeamRun, sc: Scenario, cal: Calendar, team: str, roles: Sequence[str],
                     game_roles: Sequence[str], visibility: str, next_round: int, counted: int) -> dict[str, Any]:
    """The dashboard of an ``orders`` game at the end of ``run`` (the decision day of ``next_round``).

    History is per period (in the Beer Game, per board week; the last one is the current week, whose
    order is what the team decides); money is counted up to ``counted``.
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
            "cost": _r(fl.holding_cost[i, :counted].sum() + fl.backlog_cost[i, :counted].sum()),
            "history": {k: v[-HISTORY:] for k, v in hist.items()},
        }
    n = len(edges) - 1
    out: dict[str, Any] = {
        "kind": "orders", "team": team, "round": next_round, "rounds": cal.rounds, "day": end,
        "visibility": visibility, "periods": list(range(max(1, n - HISTORY + 1), n + 1)), "stages": stages,
        "metrics": _metric_summary(metrics(run.records, sc, 0, counted, fl)),
    }
    if visibility == "full":
        out["customer_demand"] = [_r(x) for x in fl.per_period("demand", edges).sum(axis=0)[-HISTORY:]]
    return out


def _metric_summary(m: dict[str, Any]) -> dict[str, float]:
    keys = ("profit", "otif", "fill_rate", "total_cost", "revenue", "holding_cost", "backlog_cost", "avg_backlog")
    return {k: float(m[k]) for k in keys}


def plan_dashboard(run: TeamRun, sc: Scenario, cal: Calendar, team: str, visibility: str,
                   next_round: int, last_round: tuple[int, int]) -> dict[str, Any]:
    """The dashboard of a ``plan`` game at the end of ``run`` (the supply review of cycle next_round - 1);
    ``last_round`` is the window the last round was counted over (whole buckets)."""
    rec = run.records
    end = run.end
    fl = flows(rec, sc, end)
    cycle = next_round - 1
    products = [p.id for p in sc.products]
    made = {p for f in sc.factories for p in f.products}
    families = {f: [p.id for p in sc.products if p.family == f and p.id in made] for f in sc.families}
    families = {f: ps for f, ps in families.items() if ps}
    snap = rec.snapshots
    sku_p = rec.meta.sku_product.astype(int)
    on_hand = np.zeros(len(products))
    backlog = np.zeros(len(products))
    np.add.at(on_hand, sku_p, snap.on_hand[end - 1])
    np.add.at(backlog, sku_p, snap.backlog[end - 1])
    over = cycle >= cal.rounds
    fb = cal.first_bucket[cycle] if not over else None
    buckets = list(range(fb, fb + min(cal.plan_buckets, 3))) if fb is not None else []
    fc = rec.forecasts
    sel = fc["cycle"] == cycle
    off = cal.record_offset
    forecast = {(int(p), int(b) - off): float(q) for p, b, q in zip(fc["product"][sel], fc["bucket"][sel],
                                                                    fc["consensus"][sel], strict=True)}
    plan = rec.plan
    in_force: dict[tuple[int, int], float] = {}
    for c, p, b, q in zip(plan["cycle"].tolist(), plan["product"].tolist(), plan["bucket"].tolist(),
                          plan["production"].tolist(), strict=True):
        if c < cycle:
            in_force[(p, b - off)] = q  # later cycles overwrite earlier ones (rows come in cycle order)
    bs = rec.bucket_sales
    sales: dict[int, dict[int, float]] = {}
    for b, p, u in zip(bs["bucket"].tolist(), bs["product"].tolist(), bs["units"].tolist(), strict=True):
        sales.setdefault(int(b) - off, {})[int(p)] = float(u)
    recent = sorted(sales)[-3:]
    pidx = {p: i for i, p in enumerate(products)}
    rows: dict[str, dict[str, Any]] = {}
    for p in sorted(made, key=pidx.__getitem__):
        i = pidx[p]
        rows[p] = {
            "family": sc.product(p).family, "on_hand": _r(on_hand[i]), "backlog": _r(backlog[i]),
            "sales": [_r(sales[b].get(i, 0.0)) for b in recent],
            "forecast": [_r(forecast.get((i, b), float("nan"))) for b in buckets],
            "plan_in_force": [_r(in_force[(i, b)]) if (i, b) in in_force else None for b in buckets],
        }
    fam_rows: dict[str, dict[str, Any]] = {}
    for f, ps in families.items():
        fam_rows[f] = {k: _r(sum(rows[p][k] for p in ps)) for k in ("on_hand", "backlog")}
        for k in ("sales", "forecast"):
            fam_rows[f][k] = [_r(sum(rows[p][k][j] for p in ps)) for j in range(len(rows[ps[0]][k]))]
        pif = [[rows[p]["plan_in_force"][j] for p in ps] for j in range(len(buckets))]
        fam_rows[f]["plan_in_force"] = [None if any(x is None for x in col) else _r(sum(col)) for col in pif]
    spans = [cal.bucket_span(b) for b in buckets]
    capacity: dict[str, dict[str, Any]] = {}
    for fac in sc.factories:
        reg = fac.capacity.regular if fac.capacity is not None else float("nan")
        ot = fac.capacity.overtime if fac.capacity is not None else float("nan")
        capacity[fac.id] = {"products": list(fac.products), "regular_per_day": reg, "overtime_per_day": ot,
                          "regular": [_r(reg * (b - a)) for a, b in spans],
                          "overtime": [_r(ot * (b - a)) for a, b in spans]}
    out: dict[str, Any] = {
        "kind": "plan", "team": team, "round": next_round, "rounds": cal.rounds, "cycle": cycle, "day": end,
        "visibility": visibility,
        "buckets": [{"bucket": b, "start": a, "days": z - a} for b, (a, z) in zip(buckets, spans, strict=True)],
        "plannable_buckets": ([fb, fb + cal.plan_buckets - 1] if fb is not None else None),
        "sales_buckets": recent, "products": rows, "families": fam_rows, "capacity": capacity,
        "counted": list(last_round),
        "last_round": _metric_summary(metrics(rec, sc, last_round[0], last_round[1], fl)),
        "metrics": _metric_summary(metrics(rec, sc, 0, last_round[1], fl)),
    }
    if visibility == "full":
        out["warehouses"] = {w: {"on_hand": _r(fl.on_hand[i, end - 1]), "backlog": _r(fl.backlog[i, end - 1])}
                             for i, w in enumerate(fl.warehouses)}
    return out


# ---------------------------------------------------------------------------------------------- text


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table (right-aligned numbers), readable in any terminal and in logs."""

    def cell(x: Any) -> str:
        if x is None:
            return "-"
        if isinstance(x, float):
            if x != x:
                return "-"
            return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.2f}".rstrip("0").rstrip(".")
        return str(x)

    cells = [[cell(x) for x in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    # Text columns (names) are left-aligned, numbers right-aligned.
    left = [i == 0 or (bool(rows) and all(isinstance(r[i], str) and not r[i].rstrip("%").replace(".", "").isdigit()
                                          for r in rows)) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) if lf else v.rjust(w) for v, w, lf in zip(values, widths, left, strict=True))

    return "\n".join([title, line(headers), *(line(r) for r in cells)]).rstrip()


def money(x: float) -> str:
    return "-" if x != x else f"{x:,.2f}"


def pct(x: float) -> str:
    return "-" if x != x else f"{100 * x:.1f}%"


def render(d: dict[str, Any], period: str = "round") -> str:
    """The dashboard as text."""
    m = d["metrics"]
    head = (f"Team {d['team']} - round {d['round']} of {d['rounds']} (day {d['day']}; visibility {d['visibility']})"
            if d["round"] <= d["rounds"] else f"Team {d['team']} - the workshop is over (day {d['day']})")
    parts = [head, f"So far: profit {money(m['profit'])}, total cost {money(m['total_cost'])}, OTIF {pct(m['otif'])}"]
    if d["kind"] == "orders":
        rows = []
        for role, s in d["stages"].items():
            rows.append([role + ("" if s["played"] else " (bot)"), s["on_hand"], s["backlog"], s["incoming"],
                         s["received"], s["shipped"], s["on_order"], s["last_order"], s["cost"]])
        parts.append(table("\nYour stage" + ("s" if len(rows) > 1 else "") + " now:",
                           ["stage", "on hand", "backlog", "ordered from you", "received", "shipped", "on order",
                            "your last order", "cost so far"], rows))
        periods = d["periods"]
        hist = [[f"{role} {name}", *s["history"][key]] for role, s in d["stages"].items()
                for name, key in (("orders in", "incoming"), ("your orders", "placed"))]
        if "customer_demand" in d:
            hist.insert(0, ["customer demand", *d["customer_demand"]])
        parts.append(table(f"\nRecent {period}s:", ["", *[f"{period} {p}" for p in periods]], hist))
        return "\n".join(parts)
    buckets = d["buckets"]
    bh = [f"b{b['bucket']} (day {b['start']})" for b in buckets]
    lr = d["last_round"]
    a, b = d["counted"]
    if b > a:
        parts.append(f"Last round (days {a}-{b - 1}): revenue {money(lr['revenue'])}, total cost "
                     f"{money(lr['total_cost'])}, profit {money(lr['profit'])}")
    rows = [[f, r["on_hand"], r["backlog"], *r["sales"]] for f, r in d["families"].items()]
    rows += [[f"  {p}", r["on_hand"], r["backlog"], *r["sales"]] for p, r in d["products"].items()]
    parts.append(table("\nStock and recent sales (booked orders):", ["family / product", "on hand", "backlog",
                                                                     *[f"sales b{b}" for b in d["sales_buckets"]]],
                       rows))
    rows = [[f, *[x for pair in zip(r["forecast"], r["plan_in_force"], strict=True) for x in pair]]
            for f, r in d["families"].items()]
    rows += [[f"  {p}", *[x for pair in zip(r["forecast"], r["plan_in_force"], strict=True) for x in pair]]
             for p, r in d["products"].items()]
    parts.append(table("\nForecast (consensus) and plan in force, by bucket:",
                       ["family / product", *[f"{h} {k}" for h in bh for k in ("forecast", "plan")]], rows))
    rows = [[f, *[x for pair in zip(c["regular"], c["overtime"], strict=True) for x in pair]]
            for f, c in d["capacity"].items()]
    parts.append(table("\nCapacity (units):", ["plant", *[f"{h} {k}" for h in bh for k in ("regular", "overtime")]],
                       rows))
    if "warehouses" in d:
        parts.append(table("\nWarehouses:", ["warehouse", "on hand", "backlog"],
                           [[w, x["on_hand"], x["backlog"]] for w, x in d["warehouses"].items()]))
    if d["plannable_buckets"]:
        a, b = d["plannable_buckets"]
        parts.append(f"\nThis round (cycle {d['cycle']}) plans buckets {a} to {b}.")
    return "\n".join(parts)


def flows_of(run: TeamRun, sc: Scenario) -> Flows:
    return flows(run.records, sc, run.end)
