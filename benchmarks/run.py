#!/usr/bin/env python
"""simsop's benchmark: one run, one table, every speed figure next to a bare SimPy floor measured in that run.

    python benchmarks/run.py                    # the full benchmark (about 7 minutes on 2 cores)
    python benchmarks/run.py --quick --no-peers # what CI runs (under a minute)

Sections (``--only`` picks some; the floor always runs, since the other figures are given as ratios to it):

* ``floor``: bare SimPy loops (timeouts; Store, Container, Resource) in events per second (``floor.py``);
* ``reference``: the example company over two years (``scenarios/example_company.yaml``) through the public
  ``run_replication``: time per replication, events, events per second and the share of the timeout floor;
  the split into building the world, simulating and computing KPIs; the same without the S&OP cycle;
* ``scaling``: time per replication and cost per event as products, warehouses and the horizon double;
* ``replications``: the same replications serially, on the process executor and on a local Dask cluster, each
  in a fresh interpreter: speed-up, start-up overhead, and whether the KPI rows are identical to serial;
* ``startup``: wall time of ``simsop --help`` and of ``simsop run`` with one replication of the example;
* ``memory``: peak memory of one replication and of an experiment (and whether it stays flat per replication);
* ``peers``: SupplyNetPy and stockpyl (installed by ``peers.py`` into their own venv, never a dependency of
  simsop) against simsop on the same small models, with their fill rates and stock side by side; and the same
  models hand-written in bare SimPy (``bare.py``): how near the floor a model with the least work per event
  gets, and what simsop's records and KPIs cost on top of it.

How events are counted (the same way for the floor and for simsop)
------------------------------------------------------------------
An event is one call of ``simpy.Environment.step`` (``floor.CountingEnvironment`` semantics): every
``Initialize``, ``Timeout``, callback event and process end. simsop runs with ``env.run(until=horizon)``, whose
stop event is a step too; it is not counted. simsop's own ``events_processed()`` also counts the customer
arrivals it handles inline, without a kernel event, when nothing else is due before them: those are shown
but left out of every ratio to the floor, so the ratios compare kernel events with kernel events.
``check: event counting`` verifies on the reference scenario that ``step`` calls - 1 = ``events_processed()``
- inline arrivals, and that ``run_replication(...).events`` equals ``events_processed()``.

Rows carry a name, value, unit, target and status (pass, fail, info, skipped, error). Targets are reported,
not enforced: the script exits 0 whatever they say, unless ``--strict`` (then a fail or an error exits 1).
Results go to ``results/bench/bench-<time>.json`` and ``results/bench/latest.md`` (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import hashlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
# `python benchmarks/run.py` puts benchmarks/ first on sys.path, where profile.py would shadow the standard
# library's `profile` (which cProfile imports): take it off, and import the building blocks as a package.
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == HERE:
    sys.path.pop(0)
if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))

from benchmarks import bare, floor, peers  # noqa: E402  (after the sys.path fix above)

SCENARIO = REPO_ROOT / "scenarios" / "example_company.yaml"
DEFAULT_OUT = REPO_ROOT / "results" / "bench"
CHILD_TAG = "@@BENCH-CHILD@@"
SECTIONS = ("floor", "reference", "scaling", "replications", "startup", "memory", "peers")

# Targets (from the issue). Speed-ups scale with the cores used: 1.9x and 1.8x on 2 cores.
TARGET_FLOOR_SHARE = 0.50
TARGET_PROCESS_PER_CORE = 0.95
TARGET_DASK_PER_CORE = 0.90
TARGET_HELP_SECONDS = 0.3
TARGET_SCALING_DRIFT = 1.25  # cost per event at k x the work <= 1.25 x the cost at 1 x
TARGET_GROWTH_KIB = 64.0  # peak RSS growth per extra replication (a KPI row is a few KiB)
PEER_TARGETS = {"supplynetpy": 1.0, "stockpyl": 10.0}
PEER_NAMES = {"supplynetpy": "SupplyNetPy", "stockpyl": "stockpyl"}
CHECK_FILL_ABS = 0.02  # fill rates of simsop and a peer agree within 2 points
CHECK_STOCK_REL = 0.10  # average on hand within 10%


# ============================================================================================== rows


@dataclass
class Row:
    """One line of the table. ``vs_floor`` is events/s as a fraction of the timeout floor, where it applies."""

    section: str
    name: str
    value: float | str | None
    unit: str = ""
    target: str = ""
    status: str = "info"  # pass | fail | info | skipped | error
    note: str = ""
    vs_floor: float | None = None


def judged(ok: bool | None) -> str:
    return "info" if ok is None else ("pass" if ok else "fail")


@dataclass(frozen=True)
class Config:
    quick: bool
    floor_timeouts: int  # timeouts per interleaved floor measurement
    ref_reps: int  # replications per timing round of the reference scenario
    ref_rounds: int
    scaling_factors: tuple[int, ...]
    scaling_rounds: int
    exp_reps: int  # replications of the executor comparison and of the memory experiment
    exp_variant: dict[str, Any]
    help_samples: int
    run_samples: int
    peer_check_reps: int

    @staticmethod
    def make(quick: bool) -> Config:
        if quick:
            return Config(True, 60_000, 2, 2, (1, 2), 1, 20, {"horizon_days": 180}, 3, 1, 10)
        return Config(False, 200_000, 3, 5, (1, 2, 4), 2, 200, {}, 7, 3, 30)


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ============================================================================================== scenarios


def load_data(path: Path = SCENARIO) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def build_scenario(data: dict[str, Any], path: Path = SCENARIO) -> Any:
    from simsop.scenario import parse_scenario

    return parse_scenario(data, str(path), path.parent)


def scaled(data: dict[str, Any], products: int = 1, warehouses: int = 1, horizon: float = 1.0,
           horizon_days: int | None = None) -> dict[str, Any]:
    """A copy of a scenario (as parsed YAML) with ``products`` x the catalogue, ``warehouses`` x the network
    and ``horizon`` x the days.

    Products are duplicated with new ids (``CW-01-x1``) in the same families, with their demand, stock items
    and sources; warehouses are duplicated with their customers (new ids), stock and lanes, copies of a
    warehouse-sourced item sourcing from the copy of its source. Factory capacity (and warehouse capacity,
    for more products) grows by the same factor, so each copy of the company behaves like the original.
    """
    d = copy.deepcopy(data)
    if products > 1:
        def pid(p: str, j: int) -> str:
            return p if j == 0 else f"{p}-x{j}"

        d["products"] = [{**p, "id": pid(p["id"], j)} for j in range(products) for p in data["products"]]
        for c in d["customers"]:
            c["demand"] = [{**dm, "product": pid(dm["product"], j)} for j in range(products) for dm in c["demand"]]
        for w in d["warehouses"]:
            w["stock"] = [{**it, "product": pid(it["product"], j)} for j in range(products) for it in w["stock"]]
            if w.get("capacity"):
                w["capacity"] = w["capacity"] * products
        for f in d.get("factories", []):
            f["products"] = [pid(p, j) for j in range(products) for p in f["products"]]
        for s in d.get("suppliers", []):
            if s.get("products"):
                s["products"] = [pid(p, j) for j in range(products) for p in s["products"]]
    if warehouses > 1:
        base_w = d["warehouses"]
        wids = {w["id"] for w in base_w}

        def wid(x: str, j: int) -> str:
            return x if j == 0 or x not in wids else f"{x}-x{j}"

        d["warehouses"] = [{**w, "id": wid(w["id"], j),
                            "stock": [{**it, "source": wid(it["source"], j)} if it.get("source") else dict(it)
                                      for it in w["stock"]]}
                           for j in range(warehouses) for w in base_w]
        d["customers"] = [{**c, "id": c["id"] if j == 0 else f"{c['id']}-x{j}", "warehouse": wid(c["warehouse"], j)}
                          for j in range(warehouses) for c in d["customers"]]
        lanes, seen = [], set()
        for j in range(warehouses):
            for ln in d.get("lanes", []):
                new = {**ln, "from": wid(ln["from"], j), "to": wid(ln["to"], j)}
                if (new["from"], new["to"]) not in seen:
                    seen.add((new["from"], new["to"]))
                    lanes.append(new)
        d["lanes"] = lanes
    load = products * warehouses
    if load > 1:
        for f in d.get("factories", []):
            if f.get("capacity"):
                cap = dict(f["capacity"])
                for k in ("regular", "overtime"):
                    if k in cap:
                        cap[k] = cap[k] * load
                f["capacity"] = cap
            elif f.get("lines"):
                f["lines"] = int(f["lines"]) * load
        for s in d.get("suppliers", []):
            if s.get("capacity"):
                s["capacity"] = s["capacity"] * load
    if horizon_days is not None or horizon != 1.0:
        d["horizon"] = int(horizon_days if horizon_days is not None else round(d["horizon"] * horizon))
        d["warmup"] = min(int(d.get("warmup", 0)), d["horizon"] // 2)
    tags = [f"p{products}" if products > 1 else "", f"w{warehouses}" if warehouses > 1 else "",
            f"h{d['horizon']}" if d["horizon"] != data["horizon"] else ""]
    if any(tags):
        d["name"] = d["name"] + "." + ".".join(t for t in tags if t)
    return d


def peer_scenario(model: str) -> dict[str, Any]:
    """simsop's version of the peers' models (benchmarks/peers.py): one product, 365 days, backorders.

    ``a``: warehouse W1, (s,S) = (20, 60) on the inventory position, supplier lead time 2, 60 on hand, one
    customer order a day of Poisson(10) units. ``a_unit``: the same with a Poisson process of 1-unit orders
    at 10 a day. ``b``: supplier -> W3 -> W2 -> W1, base-stock 30/30/40, lanes of 2 days, demand at W1.

    The policies are reviewed continuously (``review_period: 0``): simsop reviews periodic items at the start
    of a day, before that day's demand, so ``review_period: 1`` with a 2-day lead time would see day d's
    demand only on day d + 1 and receive on day d + 3 (a 3-day lead time in the peers' terms). With one
    demand a day, continuous review reorders right after it, which is exactly the peers' model.
    """
    product = {"id": "P", "price": 2.0, "unit_cost": 1.0, "holding_cost": 1.0, "backorder_penalty": 10.0}
    if model == "a_unit":
        demand = {"product": "P", "orders_per_day": 10.0, "quantity": 1}
    else:
        demand = {"product": "P", "daily": {"dist": "poisson", "mean": 10}}
    common = {"horizon": 365, "warmup": 0, "seed": 12345, "products": [product],
              "customers": [{"id": "C", "warehouse": "W1", "requested_lead_time": 0, "unmet": "backorder",
                             "demand": [demand]}]}
    if model in ("a", "a_unit"):
        return {"name": f"peer_{model}", **common,
                "warehouses": [{"id": "W1", "stock": [{"product": "P", "initial": 60, "source": "S0",
                                                       "policy": {"type": "sS", "s": 20, "S": 60,
                                                                  "review_period": 0}}]}],
                "suppliers": [{"id": "S0", "lead_time": 2}]}
    if model != "b":
        raise ValueError(f"unknown peer model {model!r}")
    levels, source = {"W3": 30, "W2": 30, "W1": 40}, {"W3": "S0", "W2": "W3", "W1": "W2"}
    return {"name": "peer_b", **common,
            "warehouses": [{"id": w, "stock": [{"product": "P", "initial": levels[w], "source": source[w],
                                                "policy": {"type": "base_stock", "level": levels[w],
                                                           "review_period": 0}}]}
                           for w in ("W3", "W2", "W1")],
            "suppliers": [{"id": "S0", "lead_time": 0}],
            "lanes": [{"from": a, "to": b, "lead_time": 2} for a, b in (("S0", "W3"), ("W3", "W2"), ("W2", "W1"))]}


# ============================================================================================== measuring


def run_world(sc: Any, seed: int, replication: int, policy: str | None = None,
              count_steps: bool = False) -> dict[str, Any]:
    """One replication done step by step as ``run_replication`` does it, timing each phase and counting events.

    Returns the phase times (``build``, ``run``, ``kpis``, ``total``), ``kernel`` events (SimPy steps, the stop
    event of ``run(until)`` excluded), ``inline`` customer arrivals, simsop's ``events`` and, with
    ``count_steps``, the raw number of ``step`` calls (a counting wrapper, as ``floor.CountingEnvironment``).
    """
    from simsop.kpi import compute_kpis
    from simsop.replication import build_world

    t0 = time.perf_counter()
    world = build_world(sc, seed, replication)
    name = sc.planning.policy if policy is None else policy
    procs: tuple[Any, ...] = ()
    if name != "none":
        from simsop.planning.cycle import planning_process

        procs = (planning_process(sc, name),)
    steps = [0]
    if count_steps:
        env = world.env
        plain_step = env.step

        def step() -> None:
            steps[0] += 1
            plain_step()

        env.step = step  # type: ignore[method-assign]  # run() looks step up on the instance each time
    t1 = time.perf_counter()
    records = world.run(procs)
    t2 = time.perf_counter()
    kpis = compute_kpis(records, sc)
    t3 = time.perf_counter()
    events = world.events_processed()
    inline = int(getattr(world, "inline_events", 0))
    return {"build": t1 - t0, "run": t2 - t1, "kpis": t3 - t2, "total": t3 - t0, "events": events,
            "inline": inline, "kernel": events - inline, "steps": steps[0] if count_steps else None,
            "kpi_values": kpis}


def solver_seconds(sc: Any, seed: int, replications: Sequence[int], rounds: int) -> tuple[float, int] | None:
    """Seconds per replication spent inside HiGHS's own ``run`` (its C++ solve, no Python around it), and the
    number of solves per replication; None when scipy's private HiGHS bindings are not where the LP cycle looks
    for them (it then solves through ``milp`` and this cannot separate the solver's time).

    Each solve is timed ``rounds`` times over replications done untimed otherwise, keeping each replication's
    smallest total, so the figure is a lower bound on what the S&OP cycle's LPs cost this machine.
    """
    from simsop.replication import run_replication

    try:
        from scipy.optimize._highspy import _core
    except ImportError:
        return None
    real = _core._Highs
    spent = [0.0]
    solves = [0]

    class TimedHighs:  # delegates to the real solver; only run() is timed
        def __init__(self) -> None:
            self._solver = real()

        def run(self) -> Any:
            t = time.perf_counter()
            out = self._solver.run()
            spent[0] += time.perf_counter() - t
            solves[0] += 1
            return out

        def __getattr__(self, name: str) -> Any:
            return getattr(self._solver, name)

    best: list[float] = []
    _core._Highs = TimedHighs
    try:
        for r in replications:
            totals = []
            for _ in range(rounds):
                spent[0], solves[0] = 0.0, 0
                run_replication(sc, seed=seed, replication=r)
                totals.append(spent[0])
            best.append(min(totals))
    finally:
        _core._Highs = real
    if solves[0] == 0:
        return None
    return statistics.fmean(best), solves[0]


class FloorClock:
    """The timeout floor, measured again between other measurements; ratios use the best figure of the run."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.events = floor.count_events(floor._build_timeouts, n)
        self.samples: list[float] = []

    def add(self, events_per_second: float) -> None:
        self.samples.append(events_per_second)

    def tick(self) -> float:
        seconds = floor._time_once(floor._build_timeouts, self.n)
        eps = self.events / seconds
        self.samples.append(eps)
        return eps

    @property
    def best(self) -> float:
        return max(self.samples) if self.samples else float("nan")


def share(eps: float | None, clock: FloorClock) -> float | None:
    if eps is None or not clock.samples or not math.isfinite(eps):
        return None
    return eps / clock.best


def _status_kib(pid: int | str, key: str) -> int | None:
    """A ``VmHWM``/``VmRSS`` figure (KiB) of /proc/<pid>/status (Linux), or None."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_rss_bytes() -> int | None:
    """Peak resident memory of this process.

    ``VmHWM`` where /proc exists: ``ru_maxrss`` is no good in a child process on Linux, since it keeps the
    parent's resident size at the fork that preceded the exec (about 200 MiB for this script).
    """
    kib = _status_kib("self", "VmHWM")
    if kib is not None:
        return kib * 1024
    try:
        import resource
    except ImportError:  # Windows
        return None
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * (1 if sys.platform == "darwin" else 1024)


def current_rss_bytes() -> int | None:
    kib = _status_kib("self", "VmRSS")
    if kib is not None:
        return kib * 1024
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:
        return None


def workers_peak_rss_bytes() -> int | None:
    """The largest peak resident memory among this process's live descendants (the executor's workers)."""
    try:
        import psutil

        peaks = [_status_kib(p.pid, "VmHWM") for p in psutil.Process().children(recursive=True)]
    except Exception:
        return None
    known = [p for p in peaks if p is not None]
    return max(known) * 1024 if known else None


def mib(x: float | None) -> float | None:
    return None if x is None else x / 2**20


def cores() -> int:
    from simsop.experiment import default_jobs

    return default_jobs()


# ============================================================================================== children

# Executor and memory measurements run in fresh interpreters (this script with --child), so that one
# measurement's imports, caches and peak memory do not leak into the next.


def run_child(task: dict[str, Any], timeout: float = 3600.0) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(task)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(CHILD_TAG):
            out: dict[str, Any] = json.loads(line[len(CHILD_TAG):])
            return out
    tail = (proc.stderr or proc.stdout).strip()[-600:]
    return {"error": f"child exited {proc.returncode} without a result: {tail}"}


def rows_digest(rows: Sequence[dict[str, Any]]) -> str:
    """SHA-256 of the KPI rows sorted by replication (floats by repr, NaN as NaN): equal rows, equal digest."""
    canon = json.dumps(sorted(rows, key=lambda r: r["replication"]), sort_keys=True, default=float)
    return hashlib.sha256(canon.encode()).hexdigest()


def first_difference(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]]) -> str:
    """Where two lists of KPI rows (sorted by replication) first differ, for a failed identity check."""
    if len(a) != len(b):
        return f"{len(a)} rows against {len(b)}"
    n_diff = 0
    first = ""
    for ra, rb in zip(a, b, strict=True):
        keys = [k for k in ra if not (ra.get(k) == rb.get(k) or (ra.get(k) != ra.get(k) and rb.get(k) != rb.get(k)))]
        keys += [k for k in rb if k not in ra]
        if keys:
            n_diff += 1
            if not first:
                k = keys[0]
                first = (f"replication {ra.get('replication')}: {len(keys)} KPIs differ, e.g. {k} "
                         f"{ra.get(k)!r} vs {rb.get(k)!r}")
    return f"{n_diff} of {len(a)} rows differ; first: {first}" if n_diff else "no difference"


def child_main(task: dict[str, Any]) -> dict[str, Any]:
    kind = task["task"]
    sc = build_scenario(scaled(load_data(), **task.get("variant", {})))
    seed = sc.seed
    if kind == "memory_one":
        from simsop.replication import run_replication

        base, rss0 = peak_rss_bytes(), current_rss_bytes()
        t0 = time.perf_counter()
        run_replication(sc, seed=seed, replication=0)
        seconds = time.perf_counter() - t0
        peak = peak_rss_bytes()
        import tracemalloc

        tracemalloc.start()
        run_replication(sc, seed=seed, replication=1)
        _, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {"baseline_maxrss": base, "baseline_rss": rss0, "peak_maxrss": peak, "heap_peak": heap_peak,
                "seconds": seconds}

    from functools import partial

    from simsop.executors import guided_batches, open_pool, run_tasks
    from simsop.experiment import replicate_batch

    n, jobs = int(task["reps"]), int(task["jobs"])
    # The batches simsop's experiments use (guided: large first, single replications last).
    tasks = [b for _, b in guided_batches([range(n)], 1 if kind == "serial" else jobs)]
    out: dict[str, Any] = {"n": n, "jobs": jobs, "batches": len(tasks)}
    rows: list[dict[str, Any]] = []
    work = partial(replicate_batch, sc, seed)
    if kind == "serial":
        checkpoints = []
        t0 = time.perf_counter()
        for t in tasks:
            rows.extend(work(t))
            checkpoints.append({"reps": len(rows), "maxrss": peak_rss_bytes(), "rss": current_rss_bytes()})
        out.update(startup=0.0, run=time.perf_counter() - t0, shutdown=0.0, checkpoints=checkpoints)
    elif kind in ("process", "dask"):
        if kind == "dask":
            import logging

            logging.getLogger("distributed").setLevel(logging.ERROR)
            out["how"] = "simsop's executor='dask'"
        t0 = time.perf_counter()
        with open_pool(kind, jobs) as pool:
            # Started: every worker has imported simsop and run an empty batch.
            run_tasks(pool, work, [[] for _ in range(jobs)], lambda _t, _r: None)
            t1 = time.perf_counter()
            run_tasks(pool, work, tasks, lambda _t, r: rows.extend(r))
            t2 = time.perf_counter()
            out["workers_maxrss"] = workers_peak_rss_bytes()
        out.update(startup=t1 - t0, run=t2 - t1, shutdown=time.perf_counter() - t2)
    else:
        raise ValueError(f"unknown child task {kind!r}")
    out.update(digest=rows_digest(rows), rows=len(rows), events=sum(int(r.get("events", 0)) for r in rows),
               maxrss=peak_rss_bytes(), kpi_rows=sorted(rows, key=lambda r: r["replication"]))
    return out


# ============================================================================================== sections


def section_floor(cfg: Config, clock: FloorClock, details: dict[str, Any]) -> list[Row]:
    results = floor.measure_floor(quick=cfg.quick)
    details["floor"] = results
    timeout = next(r for r in results if r["name"] == "timeout_loop")
    clock.add(timeout["events_per_second"])
    labels = {"timeout_loop": "bare timeout loop", "store_loop": "bare Store put/get loop",
              "container_loop": "bare Container put/get loop", "resource_loop": "bare Resource request/release"}
    rows = []
    for r in results:
        rows.append(Row("floor", labels.get(r["name"], r["name"]), r["events_per_second"], "events/s",
                        note=f"{r['events']:,} events in {r['seconds'] * 1e3:.1f} ms (best of the repeats)",
                        vs_floor=r["events_per_second"] / timeout["events_per_second"]))
    return rows


def section_reference(cfg: Config, clock: FloorClock, details: dict[str, Any]) -> list[Row]:
    from simsop.replication import run_replication

    sc = build_scenario(load_data())
    seed = sc.seed
    reps = list(range(cfg.ref_reps))
    run_replication(sc, seed=seed, replication=0)  # warm-up: lazy imports, caches
    counted = run_world(sc, seed, 0, count_steps=True)
    api_events = run_replication(sc, seed=seed, replication=0).events
    worlds = [run_world(sc, seed, r) for r in reps]
    kernel = statistics.fmean(w["kernel"] for w in worlds)
    inline = statistics.fmean(w["inline"] for w in worlds)
    simsop_events = statistics.fmean(w["events"] for w in worlds)

    best_rep = best_build = best_run = best_kpis = math.inf
    for _ in range(cfg.ref_rounds):
        clock.tick()
        t0 = time.perf_counter()
        for r in reps:
            run_replication(sc, seed=seed, replication=r)
        best_rep = min(best_rep, (time.perf_counter() - t0) / len(reps))
        clock.tick()
        phases = [run_world(sc, seed, r) for r in reps]
        best_build = min(best_build, statistics.fmean(p["build"] for p in phases))
        best_run = min(best_run, statistics.fmean(p["run"] for p in phases))
        best_kpis = min(best_kpis, statistics.fmean(p["kpis"] for p in phases))
    best_none = math.inf
    none_kernel = statistics.fmean(run_world(sc, seed, r, policy="none")["kernel"] for r in reps)
    for _ in range(max(1, cfg.ref_rounds // 2)):
        t0 = time.perf_counter()
        for r in reps:
            run_replication(sc, seed=seed, replication=r, policy="none")
        best_none = min(best_none, (time.perf_counter() - t0) / len(reps))

    solver = solver_seconds(sc, seed, reps, max(2, cfg.ref_rounds // 2))
    eps = kernel / best_rep
    eps_loop = kernel / best_run
    eps_none = none_kernel / best_none
    s_rep = share(eps, clock)
    consistent = counted["steps"] - 1 == counted["kernel"] and api_events == counted["events"]
    ceiling_rows = ceiling(kernel, best_rep, solver, clock)
    details["reference"] = {"solver_seconds_per_rep": None if solver is None else solver[0],
                            "solver_solves_per_rep": None if solver is None else solver[1],
                            "scenario": sc.name, "horizon": sc.horizon, "policy": sc.planning.policy,
                            "replications": reps, "seed": seed, "seconds_per_rep": best_rep,
                            "kernel_events": kernel, "inline_events": inline, "simsop_events": simsop_events,
                            "build": best_build, "run": best_run, "kpis": best_kpis,
                            "seconds_per_rep_no_planning": best_none, "kernel_events_no_planning": none_kernel,
                            "counting_check": {k: counted[k] for k in ("steps", "kernel", "inline", "events")}
                            | {"run_replication_events": api_events}}
    what = (f"{sc.name}: {sc.horizon} days, {len(sc.products)} products, {len(sc.warehouses)} warehouses, "
            f"S&OP policy {sc.planning.policy}; best of {cfg.ref_rounds} rounds of replications {reps[0]}-{reps[-1]}"
            f" (seed {seed}) through run_replication (build + simulate + all KPIs)")
    return [
        Row("reference", "time per replication", best_rep, "s", note=what, vs_floor=s_rep),
        Row("reference", "events per replication", kernel, "events",
            note=f"SimPy step() calls (floor.py semantics), run(until)'s stop event excluded; simsop's "
                 f"events_processed() adds {inline:,.0f} customer arrivals handled inline = {simsop_events:,.0f}"),
        Row("reference", "events/s (whole replication)", eps, "events/s",
            note=f"kernel events / time per replication; with inline arrivals counted: "
                 f"{simsop_events / best_rep:,.0f}/s", vs_floor=s_rep),
        Row("reference", "share of the timeout floor", None if s_rep is None else 100 * s_rep, "%",
            target=f">= {100 * TARGET_FLOOR_SHARE:.0f}%",
            status=judged(None if s_rep is None else s_rep >= TARGET_FLOOR_SHARE),
            note=f"timeout floor {clock.best:,.0f} events/s (best of {len(clock.samples)} measurements in this "
                 f"run, interleaved with the replications)"),
        Row("reference", "phase: build the world", best_build, "s", note="build_world: sites, demand drawn up front"),
        Row("reference", "phase: simulate (env.run, S&OP cycle included)", best_run, "s",
            note=f"{eps_loop:,.0f} kernel events/s in the event loop alone", vs_floor=share(eps_loop, clock)),
        Row("reference", "phase: KPIs", best_kpis, "s", note="compute_kpis on the frozen records"),
        Row("reference", "without the S&OP cycle (policy none)", best_none, "s",
            note=f"{none_kernel:,.0f} events, {eps_none:,.0f} events/s; with the {sc.planning.policy} cycle a "
                 f"replication takes {best_rep / best_none:.2f}x as long (the cycle's own work, and the production "
                 "and shipments its plans add)", vs_floor=share(eps_none, clock)),
        Row("reference", "check: event counting", "consistent" if consistent else "INCONSISTENT", "",
            target="step() - 1 = kernel; run_replication().events = events_processed()",
            status=judged(consistent),
            note=f"replication 0: {counted['steps']:,} step() calls, {counted['kernel']:,} kernel + "
                 f"{counted['inline']:,} inline = {counted['events']:,}; run_replication: {api_events:,}"),
        *ceiling_rows,
    ]


def ceiling(kernel: float, seconds_per_rep: float, solver: tuple[float, int] | None,
            clock: FloorClock) -> list[Row]:
    """What the share-of-the-floor target leaves for simsop's own Python, measured in this run.

    At a share ``T`` of the floor a replication of ``kernel`` events may take ``kernel / (T * floor)`` seconds.
    Two parts of it are not simsop's Python: SimPy dispatching the events, at least ``kernel / floor`` (the
    timeout loop is the cheapest event there is), and HiGHS solving the cycle's LPs. What remains is the time
    every order, shipment, review and record may take; the ceiling is the share a replication would reach if that
    took no time at all.
    """
    floor_eps = clock.best
    if solver is None or not math.isfinite(floor_eps):
        return [Row("reference", "ceiling: share with simsop's own Python at zero", None, "%", status="skipped",
                    note="scipy's private HiGHS bindings are not available: the solver's time cannot be separated")]
    highs, solves = solver
    dispatch = kernel / floor_eps
    allowed = kernel / (TARGET_FLOOR_SHARE * floor_eps)
    left = allowed - dispatch - highs
    python_now = seconds_per_rep - dispatch - highs
    top = kernel / (dispatch + highs) / floor_eps
    return [
        Row("reference", "ceiling: share with simsop's own Python at zero", 100 * top, "%", vs_floor=top,
            note=f"{kernel:,.0f} events dispatched at the timeout floor's cost ({1e3 * dispatch:.1f} ms) plus HiGHS's "
                 f"own solves ({solves} LPs, {1e3 * highs:.1f} ms, its C++ run() alone): the most this replication "
                 "could reach with its events and its LPs as they are, whatever the rest of simsop did"),
        Row("reference", f"time left for simsop's Python at {100 * TARGET_FLOOR_SHARE:.0f}% of the floor",
            1e3 * left, "ms",
            note=f"{1e3 * allowed:.1f} ms allowed - {1e3 * dispatch:.1f} ms dispatch - {1e3 * highs:.1f} ms HiGHS; "
                 f"simsop's Python takes {1e3 * python_now:.0f} ms now ({1e6 * python_now / kernel:.1f} µs an event; "
                 f"the target needs at most {1e6 * max(left, 0.0) / kernel:.2f} µs)"),
    ]


def section_scaling(cfg: Config, clock: FloorClock, details: dict[str, Any]) -> list[Row]:
    data = load_data()
    seed = int(data.get("seed", 0))
    variants: list[tuple[str, int, dict[str, Any]]] = [("baseline", 1, {})]
    for dim, key in (("products", "products"), ("warehouses", "warehouses"), ("horizon", "horizon")):
        for f in cfg.scaling_factors:
            if f > 1:
                variants.append((dim, f, {key: f}))
    results: list[dict[str, Any]] = []
    for dim, f, kw in variants:
        sc = build_scenario(scaled(data, **kw))
        run_world(sc, seed, 0)  # warm-up
        best = None
        for _ in range(cfg.scaling_rounds):
            clock.tick()
            w = run_world(sc, seed, 0)
            if best is None or w["total"] < best["total"]:
                best = w
        assert best is not None
        results.append({"dim": dim, "factor": f, "name": sc.name, "products": len(sc.products),
                        "warehouses": len(sc.warehouses), "horizon": sc.horizon, "seconds": best["total"],
                        "run": best["run"], "kernel": best["kernel"], "events": best["events"]})
    details["scaling"] = results
    base = results[0]
    base_us = 1e6 * base["seconds"] / base["kernel"]
    rows = [Row("scaling", "x1 (the reference scenario)", base_us, "µs/event",
                note=f"{base['seconds']:.3f} s/rep, {base['kernel']:,} events; {base['products']} products, "
                     f"{base['warehouses']} warehouses, {base['horizon']} days",
                vs_floor=share(base["kernel"] / base["seconds"], clock))]
    for r in results[1:]:
        us = 1e6 * r["seconds"] / r["kernel"]
        drift = us / base_us
        rows.append(Row(
            "scaling", f"{r['dim']} x{r['factor']}", us, "µs/event",
            target=f"<= {TARGET_SCALING_DRIFT:g} x {base_us:.1f}", status=judged(drift <= TARGET_SCALING_DRIFT),
            note=f"{r['seconds']:.3f} s/rep, {r['kernel']:,} events: work x{r['kernel'] / base['kernel']:.2f}, "
                 f"time x{r['seconds'] / base['seconds']:.2f}, cost/event x{drift:.2f} ({r['products']} products, "
                 f"{r['warehouses']} warehouses, {r['horizon']} days)",
            vs_floor=share(r["kernel"] / r["seconds"], clock)))
    return rows


def _burn(n: int) -> int:
    s = 0
    for i in range(n):
        s += i
    return s


def machine_parallelism(jobs: int, n: int = 4_000_000) -> float:
    """Speed-up of ``jobs`` processes over one on a pure-Python CPU loop: what the machine gives right now."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs) as ex:
        list(ex.map(_burn, [1000] * jobs))  # start the workers
        t0 = time.perf_counter()
        for _ in range(jobs):
            _burn(n)
        serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        list(ex.map(_burn, [n] * jobs))
        parallel = time.perf_counter() - t0
    return serial / parallel


