"""The workshop debrief: one self-contained HTML page (charts embedded as PNG data: URIs, no scripts).

``debrief_html(data)`` draws the data of :func:`simsop.workshop.debrief.debrief_data`: the leaderboard;
per team, each stage's orders against customer demand (the bullwhip effect) or production against demand
(S&OP games), and stock and backlog over time; how much each stage amplifies demand; cost by stage or by
type; forecast bias and plan nervousness (S&OP games) or order variability per stage (order games); the
replay of every team's decisions against other random futures (skill or luck).

Every team has one colour in every chart (the leaderboard shows it); the stages of a team's chain are
shades of it, light downstream (retailer) to dark upstream (factory). Charts that compare teams share
their scales; shocks are shaded (or marked by a line when they last to the end). Legends sit under the
charts, so that a chart keeps its width on a phone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from html import escape
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from simsop.report import debrief_text as lesson
from simsop.report import drawing, html
from simsop.report.charts import _line_widths, money_axis, new_figure
from simsop.report.colors import NEUTRAL, SHOCK, policy_colors

PNG_DPI = 110
WIDTH = 8.0  # inches: 880 px, under the page's 1120 px
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
SHOCK_TINTS = (SHOCK, "#E8C79A", "#A9C8E8", "#D4B3D4")  # shaded shocks, each its own tint
# On a narrow screen a chart keeps a readable size and scrolls sideways inside its frame.
EXTRA_CSS = """
.swatch { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 2px; margin-right: 5px; }
td.name { text-align: left; white-space: nowrap; }
.note { color: #333; background: #f5f5f7; border-left: 4px solid #999; padding: 6px 10px; max-width: 90ch; }
@media (max-width: 640px) {
  figure { overflow-x: auto; }
  figure img { max-width: none; width: 600px; }
}
"""
COST_NAMES = {"holding_cost": "holding", "backlog_cost": "backlog", "lost_sale_cost": "lost sales",
              "overtime_cost": "overtime", "transport_cost": "transport", "plan_change_cost": "plan changes",
              "subcontract_cost": "subcontracting", "labor_cost": "labour"}
METRIC_LABELS = {"profit": "profit ($)", "total_cost": "total cost ($)", "otif": "OTIF (%)",
                 "fill_rate": "fill rate (%)", "revenue": "revenue ($)", "gross_margin": "gross margin ($)",
                 "avg_backlog": "average backlog (units)"}


def _fmt(x: Any, kind: str = "num") -> str:
    if x is None or x == "" or x == "None":
        return "–"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if v != v:
        return "–"
    if kind == "pct":
        return f"{100 * v:.1f}%"
    if kind == "int":
        return f"{v:.0f}"
    if kind == "rank":
        return f"{v:.1f}"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


def _swatch(color: str) -> str:
    return f'<span class="swatch" style="background:{escape(color)}"></span>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], best_first: bool = False,
           colors: dict[str, str] | None = None, team_col: int = 0) -> str:
    """A table; with ``colors``, the team column (``team_col``) starts with the team's colour swatch."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for i, r in enumerate(rows):
        cls = ' class="best"' if best_first and i == 0 else ""
        cells = []
        for j, c in enumerate(r):
            text = escape(c)
            attrs = cls if j else ""
            if colors is not None and j == team_col:
                name = c.removeprefix("team ")
                text = (_swatch(colors[name]) if name in colors else "") + text
                attrs = attrs.replace('class="', 'class="name ') if attrs else ' class="name"'
            cells.append(f"<td{attrs}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _team_colors(data: dict[str, Any]) -> dict[str, str]:
    return policy_colors(data["teams"])


def _shades(color: str, n: int) -> list[tuple[float, float, float]]:
    """n shades of a colour, light (towards white) to dark (towards black)."""
    c = np.asarray(to_rgb(color))
    out = []
    for i in range(n):
        t = i / (n - 1) if n > 1 else 0.5
        v = c + (1 - c) * 0.55 * (1 - 2 * t) if t < 0.5 else c * (1 - 0.45 * (2 * t - 1))
        out.append((float(v[0]), float(v[1]), float(v[2])))
    return out


def _stage_styles(t: dict[str, Any], color: str) -> dict[str, dict[str, Any]]:
    stages = list(t["stages"])
    shades = _shades(color, len(stages))
    return {st: {"color": shades[i], "marker": MARKERS[i % len(MARKERS)]} for i, st in enumerate(stages)}


def _legend_below(fig: Figure, handles: Sequence[Any], ncol: int | None = None) -> None:
    labels = [str(h.get_label()) for h in handles]
    if ncol is None:
        entry = max((len(s) for s in labels), default=1) * 9 * 0.62 + 3.2 * 9
        ncol = max(1, min(len(labels), int(fig.get_figwidth() * 72 * 0.95 // entry)))
    fig.legend(handles=handles, loc="outside lower center", ncol=ncol, frameon=False, fontsize=9)


def _day_x(day: float, edges: Sequence[int]) -> float:
    """Where a day falls on an axis of periods drawn at 1, 2, ... (period p spans p - 0.5 to p + 0.5)."""
    e = np.asarray(edges, dtype=float)
    if day >= e[-1]:
        return len(e) - 1 + 0.5
    i = max(int(np.searchsorted(e, day, side="right")) - 1, 0)
    return i + 0.5 + (day - e[i]) / (e[i + 1] - e[i])


def _end_x(data: dict[str, Any]) -> list[float]:
    """Where the value at the end of each period is drawn: the period's right edge (not its middle)."""
    return [p + 0.5 for p in data["period_x"]]


def _shocks(ax: Axes, data: dict[str, Any], products: Sequence[str] | None = None) -> list[Any]:
    """Shade each shock's days (a line at its start when it lasts to the end); legend handles. With
    ``products``, only the shocks that touch one of them."""
    edges = data["edges"]
    if len(edges) < 2:
        return []
    handles: list[Any] = []
    seen: set[str] = set()
    for i, w in enumerate(data.get("shock_windows", [])):
        if products is not None and w.get("products") is not None and not set(w["products"]) & set(products):
            continue
        x0 = _day_x(w["start"], edges)
        label = w["type"].replace("_", " ") + (" (injected)" if w.get("injected") else "")
        tint = SHOCK_TINTS[i % len(SHOCK_TINTS)]
        if w["end"] >= data.get("horizon", float("inf")):
            ax.axvline(x0, color=NEUTRAL, lw=1.0, ls=":", zorder=1, gid=f"shock:{w['name']}")
            h: Any = Line2D([], [], color=NEUTRAL, lw=1.0, ls=":", label=f"{label}, from here on")
        else:
            ax.axvspan(x0, _day_x(w["end"], edges), color=tint, alpha=0.35, lw=0, zorder=0, gid=f"shock:{w['name']}")
            h = Patch(facecolor=tint, alpha=0.35, label=f"{label}")
        if h.get_label() not in seen:
            seen.add(h.get_label())
            handles.append(h)
    return handles


def _period_axis(ax: Axes, data: dict[str, Any], max_ticks: int = 14) -> None:
    labels = data["period_labels"]
    n = len(labels)
    step = max(1, int(np.ceil(n / max_ticks)))
    ticks = list(range(1, n + 1, step))
    ax.set_xticks(ticks, [labels[i - 1] for i in ticks])
    ax.set_xlim(0.5, n + 0.5)
    ax.set_xlabel(data["period"])


def _ylim(values: Sequence[Sequence[float]], floor0: bool = True) -> tuple[float, float]:
    arr = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values]) if values else np.zeros(1)
    arr = arr[np.isfinite(arr)]
    lo = min(0.0, float(arr.min())) if len(arr) else 0.0
    hi = float(arr.max()) if len(arr) else 1.0
    if not floor0:
        lo = float(arr.min()) if len(arr) else 0.0
    pad = 0.06 * (hi - lo if hi > lo else 1.0)
    return (lo - (pad if lo < 0 else 0.0), hi + pad)


# ---------------------------------------------------------------------------------------------- charts


def orders_chart(team: str, t: dict[str, Any], data: dict[str, Any], ylim: tuple[float, float]) -> Figure:
    """One team: each stage's orders per round against customer demand (the teams share the scale)."""
    fig = new_figure(WIDTH, 4.0)
    ax = fig.add_subplot()
    period = data["period"]
    x = data["order_x"]
    shocks = _shocks(ax, data)
    ax.plot(data["period_x"], t["demand"], color=NEUTRAL, lw=2.2, ls="--", label="customer demand", gid="demand")
    styles = _stage_styles(t, _team_colors(data)[team])
    for st, s in t["stages"].items():
        ax.plot(x, s["orders"], lw=1.7, ms=3.5, gid=f"orders:{st}",
                label=f"{st} orders" + ("" if s["played"] else f" (bot: {s['bot']})" if s.get("bot") else " (bot)"),
                **styles[st])
    for r in t["bot_rounds"]:
        ax.axvspan(r - 0.5, r + 0.5, ymin=0, ymax=0.04, color="black", lw=0, gid=f"bot:{r}")
    _period_axis(ax, data)
    ax.set_ylim(*ylim)
    ax.set_ylabel(f"units per {period}")
    ax.grid(alpha=0.3)
    extra = [Patch(facecolor="black", label="bot decided")] if t["bot_rounds"] else []
    _legend_below(fig, [*ax.get_legend_handles_labels()[0], *shocks, *extra])
    fig.suptitle(f"Team {team}: orders placed by each stage against customer demand", fontsize=11)
    return fig


def amplification_chart(data: dict[str, Any]) -> Figure:
    """Order variance over demand variance at each stage, one line per team (log scale)."""
    teams = data["teams"]
    stages = list(next(iter(teams.values()))["stages"])
    colors = _team_colors(data)
    fig = new_figure(WIDTH * 0.8, 3.6)
    ax = fig.add_subplot()
    x = np.arange(len(stages))
    for team, t in teams.items():
        y = [t["stages"][s]["bullwhip"] for s in stages]
        yy = np.array([np.nan if v is None else max(v, 1e-2) for v in y], dtype=float)
        ax.plot(x, yy, color=colors[team], marker="o", lw=1.8, label=f"team {team}", gid=f"amplification:{team}")
    ax.axhline(1, color=NEUTRAL, lw=0.9, ls="--", label="1 = orders vary as much as demand")
    ax.set_yscale("log")
    ax.set_xticks(x, stages)
    ax.set_xlim(-0.3, len(stages) - 0.7)
    ax.set_xlabel("stage (downstream → upstream)")
    ax.set_ylabel("order variance ÷ demand variance")
    ax.grid(alpha=0.3, which="both", axis="y")
    _legend_below(fig, ax.get_legend_handles_labels()[0])
    fig.suptitle("How much each stage amplifies the swings of customer demand", fontsize=11)
    return fig


def stock_chart(team: str, t: dict[str, Any], data: dict[str, Any], ylim: tuple[float, float]) -> Figure:
    """One team: net stock (on hand - backlog) of each stage at the end of each period."""
    fig = new_figure(WIDTH, 3.8)
    ax = fig.add_subplot()
    period = data["period"]
    x = _end_x(data)
    shocks = _shocks(ax, data)
    styles = _stage_styles(t, _team_colors(data)[team])
    for st, s in t["stages"].items():
        net = np.asarray(s["on_hand"]) - np.asarray(s["backlog"])
        ax.plot(x, net, lw=1.7, ms=3.0, gid=f"net_stock:{st}", label=st, **styles[st])
    ax.axhline(0, color=NEUTRAL, lw=0.8)
    _period_axis(ax, data)
    ax.set_ylim(*ylim)
    ax.set_ylabel("on hand − backlog (units)")
    ax.grid(alpha=0.3)
    _legend_below(fig, [*ax.get_legend_handles_labels()[0], *shocks])
    fig.suptitle(f"Team {team}: stock (above 0) and backlog (below 0) at the end of each {period}", fontsize=11)
    return fig


def stock_teams_chart(stage: str, data: dict[str, Any]) -> Figure:
    """A company with one warehouse: every team's net stock at the end of each period, a panel per family
    (S&OP games with up to four families) or one for the warehouse."""
    teams = data["teams"]
    first = next(iter(teams.values()))
    fams = list(first.get("families") or {})
    panels = fams if 1 < len(fams) <= 4 else [None]
    fig = new_figure(WIDTH, 3.8)
    axs = fig.subplots(1, len(panels), squeeze=False)[0]
    x = _end_x(data)
    colors = _team_colors(data)
    shocks: list[Any] = []
    for ax, fam in zip(axs, panels, strict=True):
        members = None if fam is None else first["families"][fam].get("products")
        for h in _shocks(ax, data, members):
            if h.get_label() not in {x_.get_label() for x_ in shocks}:
                shocks.append(h)
        for i, (team, t) in enumerate(teams.items()):
            if fam is None:
                s = t["stages"][stage]
                net = np.asarray(s["on_hand"]) - np.asarray(s["backlog"])
            else:
                net = np.asarray(t["families"][fam]["net_stock"])
            ax.plot(x, net, color=colors[team], lw=1.8, marker=MARKERS[i % len(MARKERS)], ms=3.5,
                    label=f"team {team}", gid=f"net_stock:{team}" + ("" if fam is None else f":{fam}"))
        ax.axhline(0, color=NEUTRAL, lw=0.8)
        _period_axis(ax, data, max_ticks=14 // len(panels))
        ax.grid(alpha=0.3)
        if fam is not None:
            ax.set_title(fam if members in ([fam], None) else f"{fam} ({', '.join(members or [])})", fontsize=10)
    axs[0].set_ylabel("on hand − backlog (units)")
    _legend_below(fig, [*axs[0].get_legend_handles_labels()[0], *shocks])
    where = stage if panels == [None] else f"{stage}, by family"
    fig.suptitle(f"Stock (above 0) and backlog (below 0) at {where}, end of each {data['period']}", fontsize=11)
    return fig


def cost_chart(data: dict[str, Any]) -> Figure:
    """Order games: each stage's holding (solid) and backlog (hatched) cost, a bar per team."""
    teams = list(data["teams"])
    stages = list(next(iter(data["teams"].values()))["stages"])
    colors = _team_colors(data)
    fig = new_figure(WIDTH, 3.8)
    ax = fig.add_subplot()
    width = 0.8 / len(teams)
    for j, team in enumerate(teams):
        x = np.arange(len(stages)) - 0.4 + width * (j + 0.5)
        hold = np.array([data["teams"][team]["stages"][s]["holding_cost"] for s in stages])
        back = np.array([data["teams"][team]["stages"][s]["backlog_cost"] for s in stages])
        ax.bar(x, hold, width * 0.92, color=colors[team], edgecolor="white", lw=0.5, gid=f"cost:{team}:holding")
        ax.bar(x, back, width * 0.92, bottom=hold, color=colors[team], alpha=0.55, hatch="///", edgecolor="white",
               lw=0.5, gid=f"cost:{team}:backlog")
    ax.set_xticks(np.arange(len(stages)), stages)
    ax.set_ylabel("cost ($)")
    money_axis(ax)
    ax.grid(alpha=0.3, axis="y")
    handles: list[Any] = [Patch(facecolor=colors[t], label=f"team {t}") for t in teams]
    handles += [Patch(facecolor="#999999", label="holding"),
                Patch(facecolor="#999999", alpha=0.55, hatch="///", edgecolor="white", label="backlog")]
    _legend_below(fig, handles)
    fig.suptitle("Cost by stage over the rounds played: holding (solid) and backlog (hatched)", fontsize=11)
    return fig


def cost_types_chart(data: dict[str, Any]) -> Figure:
    """S&OP games: the costs a team's plan moves, by type, a bar per team."""
    teams = list(data["teams"])
    colors = _team_colors(data)
    kinds = [k for k in COST_NAMES if any(abs(t["costs"].get(k, 0.0)) > 1e-9 for t in data["teams"].values())]
    kinds = kinds or ["holding_cost", "backlog_cost"]
    fig = new_figure(WIDTH, 3.8)
    ax = fig.add_subplot()
    width = 0.8 / len(teams)
    for j, team in enumerate(teams):
        x = np.arange(len(kinds)) - 0.4 + width * (j + 0.5)
        ax.bar(x, [data["teams"][team]["costs"].get(k, 0.0) for k in kinds], width * 0.92, color=colors[team],
               label=f"team {team}", gid=f"cost:{team}")
    ax.set_xticks(np.arange(len(kinds)), [COST_NAMES[k] for k in kinds])
    ax.set_ylabel("cost over the rounds played ($)")
    money_axis(ax)
    ax.grid(alpha=0.3, axis="y")
    _legend_below(fig, ax.get_legend_handles_labels()[0])
    fig.suptitle("The costs the plans moved, by type", fontsize=11)
    return fig


def plan_chart(data: dict[str, Any]) -> Figure:
    """S&OP games: forecast bias per month forecast and plan nervousness per round, one line per team."""
    fig = new_figure(WIDTH, 3.8)
    a1, a2 = fig.subplots(1, 2)
    colors = _team_colors(data)
    labels = data["period_labels"]
    for i, (team, t) in enumerate(data["teams"].items()):
        b = [(x["bucket"] + 1, x["bias"]) for x in t.get("forecast_bias", [])
             if x["bias"] is not None and 1 <= x["bucket"] + 1 <= len(labels)]
        style = {"color": colors[team], "marker": MARKERS[i % len(MARKERS)], "ms": 4, "lw": 1.6}
        if b:
            a1.plot([c for c, _ in b], [100 * v for _, v in b], label=f"team {team}", gid=f"bias:{team}", **style)
        n = [(x["cycle"] + 1, x["nervousness"]) for x in t.get("plan_nervousness", [])
             if x["nervousness"] is not None and x["cycle"] + 1 <= data["played"]]
        if n:
            a2.plot([c for c, _ in n], [100 * v for _, v in n], label=f"team {team}", gid=f"nervousness:{team}",
                    **style)
    a1.axhline(0, color=NEUTRAL, lw=0.8)
    a1.set_title("forecast bias, one month ahead (%; + = over-forecast)", fontsize=9)
    _period_axis(a1, data, max_ticks=7)
    a1.set_xlabel(f"{data['period']} forecast")
    a2.set_title("plan changes inside the time fences (%)", fontsize=9)
    a2.set_xlabel("round")
    a2.set_xlim(0.5, data["played"] + 0.5)
    a2.set_xticks(range(1, data["played"] + 1, max(1, int(np.ceil(data["played"] / 7)))))
    a2.set_ylim(bottom=0)
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    h = a1.get_legend_handles_labels()[0] or a2.get_legend_handles_labels()[0]
    _legend_below(fig, h)
    fig.suptitle("Forecast bias (forecast − booked orders, ÷ booked orders) and plan nervousness", fontsize=11)
    return fig


def service_chart(data: dict[str, Any]) -> Figure:
    """Every team's OTIF per period (orders placed in it) and its units lost (solid) and late (hatched) per
    period, a bar per team inside the period."""
    sv = data["service"]
    order = lesson.ranking(data)
    colors = _team_colors(data)
    n = len(sv["edges"]) - 1
    x = np.asarray(data["period_x"][:n], dtype=float)
    fig = new_figure(WIDTH, 5.6)
    a1, a2 = fig.subplots(2, 1, sharex=True, height_ratios=[1.0, 1.1])
    shocks = _shocks(a1, data)
    _shocks(a2, data)
    width = 0.8 / max(len(order), 1)
    widths = _line_widths(len(order))  # thick to thin: where teams coincide, every colour still shows
    for j, team in enumerate(order):
        t = sv["teams"][team]
        otif = [np.nan if p["otif"] is None else 100 * p["otif"] for p in t["periods"]]
        a1.plot(x, otif, color=colors[team], lw=1.2 * widths[j], marker=MARKERS[j % len(MARKERS)],
                ms=9 - 2 * j * 3 / max(len(order), 2), label=f"team {team}", gid=f"otif:{team}")
        lost, late = lesson.short_units(t, sv["products"], n)
        xb = x - 0.4 + width * (j + 0.5)
        a2.bar(xb, lost, width * 0.9, color=colors[team], gid=f"lost:{team}")
        a2.bar(xb, late, width * 0.9, bottom=lost, color=colors[team], alpha=0.45, hatch="///", edgecolor="white",
               lw=0.5, gid=f"late:{team}")
    a1.set_ylabel("OTIF (%)")
    lo = min([100.0, *(100 * p["otif"] for t in sv["teams"].values() for p in t["periods"] if p["otif"] is not None)])
    a1.set_ylim(max(0.0, lo - 8), 104)
    a1.grid(alpha=0.3)
    a2.set_ylabel("units lost or late")
    a2.set_ylim(bottom=0)
    a2.grid(alpha=0.3, axis="y")
    _period_axis(a2, data)
    for lbl in a1.get_xticklabels():
        lbl.set_visible(False)
    handles = [*a1.get_legend_handles_labels()[0], Patch(facecolor="#999999", label="units lost"),
               Patch(facecolor="#999999", alpha=0.45, hatch="///", edgecolor="white", label="units late"), *shocks]
    _legend_below(fig, handles)
    fig.suptitle(f"Service {data['period']} by {data['period']}: OTIF (top) and units lost or late (bottom)",
                 fontsize=12)
    return fig


def product_stock_chart(data: dict[str, Any], products: Sequence[str]) -> Figure:
    """Every team's stock of each product day by day (on hand − backlog at the end of each day, drawn at that
    day's end), a panel per product, one scale for all."""
    sv = data["service"]
    order = lesson.ranking(data)
    colors = _team_colors(data)
    edges = sv["edges"]
    fig = new_figure(WIDTH, 1.2 + 2.4 * len(products))
    axs = fig.subplots(len(products), 1, sharex=True, squeeze=False)[:, 0]
    ylim = _ylim([sv["teams"][t]["products"][p]["stock"] for t in order for p in products])
    widths = _line_widths(len(order))
    shocks: list[Any] = []
    for ax, p in zip(axs, products, strict=True):
        for h in _shocks(ax, data, [p]):
            if h.get_label() not in {x_.get_label() for x_ in shocks}:
                shocks.append(h)
        for j, team in enumerate(order):
            stock = sv["teams"][team]["products"][p]["stock"]
            xs = [_day_x(d + 1, edges) for d in range(len(stock))]
            ax.plot(xs, stock, color=colors[team], lw=widths[j], label=f"team {team}", gid=f"stock:{team}:{p}")
        ax.axhline(0, color=NEUTRAL, lw=0.9)
        ax.set_ylim(*ylim)
        ax.set_ylabel(f"{p} (units)")
        ax.grid(alpha=0.3)
        ax.set_title(p, fontsize=11, loc="left")
    _period_axis(axs[-1], data)
    _legend_below(fig, [*axs[0].get_legend_handles_labels()[0], *shocks])
    fig.suptitle("Stock (above 0) and backlog (below 0) of each product, day by day", fontsize=12)
    return fig


def _family_panels(t: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The families a team's production chart shows, one panel each (all made products together when
    there are more than four families, or none were recorded)."""
    fams = t.get("families") or {}
    if not fams or len(fams) > 4:
        return {"all products": {"demand": t["demand"], "planned": t["planned"], "made": t["made"]}}
    return dict(fams)


def production_chart(team: str, t: dict[str, Any], data: dict[str, Any],
                     ylims: dict[str, tuple[float, float]]) -> Figure:
    """S&OP games: production planned and made against customer demand per bucket, a panel per family."""
    panels = _family_panels(t)
    fig = new_figure(WIDTH, 3.8)
    axs = fig.subplots(1, len(panels), squeeze=False)[0]
    period = data["period"]
    x = data["period_x"]
    color = _team_colors(data)[team]
    light, dark = _shades(color, 3)[0], _shades(color, 3)[2]
    shocks: list[Any] = []
    for ax, (fam, f) in zip(axs, panels.items(), strict=True):
        for h in _shocks(ax, data, f.get("products")):
            if h.get_label() not in {x.get_label() for x in shocks}:
                shocks.append(h)
        ax.plot(x, f["demand"], color=NEUTRAL, lw=2.0, ls="--", label="customer demand", gid=f"demand:{fam}")
        ax.plot(x, f["made"], color=dark, lw=1.7, marker="s", ms=3.5, label="made", gid=f"made:{fam}")
        # The plan on top, dashed: where the plants made what was planned the two lines coincide.
        ax.plot(x, f["planned"], color=light, lw=1.5, ls=(0, (4, 2)), marker="o", ms=4, zorder=3,
                label="planned production", gid=f"planned:{fam}")
        _period_axis(ax, data, max_ticks=14 // len(panels))
        if fam in ylims:
            ax.set_ylim(*ylims[fam])
        ax.grid(alpha=0.3)
        if len(panels) > 1:
            members = f.get("products", [])
            ax.set_title(fam if members in ([fam], []) else f"{fam} ({', '.join(members)})", fontsize=10)
    axs[0].set_ylabel("units per " + period)
    _legend_below(fig, [*axs[0].get_legend_handles_labels()[0], *shocks])
    fig.suptitle(f"Team {team}: production against demand" + (" by family" if len(panels) > 1 else ""),
                 fontsize=11)
    return fig


def replay_chart(data: dict[str, Any]) -> Figure:
    """Each team's score over the other futures (dots, box) and in the workshop's own future (diamond),
    with the share of futures in which it ranks first."""
    rep = data["replay"]
    teams = list(data["teams"])
    colors = _team_colors(data)
    metric = data["score"]["metric"]
    pct = metric in ("otif", "fill_rate")
    scale = 100.0 if pct else 1.0
    fig = new_figure(WIDTH * 0.8, 4.0)
    ax = fig.add_subplot()
    firsts = {s["team"]: s["first"] for s in rep["summary"]}
    for i, team in enumerate(teams):
        vals = [scale * r["score"] for r in rep["rows"]
                if r["team"] == team and r["replication"] > 0 and r["score"] is not None]
        own = [scale * r["score"] for r in rep["rows"]
               if r["team"] == team and r["replication"] == 0 and r["score"] is not None]
        if vals:
            ax.boxplot([vals], positions=[i], widths=0.5, showfliers=False,
                       medianprops={"color": NEUTRAL, "lw": 1.5}, boxprops={"color": NEUTRAL},
                       whiskerprops={"color": NEUTRAL}, capprops={"color": NEUTRAL})
            jitter = np.linspace(-0.15, 0.15, len(vals))
            ax.scatter(i + jitter, vals, s=14, color=colors[team], alpha=0.75, zorder=3, gid=f"replay:{team}")
        if own:
            ax.scatter([i], own, marker="D", s=60, color="black", zorder=5, gid=f"workshop:{team}")
        first = firsts.get(team)
        if first is not None:
            ax.annotate(f"1st in {100 * first:.0f}%", xy=(i, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(0, -4), textcoords="offset points", ha="center", va="top", fontsize=9,
                        gid=f"first:{team}")
    ax.set_xticks(range(len(teams)), [f"team {t}" for t in teams])
    ax.set_xlim(-0.6, len(teams) - 0.4)
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.14 * (hi - lo if hi > lo else 1.0))  # room for the "1st in" labels
    ax.set_ylabel(METRIC_LABELS.get(metric, metric) + (" — lower is better" if not data["score"]["higher_is_better"]
                                                       else ""))
    if not pct and metric != "avg_backlog":
        money_axis(ax)
    ax.grid(alpha=0.3, axis="y")
    _legend_below(fig, [Line2D([], [], marker="o", ls="", color=NEUTRAL, label="another random future"),
                        Line2D([], [], marker="D", ls="", color="black", label="the workshop's future")])
    fig.suptitle(f"Skill or luck: each team's decisions in {rep.get('replications', 0)} other random futures",
                 fontsize=11)
    return fig


# ---------------------------------------------------------------------------------------------- the page


def _log_lines(log: Sequence[dict[str, Any]]) -> list[str]:
    """The facilitator's log, with runs of plain rounds written as one line."""
    out: list[str] = []
    run: list[int] = []

    def flush() -> None:
        if run:
            out.append(f"round {run[0]} played" if len(run) == 1 else f"rounds {run[0]}-{run[-1]} played")
            run.clear()

    for e in log:
        detail = str(e.get("detail", ""))
        if e["action"] == "advance" and "bot" not in detail:
            run.append(int(e["round"]))
            continue
        flush()
        if e["action"] == "advance":
            out.append(detail)
        elif e["action"] == "shock":
            out.append(f"before round {int(e['round']) + 1}: shock, {detail}")
        elif e["action"] == "visibility":
            out.append(f"before round {int(e['round']) + 1}: visibility {detail}")
        else:
            out.append(f"{e['action']} {detail}".strip())
    flush()
    return out


def _over_what(data: dict[str, Any]) -> str:
    """What the totals count, as the leaderboard does: the rounds played and, in a plan game, the month after
    the last round where its plan plays out."""
    tail = data.get("tail_text")
    span = data.get("counted_text")
    if tail:
        return f"over {span}: the rounds played and {tail}, after the last round, where its plan plays out"
    return f"over the rounds played ({span})" if span else "over the rounds played"


def _lesson_sections(data: dict[str, Any], add: Callable[..., None],
                     colors: dict[str, str]) -> tuple[html.Section, html.Section]:
    """"What made the difference" (the computed narrative and the P&L per team) and "Service month by month"
    (OTIF and units lost or late per period, the product-months where the teams differed most)."""
    period = data["period"]
    s_diff = html.Section("difference", "What made the difference")
    s_service = html.Section("service", f"Service {period} by {period}")
    if not data.get("service"):
        return s_diff, s_service
    s_diff.blocks.append(html.bullet_list(lesson.difference_lines(data), "findings"))
    headers, rows = lesson.difference_table(data)
    counts_in = "cost" if lesson.costs_only(data) else "profit"
    over = _over_what(data)
    s_diff.blocks.append(html.para(f"{over[0].upper()}{over[1:]}, in the scenario's currency ($). The last columns "
                                   f"give each team's gap to the first on each line, as it counts in {counts_in} (+: "
                                   "that line helped the team)."))
    s_diff.blocks.append(_table(headers, rows, colors=None))
    add(s_service, "service", f"Service {period} by {period}",
        f"Top: each team's OTIF, the share of the orders placed in a {period} and due by its end that shipped in "
        f"full on time, drawn in the middle of the {period} it is about. Bottom: units lost (customers gave up) "
        f"and units shipped late in each {period}, a bar per team.", lambda: service_chart(data))
    headers, rows = lesson.service_rows(data)
    if rows:
        s_service.blocks.append(html.para(f"The product-{period}s where the teams' service differed most: line "
                                          "OTIF (order lines of that product shipped in full on time), units lost "
                                          "and units late."))
        s_service.blocks.append(_table(headers, rows))
    else:
        s_service.blocks.append(html.para("Every team shipped every order line in full and on time.", "note"))
    return s_diff, s_service


def debrief_html(data: dict[str, Any]) -> str:
    """The debrief page."""
    period = data["period"]
    kind = data["kind"]
    colors = _team_colors(data)
    charts = drawing.ChartPlaces()

    def _add(section: html.Section, key: str, title: str, caption: str, make: Callable[[], Figure]) -> None:
        charts.add(section.blocks, key, title, caption, make)

    better = "higher" if data["score"]["higher_is_better"] else "lower"
    metric = data["score"]["metric"].replace("_", " ")
    s_board = html.Section("leaderboard", "Leaderboard")
    s_board.blocks.append(html.para(f"After {data['played']} of {data['rounds']} rounds; ranked by {metric} "
                                    f"({better} is better). Money in the scenario's currency ($)."))
    view = data.get("leaderboard_view")
    if view:
        s_board.blocks.append(_table(view["headers"], view["rows"], best_first=True, colors=colors, team_col=1))
    teams = data["teams"]
    s_diff, s_service = _lesson_sections(data, _add, colors)
    stage_names = list(next(iter(teams.values()))["stages"]) if teams else []
    multi = len(stage_names) > 1
    s_orders = html.Section("bullwhip", "Orders against demand (bullwhip)" if kind == "orders"
                            else "Production against demand")
    s_stock = html.Section("stock", "Inventory and backlog over time")
    if teams and kind == "orders":
        ylim = _ylim([t["demand"] for t in teams.values()]
                     + [s["orders"] for t in teams.values() for s in t["stages"].values()])
    else:
        ylim = (0.0, 1.0)
    # Plan games: one scale per family, shared by the teams.
    fam_lims: dict[str, tuple[float, float]] = {}
    if kind == "plan":
        names = {fam for t in teams.values() for fam in _family_panels(t)}
        for fam in names:
            fam_lims[fam] = _ylim([v for t in teams.values() for k_, v in _family_panels(t).get(fam, {}).items()
                                   if k_ in ("demand", "planned", "made")])
    nets = [np.asarray(s["on_hand"]) - np.asarray(s["backlog"]) for t in teams.values()
            for s in t["stages"].values()]
    slim = _ylim(nets, floor0=True) if nets else (0.0, 1.0)
    rows = []
    for team, t in teams.items():
        bots = (f" The bot decided for team {team} in round(s) {', '.join(map(str, t['bot_rounds']))} (black marks)."
                if t["bot_rounds"] else "")
        if kind == "orders":
            _add(s_orders, f"orders-{team}", f"Team {team}: orders against demand",
                 f"Units ordered by each stage in round r against what customers ordered at the retailer in "
                 f"{period} r (dashed), on the same scale for every team; stages are shades of the team's colour, "
                 "light downstream to dark upstream. Swings that grow from stage to stage are the bullwhip "
                 "effect." + bots, partial(orders_chart, team, t, data, ylim))
        else:
            _add(s_orders, f"production-{team}", f"Team {team}: production against demand",
                 f"Production planned (the team's decisions, and the bot's where it decided) and made per {period}, "
                 f"against what customers ordered (dashed); same scale for every team. Round k's decision "
                 f"plans the {period} after the one it is made in." + bots.replace(" (black marks)", ""),
                 partial(production_chart, team, t, data, fam_lims))
        if multi:
            _add(s_stock, f"stock-{team}", f"Team {team}: stock and backlog",
                 f"On hand minus backlog at the end of each {period} (drawn at the {period}'s end), per stage, on "
                 "the same scale for every team.",
                 partial(stock_chart, team, t, data, slim))
        rows.append([f"team {team}", *[_fmt(t["stages"][s]["bullwhip"]) for s in stage_names]])
    sv = data.get("service")
    if sv and kind == "plan":
        hot = lesson.hot_products(data)
        _add(s_stock, "stock-products", "Stock of each product, day by day",
             "On hand minus backlog of " + ", ".join(hot) + f" at the end of each day, every team on one scale "
             f"(a product's stock-out shows here even when another product's stock hides it in the family's "
             f"{period}-end total below).", partial(product_stock_chart, data, hot))
    if teams and not multi:
        by_family = 1 < len(next(iter(teams.values())).get("families") or {}) <= 4
        _add(s_stock, "stock", "Stock and backlog", f"On hand minus backlog at {stage_names[0]} at the end of each "
             f"{period} (drawn at the {period}'s end), every team" + (", a panel per family." if by_family else "."),
             partial(stock_teams_chart, stage_names[0], data))
    if kind == "orders" and rows:
        _add(s_orders, "amplification", "Amplification by stage",
             "Variance of each stage's weekly orders over the variance of customer demand, over the rounds played "
             "(log scale; 1 = no amplification). A line that climbs from retailer to factory is the bullwhip.",
             lambda: amplification_chart(data))
        s_orders.blocks.append(_table(["", *stage_names], rows, colors=colors))
    s_cost = html.Section("cost", "Cost by stage" if kind == "orders" else "Cost by type")
    if teams:
        if kind == "orders":
            _add(s_cost, "cost", "Cost by stage", "Holding and backlog cost of every stage, per team, over the "
                 "rounds played.", lambda: cost_chart(data))
        else:
            _add(s_cost, "cost", "Cost by type", f"The costs the teams' plans moved, {_over_what(data)}. Cost of "
                 "goods sold and fixed costs are left out (they follow from sales and from the plants); lost "
                 "sales also cost the revenue not earned, which the leaderboard's profit counts.",
                 lambda: cost_types_chart(data))
    s_plan = html.Section("plan", "Forecast bias and plan nervousness" if kind == "plan" else "Order variability")
    if kind == "plan":
        _add(s_plan, "plan", "Forecast bias and plan nervousness",
             "Left: the consensus forecast of each month, made a month ahead, against the orders booked in it "
             "(above 0: over-forecast). The forecast is the planning process's, the same for every team except "
             "through the orders each team lost, so the lines often lie on top of each other. Right: how much "
             "each round changed the plan in force inside the frozen and slushy fences.", lambda: plan_chart(data))
    else:
        s_plan.blocks.append(html.para("Mean change of a stage's order from one round to the next, over its mean "
                                       "order (0% = the same order every round)."))
        s_plan.blocks.append(_table(["", *stage_names], [
            [f"team {team}", *[_fmt(t["stages"][s]["nervousness"], "pct") for s in stage_names]]
            for team, t in teams.items()], colors=colors))
    s_replay = html.Section("replay", "Skill or luck")
    rep = data.get("replay")
    if rep:
        if not rep.get("current", True):
            s_replay.blocks.append(html.missing(
                f"This replay was run after round {rep.get('rounds', '?')}, not after the {data['played']} rounds "
                "played: run `simsop workshop replay DIR -n 20` again and write the debrief again."))
        same = all(s["sd"] is not None and s["sd"] < 1e-9 for s in rep["summary"])
        _add(s_replay, "replay", "Skill or luck", "Each team's decisions replayed unchanged against other random "
             "futures: a ranking that holds across futures is skill; one that flips is luck.",
             lambda: replay_chart(data))
        if same:
            s_replay.blocks.append(html.para("Every future gave the same scores: nothing random touched this game, "
                                             "so the ranking is all decisions.", "note"))
        s_replay.blocks.append(_table(
            ["team", "workshop score", "rank", "mean", "sd", "min", "max", "mean rank", "ranked 1st"],
            [[f"team {s['team']}", _fmt(s["workshop_score"]), _fmt(s["workshop_rank"], "int"), _fmt(s["mean"]),
              _fmt(s["sd"]), _fmt(s["min"]), _fmt(s["max"]), _fmt(s["mean_rank"], "rank"), _fmt(s["first"], "pct")]
             for s in rep["summary"]], colors=colors))
    else:
        s_replay.blocks.append(html.missing("No replay yet: run `simsop workshop replay DIR -n 20` and debrief again."))
    s_game = html.Section("game", "The game")
    facts = [("scenario", str(data["name"])), ("rounds", f"{data['played']} of {data['rounds']} played"),
             ("seed", str(data["seed"])), ("bot", str(data["bot"])), ("visibility", str(data["visibility"]))]
    for sh in data["shocks"]:
        facts.append((f"shock before round {sh['before_round']}", str(sh.get("text") or sh.get("type"))))
    s_game.blocks.append(html.key_value_table(facts))
    if data["log"]:
        s_game.blocks.append(html.bullet_list(_log_lines(data["log"])))
    sections = [s_board, *([s_diff, s_service] if sv else []), s_orders, s_stock, s_cost, s_plan, s_replay, s_game]
    charts.draw(PNG_DPI)
    page = html.document(f"Workshop debrief: {data['name']}",
                         f"{len(teams)} teams, {data['played']} rounds, "
                         f"{'orders' if kind == 'orders' else 'S&OP plan'} decisions", sections)
    return page.replace("</style>", EXTRA_CSS + "</style>", 1)
