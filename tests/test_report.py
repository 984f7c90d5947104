"""The report: every chart shows the numbers it claims, the HTML is self-contained, missing data degrades.

The results directories here are synthetic (made below, with known means, quantiles and P&L), so the
tests do not depend on the experiment runner; one test runs a real replication for ``report.extract``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from simsop.report import charts
from simsop.report.build import build, write_report
from simsop.report.colors import OKABE_ITO, policy_colors
from simsop.report.data import load_results
from simsop.report.summary import findings, headline

POLICIES = ("level", "chase", "hybrid")
STAGES = ("DC-Central", "DC-East")
SERIES_NAMES = ("on_hand", "backlog", "demand", "orders_DC-Central", "orders_DC-East", "production",
                "planned_production", "capacity_load")
COSTS = ("cogs", "holding_cost", "backorder_cost", "lost_sale_cost", "transport_cost", "overtime_cost", "fixed_cost",
         "plan_change_cost", "subcontract_cost", "labor_cost")
# Per policy: revenue lift, holding cost, average inventory, fill rate, OTIF. chase earns the most and holds
# the least; hybrid serves best; level (the baseline) is dominated by hybrid on fill rate against inventory.
EFFECTS = {
    "level": dict(rev=0.0, hold=60_000.0, inv=1300.0, fill=0.960, otif=0.90),
    "chase": dict(rev=10_000.0, hold=30_000.0, inv=800.0, fill=0.950, otif=0.88),
    "hybrid": dict(rev=5_000.0, hold=50_000.0, inv=1200.0, fill=0.980, otif=0.93),
}


def _series_quantiles(level: float, amp: float, spread: float, days: np.ndarray) -> dict[str, np.ndarray]:
    base = level + amp * np.sin(2 * np.pi * days / 60.0)
    q = {"p5": base - 2 * spread, "p25": base - 0.7 * spread, "p50": base, "p75": base + 0.7 * spread,
         "p95": base + 2 * spread, "mean": base + 0.1 * spread}
    return {k: np.maximum(v, 0.0) for k, v in q.items()}


def make_results_dir(path: Path, replications: int = 20, days: int = 120, cases: tuple[str, ...] = ("base",),
                     seed: int = 0, policies: tuple[str, ...] = POLICIES) -> Path:
    """A results directory like the experiment runner writes, with known numbers."""
    from simsop.report.extract import average_replications
    from simsop.stats import paired_table, summarize_frame

    rng = np.random.default_rng(seed)
    path.mkdir(parents=True, exist_ok=True)
    rows = []
    for ci, case in enumerate(cases):
        hit = 1.0 - 0.1 * ci  # later cases are harder
        for r in range(replications):
            z = rng.normal(size=6)  # common random numbers: the same draws for every policy
            for p in policies:
                e = EFFECTS[p]
                revenue = (1_000_000 + 50_000 * z[0] + e["rev"]) * hit + 2_000 * rng.normal()
                cost = {"cogs": 0.6 * revenue, "holding_cost": e["hold"] + 1_000 * z[1],
                        "backorder_cost": 8_000 + 500 * z[2], "lost_sale_cost": 3_000.0,
                        "transport_cost": 20_000.0, "overtime_cost": 5_000 + 300 * z[3], "fixed_cost": 100_000.0,
                        "plan_change_cost": 1_000.0, "subcontract_cost": 0.0, "labor_cost": 0.0}
                total = sum(cost.values())
                rows.append({
                    "policy": p, "case": case, "replication": r, "seed": 7, "revenue": revenue, **cost,
                    "total_cost": total, "profit": revenue - total, "gross_margin": revenue - cost["cogs"],
                    "otif": min(1.0, e["otif"] * hit + 0.01 * z[4]), "fill_rate": min(1.0, e["fill"] + 0.005 * z[4]),
                    "avg_on_hand": e["inv"] + 40 * z[5], "avg_backlog": 50 + 10 * abs(z[2]),
                    "avg_inventory_value": 6.0 * (e["inv"] + 40 * z[5]), "utilization": 0.85 + 0.02 * z[3],
                    "cycle_service_level": 0.9, "lost_sales_units": 10 + abs(z[1]),
                    "days_of_supply": 12 + z[5], "inventory_turns": 20 + z[5],
                    "forecast_mape_lag1": 12 + z[1], "forecast_bias_lag1": 0.02 + 0.01 * z[2],
                    "forecast_mape_lag3": 18 + z[1], "forecast_bias_lag3": 0.03 + 0.01 * z[2],
                    "plan_nervousness": 0.1 + 0.01 * z[3],
                    **{f"bullwhip_{s}": (1.5 + j + 0.2 * POLICIES.index(p)) + 0.1 * z[j] for j, s in enumerate(STAGES)},
                })
    kpis = pd.DataFrame(rows)
    kpi_cols = [c for c in kpis.columns if c not in ("policy", "case", "replication", "seed")]
    kpis.to_csv(path / "kpis.csv", index=False)
    summarize_frame(kpis, ["policy", "case"], kpi_cols).to_csv(path / "summary.csv", index=False)
    paired_table(kpis, "policy", policies[0], kpi_cols, by=["case"]).to_csv(path / "paired.csv", index=False)

    d = np.arange(days, dtype=float)
    levels = {"on_hand": (1000, 200, 50), "backlog": (40, 30, 15), "demand": (100, 20, 10),
              "orders_DC-Central": (100, 35, 20), "orders_DC-East": (60, 15, 8), "production": (95, 10, 6),
              "planned_production": (97, 8, 2), "capacity_load": (0.85, 0.1, 0.05)}
    srows = []
    for case in cases:
        for k, p in enumerate(policies):
            for name in SERIES_NAMES:
                lvl, amp, spread = levels[name]
                q = _series_quantiles(lvl * (1 + 0.1 * k), amp, spread, d)
                srows.append(pd.DataFrame({"policy": p, "case": case, "series": name, "day": d.astype(int), **q}))
    pd.concat(srows).to_csv(path / "series.csv", index=False)

    plan_frames, fc_frames = [], []
    for case in cases:
        for k, p in enumerate(policies):
            for r in range(3):
                b = np.arange(days // 30)
                for fam in ("F1", "F2"):
                    plan_frames.append(pd.DataFrame({
                        "policy": p, "case": case, "replication": r, "family": fam, "bucket": b,
                        "bucket_start": 30 * b, "bucket_days": 30, "demand_plan": 3000.0 + 100 * b + r,
                        "production_plan": 3100.0 + 50 * k, "actual_sales": 2900.0 + 120 * b + r,
                        "shipped": 2850.0 + 120 * b, "actual_production": 3050.0 + 50 * k - r}))
                for lag in (0, 1, 3):
                    c = np.arange(days // 30)
                    fc_frames.append(pd.DataFrame({
                        "policy": p, "case": case, "replication": r, "cycle": c, "lag": lag, "cutoff_day": 30 * c,
                        "bucket_start": 30 * (c + lag), "n": 12, "mape": 10.0 + lag + c + r + k,
                        "wmape": 9.0 + lag, "bias": 0.01 * (lag + 1) * (r - 1) + 0.02 * k}))
    from simsop.report.extract import FORECAST_KEYS, PLAN_KEYS

    average_replications(plan_frames, PLAN_KEYS).to_csv(path / "plan.csv", index=False)
    average_replications(fc_frames, FORECAST_KEYS).to_csv(path / "forecast.csv", index=False)
    manifest = {"scenario": "synthetic", "scenario_sha256": "ab" * 32, "seed": 7, "replications": replications,
                "warmup": 10, "suggested_warmup": 15, "horizon": days, "policies": list(policies),
                "baseline": policies[0], "command": ["simsop", "compare", "synthetic.yaml"],
                "versions": {"simsop": "0.1.0"}}
    if len(cases) > 1:
        manifest["cases"] = [{"name": c, "shocks": [] if i == 0 else
                              [{"name": f"shock{i}", "type": "capacity_loss", "start": 30 + 10 * i, "duration": 20}]}
                             for i, c in enumerate(cases)]
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_results_dir(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def small_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_results_dir(tmp_path_factory.mktemp("small"), replications=4, days=60)


@pytest.fixture(scope="module")
def data(results: Path):
    return load_results(results)


@pytest.fixture(scope="module")
def colors(data):
    return policy_colors(data.policies)


def _gid(fig, gid: str):
    """The one artist of a figure with this gid."""
    found = [a for ax in fig.axes for a in ax.findobj() if a.get_gid() == gid]
    assert len(found) == 1, f"{gid}: {len(found)} artists"
    return found[0]


def _ci_segment(fig, gid: str) -> tuple[float, float]:
    """(low, high) of an errorbar's bar (a LineCollection with one segment)."""
    seg = _gid(fig, gid).get_segments()[0]
    return float(seg[:, 0].min() if seg[0, 1] == seg[1, 1] else seg[:, 1].min()), \
        float(seg[:, 0].max() if seg[0, 1] == seg[1, 1] else seg[:, 1].max())


