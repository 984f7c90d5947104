"""The workshop debrief: one self-contained HTML page (charts embedded as PNG data: URIs, no scripts).

``debrief_html(data)`` draws the data of :func:`simsop.workshop.debrief.debrief_data`: the leaderboard;
per team, each stage's orders against customer demand (the bullwhip effect) and its stock and backlog over
time; cost by stage; forecast bias and plan nervousness per cycle (S&OP games) or order variability per
stage (order games); the replay of every team's decisions against other random futures (skill or luck).
Charts reuse the report's figure and page helpers (:mod:`simsop.report.charts`, :mod:`simsop.report.html`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import partial
from html import escape
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from simsop.report import html
from simsop.report.charts import new_figure
from simsop.report.colors import NEUTRAL, OKABE_ITO, policy_colors

PNG_DPI = 110


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI)
    return buf.getvalue()


def _add(section: html.Section, key: str, title: str, caption: str, make: Callable[[], Figure]) -> None:
    """A chart, or a sentence saying why it is missing (a chart never costs the whole debrief)."""
    try:
        png = _png(make())
    except Exception as exc:
        section.blocks.append(html.missing(f"The chart '{title}' could not be drawn ({type(exc).__name__}: {exc})."))
        return
    section.blocks.append(html.figure(png, title, caption, key))


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
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], best_first: bool = False) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for i, r in enumerate(rows):
        cls = ' class="best"' if best_first and i == 0 else ""
        body.append("<tr>" + "".join(f"<td{cls if j else ''}>{escape(c)}</td>" for j, c in enumerate(r)) + "</tr>")
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _stage_colors(stages: Sequence[str]) -> dict[str, str]:
    return {s: OKABE_ITO[i % len(OKABE_ITO)] for i, s in enumerate(stages)}


def orders_chart(team: str, t: dict[str, Any], data: dict[str, Any]) -> Figure:
    """One team: each stage's orders per round against customer demand."""
    fig = new_figure(9.0, 3.8)
    ax = fig.add_subplot()
    period = data["period"]
    colors = _stage_colors(list(t["stages"]))
    ax.plot(data["period_x"], t["demand"], color=NEUTRAL, lw=2.2, ls="--", label="customer demand", gid="demand")
    for st, s in t["stages"].items():
        ax.plot(data["order_x"], s["orders"], color=colors[st], lw=1.6, marker="o", ms=2.5, gid=f"orders:{st}",
                label=f"{st} orders" + ("" if s["played"] else " (bot)"))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(period)
    ax.set_ylabel("units per " + period)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(f"Team {team}: orders placed against customer demand", fontsize=11)
    return fig


