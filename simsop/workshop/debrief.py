"""The debrief's data: per team and period, orders against demand, stock and backlog per stage, cost by
stage, forecast bias and plan nervousness; the leaderboard; the replay against other futures.

Plain data (lists and dicts) for :mod:`simsop.report.debrief`, which draws it. Each team is re-simulated
through the last round played (the workshop's own future).

Periods are the calendar's whole periods counted so far (``round_days`` blocks in an ``orders`` game: in
the Beer Game, board weeks, each holding its deliveries, demand and the order of its round; planning
buckets in a ``plan`` game).
"""

from __future__ import annotations

import contextlib
import csv
import json
from typing import TYPE_CHECKING, Any

import numpy as np

from simsop.workshop.metrics import flows, metrics

if TYPE_CHECKING:
    from simsop.workshop.game import Workshop
    from simsop.workshop.sim import TeamRun


# The costs of the P&L a team's decisions move (cost of goods and fixed costs are left out: they follow
# from what is sold and from the plants, and would dwarf the rest).
COST_TYPES = ("holding_cost", "backlog_cost", "lost_sale_cost", "overtime_cost", "transport_cost", "scrap_cost",
              "expiry_cost",
              "plan_change_cost", "subcontract_cost", "labor_cost", "cogs", "fixed_cost")


def _list(a: np.ndarray) -> list[float]:
    return [round(float(x), 4) for x in a]


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den > 1e-12 else None


def bullwhip(orders: np.ndarray, demand: np.ndarray) -> float | None:
    """Variance of a stage's orders over the variance of customer demand, same periods (nan-free)."""
    if len(orders) < 2:
        return None
    return _ratio(float(np.var(orders)), float(np.var(demand)))


def nervousness(orders: np.ndarray) -> float | None:
    """Mean absolute change of orders from one period to the next, over their mean."""
    if len(orders) < 2:
        return None
    return _ratio(float(np.mean(np.abs(np.diff(orders)))), float(np.mean(orders)))


def _plan_series(ws: Workshop, run: Any, edges: np.ndarray) -> dict[str, Any]:
    """Plan games: production planned and made per bucket, forecast bias and plan nervousness per cycle."""
    rec = run.records
    nb = len(edges) - 1
    pp = rec.planned_production
    planned = np.zeros(nb)
    if len(pp):
        b = np.searchsorted(edges, pp["day"].astype(float), side="right") - 1
        ok = (b >= 0) & (b < nb)
        np.add.at(planned, b[ok], pp["qty"].astype(float)[ok])
    plan_rows = rec.plan
    if len(plan_rows):
        # Before the first plan goes live nothing is planned (the warehouses pull): no point, not a zero.
        first = float(np.min(plan_rows["bucket_start"].astype(float)))
        planned[np.asarray(edges[1:]) <= first] = np.nan
    else:
        planned[:] = np.nan
    fd = rec.factory_days
    made = np.zeros(nb)
    if len(fd):
        b = np.searchsorted(edges, fd["day"].astype(float), side="right") - 1
        ok = (b >= 0) & (b < nb)
        np.add.at(made, b[ok], (fd["regular_used"] + fd["overtime_used"]).astype(float)[ok])
    by_family = _family_series(ws, rec, edges, None if len(plan_rows) == 0 else
                               float(np.min(plan_rows["bucket_start"].astype(float))))
    # Forecast bias of each cycle at lag 1 (the bucket after the cut-off), network total, against booked orders.
    fc, bs = rec.forecasts, rec.bucket_sales
    off = ws.calendar.record_offset  # records number buckets from the forecast history's start
    actual: dict[int, float] = {}
    for b_, u in zip(bs["bucket"].tolist(), bs["units"].tolist(), strict=True):
        actual[int(b_) - off] = actual.get(int(b_) - off, 0.0) + float(u)
    lag1 = fc["lag"] == 1
    fsum: dict[tuple[int, int], float] = {}
    for c, b_, q in zip(fc["cycle"][lag1].tolist(), fc["bucket"][lag1].tolist(), fc["consensus"][lag1].tolist(),
                        strict=True):
        key = (int(c), int(b_) - off)
        fsum[key] = fsum.get(key, 0.0) + float(q)
    bias = []
    for (c, b_), f in sorted(fsum.items()):
        a = actual.get(b_)
        bias.append({"cycle": c, "bucket": b_, "forecast": round(f, 4), "actual": a,
                     "bias": _ratio(f - a, a) if a is not None else None})
    plan = rec.plan
    sc = ws.scenario
    fence = sc.planning.frozen_buckets + sc.planning.slushy_buckets
    prod: dict[tuple[int, int], float] = {}
    first_of: dict[int, int] = {}
    for c, b_, q in zip(plan["cycle"].tolist(), plan["bucket"].tolist(), plan["production"].tolist(), strict=True):
        b_ = int(b_) - off
        prod[(int(c), b_)] = prod.get((int(c), b_), 0.0) + float(q)
        first_of[int(c)] = min(first_of.get(int(c), b_), b_)
    nerv = []
    for c in sorted(first_of):
        if c - 1 not in first_of:
            continue
        keys = [(c, b_) for b_ in range(first_of[c], first_of[c] + fence) if (c - 1, b_) in prod and (c, b_) in prod]
        change = sum(abs(prod[k] - prod[(c - 1, k[1])]) for k in keys)
        base = sum(prod[(c - 1, k[1])] for k in keys)
        nerv.append({"cycle": c, "nervousness": _ratio(change, base)})
    return {"planned": _list(planned), "made": _list(made), "forecast_bias": bias, "plan_nervousness": nerv,
            "families": by_family}


