"""Reports read side by side and by an executive: a policy keeps its colour from report to report, daily
charts of flows with a weekly or batch rhythm show the trend instead of the daily swings, and the KPI table
calls a policy best only when it is significantly better than every other one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import to_hex

from simsop.report.build import build, write_report
from simsop.report.colors import policy_colors
from simsop.report.data import load_results
from tests.test_report import make_results_dir

# ---------------------------------------------------------------------------------------------- colours


def _rename(path: Path, names: dict[str, str]) -> Path:
    """Rename policies everywhere in a results directory (a custom policy's results look like this)."""
    for f in path.glob("*.csv"):
        df = pd.read_csv(f)
        if "policy" in df.columns:
            df["policy"] = df["policy"].replace(names)
            df.to_csv(f, index=False)
    m = json.loads((path / "manifest.json").read_text())
    m["policies"] = [names.get(p, p) for p in m["policies"]]
    m["baseline"] = names.get(m["baseline"], m["baseline"])
    (path / "manifest.json").write_text(json.dumps(m))
    return path


def _legend_colours(figures: dict) -> dict[str, set[str]]:
    """Policy -> every colour a legend gives it, over all charts; labels as printed."""
    out: dict[str, set[str]] = {}
    for fig in figures.values():
        for leg in fig.legends:
            for h, t in zip(leg.legend_handles, leg.get_texts(), strict=True):
                if type(h).__name__ == "Rectangle" and h.get_facecolor()[3] == 1.0 and h.get_hatch() is None:
                    out.setdefault(t.get_text(), set()).add(to_hex(h.get_facecolor()))
    return out


def _swatches(page: str) -> dict[str, str]:
    return {name: colour.lower() for colour, name in
            re.findall(r'<span class="swatch" style="background:([^"]+)"></span>([^<]+)</th>', page)}


def test_a_policy_has_the_same_colour_in_every_report_and_the_baseline_is_named(tmp_path: Path) -> None:
    """Colours followed the place in the run's policy list: hybrid was green in a run of level, chase, hybrid
    and blue in a run of hybrid, level. A reader comparing two reports (or slides from them) must find a
    policy in the same colour, in every chart and in the table, whichever other policies ran and whichever is
    the baseline; a custom policy name too, and no two policies of a report may share one."""
    a = build(load_results(make_results_dir(tmp_path / "a", replications=4, days=60)), keep_figures=True)
    b = build(load_results(_rename(make_results_dir(tmp_path / "b", replications=4, days=60,
                                                    policies=("hybrid", "level", "chase")),
                                   {"chase": "acme:Planner"})), keep_figures=True)
    seen: dict[str, set[str]] = {}
    for built, baseline in ((a, "level"), (b, "hybrid")):
        legends = _legend_colours(built.figures)
        # The baseline is named as such in every legend that shows it, and only the baseline.
        assert f"{baseline} (baseline)" in legends
        assert not [t for t in legends if t.endswith("(baseline)") and t != f"{baseline} (baseline)"]
        for label, colours in legends.items():
            seen.setdefault(label.removesuffix(" (baseline)"), set()).update(colours)
        # The profit bridge's bars are in the same colours as the legends.
        for p in built.data.policies:
            bar = next(x for ax in built.figures["waterfall"].axes for x in ax.patches
                       if x.get_gid() == f"waterfall:{p}:profit")
            seen[p].add(to_hex(bar.get_facecolor()))
        # Distinct within a report.
        own = {p: seen[p] for p in built.data.policies}
        assert len({min(v) for v in own.values()}) == len(own)
        # The HTML table's swatches and headers.
        sw = _swatches("".join(built.sections["summary"].blocks))
        assert f"{baseline} (baseline)" in sw
        for name, colour in sw.items():
            seen[name.removesuffix(" (baseline)")].add(colour)
    assert all(len(v) == 1 for v in seen.values()), seen
    assert seen["acme:Planner"] == {policy_colors(["acme:Planner"])["acme:Planner"].lower()}
    # A custom name's colour comes from the name: the same beside any other names (of two names that pick
    # the same colour, the later in name order moves: 'acme:Planner' comes first here), never a built-in's,
    # and distinct among many.
    alone = policy_colors(["acme:Planner"])["acme:Planner"]
    for others in ([], ["lp"], ["zeta", "none", "x:Y"], [f"team {i}" for i in range(40)]):
        many = policy_colors(["none", "chase", "hybrid", "level", "lp", "replay", *others, "acme:Planner"])
        assert many["acme:Planner"] == alone
        assert len(set(many.values())) == len(many)


# ---------------------------------------------------------------------------------------------- daily series


def _weekly_batches(path: Path, policy: str, days: int) -> None:
    """series.csv where ``policy``'s plant makes 245 a day on five days of the week and nothing on two, and its
    backlog jumps every week (the deliveries of a weekly batch), in every replication alike."""
    s = pd.read_csv(path / "series.csv")
    day = np.arange(days)
    batch = np.where(day % 7 < 5, 245.0, 0.0)
    backlog = np.where(day % 7 < 2, 60.0, 0.0)
    for name, values in (("production", batch), ("capacity_load", batch / 200.0), ("backlog", backlog)):
        sel = (s["policy"] == policy) & (s["series"] == name)
        for q in ("p5", "p25", "p50", "p75", "p95", "mean"):
            s.loc[sel, q] = values[s.loc[sel, "day"].to_numpy()]
    s.to_csv(path / "series.csv", index=False)


def test_a_weekly_batch_rhythm_is_drawn_as_its_weekly_average_with_the_plan_on_the_same_basis(
        tmp_path: Path) -> None:
    """example_company's policy none makes a batch on some days and nothing on others: 'Production against
    plan' swung between 0 and 250 every day and hid the trend. A series with a period of 7 days has a constant
    7-day average, equal to its mean rate (here 5/7 of 245 = 175 a day): the chart draws that, says
    so on its axis and in its caption, and draws the plan on the same basis; a level (backlog) with the same
    rhythm goes weekly too, while a smooth one keeps its daily bands."""
    days = 84
    res = make_results_dir(tmp_path / "r", replications=4, days=days)
    _weekly_batches(res, "chase", days)
    b = build(load_results(res), keep_figures=True)
    fig = b.figures["series"]
    lines = {x.get_gid(): x for ax in fig.axes for x in ax.lines if x.get_gid()}
    inner = slice(6, days)  # a full week up to each day
    for gid, want in (("mean7:production:chase", 175.0), ("mean7:capacity_load:chase", 87.5),
                      ("mean7:backlog:chase", 60.0 * 2 / 7)):
        y = np.asarray(lines[gid].get_ydata(), dtype=float)[inner]
        np.testing.assert_allclose(y, want, rtol=1e-9)
    assert "mean7:planned_production:chase" in lines and "median:planned_production:chase" not in lines
    assert not [g for g in lines if g.startswith("median:production") or g.startswith("median:backlog")]
    assert "median:on_hand:chase" in lines  # smooth: daily, with its bands
    prod = next(ax for ax in fig.axes if ax.get_title(loc="left").startswith("Production against plan"))
    assert "7-day average" in prod.get_title(loc="left") and "7-day average" in prod.get_ylabel()
    # Nothing on the production panel swings from day to day any more.
    for x in prod.lines:
        y = np.asarray(x.get_ydata(), dtype=float)[inner]
        assert np.nanmax(np.abs(np.diff(y))) < 0.1 * 175.0, x.get_gid()
    caption = next(c.caption for c in b.charts if c.key == "series")
    assert "7-day average" in caption and "batch" in caption


def test_a_panel_with_nothing_in_it_is_left_out_and_said_so(tmp_path: Path) -> None:
    """beer_game has no plant: its daily chart drew a flat 'Production against plan' at 0 and an empty
    'Capacity load' panel."""
    days = 56
    res = make_results_dir(tmp_path / "r", replications=4, days=days)
    s = pd.read_csv(res / "series.csv")
    for name, value in (("production", 0.0), ("planned_production", np.nan), ("capacity_load", np.nan)):
        s.loc[s["series"] == name, ["p5", "p25", "p50", "p75", "p95", "mean"]] = value
    s.to_csv(res / "series.csv", index=False)
    b = build(load_results(res), keep_figures=True)
    titles = [ax.get_title(loc="left") for ax in b.figures["series"].axes]
    assert len(titles) == 3 and not [t for t in titles if t.startswith(("Production", "Capacity"))]
    caption = next(c.caption for c in b.charts if c.key == "series")
    assert "Not drawn: production against plan and capacity load" in caption


# ---------------------------------------------------------------------------------------------- best policy


def _close_race(path: Path, n: int = 30) -> Path:
    """Three policies on the same n futures (common random numbers), built so that what is significant is
    known without a seed: paired differences that alternate +2d, -d have mean d/2 and a t statistic of
    0.5 / 1.525 * sqrt(n) = 1.80 for n = 30, under the t quantile 2.045 (not significant); a constant
    difference is significant."""
    from simsop.stats import paired_table, summarize_frame

    path.mkdir(parents=True)
    i = np.arange(n)
    base = np.sin(1.7 * i)  # what the futures share
    wiggle = np.where(i % 2 == 0, 2.0, -1.0)  # + 2d, - d, ...: mean d/2, not significant
    rows = []
    for p in ("none", "level", "lp"):
        rows += [{"policy": p, "case": "base", "replication": int(r), "seed": 1} for r in i]
    kp = pd.DataFrame(rows)
    pol = kp["policy"].to_numpy()
    b, w = np.tile(base, 3), np.tile(wiggle, 3)
    # Fill rate: level 99.9% + 0.005 points on average over none's 99.9%, not significant; lp far behind.
    kp["fill_rate"] = 0.999 + 0.0002 * b + np.select([pol == "level", pol == "lp"], [0.0001 * w, -0.05], 0.0)
    # Profit: lp beats the baseline none by far, and level by 25 on average, not significantly.
    kp["profit"] = 1e6 + 5e4 * b + np.select([pol == "lp", pol == "level"], [5000.0, 5000.0 - 50.0 * w], 0.0)
    # Inventory (lower is better): lp lowest by a constant 200 against each: significant.
    kp["avg_on_hand"] = 1000.0 + 30 * b + np.select([pol == "lp", pol == "level"], [-200.0, 200.0], 0.0)
    # OTIF: the baseline none is best, 3 and 5 points ahead in every future: significant.
    kp["otif"] = 0.95 + 0.01 * b - np.select([pol == "lp", pol == "level"], [0.03, 0.05], 0.0)
    cols = ["fill_rate", "profit", "avg_on_hand", "otif"]
    kp.to_csv(path / "kpis.csv", index=False)
    summarize_frame(kp, ["policy", "case"], cols).to_csv(path / "summary.csv", index=False)
    paired_table(kp, "policy", "none", cols, by=["case"]).to_csv(path / "paired.csv", index=False)
    (path / "manifest.json").write_text(json.dumps({"scenario": "race", "replications": n, "policies":
                                                    ["none", "level", "lp"], "baseline": "none"}))
    return path


def _table_rows(page: str) -> dict[str, tuple[str, list[str]]]:
    """KPI label -> (verdict, policies whose cell is marked best) of the report's KPI table."""
    table = re.search(r'<table class="kpi">.*?</table>', page, re.S).group(0)
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
        cells = re.findall(r"<td([^>]*)>(.*?)</td>", row, re.S)
        label = re.sub(r"<[^>]+>.*", "", cells[0][1]).strip()
        verdict = re.search(r'class="ci verdict">([^<]*)<', cells[0][1])
        best = [p for p, (attrs, _) in zip(("none", "level", "lp"), cells[1:], strict=True) if "best" in attrs]
        out[label] = (verdict.group(1) if verdict else "", best)
    return out


def test_the_kpi_table_marks_a_best_policy_only_when_it_is_significantly_better_than_every_other(
        tmp_path: Path) -> None:
    """The table bolded the higher mean even when the difference was chance (example_company: fill rate
    99.9% against 99.9%). A policy is best only if its paired difference from every other policy has a 95%
    interval on the better side of zero (an intersection-union test: the claim 'better than all' is then
    wrong at most 5% of the time); beating the baseline is not enough when the runner-up is as good. Otherwise
    the row says 'no clear best', and the note under the table says what the marking means."""
    page = write_report(_close_race(tmp_path / "race")).read_text(encoding="utf-8")
    rows = _table_rows(page)
    fill = next(v for k, v in rows.items() if k.startswith("Fill rate"))
    profit = next(v for k, v in rows.items() if k.startswith("Profit"))
    stock = next(v for k, v in rows.items() if k.startswith("Average inventory on hand"))
    otif = next(v for k, v in rows.items() if k.startswith("OTIF"))
    assert fill == ("no clear best", [])  # level's mean is higher, by chance
    assert profit == ("no clear best", [])  # lp beats none, not level
    assert stock == ("", ["lp"])
    assert otif == ("", ["none"])  # the baseline, by the paired rows with their sign turned
    note = re.sub(r"\s+", " ", page)
    assert "significantly better than every other policy" in note and "No clear best" in note


def test_the_headline_calls_no_winner_when_the_leader_is_not_significantly_ahead_of_the_runner_up(
        tmp_path: Path) -> None:
    """lp's profit beats the baseline's by far but level's by 25 on average, not significantly: the headline said
    'Winner: lp' (and then, further on, that lp is not significantly ahead of every other policy). It now opens
    with 'No clear winner: lp leads on profit', as the KPI table's 'no clear best', in bold."""
    page = re.sub(r"\s+", " ", write_report(_close_race(tmp_path / "race")).read_text(encoding="utf-8"))
    headline = re.search(r'<p class="headline">(.*?)</p>', page).group(1)
    assert headline.startswith("<strong>No clear winner</strong>: lp leads on profit"), headline
    assert "Winner: lp" not in headline
    assert "not significant) against the runner-up level" in headline


def test_the_kpi_table_shows_promising_and_budget_kpis_only_where_the_run_measures_them(tmp_path: Path) -> None:
    """teach_limits quotes available-to-promise dates and sets an inventory budget: the report's KPI table shows
    on time to the requested date, the quoted delay and the buckets over budget (the report never showed them,
    so a class saw OTIF near 100% and not the 69% on time to the dates asked). textbook_base_stock measures none
    of them: they are left out (they would repeat OTIF, read 0 days, or be blank). A one-policy comparison of two
    variants does not tell the reader to 'compare policies with simsop compare': it is such a comparison."""
    from simsop.experiment import run_experiment
    from simsop.scenario import load_scenario

    root = Path(__file__).resolve().parent.parent / "scenarios"
    labels = ("On time to the requested date", "Average quoted delay", "Buckets over the inventory budget")
    for name, shown in (("teach_limits", True), ("textbook_base_stock", False)):
        sc = load_scenario(root / f"{name}.yaml")
        run_experiment(sc, replications=2, executor="serial", out=tmp_path / name)
        page = write_report(tmp_path / name).read_text(encoding="utf-8")
        table = re.search(r'<table class="kpi">.*?</table>', page, re.S).group(0)
        rows = [re.sub(r"<[^>]+>.*", "", re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[0]).strip()
                for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]
        assert all(any(k.startswith(label) for k in rows) is shown for label in labels), rows
    sc = load_scenario(root / "textbook_base_stock.yaml")
    run_experiment(sc, replications=2, executor="serial", cases=[("a", sc), ("b", sc)], out=tmp_path / "ab")
    assert "Compare policies with simsop compare" not in write_report(tmp_path / "ab").read_text(encoding="utf-8")
    assert "Compare policies with simsop compare" in (tmp_path / "textbook_base_stock" / "report.html").read_text(
        encoding="utf-8")
