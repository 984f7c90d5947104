"""One function per chart: DataFrames in, a matplotlib ``Figure`` out (drawn with Agg, no pyplot state).

Every chart has a title saying what is shown, units on its axes, its legend outside the data and the
policy colours of :mod:`simsop.report.colors`. Artists that carry data have a ``gid`` (for example
``band:on_hand:level:p5-p95``) so that tests can check that a chart shows the numbers it claims.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import Formatter

from simsop.report.colors import NEUTRAL, SHOCK
from simsop.report.colors import label as policy_label
from simsop.report.kpimeta import axis_label, info, scale
from simsop.report.summary import and_list
from simsop.series import ROLLING_DAYS
from simsop.series import rolling_name as rolling_series  # absent in an older simsop's results

Colors = Mapping[str, str]

# P&L lines from revenue down to profit, in the order of the bridge.
COST_COMPONENTS = ("cogs", "holding_cost", "backorder_cost", "lost_sale_cost", "transport_cost", "overtime_cost",
                   "scrap_cost", "expiry_cost", "fixed_cost", "plan_change_cost", "subcontract_cost", "labor_cost")

BAND_ALPHA_OUTER = 0.13
BAND_ALPHA_INNER = 0.30


@dataclass(frozen=True)
class Window:
    """A shaded period on a time axis (a shock), in days: [start, end)."""

    start: float
    end: float
    label: str


def new_figure(width: float, height: float) -> Figure:
    """A figure with constrained layout on an Agg canvas (no pyplot, no global state)."""
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _title(fig: Figure, title: str, subtitle: str = "") -> None:
    """Title and subtitle, wrapped to the figure's width so that nothing is cut off."""
    width_chars = max(30, int(fig.get_figwidth() * 72 / 6.6))  # about 6.6 pt per character at 11 pt
    text = "\n".join(textwrap.wrap(title, width_chars) + (textwrap.wrap(subtitle, int(width_chars * 1.1))
                                                        if subtitle else []))
    fig.suptitle(text, fontsize=11)


MINUS = "\u2212"  # a typographic minus, as matplotlib's own tick labels use


def _money_scale(a: float) -> tuple[float, str]:
    for f, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= f:
            return f, suffix
    return 1.0, ""


def _money_formatter(x: float, _pos: object = None) -> str:
    """One currency value in a few characters, three significant digits kept: 250k, 1.20M, 51.9k."""
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    f, suffix = _money_scale(abs(x))
    v = x / f
    decimals = max(0, 2 - math.floor(math.log10(abs(v)))) if abs(v) < 1000 else 0
    text = f"{v:.{decimals}f}"
    if abs(float(text)) >= 1000 and suffix != "B":  # 999.6k rounds to 1000k: write 1.00M
        return _money_formatter(math.copysign(1000 * f, x))
    return (text + suffix).replace("-", MINUS)