def section_replications(cfg: Config, clock: FloorClock, details: dict[str, Any]) -> list[Row]:
    jobs = cores()
    machine = [machine_parallelism(jobs)]
    n = cfg.exp_reps
    base = {"reps": n, "jobs": jobs, "variant": cfg.exp_variant}
    what = "the example" + (f", {cfg.exp_variant['horizon_days']} days" if cfg.exp_variant else " (730 days)")
    out: dict[str, dict[str, Any]] = {}
    for kind in ("serial", "process", "dask"):
        log(f"replications: {n} x {what}, {kind}")
        out[kind] = run_child({"task": kind, **base})
    machine.append(machine_parallelism(jobs))
    details["machine_parallelism"] = machine
    details["replications"] = out
    kpi_rows = {k: v.pop("kpi_rows", None) for k, v in out.items()}
    rows: list[Row] = []
    serial = out["serial"]
    if serial.get("error"):
        return [Row("replications", f"serial: {n} replications", None, "s", status="error", note=serial["error"])]
    rows.append(Row("replications", f"machine: {jobs} processes on a pure-Python loop", min(machine), "x",
                    note=f"speed-up the machine gave just before and after ({machine[0]:.2f}x, {machine[1]:.2f}x): "
                         f"other work on the cores caps every speed-up below"))
    rows.append(Row("replications", f"serial: {n} replications", serial["run"], "s",
                    note=f"{what}, fresh interpreter, replicate_batch over {serial['batches']} batches "
                         f"({serial['run'] / n:.3f} s/rep)"))
    per_core = {"process": TARGET_PROCESS_PER_CORE, "dask": TARGET_DASK_PER_CORE}
    labels = {"process": "process executor", "dask": "Dask LocalCluster"}
    for kind in ("process", "dask"):
        r = out[kind]
        label = f"{labels[kind]} ({jobs} workers)"
        if r.get("error"):
            rows.append(Row("replications", f"{label}: speed-up", None, "x", status="error", note=r["error"]))
            continue
        wall = r["startup"] + r["run"]
        speedup = serial["run"] / wall
        target = per_core[kind] * jobs
        if jobs < 2:
            status, tnote = "info", f"(target needs >= 2 cores; {jobs} here)"
        elif cfg.quick:
            status, tnote = "info", "(quick: start-up dominates a short run; the target is for the full run)"
        else:
            status, tnote = judged(speedup >= target), ""
        rows.append(Row("replications", f"{label}: speed-up", speedup, "x",
                        target=f">= {target:.2f}x ({per_core[kind]:g} per core)", status=status,
                        note=f"{wall:.2f} s with start-up ({r['run']:.2f} s once started: "
                             f"x{serial['run'] / r['run']:.2f}); shutdown {r['shutdown']:.2f} s {tnote}".strip()))
        startup_note = ("simsop's executor='process' (ProcessPoolExecutor) up to one empty batch per worker"
                        if kind == "process" else
                        f"{r.get('how', 'Dask')}: cluster, client, simsop imported on every worker, one empty batch "
                        f"per worker")
        rows.append(Row("replications", f"{label}: start-up", r["startup"], "s", note=startup_note))
        same = r["digest"] == serial["digest"] and r["rows"] == serial["rows"]
        diff = "" if same else "; " + first_difference(kpi_rows["serial"] or [], kpi_rows[kind] or [])
        rows.append(Row("replications", f"{label}: KPI rows identical to serial", "yes" if same else "NO", "",
                        target="identical", status=judged(same),
                        note=f"{r['rows']} rows, sha256 {r['digest'][:12]} vs serial {serial['digest'][:12]}{diff}"))
    return rows