# ---------------------------------------------------------------------------------------------- colours


def test_colours_follow_the_policy_name_and_are_stable(data) -> None:
    c = policy_colors(data.policies)
    assert data.policies == list(POLICIES)
    assert len(set(c.values())) == len(POLICIES) and set(c.values()) <= set(OKABE_ITO)
    assert policy_colors(["chase", "level"])["chase"] == c["chase"]  # the name decides, not the place in the list
    assert policy_colors([*POLICIES, "x"])["hybrid"] == c["hybrid"]


# ---------------------------------------------------------------------------------------------- charts


def test_distributions_show_means_cis_and_percentiles(data, colors) -> None:
    fig = charts.kpi_distributions(data.summary, ["profit", "fill_rate"], colors, data.policies, data.kpis, "base")
    kp = data.kpis
    s = data.summary.set_index(["policy", "kpi"])
    for p in POLICIES:
        for kpi, f in (("profit", 1.0), ("fill_rate", 100.0)):
            y = _gid(fig, f"mean:{kpi}:{p}").get_ydata()
            assert y[0] == pytest.approx(s.loc[(p, kpi), "mean"] * f)
            lo, hi = _ci_segment(fig, f"ci:{kpi}:{p}")
            assert (lo, hi) == pytest.approx((s.loc[(p, kpi), "ci_low"] * f, s.loc[(p, kpi), "ci_high"] * f))
            v = kp.loc[kp["policy"] == p, kpi].to_numpy() * f
            q1, q3 = np.percentile(v, [25, 75])
            assert _gid(fig, f"whisker:{kpi}:{p}:low").get_ydata()[1] == pytest.approx(np.percentile(v, 5))
            assert _gid(fig, f"whisker:{kpi}:{p}:high").get_ydata()[1] == pytest.approx(np.percentile(v, 95))
            assert _gid(fig, f"whisker:{kpi}:{p}:low").get_ydata()[0] == pytest.approx(q1)
            assert _gid(fig, f"whisker:{kpi}:{p}:high").get_ydata()[0] == pytest.approx(q3)
            box = _gid(fig, f"box:{kpi}:{p}")
            assert box.get_facecolor()[:3] == pytest.approx(_rgb(colors[p]))


def _rgb(hex_color: str) -> tuple[float, ...]:
    from matplotlib.colors import to_rgb

    return to_rgb(hex_color)


def test_forest_points_and_whiskers_are_the_paired_differences(data, colors) -> None:
    fig = charts.forest_plot(data.paired, ["profit", "otif"], colors, data.policies, "level", "base")
    pr = data.paired.set_index(["policy", "kpi"])
    for p in ("chase", "hybrid"):
        for kpi, f in (("profit", 1.0), ("otif", 100.0)):
            x, _ = _gid(fig, f"diff:{kpi}:{p}").get_data()
            assert x[0] == pytest.approx(pr.loc[(p, kpi), "mean_diff"] * f)
            seg = _gid(fig, f"diffci:{kpi}:{p}").get_segments()[0]
            assert sorted(seg[:, 0]) == pytest.approx([pr.loc[(p, kpi), "ci_low"] * f, pr.loc[(p, kpi), "ci_high"] * f])
    # The baseline is not compared with itself.
    assert not [a for ax in fig.axes for a in ax.findobj() if a.get_gid() == "diff:profit:level"]


def test_frontier_is_exactly_the_non_dominated_policies(data, colors) -> None:
    pts = pd.DataFrame({"x": [1.0, 2.0, 3.0, 2.5, 1.0], "y": [0.5, 0.9, 0.95, 0.8, 0.4]},
                       index=["a", "b", "c", "d", "e"])
    assert charts.efficient_frontier(pts) == ["a", "b", "c"]  # d is beaten by b, e by a
    fig = charts.tradeoff(data.summary, colors, data.policies, pairs=[("avg_on_hand", "fill_rate")], case="base")
    s = data.summary.set_index(["policy", "kpi"])
    xs, ys = _gid(fig, "frontier:avg_on_hand:fill_rate").get_data()
    # level (more inventory and less fill rate than hybrid) is dominated; chase and hybrid are efficient.
    want = [(s.loc[(p, "avg_on_hand"), "mean"], 100 * s.loc[(p, "fill_rate"), "mean"]) for p in ("chase", "hybrid")]
    np.testing.assert_allclose(np.column_stack([xs, ys]), np.array(want, dtype=float))
    for p in POLICIES:
        x, y = _gid(fig, f"point:avg_on_hand:fill_rate:{p}").get_data()
        assert (x[0], y[0]) == pytest.approx((s.loc[(p, "avg_on_hand"), "mean"], 100 * s.loc[(p, "fill_rate"), "mean"]))


def _xspan(patch) -> tuple[float, float]:
    """(start, end) on the x axis of an axvspan (a Rectangle, or a Polygon before matplotlib 3.9)."""
    if hasattr(patch, "get_width"):
        return patch.get_x(), patch.get_x() + patch.get_width()
    xy = np.asarray(patch.get_xy())
    return float(xy[:, 0].min()), float(xy[:, 0].max())


def _band_limits(coll, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = coll.get_paths()[0].vertices
    lo = np.array([v[v[:, 0] == d, 1].min() for d in days])
    hi = np.array([v[v[:, 0] == d, 1].max() for d in days])
    return lo, hi


def test_time_series_bands_are_the_quantiles_of_series_csv(results, data, colors) -> None:
    series = pd.read_csv(results / "series.csv")
    fig = charts.time_series(data.series, colors, data.policies, "base", [charts.Window(30, 50, "x")], warmup=10)
    for p in POLICIES:
        # Levels that move smoothly: daily quantile bands and the median.
        for name, f in (("on_hand", 1.0), ("backlog", 1.0)):
            d = series[(series["policy"] == p) & (series["series"] == name)].sort_values("day")
            days = d["day"].to_numpy(dtype=float)
            for lo_q, hi_q in (("p5", "p95"), ("p25", "p75")):
                lo, hi = _band_limits(_gid(fig, f"band:{name}:{p}:{lo_q}-{hi_q}"), days)
                np.testing.assert_allclose(lo, d[lo_q] * f)
                np.testing.assert_allclose(hi, d[hi_q] * f)
            np.testing.assert_allclose(_gid(fig, f"median:{name}:{p}").get_ydata(), d["p50"] * f)
            assert _gid(fig, f"median:{name}:{p}").get_color() == colors[p]
        # Flows (lumpy orders, batch production, its plan, capacity load): the trailing 7-day average of the
        # daily mean over replications (the day and the six before it: no change shows before it happens).
        for name, f in (("orders_DC-Central", 1.0), ("orders_DC-East", 1.0), ("production", 1.0),
                        ("planned_production", 1.0), ("capacity_load", 100.0)):
            d = series[(series["policy"] == p) & (series["series"] == name)].sort_values("day")
            m = d["mean"].to_numpy()
            want = [m[max(0, i - 6): i + 1].mean() * f for i in range(len(m))]
            line = _gid(fig, f"mean7:{name}:{p}")
            np.testing.assert_allclose(line.get_ydata(), want)
            np.testing.assert_allclose(line.get_xdata(), d["day"])
            assert line.get_color() == colors[p]
    d = series[(series["policy"] == "level") & (series["series"] == "demand")].sort_values("day")
    m = d["mean"].to_numpy()
    np.testing.assert_allclose(_gid(fig, "mean7:demand").get_ydata(), [m[max(0, i - 6): i + 1].mean()
                                                                       for i in range(len(m))])
    # The shock and the warm-up are shaded on every panel.
    assert sum(1 for ax in fig.axes for a in ax.patches if a.get_gid() == "shock:x") == 5
    assert sum(1 for ax in fig.axes for a in ax.patches if a.get_gid() == "warmup") == 5
    # Shocks are numbered on the top panel and named in the legend.
    assert _gid(fig, "shocklabel:x").get_text() == "1"
    assert "shock 1: x (days 30–50)" in [t.get_text() for t in fig.legends[0].get_texts()]
    # Where policies coincide, the first one's line is the widest, so every colour stays visible.
    widths = [_gid(fig, f"median:on_hand:{p}").get_linewidth() for p in POLICIES]
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]