class MoneyFormatter(Formatter):
    """Currency tick labels as 250k, 1.2M instead of an offset like 1e6, with as many decimals as the tick
    spacing needs, so that no two ticks read the same (3.395M, 3.400M, 3.405M rather than 3.4M three times)."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return _money_formatter(x)

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        v = np.asarray(values, dtype=float)
        if len(v) == 0:
            return []
        f, suffix = _money_scale(float(np.abs(v).max()))
        scaled = v / f
        steps = np.abs(np.diff(np.unique(scaled)))
        tol = 1e-6 * (float(steps[steps > 0].min()) if (steps > 0).any() else 1.0)
        # The fewest decimals that write every tick exactly (2.5k needs one, 3.395M three).
        decimals = next((d for d in range(7) if np.all(np.abs(np.round(scaled, d) - scaled) <= tol)), 6)
        out = []
        for x in v:
            text = f"{x / f:.{decimals}f}"
            out.append(("0" if float(text) == 0 else text.replace("-", MINUS)) + ("" if float(text) == 0 else suffix))
        return out


def money_axis(ax: Axes, axis: str = "y") -> None:
    """Currency tick labels as 250k, 1.2M instead of an offset like 1e6 (see :class:`MoneyFormatter`)."""
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(MoneyFormatter())


def _policy_ticks(ax: Axes, policies: Sequence[str], axis: str = "x") -> None:
    pos = np.arange(len(policies))
    long = max((len(p) for p in policies), default=0) > 10 or len(policies) > 4
    if axis == "x":
        ax.set_xticks(pos)
        if long:
            ax.set_xticklabels(policies, rotation=25, ha="right", rotation_mode="anchor")
        else:
            ax.set_xticklabels(policies)
        ax.set_xlim(-0.6, len(policies) - 0.4)
    else:
        ax.set_yticks(pos)
        ax.set_yticklabels(policies)
        ax.set_ylim(len(policies) - 0.4, -0.6)


def _legend_columns(fig: Figure, labels: Sequence[str], fontsize: float = 9) -> int:
    """As many legend columns as fit across the figure (an entry: handle, gap and its label)."""
    entry = max((len(str(s)) for s in labels), default=1) * fontsize * 0.62 + 3.2 * fontsize  # points
    return max(1, min(len(labels), int(fig.get_figwidth() * 72 * 0.95 // entry)))


def _grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    cols = min(max_cols, max(n, 1))
    return math.ceil(max(n, 1) / cols), cols


def _axes(fig: Figure, n: int, max_cols: int = 3, sharey: bool = False) -> list[Axes]:
    rows, cols = _grid(n, max_cols)
    axs = fig.subplots(rows, cols, squeeze=False, sharey=sharey)
    flat = list(axs.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return flat[:n]


def _policy_legend(fig: Figure, colors: Colors, policies: Sequence[str], extra: Sequence[object] = (),
                   title: str = "Policy") -> None:
    handles = [Patch(facecolor=colors[p], edgecolor="none", label=policy_label(colors, p))
               for p in policies] + list(extra)
    ncol = _legend_columns(fig, [str(getattr(h, "get_label", lambda: "")()) for h in handles])
    fig.legend(handles=handles, loc="outside lower center", ncol=ncol, frameon=False,
               title=None if extra else title, fontsize=9, title_fontsize=9)


def _case_rows(df: pd.DataFrame, case: str | None) -> pd.DataFrame:
    if case is None or "case" not in df.columns:
        return df
    return df[df["case"].astype(str) == str(case)]


def _summary_row(summary: pd.DataFrame, policy: str, kpi: str) -> pd.Series | None:
    sel = summary[(summary["policy"] == policy) & (summary["kpi"] == kpi)]
    return None if sel.empty else sel.iloc[0]


# ------------------------------------------------------------------------------------------ distributions


def kpi_distributions(summary: pd.DataFrame, kpis: Sequence[str], colors: Colors, policies: Sequence[str],
                      runs: pd.DataFrame | None = None, case: str | None = None,
                      title: str = "KPIs per policy") -> Figure:
    """Box plots of KPIs across replications per policy, with the mean and its 95% confidence interval.

    Boxes span the quartiles, whiskers the 5th to 95th percentiles of ``runs`` (one row per replication);
    without ``runs`` the whisker is drawn from the summary's ``p5``/``p95``. The dot is the mean with its
    CI (``summary`` columns ``mean``, ``ci_low``, ``ci_high``). Percentages are shown in %.
    """
    summary = _case_rows(summary, case)
    runs = _case_rows(runs, case) if runs is not None else None
    kpis = [k for k in kpis if (summary["kpi"] == k).any()]
    fig = new_figure(4.0 * min(3, max(len(kpis), 1)), 0.6 + 3.0 * _grid(len(kpis))[0] + 0.6)
    n = int(summary["n"].max()) if "n" in summary.columns and len(summary) else 0
    _title(fig, title, f"Box: middle 50% of {n} replications; whiskers: 5th–95th percentile; "
                       "dot and bar: mean with 95% confidence interval")
    for ax, kpi in zip(_axes(fig, len(kpis)), kpis, strict=True):
        f = scale(kpi)
        for i, p in enumerate(policies):
            row = _summary_row(summary, p, kpi)
            if row is None:
                continue
            c = colors[p]
            values = None
            if runs is not None and kpi in runs.columns:
                v = runs.loc[runs["policy"] == p, kpi].to_numpy(dtype=float)
                values = v[~np.isnan(v)] * f
            if values is not None and len(values):
                # Exact percentiles (numpy's linear rule, as summary.csv): boxplot(whis=...) would stop
                # the whiskers at the last data point inside the range instead.
                p5, q1, med, q3, p95 = np.percentile(values, [5, 25, 50, 75, 95])
                bp = ax.bxp([{"whislo": p5, "q1": q1, "med": med, "q3": q3, "whishi": p95, "fliers": []}],
                            positions=[i], widths=0.55, showfliers=False, patch_artist=True, manage_ticks=False)
                for box in bp["boxes"]:
                    box.set(facecolor=c, alpha=0.35, edgecolor=c)
                    box.set_gid(f"box:{kpi}:{p}")
                for j, w in enumerate(bp["whiskers"]):
                    w.set(color=c)
                    w.set_gid(f"whisker:{kpi}:{p}:{'low' if j == 0 else 'high'}")
                for part in ("caps", "medians"):
                    for line in bp[part]:
                        line.set(color=c)
            elif not math.isnan(float(row.get("p5", math.nan))):
                ax.vlines(i, row["p5"] * f, row["p95"] * f, color=c, lw=1.5, gid=f"range:{kpi}:{p}")
            mean, lo, hi = (float(row[k]) * f for k in ("mean", "ci_low", "ci_high"))
            err = [[mean - lo], [hi - mean]] if not math.isnan(lo) else None
            eb = ax.errorbar([i], [mean], yerr=err, fmt="o", color=c, markeredgecolor="black", ecolor="black",
                             elinewidth=1.6, capsize=5, zorder=5, ms=6)
            eb.lines[0].set_gid(f"mean:{kpi}:{p}")
            if eb.lines[2]:
                eb.lines[2][0].set_gid(f"ci:{kpi}:{p}")
        meta = info(kpi)
        ax.set_title(_panel_title(meta.label, kpi, fig.get_figwidth() / _grid(len(kpis))[1]), fontsize=10)
        ax.set_ylabel(meta.unit or "value")
        if meta.kind == "money":
            money_axis(ax)
        ax.grid(axis="y", alpha=0.3)
        _policy_ticks(ax, list(policies))
    return fig


# ------------------------------------------------------------------------------------------ forest plot


def forest_plot(paired: pd.DataFrame, kpis: Sequence[str], colors: Colors, policies: Sequence[str], baseline: str,
                case: str | None = None) -> Figure:
    """Paired differences (policy − baseline) with 95% CIs, one panel per KPI (a forest plot).

    Filled dots are significant (the interval excludes 0), hollow ones are not. Percentages are shown in
    percentage points.
    """
    paired = _case_rows(paired, case)
    others = [p for p in policies if p != baseline and (paired["policy"] == p).any()]
    kpis = [k for k in kpis if (paired["kpi"] == k).any()]
    rows, _ = _grid(len(kpis), 2)
    fig = new_figure(11.0, 1.2 + rows * (0.55 * len(others) + 1.3))
    _title(fig, f"Difference from the baseline ({baseline}), same random futures",
           "Dot: mean paired difference; bar: 95% confidence interval; filled = significant (interval excludes 0)")
    for ax, kpi in zip(_axes(fig, len(kpis), 2), kpis, strict=True):
        f = scale(kpi)
        for i, p in enumerate(others):
            sel = paired[(paired["policy"] == p) & (paired["kpi"] == kpi)]
            if sel.empty:
                continue
            r = sel.iloc[0]
            d, lo, hi = float(r["mean_diff"]) * f, float(r["ci_low"]) * f, float(r["ci_high"]) * f
            sig = bool(r.get("significant", lo > 0 or hi < 0))
            err = [[d - lo], [hi - d]] if not math.isnan(lo) else None
            eb = ax.errorbar([d], [i], xerr=err, fmt="o", color=colors[p], ms=8, capsize=4, elinewidth=2,
                             markerfacecolor=colors[p] if sig else "white", markeredgewidth=2, zorder=5)
            eb.lines[0].set_gid(f"diff:{kpi}:{p}")
            if eb.lines[2]:
                eb.lines[2][0].set_gid(f"diffci:{kpi}:{p}")
        ax.axvline(0, color=NEUTRAL, lw=1, ls="--")
        _policy_ticks(ax, others, axis="y")
        meta = info(kpi)
        unit = "percentage points" if meta.kind == "pct" else meta.unit
        ax.set_title(f"{meta.label}: {_better_text(kpi)}", fontsize=10)
        ax.set_xlabel(f"Difference vs {baseline} ({unit})" if unit else f"Difference vs {baseline}")
        if meta.kind == "money":
            money_axis(ax, "x")
        ax.grid(axis="x", alpha=0.3)
        ax.margins(x=0.15)
    return fig


def _panel_title(label: str, kpi: str, width_in: float) -> str:
    """'Label: higher is better' on one line when it fits the panel (about 5.6 pt a character at 10 pt),
    else on two; just the label when neither way is better."""
    if info(kpi).higher_is_better is None:
        return label
    one = f"{label}: {_better_text(kpi)}"
    return one if len(one) * 5.6 <= width_in * 72 * 0.85 else f"{label}\n({_better_text(kpi)})"


def _better_text(kpi: str) -> str:
    h = info(kpi).higher_is_better
    return "higher is better" if h else ("lower is better" if h is False else "neither way is better")


# ------------------------------------------------------------------------------------------ trade-off


def efficient_frontier(points: pd.DataFrame, x: str = "x", y: str = "y", x_lower_better: bool = True,
                       y_higher_better: bool = True) -> list[str]:
    """Policies (index of ``points``) that no other policy beats on both axes, sorted by ``x``.

    A point is dominated when another is at least as good on both axes and strictly better on one.
    """
    sx = 1.0 if x_lower_better else -1.0
    sy = -1.0 if y_higher_better else 1.0
    pts = points[[x, y]].astype(float).dropna()
    keep = []
    for name, (a, b) in zip(pts.index, pts.to_numpy(), strict=True):
        dominated = False
        for other, (c, d) in zip(pts.index, pts.to_numpy(), strict=True):
            if other == name:
                continue
            if sx * c <= sx * a and sy * d <= sy * b and (sx * c < sx * a or sy * d < sy * b):
                dominated = True
                break
        if not dominated:
            keep.append(name)
    xs = dict(zip(pts.index, pts[x].to_numpy(dtype=float), strict=True))
    return [str(k) for k in sorted(keep, key=lambda k: xs[k])]


def tradeoff(summary: pd.DataFrame, colors: Colors, policies: Sequence[str],
             pairs: Sequence[tuple[str, str]] = (("avg_on_hand", "fill_rate"), ("total_cost", "otif")),
             case: str | None = None) -> Figure:
    """Service against inventory or cost: one point per policy (mean, with 95% CI bars), and the frontier.

    The efficient frontier joins the policies no other policy beats on both axes (less inventory or cost,
    more service).
    """
    summary = _case_rows(summary, case)
    pairs = [(x, y) for x, y in pairs if (summary["kpi"] == x).any() and (summary["kpi"] == y).any()]
    fig = new_figure(5.5 * max(len(pairs), 1), 5.2)
    _title(fig, "Service against inventory and cost: which policies are efficient",
           "Dot: mean over replications, bars: 95% CI; line: efficient frontier (no policy beats these on both axes)")
    for ax, (xk, yk) in zip(_axes(fig, len(pairs), 2), pairs, strict=True):
        fx, fy = scale(xk), scale(yk)
        rows = {}
        for p in policies:
            rx, ry = _summary_row(summary, p, xk), _summary_row(summary, p, yk)
            if rx is None or ry is None:
                continue
            rows[p] = (float(rx["mean"]) * fx, float(ry["mean"]) * fy)
            xerr = [[(rx["mean"] - rx["ci_low"]) * fx], [(rx["ci_high"] - rx["mean"]) * fx]]
            yerr = [[(ry["mean"] - ry["ci_low"]) * fy], [(ry["ci_high"] - ry["mean"]) * fy]]
            if math.isnan(float(rx["ci_low"])):
                xerr = yerr = None  # type: ignore[assignment]
            eb = ax.errorbar([rows[p][0]], [rows[p][1]], xerr=xerr, yerr=yerr, fmt="o", color=colors[p], ms=9,
                             markeredgecolor="black", capsize=3, zorder=5)
            eb.lines[0].set_gid(f"point:{xk}:{yk}:{p}")
        pts = pd.DataFrame(rows, index=["x", "y"]).T
        front = efficient_frontier(pts, x_lower_better=info(xk).higher_is_better is not True,
                                   y_higher_better=info(yk).higher_is_better is not False) if len(pts) else []
        if front:
            ax.plot(pts.loc[front, "x"], pts.loc[front, "y"], color=NEUTRAL, lw=1.5, ls="--", zorder=3,
                    gid=f"frontier:{xk}:{yk}")
        ax.set_xlabel(axis_label(xk))
        ax.set_ylabel(axis_label(yk))
        for k, a in ((xk, "x"), (yk, "y")):
            if info(k).kind == "money":
                money_axis(ax, a)
        ax.set_title(f"{info(yk).label} against {info(xk).label.lower()}", fontsize=10)
        ax.grid(alpha=0.3)
        ax.margins(0.15)
    _policy_legend(fig, colors, [p for p in policies if (summary["policy"] == p).any()],
                   [Line2D([], [], color=NEUTRAL, ls="--", label="efficient frontier")])
    return fig


# ------------------------------------------------------------------------------------------ time series

SERIES_PANELS: tuple[tuple[str, str, str], ...] = (
    ("on_hand", "Inventory on hand", "units"),
    ("backlog", "Customer backlog", "units"),
    ("orders", "Orders placed against customer demand", "units per day"),
    ("production", "Production against plan", "units per day"),
    ("capacity_load", "Capacity load", "% of regular capacity"),
)


def _band(ax: Axes, d: pd.DataFrame, color: str, gid: str, bands: bool = True, ls: str = "-",
          factor: float = 1.0, label: str | None = None, lw: float = 1.3) -> None:
    x = d["day"].to_numpy(dtype=float)
    if bands:
        ax.fill_between(x, d["p5"].to_numpy(dtype=float) * factor, d["p95"].to_numpy(dtype=float) * factor,
                        color=color, alpha=BAND_ALPHA_OUTER, lw=0, gid=f"band:{gid}:p5-p95")
        ax.fill_between(x, d["p25"].to_numpy(dtype=float) * factor, d["p75"].to_numpy(dtype=float) * factor,
                        color=color, alpha=BAND_ALPHA_INNER, lw=0, gid=f"band:{gid}:p25-p75")
    ax.plot(x, d["p50"].to_numpy(dtype=float) * factor, color=color, lw=lw, ls=ls, gid=f"median:{gid}",
            label=label)


def _line_widths(n: int) -> list[float]:
    """Line widths from thick (first policy) to thin (last), so that where policies coincide every colour
    still shows, as nested stripes, instead of the last policy drawn hiding the others."""
    return [1.3] if n <= 1 else [2.4 - 1.3 * j / (n - 1) for j in range(n)]


def weekly_bands(series: pd.DataFrame, case: str | None = None) -> bool:
    """True when ``series`` has the 7-day averages' own quantile bands (:func:`rolling_series`)."""
    s = _case_rows(series, case)
    return bool(s["series"].astype(str).str.startswith(rolling_series("")).any())


