"""Experiments: replications of every policy under every case, on common random numbers, with statistics.

An experiment runs replications ``0..n-1`` of every (policy, case) pair, where a case is a variant of the
scenario (the base, or the base under shocks). Replication *i* has the same random streams whatever the
policy and the case (they derive from ``(seed, i, source name)``), so differences are paired: the
comparison of two policies, or of a shock case with the base, is made replication by replication.

A replication is a pure function of (scenario, policy, seed, replication). Work is sent to an executor
(:mod:`simsop.executors`) in batches of replications of one (policy, case); a worker returns each
replication's KPI row and a few daily series (:mod:`simsop.series`), never its records. Finished batches
are kept in ``partial/`` of the run folder as they arrive, so an interrupted experiment loses nothing and
``resume`` finishes it to the same files, row for row, as an uninterrupted run. Rows are sorted by policy
order, case order and replication before anything is written or summarised, so the results never depend
on the executor or on the order in which batches finished.

Shock cases: a plan's ordinary troubles (a seasonal peak it under-builds) fall in a shock's window too, so
the shock KPIs of a case are not the shock's effect by themselves. Each replication of the first case (the
reference, without the cases' shocks) also measures the shock outcomes (``kpi.SHOCK_OUTCOME_NAMES``) over
the windows every other case realises in that replication (``shocks.windows``: no simulation needed); a case's
rows get them as ``<kpi>_noshock`` and ``case_effects`` pairs a case's shock KPI with them (shocked - the same
future without the shocks, same window): the shock's effect. The reference is simulated once per replication
and policy, however many cases there are.

Variants: a case may be another design of the company (another stock policy, a second plant; ``simsop compare
a.yaml b.yaml``), as long as it has the reference's horizon and warm-up. Streams are named by their source, so
a source in both (a customer x product, a lane, a supplier, a factory) draws the same numbers in replication *i*
when its law is the same; :func:`stream_sharing` says which do.

Sequential mode (``target``): run ``initial_replications`` (at least 10), then add rounds until the confidence
interval of the chosen KPI is narrower than the target in every (policy, case), or the maximum is reached. A
relative target ``γ`` means the mean is within ``γ`` of the true mean at the confidence level (the half-width
is held to ``γ/(1+γ)`` of the mean, Law 2015 §9.4.1); each round jumps to Law's estimate of the replications
needed (at least 10% more).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
import time
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simsop.executors import (
    EXECUTORS,
    ExecutorError,
    Pool,
    check_dask_address,
    default_jobs,
    deferred_interrupts,
    guided_batches,
    open_pool,
    run_tasks,
)
from simsop.replication import run_replication
from simsop.report.kpimeta import value_range, value_ranges  # also <kpi>_noshock
from simsop.results import atomic_write_bytes
from simsop.scenario import Scenario

__all__ = [
    "EXECUTORS", "SOURCE_KINDS", "Batch", "BatchResult", "Design", "ExecutorError", "Experiment", "ReplicationError",
    "ResumeError",
    "StreamSharing", "Target", "default_jobs", "random_sources", "read_manifest", "replicate_batch", "run_batch",
    "run_experiment", "run_replications", "stream_sharing", "summarize_kpis",
]

Row = dict[str, Any]
Progress = Callable[[int], None]
ExperimentProgress = Callable[[int, int], None]  # (replications done, replications planned so far)

ID_COLUMNS = ("policy", "case", "replication", "seed")
# A reference row's shock outcomes over the other cases' windows ({case: {kpi: value}}), until they join the
# rows of those cases as <kpi>_noshock columns.
_NO_SHOCK = "noshock"
NOT_KPIS = (*ID_COLUMNS, "events", _NO_SHOCK)
# The definition of the shock KPIs a run's rows hold (recorded in the manifest of runs with shocks): 2 since
# recovery days are censored at the window's length and measured without the shocks too; 3 since a window the
# horizon cuts short counts as recovered only after the recovery allowance was observed above the threshold; 4
# since a stress case judges only the shocks it adds to the reference case (not the base scenario's own) and the
# window's profit counts the plans' costs.
SHOCK_KPIS_VERSION = 4
BASE_CASE = "base"
_PARTIAL = "partial"
# Law (2015, §9.4.1) recommends a pilot of at least 10 replications before a sequential rule is first
# checked: from 2 or 3, a pair that happens to agree stops the run with a variance estimate far too small.
MIN_INITIAL_REPLICATIONS = 10


class ReplicationError(RuntimeError):
    """A replication raised: which one it was (policy, case, replication, seed), the error, and the frames of its
    traceback that say where (the simulation engine's and the experiment runner's are left out).

    Built from plain strings and numbers, so it crosses from a worker process or a Dask worker whole.
    """

    def __init__(self, policy: str, case: str, replication: int, seed: int, error: str, traceback: str) -> None:
        super().__init__(policy, case, replication, seed, error, traceback)
        self.policy, self.case, self.replication, self.seed = policy, case, replication, seed
        self.error, self.traceback = error, traceback

    def __str__(self) -> str:
        return (f"replication {self.replication} (seed {self.seed}) of policy {self.policy!r}, case {self.case!r} "
                f"failed: {self.error}")

    def as_dict(self) -> dict[str, Any]:
        """What the manifest records of the failure."""
        return {"policy": self.policy, "case": self.case, "replication": self.replication, "seed": self.seed,
                "error": self.error, "traceback": self.traceback}

    @classmethod
    def of(cls, exc: BaseException, policy: str, case: str, replication: int, seed: int) -> ReplicationError:
        return cls(policy, case, replication, seed, f"{type(exc).__name__}: {exc}"[:2000], _useful_traceback(exc))


# Frames of these say nothing about why a replication failed: SimPy's event loop, and the runner that called it.
_PLUMBING = ("/simpy/", "/simsop/experiment.py", "/simsop/replication.py", "/concurrent/futures/")
_TRACEBACK_FRAMES = 8


def _useful_traceback(exc: BaseException) -> str:
    """The innermost frames of ``exc`` and of the exceptions it was raised from, innermost first, outside the
    plumbing; an exception re-raised with the same type and message as its cause (as SimPy does) is left out."""
    import traceback

    chain: list[tuple[list[traceback.FrameSummary], str]] = []  # outermost first
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if not any(x in f.filename.replace("\\", "/") for x in _PLUMBING)]
        chain.append((frames, f"{type(e).__name__}: {e}\n"))
        e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
    kept = [(f, line) for i, (f, line) in enumerate(chain) if i + 1 == len(chain) or chain[i + 1][1] != line]
    parts = ["".join(traceback.format_list(f[-_TRACEBACK_FRAMES:])) + line for f, line in reversed(kept)]
    return "\n".join(parts)[-8000:]


class ResumeError(ValueError):
    """A run folder cannot be used: resumed with other inputs (scenario, seed, policies...), written over
    (it holds a complete run), or read (a damaged manifest or batch file)."""


def replicate_batch(scenario: Scenario, seed: int, replications: Sequence[int]) -> list[Row]:
    """Run a batch of replications in this process and return one KPI row each (KPIs only: no series)."""
    rows = []
    for r in replications:
        res = run_replication(scenario, seed=seed, replication=r)
        rows.append({"replication": r, "seed": seed, **res.kpis, "events": res.events})
    return rows


def summarize_kpis(rows: Sequence[Row], kpis: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Mean, CI (inside each KPI's natural range) and quantiles per KPI over replications; a KPI that is
    undefined everywhere gives nulls."""
    from simsop.stats import summarize

    out: dict[str, dict[str, Any]] = {}
    for k in kpis:
        values = np.array([r[k] for r in rows], dtype=float)
        if np.isnan(values).all():
            out[k] = {"n": 0, "n_nan": len(values), "mean": float("nan"), "std": float("nan"),
                      "ci_low": float("nan"), "ci_high": float("nan"), "half_width": float("nan"),
                      "p5": float("nan"), "p50": float("nan"), "p95": float("nan"), "ci_method": "none"}
        else:
            out[k] = summarize(values, bounds=value_range(k)).as_dict()
    return out


