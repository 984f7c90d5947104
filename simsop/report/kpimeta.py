"""What the report needs to know about a KPI: a label, a unit, how to print it, which way is better, and the
range its values cannot leave (for confidence intervals; pure Python, so the experiment runner uses it too)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class KpiInfo:
    label: str
    unit: str  # for axis labels; "" when the KPI has none
    kind: str  # "pct" (a fraction shown as %), "money", "num"
    higher_is_better: bool | None  # None: neither (e.g. revenue against plan)


_KPIS: dict[str, KpiInfo] = {
    "profit": KpiInfo("Profit", "currency units", "money", True),
    "revenue": KpiInfo("Revenue", "currency units", "money", True),
    "total_cost": KpiInfo("Total cost", "currency units", "money", False),
    "gross_margin": KpiInfo("Gross margin", "currency units", "money", True),
    "cogs": KpiInfo("Cost of goods sold", "currency units", "money", False),
    "holding_cost": KpiInfo("Holding cost", "currency units", "money", False),
    "backorder_cost": KpiInfo("Backorder cost", "currency units", "money", False),
    "lost_sale_cost": KpiInfo("Lost-sale cost", "currency units", "money", False),
    "transport_cost": KpiInfo("Transport cost", "currency units", "money", False),
    "overtime_cost": KpiInfo("Overtime cost", "currency units", "money", False),
    "fixed_cost": KpiInfo("Fixed cost", "currency units", "money", False),
    "plan_change_cost": KpiInfo("Plan change cost", "currency units", "money", False),
    "subcontract_cost": KpiInfo("Subcontracting cost", "currency units", "money", False),
    "labor_cost": KpiInfo("Labour cost", "currency units", "money", False),
    "avg_inventory_value": KpiInfo("Average inventory value (working capital)", "currency units", "money", False),
    "plan_revenue": KpiInfo("Planned revenue", "currency units", "money", None),
    "otif": KpiInfo("OTIF (orders)", "%", "pct", True),
    "otif_line": KpiInfo("OTIF (lines)", "%", "pct", True),
    "fill_rate": KpiInfo("Fill rate (units)", "%", "pct", True),
    "cycle_service_level": KpiInfo("Cycle service level", "%", "pct", True),
    "utilization": KpiInfo("Factory utilization", "% of regular capacity", "pct", None),
    "avg_on_hand": KpiInfo("Average inventory on hand", "units", "num", False),
    "avg_backlog": KpiInfo("Average customer backlog", "units", "num", False),
    "max_backlog": KpiInfo("Peak customer backlog", "units", "num", False),
    "lost_sales_units": KpiInfo("Lost sales", "units", "num", False),
    "days_of_supply": KpiInfo("Days of supply", "days", "num", None),
    "inventory_turns": KpiInfo("Inventory turns", "per year", "num", True),
    "avg_days_late": KpiInfo("Average days late (late lines)", "days", "num", False),
    "overtime_units": KpiInfo("Overtime production", "units", "num", False),
    "forecast_mape_lag1": KpiInfo("Forecast MAPE, lag 1", "%", "num", False),
    "forecast_mape_lag3": KpiInfo("Forecast MAPE, lag 3", "%", "num", False),
    "forecast_wmape_lag1": KpiInfo("Forecast WMAPE, lag 1", "%", "num", False),
    "forecast_wmape_lag3": KpiInfo("Forecast WMAPE, lag 3", "%", "num", False),
    "forecast_bias_lag1": KpiInfo("Forecast bias, lag 1", "%", "pct", None),
    "forecast_bias_lag3": KpiInfo("Forecast bias, lag 3", "%", "pct", None),
    "tracking_signal_lag1": KpiInfo("Tracking signal, lag 1", "", "num", None),
    "fva_consensus_lag1": KpiInfo("Forecast value added of consensus, lag 1", "WMAPE points", "num", True),
    "plan_attainment": KpiInfo("Plan attainment", "%", "pct", None),
    "plan_nervousness": KpiInfo("Plan nervousness", "%", "pct", False),
    "production_variation": KpiInfo("Production variation", "%", "pct", False),
    "revenue_vs_plan": KpiInfo("Revenue against plan", "%", "pct", None),
    "shock_recovery_days": KpiInfo("Recovery time", "days", "num", False),
    "shock_worst_otif": KpiInfo("Worst OTIF (7-day rolling)", "%", "pct", True),
    "shock_window_otif": KpiInfo("OTIF during the disruption", "%", "pct", True),
    "shock_peak_backlog": KpiInfo("Peak customer backlog", "units", "num", False),
    "shock_lost_units": KpiInfo("Units lost to stock-outs", "units", "num", False),
    "shock_lost_revenue": KpiInfo("Revenue lost to stock-outs", "currency units", "money", False),
    "shock_window_revenue": KpiInfo("Revenue during the disruption", "currency units", "money", True),
    "shock_window_profit": KpiInfo("Profit during the disruption", "currency units", "money", True),
    "gross_margin_vs_plan": KpiInfo("Gross margin against plan", "%", "pct", None),
}


# Shares of orders, lines or units: a ratio of a count to a larger count.
_RATES = frozenset({"otif", "otif_line", "fill_rate", "cycle_service_level", "shock_pre_otif", "shock_worst_otif",
                    "shock_window_otif"})
# Quantities, durations and money that are sums or averages of non-negative terms. Left out on purpose, as
# they can be negative: profit, margins, forecast bias, tracking signal, forecast value added, the relative
# differences against plan, the window's profit. Utilization passes 1 with overtime, so only >= 0.
_NON_NEGATIVE = frozenset({
    "avg_backlog", "max_backlog", "avg_days_late", "lost_sales_units", "demand_units", "shipped_units",
    "avg_on_hand", "avg_inventory_value", "days_of_supply", "inventory_turns", "utilization", "overtime_units",
    "orders", "avg_open_orders", "order_rate", "avg_order_cycle_time", "revenue", "cogs", "holding_cost",
    "backorder_cost", "lost_sale_cost", "transport_cost", "overtime_cost", "fixed_cost", "total_cost",
    "plan_attainment", "plan_nervousness", "production_variation", "plan_revenue", "plan_change_cost",
    "subcontract_cost", "labor_cost", "shocks_realised", "shock_start", "shock_window_end", "shock_recovery_days",
    "shock_peak_backlog", "shock_lost_units", "shock_lost_revenue", "shock_window_revenue"})
_NON_NEGATIVE_PREFIXES = ("bullwhip_", "forecast_mape_lag", "forecast_wmape_lag")


def value_range(kpi: str) -> tuple[float, float]:
    """The values a KPI can take, ``(low, high)`` with ``±inf`` for an open side: (0, 1) for a rate, (0, inf)
    for a count, duration or cost, (-inf, inf) for the rest (profit, bias) and for unknown KPIs. Confidence
    intervals stay inside it (:func:`simsop.stats.bounded_interval`); a paired difference inside
    ``[low - high, high - low]``."""
    if kpi in _RATES:
        return (0.0, 1.0)
    if kpi in _NON_NEGATIVE or kpi.startswith(_NON_NEGATIVE_PREFIXES):
        return (0.0, math.inf)
    return (-math.inf, math.inf)


def value_ranges(kpis: Iterable[str]) -> dict[str, tuple[float, float]]:
    """:func:`value_range` of every KPI, for ``simsop.stats.summarize_frame`` and ``paired_table``."""
    return {k: value_range(k) for k in kpis}


def info(kpi: str) -> KpiInfo:
    """What is known about a KPI; unknown ones get their name as label and no unit."""
    if kpi in _KPIS:
        return _KPIS[kpi]
    if kpi.startswith("bullwhip_"):
        return KpiInfo(f"Bullwhip at {kpi[len('bullwhip_'):]}", "variance ratio", "num", False)
    return KpiInfo(kpi.replace("_", " ").capitalize(), "", "num", None)


def with_unit(label: str, unit: str) -> str:
    """'Label (unit)'; 'Fill rate (units; %)' rather than 'Fill rate (units) (%)' when the label ends in
    parentheses already."""
    if not unit:
        return label
    if label.endswith(")") and "(" in label:
        return f"{label[:-1]}; {unit})"
    return f"{label} ({unit})"


def axis_label(kpi: str) -> str:
    """'Label (unit)' for an axis."""
    i = info(kpi)
    return with_unit(i.label, i.unit)


def scale(kpi: str) -> float:
    """Factor from stored value to displayed value (fractions are shown in %)."""
    return 100.0 if info(kpi).kind == "pct" else 1.0


def fmt(kpi: str, x: float | None, signed: bool = False) -> str:
    """A value for people: 93.4%, 1,234,567, 12.3 (signed: +/- in front, percentage points for %)."""
    if x is None or x != x:
        return "n/a"
    kind = info(kpi).kind
    if kind == "pct":
        number, suffix = f"{100 * x:.1f}", " pts" if signed else "%"
    elif kind == "money" or abs(x) >= 1000:
        number, suffix = f"{x:,.0f}", ""
    elif abs(x) >= 10:
        number, suffix = f"{x:,.1f}", ""
    else:
        number, suffix = (f"{x:,.3g}" if x != 0 else "0"), ""
    if float(number.replace(",", "")) == 0:  # no "-0.0" for a tiny negative number
        return number.lstrip("-") + suffix
    return ("+" if signed and x > 0 else "") + number + suffix
