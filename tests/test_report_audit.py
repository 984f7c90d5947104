"""What an S&OP executive and an analyst read in the report: numbers that keep their sign and their meaning
when rounded, runs of one replication that say they have no interval instead of 'n/a to n/a', stress cases
whose shocks never happened, and jargon explained where it is read."""

from __future__ import annotations

import html as html_lib
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from simsop.report.build import Builder, build, summary_section
from simsop.report.data import load_results
from simsop.report.summary import case_impacts, kpi_table
from tests.test_report import POLICIES, make_results_dir

CI_TEXT = re.compile(r"95% CI ([+-]?[\d.,]+) pts to ([+-]?[\d.,]+) pts; (not significant|significant)")


def _effects(rows: list[tuple[str, float, float, float]]) -> pd.DataFrame:
    """paired_cases.csv rows (case, mean_diff, ci_low, ci_high) of fill rate, case minus the base case; a
    95% interval is significant exactly when it excludes zero."""
    return pd.DataFrame([{"policy": "lp", "case": c, "kpi": "fill_rate", "mean_diff": d, "ci_low": lo,
                          "ci_high": hi, "significant": lo > 0 or hi < 0} for c, d, lo, hi in rows])


def test_a_small_difference_keeps_the_sign_that_says_whether_it_is_significant() -> None:
    """At one decimal a difference of 0.02 points and its interval printed '0.0 pts (95% CI 0.0 pts to 0.0 pts;
    significant)' (stress_grid, fill rate under a demand collapse), and an interval from -0.05 to +0.3 points
    printed '0.0 pts to +0.3 pts; not significant' (example_company, OTIF of level against none). A 95%
    interval is significant exactly when it excludes zero: the printed bounds must show that."""
    rows = [("collapse", 0.0002, 0.0001, 0.0003), ("outage", -0.00008, -0.0001, -0.00002),
            ("strike", 0.0013, -0.000496, 0.0031), ("promo", 0.00047, -0.00012, 0.00106),
            ("fire", -0.012, -0.02, -0.004), ("storm", 0.004, -0.003, 0.011)]
    lines = case_impacts(_effects(rows), ["lp"], ["base", *[r[0] for r in rows]], "base", kpis=("fill_rate",))
    assert len(lines) == len(rows)
    for line, (_, _, lo, hi) in zip(lines, rows, strict=True):
        m = CI_TEXT.search(line)
        assert m is not None, line
        low, high = (float(x.replace(",", "")) for x in m.group(1, 2))
        if m.group(3) == "significant":
            assert low * high > 0 and math.copysign(1, low) == math.copysign(1, lo), line
        else:
            assert low < 0 < high, line
        # and the numbers are the interval's, to the decimals shown
        assert low == pytest.approx(100 * lo, abs=0.051 if abs(100 * lo) >= 0.05 else 0.006), line
        assert high == pytest.approx(100 * hi, abs=0.051 if abs(100 * hi) >= 0.05 else 0.006), line


def _prose(b: Builder, section: str) -> str:
    """A section's words, tags and tables left out (its charts need not be drawn)."""
    sec = re.sub(r"<table.*?</table>", " ", "".join(b.sections[section].blocks), flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", sec)).split())


@pytest.mark.parametrize("policies", [("level",), POLICIES])
def test_one_replication_says_it_has_no_interval(tmp_path: Path, policies: tuple[str, ...]) -> None:
    """`simsop run -n 1` headlined 'profit 34,294 (95% CI n/a to n/a)', said 'Means over 1 random futures ...
    with 95% confidence intervals', and drew box plots of one value labelled '5th–95th percentile'. A single
    replication has no interval (a t-interval needs two values): the report says so, and with one policy
    too a sentence gives the values the charts would have shown as lone dots."""
    res = make_results_dir(tmp_path / "r", replications=1, days=60, policies=policies)
    b = build(load_results(res))
    text = _prose(b, "summary")
    assert "n/a to n/a" not in text and "1 random futures" not in text
    assert "no confidence interval: one replication" in text
    assert "With one replication there is no confidence interval" in text
    keys = {c.key for c in b.charts}
    if len(policies) == 1:
        assert not {"service", "inventory", "finance_kpis", "sales_kpis"} & keys, keys
        ops = " ".join(b.sections["operations"].blocks)
        assert "one replication of one policy has no spread to draw" in ops
        otif = float(pd.read_csv(res / "summary.csv").set_index("kpi").loc["otif", "mean"])
        assert f"OTIF {100 * otif:.1f}%" in html_lib.unescape(ops)
    else:  # several policies: the dots still compare them
        assert {"service", "inventory", "finance_kpis"} <= keys


def test_a_stress_case_whose_shocks_never_happened_says_so() -> None:
    """stress_grid's port strike (probability 0.5) happened in none of 4 futures: its line read 'profit 0 (95%
    CI 0 to 0; not significant); OTIF 0.0 pts (95% CI 0.0 pts to 0.0 pts; ...)' for each policy, which looks
    like a shock the plan absorbed. With no shock in any future the case is the base case, exactly."""
    effects = pd.DataFrame([{"policy": p, "case": "strike", "kpi": k, "mean_diff": 0.0, "ci_low": 0.0,
                             "ci_high": 0.0, "significant": False}
                            for p in ("none", "lp") for k in ("profit", "otif", "fill_rate")])
    summary = pd.DataFrame([{"policy": p, "case": "strike", "kpi": "shock_start", "n": 0, "n_nan": 4,
                             "mean": math.nan, "ci_low": math.nan, "ci_high": math.nan} for p in ("none", "lp")])
    lines = case_impacts(effects, ["none", "lp"], ["base", "strike"], "base", summary=summary)
    assert len(lines) == 2
    for line in lines:
        assert "none of the 4 futures" in line and "95% CI" not in line, line


def test_the_kpi_table_explains_its_jargon_on_the_label(tmp_path: Path) -> None:
    """OTIF, fill rate, MAPE and a bias's sign were defined only at the bottom of the page: an executive
    reading the table had no way to check what '+2.4%' of bias means. Every table row with a definition
    carries it as the label's tooltip, and the money and stock rows have one."""
    from simsop.report import html
    from simsop.report.colors import policy_colors
    from simsop.report.kpimeta import info

    data = load_results(make_results_dir(tmp_path / "r", replications=4, days=60))
    kpis = ["profit", "revenue", "total_cost", "otif", "fill_rate", "avg_on_hand", "avg_backlog",
            "avg_inventory_value", "forecast_mape_lag1", "forecast_bias_lag1"]
    page = html.kpi_table(kpi_table(data.summary, data.policies, kpis, "base"), data.policies,
                          policy_colors(data.policies))
    tips = dict((html_lib.unescape(label), html_lib.unescape(tip)) for tip, label in
                re.findall(r'<td title="([^"]*)" class="tip">([^<]*)(?:<br><span[^>]*>[^<]*</span>)?</td>', page))
    assert len(tips) == len(kpis), tips
    for k in kpis:
        assert info(k).description and info(k).description in tips.values(), k
    assert "over-forecast" in next(t for label, t in tips.items() if label.startswith("Forecast bias"))


def test_the_common_random_numbers_sentence_names_its_case_once(tmp_path: Path) -> None:
    """'the same 4 random futures (common random numbers) (case base)': two brackets in a row."""
    data = load_results(make_results_dir(tmp_path / "r", replications=4, days=60, cases=("base", "strike")))
    b = Builder(data)
    summary_section(b, data.primary_case)
    text = _prose(b, "summary")
    assert "(common random numbers) in the case base" in text and ") (case" not in text
