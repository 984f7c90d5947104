"""The workshop debrief shows the lesson a class is built around: each team's service per month and product
(a stock-out of one product inside a month is not hidden by another product's stock), stock drawn at the
time it refers to, and a computed "what made the difference" whose numbers are the teams' own results.

The game: teach_promotion through July (the promotion, 1-14 July), team A pre-builds in the spring, team B
keeps to the plan, team C leaves every round to the bot."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from simsop.cli import main
from simsop.workshop.game import Workshop

ROOT = Path(__file__).resolve().parent.parent
PROMO = ROOT / "scenarios" / "teach_promotion.yaml"
BEER = ROOT / "scenarios" / "beer_game.yaml"
JULY = 6  # period index: January is period 0 (round 1's month); July is round 7's

# Each round's rows (cycle c = round c + 1 plans month c + 1): A pre-builds crisps in the spring, B keeps the plan.
PREBUILD = [f"{c},snacks,{c + 1},{q}\n" for c, q in enumerate((900, 1600, 950, 1300, 1450, 1100, 750))]
KEEP = [f"{c},crisps,{c + 1},{a}\n{c},pretzels,{c + 1},{b}\n"
        for c, (a, b) in enumerate(((560, 280), (600, 300), (620, 300), (636, 369), (624, 328), (597, 367),
                                    (655, 255)))]


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["workshop", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def promo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("debrief") / "promo"
    r = cli("new", str(PROMO), "--teams", "A,B,C", "--dir", str(folder), "--rounds", "7")
    assert r.exit_code == 0, r.output
    (folder / "decisions" / "A.csv").write_text("cycle,family,bucket,production\n")
    (folder / "decisions" / "B.csv").write_text("cycle,product,bucket,production\n")
    for k in range(7):
        for team, rows in (("A", PREBUILD), ("B", KEEP)):
            with (folder / "decisions" / f"{team}.csv").open("a") as fh:
                fh.write(rows[k])
        r = cli("advance", str(folder))
        assert r.exit_code == 0, r.output
    return folder


@pytest.fixture(scope="module")
def data(promo: Path) -> dict[str, Any]:
    from simsop.report.debrief_service import lesson_data

    ws = Workshop.open(promo)
    return {**ws.debrief_data(), **lesson_data(ws)}


def _results(folder: Path, k: int, team: str) -> dict[str, Any]:
    return dict(json.loads((folder / "results" / f"round-{k}" / f"{team}.json").read_text()))


def test_a_stockout_of_one_product_inside_a_month_shows_in_the_products_service(data: dict[str, Any]) -> None:
    """Crisps run out during the promotion for the teams that did not pre-build, while the family's month-end
    stock (pretzels' stock included) stays above 0: the debrief's per-product, per-month service shows it."""
    sv = data["service"]["teams"]
    assert data["period_labels"][JULY] == "Jul"
    for team in ("B", "C"):
        crisps = sv[team]["products"]["crisps"]
        assert crisps["lost"][JULY] > 50 and crisps["otif"][JULY] < 0.5
        assert sv[team]["products"]["pretzels"]["lost"][JULY] == 0
        # What the family chart shows at the end of July hides the stock-out...
        assert data["teams"][team]["families"]["snacks"]["net_stock"][JULY] > 0
        # ...which the daily stock of crisps shows: below 0 (backlog) inside July.
        july = crisps["stock"][data["edges"][JULY]:data["edges"][JULY + 1]]
        assert min(july) < -100
    a = sv["A"]["products"]["crisps"]
    assert a["lost"][JULY] == 0 and a["otif"][JULY] == 1.0 and min(a["stock"][181:212]) > 0
    from simsop.report.debrief import debrief_html

    page = debrief_html(data)
    row = page[page.index("Jul: crisps"):]
    row = row[:row.index("</tr>")]
    c = sv["C"]["products"]["crisps"]
    assert f"OTIF {100 * c['otif'][JULY]:.0f}%, lost {c['lost'][JULY]:,.0f}, late {c['late'][JULY]:,.0f}" in row
    assert "OTIF 100%, lost 0, late 0" in row  # team A's cell


def test_the_months_service_is_each_rounds_result(promo: Path, data: dict[str, Any]) -> None:
    """A team's service per month is what its results file gives for the round of that month, its months add
    up to its game, and its per-product lost units add up to its lost sales."""
    edges = data["service"]["edges"]
    for team, t in data["service"]["teams"].items():
        for k in range(1, 8):
            doc = _results(promo, k, team)
            i = edges.index(doc["counted"][0])  # the month round k counted (January is round 1's)
            assert doc["counted"][1] == edges[i + 1]
            for key in ("otif", "fill_rate", "revenue", "holding_cost"):
                assert t["periods"][i][key] == pytest.approx(doc["round_metrics"][key], rel=1e-6, abs=1e-6), (
                    team, k, key)
        cum = _results(promo, 7, team)["metrics"]
        for key in ("lost_sales_units", "avg_on_hand", "holding_cost", "overtime_cost", "profit", "revenue", "otif"):
            assert t["totals"][key] == pytest.approx(cum[key], rel=1e-6, abs=1e-6), (team, key)
        # The months' profits add up to the game's: a month's overtime is its own, not the whole run's.
        assert sum(p["profit"] for p in t["periods"]) == pytest.approx(cum["profit"], rel=1e-6)
        lost = sum(sum(p["lost"]) for p in t["products"].values())
        assert lost == pytest.approx(cum["lost_sales_units"], abs=1e-3)


def test_the_narrative_says_what_made_the_difference_in_the_teams_own_numbers(promo: Path,
                                                                               data: dict[str, Any]) -> None:
    from simsop.report.debrief_text import difference_lines

    lines = difference_lines(data)
    board = list(csv.DictReader((promo / "results" / "round-7" / "leaderboard.csv").open()))
    first = board[0]["team"]
    profit = {r["team"]: float(r["profit"]) for r in board}
    assert lines[0].startswith(f"{first} finished first on profit (${profit[first]:,.0f})")
    text = " ".join(lines)
    for team in "ABC":
        cum = _results(promo, 7, team)["metrics"]
        assert (f"{team} " in text and f"carried {cum['avg_on_hand']:,.0f} units on average "
                f"(holding cost ${cum['holding_cost']:,.0f})") in text
    c = data["service"]["teams"]["C"]["products"]["crisps"]
    assert (f"C lost {c['lost'][JULY]:,.0f} units of crisps and shipped {c['late'][JULY]:,.0f} late in Jul "
            f"(crisps OTIF {100 * c['otif'][JULY]:.0f}% that month)") in text
    a = _results(promo, 7, "A")["metrics"]
    assert f"OTIF {100 * a['otif']:.0f}% over the game, no sales lost" in text
    for team in [r["team"] for r in board[1:]]:
        gap = profit[first] - profit[team]
        assert f"{team} made ${gap:,.0f} less profit than {first}" in text
    # The pre-builder's gap is its holding cost, in its own units and money.
    w = _results(promo, 7, first)["metrics"]
    if first != "A":
        hold = a["holding_cost"] - w["holding_cost"]
        assert (f"holding cost −${hold:,.0f} ({a['avg_on_hand']:,.0f} units on hand on average against "
                f"{w['avg_on_hand']:,.0f})") in text


def test_points_are_drawn_at_the_dates_their_values_refer_to(data: dict[str, Any],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Month-end stock sits at the month's end; daily stock at the end of its day; the stock-out inside the
    promotion's shading; a month's OTIF in the middle of its month."""
    from simsop.report.debrief import _day_x
    from tests.helpers import debrief_figures

    figs = debrief_figures(data, monkeypatch)
    edges = data["edges"]
    fam = figs["Stock (above 0) and backlog (below 0) at DC, end of each month"]
    line = next(ln for ln in fam.axes[0].lines if ln.get_gid() == "net_stock:C")
    assert list(line.get_xdata()) == [_day_x(e, edges) for e in edges[1:]]
    assert line.get_xdata()[JULY] == pytest.approx(_day_x(212, edges))  # 31 July's end = 1 August
    daily = figs["Stock (above 0) and backlog (below 0) of each product, day by day"]
    crisps = next(ax for ax in daily.axes if ax.get_title(loc="left") == "crisps")
    c = next(ln for ln in crisps.lines if ln.get_gid() == "stock:C:crisps")
    x, y = np.asarray(c.get_xdata()), np.asarray(c.get_ydata())
    assert x[181] == pytest.approx(_day_x(182, edges))  # 1 July's end
    promo = next(p for p in crisps.patches if str(p.get_gid()).startswith("shock:"))
    x0, x1 = promo.get_x(), promo.get_x() + promo.get_width()
    out = x[y < 0]
    assert len(out) and x0 <= out[0] <= x1  # the stock-out starts inside the promotion
    service = figs["Service month by month: OTIF (top) and units lost or late (bottom)"]
    otif = next(ln for ln in service.axes[0].lines if ln.get_gid() == "otif:C")
    mid = (_day_x(181, edges) + _day_x(212, edges)) / 2
    assert otif.get_xdata()[JULY] == pytest.approx(mid)
    assert otif.get_ydata()[JULY] == pytest.approx(100 * data["service"]["teams"]["C"]["periods"][JULY]["otif"])


def test_the_page_leads_with_the_difference_and_a_beer_game_gets_it_too(tmp_path: Path, data: dict[str, Any]) -> None:
    from simsop.report.debrief import debrief_html
    from simsop.report.debrief_service import debrief_page

    page = debrief_html(data)
    sections = [page.index(f'id="{s}"') for s in ("leaderboard", "difference", "service", "bullwhip", "stock")]
    assert sections == sorted(sections)
    assert "<script" not in page and "http" not in page.split("<main>")[1]
    folder = tmp_path / "beer"
    assert cli("new", str(BEER), "--teams", "A,B", "--dir", str(folder), "--rounds", "4").exit_code == 0
    for _ in range(4):
        assert cli("advance", str(folder), "--yes").exit_code == 0
    beer = debrief_page(Workshop.open(folder))
    assert 'id="difference"' in beer and "finished first on" in beer and "day by day" not in beer


def test_the_pnl_says_it_counts_the_month_after_the_last_round(promo: Path, data: dict[str, Any]) -> None:
    """The leaderboard's totals count the month after the last round, where its plan plays out, and so do the
    debrief's P&L and cost chart: they say so, with the dates, instead of 'over the rounds played'."""
    from simsop.report.debrief import debrief_html

    doc = _results(promo, 7, "A")
    ws = Workshop.open(promo)
    tail = ws.span_text(*doc["tail"])
    total = ws.span_text(0, doc["tail"][1])
    assert doc["tail"][1] > doc["tail"][0] and doc["tail_metrics"]["profit"] != 0
    import html

    page = html.unescape(" ".join(debrief_html(data).split()))
    said = f"ver {total}: the rounds played and {tail}, after the last round, where its plan plays out"
    assert f"O{said}, in the scenario's currency ($)" in page and f"moved, o{said}." in page
    assert "Over the rounds played" not in page