def stock_chart(team: str, t: dict[str, Any], data: dict[str, Any]) -> Figure:
    """One team: net stock (on hand - backlog) of each stage at the end of each period."""
    fig = new_figure(9.0, 3.6)
    ax = fig.add_subplot()
    period = data["period"]
    x = data["period_x"]
    colors = _stage_colors(list(t["stages"]))
    for st, s in t["stages"].items():
        net = np.asarray(s["on_hand"]) - np.asarray(s["backlog"])
        ax.plot(x, net, color=colors[st], lw=1.6, gid=f"net_stock:{st}", label=st)
    ax.axhline(0, color=NEUTRAL, lw=0.8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(period)
    ax.set_ylabel("on hand − backlog (units)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(f"Team {team}: stock (above 0) and backlog (below 0) at the end of each {period}", fontsize=11)
    return fig


def cost_chart(data: dict[str, Any]) -> Figure:
    """Cost by stage and team: holding (solid) and backlog (hatched), stacked."""
    teams = list(data["teams"])
    stages = list(next(iter(data["teams"].values()))["stages"])
    colors = _stage_colors(stages)
    fig = new_figure(max(6.0, 1.2 * len(teams) + 4), 3.8)
    ax = fig.add_subplot()
    x = np.arange(len(teams))
    bottom = np.zeros(len(teams))
    for st in stages:
        for part, hatch in (("holding_cost", None), ("backlog_cost", "//")):
            v = np.array([data["teams"][t]["stages"][st][part] for t in teams])
            ax.bar(x, v, 0.6, bottom=bottom, color=colors[st], hatch=hatch, edgecolor="white",
                   gid=f"cost:{st}:{part}", label=f"{st} {part.split('_')[0]}")
            bottom += v
    ax.set_xticks(x, [f"team {t}" for t in teams])
    ax.margins(y=0.08)
    ax.set_ylabel("cost")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle("Cost by stage: holding (solid) and backlog (hatched)", fontsize=11)
    return fig


def plan_chart(data: dict[str, Any]) -> Figure:
    """S&OP games: forecast bias and plan nervousness per cycle, one line per team."""
    fig = new_figure(9.0, 3.6)
    a1, a2 = fig.subplots(1, 2)
    colors = policy_colors(data["teams"])
    for team, t in data["teams"].items():
        b = [(x["cycle"], x["bias"]) for x in t.get("forecast_bias", []) if x["bias"] is not None]
        if b:
            a1.plot([c for c, _ in b], [100 * v for _, v in b], color=colors[team], marker="o", ms=3,
                    label=f"team {team}", gid=f"bias:{team}")
        n = [(x["cycle"], x["nervousness"]) for x in t.get("plan_nervousness", []) if x["nervousness"] is not None]
        if n:
            a2.plot([c for c, _ in n], [100 * v for _, v in n], color=colors[team], marker="o", ms=3,
                    label=f"team {team}", gid=f"nervousness:{team}")
    a1.axhline(0, color=NEUTRAL, lw=0.8)
    a1.set_title("forecast bias, next bucket (%)", fontsize=9)
    a1.set_xlabel("cycle")
    a2.set_title("plan nervousness inside the fences (%)", fontsize=9)
    a2.set_xlabel("cycle")
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    a2.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle("Forecast bias (forecast − booked orders, over booked orders) and plan nervousness", fontsize=11)
    return fig


def production_chart(team: str, t: dict[str, Any], data: dict[str, Any]) -> Figure:
    """S&OP games: production planned and made against customer demand, per bucket."""
    fig = new_figure(9.0, 3.4)
    ax = fig.add_subplot()
    period = data["period"]
    x = data["period_x"]
    ax.plot(x, t["demand"], color=NEUTRAL, lw=2.2, ls="--", label="customer demand", gid="demand")
    ax.plot(x, t["planned"], color=OKABE_ITO[0], lw=1.6, marker="o", ms=3, label="planned production",
            gid="planned")
    ax.plot(x, t["made"], color=OKABE_ITO[1], lw=1.6, marker="s", ms=3, label="made", gid="made")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(period)
    ax.set_ylabel("units per " + period)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(f"Team {team}: production against demand", fontsize=11)
    return fig


def replay_chart(data: dict[str, Any]) -> Figure:
    """Each team's score over the other futures (dots, box) and in the workshop's own future (diamond)."""
    rep = data["replay"]
    teams = list(data["teams"])
    colors = policy_colors(teams)
    fig = new_figure(max(6.0, 1.3 * len(teams) + 3), 3.8)
    ax = fig.add_subplot()
    for i, team in enumerate(teams):
        vals = [r["score"] for r in rep["rows"]
                if r["team"] == team and r["replication"] > 0 and r["score"] is not None]
        own = [r["score"] for r in rep["rows"] if r["team"] == team and r["replication"] == 0]
        if vals:
            ax.boxplot([vals], positions=[i], widths=0.5, showfliers=False)
            jitter = np.linspace(-0.15, 0.15, len(vals))
            ax.scatter(i + jitter, vals, s=12, color=colors[team], alpha=0.7, gid=f"replay:{team}")
        if own and own[0] is not None:
            ax.scatter([i], own, marker="D", s=60, color="black", zorder=5, gid=f"workshop:{team}")
    ax.set_xticks(range(len(teams)), [f"team {t}" for t in teams])
    ax.set_ylabel(data["score"]["metric"])
    ax.grid(alpha=0.3, axis="y")
    fig.suptitle("Skill or luck: scores in other random futures (diamond: the workshop's)", fontsize=11)
    return fig


def debrief_html(data: dict[str, Any]) -> str:
    """The debrief page."""
    period = data["period"]
    better = "higher" if data["score"]["higher_is_better"] else "lower"
    s_board = html.Section("leaderboard", "Leaderboard")
    lb = data["leaderboard"]
    s_board.blocks.append(html.para(f"After {data['played']} of {data['rounds']} rounds; ranked by "
                                    f"{data['score']['metric']} ({better} is better)."))
    s_board.blocks.append(_table(
        ["rank", "team", f"score ({data['score']['metric']})", "profit", "OTIF", "total cost", "bot rounds"],
        [[str(r["rank"]), str(r["team"]), _fmt(r["score"]), _fmt(r["profit"]), _fmt(r["otif"], "pct"),
          _fmt(r["total_cost"]), str(r.get("bot_rounds", ""))] for r in lb], best_first=True))
    s_orders = html.Section("bullwhip", "Orders against demand (bullwhip)")
    s_stock = html.Section("stock", "Inventory and backlog over time")
    kind = data["kind"]
    stage_names = list(next(iter(data["teams"].values()))["stages"]) if data["teams"] else []
    rows = []
    for team, t in data["teams"].items():
        if kind == "orders":
            _add(s_orders, f"orders-{team}", f"Team {team}: orders against demand",
                 f"Units ordered by each stage in round r, against what customers ordered at the retailer in "
                 f"{period} r (the {period} the order answers). "
                 "Swings that grow from stage to stage are the bullwhip effect."
                 + (f" The bot decided in round(s) {', '.join(map(str, t['bot_rounds']))}." if t["bot_rounds"] else ""),
                 partial(orders_chart, team, t, data))
        else:
            _add(s_orders, f"production-{team}", f"Team {team}: production against demand",
                 f"Production planned (the team's decisions) and made per {period}, against customer demand.",
                 partial(production_chart, team, t, data))
        _add(s_stock, f"stock-{team}", f"Team {team}: stock and backlog",
             f"On hand minus backlog at the end of each {period}, per stage (warehouse).",
             partial(stock_chart, team, t, data))
        rows.append([f"team {team}", *[_fmt(t["stages"][s]["bullwhip"]) for s in stage_names]])
    if kind == "orders" and rows:
        s_orders.blocks.append(html.para("Bullwhip ratio: variance of each stage's orders over the variance of "
                                         "customer demand, over the rounds played (1 = no amplification)."))
        s_orders.blocks.append(_table(["", *stage_names], rows))
    s_cost = html.Section("cost", "Cost by stage")
    if data["teams"]:
        _add(s_cost, "cost", "Cost by stage", "Holding and backlog cost of every stage (warehouse), per team, over "
             "the rounds played.", lambda: cost_chart(data))
    s_plan = html.Section("plan", "Forecast bias and plan nervousness" if kind == "plan" else "Order variability")
    if kind == "plan":
        _add(s_plan, "plan", "Forecast bias and plan nervousness",
             "Left: the consensus forecast of the next bucket against the orders booked in it, per S&OP cycle "
             "(above 0: over-forecast). Right: how much each cycle changed the previous plan inside the frozen "
             "and slushy fences.", lambda: plan_chart(data))
    else:
        s_plan.blocks.append(html.para("Plan nervousness of an ordering game: mean change of a stage's order "
                                       "from one round to the next, over its mean order."))
        s_plan.blocks.append(_table(["", *stage_names], [
            [f"team {team}", *[_fmt(t["stages"][s]["nervousness"], "pct") for s in stage_names]]
            for team, t in data["teams"].items()]))
    s_replay = html.Section("replay", "Skill or luck")
    rep = data.get("replay")
    if rep:
        _add(s_replay, "replay", "Skill or luck", "Each team's decisions replayed unchanged against other random "
             "futures: a ranking that holds across futures is skill; one that flips is luck.",
             lambda: replay_chart(data))
        s_replay.blocks.append(_table(
            ["team", "workshop score", "rank", "mean", "sd", "min", "max", "mean rank", "ranked 1st"],
            [[f"team {s['team']}", _fmt(s["workshop_score"]), _fmt(s["workshop_rank"]), _fmt(s["mean"]),
              _fmt(s["sd"]), _fmt(s["min"]), _fmt(s["max"]), _fmt(s["mean_rank"]), _fmt(s["first"], "pct")]
             for s in rep["summary"]]))
    else:
        s_replay.blocks.append(html.missing("No replay yet: run `simsop workshop replay DIR -n 20` and debrief again."))
    s_game = html.Section("game", "The game")
    facts = [("scenario", str(data["name"])), ("rounds", f"{data['played']} of {data['rounds']} played"),
             ("seed", str(data["seed"])), ("bot", str(data["bot"])), ("visibility", str(data["visibility"]))]
    for sh in data["shocks"]:
        facts.append((f"shock before round {sh['before_round']}",
                      ", ".join(f"{k}={v}" for k, v in sh.items() if k != "before_round")))
    s_game.blocks.append(html.key_value_table(facts))
    if data["log"]:
        s_game.blocks.append(html.bullet_list([f"after round {e['round']}: {e['action']} {e['detail']}".strip()
                                               for e in data["log"]]))
    sections = [s_board, s_orders, s_stock, s_cost, s_plan, s_replay, s_game]
    return html.document(f"Workshop debrief: {data['name']}",
                         f"{len(data['teams'])} teams, {data['played']} rounds, {kind} decisions", sections)