def rolling_mean(d: pd.DataFrame, days: int = ROLLING_DAYS) -> np.ndarray:
    """Trailing ``days``-day rolling average of a series' daily mean over replications (``p50`` when there is
    no ``mean`` column): each day's value is the average of that day and the days before it (fewer at the start),
    so a change never shows before the day it happens (a centred average would draw a shock's effect three days
    before its shaded start)."""
    col = "mean" if "mean" in d.columns else "p50"
    return d[col].astype(float).rolling(days, min_periods=1).mean().to_numpy()


WARMUP_STYLE = {"facecolor": "none", "edgecolor": "#C8C8C8", "hatch": "////", "lw": 0, "zorder": 0}


def _shade(ax: Axes, windows: Sequence[Window], warmup: float | None, names: bool = False) -> None:
    """Hatch the warm-up and shade the shocks; with ``names``, number each shock at the top of its span
    (the legend says which is which: names written on the spans overlap when shocks start close together)."""
    if warmup:
        ax.axvspan(0, warmup, gid="warmup", **WARMUP_STYLE)  # type: ignore[arg-type]
    for i, w in enumerate(windows):
        ax.axvspan(w.start, w.end, color=SHOCK, alpha=0.35, lw=0, zorder=0, gid=f"shock:{w.label}")
        if names:
            ax.annotate(str(i + 1), xy=(w.start, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(2, -2 - 11 * (i % 3)), textcoords="offset points", va="top", ha="left",
                        fontsize=8, fontweight="bold", color="#333333", gid=f"shocklabel:{w.label}",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})


