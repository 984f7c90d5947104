"""The executive summary: for each key KPI, which policy is best, by how much, and how sure we are.

Plain sentences from ``summary.csv`` (means and 95% CIs) and ``paired.csv`` (paired differences against
the baseline on the same random futures). When the best policy is the baseline itself, the comparison is
with the runner-up, read from the same paired rows with the sign turned; when neither the best nor the
runner-up is the baseline, the best is also compared with the runner-up, paired by replication from
``kpis.csv`` (beating the baseline does not make a policy the winner). For stress runs, the effect of each
case against the baseline case comes from ``paired_cases.csv``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from simsop.report.kpimeta import fmt, info, points, value_range, with_unit
from simsop.stats import PairedDifference, paired_difference

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
    # When the best is not the baseline and the runner-up is not the baseline either: best − runner-up,
    # paired by replication (from kpis.csv); None when there is no such comparison.
    runner_up: str | None = None
    ru_diff: float = math.nan
    ru_low: float = math.nan
    ru_high: float = math.nan
    ru_significant: bool | None = None
    other_role: str = "the baseline"  # what `other` is: the baseline, the runner-up, or both


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
        return "no confidence interval: one replication"
    return f"95% CI {fmt(kpi, lo, signed)} to {fmt(kpi, hi, signed)}"


def _runner_up_diff(runs: pd.DataFrame | None, kpi: str, best: str, other: str) -> PairedDifference | None:
    """best − other on ``kpi``, paired by replication number (common random numbers), or None."""
    if runs is None or kpi not in runs.columns or "replication" not in runs.columns:
        return None
    a = runs.loc[runs["policy"] == best, ["replication", kpi]].set_index("replication")[kpi]
    b = runs.loc[runs["policy"] == other, ["replication", kpi]].set_index("replication")[kpi]
    common = a.index.intersection(b.index)
    if len(common) < 2 or a.index.has_duplicates or b.index.has_duplicates:
        return None
    try:
        return paired_difference(a.loc[common].to_numpy(dtype=float), b.loc[common].to_numpy(dtype=float),
                                 bounds=value_range(kpi))
    except ValueError:
        return None


def _signed_ci(kpi: str, d: float, lo: float, hi: float) -> str:
    return f"{fmt(kpi, d, signed=True)} ({_ci(kpi, lo, hi, signed=True)}"


def best_on(summary: pd.DataFrame, paired: pd.DataFrame | None, kpi: str, policies: Sequence[str],
            baseline: str, runs: pd.DataFrame | None = None) -> Finding | None:
    """The finding for one KPI, or None when the KPI is missing or has no direction.

    With ``runs`` (one row per policy and replication), a best policy that is not the baseline is also
    compared with the runner-up when that is not the baseline either: beating the baseline does not say the
    winner is ahead of every other policy.
    """
    meta = info(kpi)
    s = _stats(summary, kpi, policies)
    if s.empty or meta.higher_is_better is None:
        return None
    means = s["mean"].astype(float)
    best = str(means.idxmax() if meta.higher_is_better else means.idxmin())
    r = s.loc[best].to_dict()
    mean, lo, hi = float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])
    word = "highest" if meta.higher_is_better else "lowest"
    head = f"{best} has the {word} {kpi_label(kpi)}: {fmt(kpi, mean)} ({_ci(kpi, lo, hi)})"
    if len(s) == 1:
        only = f"{kpi_label(kpi)[:1].upper()}{kpi_label(kpi)[1:]} of {best}: {fmt(kpi, mean)} ({_ci(kpi, lo, hi)})."
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
        amount = fmt(kpi, abs(d)) if meta.kind != "pct" else f"{points(100 * abs(d))} points"
        sentence = (f"{head}, {amount} {'more' if d > 0 else 'less'} than {vs} "
                    "(no paired comparison available, so how sure we are is not known).")
        return Finding(kpi, best, mean, lo, hi, other, d, math.nan, math.nan, None, sentence,
                       other_role="the runner-up" if best == baseline else "the baseline")
    direction = ("more" if d > 0 else "less") if meta.kind != "pct" else ("higher" if d > 0 else "lower")
    amount = fmt(kpi, abs(d)) if meta.kind != "pct" else f"{points(100 * abs(d))} points"
    sure = ("significant: the interval excludes zero" if sig
            else "not significant: with these replications the difference could be chance")
    how = (f"paired difference {_ci(kpi, dlo, dhi, signed=True)}" if not math.isnan(dlo)
           else "one replication: no confidence interval for the difference")
    sentence = f"{head}, {amount} {direction} than {vs} ({how}; {sure})"
    role = "the runner-up" if best == baseline else "the baseline"
    rest = means.drop(best)
    ru = str(rest.idxmax() if meta.higher_is_better else rest.idxmin())
    if best != baseline and ru == baseline:
        role = "the baseline and runner-up"
    rd = _runner_up_diff(runs, kpi, best, ru) if best != baseline and ru != baseline else None
    found = Finding(kpi, best, mean, lo, hi, other, d, dlo, dhi, sig, sentence + ".", other_role=role)
    if rd is None or math.isnan(rd.ci_low):
        return found
    sentence += (f"; against the runner-up {ru}: {_signed_ci(kpi, rd.mean_diff, rd.ci_low, rd.ci_high)}, "
                 f"{'significant' if rd.significant else 'not significant'})")
    return replace(found, sentence=sentence + ".", runner_up=ru, ru_diff=rd.mean_diff, ru_low=rd.ci_low,
                   ru_high=rd.ci_high, ru_significant=rd.significant)


def findings(summary: pd.DataFrame, paired: pd.DataFrame | None, policies: Sequence[str], baseline: str,
             case: str | None = None, kpis: Sequence[str] = KEY_KPIS,
             runs: pd.DataFrame | None = None) -> list[Finding]:
    """One finding per key KPI present in ``summary`` (restricted to ``case`` when given); ``runs``
    (``kpis.csv``) adds the comparison of the best policy with the runner-up."""
    if case is not None:
        summary = summary[summary["case"] == case]
        paired = paired[paired["case"] == case] if paired is not None else None
        runs = runs[runs["case"] == case] if runs is not None and "case" in runs.columns else runs
    out = []
    for k in kpis:
        f = best_on(summary, paired, k, policies, baseline, runs)
        if f is not None:
            out.append(f)
    return out


def lead_finding(found: Sequence[Finding]) -> Finding | None:
    """The finding the headline is about: profit when known, else the first key KPI."""
    return next((f for f in found if f.kpi == "profit"), found[0] if found else None)


def details(found: Sequence[Finding]) -> list[str]:
    """The sentences to list under the :func:`headline`: every finding but the one it already states, so a
    figure is given once."""
    lead = lead_finding(found)
    return [f.sentence for f in found if f is not lead]


def headline(found: Sequence[Finding], n_policies: int) -> str:
    """The one-sentence answer: which policy wins, on profit if known, with its CI and its edge."""
    lead = lead_finding(found)
    if lead is None:
        return "No key KPI (profit, OTIF, fill rate, inventory) was found in the results."
    label = info(lead.kpi).label.lower() if lead.kpi != "otif" else "OTIF"
    if n_policies < 2:
        return (f"One policy was simulated ({lead.best}): {label} {fmt(lead.kpi, lead.mean)} "
                f"({_ci(lead.kpi, lead.ci_low, lead.ci_high)}).")
    # A lead that a comparison could not tell from chance is not called a win (the KPI table says 'no clear
    # best' for the same reason).
    opening = (f"No clear winner: {lead.best} leads on {label}" if _unsure(lead)
               else f"Winner: {lead.best}, with the best {label}")
    text = f"{opening}, {fmt(lead.kpi, lead.mean)} ({_ci(lead.kpi, lead.ci_low, lead.ci_high)})"
    if lead.significant is not None and not math.isnan(lead.diff):
        text += (f", {_signed_ci(lead.kpi, lead.diff, lead.diff_low, lead.diff_high)}"
                 f"; {'significant' if lead.significant else 'not significant'}) against {lead.other_role} "
                 f"{lead.other}")
        if lead.runner_up is not None and lead.ru_significant is not None:
            text += (f" and {_signed_ci(lead.kpi, lead.ru_diff, lead.ru_low, lead.ru_high)}"
                     f"; {'significant' if lead.ru_significant else 'not significant'}) against the runner-up "
                     f"{lead.runner_up}")
    text += "."
    if _unsure(lead):
        text += (f" {lead.best} is not significantly ahead of every other policy: more replications "
                 "would tell them apart.")
    others = [f for f in found if f.kpi != lead.kpi]
    wins = [f for f in others if f.best == lead.best]
    losses: dict[str, list[Finding]] = {}
    for f in others:
        if f.best != lead.best:
            losses.setdefault(f.best, []).append(f)
    if wins:
        text += " It is also best on " + _kpi_list(wins) + "."
    if losses:
        text += " Trade-off: " + "; ".join(f"{p} is best on {_kpi_list(fs)}" for p, fs in losses.items()) + "."
    return text


def _unsure(f: Finding) -> bool:
    """True when a comparison of the winner came out not significant."""
    return f.significant is False or f.ru_significant is False


def _kpi_list(fs: Sequence[Finding]) -> str:
    """'OTIF (not significant) and fill rate (significant)'; no mark when unknown."""
    parts = [kpi_label(f.kpi) + ("" if f.significant is None else
                            " (significant)" if f.significant and f.ru_significant is not False else
                            " (not significant)") for f in fs]
    return and_list(parts)


def and_list(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def kpi_label(kpi: str) -> str:
    """A KPI's label inside a sentence: lower case, but OTIF."""
    return "OTIF" if kpi == "otif" else info(kpi).label.lower()



