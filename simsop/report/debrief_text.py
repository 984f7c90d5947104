"""The debrief's computed narrative: who won, by how much, and what made the difference, in sentences and
tables built from the lesson data of :mod:`simsop.report.debrief_service` (never hand-written numbers).

* :func:`ranking`: the teams best first (the leaderboard's order);
* :func:`difference_lines`: the sentences of "What made the difference";
* :func:`difference_table`: the profit's components per team, and what each gap is made of;
* :func:`hot_products`: the products where the teams' service or stock differ most;
* :func:`service_rows`: the product-months where the teams' service differed most.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from simsop.report.charts import COST_COMPONENTS
from simsop.report.kpimeta import fmt, info

# The workshop's P&L: its backlog cost (customers' and downstream stages' backlog) stands where the KPIs'
# backorder cost stands.
COMPONENTS = ("revenue", *("backlog_cost" if c == "backorder_cost" else c for c in COST_COMPONENTS))
_LABELS = {"backlog_cost": "Backlog cost", "revenue_lost": "Revenue of lost sales", "otif": "OTIF (orders)"}
# Below this share of a gap, a component is not named in the sentence that explains it.
_NAMED_SHARE = 0.1


def label(key: str) -> str:
    return _LABELS.get(key) or info(key).label


def money(x: float, signed: bool = False) -> str:
    """$1,234 / −$1,234 (signed: +$1,234)."""
    sign = "−" if x < -0.5 else ("+" if signed and x > 0.5 else "")
    return f"{sign}${abs(x):,.0f}"


def units(x: float) -> str:
    return f"{x:,.0f}"


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def ranking(data: dict[str, Any]) -> list[str]:
    """The teams best first: the leaderboard's order, else by the score over the game."""
    teams = list(data["service"]["teams"])
    board = [str(r.get("team")) for r in data.get("leaderboard") or [] if str(r.get("team")) in teams]
    if sorted(board) == sorted(teams):
        return board
    metric, hib = data["score"]["metric"], data["score"]["higher_is_better"]
    tot = {t: data["service"]["teams"][t]["totals"].get(metric) for t in teams}
    return sorted(teams, key=lambda t: (tot[t] is None, -(tot[t] or 0.0) if hib else (tot[t] or 0.0)))


def contribution(totals: dict[str, Any], key: str) -> float:
    """What a P&L line adds to profit: revenue +, a cost −."""
    v = float(totals.get(key) or 0.0)
    return v if key == "revenue" else -v


def components(data: dict[str, Any]) -> list[str]:
    """The P&L lines that are not zero for every team."""
    teams = data["service"]["teams"].values()
    return [k for k in COMPONENTS if any(abs(float(t["totals"].get(k) or 0.0)) > 0.5 for t in teams)]


def costs_only(data: dict[str, Any]) -> bool:
    """A game without revenue (the Beer Game): its P&L is costs alone, and gaps are said in cost."""
    return "revenue" not in components(data)


def _worst_month(data: dict[str, Any], team: str) -> tuple[str, int, float, float] | None:
    """(product, period, lost, late) of the product-month with the most units lost or late."""
    best: tuple[str, int, float, float] | None = None
    for p, s in data["service"]["teams"][team]["products"].items():
        for i, (lost, late) in enumerate(zip(s["lost"], s["late"], strict=True)):
            short = (lost or 0.0) + (late or 0.0)
            if short >= 0.5 and (best is None or short > best[2] + best[3]):
                best = (p, i, lost or 0.0, late or 0.0)
    return best