def run_replications(scenario: Scenario, replications: int | None = None, seed: int | None = None,
                     executor: str = "process", jobs: int | None = None,
                     progress: Progress | None = None) -> list[Row]:
    """Run replications 0..n-1 of a scenario and return their KPI rows, sorted by replication."""
    n = scenario.replications if replications is None else replications
    s = scenario.seed if seed is None else seed
    jobs = jobs or default_jobs()
    if executor == "process" and (jobs == 1 or n == 1):
        executor = "serial"  # a pool costs more than it saves for one worker or one replication
    rows: list[Row] = []

    def take(_: list[int], out: list[Row]) -> None:
        rows.extend(out)
        if progress:
            progress(len(out))

    with open_pool(executor, jobs) as pool:
        run_tasks(pool, partial(replicate_batch, scenario, s), [b for _, b in guided_batches([range(n)], jobs)],
                  take)
    rows.sort(key=lambda r: r["replication"])
    return rows


# ---------------------------------------------------------------------------------------------- precision


@dataclass(frozen=True)
class Target:
    """A precision target: the CI half-width of ``kpi``, relative to its mean or absolute.

    Written ``KPI:0.01`` or ``KPI:rel=0.01`` (the mean within 1% of the true mean at the confidence level:
    a half-width of at most 0.01/1.01 of the mean, Law's γ'), or ``KPI:abs=5`` (a half-width of 5 units).
    """

    kpi: str
    relative: float | None = None
    absolute: float | None = None

    def __post_init__(self) -> None:
        if (self.relative is None) == (self.absolute is None):
            raise ValueError("a precision target is relative or absolute, exactly one of them")
        value = self.relative if self.relative is not None else self.absolute
        if not (value is not None and value > 0 and math.isfinite(value)):
            raise ValueError(f"a precision target must be a positive number, got {value!r}")

    @classmethod
    def parse(cls, text: str) -> Target:
        """``profit:0.01``, ``profit:rel=0.01`` or ``otif:abs=0.005``."""
        kpi, sep, spec = text.partition(":")
        kpi, spec = kpi.strip(), spec.strip().lower()
        if not sep or not kpi or not spec:
            raise ValueError(f"expected KPI:0.01 (relative) or KPI:abs=5 (absolute), got {text!r}")
        kind, eq, number = spec.partition("=")
        if not eq:
            kind, number = "rel", spec
        if kind not in ("rel", "abs"):
            raise ValueError(f"precision target {text!r}: expected rel= or abs=, got {kind!r}=")
        try:
            value = float(number)
        except ValueError:
            raise ValueError(f"precision target {text!r}: {number!r} is not a number") from None
        return cls(kpi, relative=value) if kind == "rel" else cls(kpi, absolute=value)

    def __str__(self) -> str:
        return f"{self.kpi}:rel={self.relative:g}" if self.relative is not None else f"{self.kpi}:abs={self.absolute:g}"

    def _kw(self) -> dict[str, float | None]:
        return {"target_half_width": self.absolute, "target_relative": self.relative}

    def reached(self, values: np.ndarray, confidence: float = 0.95) -> bool:
        from simsop.stats import precision_reached

        return precision_reached(values, confidence=confidence, bounds=value_range(self.kpi), **self._kw())

    def required(self, values: np.ndarray, confidence: float = 0.95) -> int | None:
        """Estimated total replications for the target (None when it cannot be estimated)."""
        from simsop.stats import required_replications

        try:
            return required_replications(values, confidence=confidence, bounds=value_range(self.kpi),
                                         **self._kw())
        except ValueError:
            return None


# ---------------------------------------------------------------------------------------------- the work


@dataclass(frozen=True)
class Batch:
    """Replications of one (policy, case): what a worker needs, and nothing else."""

    policy: str
    case: str
    scenario: Scenario
    seed: int
    replications: tuple[int, ...]
    series: bool = True
    extras: bool = True
    bullwhip_period: int = 7
    # The reference case's batches: (case, its shocks) of every other case with shocks, whose windows this
    # batch's replications are judged over too (only the shocks travel: the windows come from their streams).
    judge: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    # The names of the shocks this batch's shock KPIs judge: None, all of the scenario's (a run of a scenario with
    # its own shocks); in a stress test, those the case adds to the reference case's scenario (its own shocks,
    # such as a promotion calendar, are part of the normal world the stress is measured against).
    judged: tuple[str, ...] | None = None


@dataclass
class BatchResult:
    """What a worker sends back: a KPI row per replication, their daily series and the report's tables."""

    policy: str
    case: str
    rows: list[Row]
    series: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (len(rows), horizon)
    tables: dict[str, list[Row]] = field(default_factory=dict)  # plan / forecast / shocks rows


def _plain(x: Any) -> Any:
    """Python scalars (numpy's would print as ``np.float64(...)`` and cannot all go to JSON)."""
    return x.item() if isinstance(x, np.generic) else x


def run_batch(batch: Batch) -> BatchResult:
    """Run a batch of replications (in a worker); a pure function of the batch.

    Raises:
        ReplicationError: a replication raised (a policy's bug, a broken invariant), naming it.
    """
    rows: list[Row] = []
    series: dict[str, list[np.ndarray]] = {}
    tables: dict[str, list[Row]] = {}
    for r in batch.replications:
        try:
            row, s, extras = _replicate(batch, r)
        except Exception as exc:
            raise ReplicationError.of(exc, batch.policy, batch.case, r, batch.seed) from None
        rows.append(row)
        if batch.series:
            for name, values in s.items():
                series.setdefault(name, []).append(values)
        for name, frame in extras.items():
            tables.setdefault(name, []).extend({"replication": r, **rec_} for rec_ in frame)
    return BatchResult(batch.policy, batch.case, rows, {k: np.vstack(v) for k, v in series.items()}, tables)


def _replicate(batch: Batch, r: int) -> tuple[Row, dict[str, np.ndarray], dict[str, list[Row]]]:
    """Replication ``r`` of a batch: its KPI row, daily series and (``batch.extras``) the report's tables."""
    from simsop.kpi import SHOCK_OUTCOME_NAMES, shock_kpis
    from simsop.series import bullwhip, daily_series
    from simsop.shocks import windows

    sc = batch.scenario
    res = run_replication(sc, seed=batch.seed, replication=r, keep_records=True, policy=batch.policy)
    rec = res.records
    assert rec is not None
    s = daily_series(rec)
    row: Row = {"policy": batch.policy, "case": batch.case, "replication": r, "seed": batch.seed, **res.kpis}
    row.update(bullwhip(rec, s, period=batch.bullwhip_period))
    if sc.shocks and batch.judged is None:
        row.update(shock_kpis(rec, sc))
    elif batch.judged:
        row.update(shock_kpis(rec, sc, windows=[w for w in rec.tables["shocks"].rows() if w.name in batch.judged]))
    row["events"] = res.events
    row = {k: _plain(v) for k, v in row.items()}
    if batch.judge:
        # This future without the cases' shocks, over the windows each case realises in it: what the plan
        # does there anyway, to be taken off the shocked values.
        row[_NO_SHOCK] = {
            case: {k: _plain(v) for k, v in shock_kpis(rec, sc, windows=windows(
                shocks, sc.horizon, batch.seed, r)).items() if k in SHOCK_OUTCOME_NAMES}
            for case, shocks in batch.judge}
    return row, s, (_extras(rec, sc) if batch.extras else {})


def _extras(rec: Any, sc: Scenario) -> dict[str, list[Row]]:
    """The report's per-replication tables (plan against actual, forecasts by cycle, realised shocks)."""
    from simsop.report.extract import forecast_by_cycle, plan_vs_actual, shock_windows

    out: dict[str, list[Row]] = {}
    if len(rec.plan):
        out["plan"] = _records(plan_vs_actual(rec, sc))
    if len(rec.forecasts):
        out["forecast"] = _records(forecast_by_cycle(rec, sc))
    if len(rec.shocks):
        out["shocks"] = _records(shock_windows(rec))
    return {k: rows for k, rows in out.items() if rows}


# ---------------------------------------------------------------------------------------------- the store