def section_startup(cfg: Config, clock: FloorClock, details: dict[str, Any]) -> list[Row]:
    script = Path(sys.executable).parent / ("simsop.exe" if os.name == "nt" else "simsop")
    if script.exists():
        simsop_cmd, how = [str(script)], str(script)
    else:
        simsop_cmd, how = [sys.executable, "-m", "simsop.cli"], f"{sys.executable} -m simsop.cli (no console script)"

    def wall(cmd: list[str], samples: int, cwd: Path = REPO_ROOT,
             out: Path | None = None) -> tuple[float, list[float]]:
        """Median wall time of ``cmd``; ``out``: its result folder, removed (untimed) before each run, since
        simsop refuses to write over a complete run."""
        subprocess.run(cmd, capture_output=True, cwd=cwd, check=False)  # warm the disk cache
        times = []
        for _ in range(samples):
            if out is not None:
                shutil.rmtree(out, ignore_errors=True)
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, cwd=cwd, check=False)
            times.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[-400:]}")
        return statistics.median(times), times

    bare, _ = wall([sys.executable, "-c", "pass"], cfg.help_samples)
    help_s, help_all = wall([*simsop_cmd, "--help"], cfg.help_samples)
    run_help = subprocess.run([*simsop_cmd, "run", "--help"], capture_output=True, text=True, check=False).stdout
    variants: list[tuple[str, list[str]]] = [("simsop run example -n 1", [])]
    if "--no-report" in run_help:
        variants.append(("simsop run example -n 1 --no-report", ["--no-report"]))
        if cfg.quick:  # the report's figures take seconds: the full run times them
            variants = variants[1:]
    runs: dict[str, tuple[float, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="simsop-bench-") as tmp:
        for k, (label, extra) in enumerate(variants):
            out = Path(tmp) / f"run{k}"
            cmd = [*simsop_cmd, "run", str(SCENARIO), "-n", "1", "--out", str(out), *extra]
            runs[label] = wall(cmd, cfg.run_samples, out=out)
    details["startup"] = {"command": how, "python": bare, "help": help_all} | {k: v[1] for k, v in runs.items()}
    rows = [
        Row("startup", "simsop --help", help_s, "s", target=f"< {TARGET_HELP_SECONDS:g} s",
            status=judged(help_s < TARGET_HELP_SECONDS),
            note=f"median of {cfg.help_samples} ({how}); a bare `python -c pass` takes {bare:.3f} s"),
    ]
    for label, (median, _) in runs.items():
        report = "no report" if "--no-report" in label else "report.html and figures written at the end"
        rows.append(Row("startup", label, median, "s",
                        note=f"median of {cfg.run_samples}: start, load and validate, one replication of 730 days "
                             f"with the LP S&OP cycle, KPI table, result files; {report}"))
    return rows


def section_memory(cfg: Config, clock: FloorClock, details: dict[str, Any]) -> list[Row]:
    one = run_child({"task": "memory_one"})
    details["memory_one"] = one
    rows: list[Row] = []
    if one.get("error") or one.get("peak_maxrss") is None:
        rows.append(Row("memory", "one replication: peak RSS", None, "MiB", status="error",
                        note=one.get("error", "no resource module on this platform")))
    else:
        rows.append(Row("memory", "one replication: peak RSS", mib(one["peak_maxrss"]), "MiB",
                        note=f"fresh interpreter: {mib(one['baseline_maxrss']):.1f} MiB after importing simsop and "
                             f"loading the example; +{mib(one['peak_maxrss'] - one['baseline_maxrss']):.1f} MiB "
                             f"for one replication"))
        rows.append(Row("memory", "one replication: Python heap peak", mib(one["heap_peak"]), "MiB",
                        note="tracemalloc over a second replication (records, KPIs, the LP cycle)"))
    exp = details.get("replications", {}).get("serial")
    if exp is None:  # the replications section did not run: measure the experiment here
        n = cfg.exp_reps
        log(f"memory: {n} replications, serial")
        exp = run_child({"task": "serial", "reps": n, "jobs": cores(), "variant": cfg.exp_variant})
    if exp.get("error") or not exp.get("checkpoints") or exp["checkpoints"][-1]["maxrss"] is None:
        rows.append(Row("memory", "experiment: peak RSS", None, "MiB", status="error",
                        note=exp.get("error", "no memory figures")))
        return rows
    cps = exp["checkpoints"]
    # Growth over the second half of the run: the first replications still import modules lazily and warm up
    # the allocator (a few tens of MiB), which is not growth with the number of replications.
    first = next(c for c in cps if c["reps"] >= exp["n"] / 2)
    last = cps[-1]
    growth = (last["maxrss"] - first["maxrss"]) / max(1, last["reps"] - first["reps"]) / 1024
    what = f"{exp['n']} replications" + (f" ({cfg.exp_variant['horizon_days']} days)" if cfg.exp_variant else "")
    rows.append(Row("memory", f"experiment: {what}, serial, peak RSS", mib(last["maxrss"]), "MiB",
                    note="one process keeping the KPI rows, as run_replications does; peak RSS (MiB) after "
                         "replications " + ", ".join(f"{c['reps']}: {mib(c['maxrss']):.1f}" for c in cps)))
    rss_note = ""
    if first.get("rss") is not None and last.get("rss") is not None:
        rss_note = f"; current RSS {mib(first['rss']):.1f} -> {mib(last['rss']):.1f} MiB"
    quick_note = ("; quick: too few replications to tell the warm-up (tens of replications) from growth, "
                  "the full run's decide" if cfg.quick else "")
    rows.append(Row("memory", "experiment: peak RSS growth per replication", growth, "KiB/rep",
                    target=f"<= {TARGET_GROWTH_KIB:g} KiB/rep (flat)",
                    status="info" if cfg.quick else judged(growth <= TARGET_GROWTH_KIB),
                    note=f"from {first['reps']} to {last['reps']} replications (the first half warms up imports "
                         f"and the allocator){rss_note}{quick_note}"))
    for kind, label in (("process", "process executor"), ("dask", "Dask LocalCluster")):
        r = details.get("replications", {}).get(kind)
        if r and not r.get("error") and r.get("workers_maxrss"):
            rows.append(Row("memory", f"experiment: {label}, peak RSS of a worker", mib(r["workers_maxrss"]), "MiB",
                            note=f"largest worker process over {r['n']} replications (VmHWM); the driver peaked at "
                                 f"{mib(r['maxrss']):.1f} MiB"))
    return rows


def section_peers(cfg: Config, clock: FloorClock, details: dict[str, Any], no_peers: bool) -> list[Row]:
    from simsop.replication import run_replication
    from simsop.scenario import parse_scenario

    reps = 3 if cfg.quick else 15  # as peers.measure_peers
    ours: dict[str, dict[str, Any]] = {}
    rows: list[Row] = []
    model_text = {"a": "single warehouse (s,S), daily Poisson(10) orders, 1 year",
                  "a_unit": "single warehouse (s,S), Poisson process of 1-unit orders, 1 year",
                  "b": "3-stage serial chain, base-stock, 1 year"}
    for model in ("a", "a_unit", "b"):
        sc = parse_scenario(peer_scenario(model), f"<peer model {model}>")
        seed = sc.seed
        run_replication(sc, seed=seed - 1, replication=0)  # warm-up, like the peers' worker
        times = []
        for i in range(reps):
            t0 = time.perf_counter()
            run_replication(sc, seed=seed, replication=i)
            times.append(time.perf_counter() - t0)
        counted = run_world(sc, seed, 0)
        fills, stages = [], []
        for i in range(max(reps, cfg.peer_check_reps)):
            res = run_replication(sc, seed=seed, replication=i, keep_records=True)
            fills.append(res.kpis["fill_rate"])
            assert res.records is not None
            stages.append(res.records.snapshots.on_hand.mean(axis=0).tolist())
        by_stage = [statistics.fmean(s[j] for s in stages) for j in range(len(stages[0]))]
        ours[model] = {"seconds_per_rep": statistics.median(times), "kernel": counted["kernel"],
                       "events": counted["events"], "fill_rate": statistics.fmean(fills),
                       "avg_on_hand": by_stage[-1], "avg_on_hand_by_stage": by_stage,
                       "check_reps": len(fills)}
        t = ours[model]["seconds_per_rep"]
        rows.append(Row("peers", f"simsop, model {model}: time per replication", 1e3 * t, "ms",
                        note=f"{model_text[model]}; median of {reps}, build + run + every KPI, orders recorded; "
                             f"{counted['kernel']:,} events", vs_floor=share(counted["kernel"] / t, clock)))
    details["peers_simsop"] = ours
    rows += bare_rows(ours, reps, clock, details)

    if no_peers:
        for peer, model in peers.MODELS:
            rows.append(Row("peers", f"{PEER_NAMES[peer]} / simsop, model {model}", None, "x",
                            target=f">= {PEER_TARGETS[peer]:g}x", status="skipped", note="--no-peers"))
        rows.append(Row("peers", "check: simsop's fill rate and stock against the peers", None, "",
                        status="skipped", note="--no-peers"))
        return rows

    log("peers: installing (cached) and timing SupplyNetPy and stockpyl in their own venv")
    theirs = peers.measure_peers(quick=cfg.quick)
    details["peers"] = theirs
    for r in theirs:
        peer, model = r["peer"], r["model"]
        name = f"{PEER_NAMES[peer]} / simsop, model {model}"
        target = f">= {PEER_TARGETS[peer]:g}x"
        if r.get("error"):
            rows.append(Row("peers", name, None, "x", target=target, status="error", note=r["error"]))
            continue
        mine = ours[model]["seconds_per_rep"]
        ratio = r["seconds_per_rep"] / mine
        rows.append(Row("peers", name, ratio, "x", target=target, status=judged(ratio >= PEER_TARGETS[peer]),
                        note=f"{PEER_NAMES[peer]} {r['version']}: {1e3 * r['seconds_per_rep']:.1f} ms/rep (build "
                             f"{1e3 * r['build_seconds_per_rep']:.1f} + run {1e3 * r['run_seconds_per_rep']:.1f}, "
                             f"median of {r['reps']}; import {r['import_seconds']:.2f} s) vs simsop "
                             f"{1e3 * mine:.2f} ms/rep"))
        if r.get("events_per_rep"):
            # The same share of the floor as simsop's rows: how much work the peer does per SimPy event.
            ev = int(r["events_per_rep"])
            rate = ev / r["seconds_per_rep"]
            rows.append(Row("peers", f"{PEER_NAMES[peer]}, model {model}: events/s", rate, "events/s",
                            vs_floor=share(rate, clock),
                            note=f"{ev:,} SimPy events per replication (step() calls, counted in an untimed "
                                 f"run) against simsop's {ours[model]['kernel']:,} for the same year"))
    # The same figures side by side: is it the same model?
    for model in ("a", "a_unit", "b"):
        mine = ours[model]
        got = [r for r in theirs if r["model"] == model and not r.get("error") and r.get("check")]
        if not got:
            continue
        peer_fills = " | ".join(f"{PEER_NAMES[r['peer']]} {r['check']['fill_rate']:.3f}" for r in got)
        ok_fill = all(abs(r["check"]["fill_rate"] - mine["fill_rate"]) <= CHECK_FILL_ABS for r in got)
        rows.append(Row("peers", f"check, model {model}: fill rate", mine["fill_rate"], "",
                        target=f"peers within ±{CHECK_FILL_ABS:g}", status=judged(ok_fill),
                        note=f"simsop {mine['fill_rate']:.3f} ({mine['check_reps']} reps) | {peer_fills}"))

        def stock_ok(theirs_stock: Sequence[float], ours_stock: Sequence[float] = mine["avg_on_hand_by_stage"]) -> bool:
            return all(abs(t - m) <= CHECK_STOCK_REL * max(abs(m), 1e-9)
                       for t, m in zip(theirs_stock, ours_stock, strict=True))

        def fmt_stages(xs: Sequence[float]) -> str:
            return "/".join(f"{x:.1f}" for x in xs)

        ok_stock = all(stock_ok(r["check"]["avg_on_hand_by_stage"]) for r in got)
        stock = " | ".join(f"{PEER_NAMES[r['peer']]} {fmt_stages(r['check']['avg_on_hand_by_stage'])}" for r in got)
        rows.append(Row("peers", f"check, model {model}: average on hand"
                        + (" by stage (upstream first)" if model == "b" else ""), mine["avg_on_hand"], "units",
                        target=f"peers within ±{100 * CHECK_STOCK_REL:g}%", status=judged(ok_stock),
                        note=f"simsop {fmt_stages(mine['avg_on_hand_by_stage'])} | {stock}"))
    return rows


def bare_rows(ours: dict[str, dict[str, Any]], reps: int, clock: FloorClock, details: dict[str, Any]) -> list[Row]:
    """The peers' models hand-written in bare SimPy (``bare.py``): their time, their share of the floor, what
    simsop's recording and KPIs cost on top, and a check that they are the same model as simsop's."""
    rows: list[Row] = []
    out: dict[str, Any] = {}
    for model, fn in bare.MODELS.items():
        counting = floor.CountingEnvironment()
        fn(counting, 0)
        events = counting.events - 1  # the stop event of run(until), as for simsop
        fn(simpy_environment(), 1)  # warm-up
        times = []
        for i in range(reps):
            env = simpy_environment()
            t0 = time.perf_counter()
            fn(env, 100 + i)
            times.append(time.perf_counter() - t0)
        mine = ours[model]
        results = [fn(simpy_environment(), 1000 + i) for i in range(max(reps, mine["check_reps"]))]
        fill = statistics.fmean(r[0] for r in results)
        stock = [statistics.fmean(r[1][j] for r in results) for j in range(len(results[0][1]))]
        t = statistics.median(times)
        out[model] = {"seconds_per_rep": t, "events": events, "fill_rate": fill, "avg_on_hand_by_stage": stock}
        rows.append(Row("peers", f"bare SimPy, model {model}: time per replication", 1e3 * t, "ms",
                        vs_floor=share(events / t, clock),
                        note=f"hand-written (benchmarks/bare.py): processes and timeouts, no records, two KPIs; "
                             f"{events:,} events, median of {reps}"))
        ratio = mine["seconds_per_rep"] / t
        rows.append(Row("peers", f"simsop / bare SimPy, model {model}", ratio, "x",
                        note=f"what simsop's generality costs on the same work: every order, line, shipment and "
                             f"replenishment recorded, every KPI computed ({1e3 * mine['seconds_per_rep']:.2f} vs "
                             f"{1e3 * t:.2f} ms; {mine['kernel']:,} kernel events vs {events:,})"))
        same_fill = abs(fill - mine["fill_rate"]) <= CHECK_FILL_ABS
        same_stock = all(abs(b - m) <= CHECK_STOCK_REL * max(abs(m), 1e-9)
                         for b, m in zip(stock, mine["avg_on_hand_by_stage"], strict=True))
        rows.append(Row("peers", f"check, model {model}: bare SimPy is the same model", fill, "",
                        target=f"fill ±{CHECK_FILL_ABS:g}, stock ±{100 * CHECK_STOCK_REL:g}%",
                        status=judged(same_fill and same_stock),
                        note=f"fill rate {fill:.3f} vs simsop {mine['fill_rate']:.3f}; average on hand "
                             f"{'/'.join(f'{x:.1f}' for x in stock)} vs simsop "
                             f"{'/'.join(f'{x:.1f}' for x in mine['avg_on_hand_by_stage'])} ({len(results)} reps)"))
    details["peers_bare"] = out
    return rows


def simpy_environment() -> Any:
    import simpy

    return simpy.Environment()


# ============================================================================================== output


def fmt_value(v: Any, unit: str) -> str:
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    if isinstance(v, float) and not math.isfinite(v):
        return "nan"
    if unit in ("events/s", "events"):
        return f"{v:,.0f}"
    if unit in ("s", "ms"):
        return f"{v:.3f}" if v < 10 else f"{v:.1f}"
    if unit == "x":
        return f"{v:.2f}"
    if unit in ("%", "MiB", "KiB/rep", "µs/event"):
        return f"{v:.1f}" if abs(v) < 1000 else f"{v:,.0f}"
    return f"{v:.4g}"


def fmt_floor(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}%"


def environment(cfg: Config) -> dict[str, Any]:
    info: dict[str, Any] = dict(floor.environment_info())
    try:
        from simsop.results import versions

        info.update({f"v_{k}": v for k, v in versions().items()})
    except Exception:
        pass
    info["cores"] = cores()
    info["os"] = platform.platform()
    if hasattr(os, "getloadavg"):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    info["mode"] = "quick" if cfg.quick else "full"
    return info


def markdown(rows: Sequence[Row], env: dict[str, Any], created: str, wall: float) -> str:
    def cell(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    head = (f"# simsop benchmark ({env['mode']})\n\n{created}; Python {env['python']}, SimPy {env['simpy']}, "
            f"{env['cores']} cores, load average {env.get('load_average', '?')}; {wall:.0f} s.\n"
            f"Events are SimPy `step()` calls (see benchmarks/README.md); \"vs floor\" is events/s as a share of "
            f"the bare timeout loop measured in the same run.\n\n")
    lines = ["| section | benchmark | value | unit | vs floor | target | status | note |",
             "|---|---|---:|---|---:|---|---|---|"]
    for r in rows:
        lines.append("| " + " | ".join(cell(x) for x in (r.section, r.name, fmt_value(r.value, r.unit), r.unit,
                                                         fmt_floor(r.vs_floor), r.target, r.status, r.note)) + " |")
    return head + "\n".join(lines) + "\n"


def print_table(rows: Sequence[Row], env: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 220)
    table = Table(title=f"simsop benchmark ({env['mode']}): {env['cores']} cores, Python {env['python']}, "
                        f"SimPy {env['simpy']}", show_lines=False)
    for col, just in (("section", "left"), ("benchmark", "left"), ("value", "right"), ("unit", "left"),
                      ("vs floor", "right"), ("target", "left"), ("status", "left"), ("note", "left")):
        table.add_column(col, justify=just, overflow="fold")  # type: ignore[arg-type]
    colour = {"pass": "green", "fail": "red", "error": "red", "skipped": "yellow", "info": "dim"}
    for r in rows:
        table.add_row(r.section, r.name, fmt_value(r.value, r.unit), r.unit, fmt_floor(r.vs_floor), r.target,
                      f"[{colour.get(r.status, 'white')}]{r.status}[/]", r.note)
    console.print(table)


# ============================================================================================== main


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, for CI (under a minute)")
    ap.add_argument("--no-peers", action="store_true", help="skip installing and timing SupplyNetPy and stockpyl")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target fails or a section errs")
    ap.add_argument("--only", help=f"comma-separated sections among {','.join(SECTIONS)} (the floor always runs)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for bench-<time>.json and latest.md")
    ap.add_argument("--replications", type=int, metavar="N",
                    help="replications of the executor and memory experiment (default: 200, or 20 with --quick)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        try:
            result = child_main(json.loads(args.child))
        except Exception as exc:
            result = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=8)}
        print(CHILD_TAG + json.dumps(result), flush=True)
        return 0

    wanted = set(SECTIONS) if not args.only else {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = wanted - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s) {sorted(unknown)}; expected some of {SECTIONS}")
    wanted.add("floor")
    cfg = Config.make(args.quick)
    if args.replications:
        cfg = dataclasses.replace(cfg, exp_reps=max(2, args.replications))
    t_start = time.perf_counter()
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    env = environment(cfg)
    clock = FloorClock(cfg.floor_timeouts)
    details: dict[str, Any] = {}
    rows: list[Row] = []
    runners: dict[str, Callable[[], list[Row]]] = {
        "floor": lambda: section_floor(cfg, clock, details),
        "reference": lambda: section_reference(cfg, clock, details),
        "scaling": lambda: section_scaling(cfg, clock, details),
        "replications": lambda: section_replications(cfg, clock, details),
        "startup": lambda: section_startup(cfg, clock, details),
        "memory": lambda: section_memory(cfg, clock, details),
        "peers": lambda: section_peers(cfg, clock, details, args.no_peers),
    }
    timings: dict[str, float] = {}
    for name in SECTIONS:
        if name not in wanted:
            continue
        log(f"{name} ...")
        t0 = time.perf_counter()
        try:
            rows.extend(runners[name]())
        except Exception as exc:  # one broken section must not take the others down
            rows.append(Row(name, "section failed", None, status="error", note=f"{type(exc).__name__}: {exc}"))
            details.setdefault("errors", {})[name] = traceback.format_exc(limit=8)
        timings[name] = time.perf_counter() - t0
        log(f"{name}: {timings[name]:.1f} s")
    wall = time.perf_counter() - t_start
    if hasattr(os, "getloadavg"):
        env["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    env["timeout_floor_samples"] = clock.samples
    if "load_average" in env:
        start_load, end_load = env["load_average"][0], env["load_average_end"][0]
        rows.insert(0, Row("environment", "load average (1 min), start -> end", f"{start_load:.2f} -> {end_load:.2f}",
                           note=f"{env['cores']} cores; other work on the machine slows every figure here, the "
                                f"speed-ups most (the floor is re-measured between the other measurements)"))

    print_table(rows, env)
    counts = {s: sum(1 for r in rows if r.status == s) for s in ("pass", "fail", "error", "skipped", "info")}
    print(f"{counts['pass']} pass, {counts['fail']} fail, {counts['error']} error, {counts['skipped']} skipped; "
          f"{wall:.1f} s")
    stamp = created.replace("-", "").replace(":", "")
    payload = {"created": created, "argv": sys.argv[1:] if argv is None else list(argv), "environment": env,
               "wall_seconds": wall, "section_seconds": timings, "summary": counts,
               "rows": [asdict(r) for r in rows], "details": details}
    try:
        from simsop.results import atomic_write_json, atomic_write_text

        json_path = args.out / f"bench-{stamp}.json"
        atomic_write_json(json_path, payload)
        atomic_write_text(args.out / "latest.md", markdown(rows, env, created, wall))
        print(f"results: {json_path} and {args.out / 'latest.md'}")
    except OSError as exc:
        print(f"could not write the results: {exc}", file=sys.stderr)
    if args.strict and (counts["fail"] or counts["error"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