def test_waterfall_bars_add_up_to_profit(data, colors) -> None:
    fig = charts.profit_waterfall(data.summary, colors, data.policies, "base")
    s = data.summary.set_index(["policy", "kpi"])
    for p in POLICIES:
        bars = {a.get_gid().split(":")[2]: a for ax in fig.axes for a in ax.patches
                if str(a.get_gid()).startswith(f"waterfall:{p}:")}
        assert bars["revenue"].get_width() == pytest.approx(s.loc[(p, "revenue"), "mean"])
        costs = sum(b.get_width() for k, b in bars.items() if k not in ("revenue", "profit"))
        assert bars["revenue"].get_width() - costs == pytest.approx(bars["profit"].get_width())
        assert bars["profit"].get_width() == pytest.approx(s.loc[(p, "profit"), "mean"])
        assert "subcontract_cost" not in bars  # zero for every policy: left out
        assert "other" not in bars  # the components add up exactly
        # Each cost bar steps down from where the previous one ended.
        order = [k for k in ("revenue", *COSTS) if k in bars]
        for a, b in itertools.pairwise(order):
            assert bars[b].get_x() + bars[b].get_width() == pytest.approx(bars[a].get_x() if a != "revenue"
                                                                          else bars[a].get_width())


def test_bullwhip_bars_are_the_summary_means(data, colors) -> None:
    fig = charts.bullwhip(data.summary, colors, data.policies, "base")
    s = data.summary.set_index(["policy", "kpi"])
    for p in POLICIES:
        for st in STAGES:
            bar = _gid(fig, f"bar:{st}:{p}")
            assert bar.get_height() == pytest.approx(s.loc[(p, f"bullwhip_{st}"), "mean"])
            assert bar.get_facecolor()[:3] == pytest.approx(_rgb(colors[p]))


def test_plan_chart_draws_plan_csv_per_day(results, data, colors) -> None:
    plan = pd.read_csv(results / "plan.csv")
    fig = charts.plan_vs_actual(data.plan, colors, data.policies, "base")
    for p in POLICIES:
        for fam in ("F1", "F2"):
            d = plan[(plan["policy"] == p) & (plan["family"] == fam)].sort_values("bucket_start")
            for m in ("demand_plan", "production_plan", "actual_sales", "actual_production"):
                x, y = _gid(fig, f"plan:{m}:{fam}:{p}").get_data()
                np.testing.assert_allclose(y, d[m] / d["bucket_days"])
                np.testing.assert_allclose(x, d["bucket_start"] + d["bucket_days"] / 2)
    # Means over the 3 synthetic replications: demand_plan = 3000 + 100 b + mean(r) = 3001 + 100 b.
    d = plan[(plan["policy"] == "chase") & (plan["family"] == "F1")].sort_values("bucket")
    np.testing.assert_allclose(d["demand_plan"], 3001 + 100 * d["bucket"])


def test_forecast_chart_draws_forecast_csv(results, data, colors) -> None:
    fc = pd.read_csv(results / "forecast.csv")
    fig = charts.forecast_accuracy(colors, data.policies, forecast=data.forecast[data.forecast["lag"].isin([1, 3])],
                                   case="base")
    for p in POLICIES:
        for lag in (1, 3):
            d = fc[(fc["policy"] == p) & (fc["lag"] == lag)].sort_values("cutoff_day")
            np.testing.assert_allclose(_gid(fig, f"mape:{p}:{lag}").get_ydata(), d["mape"])
            np.testing.assert_allclose(_gid(fig, f"bias:{p}:{lag}").get_ydata(), 100 * d["bias"])
    # Without forecast.csv: bars of the forecast KPIs by lag.
    fig = charts.forecast_accuracy(colors, data.policies, summary=data.summary, case="base")
    s = data.summary.set_index(["policy", "kpi"])
    assert _gid(fig, "forecast_mape:chase:1").get_height() == pytest.approx(
        s.loc[("chase", "forecast_mape_lag1"), "mean"])
    assert _gid(fig, "forecast_bias:chase:3").get_height() == pytest.approx(
        100 * s.loc[("chase", "forecast_bias_lag3"), "mean"])


# ---------------------------------------------------------------------------------------------- summary


def test_summary_names_the_winner_with_its_confidence_interval(data) -> None:
    found = findings(data.summary, data.paired, data.policies, data.baseline, "base")
    by = {f.kpi: f for f in found}
    s = data.summary.set_index(["policy", "kpi"])
    assert by["profit"].best == "chase"
    assert by["profit"].significant is True
    assert by["fill_rate"].best == "hybrid" and by["otif"].best == "hybrid"
    assert by["avg_on_hand"].best == "chase"
    text = headline(found, 3)
    lo, hi = s.loc[("chase", "profit"), "ci_low"], s.loc[("chase", "profit"), "ci_high"]
    assert text.startswith("Winner: chase")
    assert f"95% CI {lo:,.0f} to {hi:,.0f}" in text
    pr = data.paired.set_index(["policy", "kpi"]).loc[("chase", "profit")]
    assert f"{pr['ci_low']:+,.0f} to {pr['ci_high']:+,.0f}" in text
    assert "hybrid is best on OTIF" in text
    # The winner is also compared with the runner-up (hybrid, not the baseline), paired by replication.
    from simsop.stats import paired_difference

    kp = data.kpis[data.kpis["case"] == "base"]
    want = paired_difference(kp.loc[kp["policy"] == "chase", "profit"].to_numpy(),
                             kp.loc[kp["policy"] == "hybrid", "profit"].to_numpy())
    assert by["profit"].runner_up is None  # without kpis.csv only the baseline comparison exists
    ru = findings(data.summary, data.paired, data.policies, data.baseline, "base", runs=data.kpis)[0]
    assert ru.runner_up == "hybrid" and ru.ru_significant is want.significant
    assert (ru.ru_diff, ru.ru_low, ru.ru_high) == pytest.approx((want.mean_diff, want.ci_low, want.ci_high))
    assert f"{want.ci_low:+,.0f} to {want.ci_high:+,.0f}; significant) against the runner-up hybrid" in headline(
        [ru], 3)
    # When the baseline is best, it is compared with the runner-up (sign turned).
    hold = findings(data.summary, data.paired, data.policies, data.baseline, "base", kpis=["holding_cost"])[0]
    assert hold.best == "chase"


def test_baseline_best_is_compared_with_runner_up(data) -> None:
    # Swap roles: make the baseline win on a KPI by reading 'lost_sales_units' with level lowest.
    summary = data.summary.copy()
    paired = data.paired.copy()
    sel = summary["kpi"] == "avg_backlog"
    summary.loc[sel & (summary["policy"] == "level"), "mean"] = 1.0
    f = findings(summary, paired, data.policies, "level", "base", kpis=["avg_backlog"])[0]
    assert f.best == "level" and f.other in ("chase", "hybrid")
    pr = paired[(paired["policy"] == f.other) & (paired["kpi"] == "avg_backlog")].iloc[0]
    assert f.diff == pytest.approx(-pr["mean_diff"]) and f.diff_low == pytest.approx(-pr["ci_high"])
    assert "the runner-up" in f.sentence


# ---------------------------------------------------------------------------------------------- HTML


def test_html_is_self_contained_with_one_image_per_chart(results: Path, data) -> None:
    path = write_report(results)
    assert path == results / "report.html"
    text = path.read_text(encoding="utf-8")
    imgs = re.findall(r"<img [^>]*src=\"([^\"]+)\"", text)
    pngs = sorted((results / "figures").glob("*.png"))
    assert len(imgs) == len(pngs) == 12
    assert all(src.startswith("data:image/png;base64,") for src in imgs)
    assert not re.search(r"(?:src|href)=\"(?!data:|#)", text)  # nothing loaded from anywhere
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert "max-width: 100%" in text
    for key in ("forest", "tradeoff", "forecast", "demand_plan", "service", "inventory", "series", "bullwhip",
                "waterfall", "finance_kpis", "plan_vs_actual"):
        assert f'id="fig-{key}"' in text, key
    assert "<strong>Winner: chase</strong>, with the best profit" in text
    for section in ("Executive summary", "Sales", "Operations", "Finance", "Scenario and method"):
        assert section in text
    # The PNG files for slides are the embedded images.
    import base64

    assert base64.b64decode(imgs[0].split(",", 1)[1]) in {p.read_bytes() for p in pngs}