class Store:
    """Finished batches: KPI rows in memory; series and tables in ``partial/`` (or in memory without a folder).

    A batch file is written atomically when the batch arrives, so a file is either whole or absent. It is
    an ``.npz`` of the series plus a JSON header (rows, tables): plain data, no pickles.
    """

    def __init__(self, folder: Path | None, policies: Sequence[str], cases: Sequence[str]) -> None:
        self.folder = None if folder is None else folder / _PARTIAL
        self.policies = list(policies)
        self.cases = list(cases)
        self.rows: dict[tuple[int, int, int], Row] = {}
        self._memory: dict[tuple[int, int], list[BatchResult]] = {}

    def _index(self, policy: str, case: str) -> tuple[int, int]:
        return self.policies.index(policy), self.cases.index(case)

    def done(self, policy: str, case: str, replication: int) -> bool:
        return (*self._index(policy, case), replication) in self.rows

    def add(self, res: BatchResult) -> None:
        pi, ci = self._index(res.policy, res.case)
        if self.folder is not None:
            reps = [int(r["replication"]) for r in res.rows]
            name = f"{pi:03d}-{ci:03d}-{reps[0]:06d}-{reps[-1]:06d}.npz"
            header = json.dumps({"policy": res.policy, "case": res.case, "rows": res.rows, "tables": res.tables})
            arrays: dict[str, Any] = {f"s_{k}": v for k, v in res.series.items()}
            arrays["header"] = np.array(header)
            atomic_write_bytes(self.folder / name, lambda fh: np.savez(fh, **arrays))
        else:
            self._memory.setdefault((pi, ci), []).append(res)
        self._take_rows(pi, ci, res.rows)

    def _take_rows(self, pi: int, ci: int, rows: Sequence[Row]) -> None:
        for row in rows:
            self.rows.setdefault((pi, ci, int(row["replication"])), row)

    def _read(self, path: Path) -> BatchResult:
        try:
            with np.load(path, allow_pickle=False) as z:
                head = json.loads(str(z["header"]))
                series = {k[2:]: z[k] for k in z.files if k.startswith("s_")}
            return BatchResult(head["policy"], head["case"], head["rows"], series, head["tables"])
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            # Batch files are written atomically: a damaged one was changed after it was written (a disk
            # error, a copy cut short, an edit). numpy would only say "pickled data" without the file.
            why = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
            raise ResumeError(f"{path}: a damaged batch file ({why}); delete it and resume the run (--resume "
                              f"{path.parent.parent}): the replications it held are run again") from None

    def load(self) -> int:
        """Read the batch files of an earlier, interrupted run; returns the number of replications found."""
        if self.folder is None or not self.folder.is_dir():
            return 0
        for path in sorted(self.folder.glob("*.npz")):
            res = self._read(path)
            if res.policy not in self.policies or res.case not in self.cases:
                raise ResumeError(f"{path}: a batch of policy {res.policy!r}, case {res.case!r}, which this "
                                  "experiment does not run")
            self._take_rows(*self._index(res.policy, res.case), res.rows)
        return len(self.rows)

    def group(self, policy: str, case: str, n: int) -> tuple[dict[str, np.ndarray], dict[str, list[Row]]]:
        """Series (name -> replications x days, by replication) and tables of replications 0..n-1 of a group."""
        pi, ci = self._index(policy, case)
        if self.folder is not None:
            results = [self._read(p) for p in sorted(self.folder.glob(f"{pi:03d}-{ci:03d}-*.npz"))]
        else:
            results = self._memory.get((pi, ci), [])
        per_rep: dict[int, tuple[int, BatchResult]] = {}
        for res in results:
            for j, row in enumerate(res.rows):
                r = int(row["replication"])
                if r < n:
                    per_rep.setdefault(r, (j, res))
        reps = sorted(per_rep)
        series: dict[str, np.ndarray] = {}
        # Only the series every batch has: batches an older simsop wrote before a resume lack the newer ones
        # (rolling7:*), and a band over some replications only would misstate the spread.
        names = [k for k in dict.fromkeys(k for _, res in per_rep.values() for k in res.series)
                 if all(k in res.series for _, res in per_rep.values())]
        for name in names:
            series[name] = np.vstack([per_rep[r][1].series[name][per_rep[r][0]] for r in reps])
        tables: dict[str, list[Row]] = {}
        for r in reps:
            _, res = per_rep[r]
            for key, trs in res.tables.items():
                tables.setdefault(key, []).extend(t for t in trs if int(t["replication"]) == r)
        return series, tables

    def discard(self) -> None:
        if self.folder is not None and self.folder.is_dir():
            shutil.rmtree(self.folder)


# ---------------------------------------------------------------------------------------------- results


@dataclass
class Experiment:
    """Everything an experiment produced, as pandas DataFrames (for notebooks); also written to ``run_dir``.

    Attributes:
        kpis: one row per policy x case x replication: ``policy, case, replication, seed``, the KPIs,
            ``bullwhip_<warehouse>``, the shock KPIs when a case has shocks, in a case other than the first
            the shock outcomes of the same future without its shocks over the same window
            (``<kpi>_noshock``), and ``events``.
        summary: per policy x case x KPI: n, mean, std, Student-t CI kept inside the KPI's natural range
            (``ci_method`` says how; ``stats.bounded_interval``), P5/P50/P95 (``stats.summarize``).
        paired: per policy (but the baseline) x case x KPI: the mean paired difference policy - baseline, its
            CI, p-value, whether it is significant, and the variance ratio against independent sampling.
        case_effects: per policy x case (but the baseline case) x KPI: the paired difference case - baseline
            case (the effect of the shocks); for a shock outcome, case - ``<kpi>_noshock`` (``mean_baseline``:
            the same futures without the shocks, over the same windows); empty with one case.
        series: daily quantile bands per policy x case x series (None when series were not kept).
        suggested_warmup: MSER-5 truncation point (days) of the daily network inventory and backlog, the
            largest over the policies in the first case (MSER assumes a stationary series after the
            warm-up: a strongly seasonal one, e.g. a level plan's stock, can push it up to half the horizon);
            ``suggested_warmup_by_group`` has it per policy, case and series.
        plan, forecast, shocks: the report's tables (plan against actual and forecast accuracy, means over
            replications; realised shocks), None when no replication had any.
        precision: sequential mode's outcome (target, rounds, whether it was reached), or None.
        manifest, run_dir: the run folder's manifest and path (empty and None without a folder).
    """

    kpis: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame
    case_effects: pd.DataFrame
    series: pd.DataFrame | None
    plan: pd.DataFrame | None
    forecast: pd.DataFrame | None
    shocks: pd.DataFrame | None
    policies: list[str]
    cases: list[str]
    baseline: str
    baseline_case: str
    seed: int
    replications: int
    suggested_warmup: int | None
    suggested_warmup_by_group: list[dict[str, Any]]
    precision: dict[str, Any] | None
    manifest: dict[str, Any]
    run_dir: Path | None = None

    def kpi_names(self) -> list[str]:
        return [c for c in self.kpis.columns if c not in NOT_KPIS]

    def summary_of(self, policy: str | None = None, case: str | None = None) -> dict[str, dict[str, Any]]:
        """``{kpi: {n, mean, ci_low, ...}}`` of one policy and case (default: the baseline's)."""
        p = self.baseline if policy is None else policy
        c = self.baseline_case if case is None else case
        s = self.summary[(self.summary["policy"] == p) & (self.summary["case"] == c)]
        return {str(r["kpi"]): {k: v for k, v in r.items() if k not in ("policy", "case", "kpi")}
                for r in _records(s)}


def _kpi_columns(rows: Sequence[Row]) -> list[str]:
    seen = dict.fromkeys(k for r in rows for k in r if k not in NOT_KPIS)
    return list(seen)


def _summary_frame(df: pd.DataFrame, policies: Sequence[str], cases: Sequence[str], kpis: Sequence[str],
                   confidence: float) -> pd.DataFrame:
    from simsop.stats import summarize_frame

    parts = []
    bounds = value_ranges(kpis)
    for p in policies:
        for c in cases:
            g = df[(df["policy"] == p) & (df["case"] == c)]
            s = summarize_frame(g, [], kpis, confidence, bounds=bounds)
            s.insert(0, "case", c)
            s.insert(0, "policy", p)
            parts.append(s)
    return pd.concat(parts, ignore_index=True)


_PAIRED_COLUMNS = ("n", "mean_policy", "mean_baseline", "mean_diff", "std_diff", "ci_low", "ci_high",
                   "half_width", "p_value", "significant", "variance_reduction", "ci_method")


def _paired_rows(a: pd.DataFrame, b: pd.DataFrame, kpis: Sequence[str], confidence: float) -> list[Row]:
    """Paired differences a - b per KPI, matched by replication (NaN statistics when no pair is complete);
    intervals inside the range the differences of the KPI can take."""
    from simsop.stats import paired_difference

    a = a.set_index("replication").sort_index()
    b = b.set_index("replication").sort_index()
    if list(a.index) != list(b.index):
        raise ValueError("paired groups must have the same replications")
    out = []
    for k in kpis:
        try:
            d = paired_difference(a[k].to_numpy(dtype=float), b[k].to_numpy(dtype=float), confidence,
                                  value_range(k))
            row = {"n": d.n, "mean_policy": d.mean_a, "mean_baseline": d.mean_b, "mean_diff": d.mean_diff,
                   "std_diff": d.std_diff, "ci_low": d.ci_low, "ci_high": d.ci_high, "half_width": d.half_width,
                   "p_value": d.p_value, "significant": d.significant, "variance_reduction": d.variance_reduction,
                   "ci_method": d.ci_method}
        except ValueError:
            row = {**dict.fromkeys(_PAIRED_COLUMNS, float("nan")), "n": 0, "significant": False, "ci_method": "none"}
        out.append({"kpi": k, **row})
    return out