def _shock_handles(windows: Sequence[Window]) -> list[object]:
    return [Patch(facecolor=SHOCK, alpha=0.35, label=f"shock {i + 1}: {w.label} (days {w.start:.0f}–{w.end:.0f})")
            for i, w in enumerate(windows)]


FLOW_PANELS = ("orders", "production", "capacity_load")  # what happens per day: always on the weekly basis
ROUGH = 0.2  # a level panel goes weekly when its daily median strays this far from its 7-day average


@dataclass(frozen=True)
class Panel:
    """One panel of :func:`time_series`: its series key, title, unit and whether it is drawn as 7-day averages."""

    key: str
    title: str
    unit: str
    weekly: bool

    @property
    def heading(self) -> str:
        return f"{self.title} ({ROLLING_DAYS}-day average)" if self.weekly else self.title

    @property
    def ylabel(self) -> str:
        return f"{self.unit}\n({ROLLING_DAYS}-day average)" if self.weekly else self.unit


def _panel_series(key: str, names: set[str]) -> list[str]:
    if key == "orders":
        return sorted(n for n in names if n.startswith("orders_") or n in ("orders", "demand"))
    if key == "production":
        return [n for n in ("production", "planned_production") if n in names]
    return [key] if key in names else []


def _has_data(s: pd.DataFrame, names: Sequence[str]) -> bool:
    """True when one of the series has a value other than 0 (a scenario without plants has production 0 and
    no capacity load every day: a flat panel says nothing)."""
    v = s.loc[s["series"].isin(names), ["p50", "mean"] if "mean" in s.columns else ["p50"]].to_numpy(dtype=float)
    return bool(np.any(np.isfinite(v) & (v != 0)))


def _swings(s: pd.DataFrame, key: str) -> bool:
    """True when a level (inventory, backlog) swings from day to day about as much as it moves over weeks: some
    policy's daily median is on average more than :data:`ROUGH` of the panel's level away from its own 7-day
    average (a weekly delivery or batch rhythm, or plain daily noise around a small level), so that the daily
    lines of several policies would be a tangle nobody can read."""
    away, level = 0.0, 0.0
    for _, d in s[s["series"] == key].groupby("policy", sort=False):
        d = d.sort_values("day")
        week = rolling_mean(d)
        gap = np.abs(d["p50"].to_numpy(dtype=float) - week)
        if np.isfinite(gap).any():
            away = max(away, float(np.nanmean(gap)))
            level = max(level, float(np.nanmean(np.abs(week))))
    return level > 0 and away > ROUGH * level


def series_panels(series: pd.DataFrame, case: str | None = None) -> tuple[list[Panel], list[str]]:
    """The panels :func:`time_series` draws for ``case``, and the titles of those left out (no data, or zero
    every day). Flows (orders and demand, production and its plan, capacity load) are drawn as trailing
    7-day averages of the daily mean over replications: a plant that makes a batch some days and nothing on
    others, or weekly orders, would otherwise swing between 0 and its peak every day. Levels (inventory,
    backlog) keep their daily quantile bands unless they swing the same way (:func:`_swings`)."""
    s = _case_rows(series, case)
    names = set(s["series"].astype(str))
    panels, left_out = [], []
    for key, title, unit in SERIES_PANELS:
        members = _panel_series(key, names)
        if not members:
            continue
        if not _has_data(s, members):
            left_out.append(title)
            continue
        panels.append(Panel(key, title, unit, key in FLOW_PANELS or _swings(s, key)))
    return panels, left_out