BOUND_MARK = "†"
BOUND_NOTE = (f"{BOUND_MARK} The interval meets a limit the KPI cannot pass (a rate lies between 0% and 100%; a "
              "time, a quantity or a cost is never negative). The Student-t interval is cut at the limit, which "
              "drops only impossible values and keeps its 95% coverage. When every replication sits at the limit "
              "(for example OTIF 100% in every future), the interval runs from the limit to the value below which "
              "such a run of identical results would have had less than a 5% chance: for a rate, about 3/n "
              "points from 100% with n replications (the 'rule of three').")


def _ci_cell(kpi: str, r: Mapping[Hashable, Any]) -> str:
    """'lo – hi' for a table cell, marked when the interval was bounded by the KPI's range ('' when none)."""
    lo, hi = float(r["ci_low"]), float(r["ci_high"])
    if math.isnan(lo):
        return ""
    bounded = str(r.get("ci_method", "t")) in ("t_clipped", "at_bound")
    return f"{fmt(kpi, lo)} – {fmt(kpi, hi)}" + (f" {BOUND_MARK}" if bounded else "")


def has_bound_mark(table: pd.DataFrame) -> bool:
    """True when a cell of a :func:`kpi_table` or :func:`case_table` has a bounded interval (see BOUND_NOTE)."""
    return any(isinstance(v, tuple) and str(v[1]).endswith(BOUND_MARK)
               for col in table.columns if col not in ("KPI", "best", "tip") for v in table[col])