def _paired_frame(df: pd.DataFrame, policies: Sequence[str], cases: Sequence[str], baseline: str,
                  kpis: Sequence[str], confidence: float) -> pd.DataFrame:
    from simsop.stats import holm_columns

    rows = []
    for p in policies:
        if p == baseline:
            continue
        for c in cases:
            a = df[(df["policy"] == p) & (df["case"] == c)]
            b = df[(df["policy"] == baseline) & (df["case"] == c)]
            rows += [{"policy": p, "case": c, "baseline": baseline, **r} for r in _paired_rows(a, b, kpis, confidence)]
    # The family is every policy's comparison with the baseline on one KPI in one case.
    return holm_columns(pd.DataFrame(rows, columns=["policy", "case", "baseline", "kpi", *_PAIRED_COLUMNS]),
                        ["case", "kpi"], confidence)


def _case_frame(df: pd.DataFrame, policies: Sequence[str], cases: Sequence[str], base_case: str,
                kpis: Sequence[str], confidence: float) -> pd.DataFrame:
    """Per policy and case, every KPI's paired difference case - reference case; a shock outcome's is with
    ``<kpi>_noshock``, the reference over this case's window (the shock's effect)."""
    from simsop.kpi import NO_SHOCK_SUFFIX, SHOCK_KPI_NAMES, SHOCK_OUTCOME_NAMES
    from simsop.stats import holm_columns

    judged = [k for k in kpis if f"{k}{NO_SHOCK_SUFFIX}" in df.columns]
    # The <kpi>_noshock columns are the mean_baseline of the above; the KPIs that say what a case's window is
    # (its start, its end, the OTIF before it) have nothing to compare with.
    window = set(SHOCK_KPI_NAMES) - set(SHOCK_OUTCOME_NAMES)
    kpis = [k for k in kpis if not k.endswith(NO_SHOCK_SUFFIX) and k not in window]
    rows = []
    for p in policies:
        for c in cases:
            if c == base_case:
                continue
            a = df[(df["policy"] == p) & (df["case"] == c)]
            b = df[(df["policy"] == p) & (df["case"] == base_case)].copy()
            if judged:
                same = a.set_index("replication").reindex(b["replication"])
                for k in judged:
                    b[k] = same[f"{k}{NO_SHOCK_SUFFIX}"].to_numpy()
            rows += [{"policy": p, "case": c, "baseline_case": base_case, **r}
                     for r in _paired_rows(a, b, kpis, confidence)]
    # The family is every case's effect on one KPI under one policy (a stress grid has many cases).
    return holm_columns(pd.DataFrame(rows, columns=["policy", "case", "baseline_case", "kpi", *_PAIRED_COLUMNS]),
                        ["policy", "kpi"], confidence)