def time_series(series: pd.DataFrame, colors: Colors, policies: Sequence[str], case: str | None = None,
                shocks: Sequence[Window] = (), warmup: float | None = None, title: str | None = None) -> Figure:
    """Daily inventory, backlog, orders against demand, production against plan, capacity load; shocks and the
    warm-up shaded (panels from :func:`series_panels`).

    ``series`` is tidy: ``policy, case, series, day, p5, p25, p50, p75, p95, mean``. A daily panel gives each
    policy a 5–95% band, a 25–75% band and its median line; a weekly one (flows, and a level that swings
    from day to day) the same bands of each replication's own trailing 7-day average (the ``rolling7:<name>``
    rows, :func:`rolling_series`) and their mean, which is the 7-day average of the daily mean. Results
    without those rows (an older simsop) get the line alone: quantiles of 7-day averages cannot be had from
    daily quantiles. Orders are drawn per stage (``orders_<warehouse>``) against customer
    demand (``demand``), planned production dashed beside production, both on the panel's basis. Lines are
    thinner for later policies, so that coinciding lines stay visible.
    """
    s = _case_rows(series, case)
    names = set(s["series"].astype(str))
    stages = sorted(n for n in names if n.startswith("orders_"))
    panels, _ = series_panels(series, case)
    fig = new_figure(11.0, 1.4 + 2.6 * max(len(panels), 1))
    daily = [p.title.lower() for p in panels if not p.weekly]
    weekly = [p.title.lower() for p in panels if p.weekly]
    how = []
    if daily:
        how.append(f"{and_list(daily)}: bands 5–95% and 25–75% of replications, line median")
    if weekly and weekly_bands(series, case):
        how.append(f"{and_list(weekly)}: each replication's {ROLLING_DAYS}-day average, bands 5–95% and 25–75% "
                   "of replications, line mean")
    elif weekly:
        how.append(f"{and_list(weekly)}: {ROLLING_DAYS}-day average of the daily mean over replications")
    how_text = "; ".join(how)
    _title(fig, title or "A day-by-day view across the random futures" + (f" — case {case}" if case else ""),
           how_text[:1].upper() + how_text[1:] + "; grey: shocks; hatched: warm-up")
    shown = [p for p in policies if (s["policy"] == p).any()]
    widths = dict(zip(shown, _line_widths(len(shown)), strict=True))
    axs: list[Axes] = list(fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]) if panels else []
    ls_cycle = ("-", "--", ":", "-.")
    stage_handles: list[object] = []

    def draw(ax: Axes, d: pd.DataFrame, color: str, gid: str, weekly: bool, factor: float = 1.0, ls: str = "-",
             lw: float = 1.3, bands: bool = True) -> None:
        d = d.sort_values("day")
        if not weekly:
            _band(ax, d, color, gid, bands=bands, ls=ls, factor=factor, lw=lw)
            return
        name, policy = str(d["series"].iloc[0]), d["policy"].iloc[0]
        week = s[(s["series"] == rolling_series(name)) & (s["policy"] == policy)].sort_values("day")
        if week.empty or not bands:
            # Results of an older simsop: the 7-day average of the daily mean, which is the mean of the
            # replications' 7-day averages, but no bands (quantiles of averages are not averages of quantiles).
            ax.plot(d["day"].to_numpy(dtype=float), rolling_mean(d) * factor, color=color, ls=ls, lw=lw,
                    gid=f"mean{ROLLING_DAYS}:{gid}")
            return
        x = week["day"].to_numpy(dtype=float)
        for lo, hi, alpha in (("p5", "p95", BAND_ALPHA_OUTER), ("p25", "p75", BAND_ALPHA_INNER)):
            ax.fill_between(x, week[lo].to_numpy(dtype=float) * factor, week[hi].to_numpy(dtype=float) * factor,
                            color=color, alpha=alpha, lw=0, gid=f"band:{gid}:{lo}-{hi}")
        ax.plot(x, week["mean"].to_numpy(dtype=float) * factor, color=color, ls=ls, lw=lw,
                gid=f"mean{ROLLING_DAYS}:{gid}")

    for i, (ax, panel) in enumerate(zip(axs, panels, strict=True)):
        key, wk = panel.key, panel.weekly
        _shade(ax, shocks, warmup, names=i == 0)
        factor = 100.0 if key == "capacity_load" else 1.0
        if key == "orders":
            dem = s[s["series"] == "demand"]
            if not dem.empty:
                first = next((p for p in policies if (dem["policy"] == p).any()), dem["policy"].iloc[0])
                draw(ax, dem[dem["policy"] == first], NEUTRAL, "demand", wk)
                stage_handles = [Line2D([], [], color=NEUTRAL, lw=1.3, label="customer demand")]
            for j, st in enumerate(stages):
                ls = ls_cycle[j % len(ls_cycle)]
                stage_handles.append(Line2D([], [], color="black", ls=ls, lw=1.3, label=f"{st[7:]} orders"))
                for p in shown:
                    d = s[(s["series"] == st) & (s["policy"] == p)]
                    if not d.empty:
                        draw(ax, d, colors[p], f"{st}:{p}", wk, ls=ls, lw=widths[p])
            if "orders" in names:
                for p in shown:
                    d = s[(s["series"] == "orders") & (s["policy"] == p)]
                    if not d.empty:
                        draw(ax, d, colors[p], f"orders:{p}", wk, lw=widths[p])
        else:
            for p in shown:
                d = s[(s["series"] == key) & (s["policy"] == p)]
                if not d.empty:
                    draw(ax, d, colors[p], f"{key}:{p}", wk, factor=factor, lw=widths[p])
                if key == "production":
                    d = s[(s["series"] == "planned_production") & (s["policy"] == p)]
                    if not d.empty:  # the plan on the same basis as what was made
                        draw(ax, d, colors[p], f"planned_production:{p}", wk, ls="--", lw=widths[p], bands=False)
            if key == "capacity_load":
                ax.axhline(100, color=NEUTRAL, lw=1, ls=":")
        ax.set_title(panel.heading, fontsize=10, loc="left")
        ax.set_ylabel(panel.ylabel)
        ax.grid(alpha=0.25)
        ax.margins(x=0)
    if len(axs):
        axs[-1].set_xlabel("Day of the simulation (day 0 = start of the run)")
    extra: list[object] = _shock_handles(shocks)
    if warmup:
        extra.append(Patch(label="warm-up (not in KPIs)", **{**WARMUP_STYLE, "lw": 0.5}))  # type: ignore[arg-type]
    if "planned_production" in names and any(p.key == "production" for p in panels):
        extra.append(Line2D([], [], color="black", ls="--", label="planned production"))
    extra.extend(stage_handles)
    _policy_legend(fig, colors, shown, extra)
    return fig


