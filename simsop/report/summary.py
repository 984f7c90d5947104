"""The executive summary: for each key KPI, which policy is best, by how much, and how sure we are.

Plain sentences from ``summary.csv`` (means and 95% CIs) and ``paired.csv`` (paired differences against
the baseline on the same random futures). When the best policy is the baseline itself, the comparison is
with the runner-up, read from the same paired rows with the sign turned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from simsop.report.kpimeta import fmt, info

KEY_KPIS = ("profit", "otif", "fill_rate", "avg_on_hand")


@dataclass(frozen=True)
class Finding:
    """The best policy on one KPI, and its edge over the baseline (or the runner-up when it is the baseline)."""

    kpi: str
    best: str
    mean: float
    ci_low: float
    ci_high: float
    other: str | None  # the policy compared with
    diff: float  # best − other
    diff_low: float
    diff_high: float
    significant: bool | None  # None: no paired comparison available
    sentence: str


def _stats(summary: pd.DataFrame, kpi: str, policies: Sequence[str]) -> pd.DataFrame:
    s = summary[(summary["kpi"] == kpi) & summary["mean"].astype(float).notna()].set_index("policy")
    return s.loc[[p for p in policies if p in s.index]]


def _paired(paired: pd.DataFrame | None, policy: str, kpi: str) -> pd.Series | None:
    if paired is None:
        return None
    sel = paired[(paired["policy"] == policy) & (paired["kpi"] == kpi)]
    return None if sel.empty else sel.iloc[0]


def _ci(kpi: str, lo: float, hi: float, signed: bool = False) -> str:
    if math.isnan(lo) or math.isnan(hi):
        return "no confidence interval (one replication)"
    return f"95% CI {fmt(kpi, lo, signed)} to {fmt(kpi, hi, signed)}"


def best_on(summary: pd.DataFrame, paired: pd.DataFrame | None, kpi: str, policies: Sequence[str],
            baseline: str) -> Finding | None:
    """The finding for one KPI, or None when the KPI is missing or has no direction."""
    meta = info(kpi)
    s = _stats(summary, kpi, policies)
    if s.empty or meta.higher_is_better is None:
        return None
    means = s["mean"].astype(float)
    best = str(means.idxmax() if meta.higher_is_better else means.idxmin())
    r = s.loc[best].to_dict()
    mean, lo, hi = float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])
    word = "highest" if meta.higher_is_better else "lowest"
    head = f"{best} has the {word} {_lbl(kpi)}: {fmt(kpi, mean)} ({_ci(kpi, lo, hi)})"
    if len(s) == 1:
        only = f"{_lbl(kpi)[:1].upper()}{_lbl(kpi)[1:]} of {best}: {fmt(kpi, mean)} ({_ci(kpi, lo, hi)})."
        return Finding(kpi, best, mean, lo, hi, None, math.nan, math.nan, math.nan, None, only)
    if best != baseline:
        other = baseline
        pr = _paired(paired, best, kpi)
        d, dlo, dhi, sig = ((float(pr["mean_diff"]), float(pr["ci_low"]), float(pr["ci_high"]),
                             bool(pr["significant"])) if pr is not None else (math.nan,) * 3 + (None,))
        vs = f"the baseline {baseline}"
    else:
        rest = means.drop(best)
        other = str(rest.idxmax() if meta.higher_is_better else rest.idxmin())
        pr = _paired(paired, other, kpi)
        d, dlo, dhi, sig = ((-float(pr["mean_diff"]), -float(pr["ci_high"]), -float(pr["ci_low"]),
                             bool(pr["significant"])) if pr is not None else (math.nan,) * 3 + (None,))
        vs = f"the runner-up {other}"
        head = head.replace(f"{best} has", f"{best} (the baseline) has", 1)
    if sig is None or math.isnan(d):
        d = float(means[best] - means[other])
        amount = fmt(kpi, abs(d)) if meta.kind != "pct" else f"{100 * abs(d):.1f} points"
        sentence = (f"{head}, {amount} {'more' if d > 0 else 'less'} than {vs} "
                    "(no paired comparison available, so how sure we are is not known).")
        return Finding(kpi, best, mean, lo, hi, other, d, math.nan, math.nan, None, sentence)
    direction = ("more" if d > 0 else "less") if meta.kind != "pct" else ("higher" if d > 0 else "lower")
    amount = fmt(kpi, abs(d)) if meta.kind != "pct" else f"{100 * abs(d):.1f} points"
    sure = ("significant: the interval excludes zero" if sig
            else "not significant: with these replications the difference could be chance")
    sentence = (f"{head}, {amount} {direction} than {vs} "
                f"(paired difference {_ci(kpi, dlo, dhi, signed=True)}; {sure}).")
    return Finding(kpi, best, mean, lo, hi, other, d, dlo, dhi, sig, sentence)


def findings(summary: pd.DataFrame, paired: pd.DataFrame | None, policies: Sequence[str], baseline: str,
             case: str | None = None, kpis: Sequence[str] = KEY_KPIS) -> list[Finding]:
    """One finding per key KPI present in ``summary`` (restricted to ``case`` when given)."""
    if case is not None:
        summary = summary[summary["case"] == case]
        paired = paired[paired["case"] == case] if paired is not None else None
    out = []
    for k in kpis:
        f = best_on(summary, paired, k, policies, baseline)
        if f is not None:
            out.append(f)
    return out


def headline(found: Sequence[Finding], n_policies: int) -> str:
    """The one-sentence answer: which policy wins, on profit if known, with its CI and its edge."""
    if not found:
        return "No key KPI (profit, OTIF, fill rate, inventory) was found in the results."
    lead = next((f for f in found if f.kpi == "profit"), found[0])
    label = info(lead.kpi).label.lower() if lead.kpi != "otif" else "OTIF"
    if n_policies < 2:
        return (f"One policy was simulated ({lead.best}): {label} {fmt(lead.kpi, lead.mean)} "
                f"(95% CI {fmt(lead.kpi, lead.ci_low)} to {fmt(lead.kpi, lead.ci_high)}).")
    text = (f"Winner: {lead.best}, with the best {label}, {fmt(lead.kpi, lead.mean)} "
            f"(95% CI {fmt(lead.kpi, lead.ci_low)} to {fmt(lead.kpi, lead.ci_high)})")
    if lead.significant is not None and not math.isnan(lead.diff):
        text += (f", {fmt(lead.kpi, lead.diff, signed=True)} against {lead.other} "
                 f"(95% CI {fmt(lead.kpi, lead.diff_low, signed=True)} to {fmt(lead.kpi, lead.diff_high, signed=True)}"
                 f"; {'significant' if lead.significant else 'not significant'})")
    text += "."
    others = [f for f in found if f.kpi != lead.kpi]
    wins = [f for f in others if f.best == lead.best]
    losses = [f for f in others if f.best != lead.best]
    if wins:
        text += " It is also best on " + ", ".join(_lbl(f.kpi) for f in wins) + "."
    if losses:
        text += " Trade-off: " + "; ".join(f"{f.best} is best on {_lbl(f.kpi)}" for f in losses) + "."
    return text


def _lbl(kpi: str) -> str:
    return "OTIF" if kpi == "otif" else info(kpi).label.lower()


def kpi_table(summary: pd.DataFrame, policies: Sequence[str], kpis: Sequence[str],
              case: str | None = None) -> pd.DataFrame:
    """Means with 95% CIs: KPI rows × policy columns, formatted for people; 'best' marks the best cell."""
    if case is not None:
        summary = summary[summary["case"] == case]
    rows = []
    for k in kpis:
        s = _stats(summary, k, policies)
        if s.empty:
            continue
        meta = info(k)
        best = None
        if meta.higher_is_better is not None and len(s) > 1:
            m = s["mean"].astype(float)
            best = str(m.idxmax() if meta.higher_is_better else m.idxmin())
        row: dict[str, object] = {"KPI": meta.label + (f" ({meta.unit})" if meta.unit and meta.unit != "%" else ""),
                                  "best": best}
        for p in policies:
            if p in s.index:
                r = s.loc[p].to_dict()
                ci = (f"{fmt(k, float(r['ci_low']))} – {fmt(k, float(r['ci_high']))}"
                      if not math.isnan(float(r["ci_low"])) else "")
                row[p] = (fmt(k, float(r["mean"])), ci)
            else:
                row[p] = ("n/a", "")
        rows.append(row)
    return pd.DataFrame(rows)