def _band_frame(policy: str, case: str, series: dict[str, np.ndarray]) -> pd.DataFrame:
    from simsop.series import bands

    parts = []
    for name, matrix in series.items():
        b = bands(matrix)
        days = np.arange(matrix.shape[1])
        parts.append(pd.DataFrame({"policy": policy, "case": case, "series": name, "day": days, **b}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _suggest_warmup(series: dict[str, np.ndarray]) -> dict[str, int]:
    """MSER-5 of the daily network inventory and backlog (replications x days)."""
    from simsop.stats import mser_many

    out = {}
    for name in ("on_hand", "backlog"):
        m = series.get(name)
        if m is not None and m.shape[1] >= 10 and np.isfinite(m).all():
            out[name] = mser_many(m, 5)
    return out


def _csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- manifest


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    """The manifest of a run folder (what ``resume`` checks against).

    Raises:
        ResumeError: no manifest, or one that cannot be read, is not JSON or is not a mapping.
    """
    path = Path(run_dir) / "manifest.json"
    if not path.is_file():
        raise ResumeError(f"{run_dir}: no manifest.json; not a run folder of simsop")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ResumeError(f"{path}: cannot read the manifest: {exc.strerror or exc}") from None
    except ValueError as exc:  # not JSON, or not UTF-8 text
        why = " ".join(str(exc).split())[:200]
        raise ResumeError(f"{path}: not a manifest of simsop ({type(exc).__name__}: {why}); expected the folder "
                          "of a run") from None
    if not isinstance(data, dict):
        raise ResumeError(f"{path}: not a manifest of simsop (a JSON {type(data).__name__}); expected the folder "
                          "of a run")
    return data


# Inputs a resumed run must share with the run it continues (anything that changes a number).
_RESUME_KEYS = ("scenario_sha256", "seed", "max_replications", "policies", "baseline", "cases",
                "target_ci", "initial_replications", "series", "extras", "bullwhip_period", "confidence",
                "shock_kpis_version")


# The libraries whose versions shape a replication's numbers (the same seed gives the same numbers only with the
# same versions): a run is resumed only with the versions that began it.
_NUMBER_LIBRARIES = ("simsop", "simpy", "numpy", "scipy")


def _scenario_change(old: dict[str, Any], scenario_file: str | Path | None) -> str:
    """Why the scenario's hash moved, in words: the file was edited, or this simsop reads the same file otherwise
    (a default or a rule of the scenario changed between simsop's versions); '' when the file cannot tell."""
    from simsop.results import file_sha256

    was = old.get("scenario_file_sha256")
    if not was or scenario_file is None or not Path(scenario_file).is_file():
        return ""
    if file_sha256(scenario_file) != was:
        return (f"scenario: {scenario_file} was edited since the run began; undo the edit to resume, or run it "
                "again in a new folder")
    return (f"scenario: {scenario_file} is unchanged, but this simsop reads it otherwise than the one that began the "
            "run (a default or a rule of the scenario changed since); its finished replications and new ones would "
            "not be one run's: run it again in a new folder")


def _check_resume(old: dict[str, Any], new: dict[str, Any], run_dir: Path,
                  scenario_file: str | Path | None = None) -> None:
    diffs = []
    moved_scenario = old.get("scenario_sha256") != new.get("scenario_sha256")
    for k in _RESUME_KEYS:
        a, b = old.get(k), json.loads(json.dumps(new.get(k)))
        if a != b:
            if k == "shock_kpis_version":
                # Its finished replications hold shock KPIs of another definition; mixing them would be wrong.
                diffs.append(f"{k}: the run was written by a simsop whose shock KPIs were defined otherwise "
                             f"(version {a}, now {b}); run it again in a new folder")
                continue
            if k == "scenario_sha256" and (why := _scenario_change(old, scenario_file)):
                diffs.append(why)  # two hashes tell a reader nothing: say what changed
                continue
            if k == "cases":
                a = [(c.get("name"), c.get("scenario_sha256", "")[:12]) for c in a or []]
                b = [(c.get("name"), c.get("scenario_sha256", "")[:12]) for c in b or []]
                if moved_scenario and [n for n, _ in a] == [n for n, _ in b]:
                    continue  # the same cases over the changed scenario: said above
            diffs.append(f"{k}: the run has {a!r}, now {b!r}")
    from simsop.results import versions

    was, now = old.get("versions") or {}, versions()
    moved = [f"{k} {was[k]} (now {now.get(k)})" for k in _NUMBER_LIBRARIES if k in was and was[k] != now.get(k)]
    if moved:
        diffs.append(f"versions: the run was made with {', '.join(moved)}, whose numbers may differ; its finished "
                     "replications and new ones would not be one run's: run it again in a new folder, or resume "
                     "with those versions installed")
    if diffs:
        raise ResumeError(f"cannot resume {run_dir}: the inputs differ from the interrupted run's\n  "
                          + "\n  ".join(diffs))


# ---------------------------------------------------------------------------------------------- the runner


def _check_policies(scenario: Scenario, policies: Sequence[str]) -> None:
    """Every policy exists, can be built from the scenario's parameters and can run it (a replay file is read
    and checked), before any folder is made or replication run.

    Raises:
        PolicyError (a ValueError): one line per problem, naming the policy and the key path.
    """
    from simsop.planning.cycle import build_policy
    from simsop.planning.policy import PolicyError

    for name in policies:
        try:
            build_policy(scenario, name)
        except PolicyError as exc:
            lines = [msg if where == "planning.policy" else f"policy {name!r}: {where}: {msg}"
                     for where, msg in exc.problems]
            raise PolicyError("\n".join(lines), exc.problems) from None


def misaligned(variant: Scenario, reference: Scenario) -> list[tuple[str, float, float]]:
    """What keeps a variant from running day for day on the reference's futures: (what, the variant's days, the
    reference's days) for a horizon or a warm-up that differ."""
    return [(what, a, b) for what, a, b in (("horizon", variant.horizon, reference.horizon),
                                             ("warm-up", variant.warmup, reference.warmup)) if a != b]


def _check_cases(scenario: Scenario, policies: Sequence[str], cases: Sequence[tuple[str, Scenario]]) -> None:
    """Cases are variants of one experiment: each is as long as the reference and cuts the same warm-up (its
    replications are paired day for day with the reference's), and every policy can run each variant that is
    more than the reference under other shocks (a stress case needs no second check).

    Raises:
        ValueError: a case of another horizon or warm-up, naming both; PolicyError: a policy that cannot run a
            variant, naming the case.
    """
    from simsop.planning.policy import PolicyError

    ref_name, ref = cases[0]
    for name, sc in cases:
        diffs = [f"{what} {a} days (the reference {ref_name!r}: {b})" for what, a, b in misaligned(sc, ref)]
        if diffs:
            raise ValueError(f"case {name!r} has {' and '.join(diffs)}: the variants of an experiment run on the same "
                             "random futures, day for day, so they must share the horizon and the warm-up")
        if sc is scenario or sc.model_copy(update={"shocks": scenario.shocks}) == scenario:
            continue
        try:
            _check_policies(sc, policies)
        except PolicyError as exc:
            raise PolicyError(f"case {name!r}: {exc}", exc.problems) from None


@dataclass(frozen=True)
class Design:
    """The validated inputs of an experiment: what is run, and everything that changes a number."""

    scenario: Scenario
    policies: tuple[str, ...]
    cases: tuple[tuple[str, Scenario], ...]
    baseline: str
    seed: int
    max_replications: int
    target: Target | None
    initial_replications: int
    series: bool
    extras: bool
    bullwhip_period: int
    confidence: float

    @property
    def case_names(self) -> list[str]:
        return [c for c, _ in self.cases]

    @property
    def baseline_case(self) -> str:
        return self.cases[0][0]

    def own_shocks(self, case: str) -> tuple[Any, ...]:
        """The shocks a case adds to the reference case's scenario (all of its shocks when it is the only case)."""
        scenario = dict(self.cases)[case]
        if len(self.cases) == 1:
            return tuple(scenario.shocks)
        base = {sh.name for sh in self.cases[0][1].shocks}
        return tuple(sh for sh in scenario.shocks if sh.name not in base)

    def judged(self) -> tuple[tuple[str, tuple[Any, ...]], ...]:
        """(case, its own shocks) of the cases whose windows the reference case's replications are judged over."""
        return tuple((name, own) for name, _ in self.cases[1:] if (own := self.own_shocks(name)))

    @property
    def has_shocks(self) -> bool:
        return any(v.shocks for _, v in self.cases)

    def config(self) -> dict[str, Any]:
        """The manifest's record of the design (``_RESUME_KEYS`` of it must match to resume)."""
        from simsop.scenario import scenario_hash

        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "max_replications": self.max_replications,
            "policies": list(self.policies),
            "baseline": self.baseline,
            "cases": [{"name": name, "scenario_sha256": scenario_hash(v),
                       "shocks": [sh.model_dump(mode="json", by_alias=True, exclude_unset=True) for sh in v.shocks]}
                      for name, v in self.cases],
            "baseline_case": self.baseline_case,
            "target_ci": str(self.target) if self.target else None,
            "initial_replications": self.initial_replications if self.target else None,
            "series": self.series,
            "extras": self.extras,
            "bullwhip_period": self.bullwhip_period,
            "confidence": self.confidence,
            "horizon": self.scenario.horizon,
            "warmup": self.scenario.warmup,
            # Only runs with shocks: a run without them resumes whatever simsop wrote it.
            "shock_kpis_version": SHOCK_KPIS_VERSION if self.has_shocks else None,
        }


def _design(scenario: Scenario, policies: Sequence[str] | None, replications: int | None, seed: int | None,
            cases: Sequence[tuple[str, Scenario]] | None, baseline: str | None, target: Target | str | None,
            **options: Any) -> Design:
    pols = list(policies) if policies else [scenario.planning.policy]
    if len(set(pols)) != len(pols):
        raise ValueError(f"a policy is listed twice: {pols}")
    _check_policies(scenario, pols)
    case_list = list(cases) if cases else [(BASE_CASE, scenario)]
    names = [c for c, _ in case_list]
    if len(set(names)) != len(names):
        raise ValueError(f"a case name is used twice: {names}")
    _check_cases(scenario, pols, case_list)
    base_pol = pols[0] if baseline is None else baseline
    if base_pol not in pols:
        raise ValueError(f"baseline {base_pol!r} is not one of the policies {pols}")
    tgt = Target.parse(target) if isinstance(target, str) else target
    if tgt is not None:
        _check_target_kpi(tgt.kpi, any(v.shocks for _, v in case_list))
        if options["initial_replications"] < MIN_INITIAL_REPLICATIONS:
            raise ValueError(f"initial_replications must be at least {MIN_INITIAL_REPLICATIONS} in sequential mode "
                             f"(got {options['initial_replications']}): the stopping rule judges the variance from "
                             "them, and a few replications that happen to agree would stop the run too early")
    n_max = scenario.replications if replications is None else int(replications)
    if n_max < 1:
        raise ValueError("replications must be at least 1")
    return Design(scenario, tuple(pols), tuple(case_list), base_pol, scenario.seed if seed is None else int(seed),
                  n_max, tgt, **options)


_OUTPUTS = ("kpis.csv", "summary.json", "summary.csv", "paired.csv", "paired_cases.csv", "series.csv", "plan.csv",
            "forecast.csv", "shocks.csv")


def _open_run(run_dir: Path | None, resume: bool, design: Design, scenario_file: str | Path | None,
              command: Sequence[str] | None, extra: dict[str, Any]) -> tuple[Store, dict[str, Any]]:
    """The store of finished batches (with those of the interrupted run when resuming) and the manifest."""
    from simsop.results import atomic_write_json, manifest
    from simsop.scenario import scenario_hash

    store = Store(run_dir, design.policies, design.case_names)
    if run_dir is None:
        if resume:
            raise ValueError("resume needs the run folder (out)")
        return store, {}
    config = design.config()
    if resume:
        old = read_manifest(run_dir)
        if old.get("status") == "complete":
            have = [f for f in ("summary.csv", "paired.csv", "report.html") if (run_dir / f).exists()]
            raise ResumeError(f"{run_dir}: this run is complete; there is nothing to resume. Its results are there"
                              + (f" ({', '.join(have)})" if have else "")
                              + "; to run it again, name a new folder")
        _check_resume(old, {**config, "scenario_sha256": scenario_hash(design.scenario)}, run_dir, scenario_file)
        _remove_torn_writes(run_dir)
        store.load()
    else:
        if (run_dir / _PARTIAL).is_dir() and any((run_dir / _PARTIAL).iterdir()):
            raise ResumeError(f"{run_dir} holds an unfinished run; resume it (--resume) or choose another folder")
        theirs = [name for name in _OUTPUTS if (run_dir / name).exists()]
        if theirs and not (run_dir / "manifest.json").exists():
            # Not a folder of simsop's: these are someone's own files, which the run would delete.
            raise ResumeError(f"{run_dir} holds {', '.join(theirs)} but no manifest.json: not a simsop run folder, "
                              "and a run would replace them; choose another folder (--out) or an empty one")
        _remove_torn_writes(run_dir)
        if (run_dir / "manifest.json").exists():
            try:
                done = read_manifest(run_dir).get("status") == "complete"
                why = "a complete run"
            except ResumeError as exc:  # results next to a manifest that cannot be read are results still
                done = any((run_dir / name).exists() for name in _OUTPUTS)
                why = f"results (and its manifest cannot be read: {exc})"
            if done:
                raise ResumeError(f"{run_dir} holds {why}; a new run would replace them: choose another folder "
                                  "(--out) or delete this one first")
        for name in _OUTPUTS:  # a file an earlier run left must not pass for this run's
            (run_dir / name).unlink(missing_ok=True)
    man = manifest(scenario_file, scenario_hash(design.scenario), design.seed, design.max_replications,
                   {**config, **extra, "status": "running"}, command)
    atomic_write_json(run_dir / "manifest.json", man)
    return store, man


def _remove_torn_writes(run_dir: Path) -> None:
    """Delete the temporary files of atomic writes that a killed run left (``.<file>.<random>.tmp``, never
    renamed into place): they are nobody's results, and would stay in the folder for good."""
    for folder in (run_dir, run_dir / _PARTIAL):
        for name in (*_OUTPUTS, "manifest.json", "*.npz"):
            for tmp in folder.glob(f".{name}.*.tmp"):
                tmp.unlink(missing_ok=True)


def _run_rounds(store: Store, design: Design, get_pool: Callable[[], Pool], progress: ExperimentProgress | None
                ) -> tuple[list[int], bool | None]:
    """Run the replications; in sequential mode, in rounds until the target is met. Returns the rounds
    (replications per policy and case at the end of each) and whether the target was met."""
    tgt = design.target
    n = design.max_replications if tgt is None else min(design.max_replications, design.initial_replications)
    rounds: list[int] = []
    while True:
        rounds.append(n)
        _run_round(store, design, n, get_pool, progress)
        if tgt is None:
            return rounds, None
        reached, wanted = _precision(store, tgt, len(design.policies), len(design.cases), n, design.confidence)
        if reached or n >= design.max_replications:
            return rounds, reached
        # At least 10% more each round, so an optimistic estimate does not creep up one by one.
        n = min(design.max_replications, max(wanted or design.max_replications, n + max(1, math.ceil(n / 10))))


def _summarise(store: Store, design: Design, rounds: list[int], reached: bool | None) -> Experiment:
    """The experiment's tables from the finished replications, sorted (so independent of completion order)."""
    pols, cases = list(design.policies), design.case_names
    n = rounds[-1]
    rows = _joined(store.rows, cases, [(pi, ci, r) for pi in range(len(pols)) for ci in range(len(cases))
                                       for r in range(n)])
    kpis = _kpis_frame(rows)
    kpi_cols = _kpi_columns(rows)
    conf = design.confidence
    band_parts: list[pd.DataFrame] = []
    table_rows: dict[str, list[Row]] = {}
    warm: list[dict[str, Any]] = []
    for p in pols:
        for c in cases:  # one group's series in memory at a time
            ser, tables = store.group(p, c, n)
            if design.series and ser:
                band_parts.append(_band_frame(p, c, ser))
                warm.append({"policy": p, "case": c, **_suggest_warmup(ser)})
            for key, trs in tables.items():
                table_rows.setdefault(key, []).extend({"policy": p, "case": c, **t} for t in trs)
    # A shock is not a start-up transient: the suggestion comes from the first (shock-free) case only.
    suggested = max((v for w in warm if w["case"] == design.baseline_case for k, v in w.items()
                     if k not in ("policy", "case")), default=None)
    plan_df, fc_df, shocks_df = _extra_frames(table_rows, design.baseline)
    precision = None
    summary = _summary_frame(kpis, pols, cases, kpi_cols, conf)
    if design.target is not None:
        t = design.target
        precision = {"target": str(t), "kpi": t.kpi, "relative": t.relative, "absolute": t.absolute,
                     "reached": bool(reached), "rounds": rounds, "replications": n,
                     "half_width": _half_widths(summary, t.kpi)}
    return Experiment(
        kpis=kpis, summary=summary, paired=_paired_frame(kpis, pols, cases, design.baseline, kpi_cols, conf),
        case_effects=_case_frame(kpis, pols, cases, design.baseline_case, kpi_cols, conf),
        series=pd.concat(band_parts, ignore_index=True) if band_parts else None, plan=plan_df, forecast=fc_df,
        shocks=shocks_df, policies=pols, cases=cases, baseline=design.baseline, baseline_case=design.baseline_case,
        seed=design.seed, replications=n, suggested_warmup=suggested, suggested_warmup_by_group=warm,
        precision=precision, manifest={})


def _write(exp: Experiment, run_dir: Path, design: Design, man: dict[str, Any], elapsed: float) -> dict[str, Any]:
    """Every result file, atomically; the manifest last (its status says the run is complete)."""
    from simsop.results import atomic_write_json, atomic_write_text

    atomic_write_text(run_dir / "kpis.csv", _csv(exp.kpis))
    atomic_write_text(run_dir / "summary.csv", _csv(exp.summary))
    atomic_write_text(run_dir / "paired.csv", _csv(exp.paired))
    if len(exp.cases) > 1:
        atomic_write_text(run_dir / "paired_cases.csv", _csv(exp.case_effects))
    for name, frame in (("series", exp.series), ("plan", exp.plan), ("forecast", exp.forecast),
                        ("shocks", exp.shocks)):
        if frame is not None:
            atomic_write_text(run_dir / f"{name}.csv", _csv(frame))
    atomic_write_json(run_dir / "summary.json", _summary_json(exp, design))
    man = {**man, "status": "complete", "replications": exp.replications, "suggested_warmup": exp.suggested_warmup,
           "suggested_warmup_by_group": exp.suggested_warmup_by_group, "precision": exp.precision,
           "elapsed_seconds": round(elapsed, 3)}
    atomic_write_json(run_dir / "manifest.json", man)
    return man


def run_experiment(
    scenario: Scenario,
    policies: Sequence[str] | None = None,
    replications: int | None = None,
    seed: int | None = None,
    executor: str = "process",
    jobs: int | None = None,
    *,
    cases: Sequence[tuple[str, Scenario]] | None = None,
    baseline: str | None = None,
    target: Target | str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    dask_scheduler: str | None = None,
    progress: ExperimentProgress | None = None,
    series: bool = True,
    extras: bool = True,
    bullwhip_period: int = 7,
    initial_replications: int = 10,
    confidence: float = 0.95,
    scenario_file: str | Path | None = None,
    command: Sequence[str] | None = None,
    info: dict[str, Any] | None = None,
) -> Experiment:
    """Run replications of every policy under every case on common random numbers, and summarise them.

    Args:
        scenario: the base scenario (its name, seed and default replications are used).
        policies: planning policy names (default: the scenario's ``planning.policy``); ``none`` runs the
            execution policies only.
        replications: replications per policy and case; the maximum in sequential mode (default: the
            scenario's).
        seed: the experiment seed (default: the scenario's).
        executor: ``serial``, ``process`` (local processes, default) or ``dask``.
        jobs: worker processes (default: all cores).
        cases: ``(name, scenario variant)`` pairs, e.g. the base under shocks or another design of the company
            (default: ``[("base", scenario)]``); the first is the reference of ``case_effects``. Every case has
            the horizon and warm-up of the first, and every policy must be able to run it.
        baseline: the policy the others are compared with (default: the first).
        target: sequential mode: a :class:`Target` or its text (``profit:0.01``, ``otif:abs=0.005``).
        out: the run folder; files are written there (``manifest.json``, ``kpis.csv``, ``summary.json``,
            ``summary.csv``, ``paired.csv``, ``series.csv``, ...) and finished batches kept in ``partial/``
            until the end. None keeps everything in memory (series included: pass ``series=False`` for big
            experiments without a folder).
        resume: continue the interrupted run in ``out`` (its inputs must be the same).
        dask_scheduler: the Dask scheduler's address, or ``local`` (default) for a local cluster.
        progress: called with (replications done, replications planned) after every batch.
        series: keep daily series and write their quantile bands (and suggest a warm-up).
        extras: keep the report's plan, forecast and shock tables.
        bullwhip_period: days per period of the bullwhip ratios (7: weekly sums).
        initial_replications: the first round of sequential mode, at least 10 (Law's pilot; fewer would let
            a chance agreement stop the run). It does not depend on the number of workers, so the outcome of
            sequential mode does not depend on the executor.
        confidence: the level of every confidence interval.
        scenario_file, command, info: recorded in the manifest.

    Raises:
        ValueError: bad names or options, a policy that cannot be built or cannot run the scenario (a
            :class:`~simsop.planning.policy.PolicyError`), all before any folder is made or replication run;
        ResumeError: a run folder that does not match these inputs, holds a complete run (without
            ``resume``) or a damaged file; ExecutorError: an executor that cannot start, or a Dask
            scheduler address that does not parse (before any folder is made). A failure after the folder
            is made (in a replication, or while summarising or writing) sets the manifest's status to
            ``failed`` with the error.
    """
    if executor not in EXECUTORS:
        raise ExecutorError(f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}")
    if executor == "dask":
        check_dask_address(dask_scheduler)
    design = _design(scenario, policies, replications, seed, cases, baseline, target,
                     initial_replications=initial_replications, series=series, extras=extras,
                     bullwhip_period=bullwhip_period, confidence=confidence)
    run_dir = None if out is None else Path(out)
    with contextlib.ExitStack() as locked:
        if run_dir is not None:
            locked.enter_context(_run_lock(run_dir))
        return _run_in(run_dir, design, resume, scenario_file, command, info, executor, jobs, dask_scheduler,
                       progress)


def _run_in(run_dir: Path | None, design: Design, resume: bool, scenario_file: str | Path | None,
            command: Sequence[str] | None, info: dict[str, Any] | None, executor: str, jobs: int | None,
            dask_scheduler: str | None, progress: ExperimentProgress | None) -> Experiment:
    """:func:`run_experiment` once its design is made and its folder (if any) is this run's alone."""
    store, man = _open_run(run_dir, resume, design, scenario_file, command,
                           {**(info or {}), "executor": executor, "jobs": jobs})
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        pool: Pool | None = None

        def get_pool() -> Pool:  # started on first use: a resumed, finished round needs none
            nonlocal pool
            if pool is None:
                # A pool of processes costs more than it saves for one worker or one replication in all.
                units = design.max_replications * len(design.policies) * len(design.cases)
                kind = "serial" if executor == "process" and (jobs == 1 or units == 1) else executor
                pool = stack.enter_context(open_pool(kind, jobs, dask_scheduler))
            return pool

        try:
            rounds, reached = _run_rounds(store, design, get_pool, progress)
        except BaseException as exc:
            if run_dir is not None:
                with deferred_interrupts():
                    _record_stop(run_dir, man, store, exc)
            raise
    try:
        exp = _summarise(store, design, rounds, reached)
        if run_dir is not None:
            exp.manifest = _write(exp, run_dir, design, man, time.perf_counter() - t0)
    except BaseException as exc:  # the replications are kept in partial/: a resume summarises them again
        if run_dir is not None:
            with deferred_interrupts():
                _record_stop(run_dir, man, store, exc)
        raise
    if run_dir is not None:
        exp.run_dir = run_dir
        store.discard()
    return exp


_LOCK = ".simsop-run.lock"


@contextlib.contextmanager
def _run_lock(run_dir: Path) -> Any:
    """The run folder for this process alone while it runs: two runs writing one folder would mix their
    batches and each call the result its own. A lock left by a process that is gone is taken over.

    Raises:
        ResumeError: another simsop process on this machine is running in the folder.
    """
    import os
    import socket

    run_dir.mkdir(parents=True, exist_ok=True)
    lock = run_dir / _LOCK
    me = f"{os.getpid()} {socket.gethostname()}"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid_text, _, host = lock.read_text(encoding="utf-8").partition(" ")
                pid = int(pid_text)
            except (OSError, ValueError):
                pid, host = -1, ""
            if host.strip() == socket.gethostname() and pid > 0 and _alive(pid):
                raise ResumeError(f"{run_dir}: another simsop run (process {pid}) is writing in this folder; wait "
                                  "for it to end or choose another folder (--out)") from None
            if host.strip() not in ("", socket.gethostname()):
                raise ResumeError(f"{run_dir}: a simsop run on {host.strip()} (process {pid}) holds this folder; "
                                  f"if it has ended, delete {lock} and run again") from None
            lock.unlink(missing_ok=True)  # left by a process that has ended
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(me)
        break
    else:
        raise ResumeError(f"{run_dir}: cannot take the folder's lock {lock}")
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if lock.read_text(encoding="utf-8") == me:
                lock.unlink()


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _record_stop(run_dir: Path, man: dict[str, Any], store: Store, exc: BaseException) -> None:
    """Say in the manifest that the run stopped (interrupted, or failed with this error) and keep the finished
    replications' KPIs in kpis.csv, where people look for them (resume reads partial/, not this file).
    A failure to write these is not allowed to hide the error that stopped the run."""
    from simsop.results import atomic_write_json, atomic_write_text

    done = _joined(store.rows, store.cases, sorted(store.rows))
    status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
    with contextlib.suppress(OSError):
        if done:
            atomic_write_text(run_dir / "kpis.csv", _csv(_kpis_frame(done)))
    failure = {"failed_replication": exc.as_dict()} if isinstance(exc, ReplicationError) else {}
    with contextlib.suppress(OSError):
        atomic_write_json(run_dir / "manifest.json", {**man, "status": status,
                                                      "error": (str(exc) if failure else repr(exc))[:500],
                                                      **failure, "finished_replications": len(done)})


def _check_target_kpi(kpi: str, shocks: bool) -> None:
    from simsop.kpi import ALL_KPI_NAMES, SHOCK_KPI_NAMES

    known = set(ALL_KPI_NAMES) | (set(SHOCK_KPI_NAMES) if shocks else set())
    if kpi not in known and not kpi.startswith("bullwhip_"):
        import difflib

        close = difflib.get_close_matches(kpi, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown KPI {kpi!r} in the precision target{hint}")


def _run_round(store: Store, design: Design, n: int, get_pool: Callable[[], Pool],
               progress: ExperimentProgress | None) -> None:
    """Run replications 0..n-1 of every (policy, case) that are not finished yet."""
    todo = {(p, c): [r for r in range(n) if not store.done(p, c, r)] for p in design.policies
            for c in design.case_names}
    units = sum(len(v) for v in todo.values())
    total = n * len(design.policies) * len(design.cases)
    done = total - units
    if progress:
        progress(done, total)
    if units == 0:
        return
    pool = get_pool()
    scenarios = dict(design.cases)
    judge = design.judged()
    groups = list(todo)
    tasks = []
    for gi, reps in guided_batches(list(todo.values()), pool.workers):
        p, c = groups[gi]
        tasks.append(Batch(p, c, scenarios[c], design.seed, tuple(reps), design.series, design.extras,
                           design.bullwhip_period, judge if c == design.baseline_case else (),
                           tuple(sh.name for sh in design.own_shocks(c))))

    def take(_: Batch, res: BatchResult) -> None:
        nonlocal done
        store.add(res)
        done += len(res.rows)
        if progress:
            progress(done, total)

    run_tasks(pool, run_batch, tasks, take)


def _precision(store: Store, tgt: Target, policies: int, cases: int, n: int, confidence: float
               ) -> tuple[bool, int | None]:
    """Whether every (policy, case) meets the target with replications 0..n-1, and the replications wanted.

    A group where the KPI is undefined in every replication (a shock KPI without shocks) is left out.
    """
    ok, wanted, estimable, judged = True, 0, True, 0
    for pi in range(policies):
        for ci in range(cases):
            values = np.array([store.rows[(pi, ci, r)].get(tgt.kpi, np.nan) for r in range(n)], dtype=float)
            if np.isnan(values).all():
                continue
            judged += 1
            if not tgt.reached(values, confidence):
                ok = False
                req = tgt.required(values, confidence)
                estimable = estimable and req is not None
                wanted = max(wanted, req or 0)
    if judged == 0:
        raise ValueError(f"the precision target's KPI {tgt.kpi!r} is undefined (NaN) in every policy and case")
    return ok, wanted if estimable else None


def _half_widths(summary: pd.DataFrame, kpi: str) -> dict[str, float]:
    s = summary[summary["kpi"] == kpi]
    return {f"{r['policy']}/{r['case']}": float(r["half_width"]) for r in s.to_dict("records")}


def _joined(rows: dict[tuple[int, int, int], Row], cases: Sequence[str], keys: Sequence[tuple[int, int, int]]
            ) -> list[Row]:
    """The rows at ``keys``, each case's with the shock outcomes of its reference row (same policy and
    replication, case 0) over its windows as ``<kpi>_noshock``, before ``events``; reference rows without
    the nested values. The store's rows are left as they are (a resume reads them again)."""
    from simsop.kpi import NO_SHOCK_SUFFIX

    out = []
    for pi, ci, r in keys:
        row = {k: v for k, v in rows[(pi, ci, r)].items() if k not in (_NO_SHOCK, "events")}
        ref = rows.get((pi, 0, r))
        if ci and ref is not None and cases[ci] in ref.get(_NO_SHOCK, {}):
            row.update({f"{k}{NO_SHOCK_SUFFIX}": v for k, v in ref[_NO_SHOCK][cases[ci]].items()})
        if "events" in rows[(pi, ci, r)]:
            row["events"] = rows[(pi, ci, r)]["events"]
        out.append(row)
    return out


def _kpis_frame(rows: Sequence[Row]) -> pd.DataFrame:
    cols = [*ID_COLUMNS, *_kpi_columns(rows), *(["events"] if any("events" in r for r in rows) else [])]
    return pd.DataFrame(list(rows), columns=cols)


def _extra_frames(tables: dict[str, list[Row]], baseline: str
                  ) -> tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    from simsop.report.extract import FORECAST_KEYS, PLAN_KEYS, average_replications

    plan = fc = shocks = None
    if tables.get("plan"):
        plan = average_replications([pd.DataFrame(tables["plan"])], PLAN_KEYS)
    if tables.get("forecast"):
        fc = average_replications([pd.DataFrame(tables["forecast"])], FORECAST_KEYS)
    if tables.get("shocks"):
        # The same shocks happen to every policy in replication i (common random numbers): list them once.
        df = pd.DataFrame(tables["shocks"])
        shocks = df[df["policy"] == baseline].drop(columns=["policy"]).reset_index(drop=True)
    return plan, fc, shocks


def _records(df: pd.DataFrame) -> list[Row]:
    """The rows of a frame as dicts of Python scalars."""
    names = [str(c) for c in df.columns]
    # Column by column (tolist gives Python scalars): much cheaper than to_dict("records") on every row.
    cols = [[_plain(v) for v in df[c].tolist()] if df[c].dtype == object else df[c].tolist() for c in df.columns]
    return [dict(zip(names, values, strict=True)) for values in zip(*cols, strict=True)]


# What each section's differences are, in summary.json and in words (paired.csv and paired_cases.csv have the
# same columns, mean_diff = mean_policy - mean_baseline).
_DIFFERENCES = {
    "paired": "policy - baseline policy, same case and replication (mean_policy: the policy's mean, "
              "mean_baseline: the baseline's)",
    "case_effects": "case - baseline_case, same policy and replication (mean_policy: the case's mean, "
                    "mean_baseline: the baseline case's; for a shock outcome, the same futures without the shocks "
                    "over the same windows, <kpi>_noshock in kpis.csv)",
}


def _unit(kpi: str) -> str:
    """How a KPI's values are stored in the result files: rates are fractions (0.97), MAPE and WMAPE percent."""
    from simsop.report.kpimeta import info

    i = info(kpi)
    if i.kind == "pct":
        return "fraction"
    if i.unit == "%":  # forecast_mape_lag*, forecast_wmape_lag*: stored in percent, as forecasters quote them
        return "percent"
    return i.unit or "ratio"


def _nested(frame: pd.DataFrame, drop: Sequence[str] = ()) -> dict[str, dict[str, dict[str, Any]]]:
    """Rows of a summary, paired or case-effects frame as policy -> case -> KPI -> statistics."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in _records(frame):
        for k in drop:
            r.pop(k)
        out.setdefault(r.pop("policy"), {}).setdefault(r.pop("case"), {})[r.pop("kpi")] = r
    return out


def _summary_json(exp: Experiment, design: Design) -> dict[str, Any]:
    """summary.json: every section nested the same way, policy -> case -> KPI (a planner reads a stress test
    plan by plan, then case by case: ``paired["lp"]["plant-fire"]["otif"]``); the units of the stored values
    and the sign of each section's differences; and the baseline's KPIs at the top level."""
    nested = _nested(exp.summary)
    head = {
        "scenario": design.scenario.name, "seed": exp.seed, "replications": exp.replications,
        "confidence": design.confidence, "policies": exp.policies, "baseline": exp.baseline,
        "cases": exp.cases, "baseline_case": exp.baseline_case, "warmup": design.scenario.warmup,
        "suggested_warmup": exp.suggested_warmup, "suggested_warmup_by_group": exp.suggested_warmup_by_group,
        "precision": exp.precision, "nesting": "policy -> case -> kpi",
        "units": {k: _unit(k) for k in exp.kpi_names()}, "differences": _DIFFERENCES,
        "summary": nested, "paired": _nested(exp.paired, ("baseline",)),
        "case_effects": _nested(exp.case_effects, ("baseline_case",)),
    }
    # Every KPI also at the top level, for the baseline policy's base case (the whole run for `simsop run`):
    # summary["otif"]["mean"], as the simplest reader expects. KPI names never clash with the keys above.
    flat = nested.get(str(exp.baseline), {}).get(str(exp.baseline_case), {})
    return {**head, **{k: v for k, v in flat.items() if k not in head}}


# ---------------------------------------------------------------------------------------------- variants

# Kinds of random source (simsop.streams names them by source), in the order they are reported.
SOURCE_KINDS = ("demand", "lane", "supplier", "factory", "shock")


@dataclass(frozen=True)
class StreamSharing:
    """Which random sources a variant shares with the reference case (sources that draw nothing, such as a
    fixed lead time, are left out). A stream is named by its source, so a source in both files draws the same
    numbers in replication *i* when its law is the same (``same``); under another law it uses the same stream
    but its draws differ (``other_law``).

    Attributes: each a tuple of (kind, label) pairs, kind one of :data:`SOURCE_KINDS`.
    """

    same: tuple[tuple[str, str], ...]
    other_law: tuple[tuple[str, str], ...]
    only_reference: tuple[tuple[str, str], ...]
    only_variant: tuple[tuple[str, str], ...]

    @property
    def paired(self) -> bool:
        """Whether any random source draws the same numbers in both (else their differences are not paired)."""
        return bool(self.same)

    def as_dict(self) -> dict[str, list[str]]:
        return {k: [f"{kind} {label}" for kind, label in getattr(self, k)]
                for k in ("same", "other_law", "only_reference", "only_variant")}


def random_sources(scenario: Scenario) -> dict[str, tuple[str, str, str]]:
    """The scenario's random sources: stream name -> (kind, label, its law as JSON). The stream names are the
    model's (``simsop.model.world``); a source whose law is a constant draws nothing and is left out."""
    from simsop.dists import Deterministic

    out: dict[str, tuple[str, str, str]] = {}

    def add(stream: str, kind: str, label: str, law: Any) -> None:
        if isinstance(law, Deterministic):
            return
        plain = law.model_dump(mode="json", by_alias=True) if hasattr(law, "model_dump") else law
        out[stream] = (kind, label, json.dumps(plain, sort_keys=True))

    for c in scenario.customers:
        for d in c.demand:
            add(f"demand:{c.id}:{d.product}", "demand", f"{c.id} x {d.product}", d)
    for ln in scenario.lanes:
        add(f"lane:{ln.from_}->{ln.to}:lead_time", "lane", f"{ln.from_} -> {ln.to}", ln.lead_time)
    for s in scenario.suppliers:
        add(f"supplier:{s.id}:lead_time", "supplier", f"{s.id} lead time", s.lead_time)
        if s.reliability < 1:
            # The stream draws uniform numbers whatever the reliability, which only sets the threshold: the same
            # draws (on time or late by the same test) in both files.
            add(f"supplier:{s.id}:reliability", "supplier", f"{s.id} reliability", "uniform(0, 1)")
            add(f"supplier:{s.id}:delay", "supplier", f"{s.id} delay", s.delay)
    for f in scenario.factories:
        if f.processing_time is not None:
            add(f"factory:{f.id}:processing", "factory", f"{f.id} processing", f.processing_time)
        add(f"factory:{f.id}:yield", "factory", f"{f.id} yield", f.yield_)
    for sh in scenario.shocks:
        add(f"shock:{sh.name}", "shock", sh.name, sh)
    return out


def stream_sharing(reference: Scenario, variant: Scenario) -> StreamSharing:
    """The random sources ``variant`` shares with ``reference`` (see :class:`StreamSharing`)."""
    a, b = random_sources(reference), random_sources(variant)
    same = tuple(b[k][:2] for k in b if k in a and a[k][2] == b[k][2])
    other = tuple(b[k][:2] for k in b if k in a and a[k][2] != b[k][2])
    only_a, only_b = tuple(a[k][:2] for k in a if k not in b), tuple(b[k][:2] for k in b if k not in a)
    return StreamSharing(same, other, only_a, only_b)