# ------------------------------------------------------------------------------------------ bullwhip


def bullwhip(summary: pd.DataFrame, colors: Colors, policies: Sequence[str], case: str | None = None,
             period_days: int | None = None) -> Figure:
    """Variance of each stage's orders over the variance of the demand it sees (``bullwhip_<stage>`` KPIs;
    ``bullwhip_production``: units made over customer demand), both summed over ``period_days``.

    Bars are means over replications with 95% CIs; 1 means orders vary as much as demand.
    """
    summary = _case_rows(summary, case)
    kpis = [k for k in dict.fromkeys(summary["kpi"].astype(str)) if k.startswith("bullwhip_")]
    stages = [k[len("bullwhip_"):] for k in kpis]
    shown = [p for p in policies if (summary["policy"] == p).any()]
    fig = new_figure(max(9.0, 2.0 + 0.6 * len(stages) * max(len(shown), 1)), 4.8)
    per = {1: "daily", 7: "weekly"}.get(period_days or 0, f"{period_days}-day" if period_days else "")
    _title(fig, "Bullwhip: how much more orders vary than the demand behind them, stage by stage",
           f"Variance of a warehouse's {per + ' ' if per else ''}orders ÷ variance of the demand it receives"
           + ("; production: units made ÷ customer demand" if "production" in stages else "")
           + "; bars: mean, whiskers: 95% CI")
    ax = fig.subplots()
    width = 0.8 / max(len(shown), 1)
    for j, p in enumerate(shown):
        for i, k in enumerate(kpis):
            row = _summary_row(summary, p, k)
            if row is None:
                continue
            x = i - 0.4 + width * (j + 0.5)
            m, lo, hi = float(row["mean"]), float(row["ci_low"]), float(row["ci_high"])
            ax.bar([x], [m], width=width * 0.92, color=colors[p], gid=f"bar:{stages[i]}:{p}")
            if not math.isnan(lo):
                ax.errorbar([x], [m], yerr=[[m - lo], [hi - m]], fmt="none", ecolor="black", capsize=3, lw=1)
    ax.axhline(1.0, color=NEUTRAL, ls="--", lw=1)
    ax.set_xticks(np.arange(len(stages)))
    ax.set_xticklabels(stages, rotation=20 if len(stages) > 4 else 0, ha="right" if len(stages) > 4 else "center")
    ax.set_xlabel("Stage (warehouse placing the orders" + (", or the plants' production)" if "production" in stages
                                                          else ")"))
    ax.set_ylabel("Order variance ÷ demand variance (ratio)")
    ax.grid(axis="y", alpha=0.3)
    _policy_legend(fig, colors, shown, [Line2D([], [], color=NEUTRAL, ls="--", label="1 = no amplification")])
    return fig


# ------------------------------------------------------------------------------------------ plan vs actual

PLAN_MEASURES = {
    "actual_sales": ("Actual sales (booked orders)", "black", "-"),
    "demand_plan": ("Demand plan (consensus)", NEUTRAL, "--"),
    "actual_sales_made": ("Actual sales of products made in-house", "black", "-"),
    "demand_plan_made": ("Demand plan of products made in-house", NEUTRAL, "--"),
    "production_plan": ("Production plan", None, ":"),
    "actual_production": ("Actual production", None, "-"),
    "purchased": ("Received from suppliers (bought in)", "#8C564B", "-."),
}
# Supply against demand: a family's demand counts only the products its plants make, so that it compares with
# production; what suppliers deliver is its own line (plan.csv of an older simsop has whole-family demand).
SUPPLY_MEASURES = ("actual_sales_made", "demand_plan_made", "production_plan", "actual_production", "purchased")
_WHOLE_FAMILY = {"actual_sales_made": "actual_sales", "demand_plan_made": "demand_plan"}


def bought_in_families(plan: pd.DataFrame, case: str | None = None) -> list[str]:
    """Families that received units from suppliers (``purchased`` > 0 in ``plan.csv``)."""
    df = _case_rows(plan, case)
    if "purchased" not in df.columns or "family" not in df.columns:
        return []
    got = df.groupby("family", sort=False)["purchased"].sum()
    return [str(f) for f, v in got.items() if v > 0]


def plan_vs_actual(plan: pd.DataFrame, colors: Colors, policies: Sequence[str], case: str | None = None,
                   measures: Sequence[str] = SUPPLY_MEASURES, warmup: float | None = None,
                   title: str = "Plan against actual, per product family") -> Figure:
    """Demand plan, production plan, actual sales and production per family (rows) and policy (columns).

    By default (:data:`SUPPLY_MEASURES`) demand and sales are those of the products a plant makes, and units
    received from suppliers are a line of their own where a family buys some in; a ``plan`` without those
    columns (an older simsop) shows the whole family's demand instead.

    ``plan`` has one row per policy × case × family × bucket with ``bucket_start``, ``bucket_days`` and the
    measures in units per bucket (averaged over replications); they are drawn in units per day at the
    middle of each bucket, so months of different lengths compare.
    """
    df = _case_rows(plan, case)
    measures = [m if m in df.columns else _WHOLE_FAMILY.get(m, m) for m in measures]
    measures = [m for m in dict.fromkeys(measures) if m in df.columns]
    if "purchased" in measures and not (df["purchased"].fillna(0) > 0).any():
        measures.remove("purchased")  # nothing is bought in: no line (and no legend entry) for it
    families = list(dict.fromkeys(df["family"].astype(str))) if "family" in df.columns else ["all"]
    shown = [p for p in policies if (df["policy"] == p).any()]
    fig = new_figure(max(4.2 * len(shown), 7.0), 1.5 + 2.6 * len(families))
    _title(fig, title, "Units per day, bucket averages over replications; one column per policy"
                       + ("; hatched: warm-up" if warmup else ""))
    axs = fig.subplots(len(families), max(len(shown), 1), sharex=True, sharey="row", squeeze=False)
    for i, fam in enumerate(families):
        for j, p in enumerate(shown):
            ax = axs[i, j]
            if warmup:
                ax.axvspan(0, warmup, **WARMUP_STYLE)
            d = df[(df["policy"] == p) & ((df["family"].astype(str) == fam) if "family" in df.columns else True)]
            d = d.sort_values("bucket_start")
            x = d["bucket_start"].to_numpy(dtype=float) + d["bucket_days"].to_numpy(dtype=float) / 2
            days = d["bucket_days"].to_numpy(dtype=float)
            for m in measures:
                label, color, ls = PLAN_MEASURES.get(m, (m, NEUTRAL, "-"))
                if m == "purchased" and not (d[m].fillna(0) > 0).any():
                    continue  # a family made in-house only
                ax.plot(x, d[m].to_numpy(dtype=float) / days, color=color or colors[p], ls=ls, lw=1.5,
                        marker="o", ms=2.5, gid=f"plan:{m}:{fam}:{p}")
            ax.set_title(f"{policy_label(colors, p)} — family {fam}", fontsize=10, color=colors[p], loc="left")
            if j == 0:
                ax.set_ylabel("units per day")
            if i == len(families) - 1:
                ax.set_xlabel("Day (bucket middle)")
            ax.grid(alpha=0.25)
    handles = []
    for m in measures:
        label, color, ls = PLAN_MEASURES.get(m, (m, NEUTRAL, "-"))
        handles.append(Line2D([], [], color=color or "#777777", ls=ls, lw=1.5,
                              label=label + (" (policy colour)" if color is None else "")))
    ncol = _legend_columns(fig, [str(h.get_label()) for h in handles])
    fig.legend(handles=handles, loc="outside lower center", ncol=ncol, frameon=False, fontsize=9)
    return fig