def test_stress_report_has_cases_and_shaded_shocks(tmp_path: Path) -> None:
    res = make_results_dir(tmp_path / "stress", replications=8, cases=("base", "plant-fire", "strike"))
    data = load_results(res)
    assert data.cases == ["base", "plant-fire", "strike"] and data.primary_case == "base"
    b = build(data, keep_figures=True)
    keys = [c.key for c in b.charts]
    assert {"cases", "series", "series_plant-fire", "series_strike"} <= set(keys)
    fig = b.figures["series_plant-fire"]
    spans = [a for ax in fig.axes for a in ax.patches if a.get_gid() == "shock:shock1"]
    assert len(spans) == 5 and _xspan(spans[0]) == pytest.approx((40, 60))  # start 30 + 10, duration 20
    text = write_report(res).read_text(encoding="utf-8")
    # The headline gave the winners of base and strike: the other case's is in the paragraph.
    assert "Most profitable policy in each other case: plant-fire: chase" in text
    # No paired_cases.csv here: the effect of each case is derived from kpis.csv, paired by replication.
    from simsop.stats import paired_difference

    kp = data.kpis
    eff = data.case_effects.set_index(["policy", "case", "kpi"])
    want = paired_difference(kp.loc[(kp["policy"] == "level") & (kp["case"] == "strike"), "profit"].to_numpy(),
                             kp.loc[(kp["policy"] == "level") & (kp["case"] == "base"), "profit"].to_numpy())
    assert eff.loc[("level", "strike", "profit"), "mean_diff"] == pytest.approx(want.mean_diff)
    # The headline names the hardest case (strike: revenue x 0.8), the policy that does best in it (chase)
    # and the profit it loses there, with the CI.
    kp = kp[kp["policy"] == "chase"]
    want = paired_difference(kp.loc[kp["case"] == "strike", "profit"].to_numpy(),
                             kp.loc[kp["case"] == "base", "profit"].to_numpy())
    head = re.search(r'<p class="headline">(.*?)</p>', text).group(1)
    assert "Under the hardest stress case strike, chase does best on profit" in head
    assert f"{want.mean_diff:+,.0f} (95% CI {want.ci_low:+,.0f} to {want.ci_high:+,.0f}; significant) against the " \
           "case base" in head
    assert "What each stress case does" in text and "plant-fire, chase: profit" in text
    # Every policy's line gives the same KPIs, the headline's case and policy too, so the lines compare.
    assert "strike, chase: profit" in text and "strike, level: profit" in text


def test_disruption_table_shows_shock_kpis_per_case() -> None:
    from simsop.report.summary import case_table

    rows = []
    for case, worst in (("base", np.nan), ("fire", 0.71), ("strike", 0.82)):
        for p, shift in (("level", 0.0), ("chase", 0.05)):
            rows.append({"policy": p, "case": case, "kpi": "shock_worst_otif", "n": 8, "mean": worst + shift,
                         "ci_low": worst + shift - 0.02, "ci_high": worst + shift + 0.02})
            rows.append({"policy": p, "case": case, "kpi": "shock_recovery_days", "n": 8,
                         "mean": np.nan if case == "base" else 30.0, "ci_low": np.nan, "ci_high": np.nan})
    table, cols = case_table(pd.DataFrame(rows), ["level", "chase"], ["base", "fire", "strike"])
    assert cols == [("fire", "level"), ("fire", "chase"), ("strike", "level"), ("strike", "chase")]  # no base
    by = table.set_index("KPI")
    assert by.loc["Worst OTIF (7-day rolling)", "fire · chase"] == ("76.0%", "74.0% – 78.0%")
    assert by.loc["Recovery time (days)", "strike · level"] == ("30.0", "")


