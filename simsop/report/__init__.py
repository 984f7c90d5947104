"""Charts and a one-file HTML report of an experiment's results: the only part of simsop that imports
matplotlib or writes HTML.

``write_report(results_dir) -> Path`` reads a results directory and writes ``report.html`` (self-contained:
images embedded, no network, no scripts) and ``figures/*.png`` (for slides). Modules:

* ``data``: read the results directory (what is missing is derived or reported, never fatal);
* ``charts``: one function per chart, DataFrames in, a matplotlib Figure out;
* ``summary``: the executive summary sentences; ``html``: the page; ``colors``: one colour per policy;
* ``extract``: per-replication tables (plan against actual, forecast accuracy per cycle, shocks) for the
  experiment runner, from a replication's records (pandas only, no matplotlib).

The results directory (files other than ``kpis.csv``/``summary.csv`` are optional; columns ``policy`` and
``case`` may be absent for a single policy or case):

* ``manifest.json``: scenario, scenario_sha256, seed, replications, warmup, suggested_warmup, horizon,
  policies (in table order; colours follow the names), baseline, cases / shocks, command, versions, created;
* ``kpis.csv``: policy, case, replication, seed, then one column per KPI (``bullwhip_<warehouse>`` too);
* ``summary.csv``: policy, case, kpi, n, mean, std, ci_low, ci_high, half_width, p5, p50, p95 (and
  ``ci_method``, how the interval met the KPI's range: t, t_clipped, at_bound, none; absent in older runs);
* ``paired.csv``: policy, case, kpi, mean_diff, ci_low, ci_high, significant (policy − baseline);
* ``paired_cases.csv`` (stress runs): policy, case, kpi, mean_diff, ci_low, ci_high, significant (case −
  the baseline case, per policy; derived from ``kpis.csv`` when missing);
* ``series.csv``: policy, case, series, day, p5, p25, p50, p75, p95, mean; series ``on_hand``, ``backlog``,
  ``demand``, ``orders_<warehouse>``, ``production``, ``planned_production``, ``capacity_load`` (a fraction
  of regular capacity), and ``rolling7:<series>``: the same columns for each replication's trailing 7-day
  average of the series (the bands of the charts' 7-day lines; optional);
* ``plan.csv``: policy, case + :data:`simsop.report.extract.PLAN_COLUMNS` (means over replications);
* ``forecast.csv``: policy, case + :data:`simsop.report.extract.FORECAST_COLUMNS` (means over replications);
* ``shocks.csv``: case, replication + :data:`simsop.report.extract.SHOCK_COLUMNS` (realised shocks).
"""

from __future__ import annotations

from typing import Any

__all__ = ["write_report"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `simsop.report.extract` (used by the runner's workers) does not import matplotlib.
    if name == "write_report":
        from simsop.report.build import write_report

        return write_report
    raise AttributeError(f"module 'simsop.report' has no attribute {name!r}")
