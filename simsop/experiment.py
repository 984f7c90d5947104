"""Replications dispatched through an executor: serial, local processes, or anything with ``submit``.

A replication is a pure function of (scenario, seed, replication index), so the KPI rows are identical
whichever executor runs them; rows are always returned sorted by replication. Work is sent in small
batches so that dispatch overhead stays small against the simulation itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any

from simsop.replication import run_replication
from simsop.scenario import Scenario

Row = dict[str, Any]
Progress = Callable[[int], None]

EXECUTORS = ("serial", "process")


def replicate_batch(scenario: Scenario, seed: int, replications: Sequence[int]) -> list[Row]:
    """Run a batch of replications in this process and return one KPI row each."""
    rows = []
    for r in replications:
        res = run_replication(scenario, seed=seed, replication=r)
        rows.append({"replication": r, "seed": seed, **res.kpis, "events": res.events})
    return rows


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def batches(indices: Sequence[int], jobs: int, batch_size: int | None = None) -> list[list[int]]:
    """Split replication indices into batches: about four per worker, so the load stays balanced."""
    if batch_size is None:
        batch_size = max(1, min(32, len(indices) // (4 * max(jobs, 1)) or 1))
    return [list(indices[i:i + batch_size]) for i in range(0, len(indices), batch_size)]


@contextmanager
def open_executor(kind: str, jobs: int | None = None) -> Iterator[Executor | None]:
    """An executor by name; ``serial`` yields None (run in this process)."""
    if kind == "serial":
        yield None
        return
    if kind == "process":
        with ProcessPoolExecutor(max_workers=jobs or default_jobs()) as ex:
            yield ex
        return
    raise ValueError(f"unknown executor {kind!r}; expected one of {EXECUTORS}")


def run_batches(executor: Executor | None, fn: Callable[..., list[Row]], tasks: list[tuple[Any, ...]],
                progress: Progress | None = None) -> list[Row]:
    """Run ``fn(*task)`` for every task, serially or on the executor; rows in completion order."""
    rows: list[Row] = []
    if executor is None:
        for task in tasks:
            out = fn(*task)
            rows.extend(out)
            if progress:
                progress(len(out))
        return rows
    futures: list[Future[list[Row]]] = [executor.submit(fn, *task) for task in tasks]
    try:
        for fut in as_completed(futures):
            out = fut.result()
            rows.extend(out)
            if progress:
                progress(len(out))
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    return rows


def summarize_kpis(rows: Sequence[Row], kpis: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Mean, CI and quantiles per KPI over replications; a KPI that is undefined everywhere gives nulls."""
    import numpy as np

    from simsop.stats import summarize

    out: dict[str, dict[str, Any]] = {}
    for k in kpis:
        values = np.array([r[k] for r in rows], dtype=float)
        if np.isnan(values).all():
            out[k] = {"n": 0, "n_nan": len(values), "mean": float("nan"), "std": float("nan"),
                      "ci_low": float("nan"), "ci_high": float("nan"), "half_width": float("nan"),
                      "p5": float("nan"), "p50": float("nan"), "p95": float("nan")}
        else:
            out[k] = summarize(values).as_dict()
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
    tasks = [(scenario, s, b) for b in batches(range(n), jobs)]
    with open_executor(executor, jobs) as ex:
        rows = run_batches(ex, replicate_batch, tasks, progress)
    rows.sort(key=lambda r: r["replication"])
    return rows