# ------------------------------------------------------------------------------------------ profit bridge


def profit_components(summary: pd.DataFrame, policy: str) -> list[tuple[str, float]]:
    """(line, signed mean) from revenue down to profit: revenue +, each cost −, a residual 'other' if the
    components do not add up; the profit itself is not in the list."""
    vals = {k: float(r["mean"]) for k, r in summary[summary["policy"] == policy].set_index("kpi").iterrows()
            if k in ("revenue", "profit", *COST_COMPONENTS)}
    out = [("revenue", vals.get("revenue", 0.0))]
    out += [(k, -vals[k]) for k in COST_COMPONENTS if k in vals]
    profit = vals.get("profit", math.nan)
    rest = profit - sum(v for _, v in out)
    if not math.isnan(rest) and abs(rest) > 1e-6 * max(1.0, abs(out[0][1])):
        out.append(("other", rest))
    return out


def profit_waterfall(summary: pd.DataFrame, colors: Colors, policies: Sequence[str],
                     case: str | None = None) -> Figure:
    """A bridge from revenue to profit per policy (mean over replications, currency units).

    Revenue and profit bars are in the policy's colour; costs are grey bars stepping down. Cost lines that
    are zero for every policy are left out.
    """
    summary = _case_rows(summary, case)
    shown = [p for p in policies if ((summary["policy"] == p) & (summary["kpi"] == "profit")).any()]
    comps = {p: profit_components(summary, p) for p in shown}
    keep = [k for k in dict.fromkeys(k for c in comps.values() for k, _ in c)
            if k == "revenue" or any(abs(v) > 0 for p in shown for kk, v in comps[p] if kk == k)]
    labels = [*(info(k).label if k != "other" else "Other" for k in keep), "Profit"]
    rows, cols = _grid(len(shown), 3)
    fig = new_figure(min(12.0, 1.8 + 3.6 * cols), 1.2 + rows * (0.3 * len(labels) + 1.2))
    _title(fig, "Profit bridge: from revenue to profit, per policy",
           "Mean over replications (currency units); grey bars are costs taken away from revenue")
    axs = _axes(fig, len(shown), 3, sharey=True)
    lo_all = min([0.0, *(sum(v for _, v in comps[p][: i + 1]) for p in shown for i in range(len(comps[p])))])
    hi_all = max([1.0, *(abs(v) for p in shown for k, v in comps[p] if k == "revenue")])
    for ax, p in zip(axs, shown, strict=True):
        vals = dict(comps[p])
        running = 0.0
        for i, k in enumerate(keep):
            v = vals.get(k, 0.0)
            left = running if v >= 0 else running + v
            ax.barh([i], [abs(v)], left=[left], color=colors[p] if k == "revenue" else "#9A9A9A",
                    edgecolor="white", gid=f"waterfall:{p}:{k}")
            _bar_value(ax, i, max(left + abs(v), left), v, gid=f"waterfall_label:{p}:{k}")
            running += v
        ax.barh([len(keep)], [running], left=[0], color=colors[p], hatch="//" if running < 0 else None,
                edgecolor="white", gid=f"waterfall:{p}:profit")
        _bar_value(ax, len(keep), max(running, 0.0), running, gid=f"waterfall_label:{p}:profit", bold=True)
        # Room on the right for the values written after the bars.
        ax.set_xlim(min(lo_all * 1.05, 0.0), hi_all * 1.3)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(np.arange(len(labels)))
        ax.set_yticklabels(labels)
        ax.set_ylim(len(labels) - 0.4, -0.6)
        ax.set_title(policy_label(colors, p), color=colors[p], fontsize=11, fontweight="bold")
        ax.set_xlabel("currency units")
        ax.grid(axis="x", alpha=0.3)
        money_axis(ax, "x")
    return fig


def _bar_value(ax: Axes, y: float, x_end: float, value: float, gid: str, bold: bool = False) -> None:
    """The amount of a horizontal bar, written just after its right end (costs with a minus sign)."""
    ax.annotate(_money_formatter(value) if value else "0", xy=(x_end, y), xytext=(3, 0),
                textcoords="offset points", va="center", ha="left", fontsize=8,
                fontweight="bold" if bold else "normal", color="#222222", gid=gid)


# ------------------------------------------------------------------------------------------ forecasts