BEST_NOTE = ("Highlighted: the policy that is significantly better than every other policy on the KPI: its "
             "paired difference from each of them, on the same random futures, has a 95% confidence interval "
             "on the better side of zero (all must hold, so the claim as a whole is wrong at most 5% of the "
             "time). 'No clear best': no policy is; the highest mean may then be chance, and more replications "
             "may tell the policies apart. A marked policy can print the same rounded mean as another (99.9% and "
             "99.9%): its edge is small but holds future after future. KPIs where neither way is better are not "
             "marked.")
NO_CLEAR_BEST = "no clear best"


def clear_best(summary: pd.DataFrame, paired: pd.DataFrame | None, kpi: str, policies: Sequence[str],
               baseline: str | None, runs: pd.DataFrame | None = None) -> str | None:
    """The policy significantly better on ``kpi`` than every other one, or None (``summary``, ``paired`` and
    ``runs`` of one case).

    Only the policy with the best mean can be it (a paired mean difference is the difference of the means).
    It is compared with the baseline by ``paired.csv`` (policy − baseline; the sign turned when it is the
    baseline itself) and with any other policy by a paired difference over the replications of ``runs``
    (``kpis.csv``): each interval must exclude zero on the better side. This is an intersection-union test,
    so the claim "better than all" keeps the 5% level without a multiplicity correction. A comparison that
    cannot be made (no paired rows, one replication) means no clear best.
    """
    meta = info(kpi)
    s = _stats(summary, kpi, policies)
    if meta.higher_is_better is None or len(s) < 2:
        return None
    means = s["mean"].astype(float)
    best = str(means.idxmax() if meta.higher_is_better else means.idxmin())
    sign = 1.0 if meta.higher_is_better else -1.0
    for other in means.index.drop(best):
        other = str(other)
        if other == baseline or best == baseline:
            pr = _paired(paired, best if other == baseline else other, kpi)
            if pr is None:
                return None
            turn = 1.0 if other == baseline else -1.0  # paired.csv holds (policy − baseline)
            lo, hi = sorted((turn * float(pr["ci_low"]), turn * float(pr["ci_high"])))
        else:
            rd = _runner_up_diff(runs, kpi, best, other)
            if rd is None:
                return None
            lo, hi = rd.ci_low, rd.ci_high
        # best − other must be better than zero over its whole interval (a NaN bound is not).
        if not (sign * lo > 0 and sign * hi > 0):
            return None
    return best


