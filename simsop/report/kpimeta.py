"""What the report needs to know about a KPI: a label, a unit, how to print it, which way is better, what it
means, and the range its values cannot leave (for confidence intervals; pure Python, so the experiment runner
uses it too).

Names that carry a lag (``forecast_bias_lag3``) or a stage (``bullwhip_DC-East``) are known by pattern, so a
new lag or warehouse gets a proper label without an entry here."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class KpiInfo:
    label: str
    unit: str  # for axis labels; "" when the KPI has none
    kind: str  # "pct" (a fraction shown as %), "money", "num"
    higher_is_better: bool | None  # None: neither (e.g. revenue against plan)
    description: str = ""  # what it measures, and what its sign means when it has one


_MONEY = "currency units"
# The sign convention of every forecast error here: forecast minus actual (simsop.planning.kpis), so a
# positive error is a forecast above the orders booked.
_OVER = "+ = over-forecast"

_KPIS: dict[str, KpiInfo] = {
    "profit": KpiInfo("Profit", _MONEY, "money", True, "Revenue minus total cost, after the warm-up."),
    "revenue": KpiInfo("Revenue", _MONEY, "money", True,
                       "Units shipped to customers after the warm-up, at their selling prices."),
    "total_cost": KpiInfo("Total cost", _MONEY, "money", False,
                          "Every cost after the warm-up: goods sold, holding, backorders, lost sales, transport, "
                          "overtime, scrap (units a plant's yield lost), expired stock and fixed costs, and the "
                          "S&OP plans' labour, subcontracting and plan changes."),
    "gross_margin": KpiInfo("Gross margin", _MONEY, "money", True, "Revenue minus cost of goods sold."),
    "cogs": KpiInfo("Cost of goods sold", _MONEY, "money", False,
                    "Units shipped to customers after the warm-up, at their unit cost."),
    "holding_cost": KpiInfo("Holding cost", _MONEY, "money", False,
                            "Stock on hand at the end of each day (not in transit), at its holding cost per unit "
                            "per day."),
    "backorder_cost": KpiInfo("Backorder cost", _MONEY, "money", False,
                              "Customer units still open after their promised date, at the backorder penalty per "
                              "unit per day late (plus backlog owed to other warehouses where it has a penalty)."),
    "lost_sale_cost": KpiInfo("Lost-sale cost", _MONEY, "money", False),
    "transport_cost": KpiInfo("Transport cost", _MONEY, "money", False),
    "overtime_cost": KpiInfo("Overtime cost", _MONEY, "money", False,
                             "The premium of the units made on overtime (their unit cost is in the cost of goods "
                             "sold)."),
    "scrap_cost": KpiInfo("Scrap cost", _MONEY, "money", False,
                          "Units the plants scrapped (their yield), at their unit cost."),
    "expiry_cost": KpiInfo("Expiry cost", _MONEY, "money", False,
                           "Units of perishable products written off because their shelf life ended, at their unit "
                           "cost."),
    "fixed_cost": KpiInfo("Fixed cost", _MONEY, "money", False),
    "plan_change_cost": KpiInfo("Plan change cost", _MONEY, "money", False,
                                "Cost of changing the plan inside the slushy time fence."),
    "subcontract_cost": KpiInfo("Subcontracting cost", _MONEY, "money", False,
                                "Units bought from subcontractors at their price beyond the unit cost (the unit "
                                "cost is in the cost of goods sold when they sell); negative when they cost less "
                                "than making."),
    "labor_cost": KpiInfo("Labour cost", _MONEY, "money", False,
                          "Wages, hiring and layoffs of the workforces the plans set."),
    "avg_inventory_value": KpiInfo("Average inventory value (working capital)", _MONEY, "money", False,
                                   "Stock at unit cost at the end of each day, averaged over the days after the "
                                   "warm-up: the working capital tied up in inventory."),
    "plan_revenue": KpiInfo("Planned revenue", _MONEY, "money", None,
                            "The demand plan in force before each bucket, at list prices."),
    "plan_gross_margin": KpiInfo("Planned gross margin", _MONEY, "money", None,
                                 "The demand plan in force before each bucket, priced at margin."),
    "otif": KpiInfo("OTIF (orders)", "%", "pct", True,
                    "Orders shipped complete by the promised date, over orders due."),
    "otif_line": KpiInfo("OTIF (lines)", "%", "pct", True),
    "fill_rate": KpiInfo("Fill rate (units)", "%", "pct", True, "Units shipped on time over units ordered."),
    "otif_requested": KpiInfo("On time to the requested date (orders)", "%", "pct", True,
                              "Orders shipped complete by the date the customer asked for, over orders requested "
                              "in the run: OTIF itself unless customers are promised available-to-promise dates."),
    "avg_quoted_delay": KpiInfo("Average quoted delay", "days", "num", False,
                                "Days from the requested to the promised date, averaged over orders (0 unless "
                                "customers are promised available-to-promise dates)."),
    "cycle_service_level": KpiInfo("Cycle service level", "%", "pct", True,
                                   "Replenishment cycles (from one order's arrival to the next) that end without "
                                   "backlog or lost sales, over all cycles."),
    "utilization": KpiInfo("Factory utilization", "% of regular capacity", "pct", None,
                           "Units made (regular and overtime) over regular capacity; above 100% with overtime."),
    "bottleneck_utilization": KpiInfo(
        "Bottleneck plant utilization", "% of regular capacity", "pct", None,
        "The highest utilization of any one plant (units made over its regular capacity); above 100% with "
        "overtime."),
    "avg_on_hand": KpiInfo("Average inventory on hand", "units", "num", False,
                           "Units in stock at the end of each day, all products and stock points together, "
                           "averaged over the days after the warm-up."),
    "avg_backlog": KpiInfo("Average customer backlog", "units", "num", False,
                           "Units customers ordered and still wait for at the end of each day, averaged over the "
                           "days after the warm-up."),
    "max_backlog": KpiInfo("Peak customer backlog", "units", "num", False),
    "lost_sales_units": KpiInfo("Lost sales", "units", "num", False),
    "demand_units": KpiInfo("Customer demand", "units", "num", None, "Units ordered by customers."),
    "shipped_units": KpiInfo("Units shipped to customers", "units", "num", None),
    "orders": KpiInfo("Customer orders", "orders", "num", None),
    "avg_open_orders": KpiInfo("Average open customer orders", "orders", "num", False),
    "order_rate": KpiInfo("Customer order rate", "orders per day", "num", None),
    "avg_order_cycle_time": KpiInfo("Average order cycle time", "days", "num", False,
                                    "Days from an order being placed to its last shipment."),
    "days_of_supply": KpiInfo("Days of supply", "days", "num", None),
    "inventory_turns": KpiInfo("Inventory turns", "per year", "num", True),
    "avg_days_late": KpiInfo("Average days late (late lines)", "days", "num", False),
    "overtime_units": KpiInfo("Overtime production", "units", "num", False),
    "material_short_units": KpiInfo("Production short of components", "units", "num", False,
                                    "Units plants with a bill of materials could not make because a component was "
                                    "not on hand at their materials store (a rate plant: each day's lost output; a "
                                    "line: each job it could not start, once)."),
    "expired_units": KpiInfo("Expired units", "units", "num", False,
                             "Units of perishable products written off because their shelf life ended (the "
                             "oldest units are sold first)."),
    "plan_attainment": KpiInfo("Plan attainment", "%", "pct", True,
                               "Good units made against the plan, product by product and bucket by bucket: "
                               "the smaller of made and planned, summed, over units planned."),
    "plan_nervousness": KpiInfo("Plan nervousness", "%", "pct", False,
                                "How much each plan version changed the previous one inside the time fences."),
    "production_variation": KpiInfo("Production variation", "%", "pct", False,
                                    "Mean change of planned production from one bucket to the next, over its mean."),
    "budget_breach_buckets": KpiInfo("Buckets over the inventory budget", "buckets", "num", False,
                                     "Planning buckets whose plan in force projected the made products' stock, at "
                                     "unit cost, above planning.inventory_budget at the bucket's end (the "
                                     "executive meeting's check; the lp policy plans within the budget)."),
    "revenue_vs_plan": KpiInfo("Revenue against plan", "%", "pct", None,
                               "Actual revenue over planned revenue, minus 1: above 0, sales beat the plan."),
    "gross_margin_vs_plan": KpiInfo("Gross margin against plan", "%", "pct", None,
                                    "Actual gross margin over planned, minus 1: above 0, the margin beat the plan."),
    "shocks_realised": KpiInfo("Shocks that happened", "shocks", "num", None),
    "shock_start": KpiInfo("Disruption start", "day", "num", None),
    "shock_window_end": KpiInfo("Disruption end (with settling)", "day", "num", None),
    "shock_pre_otif": KpiInfo("OTIF before the disruption", "%", "pct", True),
    "shock_threshold": KpiInfo("Recovery threshold (OTIF)", "%", "pct", None,
                               "The 7-day rolling OTIF a recovery must get back above."),
    "shock_recovery_days": KpiInfo("Recovery time", "days", "num", False,
                                   "Days from the disruption's start until the 7-day rolling OTIF is back above "
                                   "its threshold for good."),
    "shock_recovered": KpiInfo("Recovered within the disruption", "% of futures", "pct", True,
                               "1 when the 7-day rolling OTIF got back above its threshold for good within the "
                               "disruption window, else 0; its mean is the share of futures that recovered."),
    "shock_worst_otif": KpiInfo("Worst OTIF (7-day rolling)", "%", "pct", True),
    "shock_window_otif": KpiInfo("OTIF during the disruption", "%", "pct", True),
    "shock_peak_backlog": KpiInfo("Peak customer backlog", "units", "num", False),
    "shock_lost_units": KpiInfo("Units lost to stock-outs", "units", "num", False),
    "shock_lost_revenue": KpiInfo("Revenue lost to stock-outs", _MONEY, "money", False),
    "shock_window_revenue": KpiInfo("Revenue during the disruption", _MONEY, "money", True),
    "shock_window_profit": KpiInfo("Profit during the disruption", _MONEY, "money", True),
}

# KPIs per forecast lag (simsop.planning.kpis), as "<stem>_lag<L>"; "{lag}" and "{ahead}" are filled in.
_LAGGED: dict[str, KpiInfo] = {
    "forecast_mape": KpiInfo("Forecast MAPE, lag {lag}", "%", "num", False,
                             "Mean absolute percentage error of the consensus forecast made {ahead} ahead."),
    "forecast_wmape": KpiInfo("Forecast WMAPE, lag {lag}", "%", "num", False,
                              "Absolute errors of the consensus forecast made {ahead} ahead, summed, over "
                              "the orders booked."),
    "forecast_bias": KpiInfo(f"Forecast bias, lag {{lag}} ({_OVER})", "%", "pct", None,
                             "Consensus forecast made {ahead} ahead minus the orders booked, summed, over "
                             "the orders booked: positive means over-forecasting (the forecast was above "
                             "demand), negative under-forecasting."),
    "tracking_signal": KpiInfo(f"Tracking signal, lag {{lag}} ({_OVER})", "", "num", None,
                               "Cumulative error (forecast minus orders booked) of the network total over its mean "
                               "absolute deviation, lag {lag}: positive means persistent over-forecasting, "
                               "negative under-forecasting; beyond about ±4 the forecast is biased."),
    "fva_statistical": KpiInfo("Forecast value added of the statistical forecast, lag {lag}", "WMAPE points", "num",
                               True, "WMAPE of the naive forecast minus that of the statistical forecast: positive "
                                     "means the statistical model beats the naive forecast."),
    "fva_sales": KpiInfo("Forecast value added of the sales input, lag {lag}", "WMAPE points", "num", True,
                         "WMAPE of the naive forecast minus that of the sales team's input: positive means the "
                         "sales input beats the naive forecast."),
    "fva_consensus": KpiInfo("Forecast value added of consensus, lag {lag}", "WMAPE points", "num", True,
                             "WMAPE of the naive forecast minus that of the consensus forecast: positive means "
                             "the S&OP consensus beats the naive forecast."),
    "fva_consensus_over_statistical": KpiInfo(
        "Value added by the demand review over the statistical forecast, lag {lag}", "WMAPE points", "num", True,
        "WMAPE of the statistical forecast minus that of the consensus: the demand review's own step; negative "
        "means the meeting's judgement made the forecast worse."),
}
_LAG_NAME = re.compile(r"^(?P<stem>[a-z_]+)_lag(?P<lag>\d+)$")


# Shares of orders, lines or units: a ratio of a count to a larger count.
_RATES = frozenset({"otif", "otif_line", "fill_rate", "cycle_service_level", "shock_pre_otif", "shock_worst_otif",
                    "shock_window_otif", "shock_recovered", "otif_requested"})
# Quantities, durations and money that are sums or averages of non-negative terms. Left out on purpose, as
# they can be negative: profit, margins, forecast bias, tracking signal, forecast value added, the relative
# differences against plan, the window's profit. Utilization passes 1 with overtime, so only >= 0.
_NON_NEGATIVE = frozenset({
    "avg_backlog", "max_backlog", "avg_days_late", "lost_sales_units", "demand_units", "shipped_units",
    "avg_quoted_delay",
    "avg_on_hand", "avg_inventory_value", "days_of_supply", "inventory_turns", "utilization",
    "bottleneck_utilization", "overtime_units", "material_short_units", "expired_units", "expiry_cost",
    "orders", "avg_open_orders", "order_rate", "avg_order_cycle_time", "revenue", "cogs", "holding_cost",
    "backorder_cost", "lost_sale_cost", "transport_cost", "overtime_cost", "scrap_cost", "fixed_cost", "total_cost",
    "plan_attainment", "plan_nervousness", "production_variation", "plan_revenue", "plan_change_cost",
    "labor_cost", "budget_breach_buckets", "shocks_realised", "shock_start", "shock_window_end", "shock_recovery_days",
    "shock_peak_backlog", "shock_lost_units", "shock_lost_revenue", "shock_window_revenue"})
_NON_NEGATIVE_PREFIXES = ("bullwhip_", "forecast_mape_lag", "forecast_wmape_lag")


def value_range(kpi: str) -> tuple[float, float]:
    """The values a KPI can take, ``(low, high)`` with ``±inf`` for an open side: (0, 1) for a rate, (0, inf)
    for a count, duration or cost, (-inf, inf) for the rest (profit, bias) and for unknown KPIs. Confidence
    intervals stay inside it (:func:`simsop.stats.bounded_interval`); a paired difference inside
    ``[low - high, high - low]``."""
    if kpi.endswith(_NO_SHOCK):
        return value_range(kpi[: -len(_NO_SHOCK)])
    if kpi in _RATES:
        return (0.0, 1.0)
    if kpi in _NON_NEGATIVE or kpi.startswith(_NON_NEGATIVE_PREFIXES):
        return (0.0, math.inf)
    return (-math.inf, math.inf)


def value_ranges(kpis: Iterable[str]) -> dict[str, tuple[float, float]]:
    """:func:`value_range` of every KPI, for ``simsop.stats.summarize_frame`` and ``paired_table``."""
    return {k: value_range(k) for k in kpis}


# A stress run's shock outcome measured on the same future without the shocks (simsop.kpi.NO_SHOCK_SUFFIX).
_NO_SHOCK = "_noshock"


def _by_pattern(kpi: str) -> KpiInfo | None:
    """A KPI named with a lag or a stage (simsop.series.bullwhip), or None."""
    if kpi.endswith(_NO_SHOCK) and len(kpi) > len(_NO_SHOCK):
        t = info(kpi[: -len(_NO_SHOCK)])
        return KpiInfo(f"{t.label}, same future without the shocks", t.unit, t.kind, t.higher_is_better,
                       "Measured over the disruption's window on the same random future without the shocks: "
                       "what the plan does there anyway. " + t.description)
    m = _LAG_NAME.match(kpi)
    if m and m["stem"] in _LAGGED:
        t, lag = _LAGGED[m["stem"]], int(m["lag"])
        ahead = f"{lag} bucket{'s' if lag != 1 else ''}"
        return KpiInfo(t.label.format(lag=lag), t.unit, t.kind, t.higher_is_better,
                       t.description.format(lag=lag, ahead=ahead))
    if kpi == "bullwhip_production":
        return KpiInfo("Bullwhip at the plants (production)", "variance ratio", "num", False,
                       "Variance of the units made over that of customer demand, weekly: above 1 the plants "
                       "amplify demand swings, below 1 they smooth them.")
    if kpi.startswith("bullwhip_") and len(kpi) > len("bullwhip_"):
        stage = kpi[len("bullwhip_"):]
        return KpiInfo(f"Bullwhip at {stage}", "variance ratio", "num", False,
                       f"Variance of {stage}'s replenishment over that of the demand it receives, weekly: its "
                       "orders, and under an S&OP plan what the plants send it of the products they push. Above "
                       "1 the stage's supply swings more than its demand.")
    return None


def measured(kpi: str, mean: Callable[[str], float]) -> bool:
    """Whether a KPI says something in a run whose KPI means ``mean`` gives (nan for an absent KPI), for tables
    that list KPIs by name: the requested-date KPIs only when order promising quoted later dates than asked
    (otherwise they repeat OTIF and read 0 days), the budget's only with a budget and the components' only with
    a bill of materials (nan otherwise); any other KPI always."""
    if kpi in ("otif_requested", "avg_quoted_delay"):
        return mean("avg_quoted_delay") > 0
    if kpi in ("budget_breach_buckets", "material_short_units"):
        return math.isfinite(mean(kpi))
    return True


def is_known(kpi: str) -> bool:
    """True when :func:`info` has a real label for the KPI rather than its name."""
    return kpi in _KPIS or _by_pattern(kpi) is not None


def info(kpi: str) -> KpiInfo:
    """What is known about a KPI; unknown ones get their name as label and no unit."""
    if kpi in _KPIS:
        return _KPIS[kpi]
    return _by_pattern(kpi) or KpiInfo(kpi.replace("_", " ").capitalize(), "", "num", None)


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


def point_decimals(x: float) -> int:
    """The decimals of a difference of ``x`` percentage points: one, or those of its first digit (down to
    0.001) when one decimal would print 0.0 and hide it."""
    decimals = 1
    if 0 < abs(x) < 0.05:
        decimals = min(3, -math.floor(math.log10(abs(x))))
        if round(x, decimals) == 0:  # under 0.0005 points: nothing to tell apart
            decimals = 1
    return decimals


def points(x: float) -> str:
    """A difference in percentage points: one decimal, or the decimals of its first digit (down to 0.001)
    when one decimal would print 0.0 and hide it: a fill rate 0.02 points higher, an interval from -0.05 to
    +0.3 points that is not significant (at one decimal: '0.0 to +0.3', which reads as excluding zero)."""
    return f"{x:.{point_decimals(x)}f}"


def fmt(kpi: str, x: float | None, signed: bool = False) -> str:
    """A value for people: 93.4%, 1,234,567, 12.3 (signed: +/- in front, percentage points for %)."""
    if x is None or x != x:
        return "n/a"
    kind = info(kpi).kind
    if kind == "pct":
        number, suffix = (points(100 * x), " pts") if signed else (f"{100 * x:.1f}", "%")
    elif kind == "money" or abs(x) >= 1000:
        number, suffix = f"{x:,.0f}", ""
    elif abs(x) >= 10:
        number, suffix = f"{x:,.1f}", ""
    else:
        number, suffix = (f"{x:,.3g}" if x != 0 else "0"), ""
    if float(number.replace(",", "")) == 0:  # no "-0.0" for a tiny negative number
        return number.lstrip("-") + suffix
    return ("+" if signed and x > 0 else "") + number + suffix
