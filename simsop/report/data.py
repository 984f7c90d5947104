"""Read a results directory into DataFrames, tolerating what is missing.

Files read (all optional except ``kpis.csv`` or ``summary.csv``; see ``simsop.report`` for the contract):
``manifest.json``, ``kpis.csv``, ``summary.csv``, ``paired.csv``, ``paired_cases.csv``, ``series.csv``, ``plan.csv``,
``forecast.csv``, ``shocks.csv``. A file without ``policy``/``case`` columns is one policy / one case.
What can be derived is derived (``summary.csv`` and ``paired.csv`` from ``kpis.csv`` with
:mod:`simsop.stats`, intervals inside each KPI's natural range, and so are the tables of an older simsop, written
without ``ci_method``, whose intervals could pass that range); what cannot is left ``None`` and the report says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simsop.report.kpimeta import value_ranges

_ID_COLUMNS = ("policy", "case", "replication", "seed", "events")


@dataclass
class ResultsData:
    """Everything the report draws from, policies in manifest order."""

    path: Path
    manifest: dict[str, Any]
    policies: list[str]
    baseline: str
    cases: list[str]
    kpis: pd.DataFrame | None
    summary: pd.DataFrame
    paired: pd.DataFrame | None
    series: pd.DataFrame | None
    plan: pd.DataFrame | None
    forecast: pd.DataFrame | None
    shocks: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)  # what was derived or is missing, for the method section
    # Stress runs: per policy × case (but the primary one) × KPI, the paired difference case − primary case.
    case_effects: pd.DataFrame | None = None

    @property
    def case_word(self) -> str:
        """What the run's cases are: variants of a company compared side by side, or stress cases."""
        return "variant" if self.manifest.get("variants") else "stress case"

    @property
    def primary_case(self) -> str:
        """The case the main charts show: the manifest's baseline case, else 'base'/'baseline', else the first."""
        want = self.manifest.get("baseline_case")
        if want is not None and str(want) in self.cases:
            return str(want)
        for name in ("base", "baseline", "none", "no-shock", ""):
            if name in self.cases:
                return name
        return self.cases[0]

    def kpi_names(self) -> list[str]:
        return list(dict.fromkeys(self.summary["kpi"].astype(str)))


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        df = pd.read_csv(path, keep_default_na=True)
    except pd.errors.EmptyDataError:
        return None
    return df if len(df.columns) else None


def _with_ids(df: pd.DataFrame | None, default_policy: str) -> pd.DataFrame | None:
    """Add ``policy``/``case`` columns when absent, as strings (a case named '' is the only case)."""
    if df is None:
        return None
    df = df.copy()
    if "policy" not in df.columns:
        df.insert(0, "policy", default_policy)
    if "case" not in df.columns:
        df.insert(1, "case", "")
    df["policy"] = df["policy"].astype(str)
    df["case"] = df["case"].fillna("").astype(str)
    return df


_RECOMPUTED = ("{file} was written by an older simsop, whose intervals could reach past a KPI's natural range: "
               "it was computed again from kpis.csv.")


def _unbounded(table: pd.DataFrame) -> bool:
    """A summary or paired table written before intervals were kept inside each KPI's range (no ``ci_method``)."""
    return "ci_method" not in table.columns


def _names(items: Any) -> list[str]:
    """Policy or case names from a manifest entry: a list of strings or of dicts with a 'name'."""
    out: list[str] = []
    for it in items or []:
        if isinstance(it, dict):
            name = it.get("name", it.get("policy", it.get("id")))
            if name is not None:
                out.append(str(name))
        else:
            out.append(str(it))
    return out


def _default_policy(manifest: dict[str, Any], base: Path) -> str:
    """The policy of a run whose files name none: the manifest's, else the scenario file's planning policy."""
    for key in ("policy", "planning_policy"):
        if manifest.get(key):
            return str(manifest[key])
    file = manifest.get("scenario_file")
    if isinstance(file, str):
        for candidate in (Path(file), base / file):
            if candidate.is_file():
                try:
                    from simsop.scenario import load_scenario

                    return str(load_scenario(candidate).planning.policy)
                except Exception:  # the report must not fail on a scenario that changed since the run
                    break
    return str(manifest.get("scenario") or "run")