def kpi_table(summary: pd.DataFrame, policies: Sequence[str], kpis: Sequence[str],
              case: str | None = None, paired: pd.DataFrame | None = None, baseline: str | None = None,
              runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Means with 95% CIs: KPI rows × policy columns, formatted for people. 'best' marks the policy that is
    significantly better than every other one (:func:`clear_best`, from ``paired`` and ``runs``; see
    :data:`BEST_NOTE`), 'verdict' says :data:`NO_CLEAR_BEST` when policies are compared on a KPI with a
    direction and none is. An interval bounded by the KPI's range (``ci_method`` t_clipped or at_bound) ends in
    :data:`BOUND_MARK`; 'tip' says what the KPI means ('' when it needs no words), for the label's tooltip."""
    if case is not None:
        summary = summary[summary["case"] == case]
        paired = paired[paired["case"] == case] if paired is not None and "case" in paired.columns else paired
        runs = runs[runs["case"] == case] if runs is not None and "case" in runs.columns else runs
    rows = []
    for k in kpis:
        s = _stats(summary, k, policies)
        if s.empty:
            continue
        meta = info(k)
        best = clear_best(summary, paired, k, policies, baseline, runs)
        compared = meta.higher_is_better is not None and len(s) > 1
        # Percentages print with their % sign; a KPI already in % (MAPE) needs the unit in its label.
        unit = "" if meta.kind == "pct" and meta.unit == "%" else meta.unit
        row: dict[str, object] = {"KPI": with_unit(meta.label, unit), "best": best, "tip": meta.description,
                                  "verdict": NO_CLEAR_BEST if compared and best is None else ""}
        for p in policies:
            if p in s.index:
                r = s.loc[p].to_dict()
                row[p] = (fmt(k, float(r["mean"])), _ci_cell(k, r))
            else:
                row[p] = ("n/a", "")
        rows.append(row)
    return pd.DataFrame(rows)


# What a case does, in a planner's terms: service, stock and profit (the question a stress test answers).
IMPACT_KPIS = ("profit", "otif", "fill_rate", "avg_on_hand")
SHOCK_TABLE_KPIS = ("shock_recovery_days", "shock_recovered", "shock_worst_otif", "shock_window_otif",
                    "shock_peak_backlog", "shock_lost_units", "shock_lost_revenue", "shock_window_profit")


def case_impacts(effects: pd.DataFrame | None, policies: Sequence[str], cases: Sequence[str], primary: str,
                 kpis: Sequence[str] = IMPACT_KPIS, stated: tuple[str, str, str] | None = None,
                 summary: pd.DataFrame | None = None) -> list[str]:
    """One sentence per stress case and policy: what the case does to the key KPIs against the primary case,
    paired on the same random futures (``paired_cases.csv``: case − primary case). ``stated`` (case, policy,
    KPI) is a change said elsewhere already: it is left out. With ``summary``, a case whose shocks happened
    in only some futures says in how many."""
    if effects is None or effects.empty:
        return []
    out = []
    for c in cases:
        if c == primary:
            continue
        for p in policies:
            sel = effects[(effects["case"] == c) & (effects["policy"] == p)]
            rows = {str(r["kpi"]): r for r in sel.to_dict("records")}
            parts = []
            for k in kpis:
                r = rows.get(k)
                if r is None or math.isnan(d := float(r["mean_diff"])) or stated == (c, p, k):
                    continue
                parts.append(f"{kpi_label(k)} {_signed_ci(k, d, float(r['ci_low']), float(r['ci_high']))}"
                             f"; {'significant' if bool(r['significant']) else 'not significant'})")
            if parts:
                who = f"{c}, {p}" if len(policies) > 1 else c
                some = shock_futures(summary, c, p) if summary is not None else None
                if some is not None and some[0] == 0:
                    # Its changes are exactly 0: a list of '0 (95% CI 0 to 0; not significant)' said nothing.
                    out.append(f"{who}: its shocks happened in none of the {some[1]} futures run (they have a "
                               f"probability or a random window), so nothing changed against the case "
                               f"{primary or '(base)'}; more replications would see them.")
                    continue
                if some is not None and some[0] < some[1]:
                    who += f" ({futures_text(*some)})"
                out.append(f"{who}: " + "; ".join(parts) + f", against the case {primary or '(base)'}.")
    return out


def shock_futures(summary: pd.DataFrame, case: str, policy: str) -> tuple[int, int] | None:
    """(k, n): the shocks of ``case`` happened in k of the n futures run (its shock KPIs are means over those
    k), from the ``n`` and ``n_nan`` of its shock KPIs in ``summary``; None when unknown."""
    if "n_nan" not in summary.columns:
        return None
    sel = summary[(summary["case"] == case) & (summary["policy"] == policy) & (summary["kpi"] == "shock_start")]
    if sel.empty:
        return None
    r = sel.iloc[0]
    k, missing = float(r["n"]), float(r["n_nan"])
    if math.isnan(k) or math.isnan(missing):
        return None
    return int(k), int(k + missing)


def futures_text(k: int, n: int) -> str:
    """'3 of 8 futures had a shock'."""
    return f"{k} of {n} future{'s' if n != 1 else ''} had a shock"


def case_table(summary: pd.DataFrame, policies: Sequence[str], cases: Sequence[str],
               kpis: Sequence[str] = SHOCK_TABLE_KPIS, effects: pd.DataFrame | None = None
               ) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Means with 95% CIs of ``kpis``: KPI rows × (case, policy) columns, for the cases where they are defined.

    A KPI measured on the same futures without the shocks too (``<kpi>_noshock``) gets that row below it, and
    with ``effects`` (paired differences per policy and case, as in paired_cases.csv) a row with the shock's
    effect, shocked less not shocked, with its interval.

    Returns the table in :func:`kpi_table`'s format (columns named ``'case · policy'``, or the case alone with
    one policy; no 'best' cell, as cases are not choices) and the (case, policy) of each column.
    """
    cols: list[tuple[str, str]] = []
    for c in cases:
        for p in policies:
            sel = summary[(summary["case"] == c) & (summary["policy"] == p) & summary["kpi"].isin(kpis)]
            if sel["mean"].astype(float).notna().any():
                cols.append((c, p))
    rows: list[dict[str, object]] = []
    names = [f"{c} · {p}" if len(policies) > 1 else c for c, p in cols]

    def recovered(c: str, p: str, shown: str) -> tuple[float, int] | None:
        """(share, n) of the futures that recovered, for a recovery time; None for any other KPI."""
        if not shown.startswith("shock_recovery_days"):
            return None
        flag = shown.replace("shock_recovery_days", "shock_recovered")
        sel = summary[(summary["case"] == c) & (summary["policy"] == p) & (summary["kpi"] == flag)]
        if sel.empty:
            return None
        return float(sel["mean"].iloc[0]), int(float(sel["n"].iloc[0]))

    def censored(c: str, p: str, shown: str) -> bool:
        """A recovery time of which some futures never recovered: its mean is a lower bound."""
        got = recovered(c, p, shown)
        return got is not None and got[0] < 1.0

    # How many futures the shock KPIs below come from: with a probability or a random window, only those
    # where a shock happened.
    happened = {name: shock_futures(summary, c, p) for name, (c, p) in zip(names, cols, strict=True)}
    if any(v is not None for v in happened.values()):
        rows.append({"KPI": "Futures with a shock (of those run)", "best": None,
                     **{name: (f"{v[0]} of {v[1]}" if v is not None else "n/a", "") for name, v in happened.items()}})
    for k in kpis:
        meta = info(k)
        unit = "" if meta.kind == "pct" and meta.unit == "%" else meta.unit
        for shown, label in ((k, meta.label), (f"{k}_noshock", "  same futures, no shock")):
            row: dict[str, object] = {"KPI": with_unit(label, unit), "best": None}
            any_value = False
            for name, (c, p) in zip(names, cols, strict=True):
                sel = summary[(summary["case"] == c) & (summary["policy"] == p) & (summary["kpi"] == shown)]
                if sel.empty or math.isnan(float(sel["mean"].iloc[0])):
                    row[name] = ("n/a", "")
                    continue
                any_value = True
                got = recovered(c, p, shown)
                if got is not None and got[0] < 1.0:
                    # A mean with censored futures is a lower bound: its t-interval would say more than is
                    # known. Say how many recovered, as the terminal does.
                    share, m = got
                    row[name] = ("≥ " + fmt(k, float(sel["mean"].iloc[0])), f"{round(share * m)}/{m} recovered")
                    continue
                row[name] = (fmt(k, float(sel["mean"].iloc[0])), _ci_cell(shown, sel.iloc[0].to_dict()))
            if any_value:
                rows.append(row)
        if effects is not None and not effects.empty and f"{k}_noshock" in set(summary["kpi"]):
            row = {"KPI": with_unit("  effect of the shocks", unit), "best": None}
            for name, (c, p) in zip(names, cols, strict=True):
                sel = effects[(effects["case"] == c) & (effects["policy"] == p) & (effects["kpi"] == k)]
                if sel.empty or math.isnan(float(sel["mean_diff"].iloc[0])):
                    row[name] = ("n/a", "")
                    continue
                e = sel.iloc[0]
                mark = " (censored)" if censored(c, p, k) or censored(c, p, f"{k}_noshock") else ""
                row[name] = (fmt(k, float(e["mean_diff"]), signed=True) + mark,
                             f"[{fmt(k, float(e['ci_low']), signed=True)}, {fmt(k, float(e['ci_high']), signed=True)}]")
            rows.append(row)
    return pd.DataFrame(rows), cols


def impact_subject(effects: pd.DataFrame | None, summary: pd.DataFrame, policies: Sequence[str], primary: str,
                   kpi: str = "profit") -> tuple[str, str, int, bool] | None:
    """What :func:`impact_headline` is about: the case that hurts ``kpi`` most (mean change over policies)
    among the cases that change it significantly for some policy (among all cases when none does), the policy
    that does best in it, how many policies were compared there, and whether the case's change is significant
    for some policy; None when unknown."""
    if effects is None or effects.empty:
        return None
    e = effects[(effects["kpi"] == kpi) & (effects["case"] != primary) & effects["policy"].isin(policies)]
    e = e[e["mean_diff"].astype(float).notna()]
    if e.empty:
        return None
    sure = e.loc[e["significant"].astype(bool), "case"].unique()
    if len(sure):
        e = e[e["case"].isin(sure)]
    higher = info(kpi).higher_is_better is not False
    by_case = e.groupby("case", sort=False)["mean_diff"].mean()
    worst = str(by_case.idxmin() if higher else by_case.idxmax())
    have = set(e.loc[e["case"] == worst, "policy"].astype(str))
    s = _stats(summary[summary["case"] == worst], kpi, [p for p in policies if p in have])
    if s.empty:
        return None
    means = s["mean"].astype(float)
    return worst, str(means.idxmax() if higher else means.idxmin()), len(s), bool(len(sure))


def impact_headline(effects: pd.DataFrame | None, summary: pd.DataFrame, policies: Sequence[str],
                    cases: Sequence[str], primary: str, kpi: str = "profit", word: str = "stress case") -> str:
    """One sentence for the top of a stress report: the case that hurts ``kpi`` most (mean change over
    policies, among the cases whose change is significant), the policy that does best in it (with its 95% CI)
    and its paired change against the primary case (with its 95% CI). When no case's change is significant,
    or the case's shocks happened in only some of the futures, it says so."""
    got = impact_subject(effects, summary, policies, primary, kpi)
    if got is None:
        return ""
    worst, best, n, sure = got
    assert effects is not None
    e = effects[(effects["kpi"] == kpi) & (effects["case"] == worst) & (effects["policy"] == best)]
    r = e.iloc[0].to_dict()
    m = _stats(summary[summary["case"] == worst], kpi, [best]).loc[best].to_dict()
    several = len([c for c in cases if c != primary]) > 1
    some = shock_futures(summary, worst, best)
    named = worst + (f" (its shocks happened in {some[0]} of {some[1]} futures)" if some and some[0] < some[1]
                     else "")
    hardest = f"hardest {word}" if word == "stress case" else f"{word} that changes it most"
    if sure:
        lead = f"Under the {hardest if several else word} {named}"
    elif several:
        lead = (f"No {word} changes {kpi_label(kpi)} significantly with these replications; under the one with "
                f"the largest mean change, {named}")
    else:
        lead = f"Under the {word} {named}"
    change = (f"{_signed_ci(kpi, float(r['mean_diff']), float(r['ci_low']), float(r['ci_high']))}"
              f"; {'significant' if bool(r['significant']) else 'not significant'})")
    if n == 1:
        return f"{lead}, {kpi_label(kpi)} changes by {change} against the case {primary or '(base)'}."
    return (f"{lead}, {best} does best on {kpi_label(kpi)}: {fmt(kpi, float(m['mean']))} "
            f"({_ci(kpi, float(m['ci_low']), float(m['ci_high']))}), {change} against the case {primary or '(base)'}.")