def _per_period(days: np.ndarray, values: np.ndarray, rows: np.ndarray, n_rows: int,
                edges: np.ndarray) -> np.ndarray:
    """Values summed per row (e.g. product) and period [edges[i], edges[i+1])."""
    nb = len(edges) - 1
    out = np.zeros((n_rows, nb))
    b = np.searchsorted(edges, days, side="right") - 1
    ok = (b >= 0) & (b < nb)
    np.add.at(out, (rows[ok], b[ok]), values[ok])
    return out


def _family_series(ws: Workshop, rec: Any, edges: np.ndarray, first_plan: float | None) -> dict[str, Any]:
    """Per family (of made products): customers' demand, production planned and made (good units finished)
    per period; planned is undefined before the first plan goes live."""
    sc = ws.scenario
    products = list(rec.meta.products)
    n = len(products)
    e = np.asarray(edges, dtype=float)
    ln, o = rec.lines, rec.orders
    demand = (_per_period(o["time"].astype(float)[ln["order_id"].astype(int)], ln["qty"].astype(float),
                          ln["product"].astype(int), n, e) if len(ln) else np.zeros((n, len(e) - 1)))
    pp = rec.planned_production
    planned = (_per_period(pp["day"].astype(float), pp["qty"].astype(float), pp["product"].astype(int), n, e)
               if len(pp) else np.zeros((n, len(e) - 1)))
    ps, pf = rec.tables["production_started"], rec.tables["production_finished"]
    made = np.zeros((n, len(e) - 1))
    if len(pf):
        prod_of = dict(zip(ps["job_id"].astype(int).tolist(), ps["product"].astype(int).tolist(), strict=True))
        rows = np.array([prod_of.get(j, -1) for j in pf["job_id"].astype(int).tolist()], dtype=int)
        keep = rows >= 0
        made = _per_period(pf["time"].astype(float)[keep], pf["good"].astype(float)[keep], rows[keep], n, e)
    # Net stock (on hand - backlog, all warehouses) of each product at the end of each period.
    snap = rec.snapshots
    last = np.clip(np.asarray(edges[1:], dtype=int) - 1, 0, snap.on_hand.shape[0] - 1)
    sku_p = rec.meta.sku_product.astype(int)
    net_sku = (snap.on_hand - snap.backlog - snap.internal_backlog)[last]  # periods x skus
    net = np.zeros((n, len(last)))
    np.add.at(net, sku_p, net_sku.T)
    before = np.asarray(e[1:]) <= (first_plan if first_plan is not None else np.inf)
    made_products = {p for f in sc.factories for p in f.products}
    out: dict[str, Any] = {}
    for fam in sc.families:
        idx = [products.index(p.id) for p in sc.products if p.family == fam and p.id in made_products]
        if not idx:
            continue
        pl = planned[idx].sum(axis=0)
        pl[before] = np.nan
        out[fam] = {"products": [products[i] for i in idx], "demand": _list(demand[idx].sum(axis=0)),
                    "planned": _list(pl), "made": _list(made[idx].sum(axis=0)),
                    "net_stock": _list(net[idx].sum(axis=0))}
    return out