def load_results(results_dir: str | Path) -> ResultsData:
    """Read a results directory.

    Raises:
        FileNotFoundError: If the directory holds neither ``kpis.csv`` nor ``summary.csv``.
    """
    from simsop.kpi import ALL_KPI_NAMES

    path = Path(results_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: not a results directory")
    mpath = path / "manifest.json"
    manifest: dict[str, Any] = json.loads(mpath.read_text(encoding="utf-8")) if mpath.is_file() else {}
    notes: list[str] = []
    if not manifest:
        notes.append("manifest.json is missing: seed, replications and warm-up are not known.")
    default = _default_policy(manifest, path)
    kpis = _with_ids(_read_csv(path / "kpis.csv"), default)
    summary = _with_ids(_read_csv(path / "summary.csv"), default)
    paired = _with_ids(_read_csv(path / "paired.csv"), default)
    series = _with_ids(_read_csv(path / "series.csv"), default)
    plan = _with_ids(_read_csv(path / "plan.csv"), default)
    forecast = _with_ids(_read_csv(path / "forecast.csv"), default)
    shocks = _read_csv(path / "shocks.csv")
    if shocks is not None and "case" in shocks.columns:
        shocks["case"] = shocks["case"].fillna("").astype(str)
    if kpis is None and summary is None:
        raise FileNotFoundError(f"{path}: neither kpis.csv nor summary.csv found; is this a results directory?")

    order = _names(manifest.get("policies"))
    seen = [*(kpis["policy"] if kpis is not None else []), *(summary["policy"] if summary is not None else [])]
    policies = list(dict.fromkeys([*order, *map(str, seen)]))
    present = set(map(str, seen))
    policies = [p for p in policies if p in present]
    baseline = str(manifest.get("baseline") or (policies[0] if policies else default))
    if paired is not None and len(paired):
        # The baseline is the one policy paired.csv compares the others with.
        missing = [p for p in policies if p not in set(paired["policy"])]
        if len(missing) == 1 and "baseline" not in manifest:
            baseline = missing[0]

    cases_seen = [*(kpis["case"] if kpis is not None else []), *(summary["case"] if summary is not None else [])]
    case_order = _names(manifest.get("cases"))
    cases = [c for c in dict.fromkeys([*case_order, *map(str, cases_seen)]) if c in set(map(str, cases_seen))]

    if summary is None or (_unbounded(summary) and kpis is not None):
        from simsop.stats import summarize_frame

        assert kpis is not None
        cols = [c for c in kpis.columns if c not in _ID_COLUMNS and pd.api.types.is_numeric_dtype(kpis[c])]
        notes.append("summary.csv was missing: statistics were computed from kpis.csv." if summary is None else
                     _RECOMPUTED.format(file="summary.csv"))
        summary = summarize_frame(kpis, ["policy", "case"], cols, bounds=value_ranges(cols))
    if ((paired is None or _unbounded(paired)) and kpis is not None and len(policies) > 1
            and "replication" in kpis.columns):
        from simsop.stats import paired_table

        cols = [c for c in kpis.columns if c not in _ID_COLUMNS and pd.api.types.is_numeric_dtype(kpis[c])]
        try:
            derived = paired_table(kpis, "policy", baseline, cols, by=["case"], bounds=value_ranges(cols))
            notes.append("paired.csv was missing: paired differences were computed from kpis.csv."
                         if paired is None else _RECOMPUTED.format(file="paired.csv"))
            paired = derived
        except ValueError as exc:
            notes.append(f"paired differences could not be computed: {exc}")
    if paired is not None and "significant" in paired.columns:
        paired["significant"] = paired["significant"].map(
            lambda v: str(v).strip().lower() in ("true", "1", "yes")).astype(bool)
    known = set(ALL_KPI_NAMES)
    if kpis is not None and not known & set(kpis.columns):
        notes.append("kpis.csv has none of the standard KPI columns.")
    data = ResultsData(path=path, manifest=manifest, policies=policies, baseline=baseline, cases=cases or [""],
                       kpis=kpis, summary=summary, paired=paired, series=series, plan=plan, forecast=forecast,
                       shocks=shocks, notes=notes)
    if len(data.cases) > 1:
        data.case_effects = _case_effects(path, data)
    return data


_NO_SHOCK = "_noshock"  # simsop.kpi.NO_SHOCK_SUFFIX, not imported: the report reads files, not the model


def _shock_effects(kp: pd.DataFrame, primary: str) -> pd.DataFrame | None:
    """Per policy and shocked case, each shock outcome less the same outcome on the same future without the
    shocks (``<kpi>_noshock`` of the same row), as the stress runner writes them to paired_cases.csv."""
    from simsop.stats import paired_table

    judged = [c[: -len(_NO_SHOCK)] for c in kp.columns if c.endswith(_NO_SHOCK) and c[: -len(_NO_SHOCK)] in kp]
    parts = []
    for case in dict.fromkeys(kp["case"]):
        shocked = kp[kp["case"] == case]
        if case == primary or not judged or not shocked[judged].notna().any().any():
            continue
        reference = shocked.assign(case=primary, **{k: shocked[f"{k}{_NO_SHOCK}"] for k in judged})
        parts.append(paired_table(pd.concat([shocked, reference]), "case", primary, judged, by=["policy"],
                                  bounds=value_ranges(judged)))
    return pd.concat(parts, ignore_index=True) if parts else None


def _case_effects(path: Path, data: ResultsData) -> pd.DataFrame | None:
    """``paired_cases.csv`` (case − primary case, per policy), else derived from ``kpis.csv``."""
    effects = _with_ids(_read_csv(path / "paired_cases.csv"), data.policies[0] if data.policies else "run")
    old = effects is not None and _unbounded(effects)
    if (effects is None or old) and data.kpis is not None and "replication" in data.kpis.columns:
        from simsop.stats import paired_table

        kp = data.kpis
        base = kp[kp["case"] == data.primary_case]
        # KPIs undefined in the primary case (the shock KPIs of a run without shocks) have no difference; a
        # shock outcome is compared with itself on the same future without the shocks (<kpi>_noshock).
        cols = [c for c in kp.columns if c not in _ID_COLUMNS and pd.api.types.is_numeric_dtype(kp[c])
                and base[c].notna().any() and kp.loc[kp["case"] != data.primary_case, c].notna().any()
                and not c.endswith(_NO_SHOCK)]
        try:
            effects = paired_table(kp, "case", data.primary_case, cols, by=["policy"], bounds=value_ranges(cols))
            shock = _shock_effects(kp, data.primary_case)
            if shock is not None:
                effects = pd.concat([effects, shock], ignore_index=True)
            data.notes.append(_RECOMPUTED.format(file="paired_cases.csv") if old else
                              "paired_cases.csv was missing: the effects of the cases were computed from kpis.csv.")
        except ValueError as exc:
            data.notes.append(f"the effects of the cases could not be computed: {exc}")
            if not old:
                return None
    if effects is not None and "significant" in effects.columns:
        effects["significant"] = effects["significant"].map(
            lambda v: str(v).strip().lower() in ("true", "1", "yes")).astype(bool)
    return effects