def team_sentence(data: dict[str, Any], team: str) -> str:
    """What one team's customers got (its worst product-month, or that it served every order) and the stock
    it carried."""
    t = data["service"]["teams"][team]
    tot = t["totals"]
    worst = _worst_month(data, team)
    stock = (f"carried {units(float(tot.get('avg_on_hand') or 0.0))} units on average (holding cost "
             f"{money(float(tot.get('holding_cost') or 0.0))})")
    otif = f"OTIF {pct(tot['otif'])} over the game"
    if worst is None:
        on_time = tot.get("otif") is None or float(tot["otif"]) >= 0.9995
        served = "shipped every unit on time" if on_time else "shipped every unit, some orders late"
        return f"{team} lost no sales and {served} ({otif}); it {stock}."
    p, i, lost, late = worst
    what = (f"lost {units(lost)} units of {p}" + (f" and shipped {units(late)} late" if late >= 0.5 else "")
            if lost >= 0.5 else f"shipped {units(late)} units of {p} late")
    month = t["products"][p]["otif"][i]
    lost_all = float(tot.get("lost_sales_units") or 0.0)
    rest = (f", {units(lost_all)} units lost in all ({money(float(tot.get('revenue_lost') or 0.0))} of revenue)"
            if lost_all >= 0.5 else ", no sales lost")
    return (f"{team} {what} in {data['period_labels'][i]} ({p} OTIF {pct(month)} that {data['period']}); "
            f"{otif}{rest}; it {stock}.")


# What each P&L line's gap came from, in units, where the lesson data knows it.
_BECAUSE = {"holding_cost": ("avg_on_hand", "units on hand on average"),
            "revenue": ("lost_sales_units", "units of lost sales"),
            "overtime_cost": ("overtime_units", "units made on overtime"),
            "backlog_cost": ("avg_backlog", "units of backlog on average"),
            "cogs": ("shipped_units", "units shipped")}


def gap_sentence(data: dict[str, Any], winner: str, team: str) -> str:
    """Why ``team`` is behind ``winner``: the P&L lines that make most of its profit gap, each with the
    units behind it, and what it gained back."""
    tw, tt = data["service"]["teams"][winner]["totals"], data["service"]["teams"][team]["totals"]
    gap = float(tt.get("profit") or 0.0) - float(tw.get("profit") or 0.0)  # < 0: team made less
    diffs = [(k, contribution(tt, k) - contribution(tw, k)) for k in components(data)]
    scale = max(abs(gap), max((abs(d) for _, d in diffs), default=0.0), 1.0)
    named = sorted((x for x in diffs if abs(x[1]) >= _NAMED_SHARE * scale and abs(x[1]) >= 0.5),
                   key=lambda x: -abs(x[1]))

    def part(k: str, d: float) -> str:
        a, b = float(tt.get(k) or 0.0), float(tw.get(k) or 0.0)
        text = f"{label(k).lower()} {money(d, signed=True)}"
        if k in _BECAUSE:
            key, what = _BECAUSE[k]
            text += f" ({units(float(tt.get(key) or 0.0))} {what} against {units(float(tw.get(key) or 0.0))})"
        else:
            text += f" ({money(a)} against {money(b)})"
        return text

    cost = [part(k, d) for k, d in named if d < 0]
    gain = [part(k, d) for k, d in named if d > 0]
    if costs_only(data):
        head = f"{team} spent {money(abs(gap))} {'more' if gap < 0 else 'less'} than {winner}"
    else:
        head = f"{team} made {money(abs(gap))} {'less' if gap < 0 else 'more'} profit than {winner}"
    body = ""
    if cost:
        body += ": " + ", ".join(cost)
    if gain:
        body += ("; it gained back " if cost else ": it gained ") + ", ".join(gain)
    return head + (body if body else ": no line of the P&L differs much") + "."


def difference_lines(data: dict[str, Any]) -> list[str]:
    """The sentences of "What made the difference", best team first."""
    order = ranking(data)
    if not order:
        return []
    metric = data["score"]["metric"]
    totals = {t: data["service"]["teams"][t]["totals"] for t in order}
    w = order[0]

    def score(t: str) -> str:
        v = totals[t].get(metric)
        return money(float(v)) if v is not None and info(metric).kind == "money" else fmt(metric, v)

    lines = [f"{w} finished first on {label(metric).lower()} ({score(w)})"
             + ("; " + ", ".join(f"{t} {score(t)}" for t in order[1:]) if len(order) > 1 else "") + "."]
    lines += [team_sentence(data, t) for t in order]
    lines += [gap_sentence(data, w, t) for t in order[1:]]
    return lines