def forecast_accuracy(colors: Colors, policies: Sequence[str], forecast: pd.DataFrame | None = None,
                      summary: pd.DataFrame | None = None, case: str | None = None) -> Figure:
    """Forecast accuracy of the consensus forecast: MAPE (%) and bias (%) by lag.

    With ``forecast`` (``policy, case, cycle, lag, mape, bias``; bias as a fraction, MAPE in %) the values
    are drawn over the S&OP cycles, one line per policy and lag. Otherwise the ``forecast_mape_lagL`` and
    ``forecast_bias_lagL`` KPIs of ``summary`` are drawn as bars by lag with 95% CIs.
    """
    fig = new_figure(11.0, 4.6)
    ax_m, ax_b = fig.subplots(1, 2)
    ls_cycle = ("-", "--", ":", "-.")
    if forecast is not None:
        df = _case_rows(forecast, case)
        lags = sorted(int(x) for x in df["lag"].unique())
        shown = [p for p in policies if (df["policy"] == p).any()]
        _title(fig, "Forecast accuracy over the S&OP cycles, by lag",
               "Consensus forecast against booked orders, mean over replications; line style = lag")
        xcol = "cutoff_day" if "cutoff_day" in df.columns else "cycle"
        for p in shown:
            for j, lag in enumerate(lags):
                d = df[(df["policy"] == p) & (df["lag"] == lag)].sort_values(xcol)
                x = d[xcol].to_numpy(dtype=float)
                ls = ls_cycle[j % len(ls_cycle)]
                ax_m.plot(x, d["mape"].to_numpy(dtype=float), color=colors[p], ls=ls, marker="o", ms=2.5,
                          gid=f"mape:{p}:{lag}")
                ax_b.plot(x, 100 * d["bias"].to_numpy(dtype=float), color=colors[p], ls=ls, marker="o", ms=2.5,
                          gid=f"bias:{p}:{lag}")
        xlabel = "Day of the cut-off" if xcol == "cutoff_day" else "S&OP cycle"
        for ax in (ax_m, ax_b):
            ax.set_xlabel(xlabel)
        extra = [Line2D([], [], color="black", ls=ls_cycle[j % 4], label=f"lag {lag}") for j, lag in enumerate(lags)]
    else:
        assert summary is not None
        s = _case_rows(summary, case)
        lags = sorted({int(k.rsplit("lag", 1)[1]) for k in s["kpi"].astype(str)
                       if k.startswith("forecast_mape_lag")})
        shown = [p for p in policies if (s["policy"] == p).any()]
        _title(fig, "Forecast accuracy and bias, by lag",
               "Consensus forecast against booked orders; bars: mean over replications, whiskers: 95% CI")
        width = 0.8 / max(len(shown), 1)
        for ax, kind, f in ((ax_m, "forecast_mape", 1.0), (ax_b, "forecast_bias", 100.0)):
            for j, p in enumerate(shown):
                for i, lag in enumerate(lags):
                    row = _summary_row(s, p, f"{kind}_lag{lag}")
                    if row is None or math.isnan(float(row["mean"])):
                        continue
                    xb = i - 0.4 + width * (j + 0.5)
                    mu, lo, hi = (float(row[c]) * f for c in ("mean", "ci_low", "ci_high"))
                    ax.bar([xb], [mu], width=width * 0.92, color=colors[p], gid=f"{kind}:{p}:{lag}")
                    if not math.isnan(lo):
                        ax.errorbar([xb], [mu], yerr=[[mu - lo], [hi - mu]], fmt="none", ecolor="black", capsize=3)
            ax.set_xticks(np.arange(len(lags)))
            ax.set_xticklabels([f"lag {lag}" for lag in lags])
            ax.set_xlabel("Forecast lag (buckets between cut-off and forecast bucket)")
        extra = []
    ax_m.set_title("MAPE: mean absolute % error (lower is better)", fontsize=10)
    ax_m.set_ylabel("MAPE (%)")
    ax_b.set_title("Bias: (forecast − actual) ÷ actual; above 0: over-forecast", fontsize=10)
    ax_b.set_ylabel("bias (% of actual)")
    ax_b.axhline(0, color=NEUTRAL, lw=1)
    for ax in (ax_m, ax_b):
        ax.grid(alpha=0.3)
    _policy_legend(fig, colors, shown, extra)
    return fig


# ------------------------------------------------------------------------------------------ cases


def case_comparison(summary: pd.DataFrame, colors: Colors, policies: Sequence[str], cases: Sequence[str],
                    kpis: Sequence[str] = ("profit", "otif")) -> Figure:
    """Key KPIs per stress case (rows) and policy (dots with 95% CIs, side by side)."""
    kpis = [k for k in kpis if (summary["kpi"] == k).any()]
    shown = [p for p in policies if (summary["policy"] == p).any()]
    fig = new_figure(max(5.5 * max(len(kpis), 1), 8.0), 2.4 + 0.6 * len(cases) * max(1.0, len(shown) / 3))
    _title(fig, "How each stress case hits each policy", "Dot: mean over replications; bar: 95% confidence interval")
    off = np.linspace(-0.3, 0.3, len(shown)) if len(shown) > 1 else np.zeros(1)
    for ax, kpi in zip(_axes(fig, len(kpis), 2), kpis, strict=True):
        f = scale(kpi)
        for j, p in enumerate(shown):
            for i, c in enumerate(cases):
                sel = summary[(summary["policy"] == p) & (summary["kpi"] == kpi) & (summary["case"] == c)]
                if sel.empty:
                    continue
                r = sel.iloc[0]
                m, lo, hi = (float(r[k]) * f for k in ("mean", "ci_low", "ci_high"))
                err = [[m - lo], [hi - m]] if not math.isnan(lo) else None
                eb = ax.errorbar([m], [i + off[j]], xerr=err, fmt="o", color=colors[p], capsize=2, ms=5)
                eb.lines[0].set_gid(f"case:{kpi}:{c}:{p}")
        ax.set_yticks(np.arange(len(cases)))
        ax.set_yticklabels([c or "(base)" for c in cases])
        ax.set_ylim(len(cases) - 0.5, -0.5)
        ax.set_xlabel(axis_label(kpi))
        ax.set_title(_panel_title(info(kpi).label, kpi, fig.get_figwidth() / _grid(len(kpis), 2)[1]), fontsize=10)
        if info(kpi).kind == "money":
            money_axis(ax, "x")
        ax.grid(axis="x", alpha=0.3)
    _policy_legend(fig, colors, shown)
    return fig
