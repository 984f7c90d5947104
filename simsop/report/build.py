"""Build the report of a results directory: charts (PNG) and one self-contained ``report.html``."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from matplotlib.figure import Figure

from simsop.report import charts, drawing, html
from simsop.report import summary as summ
from simsop.report.colors import policy_colors
from simsop.report.data import ResultsData, load_results
from simsop.report.kpimeta import fmt, info, measured

SERVICE_KPIS = ("otif", "fill_rate", "cycle_service_level", "avg_backlog", "lost_sales_units", "avg_days_late")
STOCK_KPIS = ("avg_on_hand", "days_of_supply", "inventory_turns", "utilization", "bottleneck_utilization",
              "overtime_units", "plan_attainment")
FINANCE_KPIS = ("profit", "revenue", "total_cost", "avg_inventory_value", "revenue_vs_plan", "gross_margin_vs_plan")
SALES_KPIS = ("forecast_mape_lag1", "forecast_bias_lag1", "forecast_mape_lag3", "forecast_bias_lag3",
              "fva_consensus_lag1", "fva_consensus_over_statistical_lag1", "plan_nervousness")
FOREST_KPIS = ("profit", "otif", "fill_rate", "avg_on_hand", "total_cost", "avg_backlog")
TABLE_KPIS = ("profit", "revenue", "total_cost", "otif", "fill_rate", "otif_requested", "avg_quoted_delay",
              "avg_on_hand", "avg_backlog", "avg_inventory_value", "utilization", "bottleneck_utilization",
              "budget_breach_buckets", "forecast_mape_lag1", "forecast_bias_lag1")
MAX_CASE_SERIES = 6
PNG_DPI = 100


@dataclass
class Chart:
    """One rendered chart: where it goes and its PNG bytes."""

    key: str
    section: str
    title: str
    caption: str
    png: bytes


class Builder:
    """Collects charts and sentences section by section; a chart that fails becomes a sentence, not a crash."""

    def __init__(self, data: ResultsData) -> None:
        self.data = data
        # The baseline is named as such in legends and tables only when there is something to compare.
        self.colors = policy_colors(data.policies, data.baseline if len(data.policies) > 1 else None)
        self.sections = {k: html.Section(k, t) for k, t in (
            ("summary", "Executive summary"), ("sales", "Sales: forecast, bias, demand plan"),
            ("operations", "Operations: service, inventory, capacity"),
            ("finance", "Finance: P&L, plan against actual, working capital"),
            ("method", "Scenario and method"))}
        self.charts: list[Chart] = []
        self.figures: dict[str, Figure] = {}
        self.keep_figures = False
        self._places = drawing.ChartPlaces()  # charts waiting to be drawn together (see finish)

    def add(self, section: str, key: str, title: str, caption: str, make: Callable[[], Figure]) -> None:
        """A chart for a section: kept, to be drawn with the others by :meth:`finish`, in its place."""
        if self.keep_figures:  # the figures themselves are wanted: draw now, in this process
            try:
                fig = make()
            except Exception as exc:  # a broken chart must not cost the whole report
                self.note(section, f"The chart '{title}' could not be drawn ({type(exc).__name__}: {exc}).")
                return
            self.figures[key] = fig
            make = _given(fig)
        self._places.add(self.sections[section].blocks, key, title, caption, make, tag=section)

    def finish(self, workers: int | None = 1) -> None:
        """Draw the waiting charts (on ``workers`` processes where that is safe; None: the cores available)."""
        # Kept figures live in this process: they are drawn here.
        for section, key, title, caption, png in self._places.draw(PNG_DPI, 1 if self.keep_figures else workers):
            self.charts.append(Chart(key, section, title, caption, png))

    def text(self, section: str, block: str) -> None:
        self.sections[section].blocks.append(block)

    def note(self, section: str, sentence: str) -> None:
        self.sections[section].blocks.append(html.missing(sentence))


def _compare_hint(d: ResultsData) -> str:
    """' Compare policies with simsop compare ...' for a run of one policy and one case; '' for a comparison
    of cases or variant files, which simsop compare (or stress) already is."""
    return (" Compare policies with simsop compare to see which one wins and by how much." if len(d.cases) < 2
            else "")


def _finite_kpis(data: ResultsData, kpis: Sequence[str], case: str) -> list[str]:
    """The KPIs measured in ``case`` (a mean in some policy, and ``kpimeta.measured``)."""
    s = data.summary[data.summary["case"] == case]
    s = s[s["mean"].astype(float).notna()]
    top = s.groupby(s["kpi"].astype(str))["mean"].max().astype(float).to_dict()
    return [k for k in kpis if k in top and measured(k, lambda name: top.get(name, math.nan))]


def _number(x: Any) -> float | None:
    if isinstance(x, int | float):
        return float(x)
    if isinstance(x, dict):
        for key in ("mean", "mode", "value"):
            if isinstance(x.get(key), int | float):
                return float(x[key])
        if isinstance(x.get("low"), int | float) and isinstance(x.get("high"), int | float):
            return (float(x["low"]) + float(x["high"])) / 2
    return None


def _shock_specs(manifest: dict[str, Any], case: str) -> list[dict[str, Any]]:
    for c in manifest.get("cases") or []:
        if isinstance(c, dict) and str(c.get("name", "")) == case:
            return [s for s in c.get("shocks") or [] if isinstance(s, dict)]
    shocks = manifest.get("shocks")
    if isinstance(shocks, dict):  # {case: [shock, ...]}
        return [s for s in shocks.get(case, []) if isinstance(s, dict)]
    return [s for s in shocks or [] if isinstance(s, dict)]


def shock_windows(data: ResultsData, case: str) -> list[charts.Window]:
    """Shock periods of a case: the median realised window per shock (``shocks.csv``), else the manifest's
    nominal ones (a random ``window`` start shades the whole span it can cover)."""
    out: list[charts.Window] = []
    if data.shocks is not None and {"name", "start", "end"} <= set(data.shocks.columns):
        s = data.shocks
        if "case" in s.columns:
            s = s[s["case"] == case]
        for name, g in s.groupby("name", sort=False):
            out.append(charts.Window(float(g["start"].median()), float(g["end"].median()), str(name)))
        return out
    for sh in _shock_specs(data.manifest, case):
        dur = _number(sh.get("duration")) or 0.0
        if isinstance(sh.get("start"), int | float):
            a, b = float(sh["start"]), float(sh["start"]) + dur
        elif isinstance(sh.get("window"), list | tuple) and len(sh["window"]) == 2:
            a, b = float(sh["window"][0]), float(sh["window"][1]) + dur
        else:
            continue
        out.append(charts.Window(a, max(b, a + 1), str(sh.get("name", sh.get("type", "shock")))))
    return out


def _label(case: str, data: ResultsData) -> str:
    return f" (case {case})" if case and len(data.cases) > 1 else ""


# ---------------------------------------------------------------------------------------------- sections


def summary_section(b: Builder, case: str) -> None:
    d = b.data
    found = summ.findings(d.summary, d.paired, d.policies, d.baseline, case, runs=d.kpis)
    head = summ.headline(found, len(d.policies))
    if len(d.cases) > 1:
        headline = summ.impact_headline(d.case_effects, d.summary, d.policies, d.cases, case, word=d.case_word)
        head = f"{head} {headline}".strip()
    body = html.escape(head)
    if len(d.policies) > 1 and found:  # the answer first, in bold: "Winner: lp", or "No clear winner"
        prefix = html.escape(f"Winner: {next((f for f in found if f.kpi == 'profit'), found[0]).best}")
        for answer in (prefix, "No clear winner"):
            if body.startswith(answer):
                body = f"<strong>{answer}</strong>{body[len(answer):]}"
                break
    b.text("summary", f'<p class="headline">{body}</p>')
    # The headline states the lead KPI (and the hardest case's effect on profit): the list below gives the
    # rest, so no figure is said twice.
    if rest := summ.details(found):
        b.text("summary", html.bullet_list(rest, "findings"))
    n = _replications(d)
    if len(d.cases) > 1:
        subject = summ.impact_subject(d.case_effects, d.summary, d.policies, case)
        # With one policy the headline's change would be its line's only news twice; with several, every
        # policy's line gives the same KPIs, so a reader comparing them finds each.
        stated = (subject[0], subject[1], "profit") if subject is not None and len(d.policies) == 1 else None
        impacts = summ.case_impacts(d.case_effects, d.policies, d.cases, case, stated=stated, summary=d.summary)
        if impacts:
            b.text("summary", f"<h3>What each {d.case_word} does (paired differences, 95% CI)</h3>")
            b.text("summary", html.bullet_list(impacts, "findings"))
        if len(d.policies) > 1 and (winners := _case_winners(d, skip={case, *(subject[:1] if subject else ())})):
            b.text("summary", html.para(winners, None))
        else:
            b.text("summary", html.para(f"The summary and the charts are for the case {d.primary_case or '(base)'}"
                                        " unless a chart names its case."))
    if len(d.policies) > 1:
        b.text("summary", html.para(
            f"Each policy was run on the same {_futures(n)} (common random numbers){_in_case(case, d)}, so "
            f"the differences are the policies', not luck's. A difference is significant when its 95% "
            f"confidence interval excludes zero. Baseline: {d.baseline}.{_one_run_note(n)}"))
    elif n == "1":
        b.text("summary", html.para(
            "Values of one random future (one replication)." + _one_run_note(n) + _compare_hint(d)))
    else:
        b.text("summary", html.para(
            f"Means over {_futures(n)} (replications) with 95% confidence intervals.{_compare_hint(d)}"))
    table = summ.kpi_table(d.summary, d.policies, _finite_kpis(d, TABLE_KPIS, case), case, paired=d.paired,
                           baseline=d.baseline, runs=d.kpis)
    b.text("summary", html.kpi_table(table, [p for p in d.policies if p in table.columns], b.colors))
    if len(d.policies) > 1:
        b.text("summary", html.para(summ.BEST_NOTE, "meta"))
    if summ.has_bound_mark(table):
        b.text("summary", html.para(summ.BOUND_NOTE, "meta"))
    if d.paired is not None and len(d.policies) > 1:
        kp = [k for k in FOREST_KPIS if (d.paired["kpi"] == k).any()]
        b.add("summary", "forest", "Paired differences from the baseline with 95% confidence intervals",
              f"Each row: a policy minus the baseline {d.baseline} on the same random futures. Bars that do not "
              "cross the dashed zero line are significant differences.",
              lambda: charts.forest_plot(d.paired, kp, b.colors, d.policies, d.baseline, case))  # type: ignore[arg-type]
    elif len(d.policies) > 1:
        b.note("summary", "No paired differences (paired.csv, or kpis.csv with replication numbers) were found, "
                          "so the forest plot is missing.")
    if len(d.policies) > 1 and _finite_kpis(d, ("fill_rate", "avg_on_hand"), case):
        b.add("summary", "tradeoff", "Service against inventory and cost, with the efficient frontier",
              "Policies on the dashed frontier are efficient: no other policy has more service with less "
              "inventory (or cost). A policy off the frontier is beaten on both.",
              lambda: charts.tradeoff(d.summary, b.colors, d.policies, case=case))


def _futures(n: str) -> str:
    return "random future" if n == "1" else f"{n} random futures"


def _in_case(case: str, d: ResultsData) -> str:
    return f" in the case {case}" if case and len(d.cases) > 1 else ""


def _one_run_note(n: str) -> str:
    """What one replication cannot tell: how sure the numbers are (no interval comes from one value)."""
    return (" With one replication there is no confidence interval: the numbers may be luck; run more "
            "replications (-n) to see how sure they are.") if n == "1" else ""


def _case_winners(d: ResultsData, skip: set[str]) -> str:
    """One sentence: the most profitable policy in every stress case but those in ``skip`` (the headline gave
    their winners), with its CI; '' when none is left."""
    parts = []
    for c in d.cases:
        if c in skip:
            continue
        f = summ.findings(d.summary, d.paired, d.policies, d.baseline, c, kpis=("profit",))
        if f:
            parts.append(f"{c or '(base)'}: {f[0].best} ({fmt('profit', f[0].mean)}, 95% CI "
                         f"{fmt('profit', f[0].ci_low)} to {fmt('profit', f[0].ci_high)})")
    head = f"The summary above is for the case {d.primary_case or '(base)'}."
    if not parts:
        return head if len(d.cases) > 1 else ""
    return f"{head} Most profitable policy in each other case: " + "; ".join(parts) + "."


def _replications(d: ResultsData) -> str:
    n = d.manifest.get("replications")
    if n is None and "n" in d.summary.columns and len(d.summary):
        n = int(d.summary["n"].max())
    return str(n) if n is not None else "(unknown number of)"


def sales_section(b: Builder, case: str) -> None:
    d = b.data
    if d.forecast is not None and len(d.forecast):
        fc = d.forecast
        lags = sorted(int(x) for x in fc["lag"].unique())
        keep = [lag for lag in (1, 3) if lag in lags] or lags[:2]
        fc = fc[fc["lag"].isin(keep)]
        b.add("sales", "forecast", "Forecast accuracy over the S&OP cycles (MAPE and bias by lag)",
              "Consensus forecast of each cycle against the orders later booked, lags "
              + " and ".join(map(str, keep)) + "; mean over replications.",
              lambda: charts.forecast_accuracy(b.colors, d.policies, forecast=fc, case=case))
    elif _finite_kpis(d, ("forecast_mape_lag1",), case):
        b.note("sales", "Forecast accuracy per cycle needs forecast.csv, which this run did not write; "
                        "the chart below shows the accuracy over the whole run instead.")
        b.add("sales", "forecast", "Forecast accuracy and bias by lag",
              "Consensus forecast against booked orders, over all cycles after the warm-up.",
              lambda: charts.forecast_accuracy(b.colors, d.policies, summary=d.summary, case=case))
    else:
        b.note("sales", "No forecast data: the run had no S&OP planning cycle (policy 'none'), or it wrote "
                        "neither forecast.csv nor forecast KPIs.")
    kp = _finite_kpis(d, SALES_KPIS, case)
    if kp:
        distributions(b, "sales", "sales_kpis", "Forecast and planning KPIs per policy",
                      "MAPE and bias of the consensus forecast, forecast value added and plan nervousness.",
                      kp, case, "Forecast and planning KPIs per policy")
    if d.plan is not None and len(d.plan):
        b.add("sales", "demand_plan", "Demand plan against actual sales, per family",
              "The demand plan in force when each bucket started, against the orders booked in it.",
              lambda: charts.plan_vs_actual(d.plan, b.colors, d.policies, case,  # type: ignore[arg-type]
                                            measures=("actual_sales", "demand_plan"),
                                            warmup=_warmup(d), title="Demand plan against actual sales"))
    else:
        b.note("sales", "The demand plan by family needs plan.csv, which this run did not write.")


def distributions(b: Builder, section: str, key: str, title: str, caption: str, kpis: Sequence[str], case: str,
                  heading: str) -> None:
    """A chart of the KPIs' spread over replications per policy; with one policy and one replication there is
    no spread, interval or policy to compare (the chart was one dot per panel): a sentence gives the values."""
    d = b.data
    if len(d.policies) < 2 and _most_replications(d, case) < 2:
        s = d.summary[(d.summary["case"] == case) & d.summary["kpi"].isin(kpis)].set_index("kpi")["mean"]
        values = ", ".join(f"{summ.kpi_label(k)} {fmt(k, float(s[k]))}" for k in kpis if k in s.index)
        b.note(section, f"{title}: one replication of one policy has no spread to draw. Its values: {values}. "
                        "Run more replications (-n) to see their spread and confidence intervals.")
        return
    b.add(section, key, title, caption,
          lambda: charts.kpi_distributions(d.summary, kpis, b.colors, d.policies, d.kpis, case,
                                           heading + _label(case, d)))


def _most_replications(d: ResultsData, case: str) -> int:
    """The largest number of replications behind a KPI of ``case`` (from summary.csv's n)."""
    if "n" not in d.summary.columns:  # unknown: draw, as before
        return 2
    n = d.summary.loc[d.summary["case"] == case, "n"].astype(float).max()
    return int(n) if n == n else 0


def _int(x: Any) -> int | None:
    return int(x) if isinstance(x, int | float) and not isinstance(x, bool) and x == x else None


def _warmup(d: ResultsData) -> float | None:
    w = d.manifest.get("warmup")
    return float(w) if isinstance(w, int | float) and w > 0 else None


def series_caption(d: ResultsData, case: str) -> str:
    """What each panel of the daily chart draws: daily quantile bands, or 7-day averages (and why)."""
    assert d.series is not None
    panels, left_out = charts.series_panels(d.series, case)
    daily = [p.title.lower() for p in panels if not p.weekly]
    out = []
    if daily:
        out.append(f"{summ.and_list(daily).capitalize()}: bands of 5–95% and 25–75% of the replications on each day; "
                   "line: median.")
    if any(p.weekly for p in panels):
        keys = {p.key for p in panels if p.weekly}
        same = [w for k, w in (("production", "planned production"), ("orders", "customer demand")) if k in keys]
        what = (f"each replication's {charts.ROLLING_DAYS}-day average (each day and the "
                f"{charts.ROLLING_DAYS - 1} before it), bands of 5–95% and 25–75% of the replications, line: their "
                "mean" if charts.weekly_bands(d.series, case) else
                f"{charts.ROLLING_DAYS}-day average (each day and the {charts.ROLLING_DAYS - 1} before it) of "
                "the daily mean over replications")
        out.append(f"{summ.and_list([p.title.lower() for p in panels if p.weekly]).capitalize()}: {what}"
                   + (f" ({summ.and_list(same)} too)" if same else "")
                   + ", so that weekly and batch rhythms (a plant that makes a batch on some days and nothing on "
                   "others, orders placed once a week) do not hide the trend.")
    if left_out:
        out.append(f"Not drawn: {summ.and_list([t.lower() for t in left_out])} (no value other than 0 in this run).")
    return " ".join(out)


def operations_section(b: Builder, case: str) -> None:
    d = b.data
    kp = _finite_kpis(d, SERVICE_KPIS, case)
    if kp:
        distributions(b, "operations", "service", "Service KPIs per policy",
                      "Distribution over replications; the dot is the mean with its 95% confidence interval.",
                      kp, case, "Customer service per policy")
    kp2 = _finite_kpis(d, STOCK_KPIS, case)
    if kp2:
        distributions(b, "operations", "inventory", "Inventory and capacity KPIs per policy",
                      "Distribution over replications; the dot is the mean with its 95% confidence interval.",
                      kp2, case, "Inventory and capacity per policy")
    if d.series is not None and len(d.series):
        cases = [c for c in d.cases if (d.series["case"] == c).any()]
        cases = [case, *[c for c in cases if c != case]] if case in cases else cases
        for c in cases[:MAX_CASE_SERIES]:
            w = shock_windows(d, c)
            b.add("operations", "series" if c == case else f"series_{_slug(c)}",
                  f"Daily inventory, backlog, orders, production and capacity load{_label(c, d)}",
                  series_caption(d, c) + " Grey spans: shocks"
                  + (" (" + ", ".join(x.label for x in w) + ")" if w else ": none") + "; hatched: warm-up.",
                  lambda c=c, w=w: charts.time_series(  # type: ignore[misc]
                      d.series, b.colors, d.policies, c, w, _warmup(d),
                      "A day-by-day view across the random futures" + _label(c, d)))
        if len(cases) > MAX_CASE_SERIES:
            b.note("operations", f"Daily charts are shown for {MAX_CASE_SERIES} of {len(cases)} cases; "
                                 "the others are in series.csv.")
    else:
        b.note("operations", "The daily charts (inventory, backlog, orders, production, capacity load) need "
                             "series.csv, which this run did not write.")
    if any(str(k).startswith("bullwhip_") for k in d.summary["kpi"]):
        b.add("operations", "bullwhip", "Bullwhip: replenishment variance against demand variance by stage",
              "Above 1, a stage's replenishment varies more than the demand it receives: the variance is "
              "amplified upstream. Below 1, it is smoothed. A stage's replenishment is its orders, and under an "
              "S&OP plan what the plants send it of the products they push to it (it orders those no more).",
              lambda: charts.bullwhip(d.summary, b.colors, d.policies, case, _int(d.manifest.get("bullwhip_period"))))
    else:
        b.note("operations", "The bullwhip chart needs bullwhip_<warehouse> KPIs, which this run did not write.")
    if len(d.cases) > 1:
        table, cols = summ.case_table(d.summary, d.policies, d.cases, effects=d.case_effects)
        if not table.empty:
            names = [c for c in table.columns if c not in ("KPI", "best")]
            b.text("operations", f"<h3>Disruption KPIs per {d.case_word}</h3>")
            b.text("operations", html.kpi_table(table, names, {n: b.colors[p] for n, (_, p) in zip(names, cols,
                                                                                                  strict=True)}))
            b.text("operations", html.para(
                "The disruption runs from the first shock's start until the last shock's effect is gone plus a "
                "settling period. Recovery time: days from the start until the 7-day rolling OTIF is back above "
                "its threshold for good (0: it never fell below); a future that never recovers counts the whole "
                "window, so the mean is then a lower bound, and the share recovered says how many did. Each KPI "
                "is also measured over the same window on the same random futures without the shocks (what the "
                "plan does there anyway); the effect of the shocks is the paired difference, shocked less not "
                "shocked, with its 95% interval.", "meta"))
            if summ.has_bound_mark(table):
                b.text("operations", html.para(summ.BOUND_NOTE, "meta"))
        b.add("operations", "cases", f"Key KPIs in every {d.case_word}",
              "Each row is a case; dots are policy means with 95% confidence intervals.",
              lambda: charts.case_comparison(d.summary, b.colors, d.policies, d.cases,
                                             _finite_kpis(d, ("profit", "otif", "fill_rate"), case)[:2]))


def finance_section(b: Builder, case: str) -> None:
    d = b.data
    if _finite_kpis(d, ("revenue", "profit"), case) == ["revenue", "profit"]:
        b.add("finance", "waterfall", "Profit bridge from revenue to profit, per policy",
              "Mean over replications. Costs that are zero for every policy are left out.",
              lambda: charts.profit_waterfall(d.summary, b.colors, d.policies, case))
    else:
        b.note("finance", "The profit bridge needs revenue and profit in the results.")
    kp = _finite_kpis(d, FINANCE_KPIS, case)
    if kp:
        distributions(b, "finance", "finance_kpis", "Profit, cost, working capital and plan attainment per policy",
                      "Average inventory value is the working capital tied up in stock. Revenue against plan "
                      "compares actual revenue with the last plan before each month.",
                      kp, case, "Money per policy")
    if d.plan is not None and (costs := plan_cost_sentences(d, case)):
        b.text("finance", "<h3>The plan's own cost against the simulated cost</h3>")
        b.text("finance", html.bullet_list(costs, "findings"))
        b.text("finance", html.para(
            "The plan's cost is what the first S&OP cycle's plan costs by its own numbers: wages of the planned "
            "workforce, hiring and layoffs, overtime, materials, subcontracting, and holding and backlog on the "
            "stock it projects from its demand plan, at the scenario's rates (the records keep the plan, so it "
            "is priced again from them). The simulated cost is what happened when the plan met the random "
            "demand, lead times and capacity of each future, over the days after the warm-up.", "meta"))
    if d.plan is not None and len(d.plan):
        b.add("finance", "plan_vs_actual", "Plan against actual per family: demand, sales, production",
              "Demand plan and production plan in force when each bucket started, against actual sales and "
              "production; mean over replications. " + _supply_note(d.plan, case),
              lambda: charts.plan_vs_actual(d.plan, b.colors, d.policies, case,  # type: ignore[arg-type]
                                            warmup=_warmup(d)))
    else:
        b.note("finance", "Plan against actual by family needs plan.csv (demand plan, production plan, actual "
                          "sales and production per bucket), which this run did not write.")


def plan_cost_sentences(d: ResultsData, case: str) -> list[str]:
    """Per policy: the first plan's own cost (``first_plan_cost`` of plan.csv, summed over its buckets, mean
    over replications) next to the simulated total cost with its 95% CI; none when no plan was priced."""
    plan = d.plan
    if plan is None or "first_plan_cost" not in plan.columns:
        return []
    plan = plan[plan["case"] == case] if "case" in plan.columns else plan
    sel = d.summary[(d.summary["case"] == case) & (d.summary["kpi"] == "total_cost")]
    cost = {str(r["policy"]): (float(r["mean"]), float(r["ci_low"]), float(r["ci_high"]))
            for r in sel.to_dict("records")}
    warm, horizon = d.manifest.get("warmup", 0), d.manifest.get("horizon")
    out = []
    for p in d.policies:
        rows = plan[(plan["policy"] == p) & plan["first_plan_cost"].notna()]
        if rows.empty:
            continue
        start = float(rows["bucket_start"].min())
        end = float((rows["bucket_start"] + rows["bucket_days"]).max())
        n = len(rows["bucket"].unique())
        text = (f"{p}: the first S&OP cycle's plan costs {_money(float(rows['first_plan_cost'].sum()))} over "
                f"its {n} bucket{'s' if n > 1 else ''}, days {start:g}–{end:g}")
        mean, low, high = cost.get(p, (math.nan,) * 3)
        if not math.isnan(mean):
            window = f"days {warm:g}–{horizon:g}" if isinstance(horizon, int | float) else "after the warm-up"
            text += f"; simulated total cost {_money(mean)} (95% CI {_money(low)} to {_money(high)}), {window}"
        out.append(text + ".")
    return out


def _money(x: float) -> str:
    """An amount as a plan is read: $422,275."""
    return ("-" if x < 0 else "") + f"${abs(x):,.0f}" if x == x else "n/a"


def _supply_note(plan: Any, case: str) -> str:
    """What the supply chart's demand lines count, for its caption."""
    if "demand_plan_made" not in plan.columns:
        return ("Demand and sales are the whole family's, including any product bought from a supplier rather "
                "than made, which the production lines do not cover.")
    note = ("Demand and sales count only the products a plant makes, so they compare with production; "
            "products bought from suppliers are left out of them")
    bought = charts.bought_in_families(plan, case)
    if not bought:
        return note + " (no family buys any in)."
    return (note + ", and what the suppliers delivered is drawn as its own line (received from suppliers), in "
            + ", ".join(bought) + ".")


def _slug(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in s)[:60]


def method_section(b: Builder, case: str) -> None:
    d = b.data
    m = d.manifest
    rows: list[tuple[str, str]] = []

    def add(label: str, value: Any) -> None:
        if value is not None and value != "" and value != []:
            rows.append((label, value if isinstance(value, str) else _plain(value)))

    add("Scenario", m.get("scenario"))
    add("Scenario file", m.get("scenario_file"))
    add("Scenario hash (SHA-256)", m.get("scenario_sha256") or m.get("scenario_hash"))
    add("Seed", m.get("seed"))
    add("Replications per policy", m.get("replications") or _replications(d))
    add("Horizon (days)", m.get("horizon"))
    add("Warm-up (days, cut from every KPI)", m.get("warmup"))
    add("Suggested warm-up (MSER-5, days)", m.get("suggested_warmup"))
    add("Policies", ", ".join(d.policies))
    add("Baseline", d.baseline)
    if len(d.cases) > 1 or d.cases != [""]:
        add("Cases", ", ".join(c or "(base)" for c in d.cases))
    add("Shocks", _shock_text(m))
    add("Command", " ".join(map(str, m["command"])) if isinstance(m.get("command"), list) else m.get("command"))
    add("Created", m.get("created"))
    if isinstance(m.get("versions"), dict):
        add("Versions", ", ".join(f"{k} {v}" for k, v in m["versions"].items()))
    b.text("method", html.key_value_table(rows))
    sw, w = m.get("suggested_warmup"), m.get("warmup")
    if isinstance(sw, int | float) and isinstance(w, int | float) and sw > w:
        b.note("method", f"The warm-up used ({w:g} days) is shorter than the MSER-5 suggestion ({sw:g} days): "
                         "early KPIs may still carry the start-up state.")
    b.text("method", html.para(
        "Method: every policy is simulated on the same random futures (replication i draws the same demand, "
        "lead times and shocks whatever the policy). KPIs are measured after the warm-up. Means come with 95% "
        "Student-t confidence intervals over replications; differences between policies are paired by "
        "replication, which removes most of the noise the policies share. An interval never leaves the values "
        "a KPI can take (rates 0–100%, times, quantities and costs at least 0; a difference of two rates "
        "−100 to +100 points): a Student-t interval that crosses such a limit is cut there, which keeps its "
        "coverage, and when every replication sits at the limit the interval is the exact distribution-free "
        "one (the rule of three) instead of a single point. With few replications and skewed results (a "
        "recovery time that is 0 in most futures and long in a few) an interval is rougher than its 95% "
        "suggests: add replications."))
    if glossary := _definitions(d, case):
        b.text("method", "<h3>What the KPIs mean</h3>")
        b.text("method", html.key_value_table(glossary))
    for n in d.notes:
        b.text("method", html.para(n, "meta"))


def _definitions(d: ResultsData, case: str) -> list[tuple[str, str]]:
    """(label, definition) of the KPIs this report shows that need one: a sign to read (bias, tracking
    signal, forecast value added, against plan) or a formula."""
    shown = [*TABLE_KPIS, *SALES_KPIS, *SERVICE_KPIS, *STOCK_KPIS, *FINANCE_KPIS, "tracking_signal_lag1",
             "tracking_signal_lag3"]
    out = []
    for k in _finite_kpis(d, list(dict.fromkeys(shown)), case):
        i = info(k)
        if i.description:
            out.append((i.label, i.description))
    return out


def _plain(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list | tuple):
        return ", ".join(_plain(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_plain(x)}" for k, x in v.items())
    return str(v)


def _shock_text(m: dict[str, Any]) -> str | None:
    parts = []
    for c in m.get("cases") or []:
        if isinstance(c, dict):
            names = [str(s.get("name", s.get("type", "?"))) for s in c.get("shocks") or [] if isinstance(s, dict)]
            parts.append(f"{c.get('name', '?')}: {', '.join(names) or 'no shock'}")
    for s in m.get("shocks") or [] if isinstance(m.get("shocks"), list) else []:
        if isinstance(s, dict):
            bits = [str(s.get("name", "?")), str(s.get("type", ""))]
            if "start" in s:
                bits.append(f"day {s['start']}")
            elif "window" in s:
                bits.append(f"days {_plain(s['window'])}")
            if _number(s.get("duration")) is not None:
                bits.append(f"~{_number(s.get('duration')):g} days")
            parts.append(" ".join(b for b in bits if b))
        else:
            parts.append(str(s))
    return "; ".join(parts) or None


# ---------------------------------------------------------------------------------------------- entry point


def build(data: ResultsData, keep_figures: bool = False, workers: int | None = 1) -> Builder:
    """Every section and chart of the report, in memory (charts drawn on ``workers`` processes where that is
    safe, None: the cores available; ``keep_figures`` keeps the matplotlib figures and draws here)."""
    b = Builder(data)
    b.keep_figures = keep_figures
    case = data.primary_case
    summary_section(b, case)
    sales_section(b, case)
    operations_section(b, case)
    finance_section(b, case)
    method_section(b, case)
    b.finish(workers)
    return b


def _given(fig: Figure) -> Callable[[], Figure]:
    def make() -> Figure:
        return fig

    return make


def _writer(data: bytes) -> Callable[[BinaryIO], int]:
    def write(fh: BinaryIO) -> int:
        return fh.write(data)

    return write


def write_report(results_dir: str | Path, formats: Sequence[str] = ("html", "png"),
                 out: str | Path | None = None) -> Path:
    """Write ``report.html`` (one self-contained file) and ``figures/*.png`` into a results directory.

    Args:
        results_dir: A directory written by ``simsop run``, ``compare`` or ``stress``.
        formats: ``"html"`` and/or ``"png"``.
        out: Where to write (default: ``results_dir``).

    Returns:
        The path of ``report.html``, or of the figures directory when no HTML was asked for.
    """
    from simsop.results import atomic_write_bytes, atomic_write_text

    bad = set(formats) - {"html", "png"}
    if bad:
        raise ValueError(f"unknown report formats {sorted(bad)}; expected 'html' and/or 'png'")
    t0 = time.perf_counter()
    data = load_results(results_dir)
    b = build(data, workers=None)
    dest = Path(out) if out is not None else Path(results_dir)
    fig_dir = dest / "figures"
    if "png" in formats:
        fig_dir.mkdir(parents=True, exist_ok=True)
        for c in b.charts:
            atomic_write_bytes(fig_dir / f"{c.key}.png", _writer(c.png))
    if "html" not in formats:
        return fig_dir
    name = data.manifest.get("scenario") or data.path.name
    n = _replications(data)
    subtitle = (f"{len(data.policies)} polic{'y' if len(data.policies) == 1 else 'ies'} × {n} replications"
                + (f" × {len(data.cases)} cases" if len(data.cases) > 1 else "")
                + (f", seed {data.manifest['seed']}" if "seed" in data.manifest else "")
                + f"; built in {time.perf_counter() - t0:.1f} s from {data.path}")
    page = html.document(f"S&OP simulation report: {name}", subtitle, list(b.sections.values()))
    path = dest / "report.html"
    atomic_write_text(path, page)
    path.chmod(0o644)  # a file to send around: readable like any document, not private like a temp file
    return path


__all__ = ["Builder", "Chart", "build", "shock_windows", "write_report"]