class _Elements(HTMLParser):
    """An HTML parser that keeps the open elements, (tag, class), outermost first, in ``stack``; a subclass
    looks at each start tag in ``opened`` before it joins the stack."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str]] = []

    def opened(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # pragma: no cover - overridden
        pass

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.opened(tag, attrs)
        if tag not in ("img", "meta", "br", "hr", "link", "input"):
            self.stack.append((tag, dict(attrs).get("class") or ""))

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop()[0] != tag:
            pass


class _Page(_Elements):
    """The images, tables (with their parent's class) and outside references of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[dict[str, str | None]] = []
        self.tables: list[str] = []
        self.refs: list[str] = []

    def opened(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.imgs.append(dict(attrs))
        if tag == "table":
            self.tables.append(self.stack[-1][1] if self.stack else "")
        self.refs += [v for k, v in attrs if k in ("src", "href", "srcset", "poster", "data") and v]


def test_every_image_is_an_embedded_png_and_every_table_scrolls_in_its_box(tmp_path: Path) -> None:
    import base64
    import io

    from PIL import Image

    res = make_results_dir(tmp_path / "stress", replications=6, days=90, cases=("base", "plant-fire"))
    text = write_report(res).read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    assert len(page.imgs) >= 12
    for img in page.imgs:
        src = str(img["src"])
        assert src.startswith("data:image/png;base64,"), src[:40]
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        with Image.open(io.BytesIO(png)) as im:
            im.verify()  # a complete, uncorrupted PNG
        with Image.open(io.BytesIO(png)) as im:
            assert im.format == "PNG" and im.size[0] >= 400 and im.size[1] >= 200
        assert img.get("alt"), "every chart has alternative text"
    # Wide tables scroll inside their own box, never the page: each table sits in a .table-wrap.
    assert page.tables and all(parent == "table-wrap" for parent in page.tables), page.tables
    assert re.search(r"\.table-wrap\s*\{[^}]*overflow-x:\s*auto", text)
    assert re.search(r"figure img\s*\{[^}]*max-width:\s*100%", text)
    # Offline: nothing but in-page anchors and embedded data.
    assert all(r.startswith(("data:", "#")) for r in page.refs), [r[:40] for r in page.refs]
    assert not re.search(r"https?://|url\(|@import", text)


class _Figures(_Elements):
    """Per <figure>: the classes of the elements around its <img>, the img's attributes, and whether the
    caption sits inside the scrolling box."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, object]] = []

    def opened(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        inside = [t for t, _ in self.stack]
        if tag == "figure":
            self.found.append({"img": None, "parents": [], "caption_scrolls": False})
        elif tag == "img" and "figure" in inside:
            self.found[-1].update(img=dict(attrs), parents=[c for _, c in self.stack[inside.index("figure") + 1:]])
        elif tag == "figcaption" and self.found:
            self.found[-1]["caption_scrolls"] = any("fig-scroll" in c for _, c in self.stack)


def test_charts_stay_readable_on_a_phone(results: Path) -> None:
    """On a 360 px screen a 1,100 px chart shrunk to fit would have 4 px text. Each chart sits in its own
    sideways-scrolling box and is never shrunk below 3/4 of its size (text about 10 px), while on a desktop it
    still fits the column (max-width 100%); the caption stays outside the box, wrapped to the screen."""
    import base64

    from simsop.report.html import MIN_SCALE, png_size

    text = write_report(results).read_text(encoding="utf-8")
    page = _Figures()
    page.feed(text)
    assert len(page.found) == 12
    for fig in page.found:
        img = fig["img"]
        assert isinstance(img, dict), "every figure holds an image"
        assert fig["parents"] == ["fig-scroll"] and not fig["caption_scrolls"]
        size = png_size(base64.b64decode(str(img["src"]).split(",", 1)[1]))
        assert size is not None
        width, height = size
        assert (img["width"], img["height"]) == (str(width), str(height))  # the layout is known before decoding
        min_w = int(re.fullmatch(r"--min-w: (\d+)px", str(img["style"])).group(1))
        assert min_w >= MIN_SCALE * width and min_w < width
    assert MIN_SCALE >= 0.7  # 10-pt chart text at 100 dpi is 14 px: at least about 10 px on screen
    css = re.search(r"<style>(.*?)</style>", text, re.S).group(1)
    assert re.search(r"\.fig-scroll\s*\{[^}]*overflow-x:\s*auto", css)
    assert re.search(r"figure img\s*\{[^}]*max-width:\s*100%[^}]*min-width:\s*var\(--min-w", css)
    assert re.search(r"@media print\s*\{[^@]*figure img\s*\{\s*min-width:\s*0", css)  # paper: fit the page
    assert 'class="fig-hint"' in text and re.search(r"@media \(max-width: \d+px\)\s*\{\s*\.fig-hint", css)


def test_money_ticks_never_repeat_and_the_bridge_writes_its_amounts(data, colors) -> None:
    fmt = charts.MoneyFormatter()
    assert fmt.format_ticks([3.39e6, 3.395e6, 3.4e6, 3.405e6]) == ["3.390M", "3.395M", "3.400M", "3.405M"]
    assert fmt.format_ticks([0, 2500, 5000]) == ["0", "2.5k", "5.0k"]
    assert fmt.format_ticks([-2e4, 0, 2e4]) == ["\u221220k", "0", "20k"]
    # Costs of a few thousand on 3.4 million (ticks 2.5k apart): the labels as drawn are all different.
    summary = data.summary.copy()
    sel = summary["kpi"] == "total_cost"
    cols = ["mean", "ci_low", "ci_high"]
    summary.loc[sel, cols] = 3.4e6 + (summary.loc[sel, cols] - summary.loc[sel, "mean"].mean()) * 0.2
    fig = charts.tradeoff(summary, colors, data.policies, case="base")
    fig.canvas.draw()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if isinstance(axis.get_major_formatter(), charts.MoneyFormatter):
                labels = [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
                assert len(labels) == len(set(labels)) >= 3, labels
    fig = charts.profit_waterfall(data.summary, colors, data.policies, "base")
    s = data.summary.set_index(["policy", "kpi"])
    label = _gid(fig, "waterfall_label:chase:profit").get_text()
    assert label == charts._money_formatter(s.loc[("chase", "profit"), "mean"])
    assert _gid(fig, "waterfall_label:chase:holding_cost").get_text().startswith("\u2212")


def test_missing_files_degrade_to_sentences(tmp_path: Path) -> None:
    # What the first `simsop run` wrote: kpis.csv without policy/case columns and a manifest; nothing else.
    res = make_results_dir(tmp_path / "full", replications=5, policies=("level",))
    slim = tmp_path / "slim"
    slim.mkdir()
    kp = pd.read_csv(res / "kpis.csv").drop(columns=["policy", "case"]).drop(columns=["bullwhip_DC-East",
                                                                                      "bullwhip_DC-Central"])
    kp.to_csv(slim / "kpis.csv", index=False)
    (slim / "manifest.json").write_text(json.dumps({"scenario": "x", "seed": 1, "replications": 5,
                                                     "policy": "level"}))
    path = write_report(slim)
    text = path.read_text(encoding="utf-8")
    assert "One policy was simulated (level)" in text
    for phrase in ("need series.csv", "needs plan.csv", "needs forecast.csv", "bullwhip_&lt;warehouse&gt;"):
        assert phrase in text, phrase
    assert text.count("<img ") >= 4  # the KPI charts and the waterfall still come
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path / "nothing-here")


def test_summary_only_and_undefined_kpis(tmp_path: Path) -> None:
    # Only summary.csv (no per-replication rows), and forecast KPIs that are undefined (no S&OP cycle).
    res = make_results_dir(tmp_path / "full", replications=4, days=60)
    only = tmp_path / "only"
    only.mkdir()
    s = pd.read_csv(res / "summary.csv")
    s.loc[s["kpi"].str.startswith("forecast_"), ["n", "mean", "ci_low", "ci_high", "p5", "p50", "p95"]] = np.nan
    s.to_csv(only / "summary.csv", index=False)
    (only / "manifest.json").write_text((res / "manifest.json").read_text())
    data = load_results(only)
    assert data.kpis is None and data.paired is None and data.policies == list(POLICIES)
    b = build(data, keep_figures=True)
    keys = [c.key for c in b.charts]
    assert "forecast" not in keys and "forest" not in keys and {"service", "waterfall", "tradeoff"} <= set(keys)
    sales = " ".join(b.sections["sales"].blocks)
    assert "No forecast data" in sales
    # Without replications the distribution chart draws the summary's 5th-95th percentile range.
    seg = _gid(b.figures["service"], "range:otif:chase").get_segments()[0]
    row = s[(s["policy"] == "chase") & (s["kpi"] == "otif")].iloc[0]
    assert sorted(seg[:, 1]) == pytest.approx([100 * row["p5"], 100 * row["p95"]])


def test_a_chart_that_fails_becomes_a_sentence(small_results: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(charts, "bullwhip", broken)
    b = build(load_results(small_results))
    assert "bullwhip" not in [c.key for c in b.charts]
    assert any("could not be drawn (RuntimeError: boom)" in blk for blk in b.sections["operations"].blocks)


def test_cli_report_command(small_results: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from simsop.cli import main

    out = CliRunner().invoke(main, ["report", str(small_results), "--no-png", "--out", str(tmp_path / "r")])
    assert out.exit_code == 0, out.output
    assert "report.html" in out.output
    assert (tmp_path / "r" / "report.html").is_file() and not (tmp_path / "r" / "figures").exists()
    out = CliRunner().invoke(main, ["report", str(tmp_path / "missing")])
    assert out.exit_code != 0


def test_big_experiment_renders_in_seconds(tmp_path: Path) -> None:
    res = make_results_dir(tmp_path / "big", replications=200, days=730)
    t0 = time.perf_counter()
    write_report(res)
    elapsed = time.perf_counter() - t0
    print(f"report of 3 policies x 200 replications x 730 days: {elapsed:.2f} s")
    assert elapsed < 60  # measured ~5 s on a 2-core machine; generous for slow CI


# ---------------------------------------------------------------------------------------------- extract


def test_extract_from_a_real_replication() -> None:
    import simsop
    from simsop.report.extract import bucket_calendar, forecast_by_cycle, plan_vs_actual, shock_windows

    sc = simsop.load_scenario(Path(__file__).parent.parent / "scenarios" / "sop_seasonal.yaml")
    res = simsop.run_replication(sc, seed=3, replication=0, keep_records=True)
    rec = res.records
    starts = bucket_calendar(sc)
    assert (starts[rec.plan["bucket"].astype(int)] == rec.plan["bucket_start"]).all()

    pva = plan_vs_actual(rec, sc)
    assert list(pva["family"].unique()) == ["F1"]
    assert (pva["bucket_start"] + pva["bucket_days"] <= sc.horizon).all() and pva["bucket_start"].iloc[0] == 0
    first = int(np.searchsorted(starts, 0))
    bs = pd.DataFrame(rec.bucket_sales.columns())
    bs = bs[bs["bucket"] - first < len(pva)]
    assert pva["actual_sales"].sum() == pytest.approx(bs["units"].sum())
    # Shipments to customers in the buckets, from the records directly.
    sh = rec.shipped
    end = pva["bucket_start"].iloc[-1] + pva["bucket_days"].iloc[-1]
    assert pva["shipped"].sum() == pytest.approx(float(sh["qty"][sh["time"] < end].sum()))
    # The production plan is the version in force when each bucket started.
    plan = pd.DataFrame(rec.plan.columns())
    b = first + 5
    in_force = plan[(plan["bucket"] == b) & (plan["made"] <= plan["bucket_start"])]
    last = in_force[in_force["made"] == in_force["made"].max()]
    assert pva.loc[pva["bucket"] == 5, "production_plan"].iloc[0] == pytest.approx(last["production"].sum())

    fc = forecast_by_cycle(rec, sc)
    # Pooled over cycles, the per-cycle numbers give back the run's forecast KPIs (same definitions).
    sel = fc[(fc["lag"] == 1) & (fc["bucket_start"] >= sc.warmup)]
    bias = float((sel["bias"] * sel["actual"]).sum() / sel["actual"].sum())
    assert bias == pytest.approx(res.kpis["forecast_bias_lag1"])
    assert float((sel["mape"] * sel["n"]).sum() / sel["n"].sum()) == pytest.approx(res.kpis["forecast_mape_lag1"])
    assert (fc["cutoff_day"] == fc["bucket_start"] - 0).where(fc["lag"] == 0, True).all()
    assert list(shock_windows(rec).columns) == ["name", "type", "start", "end", "effect_end"]
    assert math.isfinite(float(fc["mape"].iloc[0]))


def test_run_ends_with_a_report_unless_told_not_to(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from simsop.cli import main

    scenario = str(Path(__file__).parent.parent / "scenarios" / "sop_seasonal.yaml")
    out = CliRunner().invoke(main, ["run", scenario, "-n", "2", "--executor", "serial", "--out", str(tmp_path / "a")])
    assert out.exit_code == 0, out.output
    text = (tmp_path / "a" / "report.html").read_text(encoding="utf-8")
    assert "One policy was simulated (level)" in text  # the policy comes from the scenario file
    assert (tmp_path / "a" / "figures" / "waterfall.png").is_file()
    out = CliRunner().invoke(main, ["run", scenario, "-n", "1", "--executor", "serial", "--no-report",
                                    "--out", str(tmp_path / "b")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "b" / "kpis.csv").is_file() and not (tmp_path / "b" / "report.html").exists()


# ---------------------------------------------------------------------------------------------- KPI ranges


def test_kpi_ranges_name_real_kpis_and_hold_every_golden_run() -> None:
    """The natural range of a KPI is what its intervals are cut at: a range narrower than the values the
    simulator really produces would bend intervals, so every golden run's KPIs must lie inside."""
    from simsop.kpi import ALL_KPI_NAMES, SHOCK_KPI_NAMES
    from simsop.report import kpimeta

    # KPIs announced by sessions still adding them to simsop.kpi count as known too.
    known = set(ALL_KPI_NAMES) | set(SHOCK_KPI_NAMES) | {"bottleneck_utilization", "shock_recovered"}
    assert not (kpimeta._RATES | kpimeta._NON_NEGATIVE) - known  # no typo leaves a KPI unbounded
    assert kpimeta.value_range("fill_rate") == (0.0, 1.0) and kpimeta.value_range("otif") == (0.0, 1.0)
    assert kpimeta.value_range("shock_recovery_days") == (0.0, math.inf)
    assert kpimeta.value_range("bullwhip_DC-East") == (0.0, math.inf)
    for kpi in ("profit", "gross_margin", "forecast_bias_lag1", "tracking_signal_lag1", "fva_consensus_lag1",
                "shock_window_profit", "revenue_vs_plan", "some_new_kpi"):
        assert kpimeta.value_range(kpi) == (-math.inf, math.inf), kpi
    checked = 0
    for path in sorted((Path(__file__).parent / "golden").glob("*.json")):
        for run in json.loads(path.read_text())["runs"].values():
            for kpi, value in run.items():
                if isinstance(value, int | float):
                    low, high = kpimeta.value_range(kpi)
                    assert low <= value <= high, (path.name, kpi, value)
                    checked += 1
    assert checked > 500


def test_tables_mark_intervals_cut_at_a_kpi_limit_and_explain_them(tmp_path: Path) -> None:
    """A rate at 100% in every replication gets the rule-of-three interval, a skewed quantity near 0 a cut
    one; both are marked in the summary table and the page explains the mark. Ordinary intervals are not."""
    from simsop.report.summary import BOUND_MARK, has_bound_mark, kpi_table

    res = make_results_dir(tmp_path / "r", replications=8)
    kp = pd.read_csv(res / "kpis.csv")
    kp.loc[kp["policy"] == "hybrid", "fill_rate"] = 1.0  # hybrid never misses a unit
    skewed = np.r_[np.zeros(7), 400.0]  # avg_backlog: 0 in seven futures, 400 in one
    for p in POLICIES:
        kp.loc[kp["policy"] == p, "avg_backlog"] = skewed
    kp.to_csv(res / "kpis.csv", index=False)
    (res / "summary.csv").unlink()  # derived again from kpis.csv, with the KPIs' ranges
    (res / "paired.csv").unlink()
    data = load_results(res)
    s = data.summary.set_index(["policy", "kpi"])
    assert s.loc[("hybrid", "fill_rate"), "ci_method"] == "at_bound"
    assert s.loc[("hybrid", "fill_rate"), "ci_low"] == pytest.approx(0.05 ** (1 / 8))
    assert s.loc[("level", "avg_backlog"), "ci_low"] == 0.0  # the t-interval reaches -68 units
    table = kpi_table(data.summary, list(POLICIES), ["fill_rate", "avg_backlog", "profit"], "base").set_index("KPI")
    assert table.loc["Fill rate (units)", "hybrid"] == ("100.0%", f"68.8% – 100.0% {BOUND_MARK}")
    assert table.loc["Average customer backlog (units)", "level"][1].startswith("0 – ")
    assert not table.loc["Profit (currency units)", "level"][1].endswith(BOUND_MARK)
    assert not table.loc["Fill rate (units)", "level"][1].endswith(BOUND_MARK)
    assert has_bound_mark(table)
    assert not has_bound_mark(table.drop(["Fill rate (units)", "Average customer backlog (units)"]))
    text = write_report(res).read_text(encoding="utf-8")
    assert BOUND_MARK in text and "rule of three" in text
    # A paired difference of two rates stays within ±100 points.
    pr = data.paired.set_index(["policy", "kpi"])
    assert (pr["ci_low"] >= -1.0).loc[(slice(None), "fill_rate")].all()


def test_results_of_an_older_simsop_get_bounded_intervals_too(tmp_path: Path) -> None:
    """A folder written before intervals were kept in a KPI's range (summary.csv, paired.csv and
    paired_cases.csv without ``ci_method``) is summarised again from kpis.csv, and the page says so."""
    res = make_results_dir(tmp_path / "r", replications=8, cases=("base", "shock"))
    kp = pd.read_csv(res / "kpis.csv")
    kp.loc[kp["policy"] == "hybrid", "fill_rate"] = 1.0
    kp.to_csv(res / "kpis.csv", index=False)
    for name in ("summary.csv", "paired.csv", "paired_cases.csv"):
        (res / name).unlink(missing_ok=True)
    fresh = load_results(res)  # derived from kpis.csv as the runner derives them
    assert fresh.paired is not None and fresh.case_effects is not None
    for name, table in (("summary.csv", fresh.summary), ("paired.csv", fresh.paired),
                        ("paired_cases.csv", fresh.case_effects)):
        table.drop(columns=["ci_method"]).assign(ci_high=9.0).to_csv(res / name, index=False)
    data = load_results(res)
    s = data.summary.set_index(["policy", "case", "kpi"])
    assert s.loc[("hybrid", "base", "fill_rate"), "ci_method"] == "at_bound"
    assert (s.loc[(slice(None), slice(None), "fill_rate"), "ci_high"] <= 1.0).all()
    assert data.paired is not None and "ci_method" in data.paired.columns
    assert data.case_effects is not None and "ci_method" in data.case_effects.columns
    pd.testing.assert_frame_equal(data.summary, fresh.summary)
    assert sum("older simsop" in n for n in data.notes) == 3
    # A folder with only an old summary.csv (no kpis.csv) is shown as it is: there is nothing to recompute from.
    (res / "kpis.csv").unlink()
    only = load_results(res)
    assert "ci_method" not in only.summary.columns and not any("older simsop" in n for n in only.notes)


# ---------------------------------------------------------------------------------------------- drawing


def test_charts_drawn_by_worker_processes_are_the_charts_drawn_here(small_results: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The report draws its charts on the cores it has (forked workers, where that is safe): the PNGs, their
    order and the page are the same as drawn one by one in this process."""
    from simsop.report import drawing

    forked: list[int] = []
    real = drawing._draw_forked

    def spy(makers: Any, dpi: int, workers: int) -> Any:
        forked.append(workers)
        return real(makers, dpi, workers)

    monkeypatch.setattr(drawing, "_draw_forked", spy)
    data = load_results(small_results)
    here, workers = build(data, workers=1), build(data, workers=2)
    assert forked == ([2] if drawing._fork_is_safe() else [])
    assert [c.key for c in here.charts] == [c.key for c in workers.charts] and len(here.charts) > 2
    assert all(a.png == b.png for a, b in zip(here.charts, workers.charts, strict=True))
    assert [s.blocks for s in here.sections.values()] == [s.blocks for s in workers.sections.values()]


def test_a_chart_that_fails_in_a_worker_becomes_a_sentence_in_its_place() -> None:
    from simsop.report.charts import new_figure
    from simsop.report.drawing import draw_all

    def fine() -> Figure:
        fig = new_figure(3, 2)
        fig.add_subplot().plot([0, 1], [0, 1])
        return fig

    def broken() -> Figure:
        raise ValueError("no data for this chart")

    for workers in (1, 2):
        drawn = draw_all([fine, broken, fine], dpi=50, workers=workers)
        assert [png is not None for png, _ in drawn] == [True, False, True]
        assert drawn[1][1] == "ValueError: no data for this chart"
        assert drawn[0][0] is not None and drawn[0][0].startswith(b"\x89PNG")


# ---------------------------------------------------------------------------------------------- KPI labels


def _kpis_of_every_scenario() -> set[str]:
    """Every KPI a run of a file in scenarios/ produces: the golden runs' KPIs (every file, every stress case),
    the shock KPIs of stress runs, and the bullwhip ratio of each warehouse and of the plants
    (simsop.series.bullwhip, added by the experiment runner)."""
    import yaml

    import simsop
    from simsop.kpi import ALL_KPI_NAMES, SHOCK_KPI_NAMES

    names = set(ALL_KPI_NAMES) | set(SHOCK_KPI_NAMES) | {"bullwhip_production"}
    root = Path(__file__).resolve().parents[1]
    for path in sorted((root / "tests" / "golden").glob("*.json")):
        for run in json.loads(path.read_text())["runs"].values():
            names |= {k for k, v in run.items() if isinstance(v, int | float)}
    for file in sorted((root / "scenarios").glob("*.yaml")):
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        base = file.parent / raw["base"] if isinstance(raw, dict) and "base" in raw else file
        names |= {f"bullwhip_{w.id}" for w in simsop.load_scenario(base).warehouses}
    return names


def test_every_kpi_a_scenario_produces_has_a_label_unit_and_direction() -> None:
    """No KPI of a real run falls back to its raw name ('Fva sales lag1', 'Tracking signal lag3'): the lag
    and stage families are labelled by pattern, whatever the lag or warehouse."""
    from simsop.report import kpimeta

    names = _kpis_of_every_scenario()
    assert {"fva_sales_lag1", "fva_statistical_lag3", "tracking_signal_lag3", "bullwhip_DC-East",
            "shock_pre_otif", "demand_units"} <= names
    raw = sorted(k for k in names if not kpimeta.is_known(k))
    assert not raw, f"KPIs without a label: {raw}"
    for k in names:
        i = kpimeta.info(k)
        assert "_" not in i.label and not re.search(r"lag\d", i.label), (k, i.label)
        assert i.kind in ("pct", "money", "num") and i.higher_is_better in (True, False, None)
        assert i.unit or i.kind == "num", k  # only plain numbers (a ratio, a signal) may go without a unit
    assert kpimeta.info("fva_sales_lag6").label == "Forecast value added of the sales input, lag 6"
    assert kpimeta.info("bullwhip_Retailer").label == "Bullwhip at Retailer"
    assert kpimeta.info("bottleneck_utilization").label == "Bottleneck plant utilization"
    assert kpimeta.value_range("bottleneck_utilization") == (0.0, math.inf)
    assert not kpimeta.is_known("some_new_kpi") and kpimeta.info("some_new_kpi").label == "Some new kpi"


def test_bias_and_tracking_signal_say_what_a_positive_sign_means(tmp_path: Path) -> None:
    """Both are forecast minus actual (simsop.planning.kpis): a positive value is over-forecasting, and the
    label (shown in the terminal's tables and the report) and the description say so."""
    import simsop
    from simsop.model.records import Table
    from simsop.planning.kpis import forecast_kpis
    from simsop.report import kpimeta

    # Red Tomato's sales team knows the demand exactly; a consensus 20% above it must give a positive bias.
    sc = simsop.load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "red_tomato_lp.yaml")
    rec = simsop.run_replication(sc, replication=0, keep_records=True).records
    high = Table("forecasts", rec.forecasts.row_type)
    for row in rec.forecasts.rows():
        high.append(row._replace(consensus=1.2 * row.sales))
    high.freeze()
    rec.tables["forecasts"] = high
    got = forecast_kpis(rec)
    assert got["forecast_bias_lag1"] > 0.1 and got["tracking_signal_lag1"] > 0
    for k in ("forecast_bias_lag1", "forecast_bias_lag3", "tracking_signal_lag1", "tracking_signal_lag3"):
        i = kpimeta.info(k)
        assert "+ = over-forecast" in i.label, i.label
        assert "positive means" in i.description and "over-forecasting" in i.description
    # The report's tables carry the label, and its method section the definition.
    from simsop.report.build import Builder, method_section, summary_section

    data = load_results(make_results_dir(tmp_path / "r", replications=4))
    b = Builder(data)
    summary_section(b, "base")
    method_section(b, "base")
    page = "".join(b.sections["summary"].blocks + b.sections["method"].blocks)
    assert "Forecast bias, lag 1 (+ = over-forecast)" in page
    assert "positive means over-forecasting (the forecast was above demand)" in page


def _summary_prose(data: Any) -> str:
    """The executive summary's sentences: its section without tables and tags (its charts are not drawn)."""
    import html as html_lib

    from simsop.report.build import Builder, summary_section

    b = Builder(data)
    summary_section(b, data.primary_case)
    sec = re.sub(r"<table.*?</table>", " ", "".join(b.sections["summary"].blocks), flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", sec))


@pytest.mark.parametrize("policies, cases", [(("level",), ("base",)), (POLICIES, ("base",)),
                                             (("level",), ("base", "strike")), (POLICIES, ("base", "strike"))])
def test_executive_summary_gives_each_figure_once(tmp_path: Path, policies: tuple[str, ...],
                                                  cases: tuple[str, ...]) -> None:
    """'One policy was simulated (lp): profit 1,691,147 …' was followed by 'Profit of lp: 1,691,147 …'; a
    winner's profit and a stress case's change of profit were given twice the same way. The list of what each
    stress case does is the exception: every policy's line gives the same KPIs (a line without the change the
    headline states read as if that policy's profit had not moved), so that one change is in both."""
    from simsop.report.kpimeta import fmt

    data = load_results(make_results_dir(tmp_path / "r", replications=8, cases=cases, policies=policies))
    prose = _summary_prose(data)
    found = findings(data.summary, data.paired, data.policies, data.baseline, "base", runs=data.kpis)
    assert [f.kpi for f in found] == ["profit", "otif", "fill_rate", "avg_on_hand"]
    for f in found:  # every key KPI is there, once
        assert prose.count(fmt(f.kpi, f.mean)) == 1, (f.kpi, prose)
        assert prose.count(fmt(f.kpi, f.ci_low)) == 1, (f.kpi, prose)
    if data.case_effects is not None:
        from simsop.report.summary import impact_subject

        e = data.case_effects
        subject = impact_subject(e, data.summary, data.policies, "base")
        for p in data.policies:
            d = float(e[(e["case"] == "strike") & (e["policy"] == p) & (e["kpi"] == "profit")]["mean_diff"].iloc[0])
            said = 2 if subject is not None and subject[:2] == ("strike", p) and len(data.policies) > 1 else 1
            assert prose.count(fmt("profit", d, signed=True)) == said, prose


# ---------------------------------------------------------------------------------------------- supply chart


def test_supply_chart_compares_made_demand_with_production_and_draws_purchases(tmp_path: Path) -> None:
    """The example company's appliances family holds SA-04, bought from Acme and never made: its demand is
    kept out of the demand lines the production lines are compared with, and Acme's deliveries are a line of
    their own (they were missing, so the plan seemed to under-produce by half)."""
    import simsop
    from simsop.report.extract import PLAN_KEYS, average_replications, bucket_calendar, plan_vs_actual

    sc = simsop.load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "example_company.yaml")
    sc = sc.model_copy(update={"horizon": 300})
    rec = simsop.run_replication(sc, replication=0, keep_records=True).records
    pva = plan_vs_actual(rec, sc)
    m = rec.meta
    sa04, acme = m.products.index("SA-04"), m.sites.index("Acme")
    app = pva[pva["family"] == "appliances"].set_index("bucket")
    end = float(app["bucket_start"].iloc[-1] + app["bucket_days"].iloc[-1])
    # Booked orders of the family's made products (SA-01..03) only, from the records.
    bs = pd.DataFrame(rec.bucket_sales.columns())
    bs = bs[bucket_calendar(sc)[bs["bucket"]] >= 0]
    bs = bs[bs["bucket"] < bs["bucket"].min() + len(app)]
    made = [m.products.index(p) for p in ("SA-01", "SA-02", "SA-03")]
    assert app["actual_sales_made"].sum() == pytest.approx(bs.loc[bs["product"].isin(made), "units"].sum())
    assert app["actual_sales"].sum() - app["actual_sales_made"].sum() == pytest.approx(
        bs.loc[bs["product"] == sa04, "units"].sum())
    # What Acme delivered inside the buckets, by arrival day, from the records.
    dep = pd.DataFrame(rec.departed.columns())
    arr = pd.DataFrame(rec.arrived.columns()).set_index("ship_id")["time"]
    acme_dep = dep[dep["source"] == acme]
    got = acme_dep["ship_id"].map(arr)
    assert (acme_dep["product"] == sa04).all() and len(acme_dep) > 2
    assert app["purchased"].sum() == pytest.approx(acme_dep.loc[got < end, "qty"].sum()) and app["purchased"].sum() > 0
    # The families made in-house only are unchanged, and buy nothing.
    for fam in ("cookware", "cutlery"):
        f = pva[pva["family"] == fam]
        np.testing.assert_array_equal(f["actual_sales_made"], f["actual_sales"])
        np.testing.assert_array_equal(f["demand_plan_made"].fillna(-1), f["demand_plan"].fillna(-1))
        assert (f["purchased"] == 0).all()
    # Over the run, in-house demand and production are of the same size (they were about half).
    assert 0.8 < app["actual_production"].sum() / app["actual_sales_made"].sum() < 1.25
    # The chart draws the made-in-house demand and sales, and the purchases where there are any.
    frame = pva.assign(policy="lp", case="", replication=0)
    plan = average_replications([frame], PLAN_KEYS)
    fig = charts.plan_vs_actual(plan, {"lp": OKABE_ITO[0]}, ["lp"], "")
    app = plan[plan["family"] == "appliances"].sort_values("bucket_start")
    for col in ("actual_sales_made", "demand_plan_made", "actual_production", "purchased"):
        _, y = _gid(fig, f"plan:{col}:appliances:lp").get_data()
        np.testing.assert_allclose(y, app[col] / app["bucket_days"])
    gids = {a.get_gid() for ax in fig.axes for a in ax.findobj()}
    assert "plan:purchased:cookware:lp" not in gids and "plan:actual_sales:appliances:lp" not in gids
    assert "Received from suppliers (bought in)" in [t.get_text() for t in fig.legends[0].get_texts()]
    from simsop.report.build import _supply_note

    assert "only the products a plant makes" in _supply_note(plan, "") and "in appliances." in _supply_note(plan, "")


# ---------------------------------------------------------------------------------------------- plan cost


def test_red_tomato_report_shows_the_plans_own_cost_next_to_the_simulated_cost(tmp_path: Path) -> None:
    """The README says scenarios/red_tomato_lp.yaml reproduces Chopra & Meindl's plan ($422,275); the report
    showed only the simulated cost (~418k). Its finance section now gives the first cycle's plan cost, priced
    from the recorded plan (as tests/test_planning.py checks the policy's own figure), beside it."""
    from click.testing import CliRunner

    import simsop
    from simsop.cli import main
    from simsop.report.extract import first_plan_costs

    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "red_tomato_lp.yaml"
    sc = simsop.load_scenario(scenario)
    rec = simsop.run_replication(sc, replication=0, keep_records=True).records
    costs = first_plan_costs(rec, sc)
    assert len(costs) == 6 and {f for _, f in costs} == {"garden_tools"}
    assert sum(costs.values()) == pytest.approx(422_275, abs=0.5)
    # Month 1: 775/12 workers x $640, 15.42 layoffs x $500, 2,583.3 units x $10 of material, 1,983 held x $2.
    assert costs[min(costs)] == pytest.approx(775 / 12 * 640 + (80 - 775 / 12) * 500 + 15_500 / 6 * 10
                                              + (1000 + 15_500 / 6 - 1600) * 2)
    out = CliRunner().invoke(main, ["run", str(scenario), "-n", "2", "--executor", "serial", "--out",
                                    str(tmp_path / "r")])
    assert out.exit_code == 0, out.output
    plan = pd.read_csv(tmp_path / "r" / "plan.csv")
    assert plan["first_plan_cost"].sum() == pytest.approx(422_275, abs=0.5)
    text = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    import html as html_lib

    finance = html_lib.unescape(text[text.index('<section id="finance">'):text.index('<section id="method">')])
    simulated = pd.read_csv(tmp_path / "r" / "kpis.csv")["total_cost"].mean()
    assert (f"lp: the first S&OP cycle's plan costs $422,275 over its 6 buckets, days 0–120; simulated total "
            f"cost ${simulated:,.0f}") in finance
    # A scenario without planned workforces prices no plan: no such section.
    ex = simsop.load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "sop_seasonal.yaml")
    assert first_plan_costs(simsop.run_replication(ex, replication=0, keep_records=True).records, ex) == {}


def test_disruption_table_shows_each_shock_kpi_without_the_shocks_and_the_shock_s_effect(tmp_path: Path) -> None:
    """A stress run measures every shock outcome on the same futures without the shocks too: the report's
    disruption table has that row under each KPI and the paired effect with its interval, in the units of
    the KPI; without paired_cases.csv the report pairs <kpi> with <kpi>_noshock as the runner does."""
    from simsop.experiment import run_experiment
    from simsop.report import kpimeta
    from simsop.report.summary import case_table
    from tests.helpers import scenario
    from tests.test_shocks import plant, with_shocks

    base = scenario(plant(horizon=120))
    outage = scenario(with_shocks(plant(horizon=120), {"name": "o", "type": "factory_outage", "start": 40,
                                                       "factory": "F", "duration": 10}))
    out = tmp_path / "stress"
    run_experiment(base, ["none"], 4, seed=3, executor="serial", series=False, extras=False,
                   cases=[("base", base), ("outage", outage)], out=out)
    data = load_results(out)
    assert data.case_effects is not None
    table, cols = case_table(data.summary, data.policies, data.cases, effects=data.case_effects)
    rows = table.set_index("KPI")
    assert cols == [("outage", "none")]
    worst = "Worst OTIF (7-day rolling)"
    assert worst in rows.index and "  same futures, no shock" in rows.index
    kp = data.kpis[data.kpis["case"] == "outage"]
    effect = float((kp["shock_worst_otif"] - kp["shock_worst_otif_noshock"]).mean())
    labels = list(rows.index)
    at = labels.index(worst)
    assert labels[at + 1] == "  same futures, no shock" and labels[at + 2] == "  effect of the shocks"
    assert table.iloc[at + 2]["outage"][0] == kpimeta.fmt("shock_worst_otif", effect, signed=True)
    assert kpimeta.info("shock_worst_otif_noshock").kind == "pct"
    assert kpimeta.value_range("shock_lost_units_noshock") == (0.0, math.inf)
    # What says where the window is has nothing to compare with: no empty rows for it.
    assert not {"shock_start", "shock_window_end", "shocks_realised"} & set(data.case_effects["kpi"])
    written = data.case_effects.set_index(["policy", "case", "kpi"])
    (out / "paired_cases.csv").unlink()
    derived = load_results(out).case_effects
    assert derived is not None
    derived = derived.set_index(["policy", "case", "kpi"])
    for k in ("shock_worst_otif", "shock_lost_units", "shock_recovery_days", "profit"):
        key = ("none", "outage", k)
        assert derived.loc[key, "mean_diff"] == pytest.approx(written.loc[key, "mean_diff"]), k
        assert derived.loc[key, "ci_low"] == pytest.approx(written.loc[key, "ci_low"]), k
    html_text = write_report(out).read_text(encoding="utf-8")
    assert "effect of the shocks" in html_text and "same futures, no shock" in html_text


def test_disruption_table_marks_a_recovery_time_some_futures_never_reached(tmp_path: Path) -> None:
    """Outages of 2-40 days: some futures never recover within the window, so the mean recovery time is a
    lower bound: the table says '≥' and marks the shock's effect on it as censored, as the terminal does."""
    from simsop.experiment import run_experiment
    from simsop.report.summary import case_table
    from tests.helpers import scenario
    from tests.test_shocks import plant, with_shocks

    base = scenario(plant(horizon=120))
    outage = scenario(with_shocks(plant(horizon=120), {
        "name": "o", "type": "factory_outage", "start": 40, "factory": "F",
        "duration": {"dist": "uniform", "low": 2, "high": 40}}))
    out = tmp_path / "stress"
    run_experiment(base, ["none"], 6, seed=3, executor="serial", series=False, extras=False,
                   cases=[("base", base), ("outage", outage)], out=out)
    data = load_results(out)
    recovered = data.kpis.loc[data.kpis["case"] == "outage", "shock_recovered"]
    assert 0 < recovered.mean() < 1
    table, _ = case_table(data.summary, data.policies, data.cases, effects=data.case_effects)
    labels = list(table["KPI"])
    at = labels.index("Recovery time (days)")
    assert table.iloc[at]["outage"][0].startswith("≥ ")
    share = labels.index("Recovered within the disruption (% of futures)")
    assert table.iloc[share]["outage"][0] == kpimeta_fmt("shock_recovered", float(recovered.mean()))
    effect_rows = [i for i, label in enumerate(labels) if label.strip().startswith("effect of the shocks")]
    assert any(table.iloc[i]["outage"][0].endswith("(censored)") for i in effect_rows)


def kpimeta_fmt(kpi: str, x: float) -> str:
    from simsop.report.kpimeta import fmt

    return fmt(kpi, x)
