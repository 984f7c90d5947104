"""A stress test answers a planner's question: what a shock does to on-time delivery, inventory and profit.

Replaying an approved plan of the example company under a 40% demand drop for three months (10 replications),
average stock on hand rose from 3,785 to 5,885 units (+2,099, 95% CI +2,059 to +2,139) and the window's
profit is measured (shock_window_profit, with its no-shock twin), yet the report said only what the case did
to profit, OTIF and fill rate, and its disruption table had no profit row: the inventory part of the question
went unanswered. These check that the report's sentences and table carry both, with the numbers of
paired_cases.csv and summary.csv.
"""

from __future__ import annotations

import pandas as pd

from simsop.report.summary import case_impacts, case_table


def _effects() -> pd.DataFrame:
    """paired_cases.csv rows of one case (drop minus base) for the replayed plan."""
    rows = [("profit", -130_085.0, -135_774.0, -124_396.0), ("otif", 0.014, 0.006, 0.023),
            ("fill_rate", 0.005, 0.001, 0.010), ("avg_on_hand", 2_099.1, 1_902.3, 2_295.9),
            ("shock_window_profit", -52_000.0, -55_000.0, -49_000.0)]
    return pd.DataFrame([{"policy": "replay", "case": "drop", "kpi": k, "mean_diff": d, "ci_low": lo, "ci_high": hi,
                          "significant": lo > 0 or hi < 0} for k, d, lo, hi in rows])


def test_each_case_says_what_it_does_to_inventory() -> None:
    (line,) = case_impacts(_effects(), ["replay"], ["base", "drop"], "base")
    assert "average inventory on hand +2,099 (95% CI +1,902 to +2,296; significant)" in line
    assert line.index("profit") < line.index("inventory")


def test_the_disruption_table_gives_the_windows_profit_with_and_without_the_shocks() -> None:
    stats = {"shock_window_profit": 421_064.0, "shock_window_profit_noshock": 473_064.0,
             "shock_recovery_days": 0.1, "shock_recovered": 1.0, "shock_start": 440.0}
    summary = pd.DataFrame([{"policy": "replay", "case": "drop", "kpi": k, "mean": v, "n": 10, "n_nan": 0,
                             "ci_low": v - 1_000, "ci_high": v + 1_000, "half_width": 1_000, "ci_method": "t"}
                            for k, v in stats.items()])
    table, _ = case_table(summary, ["replay"], ["base", "drop"], effects=_effects())
    labels = table["KPI"].str.strip().tolist()
    i = next(n for n, x in enumerate(labels) if x.startswith("Profit during the disruption"))
    assert labels[i + 1].startswith("same futures, no shock") and labels[i + 2].startswith("effect of the shocks")
    assert table.iloc[i]["drop"][0] == "421,064" and table.iloc[i + 2]["drop"][0].startswith("-52,000")