def difference_table(data: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: each P&L line and service measure per team (best team first), and each other team's
    gap to the first in profit (+: it helped that team's profit)."""
    order = ranking(data)
    tot = {t: data["service"]["teams"][t]["totals"] for t in order}
    w = order[0]
    spent = costs_only(data)
    headers = ["", *(f"team {t}" for t in order),
               *(f"{t} against {w} ({'cost' if spent else 'profit'})" for t in order[1:])]
    rows = []
    for k in [*components(data), "total_cost" if spent else "profit"]:
        # A gap is what the line did to the team's standing: + helped it (less cost, more profit).
        gaps = [money(contribution(tot[t], k) - contribution(tot[w], k) if k != "profit"
                      else float(tot[t].get("profit") or 0.0) - float(tot[w].get("profit") or 0.0), signed=True)
                for t in order[1:]]
        rows.append([label(k), *(money(float(tot[t].get(k) or 0.0)) for t in order), *gaps])
    shown: dict[str, Callable[[Any], str]] = {"revenue_lost": money, "otif": pct, "lost_sales_units": units,
                                              "avg_on_hand": units, "avg_backlog": units}
    for k, show in shown.items():
        cells = [show(tot[t].get(k) if k == "otif" else float(tot[t].get(k) or 0.0)) for t in order]
        name = label(k) + ("" if show is not units else " (units)")
        rows.append([name, *cells, *([""] * (len(order) - 1))])
    return headers, rows


def _short(s: dict[str, Any], i: int) -> float:
    return float(s["lost"][i] or 0.0) + float(s["late"][i] or 0.0)


def hot_products(data: dict[str, Any], n: int = 3) -> list[str]:
    """Up to ``n`` products, those where the teams differ most first: by how far apart the teams' units lost
    or late are, month by month, then by how far apart their average stock is."""
    sv = data["service"]
    teams = list(sv["teams"].values())

    def spread(p: str) -> tuple[float, float]:
        nb = len(sv["edges"]) - 1
        short = sum(max(_short(t["products"][p], i) for t in teams) - min(_short(t["products"][p], i) for t in teams)
                    for i in range(nb))
        stock = [float(np.mean(t["products"][p]["stock"])) if t["products"][p]["stock"] else 0.0 for t in teams]
        return short, max(stock) - min(stock)

    return sorted(sv["products"], key=lambda p: tuple(-x for x in spread(p)))[:n]


def service_rows(data: dict[str, Any], most: int = 8) -> tuple[list[str], list[list[str]]]:
    """The product-months where the teams' units lost or late differ most (or any team fell short), each
    team's line OTIF, units lost and units late there; at most ``most`` rows, in time order."""
    sv = data["service"]
    order = ranking(data)
    labels = data["period_labels"]
    cells: list[tuple[float, int, str]] = []
    for p in sv["products"]:
        for i in range(len(sv["edges"]) - 1):
            shorts = [_short(sv["teams"][t]["products"][p], i) for t in order]
            otifs = [sv["teams"][t]["products"][p]["otif"][i] for t in order]
            if max(shorts) >= 0.5 or any(o is not None and o < 1 - 1e-9 for o in otifs):
                cells.append((max(shorts) - min(shorts) + 1e-6 * max(shorts), i, p))
    keep = sorted(sorted(cells, key=lambda c: -c[0])[:most], key=lambda c: (c[1], c[2]))
    headers = [f"{data['period']}: product", *(f"team {t}" for t in order)]
    rows = []
    for _, i, p in keep:
        row = [f"{labels[i]}: {p}"]
        for t in order:
            s = sv["teams"][t]["products"][p]
            row.append(f"OTIF {pct(s['otif'][i])}, lost {units(s['lost'][i] or 0.0)}, "
                       f"late {units(s['late'][i] or 0.0)}")
        rows.append(row)
    return headers, rows


def short_units(team: dict[str, Any], products: Sequence[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """A team's units lost and units late per period, over the given products."""
    lost = np.array([sum(float(team["products"][p]["lost"][i] or 0.0) for p in products) for i in range(n)])
    late = np.array([sum(float(team["products"][p]["late"][i] or 0.0) for p in products) for i in range(n)])
    return lost, late