def team_runs(ws: Workshop) -> dict[str, TeamRun]:
    """Each team's run through the rounds played, to the end of the last one: what the debrief looks at."""
    k = ws.played
    end = ws.calendar.end(k)
    rows = ws.read_all()
    return {team: ws.run(team, [r for r in rows[team] if r.round <= k], end) for team in ws.teams}


def debrief_data(ws: Workshop, runs: dict[str, TeamRun] | None = None) -> dict[str, Any]:
    """Everything the debrief shows, as plain data (``runs``: :func:`team_runs`, if already made)."""
    cfg = ws.cfg
    cal = ws.calendar
    sc = ws.scenario
    k = ws.played
    end = cal.end(k)
    counted = cal.account_end(k)
    runs = team_runs(ws) if runs is None else runs
    edges = cal.edges(counted) if counted > 0 else np.asarray([0], dtype=int)
    if cfg.kind == "orders":
        label = "week" if cfg.round_days == 7 else "period"
    else:
        label = "month" if sc.planning.bucket == "month" else ("week" if sc.planning.bucket == "week" else "bucket")
    teams: dict[str, Any] = {}
    shocks_seen: list[dict[str, Any]] = []
    injected = {str(s_.shock.get("name")) for s_ in cfg.shocks}
    for team in ws.teams:
        run = runs[team]
        fl = flows(run.records, sc, end)
        m = metrics(run.records, sc, 0, counted, fl)
        demand = fl.per_period("demand", edges).sum(axis=0)
        stage_names = list(cfg.roles) if cfg.kind == "orders" else list(fl.warehouses)
        bot_of = ws.role_bot_names() if cfg.kind == "orders" else {}
        stages = {}
        for st in stage_names:
            i = fl.index(st)
            placed = fl.per_period("placed", edges)[i]
            stages[st] = {
                "played": st in ws.roles(team) if cfg.kind == "orders" else True,
                "bot": bot_of.get(st),  # who ordered for the stage when the team did not (orders games)
                "orders": _list(placed), "incoming": _list(fl.per_period("incoming", edges)[i]),
                "received": _list(fl.per_period("received", edges)[i]),
                "on_hand": _list(fl.per_period("on_hand", edges, "last")[i]),
                "backlog": _list(fl.per_period("backlog", edges, "last")[i]),
                "holding_cost": round(float(fl.holding_cost[i, :counted].sum()), 4),
                "backlog_cost": round(float(fl.backlog_cost[i, :counted].sum()), 4),
                "bullwhip": bullwhip(placed, demand),
                "nervousness": nervousness(placed),
            }
        bots = []
        for r in range(1, k + 1):
            try:
                doc = ws._results(team, r)
            except Exception:  # a missing results file costs a marker, not the debrief
                continue
            if any(d.get("source") == "bot" for d in doc.get("decisions", [])):
                bots.append(r)
        entry: dict[str, Any] = {
            "demand": _list(demand), "stages": stages, "bot_rounds": bots,
            "metrics": {key: m[key] for key in ("profit", "total_cost", "otif", "fill_rate", "revenue",
                                                "holding_cost", "backlog_cost")},
            "costs": {key: round(float(m.get(key, 0.0)), 4) for key in COST_TYPES},
        }
        if not shocks_seen:
            t = run.records.tables["shocks"]
            texts = {s_.name: s_ for s_ in sc.shocks}
            for name, a, z in zip(t["name"].tolist(), t["start"].tolist(), t["effect_end"].tolist(), strict=True):
                if a < counted:
                    sh = texts.get(str(name))
                    hit: list[str] | None = None  # the products it touches (None: all)
                    prods: Any = getattr(sh, "products", None)
                    factory: Any = getattr(sh, "factory", None)
                    if prods:
                        hit = [str(p) for p in prods]
                    elif factory:
                        hit = next((list(f.products) for f in sc.factories if f.id == factory), None)
                    shocks_seen.append({"name": str(name), "start": int(a), "end": int(z),
                                        "type": sh.type if sh is not None else "", "products": hit,
                                        "injected": str(name) in injected})
            shocks_seen.append({})  # marks the list as filled (every team plays the same shocks)
        if cfg.kind == "plan":
            entry.update(_plan_series(ws, run, edges))
        teams[team] = entry
    replay = None
    path = ws.root / "results" / "replay.csv"
    if path.is_file():
        from simsop.workshop.game import replay_summary

        with path.open(newline="", encoding="utf-8") as fh:
            raw = list(csv.DictReader(fh))
        rrows: list[dict[str, Any]] = [
            {"replication": int(r["replication"]), "team": r["team"], "rank": int(r["rank"]),
             "score": float(r["score"]) if r["score"] not in ("", "None") else None} for r in raw]
        # A replay run before the last rounds were played is about fewer rounds (played rows never change).
        rounds = {str(r.get("rounds") or "") for r in raw}
        only = next(iter(rounds)) if len(rounds) == 1 else ""
        replayed = int(only) if only.isdigit() else None
        replay = {"rows": rrows, "summary": replay_summary(rrows, ws.teams), "rounds": replayed,
                  "replications": max((int(r["replication"]) for r in rrows), default=0),
                  "current": replayed == k and {r["team"] for r in rrows} == set(ws.teams)}
    n = len(edges) - 1
    # Period p is shown as p + 1 (in the Beer Game: board week p + 1, whose order is round p + 1's).
    order_x = list(range(1, n + 1))
    if cfg.kind == "plan" and sc.planning.bucket == "month":
        from simsop.planning.labels import bucket_label

        first_b = int(np.searchsorted(np.asarray(cal.bucket_starts), 0))
        period_labels = [bucket_label("month", first_b + i) for i in range(n)]
    else:
        period_labels = [str(i) for i in range(1, n + 1)]
    from simsop.workshop.dashboard import leaderboard_view, shock_text

    board = ws.leaderboard() if k >= 0 else []
    headers, cells = leaderboard_view(board, cfg.score.metric, cfg.score.higher_is_better)
    log = []
    for e in cfg.log:
        entry_ = e.model_dump()
        if e.action == "shock":
            with contextlib.suppress(ValueError):
                entry_["detail"] = shock_text(json.loads(e.detail), ws.span_text)
        log.append(entry_)
    return {
        "name": cfg.name, "kind": cfg.kind, "played": k, "rounds": cfg.rounds, "seed": cfg.seed,
        "score": {"metric": cfg.score.metric, "higher_is_better": cfg.score.higher_is_better},
        "period": label, "periods": [int(x) for x in edges[:-1]], "period_x": list(range(1, n + 1)),
        "order_x": order_x, "end": end, "edges": [int(x) for x in edges], "period_labels": period_labels,
        "horizon": sc.horizon,
        # What the totals count: the rounds played, and in a plan game the month after the last round, where its
        # plan plays out (as the leaderboard counts it).
        "counted_text": ws.span_text(0, counted) if counted > 0 else "",
        "tail_text": (ws.span_text(cal.round_end(k), counted) if k >= 1 and cal.round_end(k) < counted else ""),
        "leaderboard": board, "leaderboard_view": {"headers": headers, "rows": cells},
        "teams": teams, "replay": replay,
        "shocks": [{"before_round": s.before_round, **s.shock, "text": shock_text(s.shock, ws.span_text)}
                   for s in cfg.shocks],
        "shock_windows": [x for x in shocks_seen if x],
        "log": log, "visibility": cfg.visibility, "bot": ws.bot_name,
    }
